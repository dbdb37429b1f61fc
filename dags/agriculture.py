"""
### Agriculture: crop statistics, OCOP products, traceability → certified silver

Owner: **Bộ Nông nghiệp và Môi trường**. One run per Vietnamese calendar day (Asia/Ho_Chi_Minh).
Every source comes over HTTP: `crop_stats` as a CSV export download (Vietnamese number notation,
legacy TCVN3/VNI fonts, pre-2025 provinces), `ocop_product` as a paginated JSON API (the page
total is the stated count), `traceability_event` as a GS1 EPCIS 2.0 JSON-LD document (its
`epcisBody.eventList`).

For each: **land** → **bronze** → **silver** (typed, NFC, provinces mapped to the 34 of 2025 by
the record's date; bad rows to quarantine with a reason) → **gate** (đúng / đủ / sạch / sống).
Traceability waits for the OCOP registry it is checked against. A passing gate emits the
dataset's certified asset; gold is built by `agriculture_gold`.
"""

from __future__ import annotations

from _common import ingest_dag
from airflow.sdk import DAG

dag: DAG = ingest_dag(
    "agriculture",
    dag_id="agriculture",
    doc_md=__doc__,
    description="Agriculture sector: crop statistics, OCOP registry, EPCIS traceability to certified silver",
)
