"""
### Environment IoT: air quality and industrial wastewater → certified silver

Owner: **Bộ Nông nghiệp và Môi trường**. One run per Vietnamese calendar day (Asia/Ho_Chi_Minh).

For every silver dataset of the sector in the registry: **land** (raw payload, once per batch
id) → **bronze** (parsed, lineage) → **silver** (typed, NFC, 2025 province codes, MERGE;
bad rows to quarantine with a reason) → **gate** (Great Expectations, scored per criterion
đúng / đủ / sạch / sống). Readings wait for the reference lists they join.

A gate that passes emits the dataset's **certified asset** (`silver.environment_<dataset>`) with
the batch in the event's `extra`: data interval, batch id, the days the batch touched, the scores
and the ruleset version. A critical failure fails the gate task (no retry: data does not change)
and emits nothing, so gold is never built from that batch. Gold is published by the downstream
DAG `environment_gold`, scheduled on these certified assets.

One writer per Delta table: each table is written by exactly one task, `max_active_runs=1`
keeps runs from overlapping, and the shared quality tables are written by gate tasks that
share the one-slot `lakehouse_quality_writer` pool. Tasks are generated from the dataset
registry (`jobs/registry.py`), so a new dataset needs no edit here.
"""

from __future__ import annotations

from _common import ingest_dag
from airflow.sdk import DAG

dag: DAG = ingest_dag(
    "environment",
    dag_id="environment_iot",
    doc_md=__doc__,
    description="Environment IoT sector: air quality + wastewater to certified silver",
)
