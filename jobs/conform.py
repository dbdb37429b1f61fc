"""Spark column helpers shared by every sector's transforms: text, provinces, time, units.

Pure functions from columns/DataFrames to columns/DataFrames (no I/O), built on the plain-Python
rules in :mod:`jobs.text` and :mod:`jobs.provinces`, so one rule serves both Spark and tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import TYPE_CHECKING

import pandas as pd

from jobs import provinces
from jobs.text import LEGACY_PATTERN_REGEX, is_nfc, repair_vietnamese

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from jobs.interval import DataInterval

LOCAL_TZ = "Asia/Ho_Chi_Minh"


def literal_map(mapping: Mapping[str, object]) -> Column:
    """A Spark map literal from a small Python dict (reference data that fits in a plan)."""
    from pyspark.sql import functions as F

    return F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in mapping.items()))


def province_code_2025(code: Column, event_date: Column) -> Column:
    """Conform a raw province code to its 2025 code using the record's date; NULL if unmappable.

    Before 2025-07-01 a code is read in the old (63) scheme; from then on a valid 2025 code is
    kept and a code that exists only in the old scheme is mapped. Codes reused for another
    province (24, 44, 80 …) are therefore resolved by date, never by the code alone. The same
    rule as :func:`jobs.provinces.conform_province_code` (one pattern, one table; a test
    compares both on every code and date it knows).
    """
    from pyspark.sql import functions as F

    pattern = provinces.CODE_PATTERN
    normalized = F.when(code.rlike(pattern), F.lpad(F.regexp_extract(code, pattern, 1), 2, "0"))
    legacy = literal_map(provinces.LEGACY_TO_2025)[normalized]
    as_2025 = F.coalesce(F.when(normalized.isin(*provinces.PROVINCES_2025), normalized), legacy)
    before_reform = event_date < F.lit(provinces.REFORM_DATE.isoformat()).cast("date")
    return (
        F.when(normalized.isNull(), F.lit(None).cast("string"))
        .when(event_date.isNull(), F.when(legacy == as_2025, legacy))  # undated: only where both readings agree
        .when(before_reform, legacy)
        .otherwise(as_2025)
    )


def _repair_series(values: pd.Series) -> pd.Series:
    return values.map(lambda v: repair_vietnamese(v) if isinstance(v, str) else v)


def _is_nfc_series(values: pd.Series) -> pd.Series:
    return values.map(lambda v: is_nfc(v) if isinstance(v, str) else True)


UNDECIDABLE_TEXT = "_text_undecidable"
"""Set by :func:`repaired_text` to the first column whose text still looks legacy-encoded after repair."""


def repaired_text(df: DataFrame, column: str) -> DataFrame:
    """Replace ``column`` by its repaired NFC form (TCVN3/VNI mojibake decoded) and flag what stays mojibake.

    Bronze already read each file in the charset decided from the whole file; what is left here is a
    field that carries mojibake inside an otherwise clean file, repaired on its own. A field the
    repair cannot decide keeps its text and names itself in ``_text_undecidable``, so a row rule
    quarantines it instead of storing mojibake. The Python repair and the mojibake pattern (a long
    regex: seconds a run on 10⁶ readings when it was matched per row) run once per distinct value,
    then join back: names repeat millions of times in readings but have few distinct spellings.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    _repair = pandas_udf(_repair_series, "string")  # type: ignore[call-overload]
    fixed = (
        df.select(F.col(column).alias("_orig"))
        .distinct()
        .withColumn("_fixed", _repair("_orig"))
        .withColumn("_undecided", F.when(F.col("_fixed").rlike(LEGACY_PATTERN_REGEX), F.lit(column)))
    )
    joined = df.join(F.broadcast(fixed), df[column].eqNullSafe(fixed["_orig"]), "left")
    earlier = F.col(UNDECIDABLE_TEXT) if UNDECIDABLE_TEXT in df.columns else F.lit(None).cast("string")
    return (
        joined.withColumn(column, F.col("_fixed"))
        .withColumn(UNDECIDABLE_TEXT, F.coalesce(earlier, F.col("_undecided")))
        .drop("_orig", "_fixed", "_undecided")
    )


