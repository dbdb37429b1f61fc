"""VN_AQI (Decision 1459/QĐ-TCMT): expected values are worked by hand in the comments."""

from __future__ import annotations

import math
import unicodedata

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.environment.aqi import (
    BANDS,
    BREAKPOINTS,
    INDEX_LEVELS,
    band,
    band_name_column,
    daily_aqi,
    nowcast,
    sub_index,
    sub_index_column,
)


def test_breakpoint_table_matches_decision_1459() -> None:
    # Retyped from Decision 1459/QĐ-TCMT's breakpoint table as given in docs/domain.md, "VN_AQI", so a
    # typo in the module's table shows up here.
    assert INDEX_LEVELS == (0, 50, 100, 150, 200, 300, 400, 500)
    assert BREAKPOINTS == {
        ("O3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
        ("O3", "8h"): (0, 100, 120, 170, 210, 400),
        ("CO", "1h"): (0, 10000, 30000, 45000, 60000, 90000, 120000, 150000),
        ("SO2", "1h"): (0, 125, 350, 550, 800, 1600, 2100, 2630),
        ("NO2", "1h"): (0, 100, 200, 700, 1200, 2350, 3100, 3850),
        ("PM10", "1h"): (0, 50, 150, 250, 350, 420, 500, 600),
        ("PM2.5", "1h"): (0, 25, 50, 80, 150, 250, 350, 500),
    }


@pytest.mark.parametrize(
    ("parameter", "concentration", "table", "expected"),
    [
        # PM2.5 37.5 lies in 25..50 -> 50..100: (100-50)/(50-25)*(37.5-25)+50 = 2*12.5+50 = 75
        ("PM2.5", 37.5, "1h", 75.0),
        # PM10 200 in 150..250 -> 100..150: 50/100*(200-150)+100 = 125
        ("PM10", 200.0, "1h", 125.0),
        # CO 20000 in 10000..30000 -> 50..100: 50/20000*(20000-10000)+50 = 75
        ("CO", 20000.0, "1h", 75.0),
        # O3 1h 250 in 200..300 -> 100..150: 50/100*(250-200)+100 = 125
        ("O3", 250.0, "1h", 125.0),
        # NO2 950 in 700..1200 -> 150..200: 50/500*(950-700)+150 = 175
        ("NO2", 950.0, "1h", 175.0),
        # SO2 60 in 0..125 -> 0..50: 50/125*60 = 24
        ("SO2", 60.0, "1h", 24.0),
        # SO2 1000 in 800..1600 -> 200..300: 100/800*(1000-800)+200 = 225
        ("SO2", 1000.0, "1h", 225.0),
        # PM2.5 300 in 250..350 -> 300..400: 100/100*50+300 = 350
        ("PM2.5", 300.0, "1h", 350.0),
        # O3 8h 150 in 120..170 -> 100..150: 50/50*(150-120)+100 = 130
        ("O3", 150.0, "8h", 130.0),
        # O3 8h 300 in 210..400 -> 200..300: 100/190*(300-210)+200 = 200+9000/190
        ("O3", 300.0, "8h", 200.0 + 9000.0 / 190.0),
        # the same 150 on the 1h table: 0..160 -> 0..50: 50/160*150 = 46.875
        ("O3", 150.0, "1h", 46.875),
    ],
)
def test_sub_index_interpolates(parameter: str, concentration: float, table: str, expected: float) -> None:
    assert sub_index(parameter, concentration, table) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("parameter", "concentration", "table", "expected"),
    [
        ("PM2.5", 0.0, "1h", 0.0),
        ("PM2.5", 25.0, "1h", 50.0),
        ("PM2.5", 50.0, "1h", 100.0),
        ("PM2.5", 80.0, "1h", 150.0),
        ("PM2.5", 500.0, "1h", 500.0),  # top breakpoint itself
        ("PM10", 150.0, "1h", 100.0),
        ("PM10", 420.0, "1h", 300.0),
        ("PM10", 600.0, "1h", 500.0),
        ("CO", 10000.0, "1h", 50.0),
        ("CO", 150000.0, "1h", 500.0),
        ("SO2", 350.0, "1h", 100.0),
        ("SO2", 2630.0, "1h", 500.0),
        ("NO2", 1200.0, "1h", 200.0),
        ("NO2", 3850.0, "1h", 500.0),
        ("O3", 160.0, "1h", 50.0),
        ("O3", 1200.0, "1h", 500.0),
        ("O3", 120.0, "8h", 100.0),
        ("O3", 400.0, "8h", 300.0),  # top of the truncated 8h table
    ],
)
def test_sub_index_on_breakpoints(parameter: str, concentration: float, table: str, expected: float) -> None:
    assert sub_index(parameter, concentration, table) == pytest.approx(expected, abs=1e-9)


