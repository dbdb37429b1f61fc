"""The open-data DAG: scheduled on exactly the PUBLIC gold assets the gold DAG emits."""

from __future__ import annotations

from typing import Any

# By hand from the registry: every environment gold table is classified PUBLIC.
PUBLIC_GOLD = {
    "gold.environment_aqi_hourly",
    "gold.environment_aqi_daily",
    "gold.environment_aqi_province_daily",
    "gold.environment_exceedance",
}


def test_opendata_dag_follows_the_public_gold_assets(dagbag: Any) -> None:
    from airflow.sdk import AssetAny

    dag = dagbag.get_dag("environment_opendata")
    gold = dagbag.get_dag("environment_gold")
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)  # any rebuilt public table is republished
    emitted = {a.name: a.uri for t in gold.tasks for a in t.outlets}
    assert {a.name: a.uri for a in condition.objects} == {n: emitted[n] for n in PUBLIC_GOLD}
    assert dag.task_ids == ["publish_open_data"]
    assert dag.max_active_runs == 1
    assert dag.get_task("publish_open_data").outlets == []
