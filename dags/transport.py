"""
### Transport: GTFS bus feed and commercial-vehicle GPS → certified silver

Owner: **Bộ Xây dựng**. One run per Vietnamese calendar day (Asia/Ho_Chi_Minh).

- **GTFS static feed** (`gtfs_stop`, `gtfs_route`, `gtfs_calendar`, `gtfs_calendar_date`,
  `gtfs_stop_time`, `gtfs_trip`): the zip is fetched once per interval over HTTP (resumable), its
  structure validated (a missing required file fails the land task with the file's name, no retry),
  read with gtfs-kit, and each member landed as its own batch tagged with the feed version. Stop
  times wait for stops, trips for routes and stop times (a trip without valid stop times is
  quarantined).
- **Vehicle positions** (`vehicle_position`): GPS pings landed from MQTT per interval by event
  time; plates and driver ids are pseudonymized (keyed HMAC) in silver, the raw values kept only in
  `restricted/transport/vehicle_position_identity`.

Each gate that passes emits the dataset's certified asset; `transport_gold` is scheduled on them.
Tasks are generated from the registry (`jobs/transport/datasets.py`).
"""

from __future__ import annotations

from _common import ingest_dag
from airflow.sdk import DAG

dag: DAG = ingest_dag(
    "transport",
    dag_id="transport",
    doc_md=__doc__,
    description="Transport sector: GTFS feed + vehicle GPS to certified silver",
)
