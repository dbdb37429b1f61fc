"""
### Agriculture gold: crop production, OCOP by province, traceability completeness

Owner: **Bộ Nông nghiệp và Môi trường**. Scheduled on the certified silver assets of the
`agriculture` DAG. Each table is a small aggregate rewritten whole: `crop_production` (2025
province × crop × season × year, legacy provinces summed into their 2025 province),
`ocop_by_province` (2025 province × stars × group), `traceability_lineage` (input → output links
of EPCIS TransformationEvents), `traceability_completeness` (per product lot: which of
commissioning → shipping → receiving → retail_selling exist, the share, and for a processed lot its
inputs' completeness).
"""

from __future__ import annotations

from _common import gold_dag
from airflow.sdk import DAG

dag: DAG = gold_dag(
    "agriculture",
    dag_id="agriculture_gold",
    doc_md=__doc__,
    description="Agriculture gold: production by province, OCOP by province and stars, traceability",
)
