"""The DataFrames a gate validates, built from a batch's bronze, silver and quarantine rows.

Checks look at one of these frames (``Check.frame`` in the registry):
- ``silver``: the batch's rows as written to silver, plus derived check columns;
- ``audit``: every non-duplicate landed row with the criterion that rejected it (``none``);
- ``delivered``: every landed row with ``_is_duplicate``;
- ``coverage``: per entity × parameter, the hours reported on the interval's day;
- ``entity``: per entity seen in the last 30 days, the hours since it was last heard.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from jobs.interval import DataInterval
from jobs.registry import Dataset

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

ENTITY_LOOKBACK_DAYS = 30
NEVER_HEARD_HOURS = 1e9


def _hours_before(end: DataInterval, ts: Column) -> Column:
    from pyspark.sql import functions as F

    end_ts = F.lit(end.end.replace(tzinfo=None)).cast("timestamp")
    return (F.unix_timestamp(end_ts) - F.unix_timestamp(ts)) / 3600.0


def text_columns(dataset: Dataset) -> list[str]:
    """Free-text columns whose Unicode form is checked (names)."""
    return [f.name for f in dataset.fields if f.type == "STRING" and f.name.endswith(("_name", "_park"))]


def silver_frame(silver_table: DataFrame, dataset: Dataset, batch_id: str, interval: DataInterval) -> DataFrame:
    from pyspark.sql import functions as F

    from jobs.conform import text_is_nfc

    rows = silver_table.where(F.col("_batch_id") == batch_id)
    if dataset.event_time:
        rows = rows.withColumn("_hours_before_interval_end", _hours_before(interval, F.col(dataset.event_time)))
    texts = text_columns(dataset)
    return text_is_nfc(rows, texts) if texts else rows


def audit_frame(bronze_batch: DataFrame, quarantine_batch: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    from jobs.silver import mark_exact_duplicates

    rejected = quarantine_batch.select("_source_line", F.col("criterion").alias("_criterion"))
    kept = mark_exact_duplicates(bronze_batch).where(~F.col("_is_duplicate")).select("_source_line")
    return kept.join(rejected, "_source_line", "left").select(
        "_source_line", F.coalesce(F.col("_criterion"), F.lit("none")).alias("rejected_for")
    )


def delivered_frame(bronze_batch: DataFrame) -> DataFrame:
    from jobs.silver import mark_exact_duplicates

    return mark_exact_duplicates(bronze_batch).select("_source_line", "_raw_line", "_is_duplicate")


def coverage_frame(silver_table: DataFrame, dataset: Dataset, interval: DataInterval) -> DataFrame:
    """Hours reported per entity × parameter on the interval's day (0 when an entity fell silent)."""
    from pyspark.sql import functions as F

    assert dataset.entity_column and dataset.event_time
    day = interval.local_start_date
    lookback = day - timedelta(days=ENTITY_LOOKBACK_DAYS)
    recent = silver_table.where(F.col("measured_date").between(F.lit(lookback), F.lit(day)))
    expected = recent.select(dataset.entity_column, "parameter").distinct()
    seen = (
        recent.where(F.col("measured_date") == F.lit(day))
        .groupBy(dataset.entity_column, "parameter")
        .agg(F.countDistinct(F.date_trunc("hour", F.col(dataset.event_time))).alias("_hours_reported"))
    )
    return expected.join(seen, [dataset.entity_column, "parameter"], "left").select(
        dataset.entity_column, "parameter", F.coalesce(F.col("_hours_reported"), F.lit(0)).alias("_hours_reported")
    )


def entity_frame(silver_table: DataFrame, dataset: Dataset, interval: DataInterval) -> DataFrame:
    """Hours since each recently active entity was last heard, judged at the interval's end."""
    from pyspark.sql import functions as F

    assert dataset.entity_column and dataset.event_time
    day = interval.local_start_date
    lookback = day - timedelta(days=ENTITY_LOOKBACK_DAYS)
    end_ts = F.lit(interval.end.replace(tzinfo=None)).cast("timestamp")
    recent = silver_table.where(F.col("measured_date").between(F.lit(lookback), F.lit(day)))
    last = (
        recent.where(F.col(dataset.event_time) < end_ts)
        .groupBy(dataset.entity_column)
        .agg(F.max(dataset.event_time).alias("_last_seen"))
    )
    return (
        recent.select(dataset.entity_column)
        .distinct()
        .join(last, dataset.entity_column, "left")
        .select(
            dataset.entity_column,
            "_last_seen",
            F.coalesce(_hours_before(interval, F.col("_last_seen")), F.lit(NEVER_HEARD_HOURS)).alias("_hours_silent"),
        )
    )
