"""Agriculture transforms on tiny hand-made frames: numbers, legacy fonts, provinces by date, EPCIS, gold.

Every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.agriculture.datasets import CROP_STATS_COLUMNS, OCOP_PRODUCT, TRACEABILITY_EVENT
from jobs.agriculture.transforms import (
    crop_production,
    crop_stats_to_silver,
    gtin13_check_digit,
    ocop_by_province,
    ocop_product_to_silver,
    parse_vn_number,
    repair_fields,
    resolve_reporting_unit,
    traceability_completeness,
    traceability_to_silver,
)
from jobs.interval import DataInterval
from jobs.registry import Source
from jobs.silver import apply_row_rules, mark_exact_duplicates
from jobs.text import to_tcvn3_mojibake, to_vni_mojibake
from tests.unit.conftest import BATCH_ID, INGESTED_AT, BronzeBuilder

INTERVAL = DataInterval.for_local_day(date(2026, 11, 26))


def test_vietnamese_and_english_number_notation(spark: SparkSession) -> None:
    cases = {
        "31.005,00": 31005.0,  # VN: dot thousands, comma decimal
        "7,329,200": 7329200.0,  # EN thousands
        "1.714.577": 1714577.0,  # VN thousands only
        "55,3": 55.3,  # VN decimal comma
        "55.3": 55.3,  # plain
        " 12 345,5 ": 12345.5,  # spaces as thousands separators
        "-4": -4.0,
        "N/A": None,
        "1,2,3": None,
    }
    df = spark.createDataFrame([(k,) for k in cases], "raw STRING")
    got = {r["raw"]: r["v"] for r in df.select("raw", parse_vn_number(F.col("raw")).alias("v")).collect()}
    assert got == cases


def test_a_legacy_record_is_repaired_as_a_whole() -> None:
    record = ("Nam Định", "Lúa", "Hè Thu", "Chính thức")
    # alone, TCVN3 "Lóa" (Lúa) and "HÌ Thu" (Hè Thu) are ambiguous; with the record's other fields they are not
    assert repair_fields(tuple(to_tcvn3_mojibake(v) for v in record)) == record
    assert repair_fields(tuple(to_vni_mojibake(v) for v in record)) == record
    assert repair_fields(("Ha Nam", None, "Mùa", "")) == ("Ha Nam", None, "Mùa", "")


@pytest.mark.parametrize(
    ("code", "name", "on", "expected"),
    [
        ("24", None, date(2024, 5, 31), ("Bắc Giang", "24", None)),  # legacy 24 is Bắc Giang (code reused in 2025)
        ("24", None, date(2026, 5, 31), ("Bắc Ninh", "24", None)),
        ("27", "Bắc Ninh", date(2025, 5, 31), ("Bắc Ninh", "24", None)),  # Đông Xuân 2025 ends before the reform
        (None, "Tỉnh Hà Nam", date(2024, 12, 31), ("Hà Nam", "37", None)),
        (None, "Ha Nam", date(2024, 12, 31), ("Hà Nam", "37", None)),
        ("24", "Bắc Ninh", date(2024, 5, 31), (None, None, "mismatch")),
        (None, "Hà Tây", date(2024, 5, 31), (None, None, "defunct")),  # merged into Hà Nội 2008-08-01
        ("36", None, date(2025, 8, 31), (None, None, "unmappable")),  # Nam Định no longer reports after the reform
        ("99", None, date(2024, 1, 1), (None, None, "unmappable")),
    ],
)
def test_reporting_unit_is_read_in_the_scheme_of_the_records_date(
    code: str | None, name: str | None, on: date, expected: tuple[str | None, ...]
) -> None:
    assert resolve_reporting_unit(code, name, on) == expected


def test_gtin_check_digit() -> None:
    # 893500012345: 8+3+0+0+2+4 = 17; (9+5+0+1+3+5) × 3 = 69; 86 → check 4
    assert gtin13_check_digit("893500012345") == 4


def _crop_line(*fields: str) -> str:
    return ",".join(f'"{f}"' if "," in f else f for f in fields)


@pytest.fixture(scope="module")
def crop_silver(bronze_from_lines: BronzeBuilder) -> DataFrame:
    lines = [
        # legacy-era TCVN3 record, Vietnamese numbers: 1.000,50 ha × 60,0 tạ/ha / 10 = 6.003 t
        _crop_line(
            "24",
            *(to_tcvn3_mojibake(v) for v in ("Bắc Giang", "Lúa", "Đông Xuân")),
            "2024",
            "1.000,50",
            "60,0",
            "6.003",
            to_tcvn3_mojibake("Chính thức"),
        ),
        # legacy Bắc Ninh (27), VNI, English numbers: 2,000.00 × 50 / 10 = 10,000 t
        _crop_line(
            "27",
            *(to_vni_mojibake(v) for v in ("Bắc Ninh", "Lúa", "Đông Xuân")),
            "2024",
            "2000.00",
            "50.0",
            "10,000",
            to_vni_mojibake("Chính thức"),
        ),
        # 2025-era Bắc Ninh, preliminary
        _crop_line("24", "Bắc Ninh", "Lúa", "Mùa", "2026", "2500.00", "52.0", "13,000", "Sơ bộ"),
        # inconsistent: 1000 × 50 / 10 = 5000, says 6500 (30 % over)
        _crop_line("38", "Thanh Hóa", "Ngô", "Hè Thu", "2026", "1000.00", "50.0", "6,500", "Sơ bộ"),
        _crop_line("", "Hà Tây", "Lúa", "Đông Xuân", "2024", "100.00", "50.0", "500", "Chính thức"),
        _crop_line("01", "Hà Nội", "Sắn", "Đông Xuân", "2024", "100.00", "50.0", "500", "Chính thức"),
    ]
    bronze = bronze_from_lines(lines, CROP_STATS_COLUMNS)
    typed = crop_stats_to_silver(mark_exact_duplicates(bronze), {}, interval=INTERVAL)
    from jobs.agriculture.datasets import CROP_STATS

    return apply_row_rules(typed, CROP_STATS).cache()


def test_crop_stats_to_silver(crop_silver: DataFrame) -> None:
    rows = {r["_source_line"]: r for r in crop_silver.collect()}
    first = rows[2]
    assert (first["reporting_unit_name"], first["province_code"], first["crop_code"], first["season_code"]) == (
        "Bắc Giang",
        "24",
        "LUA",
        "DONG_XUAN",
    )
    assert (first["planted_area_ha"], first["yield_ta_ha"], first["production_t"]) == (1000.5, 60.0, 6003.0)
    assert (first["season_name"], first["crop_name"], first["preliminary"]) == ("Đông Xuân", "Lúa", False)
    assert first["period_end"] == date(2024, 5, 31) and first["_reject_reason"] is None
    assert (rows[3]["reporting_unit_name"], rows[3]["province_code"], rows[3]["production_t"]) == (
        "Bắc Ninh",
        "24",
        10000.0,
    )
    assert (rows[4]["reporting_unit_name"], rows[4]["preliminary"], rows[4]["_reject_reason"]) == (
        "Bắc Ninh",
        True,
        None,
    )
    assert rows[5]["_reject_reason"] == "PRODUCTION_INCONSISTENT"
    assert rows[6]["_reject_reason"] == "DEFUNCT_PROVINCE"
    assert rows[7]["_reject_reason"] == "UNKNOWN_CROP"  # cassava is not in the series


def _json_bronze(spark: SparkSession, items: Sequence[object], source: Source | None) -> DataFrame:
    assert source is not None
    from jobs.bronze import parse_json_lines

    lines = [i if isinstance(i, str) else json.dumps(i, ensure_ascii=False) for i in items]
    numbered = spark.createDataFrame([(line, n) for n, line in enumerate(lines, start=1)], "line STRING, line_no LONG")
    return mark_exact_duplicates(
        parse_json_lines(numbered, source).select(
            "*",
            F.lit(BATCH_ID).alias("_batch_id"),
            F.lit("test.jsonl").alias("_source_file"),
            F.lit(INGESTED_AT).cast("timestamp").alias("_ingested_at"),
        )
    )


def _ocop(code: str, **over: object) -> dict:  # type: ignore[type-arg]
    item = {
        "product_code": code,
        "product_name": "Mật ong rừng Yên Thủy",
        "group": "Thực phẩm",
        "stars": 4,
        "score": 75,
        "gtin": "8935000123454",
        "producer_name": "Hợp tác xã Yên Thủy",
        "producer_type": "HTX",
        "commune": "Xã Yên Thủy",
        "province": "01",
        "recognized_on": "2026-03-02",
    }
    return item | over


def test_ocop_product_to_silver(spark: SparkSession) -> None:
    import unicodedata

    from jobs.agriculture.datasets import OCOP_PRODUCT as DS

    items = [
        _ocop("A", product_name=unicodedata.normalize("NFD", "Mật ong rừng Yên Thủy")),
        _ocop("B", province="Nam Định", recognized_on="12/05/2023"),  # legacy name before the reform -> 37
        _ocop("C", province="35", recognized_on="2024-01-01"),  # legacy code -> 37
        _ocop("D", stars=6),
        _ocop("E", stars=5, score=75),
        _ocop("F", stars="3 sao", score="55", group="Dich vu du lich"),
    ]
    typed = apply_row_rules(ocop_product_to_silver(_json_bronze(spark, items, DS.source), {}, interval=INTERVAL), DS)
    rows = {r["product_code"]: r for r in typed.collect()}
    assert rows["A"]["product_name"] == "Mật ong rừng Yên Thủy" and unicodedata.is_normalized(
        "NFC", rows["A"]["product_name"]
    )
    assert (rows["A"]["product_group"], rows["A"]["producer_type"], rows["A"]["province_code"]) == (
        "THUC_PHAM",
        "HOP_TAC_XA",
        "01",
    )
    assert (rows["B"]["province_code"], rows["B"]["recognized_on"]) == ("37", date(2023, 5, 12))
    assert rows["C"]["province_code"] == "37"
    assert rows["D"]["_reject_reason"] == "INVALID_STARS"
    assert rows["E"]["_reject_reason"] == "STARS_SCORE_MISMATCH"
    assert (rows["F"]["stars"], rows["F"]["score"], rows["F"]["product_group"], rows["F"]["_reject_reason"]) == (
        3,
        55,
        "DU_LICH",
        None,
    )


def _event(eid: str, step: str, time: str | None, lot: str = "L1", gtin_item: str = "012345", **over: object) -> dict:  # type: ignore[type-arg]
    event = {
        "type": "ObjectEvent",
        "eventID": eid,
        "eventTimeZoneOffset": "+07:00",
        "action": "ADD" if step == "commissioning" else "OBSERVE",
        "bizStep": step,
        "disposition": "https://ref.gs1.org/cbv/Disp-in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:8935000.00001.0"},
        "quantityList": [{"epcClass": f"urn:epc:class:lgtin:8935000.{gtin_item}.{lot}", "quantity": 10, "uom": "KGM"}],
    }
    if step == "commissioning":
        event["ilmd"] = {"cbvmda:lotNumber": lot}  # EPCIS 2.0 "ObjectEvent": ilmd only with action ADD
    if time is not None:
        event["eventTime"] = time
    return event | over


@pytest.fixture(scope="module")
def events(spark: SparkSession) -> DataFrame:
    products = spark.createDataFrame(  # the GTIN is registered twice: the later entry wins, no event repeats
        [
            ("OCOP-1", "8935000123454", "01", datetime(2026, 11, 26, 2, 0)),
            ("OCOP-OLD", "8935000123454", "01", datetime(2026, 11, 25, 2, 0)),
        ],
        "product_code STRING, gtin STRING, province_code STRING, _ingested_at TIMESTAMP",
    )
    items = [
        _event("e1", "commissioning", "2026-11-26T08:00:00.000+07:00"),
        _event(
            "e2",
            "urn:epcglobal:cbv:bizstep:shipping",
            "2026-11-26T10:00:00.000+07:00",
            epcList=["urn:epc:id:sgtin:8935000.012345.1", "urn:epc:id:sgtin:8935000.012345.2"],
        ),
        _event("e3", "receiving", "2026-11-26T09:30:00+07:00"),  # received before shipped: out of order
        _event("e4", "retail_selling", None),  # no eventTime
        _event("e5", "commissioning", "2026-11-26T08:00:00.000+07:00", lot="L2", gtin_item="099999"),  # unknown GTIN
        _event("e6", "commissioning", "2026-11-26T01:00:00Z", lot="L3"),
    ]
    typed = traceability_to_silver(
        _json_bronze(spark, items, TRACEABILITY_EVENT.source), {"ocop_product": products}, interval=INTERVAL
    )
    return apply_row_rules(typed, TRACEABILITY_EVENT).cache()


def test_traceability_to_silver(events: DataFrame) -> None:
    collected = events.collect()
    assert len(collected) == 6  # one row per event, though the registry lists the GTIN twice
    rows = {r["event_id"]: r for r in collected}
    e1 = rows["e1"]
    # 8935000 + 12345 -> body 893500012345, check digit 4 (see test_gtin_check_digit); GTIN-14 in silver
    assert (e1["gtin"], e1["lot_number"], e1["product_code"], e1["biz_step"], e1["action"]) == (
        "08935000123454",
        "L1",
        "OCOP-1",
        "commissioning",
        "ADD",
    )
    assert e1["event_time"] == datetime(2026, 11, 26, 1, 0) and e1["event_date"] == date(
        2026, 11, 26
    )  # 08:00+07 = 01:00 UTC
    assert (e1["disposition"], e1["read_point"], e1["quantity"], e1["uom"], e1["epc_count"]) == (
        "in_transit",
        "urn:epc:id:sgln:8935000.00001.0",
        10.0,
        "KGM",
        0,
    )
    assert (rows["e2"]["biz_step"], rows["e2"]["epc_count"]) == ("shipping", 2)
    assert rows["e4"]["_reject_reason"] == "MISSING_EVENT_TIME"
    assert rows["e5"]["_reject_reason"] == "UNKNOWN_PRODUCT"
    assert rows["e6"]["event_time"] == datetime(2026, 11, 26, 1, 0) and rows["e6"]["_reject_reason"] is None


def test_traceability_completeness(spark: SparkSession, events: DataFrame) -> None:
    good = events.where("_reject_reason IS NULL")
    products = spark.createDataFrame(
        [("OCOP-1", "8935000123454", "01")], "product_code STRING, gtin STRING, province_code STRING"
    )
    out = {
        r["lot_number"]: r
        for r in traceability_completeness({"traceability_event": good, "ocop_product": products}, []).collect()
    }
    # L1: commissioning, shipping, receiving present (retail_selling quarantined) -> 3/4;
    # receiving 09:30 is before shipping 10:00 -> not in order
    l1 = out["L1"]
    assert (l1["steps_present"], l1["completeness"], l1["steps_in_order"], l1["has_retail_selling"], l1["events"]) == (
        3,
        0.75,
        False,
        False,
        3,
    )
    assert l1["province_code"] == "01"
    assert (out["L3"]["steps_present"], out["L3"]["completeness"], out["L3"]["steps_in_order"]) == (1, 0.25, True)


def test_crop_production_sums_legacy_units(spark: SparkSession) -> None:
    stats = spark.createDataFrame(
        [
            # Ninh Bình 2024 Mùa = Hà Nam + Nam Định + Ninh Bình (legacy units):
            # area 100 + 200 + 300 = 600 ha, production 500 + 1100 + 1800 = 3400 t
            ("37", "Hà Nam", "LUA", "MUA", 2024, 100.0, 50.0, 500.0, False),
            ("37", "Nam Định", "LUA", "MUA", 2024, 200.0, 55.0, 1100.0, False),
            ("37", "Ninh Bình", "LUA", "MUA", 2024, 300.0, 60.0, 1800.0, True),
            ("37", "Ninh Bình", "LUA", "MUA", 2026, 700.0, 60.0, 4200.0, False),
        ],
        "province_code STRING, reporting_unit_name STRING, crop_code STRING, season_code STRING, year INT, "
        "planted_area_ha DOUBLE, yield_ta_ha DOUBLE, production_t DOUBLE, preliminary BOOLEAN",
    )
    out = {r["year"]: r for r in crop_production({"crop_stats": stats}, []).collect()}
    r = out[2024]
    # yield = 3400 × 10 / 600 = 56.67 tạ/ha (from the sums, not the mean of 50, 55, 60)
    assert (
        r["province_name"],
        r["planted_area_ha"],
        r["production_t"],
        r["yield_ta_ha"],
        r["reporting_units"],
        r["preliminary"],
    ) == ("Ninh Bình", 600.0, 3400.0, 56.67, 3, True)
    assert (out[2026]["reporting_units"], out[2026]["yield_ta_ha"]) == (1, 60.0)


def test_ocop_by_province(spark: SparkSession) -> None:
    products = spark.createDataFrame(
        [("37", 4, "THUC_PHAM", 70), ("37", 4, "THUC_PHAM", 80), ("37", 3, "THUC_PHAM", 60), ("01", 4, "DO_UONG", 88)],
        "province_code STRING, stars INT, product_group STRING, score INT",
    )
    out = {
        (r["province_code"], r["stars"], r["product_group"]): (r["products"], r["mean_score"])
        for r in ocop_by_province({"ocop_product": products}, []).collect()
    }
    assert out == {
        ("37", 4, "THUC_PHAM"): (2, 75.0),
        ("37", 3, "THUC_PHAM"): (1, 60.0),
        ("01", 4, "DO_UONG"): (1, 88.0),
    }


def test_registry_sources_declare_json_paths() -> None:
    assert OCOP_PRODUCT.source is not None and OCOP_PRODUCT.source.format == "jsonl"
    assert TRACEABILITY_EVENT.source is not None and TRACEABILITY_EVENT.source.json_path("event_time") == "$.eventTime"
