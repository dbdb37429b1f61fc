"""
### Reference data: administrative units → certified silver dimension

Owner: **Bộ Tài chính** (its statistics office publishes the GSO codes). One run per Vietnamese
calendar day (Asia/Ho_Chi_Minh); each run re-exports the whole lists, so a library upgrade shows up
as a new `source-version` in landing and, if any unit changed, as a silver MERGE.

- `province`: the 34 provincial units since 2025-07-01 (`vietnam-provinces`), names cross-checked
  against `vietnamadminunits`, codes against the GSO list;
- `province_legacy`: the 63 provinces valid until 2025-06-30 (`vietnamadminunits`);
- `province_mapping`: legacy code → 2025 code, codes reused for another province flagged (waits for
  both lists: each side must exist in the dimension);
- `commune`: the 3,321 communes, wards and special zones (waits for `province`).

Sources are landed by the `library` channel: the pinned library is the source. The gates check
exact counts (34 / 63 / 63 / 3,321), every code present, unique 2-digit codes, NFC names. Other
sectors check their province codes against `silver.reference_province` (`jobs/reference/dimension.py`).
"""

from __future__ import annotations

from _common import ingest_dag
from airflow.sdk import DAG

dag: DAG = ingest_dag(
    "reference",
    dag_id="reference",
    doc_md=__doc__,
    description="Reference data: provinces (34 and legacy 63), old→new mapping, communes to certified silver",
)
