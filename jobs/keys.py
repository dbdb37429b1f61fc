"""Pseudonym key rotation (``lakehouse keys rotate --to <id>``).

Every pseudonym in silver carries the id of the keyring key it was computed under (``<field>_key_id``,
see :mod:`jobs.privacy`). Rotation recomputes them under another key, from the normalized raw values
the restricted table holds, for every dataset with pseudonym fields:

* the key is checked first: ``--to`` must be in the keyring and be the current id
  (``LAKEHOUSE_PSEUDONYM_KEY_ID``), so batches written from then on use it too;
* gold is checked to carry no pseudonym or key id column (registry and the tables' schemas);
* per dataset, under its lease: silver is rewritten in one Delta commit (a pseudonym may be part of the
  natural key, so the table is overwritten whole, not MERGEd), then the restricted table in one commit.
  A silver pseudonym the restricted table cannot explain stops the rotation before anything is written;
* a table with nothing to change is not written (a rerun leaves every Delta version as it was);
* one audit row (key ids from and to, rows per table, versions; never a key or a raw value) goes to
  ``audit/key_rotation``, rerun or not.

Crash-safe: the silver → new pseudonym map also maps every new pseudonym to itself, so a rerun after a
crash between the two commits finishes the restricted table and leaves silver as it is. Once a rotation
has completed, the old key id can be removed from ``LAKEHOUSE_PSEUDONYM_KEYS``: no row carries it. A
batch held by its gate was staged under the old key; publish it (or discard it) and rerun the rotation.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobs import privacy
from jobs.errors import UserFacingError
from jobs.registry import REGISTRY, Dataset, Field, Layer, key_id_column
from jobs.settings import MissingSettingError, Settings, get_settings
from jobs.spark import get_spark
from jobs.tables import (
    ensure_restricted_table,
    ensure_silver_table,
    ensure_table,
    restricted_column,
    restricted_uri,
    table_uri,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

ROTATION_AUDIT_KEY = "audit/key_rotation"
ROTATION_AUDIT_DDL = (
    "rotation_id STRING, key_id_to STRING, key_ids_from ARRAY<STRING>, "
    "tables ARRAY<STRUCT<table: STRING, rows: BIGINT, rows_changed: BIGINT, version_before: BIGINT, "
    "version_after: BIGINT>>, rows_changed_total BIGINT, requested_by STRING, reason STRING, "
    "requested_at TIMESTAMP, completed_at TIMESTAMP"
)


class UnexplainedPseudonymError(UserFacingError):
    """Silver holds a pseudonym no restricted row explains: it cannot be recomputed under the new key."""


@dataclass
class TableRotation:
    table: str
    rows: int
    rows_changed: int
    version_before: int
    version_after: int


@dataclass
class RotationResult:
    rotation_id: str
    key_id_to: str
    key_ids_from: list[str]
    tables: list[TableRotation]
    requested_by: str
    reason: str
    requested_at: datetime
    completed_at: datetime
    gold_checked: list[str] = field(default_factory=list)

    @property
    def rows_changed_total(self) -> int:
        return sum(t.rows_changed for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["requested_at"] = self.requested_at.isoformat()
        out["completed_at"] = self.completed_at.isoformat()
        out["rows_changed_total"] = self.rows_changed_total
        return out


def pseudonymized_datasets() -> list[Dataset]:
    """Every registered dataset with pseudonym fields (silver only: the registry refuses them in gold)."""
    return [ds for ds in REGISTRY if ds.pseudonym_fields]


def _pseudonym_columns() -> set[str]:
    return {c for ds in pseudonymized_datasets() for f in ds.pseudonym_fields for c in (f.name, key_id_column(f.name))}


def check_gold_has_no_pseudonyms(spark: SparkSession, settings: Settings) -> list[str]:
    """Gold carries no pseudonym or key id: in the registry and in every existing gold table's schema."""
    from delta.tables import DeltaTable

    banned = _pseudonym_columns()
    checked = []
    for ds in REGISTRY:
        if ds.layer != Layer.GOLD:
            continue
        found = sorted({f.name for f in ds.fields if f.pseudonym_of or f.key_id_of} | (set(ds.column_names) & banned))
        uri = table_uri(ds, settings)
        if DeltaTable.isDeltaTable(spark, uri):
            found = sorted(set(found) | (set(spark.read.format("delta").load(uri).columns) & banned))
        if found:
            raise UserFacingError(
                f"gold table {ds.qualified_name} carries pseudonym columns {found}: gold must not; fix its "
                "transform and rebuild it before rotating keys"
            )
        checked.append(ds.table_path)
    return checked


