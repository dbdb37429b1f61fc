"""Erasure of a data subject's personal data (Decree 13/2023/NĐ-CP, right to deletion).

Given one personal value (``contact_phone=0912 345 678``), every trace of the subject is removed
from the lake, driven by the registry (``Dataset.personal`` and ``Field(pseudonym_of=...)``):

* restricted table: the subject's rows (every validity period) are **deleted**;
* silver: pseudonym fields equal to one of the subject's pseudonyms (under every key of the keyring,
  whatever key id a row carries) are set to NULL, with their key id. The row describes a
  facility (a vehicle…), not the person: deleting it would break references and the books;
* bronze, quarantine and landing: the subject's values are **redacted** from the raw lines (the
  field becomes empty), so each line and the books (landed = silver + quarantined + duplicates)
  stay whole. Landing is otherwise never rewritten: this is the one legal exception, recorded in
  the object's metadata and the audit;
* the touched Delta tables are VACUUMed with the stated retention, after which the versions that
  held the subject cannot be read; an audit row (pseudonym, never the raw value) goes to
  ``audit/erasure``.

Raw values are matched in every written form, not only the normalized one: a phone with any
prefix (``+84``, ``0084``, ``84``, ``0``) and separators, an identifier (a plate ``29A-123.45``,
``29a 123.45``, ``29A12345``) in any case with separators anywhere (:func:`privacy.value_pattern`).

Order, so that a crash at any point leaves a state a rerun can finish: an intent row goes to
``audit/erasure_intent`` first (erasure id, subject pseudonyms, steps; no raw value); then landing,
bronze, quarantine, silver, VACUUM; the restricted link, which a rerun needs to find the raw forms
again, is deleted last; then the audit row and the intent's ``completed`` row. ``LAKEHOUSE_CRASH_AT
=erase.after_<step>`` (the crash drills' hook, :func:`jobs.errors.crash_point`) kills the process after a step.

Rerunning the same erasure changes nothing and still audits (0 rows). One writer per table: run it
while the sector's DAG is not running. All writes go through Spark, like the pipeline's.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobs import privacy
from jobs.bronze import bronze_table_uri
from jobs.errors import UserFacingError, crash_point
from jobs.registry import REGISTRY, Dataset, PersonalKind, key_id_column
from jobs.settings import MissingSettingError, Settings, get_settings
from jobs.spark import get_spark
from jobs.storage import list_keys, s3_client
from jobs.tables import (
    AUDIT_DDL,
    AUDIT_KEY,
    ensure_table,
    quarantine_uri,
    restricted_column,
    restricted_uri,
    table_uri,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

DEFAULT_RETENTION_HOURS = 168.0  # Delta's default: readers of a version older than this may fail anyway


@dataclass(frozen=True)
class Subject:
    """Who to erase: one personal source column (as registered) and the value the person gave."""

    column: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Subject:
        column, sep, value = text.partition("=")
        if not sep or not column.strip() or not value.strip():
            raise UserFacingError(f"--subject takes COLUMN=VALUE (e.g. contact_phone=0912345678), got {text!r}")
        return cls(column.strip(), value.strip())


@dataclass
class TableChange:
    table: str
    action: str  # deleted | redacted | pseudonym removed
    rows: int


@dataclass
class ErasureResult:
    erasure_id: str
    subject_column: str
    pseudonyms: list[str]
    tables: list[TableChange]
    landing_objects: list[str]
    retention_hours: float
    requested_by: str
    reason: str
    requested_at: datetime
    completed_at: datetime
    old_versions_unreadable_after: datetime
    vacuumed: list[str] = field(default_factory=list)
    resumed: bool = False  # an earlier run of this erasure stopped before completing; this one finished it

    @property
    def rows_total(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("requested_at", "completed_at", "old_versions_unreadable_after"):
            out[k] = out[k].isoformat()
        out["rows_total"] = self.rows_total
        return out


def personal_columns() -> dict[str, set[PersonalKind]]:
    """Every registered personal source column and its kind(s), across datasets."""
    found: dict[str, set[PersonalKind]] = {}
    for ds in REGISTRY:
        for column, kind in (ds.personal.columns if ds.personal else {}).items():
            found.setdefault(column, set()).add(kind)
    return found


def subjects_for_kind(kind: PersonalKind, value: str) -> list[Subject]:
    """One subject per registered personal column of ``kind`` (``--subject-phone`` searches them all)."""
    return [Subject(c, value) for c, kinds in sorted(personal_columns().items()) if kind in kinds]


def _targets(subject: Subject) -> list[tuple[Dataset, PersonalKind]]:
    targets = [
        (ds, ds.personal.columns[subject.column])
        for ds in REGISTRY
        if ds.personal is not None and subject.column in ds.personal.columns
    ]
    if not targets:
        known = ", ".join(sorted(personal_columns())) or "none"
        raise UserFacingError(
            f"{subject.column!r} is not a registered personal column (Dataset.personal); use one of: {known}"
        )
    return targets


def _delta_exists(spark: SparkSession, uri: str) -> bool:
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, uri))


def _in(column: str, values: Iterable[str]) -> Column:
    from pyspark.sql import functions as F

    return F.col(column).isin(*sorted(values))


def _subject_values(
    spark: SparkSession, ds: Dataset, subject: Subject, normalized: str, ring: privacy.Keyring, settings: Settings
) -> tuple[set[str], set[tuple[PersonalKind, str]]]:
    """The subject's pseudonyms in ``ds`` (under every key of the keyring: rows may carry any key id)
    and every personal value the restricted table holds for them."""
    from pyspark.sql import functions as F

    assert ds.personal is not None
    kind = ds.personal.columns[subject.column]
    pseudonyms = {
        privacy.hmac_hex(normalized, key)
        for f in ds.pseudonym_fields
        if f.pseudonym_of == subject.column
        for key in ring.all_keys(ds.name, subject.column).values()
    }
    values = {(kind, normalized)}
    uri = restricted_uri(ds, settings)
    if _delta_exists(spark, uri):
        own = F.col(restricted_column(subject.column, kind)) == normalized
        for f in ds.pseudonym_fields:
            if pseudonyms:
                own = own | _in(f.name, pseudonyms)
        for row in spark.read.format("delta").load(uri).where(own).collect():
            pseudonyms |= {row[f.name] for f in ds.pseudonym_fields if row[f.name]}
            for column, k in ds.personal.columns.items():
                if row[restricted_column(column, k)]:
                    values.add((k, row[restricted_column(column, k)]))
    return pseudonyms, values


def _count_then(spark: SparkSession, uri: str, condition: Column) -> int:
    return int(spark.read.format("delta").load(uri).where(condition).count())


LINE_KEYS = ("dataset", "_batch_id", "_source_line")  # identify a landed line in bronze and quarantine


def _redact_delta(spark: SparkSession, uri: str, line_column: str, value_columns: Iterable[str], pattern: str) -> int:
    """Blank the pattern's matches in the raw line; NULL the parsed columns that match; rows touched.

    The redacted rows are computed by a read and MERGEd back by line key: Delta records an
    UPDATE's or DELETE's predicate in its log, and the pattern holds the raw values.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    table = spark.read.format("delta").load(uri)
    columns = [c for c in value_columns if c in table.columns]
    keys = [k for k in LINE_KEYS if k in table.columns]
    matches = F.col(line_column).rlike(pattern)
    for c in columns:
        matches = matches | F.coalesce(F.col(c).rlike(pattern), F.lit(False))
    has_corrections = "corrections" in table.columns  # steward corrections (quarantine) may hold the value
    if has_corrections:
        matches = matches | F.coalesce(F.exists(F.map_values("corrections"), lambda v: v.rlike(pattern)), F.lit(False))
    redacted = [F.regexp_replace(F.col(line_column), pattern, "").alias(line_column)]
    redacted += [
        F.when(F.col(c).rlike(pattern), F.lit(None).cast("string")).otherwise(F.col(c)).alias(c) for c in columns
    ]
    if has_corrections:
        redacted.append(
            F.transform_values(
                "corrections", lambda _k, v: F.when(v.rlike(pattern), F.lit(None).cast("string")).otherwise(v)
            ).alias("corrections")
        )
    changed = table.where(matches).select(*keys, *redacted).cache()
    try:
        rows = int(changed.count())
        if rows:
            on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
            assignments: dict[str, str | Column] = {c: f"s.`{c}`" for c in changed.columns if c not in keys}
            DeltaTable.forPath(spark, uri).alias("t").merge(changed.alias("s"), on).whenMatchedUpdate(
                set=assignments
            ).execute()
    finally:
        changed.unpersist()
    return rows


