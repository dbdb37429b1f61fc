"""Environment transforms: bronze -> silver typing and conforming, silver -> gold aggregates.

Every expected number is worked out by hand in the comments (VN_AQI: Decision 1459/QĐ-TCMT;
limits: QCVN 05:2023/BTNMT and QCVN 40:2011/BTNMT, as tabled in jobs/environment/limits.py).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta

import pytest
from pyspark.sql import DataFrame, Row, SparkSession

from jobs.environment.aqi import band
from jobs.environment.transforms import (
    air_readings_to_silver,
    air_station_to_silver,
    aqi_daily,
    aqi_hourly,
    aqi_province_daily,
    exceedances,
    wastewater_facility_to_silver,
    wastewater_readings_to_silver,
)
from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from jobs.silver import mark_exact_duplicates
from jobs.text import to_tcvn3_mojibake, to_vni_mojibake
from tests.unit.conftest import BronzeBuilder

INTERVAL = DataInterval.for_local_day(date(2026, 11, 26))  # 2026-11-25T17:00Z .. 2026-11-26T17:00Z
INTERVAL_END = datetime(2026, 11, 26, 17, 0)
U = "µg/Nm³"  # U+00B5 U+00B3


def _columns(name: str) -> tuple[str, ...]:
    source = REGISTRY[name].source
    assert source is not None
    return source.columns


# --- bronze -> silver ----------------------------------------------------------------------------

STATION_LINES = [
    f"S1,{to_tcvn3_mojibake('Trạm Nguyễn Văn Cừ')},1,21.0285,105.8542,2020-01-15",
    f"S2,{to_vni_mojibake('Trạm Bắc Ninh')},27,21.18,106.07,2019-05-01",  # legacy 27 -> 24 on the interval's day
    "S3,Trạm Đông Hà,45,16.75,107.19,15/01/2020",  # legacy 45 -> 44; date not ISO -> NULL
]


@pytest.fixture(scope="module")
def stations(bronze_from_lines: BronzeBuilder) -> DataFrame:
    bronze = bronze_from_lines(STATION_LINES, _columns("air_station"))
    return air_station_to_silver(mark_exact_duplicates(bronze), {}, interval=INTERVAL).cache()


def test_air_station_to_silver(stations: DataFrame) -> None:
    rows = {r["station_id"]: r for r in stations.collect()}
    assert {
        k: (r["station_name"], r["province_code"], r["latitude"], r["longitude"], r["active_since"])
        for k, r in rows.items()
    } == {
        "S1": ("Trạm Nguyễn Văn Cừ", "01", 21.0285, 105.8542, date(2020, 1, 15)),
        "S2": ("Trạm Bắc Ninh", "24", 21.18, 106.07, date(2019, 5, 1)),
        "S3": ("Trạm Đông Hà", "44", 16.75, 107.19, None),
    }
    assert rows["S1"]["_interval_end"] == INTERVAL_END


READING_LINES = {
    2: f"S1,{to_tcvn3_mojibake('Trạm Nguyễn Văn Cừ')},01,CO,1.5,mg/Nm3,2026-11-26T08:00:00+07:00, Measuring ",
    3: "S1,Trạm Nguyễn Văn Cừ,01,pm2.5,35,\u03bcg/Nm\u00b3,26/11/2026 09:00,measuring",  # Greek mu, local time
    4: "S1,Trạm Nguyễn Văn Cừ,01, PM 10 ,60,ug/m3,2026-11-26T00:30:00+07:00,measuring",  # 17:30Z on the 25th
    5: "S9,Trạm lạ,01,NO2,20,µg/Nm³,2026-11-26T08:00:00+07:00,measuring",  # not in the station list
    6: f"S2,{unicodedata.normalize('NFD', 'Trạm Bắc Ninh')},27,SO2,12,mg/Nm³,2025-06-30T10:00:00+07:00,measuring",
    7: "S3,Trạm Đông Hà,45,O3,80,µg/Nm³,2026-11-26T10:00:00+07:00,calibrating",
    8: "S1,Trạm Nguyễn Văn Cừ,01,TSP,abc,ppm,2026-11-26T11:00:00+07:00,measuring",
}


@pytest.fixture(scope="module")
def air_silver(bronze_from_lines: BronzeBuilder, stations: DataFrame) -> dict[int, Row]:
    bronze = bronze_from_lines([READING_LINES[n] for n in sorted(READING_LINES)], _columns("air_quality_reading"))
    typed = air_readings_to_silver(mark_exact_duplicates(bronze), {"air_station": stations}, interval=INTERVAL)
    rows = {r["_source_line"]: r for r in typed.collect()}
    assert sorted(rows) == sorted(READING_LINES)  # the reference join neither drops nor multiplies readings
    return rows


def test_air_readings_units_are_canonical(air_silver: dict[int, Row]) -> None:
    got = {n: (r["parameter"], r["value"], r["unit"]) for n, r in air_silver.items()}
    assert got == {
        2: ("CO", 1500.0, U),  # 1.5 mg/Nm3 x 1000
        3: ("PM2.5", 35.0, U),  # Greek mu spelling
        4: ("PM10", 60.0, U),  # ug/m3, parameter with blanks
        5: ("NO2", 20.0, U),
        6: ("SO2", 12000.0, U),  # 12 mg/Nm³ x 1000
        7: ("O3", 80.0, U),
        8: ("TSP", None, None),  # not a number, unknown unit: left for the row rules
    }
    assert all(r["unit"] is None or r["unit"] == "\u00b5g/Nm\u00b3" for r in air_silver.values())


def test_air_readings_time_and_status(air_silver: dict[int, Row]) -> None:
    got = {n: (r["measured_at"], r["source_utc_offset"], r["measured_date"]) for n, r in air_silver.items()}
    assert got[2] == (datetime(2026, 11, 26, 1, 0), "+07:00", date(2026, 11, 26))
    assert got[3] == (datetime(2026, 11, 26, 2, 0), "+07:00", date(2026, 11, 26))
    assert got[4] == (datetime(2026, 11, 25, 17, 30), "+07:00", date(2026, 11, 26))  # local day, not UTC day
    assert got[6] == (datetime(2025, 6, 30, 3, 0), "+07:00", date(2025, 6, 30))
    assert air_silver[2]["device_status"] == "measuring"  # trimmed and lower-cased
    assert air_silver[7]["device_status"] == "calibrating"
    assert air_silver[2]["_interval_end"] == INTERVAL_END
    assert (air_silver[3]["_physical_min"], air_silver[3]["_physical_max"]) == (0.0, 2000.0)  # PM2.5
    assert (air_silver[2]["_physical_min"], air_silver[2]["_physical_max"]) == (0.0, 200000.0)  # CO


def test_air_readings_reference_join_and_provinces(air_silver: dict[int, Row]) -> None:
    got = {n: (r["_entity_known"], r["_entity_province"], r["province_code"]) for n, r in air_silver.items()}
    assert got == {
        2: (True, "01", "01"),
        3: (True, "01", "01"),
        4: (True, "01", "01"),
        5: (False, None, "01"),  # unknown station
        6: (True, "24", "24"),  # 27 on 2025-06-30 (before the reform): legacy Bắc Ninh -> 24
        7: (True, "44", "44"),  # stale legacy 45 after the reform -> 44
        8: (True, "01", "01"),
    }


def test_air_readings_station_names_repaired_to_nfc(air_silver: dict[int, Row]) -> None:
    assert air_silver[2]["station_name"] == "Trạm Nguyễn Văn Cừ"  # from TCVN3 mojibake
    assert air_silver[6]["station_name"] == "Trạm Bắc Ninh"  # from NFD
    assert unicodedata.is_normalized("NFC", air_silver[6]["station_name"])


def test_wastewater_reference_and_readings_to_silver(bronze_from_lines: BronzeBuilder) -> None:
    facility_lines = [
        f"F1,{to_vni_mojibake('Công ty Môi trường Xanh')},{to_tcvn3_mojibake('KCN Thăng Long')},1,b,0.9,1.0,"
        "Nguyễn Văn An,0912 345 678",
        "F2,Nhà máy Đồng Nai,KCN Biên Hòa,75,A,1,x,,",  # kf not a number; no contact
    ]
    facilities = wastewater_facility_to_silver(
        mark_exact_duplicates(bronze_from_lines(facility_lines, _columns("wastewater_facility"))), {}, interval=INTERVAL
    ).cache()
    assert sorted(
        tuple(r)
        for r in facilities.select(
            "facility_id", "facility_name", "industrial_park", "province_code", "qcvn_column", "kq", "kf"
        ).collect()
    ) == [
        ("F1", "Công ty Môi trường Xanh", "KCN Thăng Long", "01", "B", 0.9, 1.0),
        ("F2", "Nhà máy Đồng Nai", "KCN Biên Hòa", "75", "A", 1.0, None),
    ]
    # The transform never carries the raw contact; the silver layer fills the pseudonym (jobs.privacy).
    assert not {"contact_name", "contact_phone"} & set(facilities.columns)
    assert [r["contact_id"] for r in facilities.collect()] == [None, None]

    reading_lines = [
        "F1,W1,COD,140,mg/l,2026-11-26T08:00:00+07:00,measuring",
        "F1,W1,pH,7.2,-,2026-11-26T08:00:00+07:00,measuring",
        "F1,W1,pH,7.2,mg/L,2026-11-26T09:00:00+07:00,measuring",  # pH has no mg/L: unit NULL
        "F1,W1,Amoni,3,g/m3,26/11/2026 10:00,measuring",
        "F1,W1,pH,7.0,,2026-11-26T11:00:00+07:00,measuring",  # blank unit on pH is pH
        "F9,W9,COD,10,mg/L,2026-11-26T08:00:00+07:00,error",  # unknown facility
    ]
    bronze = bronze_from_lines(reading_lines, _columns("wastewater_reading"))
    typed = wastewater_readings_to_silver(
        mark_exact_duplicates(bronze), {"wastewater_facility": facilities}, interval=INTERVAL
    )
    got = {
        r["_source_line"]: (
            r["parameter"],
            r["value"],
            r["unit"],
            r["province_code"],
            r["_entity_known"],
            r["measured_at"],
            r["device_status"],
        )
        for r in typed.collect()
    }
    assert got == {
        2: ("COD", 140.0, "mg/L", "01", True, datetime(2026, 11, 26, 1), "measuring"),
        3: ("pH", 7.2, "pH", "01", True, datetime(2026, 11, 26, 1), "measuring"),
        4: ("pH", 7.2, None, "01", True, datetime(2026, 11, 26, 2), "measuring"),
        5: ("NH4_N", 3.0, "mg/L", "01", True, datetime(2026, 11, 26, 3), "measuring"),
        6: ("pH", 7.0, "pH", "01", True, datetime(2026, 11, 26, 4), "measuring"),
        7: ("COD", 10.0, "mg/L", None, False, datetime(2026, 11, 26, 1), "error"),
    }


# --- gold: aqi_daily -----------------------------------------------------------------------------

AIR_SILVER_DDL = (
    "station_id STRING, province_code STRING, parameter STRING, value DOUBLE, measured_at TIMESTAMP, measured_date DATE"
)
DAY = date(2026, 11, 26)


def _hourly(station: str, province: str, parameter: str, values: list[float], day: date = DAY) -> list[tuple]:
    """Consecutive hours from 01:00 UTC (08:00 local) of ``day``."""
    return [
        (station, province, parameter, v, datetime(day.year, day.month, day.day, 1 + h), day)
        for h, v in enumerate(values)
    ]


def _local_hours(station: str, province: str, parameter: str, values: dict[int, float], day: date = DAY) -> list[tuple]:
    """Readings at the given local hours (0–23) of ``day``; local midnight is 17:00 UTC the day before."""
    midnight = datetime(day.year, day.month, day.day) - timedelta(hours=7)
    return [(station, province, parameter, v, midnight + timedelta(hours=h), day) for h, v in values.items()]


PREVIOUS_DAY = date(2026, 11, 25)
# O3 at 08:00–15:00: 180, 140, 150 ×5, 130 -> the 8 h mean ending 15:00 is 1200 / 8 = 150 (the day's
# largest), the largest 1 h value 180; every other hour 0.
O3_DAY = {h: 0.0 for h in range(24)} | dict(zip(range(8, 16), [180.0, 140.0, *[150.0] * 5, 130.0], strict=True))


@pytest.fixture(scope="module")
def aqi_gold(spark: SparkSession) -> dict[str, dict]:
    rows = [
        # A1, a full day. PM2.5 37.5 every hour: 24 h mean 37.5 -> 25..50 maps to 50..100: 2 × 12.5 + 50 = 75.
        *_local_hours("A1", "01", "PM2.5", dict.fromkeys(range(24), 37.5)),
        *_local_hours("A1", "01", "O3", O3_DAY),
        # NO2 100 every hour but 150 at 03:00 -> largest 1 h 150: 50/100 × 50 + 50 = 75
        *_local_hours("A1", "01", "NO2", dict.fromkeys(range(24), 100.0) | {3: 150.0}),
        # CO 20000 at 05:00 -> 50/20000 × 10000 + 50 = 75; SO2 60 at 05:00 -> 50/125 × 60 = 24
        *_local_hours("A1", "01", "CO", {5: 20000.0}),
        *_local_hours("A1", "01", "SO2", {5: 60.0}),
        *_local_hours("A1", "01", "TSP", {5: 900.0}),  # no VN_AQI table: ignored
        # A2: PM2.5 20 at 00:00–16:00 only, 17 hours: one short of a 24 h mean -> no daily index.
        *_local_hours("A2", "01", "PM2.5", dict.fromkeys(range(17), 20.0)),
        # A3: PM10 200 at 00:00–17:00, 18 hours -> 24 h mean 200 -> 150..250 maps to 100..150: 125.
        *_local_hours("A3", "01", "PM10", dict.fromkeys(range(18), 200.0)),
        # B1: PM2.5 100 at 21:00–23:00 the day before, 40 at 00:00: the NowCast at 00:00 reaches back.
        *_local_hours("B1", "79", "PM2.5", {21: 100.0, 22: 100.0, 23: 100.0}, day=PREVIOUS_DAY),
        *_local_hours("B1", "79", "PM2.5", {0: 40.0}),
        *_local_hours("C1", "48", "PM2.5", {5: 400.0}, day=date(2026, 11, 24)),  # too old for any window
    ]
    readings = spark.createDataFrame(rows, AIR_SILVER_DDL)
    hourly_df = aqi_hourly({"air_quality_reading": readings}, [DAY]).persist()  # read twice below
    assert hourly_df.columns == REGISTRY["aqi_hourly"].column_names
    hourly = {(r["station_id"], r["hour"]): r.asDict() for r in hourly_df.collect()}
    daily_df = aqi_daily({"aqi_hourly": hourly_df}, [DAY])
    assert daily_df.columns == REGISTRY["aqi_daily"].column_names
    return {"hourly": hourly, "daily": {r["station_id"]: r.asDict() for r in daily_df.collect()}}


def test_aqi_hourly_has_every_hour_of_every_station_heard(aqi_gold: dict[str, dict]) -> None:
    hourly = aqi_gold["hourly"]
    assert sorted(hourly) == [(s, h) for s in ("A1", "A2", "A3", "B1") for h in range(24)]
    assert all(r["date"] == DAY for r in hourly.values())
    assert hourly[("A1", 0)]["hour_start"] == datetime(2026, 11, 25, 17)  # 00:00 local = 17:00 UTC


def test_aqi_hourly_worked_example(aqi_gold: dict[str, dict]) -> None:
    a1 = aqi_gold["hourly"]
    # 00:00: one hour of PM2.5 only (c2, c3 before the first reading): no NowCast, no index.
    assert (a1[("A1", 0)]["pm25_nowcast"], a1[("A1", 0)]["vn_aqi"]) == (None, None)
    assert a1[("A1", 0)]["no_index_reason"].startswith("NO_PM_NOWCAST")
    assert a1[("A1", 0)]["aqi_no2"] == pytest.approx(50.0)  # the gases still have their sub-index
    # 08:00: NowCast of a steady 37.5 is 37.5 -> 75; O3 1 h 180 -> 50/40 × 20 + 50 = 75; NO2 100 -> 50.
    # A tie at 75: PM2.5 is named first. Band "Trung bình", yellow, Bảng 5's advice.
    h8 = a1[("A1", 8)]
    assert (h8["pm25_1h"], h8["pm25_nowcast"], h8["o3_1h"]) == (37.5, 37.5, 180.0)
    assert (h8["aqi_pm25"], h8["aqi_o3"], h8["aqi_no2"]) == (pytest.approx(75.0), pytest.approx(75.0), 50.0)
    assert (h8["vn_aqi"], h8["dominant_parameter"], h8["band"], h8["colour"]) == (75, "PM2.5", "Trung bình", "#FFFF00")
    assert h8["advice_general"] == "Tự do thực hiện các hoạt động ngoài trời"
    assert h8["no_index_reason"] is None
    # 15:00: the 8 h mean 08:00–15:00 = 150; 16:00: 09:00–16:00 = (1200 − 180 + 0) / 8 = 127.5.
    assert (a1[("A1", 15)]["o3_8h"], a1[("A1", 16)]["o3_8h"]) == (150.0, 127.5)
    # 04:00: 5 O3 hours so far (00:00–04:00) < 6 of 8 -> no 8 h mean; 05:00: 6 hours -> 0.
    assert (a1[("A1", 4)]["o3_8h"], a1[("A1", 5)]["o3_8h"]) == (None, 0.0)


def test_aqi_hourly_nowcast_reaches_into_the_previous_day(aqi_gold: dict[str, dict]) -> None:
    b1 = aqi_gold["hourly"][("B1", 0)]
    # c1 = 40, c2 = c3 = c4 = 100: w* = 0.4 -> w = 1/2: 0.5·40 + 0.25·100 + 0.125·100 + 0.0625·100 = 63.75
    # -> 50..80 maps to 100..150: 50/30 × 13.75 + 100 = 122.92 -> 123, "Kém", orange.
    assert b1["pm25_nowcast"] == pytest.approx(63.75)
    assert (b1["aqi_pm25"], b1["vn_aqi"], b1["band"], b1["colour"]) == (pytest.approx(122.917), 123, "Kém", "#FF7E00")
    # 01:00: c1 missing, c2 = 40, c3 = 100 -> still 2 of 3; 02:00: only c2 = 40 of the 3 -> none.
    assert aqi_gold["hourly"][("B1", 1)]["vn_aqi"] is not None
    assert aqi_gold["hourly"][("B1", 2)]["vn_aqi"] is None


def test_aqi_hourly_ends_when_the_nowcast_runs_out(aqi_gold: dict[str, dict]) -> None:
    # A2 measures 00:00–16:00: 17:00 still has c2, c3; 18:00 has only c3 -> no index from 18:00.
    indexed = sorted(h for (s, h), r in aqi_gold["hourly"].items() if s == "A2" and r["vn_aqi"] is not None)
    assert indexed == list(range(1, 18))
    assert aqi_gold["hourly"][("A2", 17)]["vn_aqi"] == 40  # steady 20 -> 2 × 20


def test_aqi_daily_worked_example(aqi_gold: dict[str, dict]) -> None:
    a1 = aqi_gold["daily"]["A1"]
    expected = {
        "station_id": "A1",
        "province_code": "01",
        "date": DAY,
        "pm25_24h": 37.5,
        "pm10_24h": None,
        "o3_1h_max": 180.0,
        "o3_8h_max": 150.0,
        "co_1h_max": 20000.0,
        "so2_1h_max": 60.0,
        "no2_1h_max": 150.0,
        "aqi_pm25": pytest.approx(75.0),
        "aqi_pm10": None,
        # O3: 8 h 150 -> 120..170 maps to 100..150: 130, above the 1 h peak's 75
        "aqi_o3": pytest.approx(130.0),
        "aqi_co": pytest.approx(75.0),
        "aqi_so2": pytest.approx(24.0),
        "aqi_no2": pytest.approx(75.0),
        "vn_aqi": 130,
        "dominant_parameter": "O3",
        "band": "Kém",
        "colour": "#FF7E00",
        "pm25_hours": 24,
        "pm10_hours": 0,
        "no_index_reason": None,
    }
    assert {k: a1[k] for k in expected} == expected
    assert a1["advice_sensitive"].startswith("Nên giảm các hoạt động mạnh")
    assert band(130) == ("Kém", "orange")  # the Spark band agrees with the Python one


def test_aqi_daily_needs_18_hours_of_pm(aqi_gold: dict[str, dict]) -> None:
    daily = aqi_gold["daily"]
    assert sorted(daily) == ["A1", "A2", "A3", "B1"]
    got = {k: (r["pm25_24h"], r["pm10_24h"], r["vn_aqi"], r["pm25_hours"], r["pm10_hours"]) for k, r in daily.items()}
    assert got["A2"] == (None, None, None, 17, 0)
    assert got["A3"] == (None, 200.0, 125, 0, 18)
    assert got["B1"] == (None, None, None, 1, 0)  # the previous day's hours are not B1's day
    assert daily["A2"]["no_index_reason"].startswith("PM_24H_INCOMPLETE")


# --- gold: aqi_province_daily --------------------------------------------------------------------


def test_aqi_province_daily(spark: SparkSession) -> None:
    other_day = date(2026, 11, 25)
    aqi = spark.createDataFrame(
        [
            ("A1", "01", DAY, 175),
            ("A2", "01", DAY, 40),
            ("A3", "01", DAY, None),  # A3 has no VN_AQI
            ("D2", "48", DAY, 120),
            ("D1", "48", DAY, 120),  # a tie: the lower station id is named
            ("B1", "79", DAY, 75),
            ("A2", "01", other_day, 300),  # not asked for
        ],
        "station_id STRING, province_code STRING, date DATE, vn_aqi INT",
    )
    out = aqi_province_daily({"aqi_daily": aqi}, [DAY])
    assert out.columns == REGISTRY["aqi_province_daily"].column_names
    got = sorted(tuple(r) for r in out.collect())
    assert got == [
        # (175 + 40) / 2 = 107.5; the worst station's 175 is "Xấu"
        ("01", "Hà Nội", DAY, 2, 175, 107.5, "Xấu", "A1"),
        ("48", "Đà Nẵng", DAY, 2, 120, 120.0, "Kém", "D1"),
        ("79", "TP Hồ Chí Minh", DAY, 1, 75, 75.0, "Trung bình", "B1"),
    ]


# --- gold: exceedances ---------------------------------------------------------------------------

QCVN05 = "QCVN 05:2023/BTNMT"
QCVN40_2011 = "QCVN 40:2011/BTNMT"
QCVN40_2025 = "QCVN 40:2025/BTNMT (limits unconfirmed; 40:2011 values carried over)"
NEW_YEAR_EVE, NEW_YEAR, LATE_AUGUST = date(2025, 12, 31), date(2026, 1, 1), date(2025, 8, 31)


@pytest.fixture(scope="module")
def exceeded(spark: SparkSession) -> list[tuple]:
    air = spark.createDataFrame(
        [
            # PM2.5 day mean (40 + 56) / 2 = 48: under the 50 limit on 2025-12-31, over the 45 limit from 2026-01-01
            *_hourly("P1", "01", "PM2.5", [40.0, 56.0], day=NEW_YEAR_EVE),
            *_hourly("P1", "01", "PM2.5", [40.0, 56.0], day=NEW_YEAR),
            # SO2: 400 > 350 (1 h); the day mean (400 + 20 + 30 + 30) / 4 = 120 stays under the 24 h limit 125
            *_hourly("P1", "01", "SO2", [400.0, 20.0, 30.0, 30.0], day=NEW_YEAR),
            # NO2: 200 is not above the 1 h limit 200; mean 100 is not above the 24 h limit 100
            *_hourly("P1", "01", "NO2", [200.0, 0.0], day=NEW_YEAR),
        ],
        AIR_SILVER_DDL,
    )
    facilities = spark.createDataFrame(
        [("F1", "B", 0.9, 1.0), ("F2", "A", 0.9, 1.0)], "facility_id STRING, qcvn_column STRING, kq DOUBLE, kf DOUBLE"
    )
    water = spark.createDataFrame(
        [
            # COD column B: C = 150, Cmax = 150 x Kq 0.9 x Kf 1.0 = 135 -> 140 exceeds, 130 does not
            ("F1", "W1", "75", "COD", 140.0, datetime(2026, 1, 1, 3), NEW_YEAR),
            ("F1", "W1", "75", "COD", 130.0, datetime(2026, 1, 1, 4), NEW_YEAR),
            # pH column A: 6..9, never scaled by Kq/Kf -> 5.0 is under the minimum 6;
            # 8.5 passes (8.5 < 9, though > 9 x 0.9)
            ("F2", "W2", "01", "pH", 5.0, datetime(2025, 8, 31, 3), LATE_AUGUST),
            ("F2", "W2", "01", "pH", 8.5, datetime(2025, 8, 31, 4), LATE_AUGUST),
        ],
        "facility_id STRING, station_id STRING, province_code STRING, parameter STRING, value DOUBLE, "
        "measured_at TIMESTAMP, measured_date DATE",
    )
    out = exceedances(
        {"air_quality_reading": air, "wastewater_reading": water, "wastewater_facility": facilities},
        [NEW_YEAR_EVE, NEW_YEAR, LATE_AUGUST],
    )
    assert out.columns == REGISTRY["exceedance"].column_names
    return sorted(tuple(r) for r in out.collect())


def test_exceedances(exceeded: list[tuple]) -> None:
    assert exceeded == [
        # 24 h period of 2026-01-01 local starts at 2025-12-31T17:00Z; 48 / 45 = 1.06666… -> 1.0667
        ("air", "P1", "01", "PM2.5", "24h", datetime(2025, 12, 31, 17), NEW_YEAR, 48.0, 45.0, "max", QCVN05, 1.0667),
        # 400 / 350 = 1.142857… -> 1.1429
        ("air", "P1", "01", "SO2", "1h", datetime(2026, 1, 1, 1), NEW_YEAR, 400.0, 350.0, "max", QCVN05, 1.1429),
        # 140 / 135 = 1.037037… -> 1.037 (from 2025-09-01 the carried-over 40:2011 values, flagged unconfirmed)
        (
            "wastewater",
            "W1",
            "75",
            "COD",
            "1h",
            datetime(2026, 1, 1, 3),
            NEW_YEAR,
            140.0,
            135.0,
            "max",
            QCVN40_2025,
            1.037,
        ),
        # 5 / 6 = 0.8333…: a 'min' limit, under QCVN 40:2011 (still in force on 2025-08-31)
        (
            "wastewater",
            "W2",
            "01",
            "pH",
            "1h",
            datetime(2025, 8, 31, 3),
            LATE_AUGUST,
            5.0,
            6.0,
            "min",
            QCVN40_2011,
            0.8333,
        ),
    ]
