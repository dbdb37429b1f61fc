"""Held batches: what a steward sees and decides when a gate stopped a batch (write → audit → publish).

A batch whose critical check failed stays staged and has a ``quality/held_batches`` row (status
``held``); silver, quarantine and gold are untouched. A steward then

- **releases** it: the staged batch is published exactly as a passed gate would publish it
  (:func:`jobs.publish.publish`), the release is recorded in ``quality/releases`` (who, why, how
  many rows), and the caller emits the certified asset event so gold follows;
- **discards** it: nothing is published to silver; the staged good rows go to quarantine with the
  reason ``BATCH_DISCARDED`` (status ``discarded``, the steward's reason as detail) together with
  the batch's rejected rows, and the books (``quality/batch_accounting``) say so. A rerun of the
  interval is refused from then on.

Deciding twice is refused with a message that says what happened the first time. Reads go through
delta-rs; publishing and the quarantine commit use Spark.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobs.bronze import read_bronze_batch
from jobs.errors import DataError, UserFacingError
from jobs.interval import DataInterval
from jobs.publish import publish, read_staged, remove_staging, write_quarantine
from jobs.registry import REGISTRY, RULESET_VERSION, Dataset
from jobs.settings import Settings, get_settings
from jobs.silver import STATUS_DISCARDED, province_column
from jobs.spark import get_spark
from jobs.storage import delta_table_or_none
from jobs.tables import (
    ACCOUNTING_DDL,
    DISCARDED,
    HELD,
    HELD_BATCHES_DDL,
    HELD_BATCHES_KEY,
    QUARANTINE_DDL,
    RELEASED,
    RELEASES_DDL,
    RELEASES_KEY,
    SUPERSEDED,
    ddl_names,
    quality_key,
    replace_rows,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DISCARD_REASON = "BATCH_DISCARDED"
DISCARD_RULE = "steward.discard_batch"
STATUSES = (HELD, RELEASED, DISCARDED, SUPERSEDED)


class BatchDecisionError(UserFacingError):
    """A steward's decision on a batch that cannot be carried out; the message says why and what to do."""


class BatchDiscardedError(DataError):
    """A rerun of a batch a steward discarded: it stays out of silver for good."""


