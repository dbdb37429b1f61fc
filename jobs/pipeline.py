"""Thin task entry points: one function per pipeline step, called by the Airflow DAGs.

Each step takes plain values (dataset name, data interval as ISO strings, the previous step's
small result dict) and returns a small JSON-able dict, so orchestration passes only metadata
through XCom. Each is idempotent for its data interval.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, timedelta
from typing import Any

from expectations.gate import run_gate
from jobs import opendata
from jobs.batches import check_not_discarded, mark_published
from jobs.bronze import bronze_table_uri, load_bronze, read_bronze_batch
from jobs.gold import build, read_table
from jobs.interval import DataInterval
from jobs.landing import land
from jobs.lease import dataset_resource, hold
from jobs.payload import LandedBatch
from jobs.privacy import statistics_only_on
from jobs.publish import publish
from jobs.registry import REGISTRY, RULESET_VERSION, Layer
from jobs.settings import get_settings
from jobs.silver import refine
from jobs.spark import get_spark, interpreted_if_small
from jobs.storage import store_step


@store_step
def land_batch(dataset_name: str, start: str, end: str) -> dict[str, Any]:
    """extract → landing: copy the interval's source payload into landing once."""
    return land(REGISTRY[dataset_name], DataInterval.parse(start, end)).to_dict()


def _writer(dataset_name: str, step: str) -> AbstractContextManager[None]:
    """The lease on the dataset's tables for one step (``jobs.lease``): a steward's command or an
    erasure writing the same tables waits for the step, and the step for them."""
    return hold(dataset_resource(dataset_name), holder=f"pipeline step {step} of {dataset_name}")


@store_step
def load_bronze_batch(dataset_name: str, landed: dict[str, Any]) -> dict[str, Any]:
    """landing → bronze: parse with the registered columns, add lineage."""
    batch = LandedBatch(**landed)
    dataset, spark = REGISTRY[dataset_name], get_spark()
    with _writer(dataset_name, "bronze"), interpreted_if_small(spark, batch.data_rows):
        if dataset.personal is not None:  # raw personal values must not reach the Delta log's statistics
            with statistics_only_on(spark, bronze_table_uri(dataset, get_settings()), ["_source_line"]):
                rows = load_bronze(spark, dataset, batch)
        else:
            rows = load_bronze(spark, dataset, batch)
    return {"batch_id": batch.batch_id, "bronze_rows": rows}


@store_step
def refine_batch(dataset_name: str, batch_id: str, start: str, end: str) -> dict[str, Any]:
    """bronze → staged silver + quarantine (write): typed, conformed, staged; books must balance."""
    spark, settings = get_spark(), get_settings()
    dataset = REGISTRY[dataset_name]
    with _writer(dataset_name, "silver"):
        check_not_discarded(dataset, batch_id, settings)
        inputs = {name: read_table(spark, REGISTRY[name], settings) for name in dataset.inputs}
        bronze = read_bronze_batch(spark, dataset, batch_id, settings)
        result = refine(spark, dataset, bronze, inputs, {"interval": DataInterval.parse(start, end)}, settings)
    return result.to_dict()


@store_step
def gate_batch(dataset_name: str, refined: dict[str, Any], start: str, end: str, run_id: str) -> dict[str, Any]:
    """staged batch → gate (audit): GX checks per criterion; a critical failure holds the batch and raises."""
    interval = DataInterval.parse(start, end)
    spark = get_spark()
    with _writer(dataset_name, "gate"), interpreted_if_small(spark, int(refined["landed_rows"])):
        result = run_gate(spark, REGISTRY[dataset_name], refined["batch_id"], interval, refined, run_id)
    start_utc, end_utc = interval.as_strings()
    return {
        **result.to_dict(),
        "dates": refined.get("dates", []),
        "data_interval_start": start_utc,
        "data_interval_end": end_utc,
        "ruleset_version": RULESET_VERSION,
        "lake": get_settings().bucket,
        "staged_version": refined["staged_version"],
    }


