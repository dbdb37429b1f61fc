"""Certified assets end to end through real Airflow: environment_iot → environment_gold.

A good day: every gate passes and emits its certified asset with the batch in ``extra``; the gold
DAG (run by hand, as ``make run`` does) rebuilds exactly the days the batches touched. A day whose
air readings are all out of range: the gate fails naming dataset, criterion, check and sample
values, emits **no** event for that dataset (checked in Airflow's metadata DB), and the gold DAG
run afterwards builds nothing for that day. A steward's ``lakehouse batch release`` of that held
batch then records its certified event in Airflow, and the next gold run builds the day.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest

from jobs.cli.dags import logical_date_for
from jobs.registry import REGISTRY, RULESET_VERSION, Criterion, Layer
from tests.dags.conftest import parse_for_this_lake
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, lake_bucket, make_all_negative

BAD_DAY = date(2026, 11, 21)
# By hand from the registry: aqi_hourly ← air_quality_reading; aqi_daily ← aqi_hourly;
# aqi_province_daily ← aqi_daily;
# exceedance ← air_quality_reading, wastewater_reading, wastewater_facility;
# alert ← air_quality_reading, wastewater_reading, wastewater_facility, aqi_hourly.
CERTIFIED_INPUTS = {
    "silver.environment_air_quality_reading",
    "silver.environment_wastewater_reading",
    "silver.environment_wastewater_facility",
}
SILVER_ASSETS = {f"silver.environment_{d.name}" for d in REGISTRY.by_sector("environment", Layer.SILVER)}
GOLD = [d.name for d in REGISTRY.by_sector("environment", Layer.GOLD)]


@pytest.fixture(scope="module")
def iot(dagbag: Any) -> Any:
    return dagbag.get_dag("environment_iot")


@pytest.fixture(scope="module")
def gold(dagbag: Any) -> Any:
    return dagbag.get_dag("environment_gold")


def test_gold_dag_is_scheduled_on_exactly_the_certified_inputs(gold: Any, iot: Any) -> None:
    from airflow.sdk import AssetAny

    condition = gold.timetable.asset_condition
    assert isinstance(condition, AssetAny)  # each input's certified batch: no event waits for the next full set
    assert {a.name for a in condition.objects} == CERTIFIED_INPUTS
    emitted = {a.name: a.uri for t in iot.tasks for a in t.outlets}
    assert {a.name: a.uri for a in condition.objects} == {n: emitted[n] for n in CERTIFIED_INPUTS}
    assert {a.name for a in gold.get_task("certified_events").inlets} == CERTIFIED_INPUTS


def test_gold_dag_has_one_writer_per_gold_table(gold: Any) -> None:
    assert set(gold.task_ids) == {"certified_events", "notify_alerts"} | {f"gold_{g}" for g in GOLD}
    assert gold.get_task("notify_alerts").upstream_task_ids == {"gold_alert"}
    assert gold.max_active_runs == 1
    assert gold.doc_md and "certified" in gold.doc_md
    for name in GOLD:
        task = gold.get_task(f"gold_{name}")
        assert [a.name for a in task.outlets] == [f"gold.environment_{name}"]
        assert task.pool == "lakehouse_spark" and task.retries == 2
    assert gold.get_task("gold_aqi_province_daily").upstream_task_ids == {"certified_events", "gold_aqi_daily"}
    assert gold.get_task("gold_aqi_daily").upstream_task_ids == {"certified_events", "gold_aqi_hourly"}
    assert gold.get_task("gold_exceedance").upstream_task_ids == {"certified_events"}
    assert gold.get_task("gold_alert").upstream_task_ids == {"certified_events", "gold_aqi_hourly"}
    assert gold.get_task("certified_events").pool == "default_pool"


def _events(run_id: str) -> dict[str, dict[str, Any]]:
    """Asset events a DAG run emitted, from Airflow's metadata DB: asset name → extra."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run_id)
        ).all()
    out: dict[str, dict[str, Any]] = {}
    for name, extra in rows:
        assert name not in out, f"two events of {name} in run {run_id}"
        out[name] = dict(extra)
    return out


