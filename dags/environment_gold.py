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

`notify_alerts` then sends the owner ministry an e-mail (SMTP) and a webhook call for every alert
of the rebuilt days that opened or closed, each notice once across reruns (`jobs/notify.py`); a
channel without an address configured is skipped and the task's result says so.

One writer per Delta table: each gold table is written by one task, `max_active_runs=1`, and
Spark work shares the `lakehouse_spark` pool. Generated from the registry: a new gold dataset
needs no edit here.
"""

from __future__ import annotations

from typing import Any

from _common import gold_dag, step
from airflow.sdk import DAG, task

dag: DAG = gold_dag(
    "environment",
    dag_id="environment_gold",
    doc_md=__doc__,
    description="Environment gold: VN_AQI, QCVN exceedances and alerts from certified silver; alert notices",
)

with dag:

    @task(task_id="notify_alerts", pool="default_pool", trigger_rule="none_failed")
    def notify_alerts(built: dict[str, Any] | None) -> dict[str, Any]:
        result: dict[str, Any] = step("notify_alerts", built)
        return result

    alerts_built: Any = dag.get_task("gold_alert").output
    notify_alerts(alerts_built)
