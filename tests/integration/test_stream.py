"""The live path (``jobs.stream``) over the real channels: mosquitto, the FTPS drop, the store, Spark.

The committed fixture day is published to the broker (air readings, by the real publisher) and split
into its FTP transmissions (wastewater, as ``make sample`` does). The lander drains and copies them,
the stream refines them into the live views; the expected figures are the generator's own account
of what it injected (``expected_for``), not this code's. Then the nightly batch runs on the same day
and the books must agree reading for reading, and the alerts the stream wrote must be the ones the
nightly gold build writes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from sample_sources.environment.transmissions import split_day
from sample_sources.servers.ftp_server import serve_in_thread
from tests.integration.test_extract_mqtt import broker, publish_file_to  # noqa: F401 (the broker fixture)
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, expected_for, lake_bucket

INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
FTP_PASSWORD = secrets.token_urlsafe(16)  # a throw-away login for the in-process FTP server
AIR, WATER = REGISTRY["air_quality_reading"], REGISTRY["wastewater_reading"]


def _live_rows(key: str) -> list[dict[str, Any]]:
    from jobs.settings import get_settings
    from jobs.storage import delta_table_or_none

    table = delta_table_or_none(get_settings(), key)
    return [] if table is None else table.to_pyarrow_table().to_pylist()  # type: ignore[no-any-return]


def _reasons(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        out[row["reason_code"]] = out.get(row["reason_code"], 0) + 1
    return out


@pytest.fixture(scope="module")
def lake(broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    root = tmp_path_factory.mktemp("stream")
    sources = copy_fixture_sources(root / "sources")
    split_day(sources, FIXTURE_DAY)
    ftp = serve_in_thread(sources, password=FTP_PASSWORD)
    saved = {k: os.environ.get(k) for k in ("LAKEHOUSE_FTP_PORT", "LAKEHOUSE_FTP_PASSWORD")}
    os.environ.update(LAKEHOUSE_FTP_PORT=str(ftp.port), LAKEHOUSE_FTP_PASSWORD=FTP_PASSWORD)
    try:
        with lake_bucket("stream", sources, root / "gx", extract_from="channel") as bucket:
            yield bucket
    finally:
        ftp.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_live_views_alerts_and_books_match_the_nightly_batch(lake: str) -> None:
    from jobs import stream
    from jobs.extract.mqtt import register
    from jobs.pipeline import publish_gold, run_dataset
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    settings, spark = get_settings(), get_spark()
    start, end = INTERVAL.as_strings()
    for reference in ("air_station", "wastewater_facility"):
        run_dataset(reference, start, end, run_id="stream")
    assert AIR.source is not None
    register(AIR, settings)
    publish_file_to(AIR.source.options["topic"])

    landed = stream.land_once(settings, [FIXTURE_DAY])
    assert landed[AIR.name] >= expected_for(AIR.name)["data_rows"]  # + the retained manifest
    day_dir = Path(os.environ["LAKEHOUSE_SOURCE_ROOT"]) / f"environment/wastewater/{FIXTURE_DAY}"
    transmissions = sorted(day_dir.glob("*.csv"))
    assert landed[WATER.name] == len(transmissions) > 0
    assert stream.land_once(settings, [FIXTURE_DAY])[WATER.name] == 0  # a copied file is not copied again

    at_day_end = INTERVAL.end
    first = stream.stream_once(spark, settings, [FIXTURE_DAY], at_day_end, notify=False)
    assert {b.dataset: b.objects for b in first.batches}[WATER.name] == len(transmissions)
    assert first.alerts is not None and first.alerts > 0

    for ds in (AIR, WATER):
        expected = expected_for(ds.name)
        live = _live_rows(stream.live_key(ds))
        assert len(live) == expected["expected_silver_rows"], ds.name
        quarantined = _live_rows(stream.live_quarantine_key(ds))
        assert _reasons(quarantined) == expected["expected_quarantine"], ds.name
        assert {r["_batch_id"] for r in live} == {INTERVAL.batch_id(ds.name)}  # lineage names the nightly batch

    # Killed after its MERGEs, before its checkpoint moved: the rerun processes the same objects again.
    from jobs.storage import s3_client

    for ds in (AIR, WATER):
        s3_client().delete_object(Bucket=settings.bucket, Key=stream.checkpoint_key(ds))
    again = stream.stream_once(spark, settings, [FIXTURE_DAY], at_day_end + timedelta(seconds=5), notify=False)
    assert sum(b.lines for b in again.batches) == sum(b.lines for b in first.batches)  # it did re-read them
    for ds in (AIR, WATER):
        expected = expected_for(ds.name)
        assert len(_live_rows(stream.live_key(ds))) == expected["expected_silver_rows"], ds.name  # nothing doubled
        assert sum(_reasons(_live_rows(stream.live_quarantine_key(ds))).values()) == sum(
            expected["expected_quarantine"].values()
        )
    assert not any(b.lines for b in stream.stream_once(spark, settings, [FIXTURE_DAY], at_day_end).batches)

    live_alerts = {(r["alert_id"], r["status"]) for r in _live_rows(REGISTRY["alert"].table_path)}

    # The nightly batch, the system of record, on the same day and the same channels.
    for ds in (AIR, WATER):
        run_dataset(ds.name, start, end, run_id="stream")
    figures = stream.books(spark, FIXTURE_DAY, settings)
    for ds in (AIR, WATER):
        book = figures[ds.name]
        measured_today = sum(1 for r in _live_rows(stream.live_key(ds)) if r["measured_date"] == FIXTURE_DAY)
        assert book["live"] == book["silver"] == book["both"] == measured_today > 0, (ds.name, book)
        assert book["live_only"] == book["silver_only"] == 0, (ds.name, book)
        assert (
            book["live_quarantined"]
            == book["silver_quarantined"]
            == sum(expected_for(ds.name)["expected_quarantine"].values())
        ), (ds.name, book)

    publish_gold("aqi_hourly", [FIXTURE_DAY.isoformat()])
    publish_gold("alert", [FIXTURE_DAY.isoformat()])
    nightly = {
        (r["alert_id"], r["status"]) for r in _live_rows(REGISTRY["alert"].table_path) if r["date"] == FIXTURE_DAY
    }
    assert live_alerts == nightly and len(nightly) == first.alerts
