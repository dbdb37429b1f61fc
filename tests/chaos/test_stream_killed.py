"""Scenario: the live path's stream, then its lander, SIGKILLed mid-day and restarted.

A generated day (its own account of every reading and of every QCVN exceedance it holds:
``_generation_report.json``) reaches the live path on the real channels: the morning's air readings
are published to a private mosquitto and the morning's wastewater transmissions are in the FTPS drop
when ``lakehouse stream lander`` and ``lakehouse stream run`` start as child processes. The stream is
SIGKILLed (with its JVM) the moment its first MERGE into the live view commits; the afternoon is then
published, and the lander is SIGKILLed the moment it lands the afternoon's first object. Both restart
and run to the end of the day. Then:

- the live views hold exactly the readings the generator says reach silver, none twice, and the
  live quarantine the reasons it says it injected;
- ``gold.environment_alert`` holds one ``exceedance`` alert per episode in the generator's report
  (station, parameter, limit kind, opening time) and one ``device`` alert per device-error episode
  (station, parameter, opening time), and the local SMTP server received each notice
  (opened / closed) of the day's alerts exactly once;
- the nightly batch on the same day: the books balance reading for reading (live = silver = both),
  the same quarantine, and the nightly gold build writes the alert ids and states the stream wrote.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from sample_sources.environment.generate import generate
from sample_sources.environment.transmissions import DAY_DIR, split_day
from sample_sources.servers.ftp_server import serve_in_thread
from tests.chaos import faults
from tests.chaos.scenario import ScenarioRow, sized
from tests.integration.test_extract_mqtt import broker  # noqa: F401 (the broker fixture)
from tests.integration.test_notify import Mailbox, smtp  # noqa: F401 (the SMTP server fixture)
from tests.lakehouse_fixtures import REPO, lake_bucket

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

DAY = date(2026, 11, 24)
INTERVAL = DataInterval.for_local_day(DAY)
AIR, WATER = REGISTRY["air_quality_reading"], REGISTRY["wastewater_reading"]
AFTERNOON_FROM_HOUR = 12
PERIOD = "1"  # seconds between rounds of both processes
LOCAL = timedelta(hours=7)


@dataclass
class Day:
    sources: Path
    report: dict[str, Any]
    morning: Path  # the air readings published before the stream is killed
    afternoon: Path
    held: Path  # the afternoon's FTP transmissions, moved into the drop after the kill
    mailbox: Mailbox
    log_dir: Path


def _entry(report: dict[str, Any], dataset: str) -> dict[str, Any]:
    return next(e for e in report["files"].values() if e["dataset"] == dataset)


def _split_air(path: Path, out: Path) -> tuple[Path, Path]:
    """The day's air file as two files to publish, the morning's lines and the rest, each stating the
    day's whole count (the retained manifest is the day's, whichever half is published last)."""
    lines = path.read_bytes().splitlines(keepends=True)
    header, data = lines[0], lines[1:]
    cut = next(i for i, line in enumerate(data) if f"T{AFTERNOON_FROM_HOUR:02d}:00:00".encode() in line)
    out.mkdir(parents=True, exist_ok=True)
    halves = []
    for name, part in (("morning", data[:cut]), ("afternoon", data[cut:])):
        half = out / f"{name}.csv"
        half.write_bytes(header + b"".join(part))
        Path(f"{half}.manifest.json").write_text(json.dumps({"rows": len(data)}))
        halves.append(half)
    return halves[0], halves[1]


@pytest.fixture
def day(
    broker: Any,  # noqa: F811
    smtp: tuple[Mailbox, int],  # noqa: F811
    tmp_path: Path,
) -> Iterator[Day]:
    sources = tmp_path / "sources"
    report = generate(sources, DAY, 1, sized(5_000, 100_000), seed=42, progress=False)
    morning, afternoon = _split_air(sources / f"environment/air_quality/readings_{DAY:%Y%m%d}.csv", tmp_path / "mqtt")
    split_day(sources, DAY)
    held = tmp_path / "held"
    held.mkdir()
    drop = sources / DAY_DIR.format(day=DAY)
    for f in drop.glob("*.csv"):  # <facility>_<station>_<YYYYMMDDHH>0000.csv
        stamp = f.stem.rsplit("_", 1)[1]
        if stamp[:8] == f"{DAY:%Y%m%d}" and int(stamp[8:10]) >= AFTERNOON_FROM_HOUR:
            f.rename(held / f.name)
    password = secrets.token_urlsafe(16)
    ftp = serve_in_thread(sources, password=password)
    box, smtp_port = smtp
    env = {
        "LAKEHOUSE_FTP_PORT": str(ftp.port),
        "LAKEHOUSE_FTP_PASSWORD": password,
        "LAKEHOUSE_SMTP_HOST": "127.0.0.1",
        "LAKEHOUSE_SMTP_PORT": str(smtp_port),
        "LAKEHOUSE_ALERT_EMAIL_TO": "canhbao@monre.gov.vn",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with lake_bucket("streamkill", sources, tmp_path / "gx", extract_from="channel"):
            yield Day(sources, report, morning, afternoon, held, box, tmp_path / "logs")
    finally:
        ftp.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _start(step: str, log_dir: Path, attempt: int) -> subprocess.Popen[bytes]:
    """``lakehouse stream <step>`` following DAY, in its own process group (its JVM dies with it)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out = (log_dir / f"{step}-{attempt}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "stream", step, "--period", PERIOD, "--day", DAY.isoformat()],
        env=dict(os.environ),
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(what: str, ready: Callable[[], bool], procs: list[subprocess.Popen[bytes]], log_dir: Path) -> None:
    deadline = time.monotonic() + sized(600, 1800)
    while not ready():
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {f.name}\n{f.read_text()[-3000:]}" for f in sorted(log_dir.glob("*.log")))
            raise AssertionError(f"waiting for {what}: {'a process exited' if dead else 'timed out'}\n{logs}")
        time.sleep(0.5)


def _local_iso(ts: datetime) -> str:
    return (ts.replace(tzinfo=UTC) + LOCAL).strftime("%Y-%m-%dT%H:%M:%S+07:00")


def _episode(row: dict[str, Any]) -> tuple[str, str, str, str, str]:
    return (row["medium"], row["entity_id"], row["parameter"], row["limit_kind"], _local_iso(row["opened_at"]))


def _notice_ids(box: Mailbox) -> list[str]:
    return [str(m["Message-ID"]).split("@")[0].strip("<") for m in box.messages]


def test_stream_and_lander_killed_mid_day(day: Day, chaos_row: ScenarioRow) -> None:
    from jobs import stream
    from jobs.extract.mqtt import register
    from jobs.pipeline import publish_gold, run_dataset
    from jobs.settings import get_settings
    from jobs.spark import get_spark
    from jobs.storage import s3_client
    from sample_sources.servers.mqtt_publisher import publish_file

    settings = get_settings()
    start, end = INTERVAL.as_strings()
    for reference in ("air_station", "wastewater_facility"):
        run_dataset(reference, start, end, run_id="streamkill")
    assert AIR.source is not None
    topic = AIR.source.options["topic"]
    register(AIR, settings)
    expected = {ds.name: _entry(day.report, ds.name) for ds in (AIR, WATER)}

    def publish(path: Path) -> None:
        publish_file(path, topic, topic_field="station_id", event_time="measured_at", day=DAY, force=True)

    publish(day.morning)
    lander, streamer = _start("lander", day.log_dir, 1), _start("run", day.log_dir, 1)
    try:
        # 1. The stream dies the moment its first MERGE into the live view has committed.
        _wait(
            "the first live commit",
            lambda: faults.table_version(stream.live_key(AIR)) >= 1,
            [lander, streamer],
            day.log_dir,
        )
        faults.kill_group(streamer)
        assert streamer.returncode == -9
        at_kill = len(faults.table_rows(stream.live_key(AIR)))

        # 2. The afternoon arrives while the stream is down; the lander dies landing its first object.
        spooled = set(stream.log_keys(AIR, [DAY], settings))
        for f in day.held.iterdir():
            shutil.move(str(f), day.sources / DAY_DIR.format(day=DAY) / f.name)
        publish(day.afternoon)
        _wait(
            "the afternoon's first landed object",
            lambda: bool(set(stream.log_keys(AIR, [DAY], settings)) - spooled),
            [lander],
            day.log_dir,
        )
        faults.kill_group(lander)
        assert lander.returncode == -9

        # 3. Both restart and catch up with the whole day.
        lander, streamer = _start("lander", day.log_dir, 2), _start("run", day.log_dir, 2)

        def caught_up() -> bool:
            """Every reading in the live views, every log object in the checkpoint (written after both
            MERGEs) and no rebuild owed (cleared after the alerts are written)."""
            for ds in (AIR, WATER):
                if len(faults.table_rows(stream.live_key(ds))) < expected[ds.name]["expected_silver_rows"]:
                    return False
                checkpoint = stream.Checkpoint.read(ds, settings)
                if checkpoint.alerts_due or set(stream.log_keys(ds, [DAY], settings)) - checkpoint.processed:
                    return False
            return True

        _wait("the whole day in the live views and its alerts", caught_up, [lander, streamer], day.log_dir)
        alerts = [r for r in faults.table_rows(REGISTRY["alert"].table_path) if r["date"] == DAY]
        owed = {f"{r['alert_id']}.opened" for r in alerts} | {
            f"{r['alert_id']}.closed" for r in alerts if r["closed_at"] is not None
        }
        _wait("every notice in the mailbox", lambda: owed <= set(_notice_ids(day.mailbox)), [streamer], day.log_dir)
    finally:
        for proc in (lander, streamer):
            if proc.poll() is None:
                faults.kill_group(proc)

    # The live views: every reading once, each rejected record with its reason.
    live_rows = {ds.name: faults.table_rows(stream.live_key(ds)) for ds in (AIR, WATER)}
    quarantined = {ds.name: faults.table_rows(stream.live_quarantine_key(ds)) for ds in (AIR, WATER)}
    doubled = 0
    for ds in (AIR, WATER):
        keys = Counter(tuple(r[k] for k in ds.natural_key) for r in live_rows[ds.name])
        doubled += sum(n - 1 for n in keys.values())
        assert len(live_rows[ds.name]) == expected[ds.name]["expected_silver_rows"], ds.name
        reasons = Counter(r["reason_code"] for r in quarantined[ds.name])
        assert dict(reasons) == expected[ds.name]["expected_quarantine"], ds.name
    assert doubled == 0
    assert 0 < at_kill < expected[AIR.name]["expected_silver_rows"]  # the kill was mid-day

    # Every exceedance the generator put in the day alerted exactly once, and every notice sent once.
    exceedances = [_episode(r) for r in alerts if r["kind"] == "exceedance"]
    generated = [
        (e["medium"], e["station_id"], e["parameter"], e["limit_kind"], e["opened_at"])
        for e in day.report["exceedance_episodes"]
        if e["opened_at"].startswith(DAY.isoformat())
    ]
    assert sorted(exceedances) == sorted(generated)
    assert len(generated) == sum(day.report["exceedance_alerts"][DAY.isoformat()].values()) > 0
    devices = [_episode(r)[:3] + _episode(r)[4:] for r in alerts if r["kind"] == "device"]
    in_error = [
        (e["medium"], e["station_id"], e["parameter"], e["opened_at"])
        for e in day.report["device_error_episodes"]
        if e["opened_at"].startswith(DAY.isoformat())
    ]
    assert sorted(devices) == sorted(in_error)
    assert len(in_error) == sum(day.report["device_alerts"][DAY.isoformat()].values()) > 0
    sent = Counter(_notice_ids(day.mailbox))
    assert [n for n, times in sent.items() if times > 1] == []
    assert owed <= set(sent)

    # The checkpoint lost (killed after the MERGEs, before it moved): the rerun doubles nothing.
    spark = get_spark()
    for ds in (AIR, WATER):
        s3_client().delete_object(Bucket=settings.bucket, Key=stream.checkpoint_key(ds))
    stream.stream_once(spark, settings, [DAY], INTERVAL.end, notify=False)
    for ds in (AIR, WATER):
        assert len(faults.table_rows(stream.live_key(ds))) == expected[ds.name]["expected_silver_rows"], ds.name
        assert len(faults.table_rows(stream.live_quarantine_key(ds))) == len(quarantined[ds.name]), ds.name

    # The nightly batch, the system of record, on the same day and the same channels.
    for ds in (AIR, WATER):
        run_dataset(ds.name, start, end, run_id="streamkill")
    figures = stream.books(spark, DAY, settings)
    for ds in (AIR, WATER):
        book = figures[ds.name]
        measured_today = sum(1 for r in live_rows[ds.name] if r["measured_date"] == DAY)
        assert book["live"] == book["silver"] == book["both"] == measured_today > 0, (ds.name, book)
        assert book["live_only"] == book["silver_only"] == 0, (ds.name, book)
        assert book["live_quarantined"] == book["silver_quarantined"] == len(quarantined[ds.name]), (ds.name, book)
    live_alerts = {(r["alert_id"], r["status"]) for r in alerts}
    publish_gold("aqi_hourly", [DAY.isoformat()])
    publish_gold("alert", [DAY.isoformat()])
    nightly = {
        (r["alert_id"], r["status"]) for r in faults.table_rows(REGISTRY["alert"].table_path) if r["date"] == DAY
    }
    assert live_alerts == nightly

    chaos_row.count(
        records_in=sum(e["data_rows"] for e in expected.values()),
        silver=sum(len(v) for v in live_rows.values()),
        quarantined=sum(len(v) for v in quarantined.values()),
        merged_duplicates=sum(e["expected_duplicates_removed"] for e in expected.values()),
        duplicated=doubled,
    )
    chaos_row.detail = (
        f"stream killed after its first live commit ({at_kill} air readings), lander killed landing the "
        f"afternoon; {len(exceedances)} exceedance alerts = the generator's {len(generated)}, "
        f"{len(devices)} device alerts = its {len(in_error)}, "
        f"{len(alerts)} alerts, {sum(sent.values())} notices each sent once; books = nightly batch"
    )
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0
