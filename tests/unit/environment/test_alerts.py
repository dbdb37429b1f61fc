"""Alert episodes (jobs/environment/alerts.py) on hand-made readings: every expected row is worked out
in the comments from the limits as the regulations table them (QCVN 05:2023 SO2 1 h 350 µg/Nm³;
QCVN 40 column B: COD 150 mg/L × Kq × Kf, pH 5.5–9; VN_AQI 'Xấu' from 151, Decision 1459/QĐ-TCMT).

Times are UTC; Vietnam local = UTC + 7, so local day 2026-11-26 runs 2026-11-25T17:00Z .. 2026-11-26T17:00Z.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from pyspark.sql import DataFrame, SparkSession

from jobs.environment.alerts import alerts
from jobs.pipeline import with_days_before
from jobs.registry import REGISTRY

DAY = date(2026, 11, 26)
QCVN05 = "QCVN 05:2023/BTNMT"
QCVN40 = "QCVN 40:2025/BTNMT (limits unconfirmed; 40:2011 values carried over)"
AQI_SOURCE = "Decision 1459/QĐ-TCMT (VN_AQI), Bảng 1: 'Xấu' from 151"
SILENCE = "reading_interval of the dataset registry (60 min)"
DEVICE = "Circular 10/2021/TT-BTNMT: device status 'error' (báo lỗi thiết bị)"


def t(hour: int, day: int = 26) -> datetime:
    """A UTC time on 2026-11-<day>."""
    return datetime(2026, 11, day, hour)


def local_date(at: datetime) -> date:
    return (at + timedelta(hours=7)).date()


STATION_NAMES = {"A1": "Trạm Nguyễn Văn Cừ", "A2": "Trạm Bắc Ninh", "A3": "Trạm Đông Hà"}


def air(station: str, province: str, parameter: str, at: datetime, value: float, status: str = "measuring") -> tuple:
    return (station, STATION_NAMES[station], province, parameter, value, at, local_date(at), status)


def water(station: str, parameter: str, at: datetime, value: float) -> tuple:
    return ("F1", station, "75", parameter, value, at, local_date(at), "measuring")


def flagged(station: str, parameter: str, at: datetime, value: float, status: str, row: str = "open") -> tuple:
    """A wastewater reading quarantined because its device was not measuring (as the quarantine holds
    it: its record's values as text, times as Spark writes a UTC timestamp)."""
    record = {
        "facility_id": "F1",
        "station_id": station,
        "parameter": parameter,
        "measured_at": at.strftime("%Y-%m-%d %H:%M:%S"),
        "value": str(value),
        "device_status": status,
    }
    return ("wastewater_reading", "75", "DEVICE_NOT_MEASURING", row, record)


AIR_READINGS = [
    # A1 SO2 (1 h limit 350): 100 | 400 500 | 300 closes | 360 | 100 while in error: does not close | 100 closes
    *[
        air("A1", "01", "SO2", t(h), v, s)
        for h, v, s in [
            (1, 100.0, "measuring"),
            (2, 400.0, "measuring"),
            (3, 500.0, "measuring"),
            (4, 300.0, "measuring"),
            (5, 360.0, "measuring"),
            (6, 100.0, "error"),
            (7, 100.0, "measuring"),
        ]
    ],
    air("A1", "01", "NO2", t(3), 250.0, "calibrating"),  # over NO2's 200, but calibrating: no alert
    # then nothing until 16:00Z (23:00 local): silent from 08:00Z (due) to 16:00Z
    air("A1", "01", "SO2", t(16), 400.0),  # opens at 23:00 local on the 26th ...
    air("A1", "01", "SO2", t(17), 100.0),  # ... closes at 00:00 local on the 27th (next day's data)
    # A2 PM2.5 (no 1 h limit): 01:00Z, then 04:00Z..16:00Z -> silent 02:00Z..04:00Z only (16:00Z + 1 h = the
    # end of the 26th, and the 27th's silence is the 27th's alert)
    *[air("A2", "24", "PM2.5", t(h), 30.0) for h in [1, *range(4, 17)]],
    # A3: over since 23:00 local on the 25th, back at 01:00 local on the 26th: the 25th's alert, not ours;
    # silent after 18:00Z (due 19:00Z = 02:00 local on the 26th) to the end of the data: open
    air("A3", "44", "SO2", datetime(2026, 11, 25, 16), 400.0),
    air("A3", "44", "SO2", datetime(2026, 11, 25, 17), 400.0),
    air("A3", "44", "SO2", datetime(2026, 11, 25, 18), 100.0),
]
WATER_READINGS = [
    # COD, column B, Kq 0.9, Kf 1.0: Cmax = 150 × 0.9 × 1.0 = 135 -> 140 over, 130 back under
    water("W1", "COD", t(1), 140.0),
    water("W1", "COD", t(2), 130.0),
    # pH, column B minimum 5.5 (never scaled): 5.0, 4.8 under it, 7.0 back
    water("W1", "pH", t(1), 5.0),
    water("W1", "pH", t(2), 4.8),
    water("W1", "pH", t(3), 7.0),
    # after 03:00Z nothing: silent from 04:00Z to the end of the data (the 26th, 17:00Z): open
    # W2 measures COD at 01:00Z and every hour from 04:00Z to 16:00Z; at 02:00Z and 03:00Z its device
    # sent 'error' (quarantined, below): a device alert from 02:00Z closed by the 04:00Z measurement,
    # and no silence (a flagged reading is a transmission)
    *[water("W2", "COD", t(h), 100.0) for h in [1, *range(4, 17)]],
]
QUARANTINED_WATER = [
    flagged("W2", "COD", t(2), 900.0, "error"),
    flagged("W2", "COD", t(3), 950.0, "error"),
    flagged("W2", "COD", t(3), 950.0, "error"),  # the same reading again (the live path's quarantine)
    flagged("W2", "BOD5", t(16), 5.0, "error"),  # no later BOD5 reading: still open at the end
    flagged("W2", "TSS", t(5), 7.0, "error", row="accepted"),  # a steward accepted it: the flag was wrong
    flagged("W2", "TSS", t(6), 8.0, "calibrating"),  # not an error
]
# A2's hourly VN_AQI: 120 | 160 210 (no index) | 140 closes | 155 still open at the end
AQI_HOURS = [(0, 120), (1, 160), (2, 210), (3, None), (4, 140), (5, 155)]


@pytest.fixture(scope="module")
def inputs(spark: SparkSession) -> dict[str, DataFrame]:
    reading = "province_code STRING, parameter STRING, value DOUBLE, measured_at TIMESTAMP, measured_date DATE, "
    reading += "device_status STRING"
    quarantine = "dataset STRING, province_code STRING, reason_code STRING, status STRING, record MAP<STRING, STRING>"
    return {
        "air_quality_reading": spark.createDataFrame(
            AIR_READINGS, "station_id STRING, station_name STRING, " + reading
        ),
        "wastewater_reading": spark.createDataFrame(
            WATER_READINGS, "facility_id STRING, station_id STRING, " + reading
        ),
        "air_quality_reading_quarantine": spark.createDataFrame([], quarantine),
        "wastewater_reading_quarantine": spark.createDataFrame(QUARANTINED_WATER, quarantine),
        "wastewater_facility": spark.createDataFrame(
            [("F1", "Công ty Giấy Sông Lam", "B", 0.9, 1.0)],
            "facility_id STRING, facility_name STRING, qcvn_column STRING, kq DOUBLE, kf DOUBLE",
        ),
        "aqi_hourly": spark.createDataFrame(
            [("A2", "24", DAY, t(h), aqi) for h, aqi in AQI_HOURS],
            "station_id STRING, province_code STRING, date DATE, hour_start TIMESTAMP, vn_aqi INT",
        ),
    }


def _rows(df: DataFrame) -> list[tuple]:
    keep = ("kind", "entity_id", "parameter", "opened_at", "closed_at", "status", "date", "open_value", "peak_value")
    keep += ("limit_value", "limit_kind", "limit_source", "readings_over", "last_seen_at")
    return sorted(tuple(r[k] for k in keep) for r in df.collect())


@pytest.fixture(scope="module")
def day_alerts(inputs: dict[str, DataFrame]) -> DataFrame:
    return alerts(inputs, [DAY])


def test_alert_episodes_of_the_day(day_alerts: DataFrame) -> None:
    assert day_alerts.columns == REGISTRY["alert"].column_names
    late = t(16)
    assert _rows(day_alerts) == [
        ("aqi", "A2", "VN_AQI", t(1), t(4), "closed", DAY, 160.0, 210.0, 150.0, "max", AQI_SOURCE, 2, None),
        ("aqi", "A2", "VN_AQI", t(5), None, "open", DAY, 155.0, 155.0, 150.0, "max", AQI_SOURCE, 1, None),
        ("device", "W2", "BOD5", t(16), None, "open", DAY, 5.0, 5.0, None, None, DEVICE, 1, None),
        ("device", "W2", "COD", t(2), t(4), "closed", DAY, 900.0, 950.0, None, None, DEVICE, 2, None),
        ("exceedance", "A1", "SO2", t(2), t(4), "closed", DAY, 400.0, 500.0, 350.0, "max", QCVN05, 2, None),
        ("exceedance", "A1", "SO2", t(5), t(7), "closed", DAY, 360.0, 360.0, 350.0, "max", QCVN05, 1, None),
        ("exceedance", "A1", "SO2", late, t(17), "closed", DAY, 400.0, 400.0, 350.0, "max", QCVN05, 1, None),
        ("exceedance", "W1", "COD", t(1), t(2), "closed", DAY, 140.0, 140.0, 135.0, "max", QCVN40, 1, None),
        ("exceedance", "W1", "pH", t(1), t(3), "closed", DAY, 5.0, 4.8, 5.5, "min", QCVN40, 2, None),
        ("silent", "A1", None, t(8), t(16), "closed", DAY, None, None, 60.0, "max", SILENCE, None, t(7)),
        ("silent", "A2", None, t(2), t(4), "closed", DAY, None, None, 60.0, "max", SILENCE, None, t(1)),
        ("silent", "A3", None, t(19, 25), None, "open", DAY, None, None, 60.0, "max", SILENCE, None, t(18, 25)),
        ("silent", "W1", None, t(4), None, "open", DAY, None, None, 60.0, "max", SILENCE, None, t(3)),
    ]


def test_alerts_name_station_facility_and_province(day_alerts: DataFrame) -> None:
    named = {(r.kind, r.entity_id, r.facility_id, r.entity_name, r.province_code) for r in day_alerts.collect()}
    assert named == {
        ("aqi", "A2", None, "Trạm Bắc Ninh", "24"),
        ("device", "W2", "F1", "Công ty Giấy Sông Lam", "75"),
        ("exceedance", "A1", None, "Trạm Nguyễn Văn Cừ", "01"),
        ("exceedance", "W1", "F1", "Công ty Giấy Sông Lam", "75"),
        ("silent", "A1", None, "Trạm Nguyễn Văn Cừ", "01"),
        ("silent", "A2", None, "Trạm Bắc Ninh", "24"),
        ("silent", "A3", None, "Trạm Đông Hà", "44"),
        ("silent", "W1", "F1", "Công ty Giấy Sông Lam", "75"),
    }


def test_alert_ids_are_the_episode_whatever_the_build(inputs: dict[str, DataFrame], day_alerts: DataFrame) -> None:
    """A rebuild, alone or with other days, finds the same ids: a restart writes no alert twice."""
    ids = {(r.kind, r.entity_id, r.parameter, r.opened_at): r.alert_id for r in day_alerts.collect()}
    assert len(set(ids.values())) == len(ids) == 13
    wider = alerts(inputs, [date(2026, 11, 25), DAY, date(2026, 11, 27)])
    again = {(r.kind, r.entity_id, r.parameter, r.opened_at): r.alert_id for r in wider.collect() if r.date == DAY}
    assert again == ids
    # the 25th's own episodes: A3's SO2 from 16:00Z (23:00 local), closed by the 18:00Z reading
    previous = [(r.kind, r.entity_id, r.opened_at, r.closed_at) for r in wider.collect() if r.date < DAY]
    assert previous == [("exceedance", "A3", datetime(2026, 11, 25, 16), datetime(2026, 11, 25, 18))]


def test_days_before_are_rebuilt_with_a_day() -> None:
    assert with_days_before({"2026-11-26"}, 0) == {"2026-11-26"}
    assert with_days_before({"2026-03-01", "2026-03-02"}, 2) == {
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
        "2026-03-02",
    }


def test_live_clock_opens_a_silence_after_the_interval_and_a_reading_closes_it(
    inputs: dict[str, DataFrame], spark: SparkSession
) -> None:
    """The live path judges silence by its clock (``as_of``): W1's last reading is at 03:00Z, so at
    03:59Z it is not silent yet, at 04:01Z it is (open since 04:00Z, when its next reading was due),
    and once it transmits again at 06:00Z the same episode (same id) closes there."""

    def silences(frame: DataFrame) -> dict[str, tuple]:
        return {
            r.entity_id: (r.alert_id, r.opened_at, r.closed_at, r.status)
            for r in frame.collect()
            if r.kind == "silent" and r.medium == "wastewater"
        }

    assert silences(alerts(inputs, [DAY], as_of=t(3) + timedelta(minutes=59))) == {}
    opened = silences(alerts(inputs, [DAY], as_of=t(4) + timedelta(minutes=1)))
    assert [v[1:] for v in opened.values()] == [(t(4), None, "open")]
    back = spark.createDataFrame([water("W1", "COD", t(6), 100.0)], inputs["wastewater_reading"].schema)
    resumed = {**inputs, "wastewater_reading": inputs["wastewater_reading"].unionByName(back)}
    closed = silences(alerts(resumed, [DAY], as_of=t(6) + timedelta(minutes=5)))
    assert closed == {"W1": (opened["W1"][0], t(4), t(6), "closed")}


def test_each_medium_can_be_judged_by_its_own_clock(inputs: dict[str, DataFrame]) -> None:
    """Replaying a day, the live path gives each medium its own latest reading as the clock: air
    readings landed an hour ahead of the FTP transmissions do not make the facilities silent."""
    water_silences = [
        r.entity_id
        for r in alerts(inputs, [DAY], as_of={"air": t(5), "wastewater": t(3) + timedelta(minutes=59)}).collect()
        if r.kind == "silent" and r.medium == "wastewater"
    ]
    assert water_silences == []
    by_air_clock = [
        r.entity_id
        for r in alerts(inputs, [DAY], as_of={"air": t(5), "wastewater": t(5)}).collect()
        if r.kind == "silent" and r.medium == "wastewater"
    ]
    assert by_air_clock == ["W1"]
