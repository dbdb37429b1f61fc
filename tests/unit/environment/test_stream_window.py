"""The live path's pruning and order: the MERGE window (``jobs.stream.days_and_window``: the days and
event times a micro-batch's good rows span, added to the MERGE as literals so Delta skips the day's
other files) and the lander's oldest-first copy of FTP transmissions."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pyspark.sql import SparkSession

from jobs.registry import REGISTRY


def test_window_spans_the_rows_event_times_in_utc_and_names_their_local_days(spark: SparkSession) -> None:
    from jobs.stream import days_and_window

    rows = [  # measured_at naive = UTC (the session's zone); measured_date is the local (UTC+7) day
        ("S1", "PM2.5", datetime(2026, 11, 25, 16, 59, 30, 250000), date(2026, 11, 25)),
        ("S2", "PM2.5", datetime(2026, 11, 25, 17, 0), date(2026, 11, 26)),
        ("S1", "CO", datetime(2026, 11, 26, 3, 15), date(2026, 11, 26)),
    ]
    good = spark.createDataFrame(rows, "station_id string, parameter string, measured_at timestamp, measured_date date")
    days, window = days_and_window(good, REGISTRY["air_quality_reading"])
    assert days == {"2026-11-25", "2026-11-26"}
    assert window == ("2026-11-25 16:59:30.250000", "2026-11-26 03:15:00.000000")


def test_no_rows_no_window(spark: SparkSession) -> None:
    from jobs.stream import days_and_window

    good = spark.createDataFrame([], "station_id string, measured_at timestamp, measured_date date")
    assert days_and_window(good, REGISTRY["air_quality_reading"]) == (set(), None)


def test_a_window_needs_an_event_time_in_the_key(spark: SparkSession) -> None:
    from jobs.publish import merge_into_silver
    from jobs.settings import Settings

    stations = spark.createDataFrame([("S1",)], "station_id string")
    with pytest.raises(ValueError, match="air_station: an event window needs an event time in the natural key"):
        merge_into_silver(spark, REGISTRY["air_station"], stations, Settings(), uri="/nowhere", event_window=("a", "b"))


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
