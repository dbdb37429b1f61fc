"""The agriculture DAGs' structure: generated from the registry, certified assets, gold on them.

Their runs go through the same builders as the environment DAGs (exercised by
``test_environment_gold.py``); the agriculture pipeline itself runs in
``tests/integration/test_agriculture_pipeline.py``.
"""

from __future__ import annotations

from typing import Any

from jobs.registry import REGISTRY, Layer

SILVER = [d.name for d in REGISTRY.by_sector("agriculture", Layer.SILVER)]


def test_ingest_dag_is_generated_from_the_registry(dagbag: Any) -> None:
    dag = dagbag.get_dag("agriculture")
    assert set(SILVER) == {"crop_stats", "ocop_product", "traceability_event"}
    assert set(dag.task_ids) == {
        f"{s}.{step}" for s in SILVER for step in ("land", "bronze", "silver", "gate", "publish")
    }
    assert dag.doc_md and "Bộ Nông nghiệp và Môi trường" in dag.doc_md and "agriculture_gold" in dag.doc_md
    # events are checked against the OCOP registry, so they are refined after its gate passed
    assert "ocop_product.publish" in dag.get_task("traceability_event.silver").upstream_task_ids
    for name in SILVER:
        (asset,) = dag.get_task(f"{name}.publish").outlets
        assert asset.name == f"silver.agriculture_{name}" and asset.uri.endswith(f"/silver/agriculture/{name}")


def test_gold_dag_is_scheduled_on_the_certified_silver_assets(dagbag: Any) -> None:
    dag = dagbag.get_dag("agriculture_gold")
    assert dag.doc_md and "crop_production" in dag.doc_md
    from airflow.sdk import AssetAny

    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)  # each input's certified batch: no event waits for the next full set
    assert {a.name for a in condition.objects} == {f"silver.agriculture_{n}" for n in SILVER}
    assert set(dag.task_ids) == {"certified_events"} | {
        f"gold_{d.name}" for d in REGISTRY.by_sector("agriculture", Layer.GOLD)
    }
    outlets = {a.name for t in dag.tasks for a in t.outlets}
    assert outlets == {f"gold.agriculture_{d.name}" for d in REGISTRY.by_sector("agriculture", Layer.GOLD)}
