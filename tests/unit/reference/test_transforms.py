"""Reference transforms on the libraries' real exports: exact 34 / 63 / 63 / 3,321 rows, the known
pairs of docs/domain.md ("Administrative units"), and the row rules that quarantine a disagreeing or
dangling row.

Expected values are retyped from the code list and merger table as given in docs/domain.md,
"Administrative units", not computed from the libraries under test.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from jobs.interval import DataInterval
from jobs.provinces import conform_province_code, conform_province_name, name_key, name_keys_to_2025_code
from jobs.reference import exports, transforms
from jobs.reference.dimension import with_province_known
from jobs.registry import REGISTRY
from jobs.silver import mark_exact_duplicates, split_batch
from jobs.text import to_tcvn3_mojibake
from tests.unit.conftest import BronzeBuilder

INTERVAL = DataInterval.for_local_day(date(2026, 11, 26))
CITIES = {"01", "31", "46", "48", "79", "92"}  # docs/domain.md, "Administrative units": 6 cities
REUSED = {"15", "24", "44", "52", "80", "82", "91"}  # docs/domain.md, "Administrative units"


def _lines(table: exports.LibraryTable) -> list[str]:
    """The export's data lines as the library channel writes them (csv module, "\n"; header dropped)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(table.rows)
    return buffer.getvalue().splitlines()


def _judge(name: str, bronze: DataFrame, inputs: dict[str, DataFrame]) -> DataFrame:
    """Run the dataset's transform and the silver layer's row rules (outcome per line)."""
    dataset = REGISTRY[name]
    typed = dataset.load_transform()(mark_exact_duplicates(bronze), inputs, interval=INTERVAL)
    return split_batch(typed, dataset).cache()


def _columns(name: str) -> tuple[str, ...]:
    source = REGISTRY[name].source
    assert source is not None
    return source.columns


def _silver(judged: DataFrame, name: str) -> dict[str, dict[str, Any]]:
    key = REGISTRY[name].natural_key[0]
    return {r[key]: r.asDict() for r in judged.where("_outcome = 'silver'").collect()}


@pytest.fixture(scope="module")
def province(bronze_from_lines: BronzeBuilder) -> DataFrame:
    return _judge("province", bronze_from_lines(_lines(exports.provinces_2025()), _columns("province")), {})


@pytest.fixture(scope="module")
def legacy(bronze_from_lines: BronzeBuilder) -> DataFrame:
    return _judge(
        "province_legacy", bronze_from_lines(_lines(exports.provinces_legacy()), _columns("province_legacy")), {}
    )


def _silver_frame(judged: DataFrame, name: str) -> DataFrame:
    return judged.where("_outcome = 'silver'").select(*REGISTRY[name].column_names)


@pytest.fixture(scope="module")
def mapping(bronze_from_lines: BronzeBuilder, province: DataFrame, legacy: DataFrame) -> DataFrame:
    inputs = {
        "province": _silver_frame(province, "province"),
        "province_legacy": _silver_frame(legacy, "province_legacy"),
    }
    lines = _lines(exports.province_mapping())
    return _judge("province_mapping", bronze_from_lines(lines, _columns("province_mapping")), inputs)


def test_province_34_units_all_accepted(province: DataFrame) -> None:
    rows = _silver(province, "province")
    assert province.count() == len(rows) == 34
    assert rows["01"]["province_name"] == "Hà Nội"
    assert rows["01"]["province_full_name"] == "Thành phố Hà Nội"
    assert rows["01"]["ascii_name"] == "Ha Noi"
    assert rows["04"]["province_full_name"] == "Tỉnh Cao Bằng"  # the library omits "Tỉnh": silver adds it
    assert rows["79"]["ascii_name"] == "Ho Chi Minh"
    assert rows["66"]["ascii_name"] == "Dak Lak"
    assert rows["24"]["province_name"] == "Bắc Ninh"
    assert rows["44"]["province_name"] == "Quảng Trị"
    assert {c for c, r in rows.items() if r["division_type"] == "city"} == CITIES
    assert {r["division_type"] for r in rows.values()} == {"city", "province"}
    assert {r["valid_from"] for r in rows.values()} == {date(2025, 7, 1)}
    assert {r["valid_to"] for r in rows.values()} == {None}
    assert rows["01"]["phone_code"] == 24
    # Cross-checked by name in vietnamadminunits' tables: every name resolves to its own code.
    assert all(r["_name_matches_gso"] for r in rows.values())


def test_legacy_63_units(legacy: DataFrame) -> None:
    rows = _silver(legacy, "province_legacy")
    assert legacy.count() == len(rows) == 63
    assert (rows["24"]["province_name"], rows["27"]["province_name"]) == ("Bắc Giang", "Bắc Ninh")
    assert (rows["44"]["province_name"], rows["45"]["province_name"]) == ("Quảng Bình", "Quảng Trị")
    assert rows["77"]["ascii_name"] == "Ba Ria - Vung Tau"
    assert rows["01"]["division_type"] == "city" and rows["02"]["division_type"] == "province"
    assert {(r["valid_from"], r["valid_to"]) for r in rows.values()} == {(date(2008, 8, 1), date(2025, 6, 30))}


