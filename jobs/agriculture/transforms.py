"""Pure transforms of the agriculture sector: bronze → silver rows, silver → gold aggregates.

Each function takes DataFrames (and the data interval) and returns a DataFrame: no I/O, no clock.
The silver layer (:mod:`jobs.silver`) applies the registry's row rules to the helper columns added
here (``_province_problem``, ``_interval_year`` …).

Reference lookups that need Python (Vietnamese fold keys, TCVN3/VNI repair, province names) run
once per *distinct* value on the driver and are joined back: crop names, seasons and provinces
repeat across thousands of rows but take few spellings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from jobs import conform, provinces
from jobs.agriculture.datasets import (
    ACTIONS,
    BIZ_STEPS,
    CROPS,
    EXPECTED_STEPS,
    OCOP_GROUPS,
    PRODUCER_TYPES,
    SEASON_END,
    SEASONS,
)
from jobs.conform import lineage_columns
from jobs.interval import DataInterval
from jobs.text import fold_key, repair_vietnamese

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# ---------------------------------------------------------------------------------------------
# Plain-Python rules (unit-tested directly)

_SEPARATOR = " | "


def _lineage(interval: DataInterval) -> list[Column | str]:
    """The shared lineage columns plus the interval's last local day and its year, which bound the
    dates and years a record may carry (a recognition "tomorrow" is an error, not data)."""
    from datetime import timedelta

    from pyspark.sql import functions as F

    last_day = (interval.end + timedelta(hours=7) - timedelta(microseconds=1)).date()  # Vietnam has no DST
    return [
        *lineage_columns(interval),
        F.lit(last_day.year).alias("_interval_year"),
        F.lit(last_day).cast("date").alias("_interval_day"),
    ]


def repair_fields(values: Sequence[str | None]) -> tuple[str | None, ...]:
    """Repair TCVN3/VNI mojibake in the text fields of one record, judged together.

    A record typed in a legacy font is in one encoding throughout, and short words alone are
    ambiguous ("Lóa" is TCVN3 for "Lúa" but could be a name): joining the fields gives the repair
    the whole record's evidence. Each field comes back NFC.
    """
    joined = _SEPARATOR.join(v or "" for v in values)
    repaired = repair_vietnamese(joined) or ""
    parts = repaired.split(_SEPARATOR)
    if len(parts) != len(values):  # the repair touched a separator: fall back to field by field
        parts = [repair_vietnamese(v) or "" for v in values]
    return tuple(p if v is not None else None for p, v in zip(parts, values, strict=True))


def _compact(text: str | None) -> str:
    return re.sub(r"[^0-9a-z]", "", fold_key(text) or "")


def _code_lookup(names: dict[str, str], aliases: dict[str, str] | None = None) -> dict[str, str]:
    table = {_compact(code): code for code in names}
    table.update({_compact(name): code for code, name in names.items()})
    table.update({_compact(alias): code for alias, code in (aliases or {}).items()})
    return table


_CROP_KEYS = _code_lookup(CROPS, {"lúa gạo": "LUA", "thóc": "LUA", "bắp": "NGO", "ngô hạt": "NGO", "tiêu": "HO_TIEU"})
_SEASON_KEYS = _code_lookup(
    SEASONS, {"vụ đông xuân": "DONG_XUAN", "vụ hè thu": "HE_THU", "vụ thu đông": "THU_DONG", "vụ mùa": "MUA"}
)
_GROUP_KEYS = _code_lookup(OCOP_GROUPS, {"Dịch vụ du lịch": "DU_LICH", "Du lịch cộng đồng": "DU_LICH"})
_PRODUCER_KEYS = _code_lookup(PRODUCER_TYPES, {"HTX": "HOP_TAC_XA", "Công ty": "DOANH_NGHIEP", "Hộ": "HO_KINH_DOANH"})


def crop_code(text: str | None) -> str | None:
    """The crop code for a crop name or code in any spelling (case, diacritics, "Lúa gạo"), else None."""
    return _CROP_KEYS.get(_compact(text))


def season_code(text: str | None) -> str | None:
    return _SEASON_KEYS.get(_compact(text))


def group_code(text: str | None) -> str | None:
    return _GROUP_KEYS.get(_compact(text))


def producer_type_code(text: str | None) -> str | None:
    return _PRODUCER_KEYS.get(_compact(text))


def is_preliminary(status: str | None) -> bool:
    """ "Sơ bộ" (preliminary) in any spelling; anything else ("Chính thức", empty) is final."""
    return "sobo" in _compact(status)


# Provinces that ceased before the series starts; a record dated after is not theirs to carry.
DEFUNCT_PROVINCES: dict[str, date] = {"hatay": date(2008, 8, 1)}
"""Name key → the day the province ceased to exist (Hà Tây merged into Hà Nội, Resolution 15/2008/QH12)."""


def resolve_reporting_unit(code: str | None, name: str | None, on: date) -> tuple[str | None, str | None, str | None]:
    """(reporting unit name, 2025 province code, problem) for a record's province code/name on ``on``.

    Before 2025-07-01 the unit is one of the 63 provinces (a code is read in the legacy scheme, so
    "24" is Bắc Giang, not Bắc Ninh); from then on one of the 34. The code wins when both are given
    and agree; ``problem`` is ``defunct`` (a province that had ceased, e.g. Hà Tây), ``mismatch``
    (code and name name different units) or ``unmappable``.
    """
    legacy_era = on < provinces.REFORM_DATE
    name = (name or "").strip() or None
    code = (code or "").strip() or None
    for key, ceased in DEFUNCT_PROVINCES.items():
        if name is not None and key in provinces.name_keys(name) and on >= ceased:
            return None, None, "defunct"
    table = provinces.PROVINCES_LEGACY if legacy_era else provinces.PROVINCES_2025
    code_unit: str | None = None
    if code is not None:
        code_unit = provinces.normalise_code(code)
        if code_unit not in table:  # after the reform a legacy-only unit's figure is a part of a province
            return None, None, "unmappable"
    name_unit: str | None = None
    if name is not None:
        if legacy_era:
            name_unit = provinces.legacy_code_of_name(name)
        elif not provinces.is_legacy_only_name(name):
            name_unit = provinces.conform_province_name(name, on)
    unit = code_unit or name_unit
    if unit is None:
        return None, None, "unmappable"
    if code_unit is not None and name_unit is not None and code_unit != name_unit:
        return None, None, "mismatch"
    province_2025 = provinces.LEGACY_TO_2025[unit] if legacy_era else unit
    return table[unit], province_2025, None


def province_2025(value: str | None, on: date | None) -> str | None:
    """A province given as a code or a name (legacy or 2025), as its 2025 code on ``on``, else None."""
    text = (value or "").strip()
    if not text:
        return None
    if provinces.normalise_code(text) is not None:
        return provinces.conform_province_code(text, on)
    return provinces.conform_province_name(text, on)


def gtin13_check_digit(body: str) -> int:
    """GS1 check digit of a 12-digit GTIN-13 body (weights 1, 3, 1, 3 … from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10


# ---------------------------------------------------------------------------------------------
# Spark helpers


def _lookup(df: DataFrame, keys: list[str], fn: Callable[..., tuple[Any, ...]], out_ddl: str) -> DataFrame:
    """Add ``fn(*keys)``'s columns to every row, computing it once per distinct key on the driver."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    out_schema = StructType.fromDDL(out_ddl)
    assert isinstance(out_schema, StructType)
    distinct = df.select(*keys).distinct().collect()
    aliases = [f"_k{i}" for i in range(len(keys))]
    rows = [(*r, *fn(*r)) for r in distinct]
    schema = ", ".join(f"`{a}` STRING" for a in aliases) + ", " + out_ddl
    table = df.sparkSession.createDataFrame(rows, schema)
    condition = None
    for key, alias in zip(keys, aliases, strict=True):
        part = df[key].eqNullSafe(table[alias])
        condition = part if condition is None else condition & part
    return df.join(F.broadcast(table), condition, "left").drop(*aliases)


def parse_vn_number(raw: Column) -> Column:
    """A number in Vietnamese (``31.005,00``) or English (``7,329,200``, ``55.3``) notation; NULL otherwise.

    A dot or comma followed by exactly three digits in a group (``1.234``, ``123,456``) is a thousands
    separator, as statistics exports write them; the other one, if present, is the decimal mark.
    """
    from pyspark.sql import functions as F

    text = F.regexp_replace(F.trim(raw), r"[\s\u00a0]", "")
    vn = text.rlike(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
    en = text.rlike(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
    comma_decimal = text.rlike(r"^[+-]?\d+,\d+$")
    plain = text.rlike(r"^[+-]?\d+(\.\d+)?$")
    return (
        F.when(vn, F.regexp_replace(F.regexp_replace(text, r"\.", ""), ",", ".").cast("double"))
        .when(en, F.regexp_replace(text, ",", "").cast("double"))
        .when(comma_decimal, F.regexp_replace(text, ",", ".").cast("double"))
        .when(plain, text.cast("double"))
    )


def parse_date(raw: Column) -> Column:
    """``yyyy-MM-dd`` or ``dd/MM/yyyy``; NULL otherwise."""
    from pyspark.sql import functions as F

    text = F.trim(raw)
    return F.coalesce(
        F.when(text.rlike(r"^\d{4}-\d{2}-\d{2}$"), F.to_date(text, "yyyy-MM-dd")),
        F.when(text.rlike(r"^\d{1,2}/\d{1,2}/\d{4}$"), F.to_date(text, "d/M/yyyy")),
    )


def _season_end_sql(season: Column, year: Column) -> Column:
    from pyspark.sql import functions as F

    month = conform.literal_map({k: v[0] for k, v in SEASON_END.items()})[season]
    day = conform.literal_map({k: v[1] for k, v in SEASON_END.items()})[season]
    return F.make_date(year, month, day)


# ---------------------------------------------------------------------------------------------
# bronze → silver


def _repaired_record(
    province_name: str | None, crop: str | None, season: str | None, status: str | None
) -> tuple[Any, ...]:
    name, crop_fixed, season_fixed, status_fixed = repair_fields((province_name, crop, season, status))
    return (
        name,
        crop_code(crop_fixed),
        season_code(season_fixed),
        is_preliminary(status_fixed),
    )


def _unit(code: str | None, name: str | None, period_end: str | None) -> tuple[Any, ...]:
    if period_end is None:
        return None, None, "unmappable"
    return resolve_reporting_unit(code, name, date.fromisoformat(period_end))


def crop_stats_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Type and conform a crop statistics export: numbers in either notation, legacy fonts repaired,
    the reporting province read in the scheme of the record's date and mapped to its 2025 province."""
    from pyspark.sql import functions as F

    typed = bronze.select(
        F.trim("province_code").alias("_code_raw"),
        F.col("province_name").alias("_name_raw"),
        F.col("crop").alias("_crop_raw"),
        F.col("season").alias("_season_raw"),
        F.col("status").alias("_status_raw"),
        F.when(F.trim("year").rlike(r"^\d{4}$"), F.trim("year").cast("int")).alias("year"),
        parse_vn_number(F.col("planted_area_ha")).alias("planted_area_ha"),
        parse_vn_number(F.col("yield_ta_ha")).alias("yield_ta_ha"),
        parse_vn_number(F.col("production_t")).alias("production_t"),
        *_lineage(interval),
    )
    typed = _lookup(
        typed,
        ["_name_raw", "_crop_raw", "_season_raw", "_status_raw"],
        _repaired_record,
        "_name_fixed STRING, crop_code STRING, season_code STRING, preliminary BOOLEAN",
    )
    typed = typed.withColumn("period_end", _season_end_sql(F.col("season_code"), F.col("year")))
    typed = typed.withColumn("_period_end_text", F.col("period_end").cast("string"))
    typed = _lookup(
        typed,
        ["_code_raw", "_name_fixed", "_period_end_text"],
        _unit,
        "reporting_unit_name STRING, province_code STRING, _province_problem STRING",
    )
    return typed.select(
        "*",
        conform.literal_map(CROPS)[F.col("crop_code")].alias("crop_name"),
        conform.literal_map(SEASONS)[F.col("season_code")].alias("season_name"),
    )


def _province_of(value: str | None, recognized_on: str | None) -> tuple[Any, ...]:
    return (province_2025(value, date.fromisoformat(recognized_on) if recognized_on else None),)


def _ocop_codes(group: str | None, producer_type: str | None) -> tuple[Any, ...]:
    return group_code(group), producer_type_code(producer_type)


def ocop_product_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Type and conform OCOP registry items: stars and score as numbers, group and producer type as
    codes, NFC names, the province (code or name, legacy in older entries) as its 2025 code on the
    recognition date."""
    from pyspark.sql import functions as F

    stars_text = F.regexp_extract(F.trim("stars"), r"^(\d+)(\s*(sao|★|stars?))?$", 1)
    score = parse_vn_number(F.col("score"))
    typed = bronze.select(
        F.upper(F.trim("product_code")).alias("product_code"),
        F.col("product_name"),
        F.col("group").alias("_group_raw"),
        F.when(stars_text != "", stars_text.cast("int")).alias("stars"),
        F.when(score == F.round(score), score.cast("int")).alias("score"),
        F.when(
            F.regexp_replace(F.trim("gtin"), r"\D", "").rlike(r"^\d{13}$"), F.regexp_replace(F.trim("gtin"), r"\D", "")
        ).alias("gtin"),
        F.col("producer_name"),
        F.col("producer_type").alias("_producer_type_raw"),
        F.col("commune").alias("commune_name"),
        F.col("province").alias("_province_raw"),
        parse_date(F.col("recognized_on")).alias("recognized_on"),
        *_lineage(interval),
    )
    typed = typed.withColumn("_recognized_text", F.col("recognized_on").cast("string"))
    typed = _lookup(typed, ["_province_raw", "_recognized_text"], _province_of, "province_code STRING")
    typed = _lookup(
        typed, ["_group_raw", "_producer_type_raw"], _ocop_codes, "product_group STRING, producer_type STRING"
    )
    for column in ("product_name", "producer_name", "commune_name"):
        typed = conform.repaired_text(typed, column)
    return typed


def _cbv_short(raw: Column) -> Column:
    """CBV short name from any of its spellings: ``shipping``, ``urn:epcglobal:cbv:bizstep:shipping``,
    ``https://ref.gs1.org/cbv/BizStep-shipping``."""
    from pyspark.sql import functions as F

    text = F.lower(F.trim(raw))
    return F.regexp_extract(text, r"(?:^|[:/-])([a-z_]+)$", 1)


_CBV_PREFIXES = r"^(urn:epcglobal:cbv:bizstep:|https?://ref\.gs1\.org/cbv/BizStep-)"


def _biz_step(raw: Column) -> Column:
    """A CBV 2.0 bizStep as its short name (bare, ``urn:epcglobal:cbv:bizstep:…`` or
    ``https://ref.gs1.org/cbv/BizStep-…``); any other URI as written (an extension, EPCIS 2.0 "Why" dimension);
    NULL for a bare word outside the vocabulary."""
    from pyspark.sql import functions as F

    text = F.trim(raw)
    short = F.lower(F.regexp_replace(text, _CBV_PREFIXES, ""))
    return F.when(short.isin(*BIZ_STEPS), short).when(
        ~text.rlike(_CBV_PREFIXES) & text.rlike(r"^[a-zA-Z][a-zA-Z0-9+.-]*:"), text
    )


def _parse_events(raw: Column) -> Column:
    """:func:`jobs.agriculture.epcis.parsed_row` as a Spark struct (a Python UDF: the identifier
    grammar and the event hash are easier to get right, and to test, in Python)."""
    from pyspark.sql import functions as F

    from jobs.agriculture.epcis import PARSED_DDL, parsed_row

    return F.udf(lambda text: parsed_row(text), PARSED_DDL)(raw)  # a lambda: no type hints to read as Arrow


_ROLE_RANK = {"object": 0, "output": 1, "child": 2, "input": 3}


def traceability_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Type EPCIS 2.0 events (Object, Aggregation, Transformation): UTC event time with the source's
    offset, CBV short names, every product identifier (URN or Digital Link) as GTIN-14 + lot +
    serial in ``products``, and the event's main product: the first one that is an OCOP product in
    the registry (objects, then outputs, children, inputs; one with a lot first), joined by GTIN."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # One product per GTIN: the registry may hold a GTIN under two product codes (a product
    # re-registered, a code typed twice); the latest registry entry wins, so no event is repeated.
    products = (
        inputs["ocop_product"]
        .where(F.col("gtin").isNotNull())
        .groupBy(F.lpad(F.col("gtin"), 14, "0").alias("_ref_gtin"))
        .agg(F.max_by("product_code", F.struct("_ingested_at", "product_code")).alias("_ref_product_code"))
    )
    raw_time = F.nullif(F.trim("event_time"), F.lit(""))
    offset = F.trim("event_time_zone_offset")
    action = F.upper(F.trim("action"))
    parsed = _parse_events(F.col("_raw_line"))
    typed = bronze.select(
        "*",
        parsed.alias("_parsed"),
    ).select(
        F.col("_parsed.event_id").alias("event_id"),
        F.coalesce(F.col("_parsed.event_id_computed"), F.lit(False)).alias("event_id_computed"),
        F.col("_parsed.event_type").alias("event_type"),
        raw_time.alias("_event_time_raw"),
        F.to_timestamp(raw_time).alias("event_time"),
        F.when(offset.rlike(r"^[+-]\d{2}:\d{2}$|^Z$"), offset).alias("event_time_zone_offset"),
        F.when(action.isin(*ACTIONS), action).alias("action"),
        F.nullif(F.trim("biz_step"), F.lit("")).alias("_biz_step_raw"),
        _biz_step(F.col("biz_step")).alias("biz_step"),
        F.nullif(_cbv_short(F.col("disposition")), F.lit("")).alias("disposition"),
        F.trim("read_point").alias("read_point"),
        F.trim("biz_location").alias("biz_location"),
        F.col("_parsed.parent_id").alias("parent_id"),
        F.coalesce(F.col("_parsed.products"), F.array()).alias("products"),
        F.col("_parsed.problem").alias("_epcis_problem"),
        *_lineage(interval),
    )
    typed = typed.withColumn(
        "epc_count", F.size(F.filter("products", lambda p: p["level"] == "instance")).cast("int")
    ).withColumn("event_date", conform.local_date(F.col("event_time")))
    # the main product: explode, look each GTIN up, keep the best per event row
    row_key = ["_batch_id", "_source_line"]
    rank = conform.literal_map(_ROLE_RANK)
    exploded = typed.select(*row_key, F.posexplode("products").alias("_pos", "_p"))
    looked_up = exploded.join(F.broadcast(products), exploded["_p.gtin"] == products["_ref_gtin"], "left")
    order = F.struct(
        F.col("_ref_product_code").isNull().alias("_unregistered"),
        rank[F.col("_p.role")].alias("_rank"),
        F.col("_p.lot_number").isNull().alias("_no_lot"),
        "_pos",
    )
    best = Window.partitionBy(*row_key).orderBy(order)
    main = (
        looked_up.withColumn("_n", F.row_number().over(best))
        .where("_n = 1")
        .select(
            *row_key,
            F.col("_p.gtin").alias("gtin"),
            F.col("_p.lot_number").alias("lot_number"),
            F.col("_ref_product_code").alias("product_code"),
            F.col("_p.quantity").alias("quantity"),
            F.col("_p.uom").alias("uom"),
        )
    )
    return typed.join(main, row_key, "left")


# ---------------------------------------------------------------------------------------------
# silver → gold (whole-table rewrites: ``dates`` only says a rebuild is due)


def _exact_sum(column: str) -> Column:
    """A sum in decimal arithmetic, so reruns give the same last digit whatever the row order."""
    from pyspark.sql import functions as F

    return F.sum(F.col(column).cast("decimal(24,4)"))


def crop_production(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Area and production per 2025 province × crop × season × year: the legacy provinces that make
    up a 2025 province are summed (Hà Nam + Nam Định + Ninh Bình → Ninh Bình); yield is recomputed
    from the sums (production × 10 / area, tạ/ha), never averaged."""
    from pyspark.sql import functions as F

    stats = inputs["crop_stats"]
    agg = stats.groupBy("province_code", "crop_code", "season_code", "year").agg(
        _exact_sum("planted_area_ha").alias("_area"),
        _exact_sum("production_t").alias("_production"),
        F.count("*").cast("int").alias("reporting_units"),
        F.max(F.col("preliminary").cast("int")).cast("boolean").alias("preliminary"),
    )
    names = conform.literal_map(provinces.PROVINCES_2025)
    return agg.select(
        "province_code",
        names[F.col("province_code")].alias("province_name"),
        "crop_code",
        "season_code",
        "year",
        F.round(F.col("_area").cast("double"), 2).alias("planted_area_ha"),
        F.round(F.col("_production").cast("double"), 2).alias("production_t"),
        F.when(F.col("_area") > 0, F.round((F.col("_production") * 10 / F.col("_area")).cast("double"), 2)).alias(
            "yield_ta_ha"
        ),
        "reporting_units",
        "preliminary",
    )


def ocop_by_province(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Recognized OCOP products per 2025 province × stars × group, with their mean score."""
    from pyspark.sql import functions as F

    agg = (
        inputs["ocop_product"]
        .groupBy("province_code", "stars", "product_group")
        .agg(
            F.count("*").cast("int").alias("products"),
            F.round(F.avg(F.col("score").cast("decimal(10,4)")).cast("double"), 2).alias("mean_score"),
        )
    )
    names = conform.literal_map(provinces.PROVINCES_2025)
    return agg.select(
        "province_code",
        names[F.col("province_code")].alias("province_name"),
        "stars",
        "product_group",
        "products",
        "mean_score",
    )


def _product_rows(events: DataFrame) -> DataFrame:
    """One row per event × product, the lot of a lot-less instance (an SGTIN observed after it was
    commissioned) filled from the ADD / TransformationEvent that stated it in ``ilmd``: the same
    GTIN + serial names the same item for life (EPC Tag Data Standard)."""
    from pyspark.sql import functions as F

    rows = events.select("event_id", "event_type", "event_time", "biz_step", F.explode("products").alias("_p")).select(
        "event_id", "event_type", "event_time", "biz_step", "_p.*"
    )
    known = (
        rows.where(F.col("serial").isNotNull() & F.col("lot_number").isNotNull())
        .groupBy(F.col("gtin").alias("_k_gtin"), F.col("serial").alias("_k_serial"))
        .agg(F.min("lot_number").alias("_k_lot"))
    )
    joined = rows.join(
        known, (rows["gtin"] == known["_k_gtin"]) & rows["serial"].eqNullSafe(known["_k_serial"]), "left"
    )
    return joined.withColumn("lot_number", F.coalesce("lot_number", "_k_lot")).drop("_k_gtin", "_k_serial", "_k_lot")


def _lineage_edges(products: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    transformations = products.where(F.col("event_type") == "TransformationEvent")
    ins = transformations.where(F.col("role") == "input").select(
        "event_id",
        "event_time",
        "biz_step",
        *[F.col(c).alias(f"input_{c}") for c in ("epc", "gtin", "lot_number", "serial", "quantity", "uom")],
    )
    outs = transformations.where(F.col("role") == "output").select(
        F.col("event_id").alias("_out_event"),
        *[F.col(c).alias(f"output_{c}") for c in ("epc", "gtin", "lot_number", "serial")],
    )
    return (
        ins.join(outs, ins["event_id"] == outs["_out_event"])
        .drop("_out_event")
        .dropDuplicates(["event_id", "input_epc", "output_epc"])
    )


def traceability_lineage(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Every input → output link of every TransformationEvent (EPCIS 2.0 "TransformationEvent"), one row per pair of
    identifiers as written, with GTIN-14, lot (stated, or learnt from the item's commissioning) and
    serial on each side: the graph a recall walks from a raw-material lot to the lots made from it."""
    return _lineage_edges(_product_rows(inputs["traceability_event"]))


def traceability_completeness(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Per product lot: which expected steps (commissioning → shipping → receiving → retail_selling)
    exist, the share present, and whether the present ones happened in that order (by their first
    event time; the document's order does not matter). A lot counts the events that name it as an
    object, a child or an output — not as an input, where the step (commissioning of the output,
    say) is the output's. A lot made by a TransformationEvent also gets its inputs' completeness
    (mean over the input identifiers; 0 for an input of unknown lot or with no events) and a chain
    completeness, the lesser of its own and its inputs': one level of inputs, not their inputs."""
    from pyspark.sql import functions as F

    rows = _product_rows(inputs["traceability_event"])
    registry = inputs["ocop_product"].where(F.col("gtin").isNotNull())
    products = registry.groupBy(F.lpad("gtin", 14, "0").alias("gtin")).agg(
        F.max_by(F.struct("product_code", "province_code"), F.struct("product_code")).alias("_ref")
    )
    own = rows.where((F.col("role") != "input") & F.col("lot_number").isNotNull())
    firsts = [
        F.min(F.when(F.col("biz_step") == step, F.col("event_time"))).alias(f"_first_{step}") for step in EXPECTED_STEPS
    ]
    agg = own.groupBy("gtin", "lot_number").agg(
        F.countDistinct("event_id").cast("int").alias("events"),
        F.min("event_time").alias("first_event_time"),
        F.max("event_time").alias("last_event_time"),
        *firsts,
    )
    present = F.filter(F.array(*[F.col(f"_first_{s}") for s in EXPECTED_STEPS]), lambda t: t.isNotNull())
    steps = sum((F.col(f"_first_{s}").isNotNull().cast("int") for s in EXPECTED_STEPS), F.lit(0))
    lots = agg.select(
        "gtin",
        "lot_number",
        *[F.col(f"_first_{s}").isNotNull().alias(f"has_{s}") for s in EXPECTED_STEPS],
        steps.cast("int").alias("steps_present"),
        F.round(steps / F.lit(len(EXPECTED_STEPS)), 4).alias("completeness"),
        (F.array_sort(present) == present).alias("steps_in_order"),
        "events",
        "first_event_time",
        "last_event_time",
    )
    edges = _lineage_edges(rows).where(F.col("output_lot_number").isNotNull())
    inputs_of = edges.select(
        "output_gtin", "output_lot_number", "input_epc", "input_gtin", "input_lot_number"
    ).distinct()
    scored = inputs_of.join(
        lots.select(
            F.col("gtin").alias("_in_gtin"), F.col("lot_number").alias("_in_lot"), F.col("completeness").alias("_in_c")
        ),
        (inputs_of["input_gtin"] == F.col("_in_gtin")) & (inputs_of["input_lot_number"] == F.col("_in_lot")),
        "left",
    )
    per_output = scored.groupBy(F.col("output_gtin").alias("gtin"), F.col("output_lot_number").alias("lot_number")).agg(
        F.countDistinct("input_epc").cast("int").alias("inputs"),
        F.countDistinct(F.when(F.col("_in_c").isNotNull(), F.col("input_epc"))).cast("int").alias("inputs_traced"),
        F.round(F.avg(F.coalesce("_in_c", F.lit(0.0))), 4).alias("inputs_completeness"),
    )
    out = (
        lots.join(per_output, ["gtin", "lot_number"], "left")
        .join(F.broadcast(products), "gtin", "left")
        .select(
            F.col("_ref.product_code").alias("product_code"),
            "gtin",
            "lot_number",
            F.col("_ref.province_code").alias("province_code"),
            *[f"has_{s}" for s in EXPECTED_STEPS],
            "steps_present",
            "completeness",
            "steps_in_order",
            "events",
            "first_event_time",
            "last_event_time",
            F.coalesce("inputs", F.lit(0)).alias("inputs"),
            F.coalesce("inputs_traced", F.lit(0)).alias("inputs_traced"),
            "inputs_completeness",
            F.least("completeness", F.coalesce("inputs_completeness", "completeness")).alias("chain_completeness"),
        )
    )
    return out