@store_step
def publish_batch(dataset_name: str, gate_result: dict[str, Any]) -> dict[str, Any]:
    """audited batch → silver + quarantine (publish): one MERGE, one quarantine commit, idempotent.

    Only called after the gate passed; a retry after a crash between the commits finishes the
    publish without doubling a row (``jobs.publish``). Returns the gate result with what was published.
    """
    spark, settings = get_spark(), get_settings()
    dataset = REGISTRY[dataset_name]
    batch_id = gate_result["batch_id"]
    interval = DataInterval.parse(gate_result["data_interval_start"], gate_result["data_interval_end"])
    with _writer(dataset_name, "publish"):
        check_not_discarded(dataset, batch_id, settings)
        published = publish(
            spark, dataset, batch_id, int(gate_result["staged_version"]), interval.local_start_date, settings
        )
        mark_published(spark, dataset, batch_id, settings)
    return {**gate_result, "published": published.to_dict()}


def certified_event_extra(gate_result: dict[str, Any]) -> dict[str, Any]:
    """What a passed gate's asset event carries: all a downstream gold run needs to rebuild its days."""
    return {
        "dataset": gate_result["dataset"],
        "lake": gate_result["lake"],
        "batch_id": gate_result["batch_id"],
        "data_interval_start": gate_result["data_interval_start"],
        "data_interval_end": gate_result["data_interval_end"],
        "days": list(gate_result.get("dates", [])),
        "scores": gate_result["scores"],
        "ruleset_version": gate_result["ruleset_version"],
    }


@store_step
def publish_gold(dataset_name: str, dates: list[str]) -> dict[str, Any]:
    """silver → gold: rebuild the days the certified batches touched."""
    days = sorted({date.fromisoformat(d) for d in dates})
    with _writer(dataset_name, "gold"):  # the live stream writes the alert table too (jobs.stream)
        rows = build(get_spark(), REGISTRY[dataset_name], days)
    return {"dataset": dataset_name, "dates": [d.isoformat() for d in days], "rows": rows}


def plan_gold(
    dataset_name: str, new_events: list[dict[str, Any]] | None, known_events: list[dict[str, Any]], lake: str
) -> dict[str, Any]:
    """The days a gold table rebuilds from newly certified silver batches (pure; no I/O).

    ``new_events`` are the certified events that triggered the run (the ``extra`` of each, as
    ``certified_event_extra`` wrote it); ``None`` for a manual run, which then takes the latest
    event of each silver input from ``known_events`` (recent history, newest first).

    An interval counts only when *every* silver input of the gold dataset has a certified event for
    it (among the new events or the history): a gold day is never built while one of its inputs
    failed its gate for that interval. The days are those the inputs' batches for such intervals
    touched (late events included). Events of another lake (bucket) are ignored, so one Airflow
    database can serve several lakes (the tests use throw-away buckets). A table of episodes that
    span days (``rebuild_days_before``) also rebuilds that many days before each, among the days
    of fully certified intervals the events name.
    """
    inputs = sorted(n for n in REGISTRY[dataset_name].inputs if REGISTRY[n].layer == Layer.SILVER)

    def ours(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e.get("lake") == lake and e.get("dataset") in inputs]

    def key(event: dict[str, Any]) -> tuple[str, str]:
        return DataInterval.parse(event["data_interval_start"], event["data_interval_end"]).as_strings()

    if new_events is None:  # manual run: the latest certified batch of each input
        latest: dict[str, dict[str, Any]] = {}
        for event in ours(known_events):
            latest.setdefault(event["dataset"], event)
        new_events = list(latest.values())
    certified: dict[tuple[str, str], dict[str, set[str]]] = {}
    for event in ours([*new_events, *known_events]):
        certified.setdefault(key(event), {}).setdefault(event["dataset"], set()).update(event.get("days", []))
    wanted = sorted({key(e) for e in ours(new_events)})
    built = [k for k in wanted if set(certified[k]) == set(inputs)]
    days = {d for k in built for days in certified[k].values() for d in days}
    if REGISTRY[dataset_name].rebuild_days_before:  # episodes that span days: the days before too, where certified
        complete = {
            d for by_input in certified.values() if set(by_input) == set(inputs) for ds in by_input.values() for d in ds
        }
        days |= with_days_before(days, REGISTRY[dataset_name].rebuild_days_before) & complete
    return {
        "dataset": dataset_name,
        "intervals": [list(k) for k in built],
        "waiting": [
            {"interval": list(k), "missing": sorted(set(inputs) - set(certified[k]))} for k in wanted if k not in built
        ],
        "days": sorted(days),
    }