def _redact_landing(ds: Dataset, pattern: str, erasure_id: str, erased_at: str, settings: Settings) -> list[str]:
    """Rewrite each landed object of ``ds`` holding the subject, with their values blanked."""
    client = s3_client(settings)
    regex = re.compile(pattern)
    rewritten = []
    for key in list_keys(f"landing/{ds.sector}/{ds.name}/", settings):
        obj = client.get_object(Bucket=settings.bucket, Key=key)
        text = obj["Body"].read().decode("utf-8")
        lines = text.split("\n")
        redacted = [regex.sub("", line) for line in lines]
        changed = sum(a != b for a, b in zip(lines, redacted, strict=True))
        if not changed:
            continue
        metadata = dict(obj.get("Metadata", {}))  # sha256 stays the source payload's: reruns still match it
        metadata.update({"erasure-id": erasure_id, "erased-at": erased_at, "erased-lines": str(changed)})
        client.put_object(
            Bucket=settings.bucket,
            Key=key,
            Body="\n".join(redacted).encode("utf-8"),
            Metadata=metadata,
            ContentType=obj.get("ContentType", "text/csv"),
        )
        rewritten.append(key)
    return rewritten


def vacuum(spark: SparkSession, uri: str, retention_hours: float) -> None:
    """Purge deletion vectors (the rows would still be in the files) and VACUUM at ``retention_hours``."""
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, uri)
    properties = table.detail().collect()[0]["properties"] or {}
    if str(properties.get("delta.enableDeletionVectors", "false")).lower() == "true":
        spark.sql(f"REORG TABLE delta.`{uri}` APPLY (PURGE)")
    check = "spark.databricks.delta.retentionDurationCheck.enabled"
    before = spark.conf.get(check, "true")
    if retention_hours < DEFAULT_RETENTION_HOURS:
        spark.conf.set(check, "false")  # the operator asked for it (--retention); recorded in the audit
    try:
        table.vacuum(retention_hours)
    finally:
        spark.conf.set(check, before or "true")