def _version(spark: SparkSession, uri: str) -> int:
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, uri).history(1).collect()[0]["version"])


def _raw_column(ds: Dataset, pseudonym: Field) -> str:
    """The restricted table's column holding the normalized value ``pseudonym`` is the HMAC of."""
    assert ds.personal is not None and pseudonym.pseudonym_of is not None
    return restricted_column(pseudonym.pseudonym_of, ds.personal.columns[pseudonym.pseudonym_of])


def _new_pseudonyms(restricted: DataFrame, ds: Dataset, ring: privacy.Keyring, to: str) -> dict[str, DataFrame]:
    """Per pseudonym field: (``_raw``, ``_new``) for every distinct normalized value of the restricted table."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    assert ds.personal is not None
    out = {}
    for f in ds.pseudonym_fields:
        assert f.pseudonym_of is not None
        raw = _raw_column(ds, f)
        hmac_udf = privacy._series_udf(privacy._hmac_with(ring.key(to, ds.name, f.pseudonym_of)))
        hasher = pandas_udf(hmac_udf, "string")  # type: ignore[call-overload]
        values = restricted.select(F.col(raw).alias("_raw")).where(F.col("_raw").isNotNull()).distinct()
        out[f.name] = values.withColumn("_new", hasher("_raw"))
    return out


def _rewrite(
    frame: DataFrame, ds: Dataset, maps: dict[str, DataFrame], on: dict[str, str], to: str
) -> tuple[DataFrame, Column, Column, DataFrame]:
    """``frame`` joined with each pseudonym field's map (on column ``on[field]``); the conditions "this
    row changes" and "this row's pseudonym is unexplained" over it; and the rewritten rows (the
    pseudonyms replaced, the key ids set, ``frame``'s columns in order)."""
    from pyspark.sql import functions as F

    columns = frame.columns
    changed, unexplained = F.lit(False), F.lit(False)
    for f in ds.pseudonym_fields:
        old, new, kid = f"_old_{f.name}", f"_new_{f.name}", key_id_column(f.name)
        m = maps[f.name].select(F.col("_from").alias(old), F.col("_new").alias(new))
        frame = frame.join(F.broadcast(m), frame[on[f.name]].eqNullSafe(m[old]), "left")
        changed = changed | ~F.col(f.name).eqNullSafe(F.col(new))
        changed = changed | (F.col(new).isNotNull() & ~F.col(kid).eqNullSafe(F.lit(to)))
        unexplained = unexplained | (F.col(f.name).isNotNull() & F.col(new).isNull())
    rewritten = frame.select(
        *[
            F.col(f"_new_{c}").alias(c)
            if c in {f.name for f in ds.pseudonym_fields}
            else F.when(F.col(f"_new_{c.removesuffix('_key_id')}").isNotNull(), F.lit(to)).cast("string").alias(c)
            if c in {key_id_column(f.name) for f in ds.pseudonym_fields}
            else F.col(c)
            for c in columns
        ]
    )
    return frame, changed, unexplained, rewritten


def _commit(spark: SparkSession, uri: str, rows: DataFrame, partition_by: tuple[str, ...], note: str) -> None:
    writer = rows.write.format("delta").mode("overwrite").option("userMetadata", note)
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(uri)


