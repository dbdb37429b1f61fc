"""The data steward's quarantine workflow: list quarantined rows, correct or accept them, release them.

A release never writes silver directly: the selected rows' bronze lines go back through the
dataset's own transform and row rules (``jobs.silver.typed_batch`` / ``split_batch``), with the
steward's decisions applied, and the rows that now pass are MERGEd by natural key like any batch.

- ``--set COLUMN=VALUE`` corrects a parsed *source* field of the selected lines (the raw line
  stays as landed). Not for unparseable lines (no fields to correct: ask the source to resend),
  nor for personal-data columns (they never leave bronze/restricted), nor for a natural-key
  column on more than one row at once (the rows would collapse into one key).
- ``--accept`` accepts a row as it is, overriding the rule that rejected it. Only rules the
  registry marks ``RowRule.acceptable`` (a device-status flag, a province mismatch after a station
  moved) qualify: a value that does not exist (bad timestamp, not a number, unknown unit) needs a
  correction instead, a physical bound or negative value is enforced again by a critical gate
  check, and an unparseable line has nothing to accept.
- Without either, a release re-judges the rows with today's reference data (e.g. after a missing
  station was added to the station list).

Rows that still fail stay ``open`` with their new reason (and their corrections kept for the next
attempt); rows that pass become ``released`` (``accepted`` when ``--accept`` was given) with the
release id. Every release that selected rows is recorded in ``quality/releases``. Exactly once:
re-running a release finds no open rows (no-op), and a rerun of the original batch re-applies the
recorded decisions (``jobs.silver.refine``), so a released row neither reopens nor lands twice.

Releases write silver and quarantine tables the DAG also writes: run them while the dataset's DAG
is not running (one writer per Delta table). Gold picks released rows up on the next DAG run of
their days; the gate of that run checks them like every silver row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobs.bronze import bronze_table_uri
from jobs.errors import UserFacingError
from jobs.gold import read_table
from jobs.interval import DataInterval
from jobs.publish import merge_into_silver
from jobs.registry import REGISTRY, RULESET_VERSION, Dataset, Layer, RowRule
from jobs.settings import Settings, get_settings
from jobs.silver import (
    LEGACY_OPEN_STATUSES,
    STATUS_ACCEPTED,
    STATUS_DISCARDED,
    STATUS_OPEN,
    STATUS_RELEASED,
    province_of_row,
    silver_rows,
    split_batch,
    typed_batch,
)
from jobs.spark import get_spark
from jobs.storage import delta_table_or_none
from jobs.tables import (
    RELEASES_DDL,
    RELEASES_KEY,
    ensure_quarantine_table,
    ensure_table,
    quarantine_key,
    quarantine_uri,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STATUSES = (STATUS_OPEN, STATUS_RELEASED, STATUS_ACCEPTED, STATUS_DISCARDED)


class QuarantineError(UserFacingError):
    """A steward's request that cannot be carried out as given; the message says what to change."""


# --------------------------------------------------------------------------- pure parts


@dataclass(frozen=True, order=True)
class RowId:
    """A quarantined row: ``<batch_id>:<source_line>`` (the landed line it came from)."""

    batch_id: str
    source_line: int

    @classmethod
    def parse(cls, text: str) -> RowId:
        batch_id, sep, line = text.strip().rpartition(":")
        if not sep or not batch_id or not line.isdigit() or int(line) < 1:
            raise QuarantineError(
                f"row id {text!r} is not <batch_id>:<source_line> (e.g. "
                "air_quality_reading__20261125T1700Z-20261126T1700Z:7); copy it from `lakehouse quarantine list`"
            )
        return cls(batch_id, int(line))

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.source_line}"


def normalise_status(status: str | None) -> str:
    """``open`` for rows written before the workflow existed (status ``quarantined`` or missing)."""
    return STATUS_OPEN if status is None or status in LEGACY_OPEN_STATUSES else status


def normalise_province(code: str) -> str:
    """``1`` and `` 01`` both mean province ``01``; anything else is compared as given."""
    code = code.strip()
    return code.zfill(2) if code.isdigit() and len(code) < 2 else code


