"""The environment DAG through real Airflow: parsing rules, structure, and dag.test() runs."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest

from jobs.registry import REGISTRY, Layer
from tests.lakehouse_fixtures import FIXTURE_DAY, REPO, copy_fixture_sources, lake_bucket, make_all_negative

DAG_FILE = REPO / "dags" / "environment_iot.py"
BAD_DAY = date(2026, 11, 21)


def logical_date_for(day: date) -> datetime:
    """The logical date whose data interval is the Vietnamese day ``day``."""
    nxt = day + timedelta(days=1)
    return pendulum.datetime(nxt.year, nxt.month, nxt.day, tz="Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(
        dag_folder=str(DAG_FILE.parent), known_pools={"default_pool", "lakehouse_spark", "lakehouse_quality_writer"}
    )
    assert bag.import_errors == {}
    return bag.get_dag("environment_iot")


def test_dag_file_does_no_heavy_imports_at_parse_time() -> None:
    heavy = ("pyspark", "great_expectations", "boto3", "deltalake", "pandas")
    probe = (
        f"import runpy, sys; runpy.run_path({str(DAG_FILE)!r}); "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""])


def test_dag_is_generated_from_the_registry(dag: Any) -> None:
    silver = [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]
    gold = [d.name for d in REGISTRY.by_sector("environment", Layer.GOLD)]
    expected = {f"{s}.{step}" for s in silver for step in ("land", "bronze", "silver", "gate")}
    expected |= {f"gold_{g}" for g in gold}
    assert set(dag.task_ids) == expected
    assert dag.max_active_runs == 1
    assert dag.doc_md and "Environment IoT" in dag.doc_md
    for task in dag.tasks:
        assert task.retries == 2
        assert task.pool == ("lakehouse_quality_writer" if task.task_id.endswith(".gate") else "lakehouse_spark")
    # readings are refined only after their reference list passed its gate
    assert "air_station.gate" in dag.get_task("air_quality_reading.silver").upstream_task_ids
    assert "wastewater_facility.gate" in dag.get_task("wastewater_reading.silver").upstream_task_ids
    assert dag.get_task("gold_aqi_daily").upstream_task_ids == {"air_quality_reading.gate"}
    assert dag.get_task("gold_aqi_province_daily").upstream_task_ids == {"gold_aqi_daily"}


def _gold_rows(name: str, day: date) -> int:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    uri = get_settings().s3a_uri(REGISTRY[name].table_path)
    return int(get_spark().read.format("delta").load(uri).where(f"date = DATE'{day.isoformat()}'").count())


def test_dag_run_succeeds_and_a_critical_failure_stops_before_gold(dag: Any, tmp_path: Path) -> None:
    sources = copy_fixture_sources(tmp_path / "sources")
    make_all_negative(sources, BAD_DAY)
    for ref in ("air_stations.csv", "wastewater_facilities.csv"):
        assert (sources / "environment" / "reference" / ref).exists()
    with lake_bucket("dag", sources, tmp_path / "gx"):
        good = dag.test(logical_date=logical_date_for(FIXTURE_DAY))
        states = {ti.task_id: ti.state for ti in good.get_task_instances()}
        assert good.state == "success", states
        # the run's data interval is the Vietnamese day [00:00, 24:00) +07:00
        assert good.data_interval_start == pendulum.datetime(2026, 11, 25, 17, tz="UTC")
        assert good.data_interval_end == pendulum.datetime(2026, 11, 26, 17, tz="UTC")
        assert set(states.values()) == {"success"}
        assert _gold_rows("aqi_daily", FIXTURE_DAY) > 0
        assert _gold_rows("aqi_province_daily", FIXTURE_DAY) > 0

        bad = dag.test(logical_date=logical_date_for(BAD_DAY))
        states = {ti.task_id: ti.state for ti in bad.get_task_instances()}
        assert bad.state == "failed"
        assert states["air_quality_reading.gate"] == "failed"
        assert states["air_station.gate"] == "success"
        assert states["gold_aqi_daily"] == "upstream_failed"
        assert states["gold_aqi_province_daily"] == "upstream_failed"
        assert states["gold_exceedance"] == "upstream_failed"
        assert _gold_rows("aqi_daily", BAD_DAY) == 0