def rotate_dataset(
    spark: SparkSession, ds: Dataset, ring: privacy.Keyring, to: str, rotation_id: str, settings: Settings
) -> tuple[list[TableRotation], set[str]]:
    """Re-pseudonymize ``ds``'s silver, then its restricted table, under key ``to``; one commit each, none
    when nothing changes. Returns the tables and the key ids silver carried before."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    assert ds.personal is not None
    r_uri, s_uri = restricted_uri(ds, settings), table_uri(ds, settings)
    has_r, has_s = DeltaTable.isDeltaTable(spark, r_uri), DeltaTable.isDeltaTable(spark, s_uri)
    if not has_r and not has_s:
        return [], set()
    if has_r:
        ensure_restricted_table(spark, ds, settings)  # an older table gets its key id columns
    if has_s:
        ensure_silver_table(spark, ds, settings)
    restricted = spark.read.format("delta").load(r_uri) if has_r else None
    empty = spark.createDataFrame([], "_raw STRING, _new STRING")
    fresh = _new_pseudonyms(restricted, ds, ring, to) if restricted is not None else {}
    note = f"lakehouse keys rotate {rotation_id}: pseudonyms under key id {to}"
    done: list[TableRotation] = []
    seen: set[str] = set()

    if has_s:  # silver first: its map (old → new, and new → new) survives a crash before the restricted commit
        maps = {}
        for f in ds.pseudonym_fields:
            new = fresh.get(f.name, empty)
            if restricted is not None:
                old = restricted.select(F.col(f.name).alias("_from"), F.col(_raw_column(ds, f)).alias("_raw")).where(
                    F.col("_from").isNotNull()
                )
                pairs = old.join(new, "_raw").select("_from", "_new")
            else:
                pairs = spark.createDataFrame([], "_from STRING, _new STRING")
            both = pairs.unionByName(new.select(F.col("_new").alias("_from"), "_new")).distinct()
            clash = both.groupBy("_from").count().where("count > 1").count()
            if clash:
                raise UserFacingError(
                    f"{ds.name}: {clash} pseudonym(s) of the restricted table map to two raw values; the table is "
                    "inconsistent, rotation refused (nothing was written)"
                )
            maps[f.name] = both
        silver = spark.read.format("delta").load(s_uri)
        for f in ds.pseudonym_fields:
            kid = key_id_column(f.name)
            seen |= {
                r[0]
                for r in silver.where(F.col(f.name).isNotNull())
                .select(F.coalesce(F.col(kid), F.lit(privacy.LEGACY_KEY_ID)))
                .distinct()
                .collect()
            }
        joined, changed, unexplained, rewritten = _rewrite(
            silver, ds, maps, {f.name: f.name for f in ds.pseudonym_fields}, to
        )
        counts = joined.select(
            F.count(F.lit(1)).alias("rows"),
            F.sum(changed.cast("long")).alias("changed"),
            F.sum(unexplained.cast("long")).alias("unexplained"),
        ).collect()[0]
        rows, n_changed, n_unexplained = (
            int(counts["rows"]),
            int(counts["changed"] or 0),
            int(counts["unexplained"] or 0),
        )
        if n_unexplained:
            raise UnexplainedPseudonymError(
                f"{ds.table_path}: {n_unexplained} row(s) carry a pseudonym the restricted table does not explain, "
                "so it cannot be recomputed under the new key; rotation refused (nothing of this table was written). "
                "Rerun the dataset's pipeline for those batches (it rewrites the restricted rows), then rotate again."
            )
        before = _version(spark, s_uri)
        if n_changed:
            _commit(spark, s_uri, rewritten, ds.partition_by, note)
            after_rows = spark.read.format("delta").load(s_uri).count()
            if after_rows != rows:  # cannot happen with a one-to-one map; stop loudly if it ever does
                raise RuntimeError(f"{ds.table_path}: {rows} rows before the rotation, {after_rows} after")
        done.append(TableRotation(ds.table_path, rows, n_changed, before, _version(spark, s_uri)))

    if restricted is not None:
        maps = {f.name: fresh[f.name].select(F.col("_raw").alias("_from"), "_new") for f in ds.pseudonym_fields}
        on = {f.name: _raw_column(ds, f) for f in ds.pseudonym_fields}
        joined, changed, _unexplained, rewritten = _rewrite(restricted, ds, maps, on, to)
        counts = joined.select(F.count(F.lit(1)).alias("rows"), F.sum(changed.cast("long")).alias("changed")).collect()[
            0
        ]
        rows, n_changed = int(counts["rows"]), int(counts["changed"] or 0)
        before = _version(spark, r_uri)
        if n_changed:
            _commit(spark, r_uri, rewritten, (), note)
        assert ds.restricted_table_path is not None
        done.append(TableRotation(ds.restricted_table_path, rows, n_changed, before, _version(spark, r_uri)))
    return done, seen


def _write_audit(spark: SparkSession, result: RotationResult, settings: Settings) -> None:
    uri = settings.s3a_uri(ROTATION_AUDIT_KEY)
    ensure_table(spark, uri, ROTATION_AUDIT_DDL)
    row = (
        result.rotation_id,
        result.key_id_to,
        sorted(result.key_ids_from),
        [(t.table, t.rows, t.rows_changed, t.version_before, t.version_after) for t in result.tables],
        result.rows_changed_total,
        result.requested_by,
        result.reason,
        result.requested_at.replace(tzinfo=None),
        result.completed_at.replace(tzinfo=None),
    )
    spark.createDataFrame([row], ROTATION_AUDIT_DDL).write.format("delta").mode("append").save(uri)


def rotate(to: str, *, requested_by: str, reason: str = "", settings: Settings | None = None) -> RotationResult:
    """Re-pseudonymize every dataset with pseudonyms under key id ``to`` (see the module docstring).

    The caller holds the leases of those datasets (``lakehouse keys rotate`` does)."""
    try:
        ring = privacy.keyring()
    except MissingSettingError as err:
        raise UserFacingError(str(err)) from None
    if to not in ring.masters:
        raise UserFacingError(
            f"key id {to!r} is not in the keyring ({', '.join(sorted(ring.masters))}): add {to}:<secret of at "
            f"least {privacy.MIN_SECRET_CHARS} characters> to {privacy.PSEUDONYM_KEYS_ENV} first"
        )
    if to != ring.current_id:
        raise UserFacingError(
            f"{privacy.PSEUDONYM_KEY_ID_ENV} is {ring.current_id!r}, not {to!r}: set {privacy.PSEUDONYM_KEY_ID_ENV}="
            f"{to} first (in .state/secrets.env or the secret store), so batches written from now on use the new "
            "key too, then rerun this command"
        )
    settings = settings or get_settings()
    spark = get_spark()
    requested_at = datetime.now(UTC)
    rotation_id = uuid.uuid4().hex
    gold = check_gold_has_no_pseudonyms(spark, settings)
    tables: list[TableRotation] = []
    seen: set[str] = set()
    for ds in pseudonymized_datasets():
        done, ids = rotate_dataset(spark, ds, ring, to, rotation_id, settings)
        tables += done
        seen |= ids
    result = RotationResult(
        rotation_id=rotation_id,
        key_id_to=to,
        key_ids_from=sorted(seen),
        tables=tables,
        requested_by=requested_by,
        reason=reason,
        requested_at=requested_at,
        completed_at=datetime.now(UTC),
        gold_checked=gold,
    )
    _write_audit(spark, result, settings)
    return result


def describe(result: RotationResult) -> str:
    lines = [
        f"key rotation {result.rotation_id}: pseudonyms now under key id {result.key_id_to} "
        f"(silver carried: {', '.join(result.key_ids_from) or 'no pseudonym'})"
    ]
    for t in result.tables:
        what = f"v{t.version_before} → v{t.version_after}" if t.rows_changed else f"unchanged at v{t.version_after}"
        lines.append(f"  {t.table:<55} {t.rows_changed} of {t.rows} row(s) rewritten, {what}")
    lines.append(f"gold checked, no pseudonym column: {len(result.gold_checked)} table(s)")
    retired = sorted(set(result.key_ids_from) - {result.key_id_to})
    if retired:
        lines.append(
            f"no silver row carries {', '.join(retired)} any more: remove it from the keyring when no held batch "
            "needs it (`lakehouse batch list`)"
        )
    lines.append(f"audit row written to {ROTATION_AUDIT_KEY} (no key, no raw value).")
    return "\n".join(lines)


def audit_json(result: RotationResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
