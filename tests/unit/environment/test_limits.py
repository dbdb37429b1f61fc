"""Versioned QCVN limits: values retyped from the regulations' tables as given in docs/domain.md,
dates at the edges of each version."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date
from typing import Any

import pytest
from pyspark.sql import SparkSession

from jobs.environment.limits import (
    AIR_LIMIT_SCHEMA,
    WASTEWATER_LIMIT_SCHEMA,
    air_limit,
    air_limit_row,
    air_limit_rows,
    wastewater_limit,
    wastewater_limit_row,
    wastewater_limit_rows,
)

# QCVN 05:2023/BTNMT Bảng 1 as given in docs/domain.md, "Ambient air limits", µg/Nm³ (None = no limit).
QCVN_05_2023: dict[str, dict[str, int | None]] = {
    "SO2": {"1h": 350, "8h": None, "24h": 125, "year": 50},
    "CO": {"1h": 30000, "8h": 10000, "24h": None, "year": None},
    "NO2": {"1h": 200, "8h": None, "24h": 100, "year": 40},
    "O3": {"1h": 200, "8h": 120, "24h": None, "year": None},
    "TSP": {"1h": 300, "8h": None, "24h": 200, "year": 100},
    "PM10": {"1h": None, "8h": None, "24h": 100, "year": 50},
    "PM2.5": {"1h": None, "8h": None, "24h": 50, "year": 25},
}

# QCVN 40:2011/BTNMT Bảng 1 as given in docs/domain.md, "Wastewater limits": parameter -> {column: (min, max)}.
QCVN_40_2011: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "pH": {"A": (6.0, 9.0), "B": (5.5, 9.0)},
    "BOD5": {"A": (None, 30.0), "B": (None, 50.0)},
    "COD": {"A": (None, 75.0), "B": (None, 150.0)},
    "TSS": {"A": (None, 50.0), "B": (None, 100.0)},
    "NH4_N": {"A": (None, 5.0), "B": (None, 10.0)},
    "TN": {"A": (None, 20.0), "B": (None, 40.0)},
    "TP": {"A": (None, 4.0), "B": (None, 6.0)},
    "coliform": {"A": (None, 3000.0), "B": (None, 5000.0)},
    "temperature": {"A": (None, 40.0), "B": (None, 40.0)},
}


# --- air ---------------------------------------------------------------------------------------


def test_pm25_24h_tightens_on_2026_01_01() -> None:
    assert air_limit("PM2.5", "24h", date(2025, 12, 31)) == 50
    assert air_limit("PM2.5", "24h", date(2026, 1, 1)) == 45
    assert air_limit("PM2.5", "24h", date(2030, 6, 1)) == 45


@pytest.mark.parametrize("on", [date(2023, 9, 12), date(2024, 6, 1), date(2027, 1, 1)])
def test_air_limits_match_qcvn_05_2023(on: date) -> None:
    for parameter, by_period in QCVN_05_2023.items():
        for averaging, expected in by_period.items():
            if parameter == "PM2.5" and averaging == "24h" and on >= date(2026, 1, 1):
                expected = 45
            assert air_limit(parameter, averaging, on) == expected, (parameter, averaging, on)


def test_air_limit_before_qcvn_05_2023_or_unknown_is_none() -> None:
    assert air_limit("PM10", "24h", date(2023, 9, 11)) is None  # QCVN 05:2013 not loaded
    assert air_limit("PM1", "24h", date(2024, 1, 1)) is None
    assert air_limit("PM10", "1h", date(2024, 1, 1)) is None


def test_air_limit_row_carries_source() -> None:
    row = air_limit_row("NO2", "1h", date(2024, 1, 1))
    assert row is not None
    assert row["source"] == "QCVN 05:2023/BTNMT"
    assert row["unit"] == "µg/Nm³"
    assert row["confirmed"] is True


# --- wastewater --------------------------------------------------------------------------------


def test_cod_column_b_scaled_by_kq_and_kf() -> None:
    # 150 mg/L × Kq 0.9 × Kf 1.1 = 148.5 mg/L
    low, high = wastewater_limit("COD", "B", date(2024, 1, 1), kq=0.9, kf=1.1)
    assert low is None
    assert high == pytest.approx(150 * 0.9 * 1.1)
    assert high == pytest.approx(148.5)


def test_ph_has_min_and_max_and_is_not_scaled() -> None:
    assert wastewater_limit("pH", "A", date(2024, 1, 1), kq=0.9, kf=1.1) == (6.0, 9.0)
    assert wastewater_limit("pH", "B", date(2024, 1, 1), kq=0.6, kf=1.2) == (5.5, 9.0)


@pytest.mark.parametrize(("parameter", "expected_max"), [("temperature", 40.0), ("coliform", 5000.0)])
def test_temperature_and_coliform_are_not_scaled(parameter: str, expected_max: float) -> None:
    assert wastewater_limit(parameter, "B", date(2024, 1, 1), kq=0.9, kf=0.9) == (None, expected_max)


@pytest.mark.parametrize("on", [date(2012, 2, 15), date(2025, 8, 31), date(2025, 9, 1), date(2031, 1, 1)])
def test_wastewater_limits_match_qcvn_40_2011_unscaled(on: date) -> None:
    for parameter, by_column in QCVN_40_2011.items():
        for column, expected in by_column.items():
            assert wastewater_limit(parameter, column, on) == expected, (parameter, column, on)


def test_concentration_parameters_are_scaled() -> None:
    # Column A × 1.2 × 1.0: BOD5 30 -> 36, TSS 50 -> 60, NH4_N 5 -> 6, TN 20 -> 24, TP 4 -> 4.8
    on = date(2024, 1, 1)
    scaled = {p: wastewater_limit(p, "A", on, kq=1.2)[1] for p in ("BOD5", "TSS", "NH4_N", "TN", "TP")}
    assert scaled == pytest.approx({"BOD5": 36.0, "TSS": 60.0, "NH4_N": 6.0, "TN": 24.0, "TP": 4.8})


def test_qcvn_40_2011_until_2025_08_31_then_unconfirmed_40_2025() -> None:
    before = wastewater_limit_row("COD", "A", date(2025, 8, 31))
    after = wastewater_limit_row("COD", "A", date(2025, 9, 1))
    assert before is not None and after is not None
    assert before["source"] == "QCVN 40:2011/BTNMT"
    assert before["confirmed"] is True
    assert after["source"] == "QCVN 40:2025/BTNMT (limits unconfirmed; 40:2011 values carried over)"
    assert after["confirmed"] is False
    assert after["max_value"] == before["max_value"] == 75.0  # still evaluates against 40:2011


def test_every_row_after_2025_09_01_is_unconfirmed() -> None:
    on = date(2025, 9, 1)
    current = [
        r for r in wastewater_limit_rows() if r["valid_from"] <= on and (r["valid_to"] is None or on <= r["valid_to"])
    ]
    assert len(current) == 18  # 9 parameters × columns A, B
    assert all(r["confirmed"] is False for r in current)


def test_wastewater_limit_outside_any_version_or_unknown() -> None:
    assert wastewater_limit("COD", "A", date(2012, 2, 14)) == (None, None)
    assert wastewater_limit("COD", "C", date(2024, 1, 1)) == (None, None)
    assert wastewater_limit("color", "A", date(2024, 1, 1)) == (None, None)


@pytest.mark.parametrize(("kq", "kf"), [(0.0, 1.0), (1.0, -1.0)])
def test_wastewater_limit_rejects_non_positive_factors(kq: float, kf: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        wastewater_limit("COD", "B", date(2024, 1, 1), kq=kq, kf=kf)


# --- the tables as data ------------------------------------------------------------------------


def _assert_no_overlap(rows: list[dict[str, Any]], key: tuple[str, ...]) -> None:
    by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_key[tuple(row[k] for k in key)].append(row)
    for versions in by_key.values():
        versions.sort(key=lambda r: r["valid_from"])
        for earlier, later in itertools.pairwise(versions):
            assert earlier["valid_to"] is not None and earlier["valid_to"] < later["valid_from"]


def test_versions_do_not_overlap() -> None:
    _assert_no_overlap(air_limit_rows(), ("parameter", "averaging"))
    _assert_no_overlap(wastewater_limit_rows(), ("parameter", "qcvn_column"))


def test_rows_use_canonical_names_and_float_values() -> None:
    air = air_limit_rows()
    water = wastewater_limit_rows()
    assert {r["parameter"] for r in air} == {"PM2.5", "PM10", "NO2", "SO2", "CO", "O3", "TSP"}
    assert {r["averaging"] for r in air} == {"1h", "8h", "24h", "year"}
    assert {r["parameter"] for r in water} == set(QCVN_40_2011)
    # Spark infers one type per column, so numbers must all be float (never a mix with int).
    assert all(isinstance(r["limit_value"], float) for r in air)
    for r in water:
        assert all(v is None or isinstance(v, float) for v in (r["min_value"], r["max_value"]))


def test_factors_apply_only_to_concentrations() -> None:
    flags = {r["parameter"]: r["factors_apply"] for r in wastewater_limit_rows()}
    assert {p for p, applies in flags.items() if not applies} == {"pH", "temperature", "coliform"}


def test_rows_load_into_spark_with_the_declared_schema(spark: SparkSession) -> None:
    air = spark.createDataFrame(air_limit_rows(), AIR_LIMIT_SCHEMA)
    water = spark.createDataFrame(wastewater_limit_rows(), WASTEWATER_LIMIT_SCHEMA)
    assert air.count() == len(air_limit_rows())
    assert water.count() == len(wastewater_limit_rows())
    pm25 = air.where("parameter = 'PM2.5' AND averaging = '24h' AND valid_to IS NULL").first()
    assert pm25 is not None and pm25["limit_value"] == 45.0
    unconfirmed = water.where("NOT confirmed").count()
    assert unconfirmed == 18