@dataclass(frozen=True)
class Selection:
    """Which quarantine rows a command looks at; ``status=None`` means any status."""

    dataset: str | None = None
    row_ids: tuple[RowId, ...] = ()
    reason: str | None = None
    province: str | None = None
    batch: str | None = None
    status: str | None = STATUS_OPEN

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise QuarantineError(f"unknown status {self.status!r}; use one of {', '.join(STATUSES)} or all")
        if self.reason is not None:
            object.__setattr__(self, "reason", self.reason.strip().upper())
        if self.province is not None:
            object.__setattr__(self, "province", normalise_province(self.province))

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether a quarantine row (as ``list_rows`` returns it) is selected."""
        if self.dataset is not None and row["dataset"] != self.dataset:
            return False
        if self.status is not None and normalise_status(row.get("status")) != self.status:
            return False
        if self.reason is not None and row.get("reason_code") != self.reason:
            return False
        if self.province is not None and row.get("province_code") != self.province:
            return False
        if self.batch is not None and row["_batch_id"] != self.batch:
            return False
        return not self.row_ids or RowId(row["_batch_id"], int(row["_source_line"])) in self.row_ids

    def for_release(self) -> Selection:
        """Check the selection names one dataset and either rows or a reason; select open rows."""
        if self.dataset is None:
            raise QuarantineError("a release needs --dataset")
        if bool(self.row_ids) == (self.reason is not None):
            raise QuarantineError("select the rows to release with either --row ID ... or --reason R (not both)")
        if self.row_ids and (self.province is not None or self.batch is not None):
            raise QuarantineError("--province and --batch narrow a --reason selection; --row already names rows")
        return Selection(self.dataset, self.row_ids, self.reason, self.province, self.batch, STATUS_OPEN)

    def describe(self) -> str:
        parts = [f"dataset={self.dataset}"] if self.dataset else []
        if self.row_ids:
            parts.append("rows=" + ",".join(str(r) for r in self.row_ids))
        for name in ("reason", "province", "batch"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)}")
        return " ".join(parts)


def parse_corrections(items: Sequence[str], dataset: Dataset) -> dict[str, str]:
    """``["unit=µg/Nm³", ...]`` → ``{"unit": "µg/Nm³"}``, checked against the dataset's source columns."""
    assert dataset.source is not None
    columns = dataset.source.columns
    personal = set(dataset.personal.columns) if dataset.personal is not None else set()
    out: dict[str, str] = {}
    for item in items:
        column, sep, value = item.partition("=")
        column = column.strip()
        if not sep or not column:
            raise QuarantineError(f"--set {item!r}: expected COLUMN=VALUE, e.g. --set unit=µg/Nm³")
        if column not in columns:
            raise QuarantineError(
                f"--set {item!r}: {column!r} is not a source column of {dataset.name}; "
                f"corrections apply to the source fields: {', '.join(columns)}"
            )
        if column in personal:
            raise QuarantineError(
                f"--set {item!r}: {column} is personal data (Decree 13/2023) and never leaves bronze and the "
                "restricted table; ask the source to resend the line instead"
            )
        if column in out:
            raise QuarantineError(f"--set {column}=… is given twice; give each column once")
        out[column] = value
    return out


@dataclass(frozen=True)
class RowDecision:
    """What a release does to one row: its corrections and accepted rules so far, plus this release's."""

    row_id: RowId
    corrections: dict[str, str]
    accepted_rules: tuple[str, ...]


def _rule_for(row: Mapping[str, Any], dataset: Dataset) -> RowRule | None:
    return next((r for r in dataset.row_rules if r.reason == row.get("reason_code")), None)


def _unparseable(row: Mapping[str, Any], dataset: Dataset) -> bool:
    rule = _rule_for(row, dataset)
    return rule is not None and "_parse_error" in rule.when


def plan_release(
    rows: Sequence[Mapping[str, Any]], dataset: Dataset, corrections: Mapping[str, str], accept: bool
) -> list[RowDecision]:
    """Check a release against the policy (module docstring) and decide each selected open row.

    Corrections and accepted rules add to those of earlier attempts on the same row, so a row that
    failed a second rule after its first correction can be finished in a second release.
    """
    unparseable = [RowId(r["_batch_id"], int(r["_source_line"])) for r in rows if _unparseable(r, dataset)]
    if unparseable:
        raise QuarantineError(
            f"{len(unparseable)} selected row(s) are unparseable lines ({', '.join(map(str, unparseable[:5]))}): "
            "they have no fields to correct or accept; ask the source to resend them, or leave them out "
            "of the selection"
        )
    if accept:
        refused = sorted(
            {str(r.get("reason_code")) for r in rows if not ((rule := _rule_for(r, dataset)) and rule.acceptable)}
        )
        if refused:
            allowed = sorted({r.reason for r in dataset.row_rules if r.acceptable}) or ["none"]
            raise QuarantineError(
                f"--accept cannot override {', '.join(refused)} for {dataset.name}: a steward may accept only "
                f"{', '.join(allowed)}; correct the rows with --set COLUMN=VALUE instead"
            )
    keys = sorted(set(corrections) & set(dataset.natural_key))
    if keys and len(rows) > 1:
        raise QuarantineError(
            f"--set {', '.join(keys)} changes the natural key; on {len(rows)} rows at once they would become one "
            "reading. Release such rows one by one (--row ID)"
        )
    decisions = []
    for r in rows:
        accepted = set(r.get("accepted_rules") or ())
        rule = _rule_for(r, dataset)
        if accept and rule is not None:
            accepted.add(rule.rule_id)
        decisions.append(
            RowDecision(
                RowId(r["_batch_id"], int(r["_source_line"])),
                {**dict(r.get("corrections") or {}), **corrections},
                tuple(sorted(accepted)),
            )
        )
    return decisions


