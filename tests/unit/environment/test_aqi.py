"""VN_AQI (Decision 1459/QĐ-TCMT): expected values are worked by hand in the comments, and the
Decision's own worked examples (guidance section 2.2.2 a and 2.3) are reproduced."""

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
    MIN_HOURS_8H,
    MIN_HOURS_24H,
    band,
    band_column,
    band_name_column,
    band_of,
    combined_aqi,
    daily_sub_indices,
    hourly_sub_indices,
    mean_if_complete,
    nowcast,
    nowcast_column,
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
    # w* = 25/50 = 0.5 <= 1/2 -> w = 1/2 and the Decision's own form Σ (1/2)^i · c_i, the missing
    # c1 weighing 0: (1/2)^2·50 + (1/2)^3·50 + (1/2)^4·25 = 12.5 + 6.25 + 1.5625 = 20.3125
    assert nowcast([None, 50.0, 50.0, 25.0]) == pytest.approx(20.3125, abs=1e-9)


def test_nowcast_w_half_is_not_normalised() -> None:
    # 100 then eleven zeros: Cmin/Cmax = 0 -> w = 1/2: (1/2)^1 · 100 = 50 exactly (dividing by the
    # weights, 100 / 1.99951171875 = 50.012…, is not what section 2.2.1 a writes).
    assert nowcast([100.0] + [0.0] * 11) == pytest.approx(50.0, abs=1e-12)


def test_nowcast_decision_worked_example() -> None:
    # Decision 1459, 2.3 a: PM2.5 09:00 … 20:00 = 26.9 24.7 20.5 23.5 19.5 16.5 19.0 16.5 20.3 22.4
    # 19.6 20.6; c1 is 20:00. w* = 16.5 / 26.9 = 0.61 > 0.5, so w = 0.61… -> NowCast = 20.3 µg/m³.
    oldest_first = [26.9, 24.7, 20.5, 23.5, 19.5, 16.5, 19.0, 16.5, 20.3, 22.4, 19.6, 20.6]
    assert round(nowcast(oldest_first[::-1]) or 0.0, 1) == 20.3


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
def test_combined_aqi(sub_indices: dict[str, float | None], expected: int) -> None:
    result = combined_aqi(sub_indices)
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
def test_combined_aqi_requires_pm(sub_indices: dict[str, float | None]) -> None:
    assert combined_aqi(sub_indices) is None


def test_hourly_aqi_decision_worked_example() -> None:
    # Decision 1459, 2.3 b: O3 136.1, NO2 118.7 (1 h), PM2.5 NowCast 20.3.
    # O3: 50/160 × 136.1 = 42.53 (the Decision: 43); NO2: 50/100 × (118.7 − 100) + 50 = 59.35;
    # PM2.5: 50/25 × 20.3 = 40.6 (the Decision: 41). AQI^h = 59.35 rounded = 59. The Decision prints
    # 60 for NO2 and AQI^h, which its own Công thức 1 does not give (59.35); docs/domain.md notes it.
    subs = hourly_sub_indices({"O3": 136.1, "NO2": 118.7}, {"PM2.5": 20.3})
    assert subs["O3"] == pytest.approx(42.53125)
    assert subs["NO2"] == pytest.approx(59.35)
    assert subs["PM2.5"] == pytest.approx(40.6)
    assert subs["CO"] is None and subs["SO2"] is None and subs["PM10"] is None
    assert combined_aqi(subs) == 59


def test_hourly_aqi_uses_the_nowcast_for_pm_and_needs_it() -> None:
    # PM10 hourly 1 h value of 300 would be 175, but the hour's PM10 index is its NowCast's: 100 -> 75.
    subs = hourly_sub_indices({"PM10": 300.0, "O3": 10.0}, {"PM10": 100.0})
    assert subs["PM10"] == pytest.approx(75.0)
    # No NowCast (fewer than 2 of the 3 latest hours): no hourly index at all, whatever the gases say.
    assert combined_aqi(hourly_sub_indices({"NO2": 950.0}, {"PM2.5": None, "PM10": None})) is None


