"""
### Environment IoT: air quality and industrial wastewater → VN_AQI and QCVN exceedances

Owner: **Bộ Nông nghiệp và Môi trường**. One run per Vietnamese calendar day (Asia/Ho_Chi_Minh).

For every silver dataset of the sector in the registry: **land** (raw payload, once per batch
id) → **bronze** (parsed, lineage) → **silver** (typed, NFC, 2025 province codes, MERGE;
bad rows to quarantine with a reason) → **gate** (Great Expectations, scored per criterion
đúng / đủ / sạch / sống; a critical failure stops the run before gold). Readings wait for the
reference lists they join. Gold tables (daily VN_AQI per station and province, exceedances)
rebuild exactly the days the certified batches touched.

One writer per Delta table: each table is written by exactly one task, `max_active_runs=1`
keeps runs from overlapping, and the shared quality tables are written by gate tasks that
share the one-slot `lakehouse_quality_writer` pool. Tasks are generated from the dataset
registry (`jobs/registry.py`), so a new dataset needs no edit here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, TaskGroup, get_current_context, task

from jobs.registry import REGISTRY, Layer

SECTOR = "environment"
SPARK_POOL = "lakehouse_spark"
QUALITY_POOL = "lakehouse_quality_writer"


def certified_asset(name: str) -> Asset:
    """The Airflow asset a dataset's gate emits when the batch passes (silver) or gold is rebuilt."""
    ds = REGISTRY[name]
    bucket = os.environ.get("LAKEHOUSE_BUCKET", "lakehouse")  # configuration only, no I/O
    return Asset(name=ds.qualified_name, uri=f"s3://{bucket}/{ds.table_path}")


def _interval() -> tuple[str, str]:
    ctx = get_current_context()
    start, end = ctx["data_interval_start"], ctx["data_interval_end"]
    assert start is not None and end is not None, "this DAG's timetable always gives a data interval"
    return start.isoformat(), end.isoformat()


def _step(name: str, *args: object, **kwargs: object) -> dict:
    """Call a ``jobs.pipeline`` step; data errors fail the task at once (a retry cannot fix them)."""
    from airflow.exceptions import AirflowFailException

    from jobs import pipeline
    from jobs.errors import DataError

    try:
        return getattr(pipeline, name)(*args, **kwargs)  # type: ignore[no-any-return]
    except DataError as err:
        raise AirflowFailException(str(err)) from err


@task(pool=SPARK_POOL)
def land(dataset_name: str) -> dict:
    return _step("land_batch", dataset_name, *_interval())


@task(pool=SPARK_POOL)
def bronze(dataset_name: str, landed: dict) -> dict:
    return _step("load_bronze_batch", dataset_name, landed)


@task(pool=SPARK_POOL)
def silver(dataset_name: str, bronze_result: dict) -> dict:
    return _step("refine_batch", dataset_name, bronze_result["batch_id"], *_interval())


def gate_task(dataset_name: str) -> Callable[..., Any]:
    asset = certified_asset(dataset_name)

    @task(task_id="gate", pool=QUALITY_POOL, outlets=[asset])
    def gate(refined: dict) -> dict:
        ctx = get_current_context()
        result = _step("gate_batch", dataset_name, refined, *_interval(), run_id=ctx["run_id"])
        # Only reached when the gate passed: the certified asset event carries the scores.
        ctx["outlet_events"][asset].extra = {"scores": result["scores"], "batch_id": result["batch_id"]}
        return result

    return gate


def gold_task(dataset_name: str) -> Callable[..., Any]:
    asset = certified_asset(dataset_name)

    @task(task_id=f"gold_{dataset_name}", pool=SPARK_POOL, outlets=[asset])
    def publish(*upstream: dict) -> dict:
        dates = sorted({d for result in upstream for d in result.get("dates", [])})
        return _step("publish_gold", dataset_name, dates)

    return publish


with DAG(
    dag_id="environment_iot",
    description="Environment IoT sector: air quality + wastewater to VN_AQI and QCVN exceedances",
    doc_md=__doc__,
    # A data interval per Vietnamese day: [00:00, 24:00) Asia/Ho_Chi_Minh.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "pool": SPARK_POOL,
        "owner": "Bộ Nông nghiệp và Môi trường",
    },
    tags=["environment", "lakehouse"],
) as dag:
    results: dict[str, object] = {}
    gates: dict[str, object] = {}
    for ds in REGISTRY.by_sector(SECTOR, Layer.SILVER):
        with TaskGroup(group_id=ds.name):
            landed = land(ds.name)
            parsed = bronze(ds.name, landed)  # type: ignore[arg-type]  # XComArg resolves to the dict
            refined = silver(ds.name, parsed)  # type: ignore[arg-type]
            gates[ds.name] = gate_task(ds.name)(refined)
            for needed in ds.inputs:  # readings join reference lists certified first
                gates[needed] >> refined  # type: ignore[operator]
        results[ds.name] = gates[ds.name]
    for ds in REGISTRY.by_sector(SECTOR, Layer.GOLD):
        results[ds.name] = gold_task(ds.name)(*[results[name] for name in ds.inputs])