def test_sub_index_is_continuous_across_a_breakpoint() -> None:
    # Just below and above PM2.5 50 (index 100): slopes 2/µg and 50/30 per µg.
    assert sub_index("PM2.5", 49.999) == pytest.approx(100 - 2 * 0.001, abs=1e-9)
    assert sub_index("PM2.5", 50.003) == pytest.approx(100 + 50 / 30 * 0.003, abs=1e-9)


@pytest.mark.parametrize(
    ("parameter", "concentration"),
    [("PM2.5", 500.01), ("PM2.5", 2000.0), ("PM10", 601.0), ("CO", 1e6), ("O3", 1500.0)],
)
def test_sub_index_caps_above_top_breakpoint_at_500(parameter: str, concentration: float) -> None:
    assert sub_index(parameter, concentration) == 500.0


@pytest.mark.parametrize(
    ("parameter", "concentration", "table"),
    [
        ("PM2.5", -0.1, "1h"),  # negative reading: not a valid measurement
        ("CO", -5.0, "1h"),
        ("PM10", None, "1h"),
        ("PM10", math.nan, "1h"),
        ("TSP", 100.0, "1h"),  # TSP has a QCVN limit but no VN_AQI table
        ("CO", 5000.0, "8h"),  # only O3 has an 8h table
        ("O3", 400.5, "8h"),  # above the 8h table: the Decision switches to the 1h value
    ],
)
def test_sub_index_none(parameter: str, concentration: float | None, table: str) -> None:
    assert sub_index(parameter, concentration, table) is None


def test_sub_index_rejects_unknown_table() -> None:
    with pytest.raises(ValueError, match="unknown VN_AQI table"):
        sub_index("PM2.5", 10.0, "24h")


def test_nowcast_worked_example_w_above_half() -> None:
    # Newest first 30, 24, 20: Cmin/Cmax = 20/30 = 2/3 > 0.5, so w = 2/3.
    # numerator   = 30 + (2/3)*24 + (4/9)*20 = 30 + 16 + 80/9 = 494/9
    # denominator = 1 + 2/3 + 4/9 = 19/9            -> NowCast = 494/19 = 26
    assert nowcast([30.0, 24.0, 20.0]) == pytest.approx(26.0, abs=1e-9)


def test_nowcast_worked_example_w_half_with_missing_hour() -> None:
    # Hour 1 missing (2 of the 3 newest present is enough). Present c2=50, c3=50, c4=25:
    # 25/50 = 0.5 -> w = 0.5; weights w^(i-1) = 0.5, 0.25, 0.125.
    # numerator = 25 + 12.5 + 3.125 = 40.625; denominator = 0.875 -> 40.625/0.875 = 325/7
    assert nowcast([None, 50.0, 50.0, 25.0]) == pytest.approx(325 / 7, abs=1e-9)


def test_nowcast_w_floored_at_half_and_normalised() -> None:
    # 100 then eleven zeros: Cmin/Cmax = 0 -> w = 0.5. Normalised form: 100 / Σ_{k=0..11} 0.5^k
    # = 100 / 1.99951171875 = 50.0122100122...; the unnormalised Σ 0.5^i·c_i would give exactly 50.
    assert nowcast([100.0] + [0.0] * 11) == pytest.approx(100 / 1.99951171875, abs=1e-9)
    assert nowcast([100.0] + [0.0] * 11) != pytest.approx(50.0, abs=1e-6)


def test_nowcast_steady_air_is_the_plain_mean() -> None:
    # All equal -> w = 1 -> arithmetic mean.
    assert nowcast([35.0] * 12) == pytest.approx(35.0, abs=1e-9)


def test_nowcast_uses_only_twelve_hours_and_ignores_negative_readings() -> None:
    # The 13th hour (1000) is outside the window; -3 is a bad reading treated as missing.
    assert nowcast([10.0] * 11 + [-3.0, 1000.0]) == pytest.approx(10.0, abs=1e-9)


@pytest.mark.parametrize(
    "hourly",
    [
        [10.0, None, None, 10.0, 10.0],  # only 1 of the 3 newest hours
        [None, None, 10.0],
        [None, -1.0, 12.0, 12.0],  # a negative reading counts as missing
        [],
    ],
)
def test_nowcast_needs_two_of_three_newest_hours(hourly: list[float | None]) -> None:
    assert nowcast(hourly) is None


def test_nowcast_all_zero() -> None:
    assert nowcast([0.0, 0.0, 0.0]) == 0.0


@pytest.mark.parametrize(
    ("sub_indices", "expected"),
    [
        ({"PM2.5": 75.0, "CO": 50.0}, 75),
        ({"PM10": 20.0, "NO2": 175.2}, 175),  # max need not be a PM sub-index
        ({"PM10": 74.5}, 75),  # half up; Python's round(74.5) would give 74
        ({"PM2.5": 100.49, "PM10": None}, 100),
        ({"PM2.5": 150.5, "O3": 12.0}, 151),
        ({"PM2.5": None, "PM10": 0.0}, 0),
    ],
)
def test_daily_aqi(sub_indices: dict[str, float | None], expected: int) -> None:
    result = daily_aqi(sub_indices)
    assert result == expected
    assert isinstance(result, int)


