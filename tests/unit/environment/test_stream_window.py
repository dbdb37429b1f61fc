"""The live path's pruning and order: the MERGE windows (``jobs.stream.days_and_windows``: the days and
event-time ranges a micro-batch's good rows span, added to the MERGE as literals so Delta skips the day's
other files) and the lander's oldest-first copy of FTP transmissions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pyspark.sql import DataFrame, SparkSession

from jobs.registry import REGISTRY


def test_windows_span_the_rows_hours_in_utc_and_name_their_local_days(spark: SparkSession) -> None:
    """Consecutive hours make one window; a late reading of hours before is a window of its own, so it
    does not stretch the MERGE over every file in between."""
    from jobs.stream import days_and_windows

    rows = [  # measured_at naive = UTC (the session's zone); measured_date is the local (UTC+7) day
        ("S9", "PM2.5", datetime(2026, 11, 25, 9, 0), date(2026, 11, 25)),  # late: 16:00 local yesterday
        ("S9", "CO", datetime(2026, 11, 25, 9, 0), date(2026, 11, 25)),
        ("S1", "PM2.5", datetime(2026, 11, 25, 16, 59, 30, 250000), date(2026, 11, 25)),
        ("S2", "PM2.5", datetime(2026, 11, 25, 17, 0), date(2026, 11, 26)),
        ("S1", "CO", datetime(2026, 11, 25, 18, 15), date(2026, 11, 26)),
        ("S3", "CO", datetime(2026, 11, 25, 20, 0), date(2026, 11, 26)),  # 19:00 missing: a new window
    ]
    good = spark.createDataFrame(rows, "station_id string, parameter string, measured_at timestamp, measured_date date")
    days, windows = days_and_windows(good, REGISTRY["air_quality_reading"])
    assert days == {"2026-11-25", "2026-11-26"}
    assert windows == [
        ("2026-11-25 09:00:00.000000", "2026-11-25 09:00:00.000000"),
        ("2026-11-25 16:59:30.250000", "2026-11-25 18:15:00.000000"),
        ("2026-11-25 20:00:00.000000", "2026-11-25 20:00:00.000000"),
    ]


def test_no_rows_no_window(spark: SparkSession) -> None:
    from jobs.stream import days_and_windows

    good = spark.createDataFrame([], "station_id string, measured_at timestamp, measured_date date")
    assert days_and_windows(good, REGISTRY["air_quality_reading"]) == (set(), [])


def test_a_window_needs_an_event_time_in_the_key(spark: SparkSession) -> None:
    from jobs.publish import merge_into_silver
    from jobs.settings import Settings

    stations = spark.createDataFrame([("S1",)], "station_id string")
    with pytest.raises(ValueError, match="air_station: an event window needs an event time in the natural key"):
        merge_into_silver(
            spark, REGISTRY["air_station"], stations, Settings(), uri="/nowhere", event_windows=[("a", "b")]
        )


def test_transmissions_are_copied_oldest_first_whatever_the_facility() -> None:
    from jobs.stream import transmission_order

    names = [
        "WW-75-0050_WW-75-0050-S1_20261126040000.csv",
        "WW-01-0001_WW-01-0001-S1_20261126050000.csv",
        "WW-01-0001_WW-01-0001-S1_20261126040000.csv",
        "WW-33-0051_WW-33-0051-S1_20261125230000.csv",
        "notes.csv",
    ]
    assert sorted(names, key=transmission_order) == [
        "notes.csv",
        "WW-33-0051_WW-33-0051-S1_20261125230000.csv",
        "WW-01-0001_WW-01-0001-S1_20261126040000.csv",
        "WW-75-0050_WW-75-0050-S1_20261126040000.csv",
        "WW-01-0001_WW-01-0001-S1_20261126050000.csv",
    ]


def _readings(spark: SparkSession, latest: dict[str, datetime]) -> DataFrame:
    rows = [(station, at) for station, at in latest.items()]
    return spark.createDataFrame(rows, "station_id string, measured_at timestamp")


def test_a_replayed_days_clock_is_not_moved_by_one_station_ahead_of_the_rest(spark: SparkSession) -> None:
    """Replaying 2026-11-24 (the wall clock days later): eleven stations have reported up to 07:00 UTC,
    one sent a reading stamped 20:00 (its clock wrong, or its transmission early). Judged by that one
    reading every other station would be silent for thirteen hours; the medium's clock stays at 07:00."""
    from jobs.stream import alert_clock

    air = {f"S{n}": datetime(2026, 11, 24, 7) for n in range(11)} | {"AHEAD": datetime(2026, 11, 24, 20)}
    water = {"W1": datetime(2026, 11, 24, 6), "W2": datetime(2026, 11, 24, 3)}  # few: the latest of them
    clocks = alert_clock(
        _readings(spark, air), _readings(spark, water), date(2026, 11, 24), now=datetime(2026, 12, 6, 12, tzinfo=UTC)
    )
    assert clocks == {"air": datetime(2026, 11, 24, 7, tzinfo=UTC), "wastewater": datetime(2026, 11, 24, 6, tzinfo=UTC)}


def test_following_today_the_clock_is_the_wall_clock(spark: SparkSession) -> None:
    from jobs.stream import alert_clock

    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    air = _readings(spark, {"S1": datetime(2026, 11, 24, 7)})
    assert alert_clock(air, air, date(2026, 11, 24), now=now) == {"air": now, "wastewater": now}


def test_only_yesterday_and_today_are_judged_by_the_wall_clock() -> None:
    """The stream re-judges silences on the clock for these days only; a replayed day moves with its data."""
    from jobs.stream import judged_by_wall_clock

    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 10:00 in Hanoi on the 26th
    assert judged_by_wall_clock(date(2026, 11, 26), now)
    assert judged_by_wall_clock(date(2026, 11, 25), now)  # ended 17:00 UTC on the 25th: 10 h ago
    assert not judged_by_wall_clock(date(2026, 11, 24), now)  # ended 34 h ago
