"""Spark column helpers of jobs.conform: provinces by date, text repair, event time, units, numbers.

Each helper is evaluated over a small literal DataFrame in one action per concern, and the
expected values are written out by hand.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import conform
from jobs.provinces import conform_province_code
from jobs.text import to_tcvn3_mojibake, to_vni_mojibake

# --- province_code_2025 ------------------------------------------------------------------------

# (raw code, record date, expected 2025 code). The reform splits the eras on 2025-07-01.
PROVINCE_CASES = [
    ("27", date(2025, 6, 30), "24"),  # Bắc Ninh (old 27) merged into Bắc Ninh (new 24)
    ("27", date(2026, 1, 1), "24"),  # stale legacy code after the reform is still mapped
    ("24", date(2025, 6, 30), "24"),  # old 24 = Bắc Giang, now part of Bắc Ninh (24)
    ("24", date(2025, 7, 1), "24"),  # from the reform day, 24 is read as the 2025 Bắc Ninh
    ("45", date(2024, 3, 1), "44"),  # Quảng Trị (old 45) -> Quảng Trị (44)
    ("45", date(2026, 1, 1), "44"),
    ("44", date(2025, 6, 30), "44"),  # old 44 = Quảng Bình, merged into Quảng Trị 44
    ("72", date(2024, 1, 1), "80"),  # Tây Ninh (old 72) -> Tây Ninh (80)
    ("80", date(2025, 6, 30), "80"),  # old 80 = Long An, merged into Tây Ninh 80
    ("02", date(2026, 1, 1), "08"),  # Hà Giang -> Tuyên Quang
    ("1", date(2026, 1, 1), "01"),  # missing leading zero
    (" 79 ", date(2026, 1, 1), "79"),  # whitespace
    ("01.0", date(2026, 1, 1), "01"),  # spreadsheet float export
    ("24", None, "24"),  # undated: the two readings of 24 differ in meaning but agree on the result ...
    ("27", None, "24"),
    ("03", None, None),  # ... and a code neither era knows is refused
    ("99", date(2026, 1, 1), None),  # no such province
    ("ab", date(2026, 1, 1), None),
    (None, date(2026, 1, 1), None),
]


@pytest.fixture(scope="module")
def provinces(spark: SparkSession) -> list[str | None]:
    df = spark.createDataFrame([(i, c, d) for i, (c, d, _) in enumerate(PROVINCE_CASES)], "i INT, code STRING, d DATE")
    out = df.select("i", conform.province_code_2025(F.col("code"), F.col("d")).alias("p")).orderBy("i")
    return [r["p"] for r in out.collect()]


@pytest.mark.parametrize(
    ("i", "case"), list(enumerate(PROVINCE_CASES)), ids=[f"{c!r}@{d}" for c, d, _ in PROVINCE_CASES]
)
def test_province_code_2025(provinces: list[str | None], i: int, case: tuple[str | None, date, str | None]) -> None:
    code, on, expected = case
    assert provinces[i] == expected
    assert conform_province_code(code, on) == expected


def test_spark_and_python_conform_every_code_alike(spark: SparkSession) -> None:
    """One rule: every raw code 0–120 in several spellings, on both sides of the reform and undated."""
    raws = [f"{n}" for n in range(121)] + [f"{n:02d}" for n in range(10)] + [f"{n:03d}" for n in range(10)]
    raws += [f"{n}.0" for n in range(0, 100, 7)] + [f" {n} " for n in (1, 24, 91)] + [f"\t{n}" for n in (4, 44)]
    raws += ["", " ", "1.5", "-1", "+1", "1e1", "0x1", "٠١", "２４", "24a", "2 4", "24\n"]
    dates = [date(2025, 6, 30), date(2025, 7, 1), None]
    cases = [(raw, on) for raw in raws for on in dates]
    df = spark.createDataFrame(cases, "code STRING, d DATE")
    got = [r[0] for r in df.select(conform.province_code_2025(F.col("code"), F.col("d"))).collect()]
    want = [conform_province_code(raw, on) for raw, on in cases]
    differ = [(case, g, w) for case, g, w in zip(cases, got, want, strict=True) if g != w]
    assert not differ, differ[:10]
    assert sum(w is not None for w in want) > 150  # the grid really exercises the mapping


@pytest.mark.parametrize(
    ("code", "before", "after"),
    # The seven codes that name another province since 2025-07-01 (docs/domain.md, "Administrative
    # units"): before the reform each is read as its old province, mapped to the province it merged
    # into; the 2025 code itself stays. Typed from the reform's list, not computed.
    [("15", "15", "15"), ("24", "24", "24"), ("44", "44", "44"), ("52", "52", "52"),
     ("80", "80", "80"), ("82", "82", "82"), ("91", "91", "91"),
     # their old owners' partners: old Lào Cai 10, old Bắc Ninh 27, old Quảng Trị 45, old Gia Lai 64,
     # old Tây Ninh 72, old Đồng Tháp 87, old An Giang 89 — legacy codes mapped on both sides
     ("10", "15", "15"), ("27", "24", "24"), ("45", "44", "44"), ("64", "52", "52"),
     ("72", "80", "80"), ("87", "82", "82"), ("89", "91", "91")],
)  # fmt: skip
def test_reused_codes_spark_and_python(spark: SparkSession, code: str, before: str, after: str) -> None:
    days = [date(2025, 6, 30), date(2025, 7, 1)]
    df = spark.createDataFrame([(code, d) for d in days], "code STRING, d DATE")
    got = [r[0] for r in df.select(conform.province_code_2025(F.col("code"), F.col("d"))).collect()]
    assert got == [conform_province_code(code, d) for d in days] == [before, after]


def test_province_code_2025_does_not_truncate_long_codes(spark: SparkSession) -> None:
    cases = [("123", None), ("240", None), ("001", "01")]
    df = spark.createDataFrame([(c, date(2026, 1, 1)) for c, _ in cases], "code STRING, d DATE")
    got = [r[0] for r in df.select(conform.province_code_2025(F.col("code"), F.col("d"))).collect()]
    assert got == [conform_province_code(c, date(2026, 1, 1)) for c, _ in cases] == [e for _, e in cases]


# --- repaired_text / text_is_nfc -----------------------------------------------------------------

NAMES = ["Trạm quan trắc Nguyễn Văn Cừ", "Khu công nghiệp Thăng Long", "Xin chào các bạn"]


def test_repaired_text_turns_nfd_tcvn3_and_vni_into_nfc(spark: SparkSession) -> None:
    rows = []
    for i, name in enumerate(NAMES):
        nfd = unicodedata.normalize("NFD", name)
        assert nfd != name  # the inputs really are broken
        rows += [
            (f"{i}-nfc", name),
            (f"{i}-nfd", nfd),
            (f"{i}-tcvn3", to_tcvn3_mojibake(name)),
            (f"{i}-vni", to_vni_mojibake(name)),
            (f"{i}-nfc-again", name),
        ]
    rows.append(("null", None))

    rows.append(("undecidable", "Ströñ"))  # legacy signatures, yet neither decoding gives Vietnamese
    df = spark.createDataFrame(rows, "id STRING, name STRING")

    out = conform.repaired_text(df, "name")

    # the helper columns are dropped, the column keeps its place; the flag names the column it judged
    assert out.columns == ["id", "name", conform.UNDECIDABLE_TEXT]
    flagged = {r["id"]: r[conform.UNDECIDABLE_TEXT] for r in out.collect() if r[conform.UNDECIDABLE_TEXT]}
    assert flagged == {"undecidable": "name"}
    out = out.where(out["id"] != "undecidable")
    got = {r["id"]: r["name"] for r in out.collect()}
    assert len(got) == len(rows) - 1  # the distinct-value join neither drops nor multiplies rows
    kinds = ("nfc", "nfd", "tcvn3", "vni", "nfc-again")
    expected = {f"{i}-{kind}": name for i, name in enumerate(NAMES) for kind in kinds}
    assert got == {**expected, "null": None}
    assert all(unicodedata.is_normalized("NFC", v) for v in got.values() if v is not None)


def test_text_is_nfc_flags_rows_with_any_non_nfc_column(spark: SparkSession) -> None:
    nfd = unicodedata.normalize("NFD", NAMES[0])
    df = spark.createDataFrame(
        [(1, NAMES[0], NAMES[1]), (2, nfd, NAMES[1]), (3, NAMES[0], nfd), (4, None, NAMES[1])],
        "id INT, a STRING, b STRING",
    )
    out = conform.text_is_nfc(df, ["a", "b"])
    assert out.columns == ["id", "a", "b", "_text_is_nfc"]
    assert sorted((r["id"], r["_text_is_nfc"]) for r in out.collect()) == [(1, True), (2, False), (3, False), (4, True)]


# --- parse_event_time / local_date ---------------------------------------------------------------


def test_parse_event_time_and_local_date(spark: SparkSession) -> None:
    raws = [
        "2026-11-26T13:00:00+07:00",  # ISO with offset: 13:00 in UTC+7 is 06:00 UTC
        "26/11/2026 13:00",  # local Vietnam time without offset: also 06:00 UTC
        " 26/11/2026 13:00 ",  # surrounding blanks are trimmed
        "2026-11-26T06:00:00+00:00",  # already UTC
        "2026-11-25T17:30:00Z",  # 17:30 UTC = 00:30 on the 26th in Vietnam (crosses midnight)
        "2026-11-26T00:30:00+07:00",  # the same instant, spelled locally
        "garbage",
        "2026-13-40T25:00:00+07:00",  # impossible date
        None,
    ]
    df = spark.createDataFrame(list(enumerate(raws)), "i INT, raw STRING")
    ts, offset = conform.parse_event_time(F.col("raw"))
    out = df.select("i", ts.alias("ts"), offset.alias("off"), conform.local_date(ts).alias("day")).orderBy("i")
    got = [(r["ts"], r["off"], r["day"]) for r in out.collect()]

    # Timestamps come back naive in the session time zone, which the fixture pins to UTC.
    assert got == [
        (datetime(2026, 11, 26, 6, 0), "+07:00", date(2026, 11, 26)),
        (datetime(2026, 11, 26, 6, 0), "+07:00", date(2026, 11, 26)),
        (datetime(2026, 11, 26, 6, 0), "+07:00", date(2026, 11, 26)),
        (datetime(2026, 11, 26, 6, 0), "+00:00", date(2026, 11, 26)),
        (datetime(2026, 11, 25, 17, 30), "Z", date(2026, 11, 26)),
        (datetime(2026, 11, 25, 17, 30), "+07:00", date(2026, 11, 26)),
        (None, None, None),
        (None, None, None),
        (None, None, None),
    ]


def test_local_date_just_before_vietnam_midnight(spark: SparkSession) -> None:
    # 16:59:59 UTC = 23:59:59 in Vietnam (same day); 17:00:00 UTC = 00:00 of the next day.
    instants = [(datetime(2026, 11, 25, 16, 59, 59),), (datetime(2026, 11, 25, 17, 0),)]
    df = spark.createDataFrame(instants, "ts TIMESTAMP")
    got = [r[0] for r in df.select(conform.local_date(F.col("ts"))).collect()]
    assert got == [date(2026, 11, 25), date(2026, 11, 26)]


# --- unit_key / parse_decimal --------------------------------------------------------------------


def test_unit_key_unifies_spellings(spark: SparkSession) -> None:
    raws = [
        "\u00b5g/Nm\u00b3",  # micro sign + superscript three (the canonical spelling)
        "\u03bcg/Nm\u00b3",  # Greek mu
        "\u03bcg/Nm3",
        "ug/Nm3",
        "mg/Nm\u00b3",
        " MG / NM3 ",  # blanks and case
        "m\u00b2",
        None,
    ]
    df = spark.createDataFrame(list(enumerate(raws)), "i INT, raw STRING")
    got = [r[0] for r in df.select(conform.unit_key(F.col("raw"))).orderBy("i").collect()]
    assert got == ["\u00b5g/nm3", "\u00b5g/nm3", "\u00b5g/nm3", "ug/nm3", "mg/nm3", "mg/nm3", "m2", None]


def test_parse_decimal(spark: SparkSession) -> None:
    cases = [
        ("12.5", 12.5),
        ("-3", -3.0),
        ("+2", 2.0),
        (" 7 ", 7.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("N/A", None),
        ("", None),
        ("1,5", None),  # the comma decimal is not guessed
        ("1.2.3", None),
        # non-finite values come out as such (the NON_FINITE_NUMBER rule names them), not as missing
        ("NaN", "nan"),
        ("Infinity", float("inf")),
        ("-inf", float("-inf")),
        ("1e999", float("inf")),  # overflows
        ("NaNa", None),
        (None, None),
    ]
    df = spark.createDataFrame([(i, raw) for i, (raw, _) in enumerate(cases)], "i INT, raw STRING")
    out = df.select("i", conform.parse_decimal(F.col("raw")).alias("v")).orderBy("i")
    assert dict(out.dtypes)["v"] == "double"
    got = ["nan" if isinstance(r["v"], float) and math.isnan(r["v"]) else r["v"] for r in out.collect()]
    assert got == [v for _, v in cases]