def _write_audit(spark: SparkSession, result: ErasureResult, settings: Settings) -> None:

    uri = settings.s3a_uri(AUDIT_KEY)
    ensure_table(spark, uri, AUDIT_DDL)
    row = (
        result.erasure_id,
        result.subject_column,
        sorted(result.pseudonyms),
        [(t.table, t.action, t.rows) for t in result.tables],
        result.rows_total,
        result.landing_objects,
        float(result.retention_hours),
        result.requested_by,
        result.reason,
        result.requested_at.replace(tzinfo=None),
        result.completed_at.replace(tzinfo=None),
        result.old_versions_unreadable_after.replace(tzinfo=None),
    )
    spark.createDataFrame([row], AUDIT_DDL).write.format("delta").mode("append").save(uri)


INTENT_KEY = "audit/erasure_intent"
INTENT_DDL = (
    "erasure_id STRING, status STRING, subject_column STRING, subject_pseudonyms ARRAY<STRING>, "
    "steps ARRAY<STRING>, requested_by STRING, reason STRING, at TIMESTAMP"
)
STEPS = ("intent", "landing", "bronze", "quarantine", "silver", "vacuum", "restricted", "audit")
"""The erasure's steps, in order. The restricted link (the only way from a pseudonym back to the raw
values) goes last but one: until then a rerun still finds every raw form through it."""


def _step_done(step: str) -> None:
    """The crash drills' hook (``LAKEHOUSE_CRASH_AT=erase.after_<step>``): a rerun must complete."""
    crash_point(f"erase.after_{step}")


def _subject_pseudonyms(subjects: list[Subject], ring: privacy.Keyring) -> set[str]:
    """The HMAC of each value given, normalized as its column's kind, under each dataset's keys (every
    key id of the keyring): how an intent is found again."""
    out = set()
    for subject in subjects:
        for ds, kind in _targets(subject):
            normalized = privacy.normalize(kind, subject.value)
            if normalized is None:
                raise UserFacingError(f"{subject.value!r} is not a valid {kind.value} for {subject.column}")
            out |= {privacy.hmac_hex(normalized, k) for k in ring.all_keys(ds.name, subject.column).values()}
    return out