def test_daily_aqi_decision_worked_example() -> None:
    # Decision 1459, 2.3 c: O3 8 h max 89.3 -> 50/100 × 89.3 = 44.65 (45); O3 1 h max 114.6 ->
    # 50/160 × 114.6 = 35.81 (36); NO2 1 h max 130.8 -> 50/100 × 30.8 + 50 = 65.4 (65);
    # PM2.5 24 h 55.7 -> 50/30 × 5.7 + 100 = 109.5 (110). AQI^d = 110.
    subs = daily_sub_indices({"PM2.5": 55.7}, {"O3": 114.6, "NO2": 130.8}, o3_8h_max=89.3)
    assert subs["O3"] == pytest.approx(44.65)
    assert subs["NO2"] == pytest.approx(65.4)
    assert subs["PM2.5"] == pytest.approx(109.5)
    assert combined_aqi(subs) == 110


def test_daily_o3_eight_hour_mean_outweighs_a_higher_one_hour_peak() -> None:
    # 8 h max 150 -> 8 h table 120..170 -> 100..150: 50/50 × 30 + 100 = 130;
    # 1 h max 180 -> 1 h table 160..200 -> 50..100: 50/40 × 20 + 50 = 75. O3's daily index is 130.
    subs = daily_sub_indices({"PM2.5": 10.0}, {"O3": 180.0}, o3_8h_max=150.0)
    assert subs["O3"] == pytest.approx(130.0)
    assert combined_aqi(subs) == 130


def test_daily_o3_eight_hour_path_dropped_above_400() -> None:
    # 8 h max 450 > 400: not used (2.2.2 b); 1 h max 500 -> 400..800 -> 200..300: 100/400 × 100 + 200 = 225.
    subs = daily_sub_indices({"PM10": 10.0}, {"O3": 500.0}, o3_8h_max=450.0)
    assert subs["O3"] == pytest.approx(225.0)


def test_daily_gases_use_the_largest_one_hour_value() -> None:
    # CO 1 h max 35000 -> 30000..45000 -> 100..150: 50/15000 × 5000 + 100 = 116.67;
    # SO2 1 h max 400 -> 350..550 -> 100..150: 50/200 × 50 + 100 = 112.5. PM2.5 24 h 20 -> 40.
    subs = daily_sub_indices({"PM2.5": 20.0}, {"CO": 35000.0, "SO2": 400.0}, o3_8h_max=None)
    assert subs["CO"] == pytest.approx(100 + 50 / 15000 * 5000)
    assert subs["SO2"] == pytest.approx(112.5)
    assert subs["PM2.5"] == pytest.approx(40.0)
    assert subs["O3"] is None
    assert combined_aqi(subs) == 117


def test_eight_hour_means_reproduce_the_decisions_table() -> None:
    # Decision 1459, 2.2.2 a: O3 1 h values from 18:00 of the day before to 00:00 of the next day,
    # and the 24 TB8h values (1:00 … 0:00) the Decision lists, to one decimal; the largest is 74.4.
    # One differs: 12:00 is (25.3 + 34.7 + 35.2 + 41.6 + 45.7 + 49.2 + 55.8 + 69.6) / 8 = 44.6375, which
    # the Decision prints as 44.7 (its hourly values presumably carried more decimals than it shows).
    hours = [15.7, 14.2, 17.7, 18.9, 19.3, 15.7, 19.7, 22.6, 27.1, 29.0, 31.9, 25.3, 34.7, 35.2, 41.6, 45.7,
             49.2, 55.8, 69.6, 78.3, 91.5, 97.7, 81.2, 71.8, 43.5, 34.3, 21.5, 20.5, 19.4, 20.4, 21.3]  # fmt: skip
    published = [18.0, 19.4, 21.2, 23.0, 23.8, 25.8, 28.2, 30.9, 33.8, 36.6, 39.9, 44.7, 51.3, 58.4, 66.2,
                 71.1, 74.4, 73.7, 71.0, 65.0, 57.8, 48.7, 39.1, 31.6]  # fmt: skip
    means = [mean_if_complete(hours[end - 7 : end + 1], MIN_HOURS_8H) for end in range(7, 31)]
    assert [round(m or 0.0, 1) for m in means] == [*published[:11], 44.6, *published[12:]]
    assert published[11] == 44.7
    assert max(m for m in means if m is not None) == pytest.approx(74.3875)  # 595.1 / 8, printed 74.4


