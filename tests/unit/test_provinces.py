"""Tests for jobs.provinces: the library tables against docs/domain.md, code and name conforming."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import pytest

import jobs.provinces as provinces
from jobs.provinces import (
    LEGACY_TO_2025,
    PROVINCES_2025,
    PROVINCES_LEGACY,
    REFORM_DATE,
    conform_province_code,
    conform_province_name,
    legacy_code_to_2025_pairs,
)
from jobs.text import fold_key

BEFORE = datetime.date(2025, 6, 30)
AFTER = datetime.date(2025, 7, 1)

# Retyped from the 2025 code list and merger table as given in docs/domain.md, "Administrative units".
DOMAIN_2025 = (
    "01 Hà Nội, 04 Cao Bằng, 08 Tuyên Quang, 11 Điện Biên, 12 Lai Châu, 14 Sơn La, "
    "15 Lào Cai, 19 Thái Nguyên, 20 Lạng Sơn, 22 Quảng Ninh, 24 Bắc Ninh, 25 Phú Thọ, 31 Hải Phòng, "
    "33 Hưng Yên, 37 Ninh Bình, 38 Thanh Hóa, 40 Nghệ An, 42 Hà Tĩnh, 44 Quảng Trị, 46 Huế, "
    "48 Đà Nẵng, 51 Quảng Ngãi, 52 Gia Lai, 56 Khánh Hòa, 66 Đắk Lắk, 68 Lâm Đồng, 75 Đồng Nai, "
    "79 TP Hồ Chí Minh, 80 Tây Ninh, 82 Đồng Tháp, 86 Vĩnh Long, 91 An Giang, 92 Cần Thơ, 96 Cà Mau"
)
DOMAIN_OLD_TO_NEW = (
    "08←02,08; 15←10,15; 19←06,19; 24←24,27; 25←17,25,26; 31←30,31; 33←33,34; 37←35,36,37; 44←44,45; "
    "48←48,49; 51←51,62; 52←52,64; 56←56,58; 66←54,66; 68←60,67,68; 75←70,75; 79←74,77,79; 80←72,80; "
    "82←82,87; 86←83,84,86; 91←89,91; 92←92,93,94; 96←95,96"
)
DOMAIN_UNCHANGED = "01,04,11,12,14,20,22,38,40,42,46"
# Standard GSO codes of the 63 pre-reform provinces (as given with the task).
GSO_63 = (
    "01 Hà Nội, 02 Hà Giang, 04 Cao Bằng, 06 Bắc Kạn, 08 Tuyên Quang, 10 Lào Cai, 11 Điện Biên, "
    "12 Lai Châu, 14 Sơn La, 15 Yên Bái, 17 Hòa Bình, 19 Thái Nguyên, 20 Lạng Sơn, 22 Quảng Ninh, "
    "24 Bắc Giang, 25 Phú Thọ, 26 Vĩnh Phúc, 27 Bắc Ninh, 30 Hải Dương, 31 Hải Phòng, 33 Hưng Yên, "
    "34 Thái Bình, 35 Hà Nam, 36 Nam Định, 37 Ninh Bình, 38 Thanh Hóa, 40 Nghệ An, 42 Hà Tĩnh, "
    "44 Quảng Bình, 45 Quảng Trị, 46 Thừa Thiên Huế, 48 Đà Nẵng, 49 Quảng Nam, 51 Quảng Ngãi, "
    "52 Bình Định, 54 Phú Yên, 56 Khánh Hòa, 58 Ninh Thuận, 60 Bình Thuận, 62 Kon Tum, 64 Gia Lai, "
    "66 Đắk Lắk, 67 Đắk Nông, 68 Lâm Đồng, 70 Bình Phước, 72 Tây Ninh, 74 Bình Dương, 75 Đồng Nai, "
    "77 Bà Rịa - Vũng Tàu, 79 TP Hồ Chí Minh, 80 Long An, 82 Tiền Giang, 83 Bến Tre, 84 Trà Vinh, "
    "86 Vĩnh Long, 87 Đồng Tháp, 89 An Giang, 91 Kiên Giang, 92 Cần Thơ, 93 Hậu Giang, 94 Sóc Trăng, "
    "95 Bạc Liêu, 96 Cà Mau"
)


def _code_names(text: str) -> dict[str, str]:
    return {item.split(" ", 1)[0]: item.split(" ", 1)[1] for item in text.split(", ")}


def _old_to_new() -> dict[str, str]:
    mapping = {code: code for code in DOMAIN_UNCHANGED.split(",")}
    for row in DOMAIN_OLD_TO_NEW.split("; "):
        new, olds = row.split("←")
        mapping.update({old: new for old in olds.split(",")})
    return mapping


# --- the tables, cross-checked against docs/domain.md ------------------------------------------


def test_reform_date() -> None:
    assert datetime.date(2025, 7, 1) == REFORM_DATE


def test_provinces_2025_match_domain_md() -> None:
    assert len(PROVINCES_2025) == 34
    assert _code_names(DOMAIN_2025) == PROVINCES_2025


def test_legacy_provinces_match_the_gso_list() -> None:
    assert len(PROVINCES_LEGACY) == 63
    assert _code_names(GSO_63) == PROVINCES_LEGACY


def test_legacy_to_2025_matches_every_domain_md_row() -> None:
    expected = _old_to_new()
    assert len(expected) == 63
    assert expected == LEGACY_TO_2025
    assert set(LEGACY_TO_2025) == set(PROVINCES_LEGACY)
    assert set(LEGACY_TO_2025.values()) == set(PROVINCES_2025)


def test_every_2025_code_is_a_legacy_code_that_maps_to_itself() -> None:
    # Why one Spark map literal serves records of both eras.
    for code in PROVINCES_2025:
        assert LEGACY_TO_2025[code] == code


def test_legacy_code_to_2025_pairs_is_sorted_mapping() -> None:
    pairs = legacy_code_to_2025_pairs()
    assert pairs == sorted(pairs)
    assert len(pairs) == 63
    assert pairs[:3] == [("01", "01"), ("02", "08"), ("04", "04")]
    assert ("27", "24") in pairs and ("72", "80") in pairs
    assert dict(pairs) == _old_to_new()


def test_tables_are_copies_callers_cannot_corrupt() -> None:
    table = provinces.PROVINCES_2025
    table["99"] = "Nowhere"
    del table["01"]
    assert "99" not in provinces.PROVINCES_2025
    assert provinces.PROVINCES_2025["01"] == "Hà Nội"
    assert conform_province_code("01", AFTER) == "01"


def test_lazy_tables_are_listed_and_unknown_attributes_raise() -> None:
    assert {"PROVINCES_2025", "PROVINCES_LEGACY", "LEGACY_TO_2025"} <= set(dir(provinces))
    with pytest.raises(AttributeError):
        _ = provinces.NO_SUCH_TABLE  # type: ignore[attr-defined]


def test_import_does_not_load_the_library() -> None:
    code = (
        "import sys, jobs.provinces as p\n"
        "assert 'vietnamadminunits' not in sys.modules\n"
        "assert p.conform_province_code('27', p.REFORM_DATE) == '24'\n"
        "assert 'vietnamadminunits' in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)


# --- conform_province_code ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "on", "expected"),
    [
        # the reused-code trap (docs/domain.md, "Administrative units"), on both sides of the reform date
        ("24", BEFORE, "24"),  # Bắc Giang, merged into the new Bắc Ninh (24)
        ("24", AFTER, "24"),  # Bắc Ninh
        ("27", BEFORE, "24"),  # old Bắc Ninh
        ("27", AFTER, "24"),  # stale legacy code in a new record
        ("44", BEFORE, "44"),  # Quảng Bình, merged into Quảng Trị (44)
        ("45", BEFORE, "44"),  # old Quảng Trị
        ("44", AFTER, "44"),
        ("45", AFTER, "44"),
        ("80", BEFORE, "80"),  # Long An, merged into Tây Ninh (80)
        ("72", BEFORE, "80"),  # old Tây Ninh
        ("80", AFTER, "80"),
        ("72", AFTER, "80"),
        ("82", BEFORE, "82"),  # Tiền Giang -> Đồng Tháp (82)
        ("87", BEFORE, "82"),  # old Đồng Tháp
        ("91", BEFORE, "91"),  # Kiên Giang -> An Giang (91)
        ("89", BEFORE, "91"),  # old An Giang
        ("15", BEFORE, "15"),  # Yên Bái -> Lào Cai (15)
        ("10", BEFORE, "15"),  # old Lào Cai
        ("52", BEFORE, "52"),  # Bình Định -> Gia Lai (52)
        ("64", AFTER, "52"),  # old Gia Lai
        ("02", BEFORE, "08"),
        ("02", AFTER, "08"),
        ("79", AFTER, "79"),
        ("77", BEFORE, "79"),
        ("46", BEFORE, "46"),
        # normalisation of the raw value
        ("1", AFTER, "01"),
        (1, BEFORE, "01"),
        (" 01 ", AFTER, "01"),
        ("001", AFTER, "01"),
        (27, BEFORE, "24"),
        ("8", AFTER, "08"),
        # not a province code in either list
        ("03", BEFORE, None),
        ("03", AFTER, None),
        ("99", AFTER, None),
        ("00", AFTER, None),
        (0, AFTER, None),
        (100, AFTER, None),
        (-1, AFTER, None),
        ("", AFTER, None),
        ("  ", AFTER, None),
        ("1.0", AFTER, "01"),  # a spreadsheet's float export
        ("27.00", BEFORE, "24"),
        ("1.5", AFTER, None),
        ("01a", AFTER, None),
        ("Hà Nội", AFTER, None),
        ("٠١", AFTER, None),  # Arabic-Indic digits are not a GSO code
        (None, AFTER, None),
        (True, AFTER, None),
    ],
)
def test_conform_province_code(code: str | int | None, on: datetime.date, expected: str | None) -> None:
    assert conform_province_code(code, on) == expected


def test_conform_province_code_accepts_datetimes_by_calendar_day() -> None:
    assert conform_province_code("45", datetime.datetime(2025, 6, 30, 23, 59)) == "44"
    assert conform_province_code("24", datetime.datetime(2025, 7, 1, 0, 0)) == "24"


def test_conform_province_code_without_date_only_where_both_readings_agree() -> None:
    assert conform_province_code("27", None) == "24"
    assert conform_province_code("24", None) == "24"
    assert conform_province_code("03", None) is None


def test_the_date_decides_when_a_reused_code_would_map_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    # With today's data both readings of a code always give the same 2025 code; this pins the
    # date logic itself on a hypothetical table where legacy "24" went to another province.
    fake = provinces._Tables(
        provinces_2025={"24": "Bắc Ninh", "25": "Phú Thọ"},
        provinces_legacy={"24": "Bắc Giang", "27": "Bắc Ninh"},
        legacy_to_2025={"24": "25", "27": "24"},
        by_name={},
    )
    monkeypatch.setattr(provinces, "_tables", lambda: fake)
    assert conform_province_code("24", BEFORE) == "25"
    assert conform_province_code("24", AFTER) == "24"
    assert conform_province_code("24", None) is None  # ambiguous without a date
    assert conform_province_code("27", BEFORE) == "24"
    assert conform_province_code("27", AFTER) == "24"
    assert conform_province_code("25", BEFORE) is None  # not a legacy code in this table
    assert conform_province_code("25", AFTER) == "25"


def test_every_legacy_code_conforms_on_both_sides_of_the_reform() -> None:
    expected = _old_to_new()
    for old, new in expected.items():
        assert conform_province_code(old, BEFORE) == new
        assert conform_province_code(old, AFTER) == new
        assert conform_province_code(int(old), AFTER) == new


# --- conform_province_name ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Hoà Bình", "25"),
        ("Hòa Bình", "25"),
        ("Tỉnh Hoà Bình", "25"),
        ("Thanh Hoá", "38"),
        ("Khánh Hoà", "56"),
        ("Thành Phố Hồ Chí Minh", "79"),
        ("Thành phố Hồ Chí Minh", "79"),
        ("TP. Hồ Chí Minh", "79"),
        ("TP Hồ Chí Minh", "79"),
        ("TP HCM", "79"),
        ("TP.HCM", "79"),
        ("Ho Chi Minh City", "79"),
        ("Hồ Chí Minh", "79"),
        ("Sài Gòn", "79"),
        ("Bà Rịa - Vũng Tàu", "79"),
        ("Ba Ria - Vung Tau", "79"),
        ("Bà Rịa–Vũng Tàu", "79"),
        ("Bình Dương", "79"),
        ("Bắc Cạn", "19"),
        ("Bắc Kạn", "19"),
        ("Bac Kan", "19"),
        ("Thừa Thiên Huế", "46"),
        ("Thừa Thiên - Huế", "46"),
        ("Huế", "46"),
        ("Thành phố Huế", "46"),
        ("Hà Nội", "01"),
        ("Hanoi", "01"),
        ("HÀ NỘI", "01"),
        ("  hà   nội ", "01"),
        ("Hà Tây", "01"),
        ("Bắc Giang", "24"),
        ("Bắc Ninh", "24"),
        ("Quảng Bình", "44"),
        ("Quảng Trị", "44"),
        ("Long An", "80"),
        ("Tây Ninh", "80"),
        ("Tiền Giang", "82"),
        ("Kiên Giang", "91"),
        ("Yên Bái", "15"),
        ("Bình Định", "52"),
        ("Đắk Lắk", "66"),
        ("Dak Lak", "66"),
        ("Đắc Lắc", "66"),
        ("Đắk Nông", "68"),
        ("Tỉnh Quảng Nam", "48"),
        ("Quang Nam Province", "48"),
        ("Hau Giang", "92"),
        ("Nowhere", None),
        ("Hà", None),
        ("", None),
        (None, None),
    ],
)
def test_conform_province_name(name: str | None, expected: str | None) -> None:
    assert conform_province_name(name, BEFORE) == expected
    assert conform_province_name(name, AFTER) == expected


def test_every_legacy_and_2025_name_conforms_with_and_without_diacritics() -> None:
    expected = _old_to_new()
    for old, name in _code_names(GSO_63).items():
        for variant in (name, fold_key(name), name.upper()):
            assert conform_province_name(variant, BEFORE) == expected[old], variant
    for code, name in _code_names(DOMAIN_2025).items():
        for variant in (name, fold_key(name), f"Tỉnh {name}"):
            assert conform_province_name(variant, AFTER) == code, variant
