"""Personal data (Decree 13/2023/NĐ-CP): normalization, keyed pseudonyms, the restricted table.

Datasets declare their personal source columns in the registry (``Dataset.personal``) and the
silver fields that pseudonymize them (``Field(pseudonym_of=...)``). A pseudonym is the hex
HMAC-SHA256 of the normalized value (a phone in E.164, ``+84…``) under a key *derived* for that
dataset and identifier kind (the personal source column: ``contact_phone``, ``plate``, ``driver_id``)
from a master key of the deployment's keyring (:class:`Keyring`)::

    derived = HMAC-SHA256(master, "lakehouse-pseudonym/v1/<dataset>/<column>")
    pseudonym = hex HMAC-SHA256(derived, normalized value)

so the same phone gives different pseudonyms in two datasets (unlinkable without the key owner),
while staying stable across batches of one dataset, so silver can be joined on it. Each pseudonym
field has a key id field beside it (``<field>_key_id``, added by the registry) naming the master key.
``lakehouse keys rotate`` (:mod:`jobs.keys`) re-pseudonymizes silver and the restricted table
under a new key id. The raw (normalized) values go only to ``restricted/<sector>/<table>`` (no
ministry identity can read that prefix); silver carries the pseudonym, gold neither.

Keys come from the environment only: ``LAKEHOUSE_PSEUDONYM_KEYS`` (``id:secret,id:secret``) and
``LAKEHOUSE_PSEUDONYM_KEY_ID`` (the current id). The single key of earlier versions,
``LAKEHOUSE_PSEUDONYM_KEY``, still works: it joins the keyring as the id ``legacy``, whose pseudonyms
are HMAC-SHA256 under the master itself (not derived), exactly what a lake built before keyrings holds.

Pure helpers first (no Spark), then the Spark side used by :func:`jobs.silver.refine`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd  # at module level: Spark resolves the pandas UDFs' type hints from these globals

from jobs.registry import Dataset, PersonalKind, key_id_column
from jobs.settings import MissingSettingError, Settings
from jobs.tables import (
    STATS_COLUMNS_PROPERTY,
    ensure_restricted_table,
    limit_statistics,
    restricted_column,
    table_metadata,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

PSEUDONYM_KEY_ENV = "LAKEHOUSE_PSEUDONYM_KEY"  # the single key of earlier versions: the keyring's `legacy`
PSEUDONYM_KEYS_ENV = "LAKEHOUSE_PSEUDONYM_KEYS"  # id:secret,id:secret
PSEUDONYM_KEY_ID_ENV = "LAKEHOUSE_PSEUDONYM_KEY_ID"  # the id new pseudonyms are written under
LEGACY_KEY_ID = "legacy"
DERIVATION_LABEL = "lakehouse-pseudonym/v1"
MIN_SECRET_CHARS = 32
_KEY_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
PERSONAL_PREFIX = "_personal_"  # helper columns carrying normalized personal values through refine
_PHONE_SEPARATORS = r"[ .\-()]"
_NSN_RE = re.compile(r"^[1-9][0-9]{8,9}$")  # Vietnamese national number: mobile 9 digits, landline 10
_FIX = (
    "Run `make setup` (it generates a keyring into .state/secrets.env), then `set -a; . .state/secrets.env; set +a`; "
    "in production export the deployment's keys from its secret store."
)


def derive_key(master: bytes, dataset: str, column: str) -> bytes:
    """The key of one dataset's pseudonyms of one identifier kind (personal source column), HKDF-expand style."""
    return hmac.new(master, f"{DERIVATION_LABEL}/{dataset}/{column}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Keyring:
    """The deployment's master pseudonym keys by id, and the id new pseudonyms are written under."""

    masters: Mapping[str, bytes]
    current_id: str

    def key(self, key_id: str, dataset: str, column: str) -> bytes:
        """The HMAC key of ``dataset``'s ``column`` under master ``key_id`` (``legacy``: the master itself)."""
        if key_id not in self.masters:
            raise MissingSettingError(
                f"pseudonym key id {key_id!r} is not in the keyring ({', '.join(sorted(self.masters))}); add it to "
                f"{PSEUDONYM_KEYS_ENV} as {key_id}:<secret>"
            )
        master = self.masters[key_id]
        return master if key_id == LEGACY_KEY_ID else derive_key(master, dataset, column)

    def current(self, dataset: str, column: str) -> bytes:
        return self.key(self.current_id, dataset, column)

    def all_keys(self, dataset: str, column: str) -> dict[str, bytes]:
        """Every key the keyring holds for ``dataset``'s ``column``: an erasure matches rows under any of them."""
        return {kid: self.key(kid, dataset, column) for kid in sorted(self.masters)}


def _secret(name: str, value: str) -> bytes:
    if len(value) < MIN_SECRET_CHARS:
        raise MissingSettingError(
            f"{name} is too short ({len(value)} characters; use at least {MIN_SECRET_CHARS}, e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`)."
        )
    return value.encode("utf-8")


def keyring() -> Keyring:
    """The keyring, from the environment only; fails with the fix when it is missing, malformed or weak."""
    masters: dict[str, bytes] = {}
    legacy = os.environ.get(PSEUDONYM_KEY_ENV, "").strip()
    if legacy:
        masters[LEGACY_KEY_ID] = _secret(PSEUDONYM_KEY_ENV, legacy)
    listed = os.environ.get(PSEUDONYM_KEYS_ENV, "").strip()
    for item in filter(None, (part.strip() for part in listed.split(","))):
        key_id, sep, secret = item.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID_RE.match(key_id) or key_id == LEGACY_KEY_ID:
            raise MissingSettingError(
                f"{PSEUDONYM_KEYS_ENV} takes id:secret pairs separated by commas; an id is 1-32 of a-z 0-9 _ . - "
                f"(not {LEGACY_KEY_ID!r}, which names {PSEUDONYM_KEY_ENV}); got an entry with id {key_id[:32]!r}"
            )
        if key_id in masters:
            raise MissingSettingError(f"{PSEUDONYM_KEYS_ENV} names key id {key_id!r} twice")
        masters[key_id] = _secret(f"{PSEUDONYM_KEYS_ENV} ({key_id})", secret.strip())
    if not masters:
        raise MissingSettingError(
            f"{PSEUDONYM_KEYS_ENV} is not set: personal data cannot be pseudonymized. {_FIX} Never drop a key "
            "id that pseudonyms in the lake still carry: rotate them first (`lakehouse keys rotate`)."
        )
    current = os.environ.get(PSEUDONYM_KEY_ID_ENV, "").strip()
    if not current:
        if listed:
            raise MissingSettingError(
                f"{PSEUDONYM_KEY_ID_ENV} is not set: say which key of {PSEUDONYM_KEYS_ENV} new pseudonyms are "
                f"written under (one of {', '.join(sorted(masters))})."
            )
        current = LEGACY_KEY_ID
    if current not in masters:
        raise MissingSettingError(
            f"{PSEUDONYM_KEY_ID_ENV}={current} is not in the keyring ({', '.join(sorted(masters))}); add "
            f"{current}:<secret> to {PSEUDONYM_KEYS_ENV} or set the id of a key it holds."
        )
    return Keyring(masters, current)


def normalize_phone(raw: str | None) -> str | None:
    """A Vietnamese phone number in E.164 (``+84`` + national number), or None when it is not one.

    Accepts the forms sources send: ``0912 345 678``, ``0912.345.678``, ``+84912345678``,
    ``(+84) 912-345-678``, ``84912345678``, ``0084912345678``.
    """
    if raw is None:
        return None
    text = re.sub(_PHONE_SEPARATORS, "", raw.strip())
    if text.startswith("+84"):
        nsn = text[3:]
    elif text.startswith("0084"):
        nsn = text[4:]
    elif text.startswith("84") and len(text) in (11, 12):
        nsn = text[2:]
    elif text.startswith("0"):
        nsn = text[1:]
    else:
        return None
    return f"+84{nsn}" if _NSN_RE.match(nsn) else None


def normalize_name(raw: str | None) -> str | None:
    """A person's name as NFC with single spaces (None when empty)."""
    if raw is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", raw).split())
    return text or None


def normalize_identifier(raw: str | None) -> str | None:
    """An identifier (plate, licence number) upper case without separators (None when empty)."""
    if raw is None:
        return None
    text = re.sub(r"[\s.\-]", "", unicodedata.normalize("NFC", raw)).upper()
    return text or None


NORMALIZERS: dict[PersonalKind, Callable[[str | None], str | None]] = {
    PersonalKind.NAME: normalize_name,
    PersonalKind.PHONE: normalize_phone,
    PersonalKind.IDENTIFIER: normalize_identifier,
}


def normalize(kind: PersonalKind, raw: str | None) -> str | None:
    return NORMALIZERS[kind](raw)


def hmac_hex(normalized: str, key: bytes) -> str:
    """The pseudonym of an already normalized value: hex HMAC-SHA256 under ``key``."""
    return hmac.new(key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonymize(kind: PersonalKind, raw: str | None, key: bytes) -> str | None:
    """Normalize, then HMAC; None when the value is missing or not valid for its kind."""
    value = normalize(kind, raw)
    return hmac_hex(value, key) if value is not None else None


# ------------------------------------------------------------------------------ finding raw values


def _regex_literal(text: str) -> str:
    """Escape for both Python ``re`` and Java regex (Spark), which differ on ``\\Q…\\E``."""
    return "".join(f"\\{c}" if c in r".^$*+?()[]{}|\/" else c for c in text)


def phone_pattern(e164: str) -> str:
    """A regex matching this phone in any written form (separators, +84 / 0084 / 84 / 0 prefix).

    Valid in Python ``re`` and Java regex, so landing objects (Python) and Delta tables (Spark)
    are searched with the same pattern.
    """
    if not e164.startswith("+84"):
        raise ValueError(f"not an E.164 Vietnamese phone: {e164!r}")
    sep = f"{_PHONE_SEPARATORS}*"
    digits = sep.join(e164[3:])
    return rf"(?<![0-9])(?:\(?(?:\+|00)?84\)?|0){sep}{digits}(?![0-9])"


_IDENTIFIER_SEPARATORS = r"[\s.\-]"  # what normalize_identifier removes


def _char_class(c: str) -> str:
    """One character of an identifier in either case (no inline flags: they differ in Java and Python)."""
    if c.upper() != c.lower() and len(c.upper()) == 1 and len(c.lower()) == 1:
        return f"[{_regex_literal(c.upper())}{_regex_literal(c.lower())}]"
    return _regex_literal(c)


def identifier_pattern(normalized: str) -> str:
    """A regex matching this identifier as sources write it: any case, separators anywhere.

    ``29A12345`` matches ``29A-123.45``, ``29a 123.45`` and ``29A12345`` (the plate formats the
    transport devices send), but not inside a longer identifier. Valid in Python ``re`` and Java regex.
    """
    sep = f"{_IDENTIFIER_SEPARATORS}*"
    body = sep.join(_char_class(c) for c in normalized)
    return rf"(?<![0-9A-Za-z]){body}(?![0-9A-Za-z])"


def value_pattern(kind: PersonalKind, normalized: str) -> str:
    """A regex matching a normalized personal value as it may appear in a raw line."""
    if kind == PersonalKind.PHONE:
        return phone_pattern(normalized)
    if kind == PersonalKind.IDENTIFIER:
        return identifier_pattern(normalized)
    spellings = sorted({normalized, unicodedata.normalize("NFD", normalized)}, key=len, reverse=True)
    return "|".join(_regex_literal(s) for s in spellings)


def combined_pattern(values: Iterable[tuple[PersonalKind, str]]) -> str | None:
    """One alternation over every (kind, normalized value); None when there is nothing to match."""
    parts = sorted({value_pattern(kind, v) for kind, v in values})
    return "|".join(f"(?:{p})" for p in parts) if parts else None


# --------------------------------------------------------------------------------------- Spark side


def _series_udf(fn: Callable[[str | None], str | None]) -> Callable[[pd.Series], pd.Series]:
    def apply(values: pd.Series) -> pd.Series:
        return values.map(lambda v: fn(v) if isinstance(v, str) else None)

    return apply


def _hmac_with(key: bytes) -> Callable[[str | None], str | None]:
    def apply(value: str | None) -> str | None:
        return hmac_hex(value, key) if value is not None else None

    return apply


def personal_columns(bronze: DataFrame, dataset: Dataset, ring: Keyring) -> DataFrame:
    """``_source_line``, the dataset's pseudonym fields (under the keyring's current key, with their key
    id fields) and ``_personal_<column>`` normalized values.

    Python runs once per distinct raw value (pandas UDF), then joins back, as
    :func:`jobs.conform.repaired_text` does: contacts repeat, their spellings are few.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    assert dataset.personal is not None
    columns = dict(dataset.personal.columns)
    out = bronze.select("_source_line", *columns)
    for column, kind in columns.items():
        normalizer = pandas_udf(_series_udf(NORMALIZERS[kind]), "string")  # type: ignore[call-overload]
        distinct = out.select(F.col(column).alias("_raw")).distinct().withColumn("_norm", normalizer("_raw"))
        extra = []
        for field in dataset.pseudonym_fields:
            if field.pseudonym_of == column:
                key = ring.current(dataset.name, column)
                hasher = pandas_udf(_series_udf(_hmac_with(key)), "string")  # type: ignore[call-overload]
                extra.append(hasher("_norm").alias(field.name))
                extra.append(
                    F.when(F.col("_norm").isNotNull(), F.lit(ring.current_id)).alias(key_id_column(field.name))
                )
        distinct = distinct.select("_raw", F.col("_norm").alias(PERSONAL_PREFIX + column), *extra)
        out = out.join(F.broadcast(distinct), out[column].eqNullSafe(distinct["_raw"]), "left").drop("_raw", column)
    return out


def with_personal_columns(typed: DataFrame, bronze: DataFrame, dataset: Dataset) -> DataFrame:
    """The transform's output with its pseudonym fields filled and the normalized personal values
    added (joined by source line); a transform leaves pseudonym fields NULL, it never sees the key."""
    personal = personal_columns(bronze, dataset, keyring())
    filled_by_us = [c for f in dataset.pseudonym_fields for c in (f.name, key_id_column(f.name))]
    placeholders = [c for c in filled_by_us if c in typed.columns]
    filled = typed.drop(*placeholders).join(personal, "_source_line", "left")
    kept = [*typed.columns, *(c for c in filled_by_us if c not in typed.columns)]
    return filled.select(*kept, *[c for c in personal.columns if c.startswith(PERSONAL_PREFIX)])


@contextmanager
def statistics_only_on(spark: SparkSession, uri: str, columns: list[str]) -> Iterator[None]:
    """Write to ``uri`` with Delta column statistics limited to ``columns`` (non-personal ones).

    Delta records min/max of each file's columns in its log, which outlives a VACUUM; a table
    holding raw personal values must keep them out. A table created inside the block gets the
    property from the session default; an existing table without it is altered first.
    """
    wanted = ",".join(columns)
    if table_metadata(uri) is not None:
        limit_statistics(spark, uri, columns)
        yield
        return
    default = f"spark.databricks.delta.properties.defaults.{STATS_COLUMNS_PROPERTY.removeprefix('delta.')}"
    spark.conf.set(default, wanted)
    try:
        yield
    finally:
        spark.conf.unset(default)


def write_restricted(
    spark: SparkSession, dataset: Dataset, silver: DataFrame, as_of: date, batch_id: str, settings: Settings
) -> None:
    """Keep the batch's personal values as validity periods (type-2 history) in the restricted table.

    ``silver`` are the batch's good rows with the pseudonym and ``_personal_*`` columns. An open
    period whose values changed (or vanished) is closed at ``as_of``; new values open a period. A
    rerun of the same batch changes no value.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    assert dataset.personal is not None
    uri = ensure_restricted_table(spark, dataset, settings)
    personal = [(restricted_column(c, k), PERSONAL_PREFIX + c) for c, k in dataset.personal.columns.items()]
    pseudonyms = [f.name for f in dataset.pseudonym_fields]
    rows = silver.select(
        *dataset.natural_key,
        *[p for p in pseudonyms if p not in dataset.natural_key],  # a pseudonym may be part of the key
        *[key_id_column(p) for p in pseudonyms],
        *[F.col(src).alias(dst) for dst, src in personal],
        F.lit(as_of.isoformat()).cast("date").alias("valid_from"),
        F.lit(None).cast("date").alias("valid_to"),
        F.lit(batch_id).alias("_batch_id"),
        F.lit(batch_id).alias("last_batch_id"),
        "_ingested_at",
    )
    key = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in dataset.natural_key)
    same = " AND ".join(f"t.`{c}` <=> s.`{c}`" for c in [*pseudonyms, *(d for d, _ in personal)])
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(rows.alias("s"), f"{key} AND t.valid_to IS NULL")
        .whenMatchedUpdate(condition=f"NOT ({same})", set={"valid_to": "s.valid_from", "last_batch_id": "s._batch_id"})
        .whenMatchedUpdate(set={"last_batch_id": "s._batch_id"})
        .execute()
    )
    has_subject = " OR ".join(f"`{p}` IS NOT NULL" for p in pseudonyms)
    open_rows = spark.read.format("delta").load(uri).where("valid_to IS NULL")
    cond = [rows[k].eqNullSafe(open_rows[k]) for k in dataset.natural_key]
    cond += [rows[c].eqNullSafe(open_rows[c]) for c in [*pseudonyms, *(d for d, _ in personal)]]
    fresh = rows.where(has_subject).join(open_rows, cond, "left_anti")
    fresh.write.format("delta").mode("append").save(uri)