def with_days_before(days: set[str], count: int) -> set[str]:
    """``days`` and the ``count`` days before each (ISO dates): a table of episodes that span days
    rebuilds the days whose episodes may close on a rebuilt day."""
    return {(date.fromisoformat(d) - timedelta(days=back)).isoformat() for d in days for back in range(count + 1)}


def publish_certified_gold(
    dataset_name: str,
    new_events: list[dict[str, Any]] | None,
    known_events: list[dict[str, Any]],
    upstream: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """silver → gold for the days certified batches touched (see ``plan_gold``); ``upstream`` are the
    results of this table's gold inputs, whose days it rebuilds too."""

    lake = get_settings().bucket
    plan = plan_gold(dataset_name, new_events, known_events, lake)
    gold_inputs = [n for n in REGISTRY[dataset_name].inputs if REGISTRY[n].layer == Layer.GOLD]
    days = set(plan["days"])
    for result in upstream or []:
        if result.get("dataset") in gold_inputs:
            days |= set(result.get("dates", []))
    if not days and REGISTRY[dataset_name].replace_key is None:
        # rewritten whole (e.g. production by year from snapshot lists, which touch no day): any fully
        # certified interval is reason enough to rebuild it
        days = {DataInterval.parse(*k).local_start_date.isoformat() for k in plan["intervals"]}
    if not days:
        return {
            "dataset": dataset_name,
            "dates": [],
            "rows": 0,
            "intervals": [],
            "waiting": plan["waiting"],
            "lake": lake,
        }
    out = publish_gold(dataset_name, sorted(days))
    return {**out, "intervals": plan["intervals"], "waiting": plan["waiting"], "lake": lake}


@store_step
def notify_alerts(built: dict[str, Any] | None) -> dict[str, Any]:
    """gold alert → the owner ministry: e-mail and webhook notices of the alert days just rebuilt
    that no channel accepted yet (``jobs.notify``; each notice once, across reruns)."""
    from jobs import notify

    dates = list((built or {}).get("dates", []))
    report = notify.deliver(notify.read_alerts(dates=dates)) if dates else {"notices": 0, "skipped_channels": []}
    return report | {"dates": dates}


@store_step
def publish_open_data(names: list[str] | None = None) -> list[dict[str, Any]]:
    """gold → open data: the named PUBLIC gold tables (default: all) as CSV/Parquet + DCAT-AP."""
    from dataclasses import asdict

    return [asdict(p) for p in opendata.publish(names or None)]


def run_dataset(dataset_name: str, start: str, end: str, run_id: str = "manual") -> dict[str, Any]:
    """All silver steps for one dataset, in order: land, bronze, write (stage), audit (gate), publish
    (for the CLI and tests; DAGs call the steps)."""
    with _writer(dataset_name, "run_dataset"):  # one lease across the steps: nothing falls between them
        landed = land_batch(dataset_name, start, end)
        bronze = load_bronze_batch(dataset_name, landed)
        refined = refine_batch(dataset_name, bronze["batch_id"], start, end)
        audited = gate_batch(dataset_name, refined, start, end, run_id)
        return publish_batch(dataset_name, audited) | {"refined": refined}
