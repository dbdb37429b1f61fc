"""Write → audit → publish: a batch is staged, its gate audits the staged rows, and only then it is published.

- **Write** (:func:`stage`, called by ``jobs.silver.refine``): the batch's good rows and its
  quarantine rows go to two Delta tables under ``staging/<sector>/<dataset>/<batch>/``, which no
  ministry's store policy names. Silver and quarantine are untouched.
- **Audit** (``expectations.gate.run_gate``) validates the staged rows and what silver would become.
- **Publish** (:func:`publish`), only when no critical check failed (or a steward released the
  held batch): one MERGE into silver, then one commit to quarantine (and, for personal data, the
  restricted table), then the staging objects are removed.

Every commit of a publish carries Delta's idempotent-write identifiers (``txnAppId`` = the batch,
``txnVersion`` = when it was staged), so a retry after a crash between commits skips what was
committed and finishes the rest: every row lands exactly once. A later rerun of the batch stages
again with a higher version and publishes anew.

Rules change: the MERGE also deletes the keys silver holds *from this batch* that the new staging
no longer has as good rows (a tightened rule now quarantines them), in the same commit; no landed
line is ever both in silver and open in quarantine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from jobs import storage
from jobs.errors import DataError, crash_point
from jobs.privacy import statistics_only_on, write_restricted
from jobs.registry import Dataset
from jobs.settings import Settings, get_settings
from jobs.spark import interpreted_if_small
from jobs.tables import (
    LINEAGE_COLUMNS,
    STAGING_PREFIX,
    ensure_quarantine_table,
    ensure_silver_table,
    quarantine_uri,
    staging_key,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

TXN_APP_ID_CONF = "spark.databricks.delta.write.txnAppId"
TXN_VERSION_CONF = "spark.databricks.delta.write.txnVersion"


class NothingStagedError(DataError):
    """Publish found neither a staged batch nor a record of publishing it."""


@dataclass
class PublishResult:
    dataset: str
    batch_id: str
    staged_version: int
    silver_rows: int
    quarantined_rows: int
    dates: list[str] = field(default_factory=list)
    already_published: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def app_id(dataset: Dataset, batch_id: str, table: str) -> str:
    """The idempotent-write application id of one table's publish commit of a batch."""
    return f"lakehouse.publish.{table}.{dataset.name}.{batch_id}"


def staged_uri(dataset: Dataset, batch_id: str, part: str, settings: Settings) -> str:
    return settings.s3a_uri(staging_key(dataset, batch_id, part))


# --------------------------------------------------------------------------- write


def stage(
    spark: SparkSession, dataset: Dataset, batch_id: str, good: DataFrame, quarantine: DataFrame, settings: Settings
) -> int:
    """Write the batch's good rows and quarantine rows to its staging tables (replacing an earlier
    staging of it); returns the staging version, the ``txnVersion`` its publish commits carry.

    Silver and quarantine tables are created empty if they do not exist yet, so readers and the
    gate find them before the first publish.
    """
    version = time.time_ns() // 1_000_000  # later staging, higher version: a rerun publishes again
    targets = ((good, "silver"), (quarantine, "quarantine"))
    for frame, part in targets:
        uri = staged_uri(dataset, batch_id, part, settings)
        writer = frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if dataset.personal is not None:  # raw personal values (both parts): no column statistics
            with statistics_only_on(spark, uri, ["_source_line"]):
                writer.save(uri)
        else:
            writer.save(uri)
    ensure_silver_table(spark, dataset, settings)
    ensure_quarantine_table(spark, quarantine_uri(dataset, settings))
    return version


def read_staged(spark: SparkSession, dataset: Dataset, batch_id: str, part: str, settings: Settings) -> DataFrame:
    """A staged part of the batch (``silver`` or ``quarantine``); raises when nothing is staged."""
    from delta.tables import DeltaTable

    uri = staged_uri(dataset, batch_id, part, settings)
    if not DeltaTable.isDeltaTable(spark, uri):
        raise NothingStagedError(
            f"{dataset.name}: batch {batch_id} has no staged {part} rows at {uri}; rerun its silver task "
            "(refine) for the data interval first"
        )
    return spark.read.format("delta").load(uri)


def is_staged(spark: SparkSession, dataset: Dataset, batch_id: str, settings: Settings) -> bool:
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, staged_uri(dataset, batch_id, "quarantine", settings)))


# --------------------------------------------------------------------------- publish


@contextmanager
def idempotent_commit(spark: SparkSession, app: str, version: int) -> Iterator[None]:
    """Delta's idempotent DML: a commit with the same app id and a version not above the table's
    recorded one is skipped (Delta Lake PR 1555: SQL options for INSERT/DELETE/UPDATE/MERGE)."""
    spark.conf.set(TXN_APP_ID_CONF, app)
    spark.conf.set(TXN_VERSION_CONF, str(version))
    try:
        yield
    finally:
        spark.conf.unset(TXN_APP_ID_CONF)
        spark.conf.unset(TXN_VERSION_CONF)


def committed_version(settings: Settings, key: str, app: str) -> int | None:
    """The ``txnVersion`` a table has recorded for ``app`` (delta-rs reads the log's txn actions)."""
    table = storage.delta_table_or_none(settings, key)
    return None if table is None else table.transaction_version(app)


