"""The DataFrames a gate validates, built once per batch from silver, quarantine and the books.

Checks look at one of three frames (``Check.frame`` in the registry):
- ``silver``: the batch's rows as written to silver, plus every check column the checks declare
  (``Check.derive``) and the interval-relative ones, added in one select;
- ``lines``: one row per landed line of the batch: its outcome (silver, quarantined, superseded,
  duplicate), the criterion that rejected it (``none`` when kept; NULL for duplicates, removed
  before judging), its entity and province, and per criterion whether it failed;
- ``entity``: every active entity (reference list ∪ heard in the last 30 days) × hour of the data
  interval: whether it reported that hour, when it was last heard before the interval's end.

The gate persists the silver frame and derives ``lines`` from it, so silver is read once for the
batch and once (two columns, 30 partitions) for liveness. Everything is judged against the data
interval, never the clock, so a backfill is scored like the day it backfills.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from expectations.suites import expectation_kwargs
from jobs.checks import NO_LEGACY_ENCODING_FLAG
from jobs.interval import DataInterval
from jobs.registry import Check, Criterion, Dataset
from jobs.text import is_nfc, looks_legacy_encoded

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

ENTITY_LOOKBACK_DAYS = 30
NEVER_HEARD_HOURS = 1e9
ENTITY_TYPES = {"station_id": "station", "facility_id": "facility"}
"""Entity columns the quality reports name, and what they call them."""
FAIL_COLUMNS = {c: f"_fail_{c.name.lower()}" for c in Criterion}
"""Per-criterion failure flag on the lines frame (``_fail_correct`` …)."""
MALFORMED_LINE = "MALFORMED_LINE"
"""The reason code of a line that could not be parsed (its fields, the entity id too, are noise)."""
MALFORMED_ENTITY = "(malformed line)"
"""Entity id under which per-entity scores count lines too broken to name an entity."""
UNKNOWN_ENTITY = "(not in reference)"
"""Entity id under which per-entity scores count lines naming an id the reference list lacks."""
GROUPED_ENTITIES = (MALFORMED_ENTITY, UNKNOWN_ENTITY)
STEWARD_RELEASED = ("released", "accepted")
"""Quarantine statuses whose rows are back in silver (not counted again as quarantined lines)."""


def entity_column(dataset: Dataset) -> str | None:
    """The column naming the station / facility a row belongs to (reference lists: their key)."""
    if dataset.entity_column:
        return dataset.entity_column
    if len(dataset.natural_key) == 1 and dataset.natural_key[0] in ENTITY_TYPES:
        return dataset.natural_key[0]
    return None


def entity_type(dataset: Dataset) -> str | None:
    column = entity_column(dataset)
    return ENTITY_TYPES.get(column) if column else None


def text_columns(dataset: Dataset) -> list[str]:
    """Free-text columns whose Unicode form is checked (names)."""
    return [f.name for f in dataset.fields if f.type == "STRING" and f.name.endswith(("_name", "_park"))]


def derived_columns(checks: Iterable[Check]) -> list[tuple[str, str]]:
    """Every check column the checks declare, once each, in declaration order."""
    seen: dict[str, str] = {}
    for check in checks:
        for name, sql in check.derive:
            if seen.setdefault(name, sql) != sql:
                raise ValueError(f"check column {name} is declared twice with different SQL")
    return list(seen.items())


def _ts(moment: datetime) -> Column:
    from pyspark.sql import functions as F

    return F.lit(moment.replace(tzinfo=None)).cast("timestamp")


def _hours_before(interval: DataInterval, ts: Column) -> Column:
    from pyspark.sql import functions as F

    return (F.unix_timestamp(_ts(interval.end)) - F.unix_timestamp(ts)) / 3600.0


def silver_frame(
    batch_rows: DataFrame,
    dataset: Dataset,
    interval: DataInterval,
    checks: Iterable[Check],
    reference: DataFrame | None = None,
) -> DataFrame:
    """The batch's silver rows with every check column (one projection: no extra pass).

    ``reference`` (entity id + ``province_code``) adds ``_entity_province`` for cross-field checks.
    """
    from pyspark.sql import functions as F

    rows = batch_rows
    entity = entity_column(dataset)
    if reference is not None and entity and dataset.entity_column:
        ref = reference.select(F.col(entity).alias("_ref_entity"), F.col("province_code").alias("_entity_province"))
        rows = rows.join(F.broadcast(ref), rows[entity] == ref["_ref_entity"], "left").drop("_ref_entity")
    if dataset.event_time:
        rows = rows.withColumn("_hours_before_interval_end", _hours_before(interval, F.col(dataset.event_time)))
    derived = derived_columns(checks)
    return rows.select("*", *[F.expr(sql).alias(name) for name, sql in derived]) if derived else rows


def published_frame(
    silver_table: DataFrame, staged: DataFrame, dataset: Dataset, batch_id: str, dates: Sequence[str] = ()
) -> DataFrame:
    """The natural keys silver would hold for the staged batch's keys once it is published.

    Silver rows of other batches that share a key with a staged row stay (the MERGE updates them in
    place); staged rows with a new key are added; the batch's own earlier rows are replaced or
    deleted, so they are left out. Only the partitions the batch touches (``dates``) are read.
    """
    from datetime import date as date_type

    from pyspark.sql import functions as F

    keys = [*dataset.natural_key, *[p for p in dataset.partition_by if p not in dataset.natural_key]]
    current = silver_table.where(F.col("_batch_id") != batch_id)
    if dataset.partition_by and dates:
        current = current.where(F.col(dataset.partition_by[0]).isin([date_type.fromisoformat(d) for d in dates]))
    current = current.select(*keys)
    staged_keys = staged.select(*keys)
    same_key = [current[k].eqNullSafe(staged_keys[k]) for k in keys]
    kept = current.join(staged_keys, same_key, "left_semi")
    added = staged_keys.join(current, [staged_keys[k].eqNullSafe(current[k]) for k in keys], "left_anti")
    return kept.unionByName(added)


def non_nfc_values(values: Iterable[str | None]) -> list[str]:
    """The values that are not Unicode NFC (pure; the gate feeds it a column's distinct values)."""
    return sorted(v for v in set(values) if v is not None and not is_nfc(v))


def legacy_encoded_values(values: Iterable[str | None]) -> list[str]:
    """The values holding TCVN3/VNI mojibake (pure; the gate feeds it a column's distinct values)."""
    return sorted(v for v in set(values) if v is not None and looks_legacy_encoded(v))


def with_text_flags(frame: DataFrame, dataset: Dataset, checks: Iterable[Check] = ()) -> DataFrame:
    """Add ``_text_is_nfc`` and each ``_no_legacy_encoding_<column>`` a check names: NFC and the
    mojibake pattern are judged once per distinct name on the driver (names are few), then applied
    as a plain ``isin``, so the flags cost one pass over the (cached) frame."""
    from pyspark.sql import functions as F

    legacy = [
        column[len(NO_LEGACY_ENCODING_FLAG) :]
        for check in checks
        if (column := str(check.kwargs.get("column", ""))).startswith(NO_LEGACY_ENCODING_FLAG)
    ]
    names = text_columns(dataset)
    texts = list(dict.fromkeys(c for c in [*names, *legacy] if c in frame.columns))
    missing = sorted(set(legacy) - set(texts))
    if missing:
        raise ValueError(f"{dataset.name}: mojibake check on {missing}, which the gate's frame does not have")
    distinct = frame.select(*texts).distinct().collect() if texts else []
    flag = F.lit(True)
    flags = {}
    for i, column in enumerate(texts):
        bad = non_nfc_values(r[i] for r in distinct)
        if bad and column in names:
            flag = flag & ~F.coalesce(F.col(column).isin(bad), F.lit(False))
        if column in legacy:
            mojibake = legacy_encoded_values(r[i] for r in distinct)
            no_legacy = ~F.col(column).isin(mojibake) if mojibake else F.lit(True)
            flags[f"{NO_LEGACY_ENCODING_FLAG}{column}"] = F.when(F.col(column).isNotNull(), no_legacy)
    return frame.withColumns({"_text_is_nfc": flag, **flags})


def unexpected_condition(check: Check) -> Column | None:
    """The rows a column-map check counts as unexpected, as a Spark condition (None: not a row check).

    Mirrors Great Expectations' own semantics (NULLs are ignored except by the not-null check), so
    per-entity counts add up to the expectation's ``unexpected_count``.
    """
    from functools import reduce

    from pyspark.sql import functions as F

    kw = expectation_kwargs(check)
    kind = check.expectation
    if kind == "ExpectColumnPairValuesToBeInSet":
        a, b = F.col(kw["column_A"]), F.col(kw["column_B"])
        pairs = [(a == x) & (b == y) for x, y in kw["value_pairs_set"]]
        in_set = reduce(lambda p, q: p | q, pairs) if pairs else F.lit(False)
        return ~(a.isNull() & b.isNull()) & ~F.coalesce(in_set, F.lit(False))
    if "column" not in kw:
        return None
    col = F.col(kw["column"])
    present = col.isNotNull()
    if kind == "ExpectColumnValuesToNotBeNull":
        return col.isNull()
    if kind == "ExpectColumnValuesToBeInSet":
        return present & ~col.isin(list(kw["value_set"]))
    if kind == "ExpectColumnValuesToNotBeInSet":
        return present & col.isin(list(kw["value_set"]))
    if kind == "ExpectColumnValuesToBeBetween":
        low, high = kw.get("min_value"), kw.get("max_value")
        bad = F.lit(False)
        if low is not None:
            bad = bad | ((col <= low) if kw.get("strict_min") else (col < low))
        if high is not None:
            bad = bad | ((col >= high) if kw.get("strict_max") else (col > high))
        return present & bad
    if kind == "ExpectColumnValuesToMatchRegex":
        return present & ~col.rlike(kw["regex"])
    if kind == "ExpectColumnValuesToNotMatchRegex":
        return present & col.rlike(kw["regex"])
    return None


def lines_frame(
    spark: SparkSession,
    silver: DataFrame,
    quarantine_batch: DataFrame,
    dataset: Dataset,
    accounting: Mapping[str, Any],
    silver_checks: Sequence[Check],
    reference: DataFrame | None = None,
) -> DataFrame:
    """One row per landed line with its outcome, entity, province and per-criterion failure flags.

    Silver rows and open quarantined rows are real rows; superseded versions and exact duplicates
    are only counted by the silver step (``accounting``), so they appear as rows without a line
    number or entity. A silver row fails a criterion when one of that criterion's row checks
    finds it unexpected; a quarantined row fails the criterion that rejected it.
    """
    from pyspark.sql import functions as F

    entity = entity_column(dataset)
    null_str = F.lit(None).cast("string")

    def fails(criterion: Criterion) -> Column:
        conditions = [
            cond for c in silver_checks if c.criterion == criterion and (cond := unexpected_condition(c)) is not None
        ]
        combined = F.lit(False)
        for cond in conditions:
            combined = combined | F.coalesce(cond, F.lit(False))
        return combined

    kept = silver.select(
        F.col("_source_line").cast("long").alias("_source_line"),
        (F.col(entity) if entity else null_str).alias("_entity"),
        (F.col("province_code") if "province_code" in silver.columns else null_str).alias("_province"),
        F.lit("silver").alias("_outcome"),
        F.lit("none").alias("rejected_for"),
        F.lit(False).alias("_is_duplicate"),
        null_str.alias("reason_code"),
        null_str.alias("raw_line"),
        *[fails(c).alias(FAIL_COLUMNS[c]) for c in Criterion],
    )

    q = quarantine_batch
    if "status" in q.columns:
        q = q.where(~F.col("status").isin(*STEWARD_RELEASED))
    q = q.withColumn("_entity", _quarantined_entity(dataset, entity))
    if reference is not None and entity:
        ref = reference.select(F.col(entity).alias("_ref_entity"), F.col("province_code").alias("_province"))
        q = q.join(F.broadcast(ref), q["_entity"] == ref["_ref_entity"], "left")
        # An id the reference list does not know names no station: one group, not one "entity" each.
        known = F.col("_ref_entity").isNotNull() | (F.col("_entity") == MALFORMED_ENTITY)
        q = q.withColumn("_entity", F.when(known, F.col("_entity")).otherwise(F.lit(UNKNOWN_ENTITY)))
        q = q.drop("_ref_entity")
    else:
        q = q.withColumn("_province", null_str)
    rejected = q.select(
        F.col("_source_line").cast("long").alias("_source_line"),
        "_entity",
        "_province",
        F.lit("quarantined").alias("_outcome"),
        F.col("criterion").alias("rejected_for"),
        F.lit(False).alias("_is_duplicate"),
        "reason_code",
        "raw_line",
        *[(F.col("criterion") == c.value).alias(FAIL_COLUMNS[c]) for c in Criterion],
    )

    def counted(n: int, outcome: str, duplicate: bool) -> DataFrame:
        return spark.range(n).select(
            F.lit(None).cast("long").alias("_source_line"),
            null_str.alias("_entity"),
            null_str.alias("_province"),
            F.lit(outcome).alias("_outcome"),
            (null_str if duplicate else F.lit("none")).alias("rejected_for"),
            F.lit(duplicate).alias("_is_duplicate"),
            null_str.alias("reason_code"),
            null_str.alias("raw_line"),
            *[F.lit(False).alias(FAIL_COLUMNS[c]) for c in Criterion],
        )

    return (
        kept.unionByName(rejected)
        .unionByName(counted(int(accounting.get("superseded_duplicates", 0)), "superseded", False))
        .unionByName(counted(int(accounting.get("exact_duplicates", 0)), "duplicate", True))
    )


UNPARSED_REASONS = ("RECORD_TOO_LARGE", "TOO_MANY_FIELDS", "NESTING_TOO_DEEP", "INVALID_ENCODING")
"""Guard reasons (jobs/guards.py) of lines bronze never parsed: like MALFORMED_LINE, never parsed again."""


def _quarantined_entity(dataset: Dataset, entity: str | None) -> Column:
    """The entity id a quarantined line names, read from its raw line as the source wrote it.

    A landed line is a JSON object or a CSV record, whatever the source's usual format (a local
    drop of an MQTT dataset is CSV): JSON is read at the column's JSON path, CSV by position. A
    line that could not be parsed at all (``MALFORMED_LINE``) is grouped as ``MALFORMED_ENTITY``.
    """
    from pyspark.sql import functions as F

    source = dataset.source
    assert source is not None
    if not entity or entity not in source.columns:
        return F.lit(None).cast("string")
    raw = F.col("raw_line")
    schema = ", ".join(f"`{c}` STRING" for c in source.columns)
    named = F.when(F.ltrim(raw).startswith("{"), F.get_json_object(raw, source.json_path(entity))).otherwise(
        F.from_csv(F.when(~F.col("reason_code").isin(MALFORMED_LINE, *UNPARSED_REASONS), raw), schema, {"escape": '"'})[
            entity
        ]
    )
    # a line bronze could not or would not parse (hostile-input guards: 10⁶ fields kill univocity) is never parsed here
    unparsed = F.col("reason_code").isin(MALFORMED_LINE, *UNPARSED_REASONS)
    return F.when(unparsed, F.lit(MALFORMED_ENTITY)).otherwise(F.trim(named))


def lookback_dates(interval: DataInterval) -> tuple[Any, Any]:
    """First and last silver partition (local day) liveness looks at."""
    last = (interval.end - timedelta(microseconds=1) + timedelta(hours=7)).date()
    return interval.local_start_date - timedelta(days=ENTITY_LOOKBACK_DAYS), last


def interval_hours(interval: DataInterval) -> int:
    return max(1, math.ceil((interval.end - interval.start).total_seconds() / 3600))


def entity_frame(
    silver_table: DataFrame, reference: DataFrame | None, dataset: Dataset, interval: DataInterval
) -> DataFrame:
    """Every active entity × hour of the interval: reported that hour? last heard before the end?

    Active = in the reference list (``active_since`` on or before the interval's day, when the list
    has it) or heard in the last 30 days. One aggregation over two columns of silver.
    """
    from pyspark.sql import functions as F

    entity, ts_col = entity_column(dataset), dataset.event_time
    assert entity and ts_col, f"{dataset.name} has no entity or event time"
    first_day, last_day = lookback_dates(interval)
    ts = F.col(ts_col)
    start_ts, end_ts = _ts(interval.start), _ts(interval.end)
    recent = silver_table.where(F.col("measured_date").between(F.lit(first_day), F.lit(last_day))).where(ts < end_ts)
    hour_index = F.floor((F.unix_timestamp(ts) - F.unix_timestamp(start_ts)) / 3600).cast("int")
    heard = recent.groupBy(F.col(entity).alias("_entity")).agg(
        F.max(ts).alias("_last_seen"),
        F.collect_set(F.when(ts >= start_ts, hour_index)).alias("_hours_seen"),
    )
    if reference is not None:
        ref = reference
        if "active_since" in ref.columns:
            ref = ref.where(
                F.col("active_since").isNull() | (F.col("active_since") <= F.lit(interval.local_start_date))
            )
        known = ref.select(F.col(entity).alias("_entity"), F.col("province_code").alias("_province"))
        entities = known.join(heard, "_entity", "full")
    else:
        entities = heard.withColumn("_province", F.lit(None).cast("string"))
    hours = interval_hours(interval)
    return (
        entities.select(
            F.col("_entity").alias(entity),
            "_province",
            "_last_seen",
            F.coalesce(_hours_before(interval, F.col("_last_seen")), F.lit(NEVER_HEARD_HOURS)).alias("_hours_silent"),
            F.explode(F.sequence(F.lit(0), F.lit(hours - 1))).alias("_hour"),
            F.coalesce(F.col("_hours_seen"), F.array().cast("array<int>")).alias("_hours_seen"),
        )
        .select("*", F.array_contains(F.col("_hours_seen"), F.col("_hour")).alias("_reported"))
        .drop("_hours_seen")
    )


# ----------------------------------------------------------------------------- per-entity scores


@dataclass(frozen=True)
class EntityScore:
    """One row of ``quality/entity_scores`` before the run's identifiers are added."""

    criterion: str
    entity_type: str
    entity_id: str
    rows_evaluated: int
    rows_failing: int
    last_seen: datetime | None = None
    silent: bool | None = None

    @property
    def score(self) -> float | None:
        if self.rows_evaluated <= 0:
            return None
        return round(100.0 * (1 - self.rows_failing / self.rows_evaluated), 2)


def entity_scores(
    kind: str,
    lines: Sequence[Mapping[str, Any]],
    entities: Sequence[Mapping[str, Any]] | None,
) -> list[EntityScore]:
    """Per entity and per province, per criterion: rows judged, rows failing, liveness (pure).

    ``lines``: per (``entity``, ``province``) the non-duplicate lines (``rows``) and, per criterion
    value, how many failed it. ``entities`` (datasets with liveness): per entity its ``province``,
    ``hours`` expected, ``reported`` hours, ``last_seen`` and ``silent``. Completeness of an entity
    with liveness is its hour coverage; of a reference row, its row checks. Provinces add up their
    entities; a province is silent when every entity in it is.
    """
    out: list[EntityScore] = []
    info = {e["entity"]: e for e in entities or []}
    row_criteria = [Criterion.CORRECT, Criterion.CLEAN] + ([] if entities is not None else [Criterion.COMPLETE])
    province_of: dict[str, str | None] = {e["entity"]: e.get("province") for e in entities or []}
    for line in lines:
        province_of.setdefault(line["entity"], line.get("province"))
        e = info.get(line["entity"], {})
        for criterion in row_criteria:
            out.append(
                EntityScore(
                    criterion.value,
                    kind,
                    line["entity"],
                    int(line["rows"]),
                    int(line[criterion.value]),
                    e.get("last_seen"),
                    e.get("silent"),
                )
            )
    for e in entities or []:
        hours, reported = int(e["hours"]), int(e["reported"])
        out.append(
            EntityScore(
                Criterion.COMPLETE.value, kind, e["entity"], hours, hours - reported, e["last_seen"], e["silent"]
            )
        )
        out.append(
            EntityScore(Criterion.LIVE.value, kind, e["entity"], 1, int(bool(e["silent"])), e["last_seen"], e["silent"])
        )
    out = [s for s in out if s.rows_evaluated > 0]
    totals: dict[tuple[str, str], list[EntityScore]] = {}
    for s in out:
        province = province_of.get(s.entity_id)
        if province:
            totals.setdefault((province, s.criterion), []).append(s)
    for (province, criterion_value), mine in sorted(totals.items()):
        seen = [s.last_seen for s in mine if s.last_seen is not None]
        silences = [s.silent for s in mine if s.silent is not None]
        out.append(
            EntityScore(
                criterion_value,
                "province",
                province,
                sum(s.rows_evaluated for s in mine),
                sum(s.rows_failing for s in mine),
                max(seen) if seen else None,
                all(silences) if silences else None,
            )
        )
    return out


def line_stats(lines: DataFrame) -> list[dict[str, Any]]:
    """Per entity and province of the lines frame: non-duplicate lines and failures per criterion."""
    from pyspark.sql import functions as F

    judged = lines.where(F.col("_entity").isNotNull() & ~F.col("_is_duplicate"))
    rows = (
        judged.groupBy("_entity", "_province")
        .agg(
            F.count("*").alias("rows"),
            *[F.sum(F.col(FAIL_COLUMNS[c]).cast("long")).alias(FAIL_COLUMNS[c]) for c in Criterion],
        )
        .collect()
    )
    return [
        {"entity": r["_entity"], "province": r["_province"], "rows": r["rows"]}
        | {c.value: r[FAIL_COLUMNS[c]] or 0 for c in Criterion}
        for r in rows
    ]


def entity_stats(entity: DataFrame, dataset: Dataset, sla_hours: float) -> list[dict[str, Any]]:
    """Per entity of the entity frame: hours expected and reported, last seen, silent (one pass)."""
    from pyspark.sql import functions as F

    column = entity_column(dataset)
    assert column, f"{dataset.name} has no entity column"
    rows = (
        entity.groupBy(column, "_province", "_last_seen", "_hours_silent")
        .agg(F.count("*").alias("hours"), F.sum(F.col("_reported").cast("int")).alias("reported"))
        .collect()
    )
    return [
        {
            "entity": r[column],
            "province": r["_province"],
            "hours": r["hours"],
            "reported": r["reported"] or 0,
            "last_seen": r["_last_seen"],
            "silent": r["_hours_silent"] > sla_hours,
        }
        for r in rows
    ]