def interval_of_batch(batch_id: str) -> DataInterval:
    """The data interval a batch id was derived from (``DataInterval.batch_id`` in reverse)."""
    try:
        token = batch_id.rsplit("__", 1)[1]
        start, end = token.split("-")
        parse = lambda t: datetime.strptime(t, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)  # noqa: E731
        return DataInterval(parse(start), parse(end))
    except (IndexError, ValueError):
        raise QuarantineError(f"batch id {batch_id!r} does not end in __<start>Z-<end>Z") from None


def new_release_id(now: datetime) -> str:
    return f"rel-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


# --------------------------------------------------------------------------- reading (delta-rs, no JVM)


def quarantined_datasets(name: str | None = None) -> list[Dataset]:
    """The datasets that have a quarantine (silver datasets with a source)."""
    if name is not None:
        try:
            ds = REGISTRY[name]
        except KeyError as err:
            raise QuarantineError(str(err.args[0])) from None
        if ds.layer != Layer.SILVER or ds.source is None:
            raise QuarantineError(f"{name} is a {ds.layer.value} table built from other tables: it has no quarantine")
        return [ds]
    return [d for d in REGISTRY if d.layer == Layer.SILVER and d.source is not None]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    row["status"] = normalise_status(row.get("status"))
    corrections = row.get("corrections")
    row["corrections"] = dict(corrections) if corrections else {}
    row["accepted_rules"] = list(row.get("accepted_rules") or [])
    row["row_id"] = str(RowId(row["_batch_id"], int(row["_source_line"])))
    return row


