"""Erasure of a data subject's personal data (Decree 13/2023/NĐ-CP, right to deletion).

Given one personal value (``contact_phone=0912 345 678``), every trace of the subject is removed
from the lake, driven by the registry (``Dataset.personal`` and ``Field(pseudonym_of=...)``):

* restricted table: the subject's rows (every validity period) are **deleted**;
* silver: pseudonym fields equal to the subject's pseudonym are set to NULL. The row describes a
  facility (a vehicle…), not the person: deleting it would break references and the books;
* bronze, quarantine and landing: the subject's values are **redacted** from the raw lines (the
  field becomes empty), so each line and the books (landed = silver + quarantined + duplicates)
  stay whole. Landing is otherwise never rewritten: this is the one legal exception, recorded in
  the object's metadata and the audit;
* the touched Delta tables are VACUUMed with the stated retention, after which the versions that
  held the subject cannot be read; an audit row (pseudonym, never the raw value) goes to
  ``audit/erasure``.

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
from jobs.errors import UserFacingError
from jobs.registry import REGISTRY, Dataset, PersonalKind
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
    spark: SparkSession, ds: Dataset, subject: Subject, normalized: str, key: bytes, settings: Settings
) -> tuple[set[str], set[tuple[PersonalKind, str]]]:
    """The subject's pseudonyms in ``ds`` and every personal value the restricted table holds for them."""
    from pyspark.sql import functions as F

    assert ds.personal is not None
    kind = ds.personal.columns[subject.column]
    pseudonyms = {privacy.hmac_hex(normalized, key) for f in ds.pseudonym_fields if f.pseudonym_of == subject.column}
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


def erase(
    subjects: list[Subject],
    *,
    retention_hours: float = DEFAULT_RETENTION_HOURS,
    reason: str = "",
    requested_by: str = "",
    settings: Settings | None = None,
) -> ErasureResult:
    """Erase one data subject, found by one or more personal values (see the module docstring)."""
    if not subjects:
        raise UserFacingError("name the data subject: --subject COLUMN=VALUE or --subject-phone NUMBER")
    if retention_hours < 0:
        raise UserFacingError("--retention is a number of hours >= 0")
    try:
        key = privacy.pseudonym_key()
    except MissingSettingError as err:
        raise UserFacingError(str(err)) from None
    settings = settings or get_settings()
    spark = get_spark()
    requested_at = datetime.now(UTC)
    erasure_id = uuid.uuid4().hex
    changes: list[TableChange] = []
    landing: list[str] = []
    all_pseudonyms: set[str] = set()
    touched: list[str] = []
    for subject in subjects:
        for ds, kind in _targets(subject):
            assert ds.personal is not None
            normalized = privacy.normalize(kind, subject.value)
            if normalized is None:
                raise UserFacingError(f"{subject.value!r} is not a valid {kind.value} for {subject.column}")
            pseudonyms, values = _subject_values(spark, ds, subject, normalized, key, settings)
            all_pseudonyms |= pseudonyms
            pattern = privacy.combined_pattern(values)
            assert pattern is not None

            silver = table_uri(ds, settings)
            if pseudonyms and _delta_exists(spark, silver):
                from delta.tables import DeltaTable
                from pyspark.sql import functions as F

                for f in ds.pseudonym_fields:
                    rows = _count_then(spark, silver, _in(f.name, pseudonyms))
                    if rows:
                        DeltaTable.forPath(spark, silver).update(
                            condition=_in(f.name, pseudonyms), set={f.name: F.lit(None).cast("string")}
                        )
                    changes.append(TableChange(ds.table_path, "pseudonym removed", rows))
                touched.append(silver)

            restricted = restricted_uri(ds, settings)
            if _delta_exists(spark, restricted):
                from delta.tables import DeltaTable

                # By pseudonym only (every restricted row has one): a DELETE's predicate goes into the log.
                rows = 0
                for f in ds.pseudonym_fields:
                    if pseudonyms and (n := _count_then(spark, restricted, _in(f.name, pseudonyms))):
                        DeltaTable.forPath(spark, restricted).delete(_in(f.name, pseudonyms))
                        rows += n
                assert ds.restricted_table_path is not None
                changes.append(TableChange(ds.restricted_table_path, "deleted", rows))
                touched.append(restricted)

            personal = list(ds.personal.columns)
            for uri, line_column, label in (
                (bronze_table_uri(ds, settings), "_raw_line", f"bronze/{ds.sector}/{ds.name}"),
                (quarantine_uri(ds, settings), "raw_line", f"quarantine/{ds.sector}/{ds.name}"),
            ):
                if _delta_exists(spark, uri):
                    rows = _redact_delta(spark, uri, line_column, personal, pattern)
                    changes.append(TableChange(label, "redacted", rows))
                    touched.append(uri)
            landing += _redact_landing(ds, pattern, erasure_id, requested_at.isoformat(), settings)

    vacuumed = []
    for uri in dict.fromkeys(touched):
        vacuum(spark, uri, retention_hours)
        vacuumed.append(uri)
    completed_at = datetime.now(UTC)
    result = ErasureResult(
        erasure_id=erasure_id,
        subject_column=",".join(sorted({s.column for s in subjects})),
        pseudonyms=sorted(all_pseudonyms),
        tables=changes,
        landing_objects=landing,
        retention_hours=float(retention_hours),
        requested_by=requested_by,
        reason=reason,
        requested_at=requested_at,
        completed_at=completed_at,
        old_versions_unreadable_after=completed_at + timedelta(hours=retention_hours),
        vacuumed=vacuumed,
    )
    _write_audit(spark, result, settings)
    return result


def describe(result: ErasureResult) -> str:
    """What the operator is told: counts, what was rewritten, when old versions become unreadable."""
    lines = [f"erasure {result.erasure_id} ({result.subject_column}; pseudonyms {', '.join(result.pseudonyms)})"]
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