def _latest_event(uri: str) -> dict[str, Any]:
    """The extra of the newest event of an asset (a steward's release has no source run)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        extra = session.scalar(
            select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri)
            .order_by(AssetEvent.timestamp.desc())
            .limit(1)
        )
    return dict(extra or {})


def _event_count(uri: str, run_id: str) -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AssetEvent)
                .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                .where(AssetModel.uri == uri, AssetEvent.source_run_id == run_id)
            )
        )


def _table(name: str) -> Any:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    return get_spark().read.format("delta").load(get_settings().s3a_uri(REGISTRY[name].table_path))


def _silences_by_hand(days: list[str]) -> set[tuple[str, str, datetime, datetime | None, datetime]]:
    """Gaps of more than an hour between a station's readings, as (medium, station, due, next, last):
    the alert rule written out in Python over the silver rows, for the days the alerts were built."""
    found = set()
    for medium, name in (("air", "air_quality_reading"), ("wastewater", "wastewater_reading")):
        rows = _table(name).select("station_id", "measured_at", "measured_date").collect()
        data_end = datetime.combine(max(r.measured_date for r in rows) + timedelta(days=1), time()) - timedelta(hours=7)
        times: dict[str, set[datetime]] = {}
        for r in rows:
            times.setdefault(r.station_id, set()).add(r.measured_at)
        for station, heard in times.items():
            ordered = sorted(heard)
            for last, following in zip(ordered, [*ordered[1:], None], strict=True):
                due = last + timedelta(hours=1)
                if (following or data_end) > due and (due + timedelta(hours=7)).date().isoformat() in days:
                    found.add((medium, station, due, following, last))
    return found


def _gold_rows(name: str, day: date) -> int:
    return int(_table(name).where(f"date = DATE'{day.isoformat()}'").count())


def _states(run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_certified_events_drive_gold_and_a_critical_failure_never_reaches_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from jobs.pipeline import plan_gold

    sources = copy_fixture_sources(tmp_path / "sources")
    make_all_negative(sources, BAD_DAY)
    with lake_bucket("assets", sources, tmp_path / "gx") as bucket:
        dags = parse_for_this_lake()
        iot, gold = dags["environment_iot"], dags["environment_gold"]
        assert iot.get_task("air_quality_reading.publish").outlets[0].uri.startswith(f"s3://{bucket}/")
        # --- a good day: four certified events, each carrying its batch ---
        good = iot.test(logical_date=logical_date_for(FIXTURE_DAY))
        assert good.state == "success", _states(good)
        assert set(_states(good).values()) == {"success"}
        events = _events(good.run_id)
        assert set(events) == SILVER_ASSETS
        touched = sorted(str(r[0]) for r in _table("air_quality_reading").select("measured_date").distinct().collect())
        assert FIXTURE_DAY.isoformat() in touched
        air = events["silver.environment_air_quality_reading"]
        assert air["dataset"] == "air_quality_reading" and air["lake"] == bucket
        assert air["batch_id"] == "air_quality_reading__20261125T1700Z-20261126T1700Z"
        assert air["data_interval_start"] == "2026-11-25T17:00:00+00:00"
        assert air["data_interval_end"] == "2026-11-26T17:00:00+00:00"
        assert air["days"] == touched  # the only batch in this lake: silver holds exactly its days
        assert air["ruleset_version"] == RULESET_VERSION
        assert set(air["scores"]) == {c.value for c in Criterion}
        assert all(0 <= s <= 100 for s in air["scores"].values())
        assert events["silver.environment_air_station"]["days"] == []  # a reference list has no days

        # --- gold by hand (no scheduler): the latest certified event of each input ---
        first = gold.test(logical_date=pendulum.datetime(2026, 11, 27, 1, tz="UTC"))
        assert first.state == "success", _states(first)
        assert set(_states(first).values()) == {"success"}
        published = _events(first.run_id)
        assert set(published) == {f"gold.environment_{g}" for g in GOLD}
        assert published["gold.environment_aqi_daily"]["dates"] == touched
        assert published["gold.environment_aqi_hourly"]["dates"] == touched
        assert published["gold.environment_exceedance"]["dates"] == touched
        assert published["gold.environment_aqi_province_daily"]["dates"] == touched
        # counts computed from silver, independently of the gold transforms
        from pyspark.sql import functions as F

        day_readings = _table("air_quality_reading").where(F.col("measured_date") == F.lit(FIXTURE_DAY))
        stations = day_readings.where(F.col("parameter").isin("PM2.5", "PM10", "NO2", "SO2", "CO", "O3"))
        n_stations = stations.select("station_id").distinct().count()
        assert n_stations > 0
        assert _gold_rows("aqi_daily", FIXTURE_DAY) == n_stations
        assert _gold_rows("aqi_hourly", FIXTURE_DAY) == 24 * n_stations  # every hour, with an index or a reason
        daily = _table("aqi_daily").where(F.col("date") == F.lit(FIXTURE_DAY))
        provinces = daily.where(F.col("vn_aqi").isNotNull()).select("province_code").distinct().count()
        assert _gold_rows("aqi_province_daily", FIXTURE_DAY) == provinces > 0
        assert {r[0] for r in _table("exceedance").select("medium").distinct().collect()} <= {"air", "water"}
        assert _gold_rows("exceedance", FIXTURE_DAY) > 0
        # alerts would rebuild the 7 days before too, but only certified ones: here there are none
        assert published["gold.environment_alert"]["dates"] == touched
        hourly_over = _table("exceedance").where(F.col("averaging") == "1h")
        episodes = _table("alert").where(F.col("kind") == "exceedance")
        # every 1 h exceedance belongs to exactly one episode, and each episode opens on one of them
        assert (episodes.agg(F.sum("readings_over")).first()[0] or 0) == hourly_over.count()
        opened = episodes.select("entity_id", "parameter", F.col("opened_at").alias("period_start"))
        assert opened.join(hourly_over, ["entity_id", "parameter", "period_start"], "left_anti").count() == 0
        # silences, found by hand from silver (quarantined readings leave gaps): same episodes
        silent = {
            (r.medium, r.entity_id, r.opened_at, r.closed_at, r.last_seen_at)
            for r in _table("alert").where(F.col("kind") == "silent").collect()
        }
        assert silent == _silences_by_hand(touched) and silent
        assert published["gold.environment_alert"]["rows"] == _table("alert").count()
        rows_after_good = {g: _gold_rows(g, FIXTURE_DAY) for g in GOLD}
        for g in GOLD:
            assert published[f"gold.environment_{g}"]["rows"] == _table(g).count()

        # --- a day with a critical failure: the gate fails, names what failed, emits nothing ---
        capfd.readouterr()
        bad = iot.test(logical_date=logical_date_for(BAD_DAY))
        log = "".join(capfd.readouterr())
        states = _states(bad)
        assert bad.state == "failed"
        assert states["air_quality_reading.gate"] == "failed"
        assert states["air_quality_reading.publish"] == "upstream_failed"  # held: nothing published
        assert states["air_station.gate"] == states["wastewater_reading.gate"] == "success"
        assert states["air_station.publish"] == states["wastewater_reading.publish"] == "success"
        start = log.find("Quality gate failed for silver.environment_air_quality_reading")
        assert start >= 0, log[-3000:]
        message = log[start : start + 3000].replace("\\n", "\n")
        criteria = "|".join(c.value for c in Criterion)
        assert re.search(
            rf"\n  - criterion ({criteria}), check [a-z0-9_.:-]+ \(.+\): .+; sample offending values: ", message
        ), message
        air_uri = iot.get_task("air_quality_reading.publish").outlets[0].uri
        water_uri = iot.get_task("wastewater_reading.publish").outlets[0].uri
        assert _event_count(air_uri, bad.run_id) == 0
        assert _event_count(water_uri, bad.run_id) == 1  # the control: the passing gates did emit
        assert set(_events(bad.run_id)) == SILVER_ASSETS - {"silver.environment_air_quality_reading"}

        # --- the gold run afterwards finds no new certified air batch: nothing for that day ---
        second = gold.test(logical_date=pendulum.datetime(2026, 11, 22, 1, tz="UTC"))
        assert second.state == "success", _states(second)
        for g in GOLD:
            assert _gold_rows(g, BAD_DAY) == 0, g
            assert BAD_DAY.isoformat() not in _events(second.run_id).get(f"gold.environment_{g}", {}).get("dates", [])
        assert {g: _gold_rows(g, FIXTURE_DAY) for g in GOLD} == rows_after_good

        # --- the scheduled path, on the real events: what a triggered run would build ---
        bad_events = list(_events(bad.run_id).values())
        history = list(events.values()) + bad_events
        plan = plan_gold("exceedance", bad_events, history, bucket)
        assert plan["days"] == [] and plan["intervals"] == []
        assert plan["waiting"] == [
            {
                "interval": ["2026-11-20T17:00:00+00:00", "2026-11-21T17:00:00+00:00"],
                "missing": ["air_quality_reading"],
            }
        ]
        assert plan_gold("aqi_daily", bad_events, history, bucket)["days"] == []
        assert plan_gold("exceedance", list(events.values()), history, bucket)["days"] == touched
        assert plan_gold("exceedance", list(events.values()), history, "another-lake")["days"] == []

        # --- a steward releases the held batch: its certified event reaches Airflow and gold follows ---
        from jobs.cli import main

        batch = "air_quality_reading__20261120T1700Z-20261121T1700Z"
        assert main(["batch", "release", batch, "--reason", "values confirmed by the operator", "--steward", "t"]) == 0
        assert "Certified asset event emitted for silver.environment_air_quality_reading" in capfd.readouterr().out
        released = _latest_event(air_uri)
        assert released["batch_id"] == batch and released["release_id"].startswith("rel-")
        assert released["data_interval_start"] == "2026-11-20T17:00:00+00:00" and released["lake"] == bucket
        assert released["days"] == [BAD_DAY.isoformat()]
        third = gold.test(logical_date=pendulum.datetime(2026, 11, 22, 2, tz="UTC"))
        assert third.state == "success", _states(third)
        assert BAD_DAY.isoformat() in _events(third.run_id)["gold.environment_exceedance"]["dates"]
