"""Pure transport transforms on tiny frames: plates, speed units, GTFS times past 24:00, stop order,
GPS jumps, service hours per route and day, provinces from coordinates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from pyspark.sql import SparkSession

from jobs.privacy import normalize_identifier, pseudonymize
from jobs.registry import PersonalKind
from jobs.transport import transforms as T
from jobs.transport.geo import haversine_km, province_of

KEY = b"k" * 32


@pytest.mark.parametrize("raw", ["29A-123.45", "29A12345", "29a 123.45", " 29A-12345 "])
def test_plate_spellings_share_one_canonical_form_and_one_pseudonym(raw: str) -> None:
    assert T.canonical_plate(raw) == "29A12345"
    assert normalize_identifier(raw) == "29A12345"  # what jobs.privacy hashes
    assert pseudonymize(PersonalKind.IDENTIFIER, raw, KEY) == pseudonymize(PersonalKind.IDENTIFIER, "29A12345", KEY)


@pytest.mark.parametrize("raw", ["", "ABC", "29-123.45", "2A12345", None])
def test_non_plates_are_refused(raw: str | None) -> None:
    assert T.canonical_plate(raw) is None


def test_speed_units() -> None:
    assert T.speed_to_kmh(10.0, "m/s") == pytest.approx(36.0)
    assert T.speed_to_kmh(36.0, "km/h") == 36.0
    assert T.speed_to_kmh(36.0, "KM / H") == 36.0
    assert T.speed_to_kmh(36.0, "knots") is None


def test_gtfs_times_may_pass_midnight() -> None:
    assert T.gtfs_time_seconds("25:10:00") == 25 * 3600 + 600
    assert T.gtfs_time_seconds("5:00:00") == 18000
    assert T.gtfs_time_seconds("24:60:00") is None
    assert T.seconds_to_gtfs_time(90600) == "25:10:00"


def test_province_from_coordinates() -> None:
    assert province_of(21.0285, 105.8542) == "01"  # Hoàn Kiếm, Hà Nội
    assert province_of(21.1860, 106.0760) == "24"  # Bắc Ninh city
    assert province_of(10.7769, 106.7009) == "79"  # TP Hồ Chí Minh
    assert province_of(0.0, 0.0) is None
    assert province_of(13.75, 100.5) is None  # Bangkok


def test_spark_speed_and_time_columns_match_the_python_rules(spark: SparkSession) -> None:
    from pyspark.sql import functions as F

    df = spark.createDataFrame(
        [("15", "m/s", "25:10:00"), ("54", "km/h", "07:05:09"), ("9", "furlong", "bad")], "v STRING, u STRING, t STRING"
    )
    rows = df.select(
        T.speed_kmh_column(F.col("v"), F.col("u")).alias("kmh"), T.gtfs_seconds(F.col("t")).alias("s")
    ).collect()
    assert [(r.kmh, r.s) for r in rows] == [(54.0, 90600), (54.0, 25509), (None, None)]


def _stop_times(spark: SparkSession, rows: list[tuple[Any, ...]]) -> Any:
    return spark.createDataFrame(
        rows, "feed_version STRING, trip_id STRING, stop_sequence INT, _source_line LONG, _is_duplicate BOOLEAN"
    )


def test_stop_sequence_gaps_are_fine_going_back_flags_the_whole_trip(spark: SparkSession) -> None:
    df = _stop_times(
        spark,
        [
            ("v1", "gaps", 10, 1, False),
            ("v1", "gaps", 20, 2, False),
            ("v1", "gaps", 50, 3, False),
            ("v1", "back", 1, 4, False),
            ("v1", "back", 2, 5, False),
            ("v1", "back", 4, 6, False),
            ("v1", "back", 3, 7, False),
            ("v1", "dup", 1, 8, False),
            ("v1", "dup", 1, 9, True),  # an exact duplicate line is removed, not a step back
            ("v1", "dup", 2, 10, False),
        ],
    )
    out = {r.trip_id: r._trip_sequence_broken for r in T.sequence_broken(df).collect()}
    assert out == {"gaps": False, "back": True, "dup": False}


def test_jump_detection_flags_the_spike_only(spark: SparkSession) -> None:
    """A → B → C with B 1° of latitude (≈111 km) away, 15 min apart: B implies ≈444 km/h on both legs."""
    leg = haversine_km(21.0, 105.8, 22.0, 105.8)
    assert 440 < leg / 0.25 < 450
    rows = [
        (1, "P1", datetime(2026, 11, 26, 1, 0), 21.0, 105.80, True),
        (2, "P1", datetime(2026, 11, 26, 1, 15), 22.0, 105.80, True),  # spike
        (3, "P1", datetime(2026, 11, 26, 1, 30), 21.0, 105.82, True),
        (4, "P1", datetime(2026, 11, 26, 1, 45), 0.0, 0.0, False),  # (0,0): not a neighbour
        (5, "P1", datetime(2026, 11, 26, 2, 0), 21.0, 105.84, True),
        (6, "P2", datetime(2026, 11, 26, 1, 0), 21.0, 105.80, True),  # another vehicle, alone
        (7, "P3", datetime(2026, 11, 26, 1, 0), 21.0, 105.80, True),  # first fix is the glitch
        (8, "P3", datetime(2026, 11, 26, 1, 15), 10.8, 106.70, True),
        (9, "P3", datetime(2026, 11, 26, 1, 30), 10.8, 106.71, True),
    ]
    df = spark.createDataFrame(
        rows, "_source_line LONG, k STRING, ts TIMESTAMP, latitude DOUBLE, longitude DOUBLE, c BOOLEAN"
    )
    flagged = {r._source_line for r in T.flag_jumps(df, key="k", ts="ts", candidate="c").collect() if r._jump}
    assert flagged == {2, 7}


def test_route_service_hours_with_a_trip_past_midnight(spark: SparkSession) -> None:
    """By hand, Thursday 2026-11-26, route R: trip T1 06:00:00 → 06:40:00 (40 min) and trip T2
    23:50:00 → 25:10:00 (80 min, runs into Friday but belongs to Thursday's service): 2 trips,
    120 min = 2.0 h, first departure 06:00:00, last arrival 25:10:00. Trip T3 runs on weekends
    only; trip T4's service is removed that day by calendar_dates; T5's service is added by it."""
    inputs = {
        "gtfs_route": spark.createDataFrame(
            [("v1", "R", "1", "Route R")],
            "feed_version STRING, route_id STRING, route_short_name STRING, route_long_name STRING",
        ),
        "gtfs_trip": spark.createDataFrame(
            [
                ("v1", "T1", "R", "WK", datetime(2026, 11, 26)),
                ("v1", "T2", "R", "WK", datetime(2026, 11, 26)),
                ("v1", "T3", "R", "WE", datetime(2026, 11, 26)),
                ("v1", "T4", "R", "GONE", datetime(2026, 11, 26)),
                ("v1", "T5", "R", "EXTRA", datetime(2026, 11, 26)),
            ],
            "feed_version STRING, trip_id STRING, route_id STRING, service_id STRING, _ingested_at TIMESTAMP",
        ),
        "gtfs_stop_time": spark.createDataFrame(
            [
                ("v1", "T1", 1, T.gtfs_time_seconds("06:00:00"), T.gtfs_time_seconds("06:00:00")),
                ("v1", "T1", 5, T.gtfs_time_seconds("06:40:00"), T.gtfs_time_seconds("06:40:00")),
                ("v1", "T2", 1, T.gtfs_time_seconds("23:50:00"), T.gtfs_time_seconds("23:50:00")),
                ("v1", "T2", 2, T.gtfs_time_seconds("25:10:00"), T.gtfs_time_seconds("25:10:00")),
                ("v1", "T3", 1, 36000, 36000),
                ("v1", "T3", 2, 39600, 39600),
                ("v1", "T4", 1, 36000, 36000),
                ("v1", "T4", 2, 39600, 39600),
                ("v1", "T5", 1, 43200, 43200),
                ("v1", "T5", 2, 45000, 45000),
            ],
            "feed_version STRING, trip_id STRING, stop_sequence INT, arrival_seconds INT, departure_seconds INT",
        ),
        "gtfs_calendar": spark.createDataFrame(
            [
                ("v1", "WK", *[True] * 5, False, False, date(2026, 11, 1), date(2027, 1, 31)),
                ("v1", "WE", *[False] * 5, True, True, date(2026, 11, 1), date(2027, 1, 31)),
                ("v1", "GONE", *[True] * 7, date(2026, 11, 1), date(2027, 1, 31)),
            ],
            "feed_version STRING, service_id STRING, monday BOOLEAN, tuesday BOOLEAN, wednesday BOOLEAN, "
            "thursday BOOLEAN, friday BOOLEAN, saturday BOOLEAN, sunday BOOLEAN, start_date DATE, end_date DATE",
        ),
        "gtfs_calendar_date": spark.createDataFrame(
            [("v1", "GONE", date(2026, 11, 26), 2), ("v1", "EXTRA", date(2026, 11, 26), 1)],
            "feed_version STRING, service_id STRING, date DATE, exception_type INT",
        ),
    }
    (row,) = T.route_service_daily(inputs, [date(2026, 11, 26)]).collect()
    # T1 + T2 + T5 (12:00 → 12:30, added by calendar_dates): 40 + 80 + 30 = 150 min = 2.5 h
    assert (row.route_id, row.trips, row.service_hours) == ("R", 3, 2.5)
    assert (row.first_departure, row.last_arrival) == ("06:00:00", "25:10:00")
    assert row.service_date == date(2026, 11, 26) and row.feed_version == "v1"
    # Saturday 2026-11-28: T3 (weekends) and T4 (GONE runs every day but the 26th)
    assert T.route_service_daily(inputs, [date(2026, 11, 28)]).collect()[0].trips == 2