@pytest.mark.parametrize(
    "sub_indices",
    [
        {"CO": 75.0, "NO2": 175.0},  # no PM at all
        {"PM2.5": None, "PM10": None, "O3": 120.0},  # PM keys present but empty
        {"PM2.5": math.nan, "SO2": 10.0},
        {},
    ],
)
def test_daily_aqi_requires_pm(sub_indices: dict[str, float | None]) -> None:
    assert daily_aqi(sub_indices) is None


def test_band_table_matches_decision_1459() -> None:
    # Retyped from the Decision's band table as given in docs/domain.md, "VN_AQI"; the ranges must tile
    # 0..500 without gaps.
    assert BANDS == (
        (0, 50, "Tốt", "green"),
        (51, 100, "Trung bình", "yellow"),
        (101, 150, "Kém", "orange"),
        (151, 200, "Xấu", "red"),
        (201, 300, "Rất xấu", "purple"),
        (301, 500, "Nguy hại", "maroon"),
    )
    assert all(unicodedata.is_normalized("NFC", name) for _, _, name, _ in BANDS)


@pytest.mark.parametrize(
    ("aqi", "expected"),
    [
        (0, ("Tốt", "green")),
        (50, ("Tốt", "green")),
        (51, ("Trung bình", "yellow")),
        (100, ("Trung bình", "yellow")),
        (101, ("Kém", "orange")),
        (150, ("Kém", "orange")),
        (151, ("Xấu", "red")),
        (200, ("Xấu", "red")),
        (201, ("Rất xấu", "purple")),
        (300, ("Rất xấu", "purple")),
        (301, ("Nguy hại", "maroon")),
        (500, ("Nguy hại", "maroon")),
        (None, None),
        (-1, None),
    ],
)
def test_band_edges(aqi: int | None, expected: tuple[str, str] | None) -> None:
    assert band(aqi) == expected


# --- Spark twins -------------------------------------------------------------------------------


def _grid(parameter: str, table: str) -> list[float | None]:
    """Every breakpoint, points just around them, a regular sweep, the cap zone and bad values."""
    bps = BREAKPOINTS.get((parameter, table)) or BREAKPOINTS.get((parameter, "1h"), (0, 100))
    values: list[float | None] = [None, -1.0, -1e-9, math.nan]
    for bp in bps:
        values += [float(bp), bp - 0.01, bp - 0.001, bp + 0.001, bp + 0.01]
    top = float(bps[-1])
    values += [top * k / 97 for k in range(1, 97)]
    values += [top * 1.5, top * 10]
    return values


@pytest.mark.parametrize("table", ["1h", "8h"])
def test_sub_index_column_matches_python(spark: SparkSession, table: str) -> None:
    parameters = ["PM2.5", "PM10", "O3", "CO", "SO2", "NO2", "TSP"]
    rows = [(p, v) for p in parameters for v in _grid(p, table)]
    df = spark.createDataFrame(rows, "parameter STRING, value DOUBLE")
    result = df.select(
        "parameter", "value", sub_index_column(F.col("parameter"), F.col("value"), table).alias("i")
    ).collect()
    assert len(result) == len(rows)
    non_null = 0
    for row in result:
        expected = sub_index(row["parameter"], row["value"], table)
        if expected is None:
            assert row["i"] is None, (row["parameter"], row["value"])
        else:
            non_null += 1
            assert row["i"] == pytest.approx(expected, abs=1e-9), (row["parameter"], row["value"])
    assert non_null > 0


def test_sub_index_column_casts_integer_values(spark: SparkSession) -> None:
    # PM10 200 (an integer column) -> 125, as in the Python test above.
    df = spark.createDataFrame([("PM10", 200)], "parameter STRING, value INT")
    value = df.select(sub_index_column(F.col("parameter"), F.col("value")).alias("i")).first()
    assert value is not None and value["i"] == pytest.approx(125.0, abs=1e-9)


def test_sub_index_column_rejects_unknown_table(spark: SparkSession) -> None:
    with pytest.raises(ValueError, match="unknown VN_AQI table"):
        sub_index_column(F.col("parameter"), F.col("value"), "24h")


def test_band_name_column_matches_python(spark: SparkSession) -> None:
    values: list[int | None] = [None, *range(-2, 505)]
    df = spark.createDataFrame([(v,) for v in values], "aqi INT")
    result = df.select("aqi", band_name_column(F.col("aqi")).alias("name")).collect()
    assert len(result) == len(values)
    for row in result:
        expected = band(row["aqi"])
        assert row["name"] == (None if expected is None else expected[0]), row["aqi"]