def _unfinished_intent(spark: SparkSession, pseudonyms: set[str], settings: Settings) -> tuple[str, datetime] | None:
    """The id and request time of an earlier erasure of this subject that started and never completed."""
    from pyspark.sql import functions as F

    uri = settings.s3a_uri(INTENT_KEY)
    ensure_table(spark, uri, INTENT_DDL)
    intents = spark.read.format("delta").load(uri)
    done = intents.where(F.col("status") == "completed").select("erasure_id")
    open_ = (
        intents.where(F.col("status") == "started")
        .join(done, "erasure_id", "left_anti")
        .where(F.arrays_overlap("subject_pseudonyms", F.array(*[F.lit(p) for p in sorted(pseudonyms)])))
        .orderBy("at")
        .collect()
    )
    if not open_:
        return None
    return str(open_[0]["erasure_id"]), open_[0]["at"].replace(tzinfo=UTC)


def _write_intent(
    spark: SparkSession,
    erasure_id: str,
    status: str,
    subjects: list[Subject],
    pseudonyms: set[str],
    requested_by: str,
    reason: str,
    settings: Settings,
) -> None:
    """One row of the erasure's intent log (pseudonyms only, never a raw value)."""
    row = (
        erasure_id,
        status,
        ",".join(sorted({s.column for s in subjects})),
        sorted(pseudonyms),
        list(STEPS),
        requested_by,
        reason,
        datetime.now(UTC).replace(tzinfo=None),
    )
    spark.createDataFrame([row], INTENT_DDL).write.format("delta").mode("append").save(settings.s3a_uri(INTENT_KEY))


@dataclass
class _Target:
    """One dataset holding the subject: their pseudonyms there and the regex of every raw form."""

    ds: Dataset
    pseudonyms: set[str]
    pattern: str


def _plan(spark: SparkSession, subjects: list[Subject], ring: privacy.Keyring, settings: Settings) -> list[_Target]:
    plan = []
    for subject in subjects:
        for ds, kind in _targets(subject):
            normalized = privacy.normalize(kind, subject.value)
            if normalized is None:
                raise UserFacingError(f"{subject.value!r} is not a valid {kind.value} for {subject.column}")
            pseudonyms, values = _subject_values(spark, ds, subject, normalized, ring, settings)
            pattern = privacy.combined_pattern(values)
            assert pattern is not None
            plan.append(_Target(ds, pseudonyms, pattern))
    return plan