def test_mapping_63_rows_with_the_known_pairs(mapping: DataFrame) -> None:
    rows = _silver(mapping, "province_mapping")
    assert mapping.count() == len(rows) == 63

    def pair(code: str) -> tuple[str, str, str, bool]:
        r = rows[code]
        return r["legacy_name"], r["province_code"], r["province_name"], r["code_reused"]

    assert pair("24") == ("Bắc Giang", "24", "Bắc Ninh", True)
    assert pair("27") == ("Bắc Ninh", "24", "Bắc Ninh", False)
    assert pair("44") == ("Quảng Bình", "44", "Quảng Trị", True)
    assert pair("01") == ("Hà Nội", "01", "Hà Nội", False)
    assert pair("46")[1:] == ("46", "Huế", False)  # renamed, not reused: nothing else merged into it
    assert {c for c, r in rows.items() if r["code_reused"]} == REUSED
    assert {r["valid_to"] for r in rows.values()} == {date(2025, 6, 30)}
    assert len({r["province_code"] for r in rows.values()}) == 34


def test_name_variants_resolve_to_2025_codes() -> None:
    """Hà Tây (merged into Hà Nội in 2008) and spelling variants reach the dimension's codes."""
    assert conform_province_name("Hà Tây", date(2007, 1, 1)) == "01"
    assert conform_province_name("TP HCM", None) == "79"
    assert conform_province_name("Bắc Cạn", None) == "19"  # legacy 06 Bắc Kạn -> 19 Thái Nguyên
    assert name_keys_to_2025_code()[name_key("Hà Tây")] == "01"
    # The same code means different provinces on either side of the reform.
    assert conform_province_code("24", date(2025, 6, 30)) == "24"
    assert conform_province_code("27", date(2025, 6, 30)) == "24"


def test_spark_name_key_matches_python(spark: SparkSession) -> None:
    from pyspark.sql import functions as F

    names = ["Thành phố Hồ Chí Minh", "Hà Tây", "Bà Rịa - Vũng Tàu", "Đắk Lắk", "Khánh Hoà"]
    df = spark.createDataFrame([(n,) for n in names], "n STRING")
    got = [r[0] for r in df.select(transforms.name_key(F.col("n"))).collect()]
    assert got == [name_key(n) for n in names] == ["hochiminh", "hatay", "bariavungtau", "daklak", "khanhhoa"]


def _reasons(judged: DataFrame, key: str) -> dict[Any, str | None]:
    return {r["_source_line"]: r["_reject_reason"] for r in judged.select("_source_line", "_reject_reason").collect()}


def test_province_row_rules_catch_mess(bronze_from_lines: BronzeBuilder) -> None:
    lines: Sequence[str] = [
        f"1,{to_tcvn3_mojibake('Thành phố Hà Nội')},thành phố trung ương,ha_noi,24",  # repaired, padded
        "24,Bắc Giang,tỉnh,bac_giang,204",  # a legacy name under a 2025 code: the libraries disagree
        "abc,Cao Bằng,tỉnh,cao_bang,206",  # not a code
        "4,Cao Bằng,huyện,cao_bang,206",  # not a provincial type
    ]
    judged = _judge("province", bronze_from_lines(lines, _columns("province")), {})
    assert _reasons(judged, "province_code") == {
        2: None,
        3: "NAME_DISAGREES_WITH_GSO",
        4: "INVALID_CODE",
        5: "UNKNOWN_DIVISION_TYPE",
    }
    ok = _silver(judged, "province")["01"]
    assert (ok["province_name"], ok["ascii_name"]) == ("Hà Nội", "Ha Noi")


def test_mapping_and_commune_check_the_dimension(
    bronze_from_lines: BronzeBuilder, province: DataFrame, legacy: DataFrame
) -> None:
    inputs = {
        "province": _silver_frame(province, "province"),
        "province_legacy": _silver_frame(legacy, "province_legacy"),
    }
    mapping = _judge(
        "province_mapping",
        bronze_from_lines(["27,24", "03,01", "27,27"], _columns("province_mapping")),
        inputs,
    )
    # 03 was never a province code; 27 is not a 2025 code (Bắc Ninh took 24).
    assert _reasons(mapping, "legacy_code") == {2: None, 3: "UNKNOWN_LEGACY_CODE", 4: "UNMAPPABLE_PROVINCE"}
    communes = _judge(
        "commune",
        bronze_from_lines(
            ["70,Phường Hoàn Kiếm,phường,phuong_hoan_kiem,1", "7,Xã X,xã,xa_x,27", "8,Xã Y,thôn,xa_y,1"],
            _columns("commune"),
        ),
        {"province": _silver_frame(province, "province")},
    )
    assert _reasons(communes, "commune_code") == {2: None, 3: "UNMAPPABLE_PROVINCE", 4: "UNKNOWN_DIVISION_TYPE"}
    ok = _silver(communes, "commune")["00070"]
    assert (ok["province_code"], ok["division_type"], ok["ascii_name"]) == ("01", "ward", "Phuong Hoan Kiem")


def test_communes_3321_all_accepted(bronze_from_lines: BronzeBuilder, province: DataFrame) -> None:
    judged = _judge(
        "commune",
        bronze_from_lines(_lines(exports.communes_2025()), _columns("commune")),
        {"province": _silver_frame(province, "province")},
    )
    counts = {r["_outcome"]: r["count"] for r in judged.groupBy("_outcome").count().collect()}
    assert counts == {"silver": 3321}


def test_with_province_known_flags_codes_missing_from_the_dimension(spark: SparkSession) -> None:
    dim = spark.createDataFrame(
        [("01", None), ("24", None), ("27", date(2025, 6, 30))], "province_code STRING, valid_to DATE"
    )
    rows = spark.createDataFrame(
        [("r1", "01"), ("r2", "27"), ("r3", None), ("r4", "99")], "id STRING, province_code STRING"
    )
    got = {r["id"]: r["_province_known"] for r in with_province_known(rows, dim).collect()}
    assert got == {"r1": True, "r2": False, "r3": False, "r4": False}
