"""Shared orchestration pieces of the lakehouse DAGs: assets, pools, default args, the step caller.

Orchestration only: importing this module does no I/O and imports nothing heavy (no Spark, GX,
boto3, pandas); the ``jobs.pipeline`` steps are imported inside the tasks.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, get_current_context

from jobs.registry import REGISTRY, Layer

SPARK_POOL = "lakehouse_spark"
QUALITY_POOL = "lakehouse_quality_writer"
OWNER = "Bộ Nông nghiệp và Môi trường"

DEFAULT_ARGS: dict[str, Any] = {
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "pool": SPARK_POOL,
    "owner": OWNER,
}


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
