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

from collections.abc import Callable
from typing import Any

import pendulum
from _common import DEFAULT_ARGS, SPARK_POOL, certified_asset, silver_inputs, step
from airflow.sdk import DAG, get_current_context, task

from jobs.registry import REGISTRY, Layer

SECTOR = "environment"
HISTORY = 100  # certified events per input looked back on: ~3 months of daily batches
GOLD = REGISTRY.by_sector(SECTOR, Layer.GOLD)
INPUTS = sorted({name for ds in GOLD for name in silver_inputs(ds.name)})
INPUT_ASSETS = [certified_asset(name) for name in INPUTS]
DATASET_OF = {REGISTRY[name].qualified_name: name for name in INPUTS}


def _event(event: Any) -> dict[str, Any]:
    """An asset event as a small JSON-able dict: its ``extra`` plus where it came from."""
    return {
        **(event.extra or {}),
        "dataset": DATASET_OF[event.asset.name],
        "source_run_id": event.source_run_id,
        "timestamp": event.timestamp.isoformat(),
    }


@task(task_id="certified_events", pool="default_pool", inlets=INPUT_ASSETS)
def certified_events() -> dict[str, Any]:
    """The certified silver batches this run is for (``new`` is None for a manual run)."""
    ctx = get_current_context()
    triggering = ctx["triggering_asset_events"]
    new = [_event(e) for asset in INPUT_ASSETS for e in triggering.get(asset, [])] if len(triggering) else None
    known = [_event(e) for asset in INPUT_ASSETS for e in ctx["inlet_events"][asset].ascending(False).limit(HISTORY)]
    return {"new": new, "known": known}


def gold_task(dataset_name: str) -> Callable[..., Any]:
    asset = certified_asset(dataset_name)

    @task(task_id=f"gold_{dataset_name}", pool=SPARK_POOL, outlets=[asset], trigger_rule="none_failed")
    def publish(events: dict[str, Any], *upstream: dict[str, Any] | None) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        results = [u for u in upstream if u]
        result: dict[str, Any] = step("publish_certified_gold", dataset_name, events["new"], events["known"], results)
        if not result["dates"]:
            raise AirflowSkipException(
                f"{dataset_name}: no certified batch to build from; waiting: {result['waiting']}"
            )
        keep = ("dataset", "lake", "dates", "rows", "intervals")
        get_current_context()["outlet_events"][asset].extra = {k: result[k] for k in keep}
        return result

    return publish


with DAG(
    dag_id="environment_gold",
    description="Environment gold: VN_AQI per station/province and QCVN exceedances from certified silver",
    doc_md=__doc__,
    schedule=INPUT_ASSETS,  # all of them: a new certified batch of every input
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["environment", "lakehouse", "gold"],
) as dag:
    events = certified_events()
    published: dict[str, Any] = {}
    pending = list(GOLD)
    while pending:  # gold inputs first (aqi_province_daily reads aqi_daily)
        ready = [ds for ds in pending if all(n in published or REGISTRY[n].layer != Layer.GOLD for n in ds.inputs)]
        if not ready:
            raise ValueError(f"gold datasets with circular inputs: {[ds.name for ds in pending]}")
        for ds in ready:
            upstream = [published[n] for n in ds.inputs if REGISTRY[n].layer == Layer.GOLD]
            published[ds.name] = gold_task(ds.name)(events, *upstream)
            pending.remove(ds)
