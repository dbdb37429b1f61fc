"""Pure transforms of the reference sector: the libraries' exported tables -> the silver dimension.

Each function takes the bronze batch (every column a string, as the library wrote it) and the
silver inputs, and returns typed rows plus the helper columns the registry row rules read
(``_name_matches_gso``, ``_province_known`` …). No I/O, no clock: the validity dates are the law's
(2008-08-01 the 63-unit list, 2025-07-01 the 34-unit one), not the run's.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING

from jobs import conform, provinces
from jobs.conform import TRANSFORM_LINEAGE, lineage_columns
from jobs.interval import DataInterval
from jobs.reference.dimension import with_province_known

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

LEGACY_VALID_FROM = date(2008, 8, 1)
"""The 63-unit list took effect when Hà Tây joined Hà Nội (Resolution 15/2008/QH12)."""
LEGACY_VALID_TO = provinces.REFORM_DATE - timedelta(days=1)  # 2025-06-30
VALID_FROM_2025 = provinces.REFORM_DATE  # 2025-07-01

PROVINCE_TYPES = {"thành phố trung ương": "city", "tỉnh": "province"}
COMMUNE_TYPES = {"xã": "commune", "phường": "ward", "đặc khu": "special_zone"}
_CITY_PREFIX, _PROVINCE_PREFIX = "Thành phố ", "Tỉnh "


@cache
def _ascii_table() -> tuple[str, str]:
    """(from, to) for Spark ``translate``: every precomposed Latin letter with marks -> its base letter."""
    source, target = ["đ", "Đ"], ["d", "D"]
    for code in range(0x00C0, 0x1EFA):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if char != base and base.isascii() and base.isalpha():
            source.append(char)
            target.append(base)
    return "".join(source), "".join(target)


def ascii_name(name: Column) -> Column:
    """The name without diacritics ("Thành phố Hồ Chí Minh" -> "Thanh pho Ho Chi Minh"); NFC input."""
    from pyspark.sql import functions as F

    source, target = _ascii_table()
    return F.translate(name, source, target)


def name_key(name: Column) -> Column:
    """Spark twin of :func:`jobs.provinces.name_key`: folded, letters and digits only, no type prefix/suffix."""
    from pyspark.sql import functions as F

    compact = F.regexp_replace(F.lower(ascii_name(name)), "[^0-9a-z]", "")
    stripped = F.regexp_replace(F.regexp_replace(compact, provinces.NAME_KEY_PREFIX, ""), provinces.NAME_KEY_SUFFIX, "")
    return F.when(stripped != "", stripped).otherwise(compact)


def padded_code(raw: Column, width: int) -> Column:
    """A GSO code as zero-padded text ("1" -> "01"); NULL unless it is a number 1 .. 10**width - 1."""
    from pyspark.sql import functions as F

    text = F.trim(raw)
    number = F.when(text.rlike(f"^[0-9]{{1,{width}}}$"), text.cast("int"))
    return F.when(number > 0, F.lpad(number.cast("string"), width, "0"))


def _day(day: date) -> Column:
    from pyspark.sql import functions as F

    return F.lit(day.isoformat()).cast("date")


def _short_and_full(name: Column, division_type: Column) -> tuple[Column, Column]:
    """(short name, official full name): "Thành phố Hà Nội" / "Tỉnh Cao Bằng" with the prefix the
    type calls for, whichever form the library wrote."""
    from pyspark.sql import functions as F

    short = F.regexp_replace(name, f"^({_CITY_PREFIX}|{_PROVINCE_PREFIX})", "")
    prefix = F.when(division_type == "city", F.lit(_CITY_PREFIX)).when(
        division_type == "province", F.lit(_PROVINCE_PREFIX)
    )
    return short, F.concat(prefix, short)


def province_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """The 34 provinces (vietnam-provinces): padded codes, city/province, and each name cross-checked
    against the name vietnamadminunits gives the same GSO code (``_name_matches_gso``, read by a row rule)."""
    from pyspark.sql import functions as F

    typed = conform.repaired_text(bronze, "name")
    division_type = conform.literal_map(PROVINCE_TYPES)[F.lower(F.trim("division_type"))]
    short, full = _short_and_full(F.col("name"), division_type)
    gso_name_key = conform.literal_map({c: provinces.name_key(n) for c, n in provinces.PROVINCES_2025.items()})
    return typed.select(
        padded_code(F.col("code"), 2).alias("province_code"),
        short.alias("province_name"),
        full.alias("province_full_name"),
        ascii_name(short).alias("ascii_name"),
        division_type.alias("division_type"),
        F.trim("codename").alias("codename"),
        F.trim("phone_code").cast("int").alias("phone_code"),
        _day(VALID_FROM_2025).alias("valid_from"),
        F.lit(None).cast("date").alias("valid_to"),
        F.coalesce(gso_name_key[padded_code(F.col("code"), 2)] == name_key(short), F.lit(False)).alias(
            "_name_matches_gso"
        ),
        *lineage_columns(interval),
    )


def province_legacy_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """The 63 legacy provinces (vietnamadminunits), as the library names them on their last day
    (2025-06-30: so 46 is "Thành phố Huế", a city since 2025-01-01)."""
    from pyspark.sql import functions as F

    typed = conform.repaired_text(conform.repaired_text(bronze, "province"), "provinceShort")
    full = F.trim("province")
    division_type = F.when(full.startswith(_CITY_PREFIX), F.lit("city")).when(
        full.startswith(_PROVINCE_PREFIX), F.lit("province")
    )
    short = F.trim("provinceShort")
    return typed.select(
        padded_code(F.col("provinceCode"), 2).alias("legacy_code"),
        short.alias("province_name"),
        full.alias("province_full_name"),
        ascii_name(short).alias("ascii_name"),
        division_type.alias("division_type"),
        _day(LEGACY_VALID_FROM).alias("valid_from"),
        _day(LEGACY_VALID_TO).alias("valid_to"),
        *lineage_columns(interval),
    )


def province_mapping_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Legacy code -> 2025 code, both checked against the silver dimension, names joined from it.

    ``code_reused``: the legacy code is a 2025 code whose province now carries the name of another
    legacy province merged into it (24: Bắc Giang until 2025-06-30, then Bắc Ninh, the old 27). A
    rename of the same territory (46 Thừa Thiên Huế -> Huế) is not a reuse: no other legacy
    province merged into it.
    """
    from pyspark.sql import functions as F

    legacy = inputs["province_legacy"].select(
        F.col("legacy_code").alias("_l_code"),
        F.col("province_name").alias("_l_name"),
        F.lower(F.col("ascii_name")).alias("_l_key"),
    )
    current = inputs["province"].select(
        F.col("province_code").alias("_p_code"),
        F.col("province_name").alias("_p_name"),
        F.lower(F.col("ascii_name")).alias("_p_key"),
    )
    typed = bronze.select(
        padded_code(F.col("legacy_code"), 2).alias("legacy_code"),
        padded_code(F.col("code_2025"), 2).alias("province_code"),
        *lineage_columns(interval),
    )
    typed = with_province_known(typed, inputs["province"])
    joined = typed.join(F.broadcast(legacy), typed["legacy_code"] == legacy["_l_code"], "left").join(
        F.broadcast(current), typed["province_code"] == current["_p_code"], "left"
    )
    # 2025 codes whose province is named after a *different* legacy province that merged into it.
    pairs = (
        bronze.select(
            padded_code(F.col("legacy_code"), 2).alias("_m_legacy"),
            padded_code(F.col("code_2025"), 2).alias("_m_2025"),
        )
        .join(legacy, F.col("_m_legacy") == F.col("_l_code"))
        .join(current, F.col("_m_2025") == F.col("_p_code"))
    )
    renamed_after_other = (
        pairs.where((F.col("_m_legacy") != F.col("_m_2025")) & (F.col("_l_key") == F.col("_p_key")))
        .select(F.col("_m_2025").alias("_reused_code"))
        .distinct()
    )
    out = joined.join(F.broadcast(renamed_after_other), F.col("legacy_code") == F.col("_reused_code"), "left")
    return out.select(
        "legacy_code",
        F.col("_l_name").alias("legacy_name"),
        "province_code",
        F.col("_p_name").alias("province_name"),
        _day(LEGACY_VALID_FROM).alias("valid_from"),
        _day(LEGACY_VALID_TO).alias("valid_to"),
        F.col("_reused_code").isNotNull().alias("code_reused"),
        F.col("_l_code").isNotNull().alias("_legacy_known"),
        "_province_known",
        *TRANSFORM_LINEAGE,
    )


def commune_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Communes, wards and special zones (vietnam-provinces), each in a province of the dimension."""
    from pyspark.sql import functions as F

    typed = conform.repaired_text(bronze, "name")
    typed = typed.select(
        padded_code(F.col("code"), 5).alias("commune_code"),
        F.trim("name").alias("commune_name"),
        ascii_name(F.trim("name")).alias("ascii_name"),
        conform.literal_map(COMMUNE_TYPES)[F.lower(F.trim("division_type"))].alias("division_type"),
        F.trim("codename").alias("codename"),
        padded_code(F.col("province_code"), 2).alias("province_code"),
        _day(VALID_FROM_2025).alias("valid_from"),
        *lineage_columns(interval),
    )
    return with_province_known(typed, inputs["province"])
