"""The environment IoT DAG's structure: generated from the registry, one certified asset per gate.

Its runs (a good day, a day with a critical failure) are exercised together with the gold DAG in
``test_environment_gold.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobs.registry import REGISTRY, Layer


@pytest.fixture(scope="module")
def dag(dagbag: Any) -> Any:
    return dagbag.get_dag("environment_iot")


def test_dag_is_generated_from_the_registry(dag: Any) -> None:
    silver = [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]
    assert set(dag.task_ids) == {
        f"{s}.{step}" for s in silver for step in ("land", "bronze", "silver", "gate", "publish")
    }
    assert dag.max_active_runs == 1
    assert dag.doc_md and "Environment IoT" in dag.doc_md and "environment_gold" in dag.doc_md
    for task in dag.tasks:
        assert task.retries == 2
        assert task.pool == ("lakehouse_quality_writer" if task.task_id.endswith(".gate") else "lakehouse_spark")
    # readings are refined only after their reference list passed its gate and was published
    assert "air_station.publish" in dag.get_task("air_quality_reading.silver").upstream_task_ids
    assert "wastewater_facility.publish" in dag.get_task("wastewater_reading.silver").upstream_task_ids


def test_each_publish_and_only_the_publish_emits_its_certified_asset(dag: Any) -> None:
    for name in [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]:
        ds = REGISTRY[name]
        (asset,) = dag.get_task(f"{name}.publish").outlets
        assert asset.name == f"silver.environment_{name}"
        assert asset.uri.endswith(f"/silver/environment/{name}") and asset.uri.startswith("s3://")
        assert asset.name == ds.qualified_name
        for step in ("land", "bronze", "silver", "gate"):
            assert dag.get_task(f"{name}.{step}").outlets == []