def erase(
    subjects: list[Subject],
    *,
    retention_hours: float = DEFAULT_RETENTION_HOURS,
    reason: str = "",
    requested_by: str = "",
    settings: Settings | None = None,
) -> ErasureResult:
    """Erase one data subject, found by one or more personal values (see the module docstring).

    Crash-safe order: the intent (pseudonyms, steps) is written first; then landing, bronze,
    quarantine and silver are rewritten and VACUUMed; only then is the restricted link deleted, and
    the audit row and the intent's completion are written last. A rerun of the same request finds
    the unfinished intent, takes over its id, and redoes every step (each is idempotent): the raw
    forms are still reachable through the link, which outlives every other step.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    if not subjects:
        raise UserFacingError("name the data subject: --subject COLUMN=VALUE or --subject-phone NUMBER")
    if retention_hours < 0:
        raise UserFacingError("--retention is a number of hours >= 0")
    try:
        ring = privacy.keyring()
    except MissingSettingError as err:
        raise UserFacingError(str(err)) from None
    settings = settings or get_settings()
    spark = get_spark()
    subject_pseudonyms = _subject_pseudonyms(subjects, ring)
    plan = _plan(spark, subjects, ring, settings)
    resumed = _unfinished_intent(spark, subject_pseudonyms, settings)
    if resumed is None:
        erasure_id, requested_at = uuid.uuid4().hex, datetime.now(UTC)
        _write_intent(spark, erasure_id, "started", subjects, subject_pseudonyms, requested_by, reason, settings)
    else:
        erasure_id, requested_at = resumed
    _step_done("intent")

    changes: list[TableChange] = []
    landing: list[str] = []
    for t in plan:
        landing += _redact_landing(t.ds, t.pattern, erasure_id, requested_at.isoformat(), settings)
    _step_done("landing")

    touched: list[str] = []
    for step, uri_of, line_column in (
        ("bronze", bronze_table_uri, "_raw_line"),
        ("quarantine", quarantine_uri, "raw_line"),
    ):
        for t in plan:
            uri = uri_of(t.ds, settings)
            if _delta_exists(spark, uri):
                assert t.ds.personal is not None
                rows = _redact_delta(spark, uri, line_column, list(t.ds.personal.columns), t.pattern)
                changes.append(TableChange(f"{step}/{t.ds.sector}/{t.ds.name}", "redacted", rows))
                touched.append(uri)
        _step_done(step)

    for t in plan:
        silver = table_uri(t.ds, settings)
        if t.pseudonyms and _delta_exists(spark, silver):
            columns = set(spark.read.format("delta").load(silver).columns)
            for f in t.ds.pseudonym_fields:
                cleared = {f.name: F.lit(None).cast("string")}
                if key_id_column(f.name) in columns:  # a silver table of an earlier version has none
                    cleared[key_id_column(f.name)] = F.lit(None).cast("string")
                rows = _count_then(spark, silver, _in(f.name, t.pseudonyms))
                if rows:
                    DeltaTable.forPath(spark, silver).update(
                        condition=_in(f.name, t.pseudonyms),
                        set=cleared,  # type: ignore[arg-type]
                    )
                changes.append(TableChange(t.ds.table_path, "pseudonym removed", rows))
            touched.append(silver)
    _step_done("silver")

    vacuumed = []
    for uri in dict.fromkeys(touched):
        vacuum(spark, uri, retention_hours)
        vacuumed.append(uri)
    _step_done("vacuum")

    restricted_uris = []
    for t in plan:
        restricted = restricted_uri(t.ds, settings)
        if _delta_exists(spark, restricted):
            # By pseudonym only (every restricted row has one): a DELETE's predicate goes into the log.
            rows = 0
            for f in t.ds.pseudonym_fields:
                if t.pseudonyms and (n := _count_then(spark, restricted, _in(f.name, t.pseudonyms))):
                    DeltaTable.forPath(spark, restricted).delete(_in(f.name, t.pseudonyms))
                    rows += n
            assert t.ds.restricted_table_path is not None
            changes.append(TableChange(t.ds.restricted_table_path, "deleted", rows))
            restricted_uris.append(restricted)
    for uri in dict.fromkeys(restricted_uris):
        vacuum(spark, uri, retention_hours)
        vacuumed.append(uri)
    _step_done("restricted")

    completed_at = datetime.now(UTC)
    result = ErasureResult(
        erasure_id=erasure_id,
        subject_column=",".join(sorted({s.column for s in subjects})),
        pseudonyms=sorted(set().union(*(t.pseudonyms for t in plan))),
        tables=changes,
        landing_objects=landing,
        retention_hours=float(retention_hours),
        requested_by=requested_by,
        reason=reason,
        requested_at=requested_at,
        completed_at=completed_at,
        old_versions_unreadable_after=completed_at + timedelta(hours=retention_hours),
        vacuumed=vacuumed,
        resumed=resumed is not None,
    )
    _write_audit(spark, result, settings)
    _write_intent(spark, erasure_id, "completed", subjects, subject_pseudonyms, requested_by, reason, settings)
    _step_done("audit")
    return result


def describe(result: ErasureResult) -> str:
    """What the operator is told: counts, what was rewritten, when old versions become unreadable."""
    lines = [f"erasure {result.erasure_id} ({result.subject_column}; pseudonyms {', '.join(result.pseudonyms)})"]
    if result.resumed:
        lines.append("  resumed an earlier run of this erasure that stopped before completing")
    for t in result.tables:
        lines.append(f"  {t.table:<55} {t.action:<18} {t.rows} row(s)")
    for key in result.landing_objects:
        lines.append(f"  landing object rewritten without the subject: {key}")
    if not result.landing_objects:
        lines.append("  no landing object held the subject")
    if result.retention_hours == 0:
        lines.append("VACUUM (retention 0 h) done: versions holding the subject are no longer readable.")
    else:
        lines.append(
            f"VACUUM kept {result.retention_hours:g} h of history: versions holding the subject stay readable to "
            f"time travel until {result.old_versions_unreadable_after:%Y-%m-%d %H:%M} UTC. Rerun this command "
            "after that time (it changes nothing else) to remove them."
        )
    lines.append(f"audit row written to {AUDIT_KEY} (no raw value).")
    return "\n".join(lines)


def audit_json(result: ErasureResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
