"""Thin task entry points: one function per pipeline step, called by the Airflow DAGs.

Each step takes plain values (dataset name, data interval as ISO strings, the previous step's
small result dict) and returns a small JSON-able dict, so orchestration passes only metadata
through XCom. Each is idempotent for its data interval.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jobs.interval import DataInterval
from jobs.registry import REGISTRY


def land_batch(dataset_name: str, start: str, end: str) -> dict[str, Any]:
    """extract → landing: copy the interval's source payload into landing once."""
    from jobs.landing import land

    return land(REGISTRY[dataset_name], DataInterval.parse(start, end)).to_dict()


def load_bronze_batch(dataset_name: str, landed: dict[str, Any]) -> dict[str, Any]:
    """landing → bronze: parse with the registered columns, add lineage."""
    from jobs.bronze import load_bronze
    from jobs.landing import LandedBatch
    from jobs.spark import get_spark

    batch = LandedBatch(**landed)
    rows = load_bronze(get_spark(), REGISTRY[dataset_name], batch)
    return {"batch_id": batch.batch_id, "bronze_rows": rows}


def refine_batch(dataset_name: str, batch_id: str, start: str, end: str) -> dict[str, Any]:
    """bronze → silver + quarantine: typed, conformed, MERGEd; books must balance."""
    from jobs.bronze import read_bronze_batch
    from jobs.gold import read_table
    from jobs.settings import get_settings
    from jobs.silver import refine
    from jobs.spark import get_spark

    spark, settings = get_spark(), get_settings()
    dataset = REGISTRY[dataset_name]
    inputs = {name: read_table(spark, REGISTRY[name], settings) for name in dataset.inputs}
    bronze = read_bronze_batch(spark, dataset, batch_id, settings)
    result = refine(spark, dataset, bronze, inputs, {"interval": DataInterval.parse(start, end)}, settings)
    return result.to_dict()


def gate_batch(dataset_name: str, refined: dict[str, Any], start: str, end: str, run_id: str) -> dict[str, Any]:
    """silver → gate: GX checks per criterion; raises before gold on a critical failure."""
    from expectations.gate import run_gate
    from jobs.spark import get_spark

    result = run_gate(
        get_spark(), REGISTRY[dataset_name], refined["batch_id"], DataInterval.parse(start, end), refined, run_id
    )
    return {**result.to_dict(), "dates": refined.get("dates", [])}


def publish_gold(dataset_name: str, dates: list[str]) -> dict[str, Any]:
    """silver → gold: rebuild the days the certified batches touched."""
    from jobs.gold import build
    from jobs.spark import get_spark

    days = sorted({date.fromisoformat(d) for d in dates})
    rows = build(get_spark(), REGISTRY[dataset_name], days)
    return {"dataset": dataset_name, "dates": [d.isoformat() for d in days], "rows": rows}


def run_dataset(dataset_name: str, start: str, end: str, run_id: str = "manual") -> dict[str, Any]:
    """All silver steps for one dataset, in order (for the CLI and tests; DAGs call the steps)."""
    landed = land_batch(dataset_name, start, end)
    bronze = load_bronze_batch(dataset_name, landed)
    refined = refine_batch(dataset_name, bronze["batch_id"], start, end)
    return gate_batch(dataset_name, refined, start, end, run_id) | {"refined": refined}