def merge_into_silver(
    spark: SparkSession,
    dataset: Dataset,
    rows: DataFrame,
    settings: Settings,
    republished_batch: str | None = None,
    uri: str | None = None,
    event_windows: Sequence[tuple[str, str]] = (),
) -> None:
    """MERGE on the natural key; on a key already in silver the later ingestion wins (within one
    ingestion the later source line, as ``split_batch`` decides, so a steward release agrees with a rerun).

    With ``republished_batch`` (a batch's publish), the batch's own earlier rows are replaced
    whatever their line, and keys silver holds from that batch that ``rows`` no longer has are
    deleted in the same commit (a rule now quarantines them).

    Partition columns join the match condition so the MERGE prunes partitions; they must be
    functions of the natural key (e.g. ``measured_date`` of ``measured_at``). ``uri``: another table
    of silver's schema to merge into (the live view, ``jobs.stream``), by the same rule.
    ``event_windows``: (earliest, latest) ``event_time`` ranges holding every row (UTC, as Spark prints a
    timestamp), added to the match condition as literals so Delta skips the target's files outside them
    (their min/max statistics); a key with another event time cannot match, so the result is the same.
    The live view's micro-batches need it: without it each MERGE reads every file of the day so far.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    if event_windows and (dataset.event_time is None or dataset.event_time not in dataset.natural_key):
        raise ValueError(f"{dataset.name}: an event window needs an event time in the natural key")
    uri = uri or ensure_silver_table(spark, dataset, settings)
    keys = (*dataset.natural_key, *[p for p in dataset.partition_by if p not in dataset.natural_key])
    columns = [*dataset.column_names, *LINEAGE_COLUMNS]
    source = rows.select(*columns, F.lit(False).alias("_delete"))
    later = "s._ingested_at > t._ingested_at OR (s._ingested_at = t._ingested_at AND s._source_line >= t._source_line)"
    if republished_batch is not None:
        current = spark.read.format("delta").load(uri).where(F.col("_batch_id") == republished_batch)
        same_key = [current[k].eqNullSafe(rows[k]) for k in keys]
        gone = current.join(rows.select(*keys), same_key, "left_anti")
        source = source.unionByName(gone.select(*columns, F.lit(True).alias("_delete")))
        later = f"t._batch_id = '{republished_batch}' OR {later}"
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    if event_windows:
        ranges = (
            f"t.`{dataset.event_time}` BETWEEN TIMESTAMP'{low}' AND TIMESTAMP'{high}'" for low, high in event_windows
        )
        condition += f" AND ({' OR '.join(ranges)})"
    values: dict[str, str | Column] = {f"`{c}`": f"s.`{c}`" for c in columns}
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(source.alias("s"), condition)
        .whenMatchedDelete(condition="s._delete AND t._batch_id = s._batch_id")
        .whenMatchedUpdate(condition=f"NOT s._delete AND ({later})", set=values)
        .whenNotMatchedInsert(condition="NOT s._delete", values=values)
        .execute()
    )


def write_quarantine(
    spark: SparkSession,
    dataset: Dataset,
    rows: DataFrame,
    batch_id: str,
    settings: Settings,
    txn: tuple[str, int] | None = None,
) -> None:
    """Replace this batch's quarantine rows (a rerun rewrites, never appends twice); ``txn`` makes
    the commit idempotent (``txnAppId``, ``txnVersion``)."""
    uri = quarantine_uri(dataset, settings)
    ensure_quarantine_table(spark, uri)
    writer = rows.write.format("delta").mode("overwrite").option("replaceWhere", f"_batch_id = '{batch_id}'")
    if txn is not None:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", txn[1])
    writer.save(uri)


def publish(
    spark: SparkSession,
    dataset: Dataset,
    batch_id: str,
    staged_version: int,
    as_of: date,
    settings: Settings | None = None,
) -> PublishResult:
    """Publish a staged batch: MERGE into silver, commit its quarantine rows (and restricted
    values), remove the staging. Idempotent for one staging (see the module docstring).

    ``as_of`` dates the personal values' validity periods (the interval's local day).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    settings = settings or get_settings()
    silver_app = app_id(dataset, batch_id, "silver")
    quarantine_app = app_id(dataset, batch_id, "quarantine")
    if not is_staged(spark, dataset, batch_id, settings):
        done = committed_version(settings, dataset.table_path, silver_app) or -1
        if done >= staged_version:  # a retry after the staging was removed: all was committed
            return PublishResult(dataset.name, batch_id, staged_version, 0, 0, already_published=True)
        read_staged(spark, dataset, batch_id, "quarantine", settings)  # raises NothingStagedError
    good = read_staged(spark, dataset, batch_id, "silver", settings).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        quarantine = read_staged(spark, dataset, batch_id, "quarantine", settings)
        date_col = dataset.partition_by[0] if dataset.partition_by else None
        per_day = good.groupBy(F.col(date_col) if date_col else F.lit(None)).count().collect()  # rows and days at once
        silver_rows = sum(int(r[1]) for r in per_day)
        dates = sorted(str(r[0]) for r in per_day) if date_col else []
        quarantined = quarantine.where(F.col("status") == "open").count()
        with interpreted_if_small(spark, silver_rows + quarantined, settings):
            with idempotent_commit(spark, silver_app, staged_version):
                merge_into_silver(spark, dataset, good, settings, republished_batch=batch_id)
            crash_point("publish.after_silver")
            if dataset.personal is not None:
                write_restricted(spark, dataset, good, as_of, batch_id, settings)  # idempotent by its own design
            write_quarantine(spark, dataset, quarantine, batch_id, settings, (quarantine_app, staged_version))
            crash_point("publish.after_quarantine")
    finally:
        good.unpersist()
    remove_staging(dataset, batch_id, settings)
    return PublishResult(dataset.name, batch_id, staged_version, silver_rows, quarantined, dates)


def remove_staging(dataset: Dataset, batch_id: str, settings: Settings) -> int:
    """Delete the batch's staging objects (after a publish or a discard); returns how many."""
    prefix = f"{STAGING_PREFIX}/{dataset.sector}/{dataset.name}/{batch_id}/"
    return storage.delete_prefix(prefix, settings)
