"""The lean baseline's rules on a tiny hand-written input; every expected value is worked out by hand
from the registry's rules and Decision 1459 (docs/domain.md), not by the code under test."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from bench.lean import (
    COLUMNS,
    STATION_COLUMNS,
    ProvinceTables,
    Repair,
    daily_aqi,
    decimal_double,
    read_lines,
    readings_to_silver,
    round_half_up,
    split_lines,
    stations_to_silver,
)

DAY = date(2026, 11, 26)
END = datetime(2026, 11, 26, 17)  # the interval's end: 2026-11-27 00:00 Vietnam time, in UTC

STATIONS = """station_id,station_name,province_code,latitude,longitude,active_since
AQ-01-0001,Trạm A,01,21.0,105.8,2020-01-01
AQ-24-0001,Trạm B,27,21.2,106.1,2020-01-01
AQ-01-0009,Trạm Biển,01,2.0,105.8,2020-01-01
"""
READINGS = """station_id,station_name,province_code,parameter,value,unit,measured_at,device_status
AQ-01-0001,Trạm A,01,PM2.5,10.5,µg/Nm³,2026-11-26T08:00:00+07:00,measuring
AQ-01-0001,Trạm A,01,PM2.5,10.5,µg/Nm³,2026-11-26T08:00:00+07:00,measuring
AQ-01-0001,Trạm A,01,PM10,-3,µg/Nm³,2026-11-26T08:00:00+07:00,measuring
AQ-01-0001,Trạm A,01,CO,2.5,mg/Nm3,26/11/2026 09:00,measuring
AQ-99-0001,X,01,PM2.5,1,µg/Nm³,2026-11-26T08:00:00+07:00,measuring
AQ-01-0001,Trạm A,01,NO2,5,µg/Nm³,2026-11-26T08:00:00+07:00,error
AQ-01-0001,Trạm A,01
AQ-24-0001,Trạm B,27, o3 ,50,ug/Nm3,2026-11-26T08:00:00+07:00,Measuring
AQ-01-0001,Trạm A,01,PM2.5,11.0,µg/Nm³,2026-11-26T08:00:00+07:00,measuring
AQ-01-0001,Trạm A,01,SO2,1,µg/Nm³,2026-11-27T00:00:00+07:00,measuring
AQ-01-0001,Trạm A,01,PM2.5,N/A,µg/Nm³,2026-11-26T10:00:00+07:00,measuring
AQ-01-0001,Trạm A,01,PM2.5,5,µg/Nm³,2026-11-26T24:00:00+07:00,measuring
AQ-01-0001,"Trạm A, cổng 2",01,PM10,20,μg/Nm³,2026-11-26T08:00:00+07:00,measuring
"""


@pytest.fixture(scope="module")
def judged() -> pl.DataFrame:
    provinces, repair = ProvinceTables(), Repair()
    _, lines = read_lines(STATIONS.encode())
    stations = stations_to_silver(
        split_lines(lines, STATION_COLUMNS).rename({"line_no": "_source_line"}), DAY, provinces, repair
    )
    header, lines = read_lines(READINGS.encode())
    assert tuple(header.split(",")) == COLUMNS
    bronze = split_lines(lines, COLUMNS).rename({"line_no": "_source_line"})
    return readings_to_silver(bronze, stations, END, provinces, repair)


def test_station_list_keeps_stations_in_vietnam_on_2025_codes() -> None:
    _, lines = read_lines(STATIONS.encode())
    bronze = split_lines(lines, STATION_COLUMNS).rename({"line_no": "_source_line"})
    silver = stations_to_silver(bronze, DAY, ProvinceTables(), Repair())
    # AQ-01-0009 lies at 2.0° N (not in Vietnam); old code 27 (Bắc Ninh) is 24 since 2025-07-01
    assert silver.sort("station_id").rows() == [("AQ-01-0001", "Trạm A", "01"), ("AQ-24-0001", "Trạm B", "24")]


def test_every_line_has_one_outcome_and_the_first_rule_that_holds_names_the_reason(judged: pl.DataFrame) -> None:
    got = {
        line: (outcome, reason)
        for line, outcome, reason in judged.select("_source_line", "_outcome", "_reject_reason").rows()
    }
    assert got == {
        2: ("superseded", None),  # line 10 has the same station, parameter and time, later
        3: ("duplicate", None),  # the same bytes as line 2
        4: ("quarantined", "NEGATIVE_VALUE"),
        5: ("silver", None),
        6: ("quarantined", "UNKNOWN_STATION"),
        7: ("quarantined", "DEVICE_NOT_MEASURING"),
        8: ("quarantined", "MALFORMED_LINE"),  # 3 fields of 8
        9: ("silver", None),
        10: ("silver", None),
        11: ("quarantined", "FUTURE_TIMESTAMP"),  # at the interval's end
        12: ("quarantined", "INVALID_NUMBER"),
        13: ("quarantined", "INVALID_TIMESTAMP"),  # hour 24
        14: ("silver", None),  # a quoted name with a comma
    }


def test_silver_rows_are_typed_and_conformed(judged: pl.DataFrame) -> None:
    silver = judged.filter(pl.col("_outcome") == "silver").sort("_source_line")
    rows = silver.select(
        "_source_line",
        "station_name",
        "province_code",
        "parameter",
        "value",
        "unit",
        "measured_at",
        "source_utc_offset",
        "measured_date",
        "device_status",
    ).rows()
    ug = "µg/Nm³"
    utc = lambda h: datetime(2026, 11, 26, h).replace(tzinfo=rows[0][6].tzinfo)  # noqa: E731
    assert rows == [
        # 2.5 mg/Nm³ = 2500 µg/Nm³; local 09:00 = 02:00 UTC
        (5, "Trạm A", "01", "CO", 2500.0, ug, utc(2), "+07:00", DAY, "measuring"),
        # old code 27 on a 2026 reading → 24; " o3 " → O3; ug/Nm3 → µg/Nm³; "Measuring" → measuring
        (9, "Trạm B", "24", "O3", 50.0, ug, utc(1), "+07:00", DAY, "measuring"),
        (10, "Trạm A", "01", "PM2.5", 11.0, ug, utc(1), "+07:00", DAY, "measuring"),
        (14, "Trạm A, cổng 2", "01", "PM10", 20.0, ug, utc(1), "+07:00", DAY, "measuring"),  # μ (Greek mu) → µ
    ]


def _silver(readings: list[tuple[str, int, float]], station: str = "AQ-01-0001") -> pl.DataFrame:
    """Silver rows of one station (in province 01) on DAY: (parameter, local hour, value)."""
    return pl.DataFrame(
        {
            "station_id": [station] * len(readings),
            "province_code": ["01"] * len(readings),
            "parameter": [p for p, _, _ in readings],
            "value": [v for _, _, v in readings],
            "measured_at": [datetime(2026, 11, 25, 17) + timedelta(hours=h) for _, h, _ in readings],
            "measured_date": [DAY] * len(readings),
        },
        schema_overrides={"measured_at": pl.Datetime("us", "UTC")},
    )


def test_daily_index_from_pm_24h_mean_and_o3_on_both_tables() -> None:
    pm = [("PM2.5", h, 30.0) for h in range(18)]  # 18 of 24 hours: enough for a 24 h mean
    o3 = [("O3", h, 10.0 * (h + 1)) for h in range(8)]  # 10, 20 … 80 at hours 0 … 7
    (row,) = daily_aqi(_silver(pm + o3), [DAY]).to_dicts()
    assert row["pm25_24h"] == 30.0 and row["pm25_hours"] == 18
    assert row["aqi_pm25"] == 60.0  # (100 − 50) / (50 − 25) × (30 − 25) + 50
    assert row["o3_1h_max"] == 80.0
    # 8 h means ending at 07:00 (8 hours, 45), 08:00 (7 hours 20…80, 50), 09:00 (6 hours 30…80, 55);
    # at 10:00 only 5 of 8: none
    assert row["o3_8h_max"] == 55.0
    assert row["aqi_o3"] == 27.5  # max(1 h table: 50/160 × 80 = 25, 8 h table: 50/100 × 55 = 27.5)
    assert (row["vn_aqi"], row["dominant_parameter"], row["band"], row["colour"]) == (
        60,
        "PM2.5",
        "Trung bình",
        "#FFFF00",
    )


def test_no_daily_index_with_17_hours_of_pm() -> None:
    (row,) = daily_aqi(_silver([("PM2.5", h, 30.0) for h in range(17)]), [DAY]).to_dicts()
    assert row["pm25_24h"] is None and row["pm25_hours"] == 17
    assert row["vn_aqi"] is None and row["band"] is None


def test_rounding_is_half_up_on_the_printed_decimal() -> None:
    # 55.742 and 58.9295: a division by 1000 done as × 0.001 gives 55.742000000000004 and puts the
    # half of 58.929|58.930 one unit in the last place too high (58.9295 then rounds down)
    values = pl.DataFrame({"x": [12.3125, 1.0015, 2.0004999, 74.5, 0.0, 55.742, 58.9295, None]})
    out = values.select(three=round_half_up(pl.col("x"), 3), zero=round_half_up(pl.col("x"), 0))
    assert out["three"].to_list() == [12.313, 1.002, 2.0, 74.5, 0.0, 55.742, 58.93, None]
    assert out["zero"].to_list() == [12.0, 1.0, 2.0, 75.0, 0.0, 56.0, 59.0, None]


def test_a_decimal_is_the_double_nearest_it() -> None:
    units = pl.DataFrame({"u": [55742, 89070, 138200, 5, 0]})
    out = units.select(three=decimal_double(pl.col("u"), 3), ten=decimal_double(pl.col("u"), 10))
    # the same literals written by hand: Python reads them as the nearest doubles
    assert out["three"].to_list() == [55.742, 89.07, 138.2, 0.005, 0.0]
    assert out["ten"].to_list() == [0.0000055742, 0.000008907, 0.00001382, 0.0000000005, 0.0]


def test_daily_figures_come_from_hourly_values_rounded_half_up() -> None:
    """The project's rule: the daily table is made from the hourly one, whose values are rounded
    half up to 0.001; a sub-index is rounded half up to 0.001 too; each figure is the double nearest
    its decimal. Several stations, so polars works on columns of several rows (a one-row frame hid
    the error this pins: dividing by 1000 as × 0.001). Worked by hand:

    * NO2 at hour 0 (station 0001): readings 10.000 and 10.001, mean 10.0005 → hourly value 10.001
      (half up; half to even would give 10.000). Index (50 − 0) / (100 − 0) × 10.001 = 5.0005 → 5.001
      (from the unrounded mean: 5.00025 → 5.000).
    * PM10, 18 hours of one value per station → that value is the 24 h mean; index
      (100 − 50) / (150 − 50) × (C − 50) + 50 = 0.5 × (C − 50) + 50, half up to 0.001; VN_AQI is it
      rounded half up to a whole number (the only sub-index with PM10 but for station 0001's NO2):
      67.859 → 58.9295 → 58.930 → 59;  50.201 → 50.1005 → 50.101 → 50;
      89.07 → 69.535 → 70;  108.563 → 79.2815 → 79.282 → 79."""
    pm10 = {"AQ-01-0001": 67.859, "AQ-01-0002": 50.201, "AQ-01-0003": 89.07, "AQ-01-0004": 108.563}
    no2 = [("NO2", 0, 10.0), ("NO2", 0, 10.001)]
    silver = pl.concat(
        [
            _silver([("PM10", h, c) for h in range(18)] + (no2 if i == 0 else []), s)
            for i, (s, c) in enumerate(pm10.items())
        ]
    )
    rows = daily_aqi(silver, [DAY]).sort("station_id")
    assert rows["pm10_24h"].to_list() == [67.859, 50.201, 89.07, 108.563]
    assert rows["pm10_hours"].to_list() == [18, 18, 18, 18]
    assert rows["aqi_pm10"].to_list() == [58.93, 50.101, 69.535, 79.282]
    assert rows["vn_aqi"].to_list() == [59, 50, 70, 79]
    assert rows["dominant_parameter"].to_list() == ["PM10"] * 4
    assert rows["no2_1h_max"].to_list() == [10.001, None, None, None]
    assert rows["aqi_no2"].to_list() == [5.001, None, None, None]
