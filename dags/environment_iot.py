"""
### Environment IoT: air quality and industrial wastewater → certified silver

Owner: **Bộ Nông nghiệp và Môi trường**. One run per Vietnamese calendar day (Asia/Ho_Chi_Minh).

For every silver dataset of the sector in the registry: **land** (raw payload, once per batch
id) → **bronze** (parsed, lineage) → **silver** (typed, NFC, 2025 province codes, MERGE;
bad rows to quarantine with a reason) → **gate** (Great Expectations, scored per criterion
đúng / đủ / sạch / sống). Readings wait for the reference lists they join.

A gate that passes emits the dataset's **certified asset** (`silver.environment_<dataset>`) with
the batch in the event's `extra`: data interval, batch id, the days the batch touched, the scores
and the ruleset version. A critical failure fails the gate task (no retry: data does not change)
and emits nothing, so gold is never built from that batch. Gold is published by the downstream
DAG `environment_gold`, scheduled on these certified assets.

One writer per Delta table: each table is written by exactly one task, `max_active_runs=1`
keeps runs from overlapping, and the shared quality tables are written by gate tasks that
share the one-slot `lakehouse_quality_writer` pool. Tasks are generated from the dataset
registry (`jobs/registry.py`), so a new dataset needs no edit here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pendulum
from _common import DEFAULT_ARGS, QUALITY_POOL, SPARK_POOL, certified_asset, data_interval, step
from airflow.sdk import DAG, CronDataIntervalTimetable, TaskGroup, get_current_context, task

from jobs.registry import REGISTRY, Layer

SECTOR = "environment"


@task(pool=SPARK_POOL)
def land(dataset_name: str) -> dict:
    return step("land_batch", dataset_name, *data_interval())  # type: ignore[no-any-return]


@task(pool=SPARK_POOL)
def bronze(dataset_name: str, landed: dict) -> dict:
    return step("load_bronze_batch", dataset_name, landed)  # type: ignore[no-any-return]


@task(pool=SPARK_POOL)
def silver(dataset_name: str, bronze_result: dict) -> dict:
    return step("refine_batch", dataset_name, bronze_result["batch_id"], *data_interval())  # type: ignore[no-any-return]


def gate_task(dataset_name: str) -> Callable[..., Any]:
    asset = certified_asset(dataset_name)

    @task(task_id="gate", pool=QUALITY_POOL, outlets=[asset])
    def gate(refined: dict) -> dict:
        ctx = get_current_context()
        result: dict = step("gate_batch", dataset_name, refined, *data_interval(), run_id=ctx["run_id"])
        # Only reached when the gate passed: the certified asset event carries what gold needs.
        ctx["outlet_events"][asset].extra = step("certified_event_extra", result)
        return result

    return gate


with DAG(
    dag_id="environment_iot",
    description="Environment IoT sector: air quality + wastewater to certified silver",
    doc_md=__doc__,
    # A data interval per Vietnamese day: [00:00, 24:00) Asia/Ho_Chi_Minh.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["environment", "lakehouse"],
) as dag:
    gates: dict[str, Any] = {}
    for ds in REGISTRY.by_sector(SECTOR, Layer.SILVER):
        with TaskGroup(group_id=ds.name):
            landed = land(ds.name)
            parsed = bronze(ds.name, landed)  # type: ignore[arg-type]  # XComArg resolves to the dict
            refined = silver(ds.name, parsed)  # type: ignore[arg-type]
            gates[ds.name] = gate_task(ds.name)(refined)
            for needed in ds.inputs:  # readings join reference lists certified first
                gates[needed] >> refined