@pytest.mark.parametrize(
    ("valid_hours", "expected"),
    [(24, 20.0), (18, 20.0), (17, None), (1, None), (0, None)],
)
def test_24_hour_mean_needs_18_hours(valid_hours: int, expected: float | None) -> None:
    # The project's completeness rule (the Decision sets none): one hour of PM is not a day.
    hours: list[float | None] = [20.0] * valid_hours + [None] * (24 - valid_hours)
    assert MIN_HOURS_24H == 18
    assert mean_if_complete(hours, MIN_HOURS_24H) == expected


def test_means_ignore_invalid_hours() -> None:
    # -5 and NaN are not measurements: 6 valid of 8 -> mean (10·5 + 40) / 6 = 15
    assert mean_if_complete([10.0] * 5 + [40.0, -5.0, math.nan], MIN_HOURS_8H) == pytest.approx(15.0)
    assert mean_if_complete([10.0] * 5 + [None, -5.0, math.nan], MIN_HOURS_8H) is None


def test_band_table_matches_decision_1459() -> None:
    # Retyped from the Decision's Bảng 1 (ranges, names, RGB) as given in docs/domain.md, "VN_AQI"; the
    # ranges must tile 0..500 without gaps.
    assert [(b.low, b.high, b.name, b.colour, b.hex) for b in BANDS] == [
        (0, 50, "Tốt", "green", "#00E400"),  # 0;228;0
        (51, 100, "Trung bình", "yellow", "#FFFF00"),  # 255;255;0
        (101, 150, "Kém", "orange", "#FF7E00"),  # 255;126;0
        (151, 200, "Xấu", "red", "#FF0000"),  # 255;0;0
        (201, 300, "Rất xấu", "purple", "#8F3F97"),  # 143;63;151
        (301, 500, "Nguy hại", "maroon", "#7E0023"),  # 126;0;35
    ]
    texts = [t for b in BANDS for t in (b.name, b.health_effect, b.advice_general, b.advice_sensitive)]
    assert all(t and unicodedata.is_normalized("NFC", t) for t in texts)
    # Bảng 5, "Xấu": sensitive groups stay indoors.
    assert BANDS[3].advice_sensitive.startswith("Nên ở trong nhà và giảm hoạt động mạnh.")


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


def test_band_columns_match_python(spark: SparkSession) -> None:
    values: list[int | None] = [None, *range(-2, 505)]
    attributes = ("hex", "health_effect", "advice_general", "advice_sensitive")
    df = spark.createDataFrame([(v,) for v in values], "aqi INT")
    result = df.select(
        "aqi",
        band_name_column(F.col("aqi")).alias("name"),
        *[band_column(F.col("aqi"), a).alias(a) for a in attributes],
    ).collect()
    assert len(result) == len(values)
    for row in result:
        expected = band_of(row["aqi"])
        assert row["name"] == (None if expected is None else expected.name), row["aqi"]
        for a in attributes:
            assert row[a] == (None if expected is None else getattr(expected, a)), (row["aqi"], a)


def _series(seed: int) -> list[float | None]:
    """Hourly values with gaps, spikes, zeros and steady runs (newest last)."""
    import random

    rng = random.Random(seed)
    out: list[float | None] = []
    for _ in range(60):
        r = rng.random()
        out.append(None if r < 0.2 else 0.0 if r < 0.25 else round(rng.uniform(5, 400 if r > 0.9 else 60), 1))
    return out


def test_nowcast_column_matches_python(spark: SparkSession) -> None:
    rows, expected = [], {}
    for seed in range(8):
        series = _series(seed)
        for end in range(len(series)):
            history = [(h * 3600, c) for h, c in enumerate(series[: end + 1]) if c is not None and h > end - 12]
            rows.append((seed, end * 3600, history))
            expected[(seed, end * 3600)] = nowcast(series[max(0, end - 11) : end + 1][::-1])
    df = spark.createDataFrame(rows, "seed INT, epoch LONG, history ARRAY<STRUCT<epoch: LONG, c: DOUBLE>>")
    got = df.select("seed", "epoch", nowcast_column(F.col("history"), F.col("epoch")).alias("n")).collect()
    assert len(got) == len(expected)
    assert sum(v is None for v in expected.values()) > 0 and sum(v == 0.0 for v in expected.values()) >= 0
    for row in got:
        want = expected[(row["seed"], row["epoch"])]
        assert (row["n"] is None) == (want is None), (row["seed"], row["epoch"])
        if want is not None:
            assert row["n"] == pytest.approx(want, abs=1e-9), (row["seed"], row["epoch"])
