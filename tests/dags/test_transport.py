"""The transport DAGs' structure: generated from the registry; stop times wait for stops, trips for
routes and stop times; gold is scheduled on every certified silver input of its tables."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.registry import REGISTRY, Layer

SILVER = [d.name for d in REGISTRY.by_sector("transport", Layer.SILVER)]


@pytest.fixture(scope="module")
def dag(dagbag: Any) -> Any:
    return dagbag.get_dag("transport")


@pytest.fixture(scope="module")
def gold(dagbag: Any) -> Any:
    return dagbag.get_dag("transport_gold")


def test_ingest_dag_is_generated_from_the_registry(dag: Any) -> None:
    assert sorted(SILVER) == sorted(
        [
            "gtfs_stop",
            "gtfs_route",
            "gtfs_calendar",
            "gtfs_calendar_date",
            "gtfs_stop_time",
            "gtfs_trip",
            "vehicle_position",
        ]
    )
    assert set(dag.task_ids) == {
        f"{s}.{step}" for s in SILVER for step in ("land", "bronze", "silver", "gate", "publish")
    }
    assert dag.max_active_runs == 1
    assert dag.doc_md and "Bộ Xây dựng" in dag.doc_md and "transport_gold" in dag.doc_md
    assert "gtfs_stop.publish" in dag.get_task("gtfs_stop_time.silver").upstream_task_ids
    assert {"gtfs_route.publish", "gtfs_stop_time.publish"} <= dag.get_task("gtfs_trip.silver").upstream_task_ids
    assert "gtfs_trip.publish" not in dag.get_task("vehicle_position.silver").upstream_task_ids


def test_each_publish_emits_its_certified_asset(dag: Any) -> None:
    for name in SILVER:
        (asset,) = dag.get_task(f"{name}.publish").outlets
        assert asset.name == f"silver.transport_{name}"
        for step in ("land", "bronze", "silver", "gate"):
            assert dag.get_task(f"{name}.{step}").outlets == []


def test_gold_dag_waits_for_every_certified_silver_input(gold: Any) -> None:
    assert gold.doc_md and "route_service_daily" in gold.doc_md
    # By hand from the registry: route_service_daily <- route, trip, stop_time, calendar, calendar_date;
    # stops_by_province <- stop, stop_time, trip; vehicle_activity_hourly <- vehicle_position: all seven.
    scheduled = {a.name for a in gold.timetable.asset_condition.objects}
    assert scheduled == {f"silver.transport_{n}" for n in SILVER}
    gold_names = {d.name for d in REGISTRY.by_sector("transport", Layer.GOLD)}
    assert gold_names == {"route_service_daily", "stops_by_province", "vehicle_activity_hourly"}
    assert {t.task_id for t in gold.tasks} >= {f"gold_{n}" for n in gold_names}
