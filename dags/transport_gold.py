"""
### Transport gold: route service, stops per province, vehicle activity

Scheduled on the certified silver assets of the `transport` DAG. Rebuilds, for the days the
certified batches touched: `route_service_daily` (scheduled trips and vehicle-hours per route and
service day; a trip past 24:00 counts on its service day), `vehicle_activity_hourly` (vehicles and
pings per 2025 province × local hour: counts of pseudonyms, never the pseudonyms), and rewrites the
small `stops_by_province` whole. Gold holds no personal data.
"""

from __future__ import annotations

from _common import gold_dag
from airflow.sdk import DAG

dag: DAG = gold_dag(
    "transport",
    dag_id="transport_gold",
    doc_md=__doc__,
    description="Transport gold: route service per day, stops per province, vehicle activity per hour",
)
