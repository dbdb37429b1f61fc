"""
### Environment gold: daily VN_AQI per station and province, QCVN exceedances

Owner: **Bộ Nông nghiệp và Môi trường**. Scheduled on the **certified assets** of the silver
datasets the gold tables are built from (registry `inputs`): it runs once every one of them has a
new certified batch, i.e. after `environment_iot` passed the gates of the day. A batch whose gate
failed emits no event, so it can never reach gold.

`certified_events` reads the events that triggered the run (`triggering_asset_events`), or, when
the DAG is run by hand (`airflow dags test environment_gold <date>`, `make run`), the latest
certified event of each input asset (`inlet_events`). Each gold task then rebuilds exactly the
days the certified batches touched, for the data intervals in which *all* of its silver inputs
passed their gates (`jobs.pipeline.plan_gold`); a table with nothing certified to build is
skipped and emits nothing. A rebuilt gold table emits its own asset (`gold.environment_<table>`)
with the days and row counts, for downstream consumers.

One writer per Delta table: each gold table is written by one task, `max_active_runs=1`, and
Spark work shares the `lakehouse_spark` pool. Generated from the registry: a new gold dataset
needs no edit here.
"""

from __future__ import annotations

from _common import gold_dag
from airflow.sdk import DAG

dag: DAG = gold_dag(
    "environment",
    dag_id="environment_gold",
    doc_md=__doc__,
    description="Environment gold: VN_AQI per station/province and QCVN exceedances from certified silver",
)
