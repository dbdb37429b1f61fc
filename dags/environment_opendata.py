"""
### Environment open data: public gold tables as CSV, Parquet and DCAT-AP

Owner: **Bộ Nông nghiệp và Môi trường**. Scheduled on the assets of the sector's **PUBLIC** gold
tables (registry classification): whenever `environment_gold` rebuilds any of them, the rebuilt
tables are republished to the open-data bucket with their DCAT-AP description and the catalog is
refreshed (`jobs.opendata.publish`, the same as `lakehouse publish`). Run by hand, it republishes
every public gold table of the sector.

One writer: a single task, `max_active_runs=1`.
"""

from __future__ import annotations

from typing import Any

import pendulum
from _common import DEFAULT_ARGS, certified_asset, step
from airflow.sdk import DAG, AssetAny, get_current_context, task

from jobs.registry import REGISTRY, Classification, Layer

SECTOR = "environment"
PUBLIC_GOLD = [ds.name for ds in REGISTRY.by_sector(SECTOR, Layer.GOLD) if ds.classification == Classification.PUBLIC]
GOLD_ASSETS = {name: certified_asset(name) for name in PUBLIC_GOLD}


@task(task_id="publish_open_data", pool="default_pool")
def publish_open_data() -> list[dict[str, Any]]:
    """Republish the gold tables whose events triggered the run (all public ones when run by hand)."""
    triggering = get_current_context()["triggering_asset_events"]
    rebuilt = [name for name, asset in GOLD_ASSETS.items() if triggering.get(asset)]
    return step("publish_open_data", rebuilt or PUBLIC_GOLD)  # type: ignore[no-any-return]


with DAG(
    dag_id="environment_opendata",
    description="Environment open data: public gold tables as CSV/Parquet with DCAT-AP metadata",
    doc_md=__doc__,
    schedule=AssetAny(*GOLD_ASSETS.values()),  # any rebuilt public gold table
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["environment", "lakehouse", "opendata"],
) as dag:
    publish_open_data()