def text_is_nfc(df: DataFrame, columns: list[str], flag: str = "_text_is_nfc") -> DataFrame:
    """Add a boolean column: every listed text column is Unicode NFC (checked per distinct value)."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    _is_nfc = pandas_udf(_is_nfc_series, "boolean")  # type: ignore[call-overload]
    result = df.withColumn(flag, F.lit(True))
    for column in columns:
        seen = df.select(F.col(column).alias("_v")).distinct().withColumn("_ok", _is_nfc("_v"))
        result = (
            result.join(F.broadcast(seen), result[column].eqNullSafe(seen["_v"]), "left")
            .withColumn(flag, F.col(flag) & F.coalesce(F.col("_ok"), F.lit(True)))
            .drop("_v", "_ok")
        )
    return result


def parse_event_time(raw: Column) -> tuple[Column, Column]:
    """(UTC timestamp, source UTC offset) from ISO 8601 with offset or ``dd/mm/yyyy HH:mm`` local time.

    Local times without an offset are Vietnam time (UTC+7). Unparseable text gives NULLs.
    """
    from pyspark.sql import functions as F

    text = F.trim(raw)
    iso = F.to_timestamp(text, "yyyy-MM-dd'T'HH:mm:ssXXX")
    local = F.to_utc_timestamp(F.to_timestamp(text, "dd/MM/yyyy HH:mm"), LOCAL_TZ)
    ts = F.coalesce(iso, local)
    offset = F.when(iso.isNotNull(), F.regexp_extract(text, r"([+-]\d\d:\d\d|Z)$", 1)).when(
        local.isNotNull(), F.lit("+07:00")
    )
    return ts, offset


def local_date(ts: Column) -> Column:
    """The Vietnamese calendar day of a UTC timestamp."""
    from pyspark.sql import functions as F

    return F.to_date(F.from_utc_timestamp(ts, LOCAL_TZ))


def unit_key(raw: Column) -> Column:
    """Normalize a unit spelling for lookup: lower case, µ unified, superscripts flattened."""
    from pyspark.sql import functions as F

    key = F.lower(F.regexp_replace(F.trim(raw), r"\s+", ""))
    key = F.translate(key, "\u03bc\u00b3\u00b2", "\u00b5" + "32")
    return key


def parse_decimal(raw: Column) -> Column:
    """A number written with a dot decimal separator (sources here use ``12.5``); NULL otherwise.

    ``NaN`` and ``Infinity`` (``inf``) come out as such, not NULL, so the NON_FINITE_NUMBER rule
    names them (a value that was sent, not a missing one); ``1e999`` overflows to infinity alike.
    """
    from pyspark.sql import functions as F

    text = F.trim(raw)
    number = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
    return F.when(text.rlike(number) | text.rlike(r"(?i)^[+-]?(nan|inf|infinity)$"), text.cast("double"))


TRANSFORM_LINEAGE = (
    "_batch_id",
    "_source_file",
    "_source_line",
    "_ingested_at",
    "_raw_line",
    "_parse_error",
    "_is_duplicate",
    "_interval_end",
)
"""Columns every silver transform carries through (silver judges the row with them, then drops them)."""


def lineage_columns(interval: DataInterval) -> list[Column | str]:
    """:data:`TRANSFORM_LINEAGE` as select items: bronze's lineage and parse flags, plus the data
    interval's end, which freshness and "measured after the interval" rules read."""
    from pyspark.sql import functions as F

    end = F.lit(interval.end.replace(tzinfo=None)).cast("timestamp").alias("_interval_end")
    return [*TRANSFORM_LINEAGE[:-1], end]
