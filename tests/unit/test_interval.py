"""Data intervals and batch ids: a rerun of an interval must find the batch it already landed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from jobs.interval import DataInterval
from jobs.payload import landing_key
from jobs.registry import REGISTRY


def test_local_day_is_17h_utc_to_17h_utc() -> None:
    interval = DataInterval.for_local_day(date(2026, 11, 26))
    assert interval.start == datetime(2026, 11, 25, 17, tzinfo=UTC)
    assert interval.end == datetime(2026, 11, 26, 17, tzinfo=UTC)
    assert interval.local_start_date == date(2026, 11, 26)


def test_parse_accepts_airflow_iso_strings_in_any_offset() -> None:
    vn = timezone(timedelta(hours=7))
    a = DataInterval.parse("2026-11-25T17:00:00+00:00", "2026-11-26T17:00:00+00:00")
    b = DataInterval.parse(datetime(2026, 11, 26, tzinfo=vn), datetime(2026, 11, 27, tzinfo=vn))
    assert a == b
    assert a.batch_id("air_quality_reading") == "air_quality_reading__20261125T1700Z-20261126T1700Z"


def test_batch_id_depends_only_on_dataset_and_interval() -> None:
    day = DataInterval.for_local_day(date(2026, 11, 26))
    assert day.batch_id("x") == DataInterval.for_local_day(date(2026, 11, 26)).batch_id("x")
    assert day.batch_id("x") != DataInterval.for_local_day(date(2026, 11, 27)).batch_id("x")
    assert day.batch_id("x") != day.batch_id("y")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2026, 11, 25, 17), datetime(2026, 11, 26, 17, tzinfo=UTC), "timezone-aware"),
        (datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC), "empty data interval"),
    ],
)
def test_bad_intervals_are_refused(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DataInterval(start, end)


def test_landing_key_is_a_function_of_dataset_and_interval() -> None:
    interval = DataInterval.for_local_day(date(2026, 11, 26))
    key = landing_key(REGISTRY["air_quality_reading"], interval)
    assert key == (
        "landing/environment/air_quality_reading/ingest_date=2026-11-26/"
        "air_quality_reading__20261125T1700Z-20261126T1700Z.jsonl"  # MQTT messages land as JSON lines
    )
    # a replay of the local CSV drop (LAKEHOUSE_EXTRACT_FROM=local) lands under its own format
    assert landing_key(REGISTRY["air_quality_reading"], interval, "csv") == key.removesuffix(".jsonl") + ".csv"