def list_rows(selection: Selection, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every quarantine row the selection matches, sorted by dataset, batch and line."""
    import pyarrow.compute as pc

    settings = settings or get_settings()
    out: list[dict[str, Any]] = []
    for ds in quarantined_datasets(selection.dataset):
        table = delta_table_or_none(settings, quarantine_key(ds))
        if table is None:
            continue
        arrow = table.to_pyarrow_dataset()
        names = set(arrow.schema.names)
        # Push the simple filters down (the Python check below is the definition).
        expr = pc.field("dataset") == ds.name
        for col, value in (
            ("reason_code", selection.reason),
            ("_batch_id", selection.batch),
            ("province_code", selection.province),
        ):
            if value is not None and col in names:
                expr = expr & (pc.field(col) == value)
        if selection.row_ids:
            expr = expr & pc.field("_batch_id").isin(sorted({r.batch_id for r in selection.row_ids}))
        for row in arrow.to_table(filter=expr).to_pylist():
            row.setdefault("province_code", None)
            if selection.matches(row):
                out.append(_plain(row))
    return sorted(out, key=lambda r: (r["dataset"], r["_batch_id"], r["_source_line"]))


# --------------------------------------------------------------------------- release (Spark)


@dataclass
class ReleaseResult:
    """What a release did; ``release_id`` is None when nothing was open (a no-op)."""

    dataset: str
    release_id: str | None
    rows_selected: int
    rows_released: int
    rows_still_failing: int
    released: list[str] = field(default_factory=list)
    still_failing: list[dict[str, Any]] = field(default_factory=list)
    already_released: list[dict[str, Any]] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)
    accepted_rule_ids: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    ruleset_version: str = RULESET_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def release(
    selection: Selection,
    corrections: Mapping[str, str],
    accept: bool,
    note: str,
    steward: str,
    settings: Settings | None = None,
) -> ReleaseResult:
    """Send the selected open rows back through silver with the steward's decisions (see module doc)."""
    settings = settings or get_settings()
    selection = selection.for_release()
    assert selection.dataset is not None
    (dataset,) = quarantined_datasets(selection.dataset)
    if not note.strip():
        raise QuarantineError("--note is required: say why the rows may be released (it goes into quality/releases)")
    if not steward.strip():
        raise QuarantineError("--steward is empty: name who releases the rows")

    already: list[dict[str, Any]] = []
    if selection.row_ids:
        found = {r["row_id"]: r for r in list_rows(Selection(dataset.name, selection.row_ids, status=None), settings)}
        unknown = [str(r) for r in selection.row_ids if str(r) not in found]
        if unknown:
            raise QuarantineError(
                f"no quarantined row {', '.join(unknown)} in {dataset.name}; "
                f"list them with `lakehouse quarantine list --dataset {dataset.name}`"
            )
        already = [
            {"row_id": k, "status": r["status"], "release_id": r["release_id"]}
            for k, r in found.items()
            if r["status"] != STATUS_OPEN
        ]
        rows = [r for r in found.values() if r["status"] == STATUS_OPEN]
    else:
        rows = list_rows(selection, settings)
    decisions = plan_release(rows, dataset, corrections, accept)
    accepted_ids = sorted({rid for d in decisions for rid in d.accepted_rules}) if accept else []
    if not decisions:
        return ReleaseResult(dataset.name, None, 0, 0, 0, already_released=already, corrections=dict(corrections))

    now = datetime.now(UTC)
    release_id = new_release_id(now)
    outcomes = _send_through_silver(dataset, decisions, release_id, accept, now, settings)
    released = sorted((o for o in outcomes if o["_outcome"] != "quarantined"), key=lambda o: o["row_id"])
    failing = sorted((o for o in outcomes if o["_outcome"] == "quarantined"), key=lambda o: o["row_id"])
    rules = {r.reason: r for r in dataset.row_rules}
    result = ReleaseResult(
        dataset=dataset.name,
        release_id=release_id,
        rows_selected=len(decisions),
        rows_released=len(released),
        rows_still_failing=len(failing),
        released=[o["row_id"] for o in released],
        still_failing=[
            {
                "row_id": o["row_id"],
                "reason_code": o["_reject_reason"],
                "rule_id": o["_reject_rule"],
                "criterion": o["_reject_criterion"],
                "description": rules[o["_reject_reason"]].description if o["_reject_reason"] in rules else "",
            }
            for o in failing
        ],
        already_released=already,
        corrections=dict(corrections),
        accepted_rule_ids=accepted_ids,
        dates=sorted({str(o["_date"]) for o in released if o.get("_date") is not None}),
    )
    _record(result, steward, note, selection, now, settings)
    return result


def _send_through_silver(
    dataset: Dataset,
    decisions: list[RowDecision],
    release_id: str,
    accept: bool,
    now: datetime,
    settings: Settings,
) -> list[dict[str, Any]]:
    """Transform + row rules on the selected lines, MERGE the passing ones, update their quarantine rows."""
    from functools import reduce

    from pyspark import StorageLevel
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    spark = get_spark()
    chosen = spark.createDataFrame(
        [
            (d.row_id.batch_id, d.row_id.source_line, d.corrections or None, list(d.accepted_rules) or None)
            for d in decisions
        ],
        "_batch_id STRING, _source_line LONG, corrections MAP<STRING, STRING>, accepted_rules ARRAY<STRING>",
    )
    bronze = spark.read.format("delta").load(bronze_table_uri(dataset, settings))
    inputs = {name: read_table(spark, REGISTRY[name], settings) for name in dataset.inputs}
    parts = []
    for batch_id in sorted({d.row_id.batch_id for d in decisions}):
        mine = chosen.where(F.col("_batch_id") == batch_id)
        lines = bronze.where(F.col("_batch_id") == batch_id).join(
            mine.select("_batch_id", "_source_line"), ["_batch_id", "_source_line"], "left_semi"
        )
        parts.append(typed_batch(dataset, lines, inputs, {"interval": interval_of_batch(batch_id)}, mine))
    typed: DataFrame = reduce(DataFrame.unionByName, parts)
    split = split_batch(typed, dataset).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        date_col = dataset.partition_by[0] if dataset.partition_by else None
        outcomes = [
            r.asDict()
            for r in split.select(
                "_batch_id",
                "_source_line",
                "_outcome",
                "_reject_reason",
                "_reject_rule",
                "_reject_criterion",
                F.coalesce(F.col("_parse_error"), F.lit("")).alias("_detail"),
                province_of_row(split, dataset).alias("_province"),
                (F.col(date_col) if date_col else F.lit(None)).alias("_date"),
            ).collect()
        ]
        if len(outcomes) != len(decisions):
            found = {RowId(o["_batch_id"], o["_source_line"]) for o in outcomes}
            missing = [str(d.row_id) for d in decisions if d.row_id not in found]
            raise QuarantineError(
                f"the bronze lines of {', '.join(missing)} are gone (bronze rewritten?); rerun the batch first"
            )
        if any(o["_outcome"] == "silver" for o in outcomes):
            merge_into_silver(spark, dataset, silver_rows(split, dataset), settings)
    finally:
        split.unpersist()
    for o in outcomes:
        o["row_id"] = str(RowId(o["_batch_id"], o["_source_line"]))
    _update_quarantine(spark, dataset, decisions, outcomes, release_id, accept, now, settings)
    return outcomes


def _update_quarantine(
    spark: SparkSession,
    dataset: Dataset,
    decisions: list[RowDecision],
    outcomes: list[dict[str, Any]],
    release_id: str,
    accept: bool,
    now: datetime,
    settings: Settings,
) -> None:
    """Mark passing rows released/accepted; give still-failing ones their new reason (still open)."""
    from delta.tables import DeltaTable

    by_row = {str(d.row_id): d for d in decisions}
    passed = STATUS_ACCEPTED if accept else STATUS_RELEASED
    updates = []
    for o in outcomes:
        d = by_row[o["row_id"]]
        failed = o["_outcome"] == "quarantined"
        detail = f"still fails after release {release_id}" + (f": {o['_detail']}" if o["_detail"] else "")
        updates.append(
            (
                dataset.name,
                o["_batch_id"],
                o["_source_line"],
                STATUS_OPEN if failed else passed,
                release_id,
                None if failed else now,
                o["_reject_reason"] if failed else None,
                o["_reject_rule"] if failed else None,
                RULESET_VERSION if failed else None,
                o["_reject_criterion"] if failed else None,
                detail if failed else None,
                o["_province"],
                d.corrections or None,
                list(d.accepted_rules) or None,
            )
        )
    source = spark.createDataFrame(
        updates,
        "dataset STRING, _batch_id STRING, _source_line LONG, status STRING, release_id STRING, "
        "released_at TIMESTAMP, reason_code STRING, rule_id STRING, ruleset_version STRING, criterion STRING, "
        "detail STRING, province_code STRING, corrections MAP<STRING, STRING>, accepted_rules ARRAY<STRING>",
    )
    uri = quarantine_uri(dataset, settings)
    ensure_quarantine_table(spark, uri)
    open_statuses = ", ".join(f"'{s}'" for s in LEGACY_OPEN_STATUSES)
    keep = ("reason_code", "rule_id", "ruleset_version", "criterion", "detail", "province_code")
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(
            source.alias("s"),
            "t.dataset = s.dataset AND t._batch_id = s._batch_id AND t._source_line = s._source_line",
        )
        .whenMatchedUpdate(
            condition=f"t.status IN ({open_statuses})",
            set={
                **{c: f"s.{c}" for c in ("status", "release_id", "released_at", "corrections", "accepted_rules")},
                **{c: f"coalesce(s.{c}, t.{c})" for c in keep},
            },
        )
        .execute()
    )


