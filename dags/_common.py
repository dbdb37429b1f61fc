"""Shared orchestration pieces of the lakehouse DAGs: assets, pools, default args, the step caller.

Orchestration only: importing this module does no I/O and imports nothing heavy (no Spark, GX,
boto3, pandas); the ``jobs.pipeline`` steps are imported inside the tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetAny, CronDataIntervalTimetable, TaskGroup, get_current_context, task

from jobs.registry import REGISTRY, Layer

SPARK_POOL = "lakehouse_spark"
QUALITY_POOL = "lakehouse_quality_writer"
OWNER = "Bộ Nông nghiệp và Môi trường"
START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh")
HISTORY = 100  # certified events per input a gold run looks back on: ~3 months of daily batches

DEFAULT_ARGS: dict[str, Any] = {
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "pool": SPARK_POOL,
    "owner": OWNER,
}


def sector_default_args(sector: str) -> dict[str, Any]:
    """DEFAULT_ARGS with the sector's owner ministry (from the registry) as the task owner."""
    owners = {ds.owner.value for ds in REGISTRY.by_sector(sector)}
    return {**DEFAULT_ARGS, "owner": ", ".join(sorted(owners)) or OWNER}


def certified_asset(name: str) -> Asset:
    """The Airflow asset of a dataset: its gate emits it when a batch passes (silver), its gold task
    when the table is rebuilt (gold). The URI names the Delta table in the configured lake bucket."""
    ds = REGISTRY[name]
    bucket = os.environ.get("LAKEHOUSE_BUCKET", "lakehouse")  # configuration only, no I/O
    return Asset(name=ds.qualified_name, uri=f"s3://{bucket}/{ds.table_path}")


def silver_inputs(name: str) -> list[str]:
    """The silver datasets a gold dataset is built from, through its gold inputs (registry ``inputs``)."""
    out: set[str] = set()
    for needed in REGISTRY[name].inputs:
        out |= {needed} if REGISTRY[needed].layer == Layer.SILVER else set(silver_inputs(needed))
    return sorted(out)


def step(name: str, *args: object, **kwargs: object) -> Any:
    """Call a ``jobs.pipeline`` step; data errors fail the task at once (a retry cannot fix them)."""
    from airflow.sdk.exceptions import AirflowFailException

    from jobs import pipeline
    from jobs.errors import DataError

    try:
        return getattr(pipeline, name)(*args, **kwargs)
    except DataError as err:
        raise AirflowFailException(str(err)) from err


def data_interval() -> tuple[str, str]:
    """The running task's data interval as ISO strings."""
    ctx = get_current_context()
    start, end = ctx["data_interval_start"], ctx["data_interval_end"]
    assert start is not None and end is not None, "this DAG's timetable always gives a data interval"
    return start.isoformat(), end.isoformat()


# --- Ingest: land → bronze → silver → gate per silver dataset of a sector -------------------------


@task(pool=SPARK_POOL)
def land(dataset_name: str) -> dict:
    return step("land_batch", dataset_name, *data_interval())  # type: ignore[no-any-return]


@task(pool=SPARK_POOL)
def bronze(dataset_name: str, landed: dict) -> dict:
    return step("load_bronze_batch", dataset_name, landed)  # type: ignore[no-any-return]


@task(pool=SPARK_POOL)
def silver(dataset_name: str, bronze_result: dict) -> dict:
    return step("refine_batch", dataset_name, bronze_result["batch_id"], *data_interval())  # type: ignore[no-any-return]


@task(pool=QUALITY_POOL)
def gate(dataset_name: str, refined: dict) -> dict:
    """Audit the staged batch; a failed critical check holds it (nothing published) and fails the task."""
    run_id = get_current_context()["run_id"]
    return step("gate_batch", dataset_name, refined, *data_interval(), run_id=run_id)  # type: ignore[no-any-return]


def publish_task(dataset_name: str) -> Callable[..., Any]:
    asset = certified_asset(dataset_name)

    @task(task_id="publish", pool=SPARK_POOL, outlets=[asset])
    def publish(audited: dict) -> dict:
        # Only reached when the gate passed: publish, then the certified asset event carries what gold needs.
        result: dict = step("publish_batch", dataset_name, audited)
        get_current_context()["outlet_events"][asset].extra = step("certified_event_extra", result)
        return result

    return publish