@dataclass
class Decision:
    """What a release or discard did."""

    action: str
    dataset: str
    batch_id: str
    steward: str
    reason: str
    release_id: str | None = None
    silver_rows: int = 0
    quarantined_rows: int = 0
    discarded_rows: int = 0
    dates: list[str] = field(default_factory=list)
    already_published: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def held_batches(
    status: str | None = HELD, dataset: str | None = None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """The held-batch records (newest first), filtered by status (None: all) and dataset."""
    import pyarrow.compute as pc

    settings = settings or get_settings()
    if status is not None and status not in STATUSES:
        raise BatchDecisionError(f"unknown status {status!r}; use one of {', '.join(STATUSES)} or all")
    table = delta_table_or_none(settings, HELD_BATCHES_KEY)
    if table is None:
        return []
    expr = None
    for column, value in (("status", status), ("dataset", dataset)):
        if value is not None:
            term = pc.field(column) == value
            expr = term if expr is None else expr & term
    rows = table.to_pyarrow_dataset().to_table(filter=expr).to_pylist()
    for row in rows:
        row["failed_checks"] = json.loads(row["failed_checks"] or "[]")
    return sorted(rows, key=lambda r: r["held_at"], reverse=True)


def find(batch_id: str, settings: Settings | None = None) -> dict[str, Any] | None:
    rows = [r for r in held_batches(None, settings=settings) if r["batch_id"] == batch_id]
    return rows[0] if rows else None


def check_not_discarded(dataset: Dataset, batch_id: str, settings: Settings) -> None:
    """Refuse to stage or publish a batch a steward discarded."""
    row = find(batch_id, settings)
    if row is not None and row["dataset"] == dataset.name and row["status"] == DISCARDED:
        raise BatchDiscardedError(
            f"{dataset.name}: batch {batch_id} was discarded by {row['decided_by']} on "
            f"{row['decided_at']:%Y-%m-%d %H:%M} UTC ({row['decision_reason']}); "
            f"it stays out of silver for good. Its rows are in quarantine with reason {DISCARD_REASON}; "
            "to load the interval again, ask the source for a corrected delivery under a new interval."
        )


def _update(spark: SparkSession, row: dict[str, Any], settings: Settings, **changes: Any) -> None:
    """Rewrite one held-batch record with ``changes`` (one small delta-rs commit)."""
    names = ddl_names(HELD_BATCHES_DDL)
    merged = {**row, **changes, "failed_checks": json.dumps(row["failed_checks"], ensure_ascii=False)}
    values = tuple(merged.get(n) for n in names)
    predicate = f"dataset = '{row['dataset']}' AND batch_id = '{row['batch_id']}'"
    replace_rows(spark, [values], HELD_BATCHES_DDL, HELD_BATCHES_KEY, predicate, settings)


def mark_published(spark: SparkSession, dataset: Dataset, batch_id: str, settings: Settings) -> None:
    """A later run of a held batch passed its gate and was published: its hold is over."""
    row = find(batch_id, settings)
    if row is not None and row["dataset"] == dataset.name and row["status"] == HELD:
        _update(
            spark,
            row,
            settings,
            status=SUPERSEDED,
            decided_at=_now(),
            decided_by="pipeline",
            decision_reason="a later run of the batch passed its gate",
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _held(batch_id: str, action: str, settings: Settings) -> dict[str, Any]:
    row = find(batch_id, settings)
    if row is None:
        raise BatchDecisionError(
            f"no held batch {batch_id}: only a batch a gate stopped can be {action}d; "
            "see `lakehouse batch list --status all`"
        )
    if row["status"] != HELD:
        when = f"{row['decided_at']:%Y-%m-%d %H:%M} UTC" if row.get("decided_at") else "earlier"
        what = {
            RELEASED: f"was already released by {row['decided_by']} on {when} (release {row['release_id']}): "
            "it is in silver once, a second release would not change that",
            DISCARDED: f"was discarded by {row['decided_by']} on {when}: a discarded batch stays out for good",
            SUPERSEDED: f"was published on {when} by a later run that passed its gate",
        }[row["status"]]
        raise BatchDecisionError(f"batch {batch_id} {what}; nothing done")
    return row


def _check_decision(reason: str, steward: str) -> None:
    if not reason.strip():
        raise BatchDecisionError("--reason is required: say why (it is recorded with the decision)")
    if not steward.strip():
        raise BatchDecisionError("--steward is empty: name who decides")


def release(batch_id: str, reason: str, steward: str, settings: Settings | None = None) -> Decision:
    """Publish a held batch as its gate would have (see the module docstring); the caller emits the
    certified event (:func:`certified_extra`)."""

    settings = settings or get_settings()
    _check_decision(reason, steward)
    row = _held(batch_id, "release", settings)
    dataset = REGISTRY[row["dataset"]]
    interval = _interval(row)
    spark = get_spark()
    published = publish(spark, dataset, batch_id, int(row["staged_version"]), interval.local_start_date, settings)
    now = _now()
    release_id = f"rel-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    dates = published.dates or _interval_days(dataset, interval)
    record = (
        release_id,
        dataset.name,
        steward,
        reason,
        f"held batch {batch_id}",
        int(row["staged_rows"]) + int(row["staged_quarantine_rows"]),
        published.silver_rows or int(row["staged_rows"]),
        published.quarantined_rows or int(row["staged_quarantine_rows"]),
        None,
        [c["check_id"] for c in row["failed_checks"]],
        None,
        None,
        dates,
        RULESET_VERSION,
        now,
    )
    replace_rows(spark, [record], RELEASES_DDL, RELEASES_KEY, f"release_id = '{release_id}'", settings)
    _update(
        spark,
        row,
        settings,
        status=RELEASED,
        decided_at=now,
        decided_by=steward,
        decision_reason=reason,
        release_id=release_id,
    )
    return Decision(
        "release",
        dataset.name,
        batch_id,
        steward,
        reason,
        release_id,
        published.silver_rows,
        published.quarantined_rows,
        0,
        dates,
        published.already_published,
    )


def discard(batch_id: str, reason: str, steward: str, settings: Settings | None = None) -> Decision:
    """Leave a held batch out of silver for good; its good rows go to quarantine (see module docstring)."""
    from pyspark.sql import functions as F

    settings = settings or get_settings()
    _check_decision(reason, steward)
    row = _held(batch_id, "discard", settings)
    dataset = REGISTRY[row["dataset"]]
    spark = get_spark()
    good = read_staged(spark, dataset, batch_id, "silver", settings)
    rejected = read_staged(spark, dataset, batch_id, "quarantine", settings)
    criterion = row["failed_checks"][0]["criterion"] if row["failed_checks"] else None
    lines = read_bronze_batch(spark, dataset, batch_id, settings).select("_source_line", "_raw_line")
    province = province_column(dataset)
    now = _now()
    discarded = good.join(lines, "_source_line", "left").select(
        F.lit(dataset.name).alias("dataset"),
        "_batch_id",
        "_source_file",
        "_source_line",
        F.col("_raw_line").alias("raw_line"),
        (F.col(province) if province else F.lit(None).cast("string")).alias("province_code"),
        F.lit(DISCARD_REASON).alias("reason_code"),
        F.lit(DISCARD_RULE).alias("rule_id"),
        F.lit(RULESET_VERSION).alias("ruleset_version"),
        F.lit(criterion).cast("string").alias("criterion"),
        F.lit(f"batch discarded by {steward}: {reason}").alias("detail"),
        "_ingested_at",
        F.lit(STATUS_DISCARDED).alias("status"),
        F.lit(None).cast("string").alias("release_id"),
        F.lit(now).cast("timestamp").alias("released_at"),
        F.lit(None).cast("map<string,string>").alias("corrections"),
        F.lit(None).cast("array<string>").alias("accepted_rules"),
        F.lit(None).cast("map<string,string>").alias("record"),
    )
    columns = ddl_names(QUARANTINE_DDL)
    everything = rejected.select(*columns).unionByName(discarded.select(*columns))
    counts = {
        r["reason_code"]: r["n"] for r in everything.groupBy("reason_code").agg(F.count("*").alias("n")).collect()
    }
    write_quarantine(spark, dataset, everything, batch_id, settings)
    _rewrite_books(spark, dataset, batch_id, counts, settings)
    remove_staging(dataset, batch_id, settings)
    _update(spark, row, settings, status=DISCARDED, decided_at=now, decided_by=steward, decision_reason=reason)
    n_discarded = counts.get(DISCARD_REASON, 0)
    return Decision(
        "discard", dataset.name, batch_id, steward, reason, None, 0, sum(counts.values()) - n_discarded, n_discarded
    )


def _rewrite_books(
    spark: SparkSession, dataset: Dataset, batch_id: str, by_reason: dict[str, int], settings: Settings
) -> None:
    """The batch's row in ``quality/batch_accounting`` after a discard: no silver row, every kept
    row quarantined (``BATCH_DISCARDED`` for the good ones), duplicates as counted before."""
    table = delta_table_or_none(settings, quality_key("batch_accounting"))
    if table is None:
        return
    import pyarrow.compute as pc

    expr = (pc.field("dataset") == dataset.name) & (pc.field("batch_id") == batch_id)
    rows = table.to_pyarrow_dataset().to_table(filter=expr).to_pylist()
    if not rows:
        return
    books = rows[0]
    books.update(
        silver_rows=0,
        quarantined_rows=sum(by_reason.values()),
        quarantined_by_reason=json.dumps(dict(sorted(by_reason.items())), sort_keys=True),
    )
    names = ddl_names(ACCOUNTING_DDL)
    predicate = f"dataset = '{dataset.name}' AND batch_id = '{batch_id}'"
    replace_rows(
        spark,
        [tuple(books.get(n) for n in names)],
        ACCOUNTING_DDL,
        quality_key("batch_accounting"),
        predicate,
        settings,
    )


def _interval(row: dict[str, Any]) -> DataInterval:
    return DataInterval(row["data_interval_start"].replace(tzinfo=UTC), row["data_interval_end"].replace(tzinfo=UTC))


def _interval_days(dataset: Dataset, interval: DataInterval) -> list[str]:
    """Days a batch without a day partition touched: its interval's day (events), none for snapshots."""
    if dataset.source is not None and dataset.source.snapshot:
        return []
    return [interval.local_start_date.isoformat()]


def certified_extra(decision: Decision, settings: Settings | None = None) -> dict[str, Any]:
    """The certified asset event's ``extra`` for a released batch: the same keys a passed gate's
    event carries (``jobs.pipeline.certified_event_extra``), scores from ``quality/scores``."""
    import pyarrow.compute as pc

    settings = settings or get_settings()
    row = find(decision.batch_id, settings)
    assert row is not None
    start, end = _interval(row).as_strings()
    scores: dict[str, float] = {}
    table = delta_table_or_none(settings, quality_key("scores"))
    if table is not None:
        expr = (pc.field("dataset") == decision.dataset) & (pc.field("batch_id") == decision.batch_id)
        scores = {r["criterion"]: r["score"] for r in table.to_pyarrow_dataset().to_table(filter=expr).to_pylist()}
    return {
        "dataset": decision.dataset,
        "lake": settings.bucket,
        "batch_id": decision.batch_id,
        "data_interval_start": start,
        "data_interval_end": end,
        "days": decision.dates,
        "scores": scores,
        "ruleset_version": RULESET_VERSION,
        "release_id": decision.release_id,
    }