def _record(
    result: ReleaseResult, steward: str, note: str, selection: Selection, now: datetime, settings: Settings
) -> None:
    """Append the release to ``quality/releases``: the quality history of the dataset."""
    spark = get_spark()
    uri = settings.s3a_uri(RELEASES_KEY)
    ensure_table(spark, uri, RELEASES_DDL, ("dataset",))
    row = (
        result.release_id,
        result.dataset,
        steward,
        note,
        selection.describe(),
        result.rows_selected,
        result.rows_released,
        result.rows_still_failing,
        result.corrections or None,
        result.accepted_rule_ids or None,
        result.released + [f["row_id"] for f in result.still_failing],
        [f["row_id"] for f in result.still_failing],
        result.dates,
        result.ruleset_version,
        now,
    )
    spark.createDataFrame([row], RELEASES_DDL).write.format("delta").mode("append").save(uri)


def releases(dataset: str | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    """The recorded releases (newest first), read through delta-rs."""
    import pyarrow.compute as pc

    settings = settings or get_settings()
    table = delta_table_or_none(settings, RELEASES_KEY)
    if table is None:
        return []
    expr = pc.field("dataset") == dataset if dataset else None
    rows = table.to_pyarrow_dataset().to_table(filter=expr).to_pylist()
    for r in rows:
        r["corrections"] = dict(r["corrections"]) if r.get("corrections") else {}
    return sorted(rows, key=lambda r: r["released_at"], reverse=True)


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str, indent=2)