def ingest_dag(sector: str, dag_id: str, doc_md: str | None, description: str) -> DAG:
    """The sector's silver DAG: one task group per silver dataset, generated from the registry.

    One run per Vietnamese calendar day; per dataset land → bronze → silver (write: staged) → gate
    (audit) → publish, which emits the dataset's certified asset. A dataset's refine waits for the
    publish of the reference lists it joins (registry ``inputs``).
    """
    with DAG(
        dag_id=dag_id,
        description=description,
        doc_md=doc_md,
        # A data interval per Vietnamese day: [00:00, 24:00) Asia/Ho_Chi_Minh.
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone="Asia/Ho_Chi_Minh"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=sector_default_args(sector),
        tags=[sector, "lakehouse"],
    ) as dag:
        gates: dict[str, Any] = {}
        pending = list(REGISTRY.by_sector(sector, Layer.SILVER))
        while pending:  # reference lists before the datasets that join them
            ready = [ds for ds in pending if all(n in gates or REGISTRY[n].sector != sector for n in ds.inputs)]
            if not ready:
                raise ValueError(f"{sector}: silver datasets with circular inputs: {[d.name for d in pending]}")
            for ds in ready:
                with TaskGroup(group_id=ds.name):
                    landed = land(ds.name)
                    parsed = bronze(ds.name, landed)  # type: ignore[arg-type]  # XComArg resolves to the dict
                    refined = silver(ds.name, parsed)  # type: ignore[arg-type]
                    audited = gate(ds.name, refined)  # type: ignore[arg-type]
                    gates[ds.name] = publish_task(ds.name)(audited)
                    for needed in ds.inputs:
                        if needed in gates:
                            gates[needed] >> refined
                pending.remove(ds)
    return dag


# --- Gold: scheduled on the certified silver assets its tables are built from ---------------------


def _certified_events_task(input_assets: list[Asset], dataset_of: dict[str, str]) -> Any:
    def as_dict(event: Any) -> dict[str, Any]:
        """An asset event as a small JSON-able dict: its ``extra`` plus where it came from."""
        return {
            **(event.extra or {}),
            "dataset": dataset_of[event.asset.name],
            "source_run_id": event.source_run_id,
            "timestamp": event.timestamp.isoformat(),
        }

    @task(task_id="certified_events", pool="default_pool", inlets=input_assets)
    def certified_events() -> dict[str, Any]:
        """The certified silver batches this run is for (``new`` is None for a manual run)."""
        ctx = get_current_context()
        triggering = ctx["triggering_asset_events"]
        new = [as_dict(e) for a in input_assets for e in triggering.get(a, [])] if len(triggering) else None
        known = [as_dict(e) for a in input_assets for e in ctx["inlet_events"][a].ascending(False).limit(HISTORY)]
        return {"new": new, "known": known}

    return certified_events()


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


def gold_dag(sector: str, dag_id: str, doc_md: str | None, description: str) -> DAG:
    """The sector's gold DAG, run on each certified batch of any silver input of its gold tables."""
    gold = REGISTRY.by_sector(sector, Layer.GOLD)
    inputs = sorted({name for ds in gold for name in silver_inputs(ds.name)})
    input_assets = [certified_asset(name) for name in inputs]
    with DAG(
        dag_id=dag_id,
        description=description,
        doc_md=doc_md,
        # Any of them. With all-of, Airflow queues one event per input and a run takes the whole queue, so
        # when two days' runs overlap (a backfill beside the schedule, one input rerun) an input's later event
        # waits for the next full set — a day (the three-day cluster run left each gold DAG's third day so).
        # Each run builds only the intervals every input has certified (``plan_gold``); the others wait.
        schedule=AssetAny(*input_assets),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=sector_default_args(sector),
        tags=[sector, "lakehouse", "gold"],
    ) as dag:
        events = _certified_events_task(input_assets, {REGISTRY[n].qualified_name: n for n in inputs})
        published: dict[str, Any] = {}
        pending = list(gold)
        while pending:  # gold inputs first (e.g. aqi_province_daily reads aqi_daily)
            ready = [ds for ds in pending if all(n in published or REGISTRY[n].layer != Layer.GOLD for n in ds.inputs)]
            if not ready:
                raise ValueError(f"gold datasets with circular inputs: {[ds.name for ds in pending]}")
            for ds in ready:
                upstream = [published[n] for n in ds.inputs if REGISTRY[n].layer == Layer.GOLD]
                published[ds.name] = gold_task(ds.name)(events, *upstream)
                pending.remove(ds)
    return dag
