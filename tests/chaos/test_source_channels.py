"""Chaos scenario 6: source channels cut, killed and restarted, and late MQTT messages → exactly once.

Real components only: the sample HTTP and FTP servers (their fault switches cut the connection
mid-body), a private mosquitto with persistence (infra/mqtt/mqtt.sh), the lander in a subprocess
killed with SIGKILL, and the real store. Every input row carries a unique key written by the test
itself; the books are counted from what was landed against those keys, never from the adapters'
own counts. This is a landing-level scenario: the ``silver`` column holds the distinct input keys
found in landing (the readings' silver placement is covered by the environment pipeline tests).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Channel, Dataset
from sample_sources.servers.ftp_server import RunningFTP
from sample_sources.servers.ftp_server import serve_in_thread as serve_ftp
from sample_sources.servers.http_api import SourceHTTPServer
from sample_sources.servers.http_api import serve_in_thread as serve_http
from tests.chaos.scenario import ScenarioRow, sized
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, lake_bucket

REPO = Path(__file__).resolve().parents[2]
MQTT_SH = REPO / "infra" / "mqtt" / "mqtt.sh"
HTTP_PORT, FTP_PORT, MQTT_PORT, MQTT_DEVICE_PORT = 19150, 19151, 19152, 19153  # this scenario's range: 19150-19159
DAY = FIXTURE_DAY
NEXT_DAY = DAY + timedelta(days=1)
INTERVAL = DataInterval.for_local_day(DAY)
LOCAL = timezone(timedelta(hours=7))
FTP_PASSWORD = secrets.token_urlsafe(12)
WASTEWATER = REGISTRY["wastewater_reading"]
AIR = REGISTRY["air_quality_reading"]
AIR_HEADER = "station_id,station_name,province_code,parameter,value,unit,measured_at,device_status"


# --- the store, the servers and the broker -----------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixture_sources(tmp_path_factory.mktemp("sources"))  # the reference lists readings join


@pytest.fixture
def lake(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path / "state"))
    with lake_bucket("chaos-src", root, tmp_path / "gx", extract_from="channel") as bucket:
        yield bucket


@pytest.fixture(scope="module")
def http(root: Path) -> Iterator[SourceHTTPServer]:
    server, url = serve_http(root, HTTP_PORT)
    saved = os.environ.get("LAKEHOUSE_HTTP_SOURCE_URL")
    os.environ["LAKEHOUSE_HTTP_SOURCE_URL"] = url
    try:
        yield server
        assert server.faults.pending == 0, "an armed HTTP fault never fired"
    finally:
        _restore("LAKEHOUSE_HTTP_SOURCE_URL", saved)
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def ftp(root: Path) -> Iterator[RunningFTP]:
    running = serve_ftp(root, FTP_PORT, password=FTP_PASSWORD)
    saved = {k: os.environ.get(k) for k in ("LAKEHOUSE_FTP_PASSWORD", "LAKEHOUSE_FTP_PORT")}
    os.environ.update(LAKEHOUSE_FTP_PASSWORD=FTP_PASSWORD, LAKEHOUSE_FTP_PORT=str(FTP_PORT))
    try:
        yield running
        assert running.faults.pending == 0, "an armed FTP fault never fired"
    finally:
        for k, v in saved.items():
            _restore(k, v)
        running.stop()


class Broker:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, command: str) -> None:
        subprocess.run([str(MQTT_SH), command], env=self.env, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    mqtt_env = {
        "LAKEHOUSE_MQTT_DIR": str(tmp_path_factory.mktemp("mqtt")),
        "LAKEHOUSE_MQTT_PORT": str(MQTT_PORT),
        "LAKEHOUSE_MQTT_USER": "lakehouse",
        "LAKEHOUSE_MQTT_PASSWORD": secrets.token_urlsafe(16),
        "LAKEHOUSE_MQTT_DEVICE_PORT": str(MQTT_DEVICE_PORT),
        "LAKEHOUSE_MQTT_PUBLISHER_PASSWORD": secrets.token_urlsafe(16),
    }
    saved = {k: os.environ.get(k) for k in mqtt_env}
    os.environ.update(mqtt_env)
    b = Broker({**os.environ, **mqtt_env})
    b.run("start")
    try:
        yield b
    finally:
        b.run("stop")
        for k, v in saved.items():
            _restore(k, v)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _landed(key: str) -> bytes:
    from jobs.settings import get_settings
    from jobs.storage import s3_client

    s = get_settings()
    return s3_client(s).get_object(Bucket=s.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


def _books(row: ScenarioRow, written: set[str], landed_keys: list[str], detail: str) -> None:
    """Fill the row from the keys the test wrote and the keys found in landing; assert nothing lost or doubled."""
    seen = Counter(landed_keys)
    found = written & set(seen)
    duplicated = sum(n - 1 for n in seen.values())
    row.count(records_in=len(written), silver=len(found), quarantined=0, duplicated=duplicated)
    row.detail = detail
    assert set(seen) - written == set(), "landing holds keys the source never had"
    assert row.lost == 0, f"{len(written - found)} keys lost, e.g. {sorted(written - found)[:5]}"
    assert row.duplicated == 0, f"landed twice: {[k for k, n in seen.items() if n > 1][:5]}"


# --- 1. HTTP and FTP dropped mid-transfer ------------------------------------------------------


def _csv_rows(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:07d},{'x' * 48}" for i in range(n)]


def test_http_download_dropped_mid_transfer(chaos_row: ScenarioRow, http: SourceHTTPServer, lake: str) -> None:
    """A CSV download cut three times mid-body: each retry resumes with Range; every row lands once."""
    from jobs.landing import land
    from jobs.settings import get_settings

    rows = _csv_rows("h", sized(20_000, 1_000_000))
    body = ("key,filler\n" + "".join(r + "\n" for r in rows)).encode()
    root = Path(os.environ["LAKEHOUSE_SOURCE_ROOT"]) / "chaos"
    root.mkdir(exist_ok=True)
    (root / f"http_{DAY:%Y%m%d}.csv").write_bytes(body)
    assert WASTEWATER.source is not None
    ds = replace(
        WASTEWATER,
        source=replace(
            WASTEWATER.source,
            channel=Channel.HTTP,
            format="csv",
            options={"kind": "download", "path": "/files/chaos/http_{date:%Y%m%d}.csv"},
        ),
    )
    path = f"/files/chaos/http_{DAY:%Y%m%d}.csv"
    drops = 3
    http.faults.requests.clear()
    http.faults.drop_after(path, len(body) // 4, times=drops)  # every cut response delivers a quarter

    batch = land(ds, INTERVAL, replace(get_settings(), http_attempts=drops + 2))

    gets = [r for _m, p, r in http.faults.requests if p == path]
    assert len(gets) == drops + 1 and gets[0] is None and all(r and r.startswith("bytes=") for r in gets[1:])
    landed = _landed(batch.key)
    assert landed == body
    keys = [line.split(",", 1)[0] for line in landed.decode().splitlines()[1:]]
    _books(chaos_row, {r.split(",", 1)[0] for r in rows}, keys, f"{drops} drops, {drops} Range resumes")


def test_http_pages_dropped_mid_transfer(chaos_row: ScenarioRow, http: SourceHTTPServer, lake: str) -> None:
    """A paginated API whose pages are cut mid-body: resumed from the saved cursor, each item once."""
    from jobs.landing import land
    from jobs.settings import get_settings

    n, limit = sized(5_000, 200_000), sized(250, 2_000)
    items = [{"key": f"p-{i:07d}", "name": f"Sản phẩm {i}"} for i in range(n)]
    root = Path(os.environ["LAKEHOUSE_SOURCE_ROOT"]) / "chaos"
    root.mkdir(exist_ok=True)
    (root / "pages.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    assert WASTEWATER.source is not None
    route = "/api/pages/chaos/pages.jsonl"
    ds = replace(
        WASTEWATER,
        source=replace(
            WASTEWATER.source,
            channel=Channel.HTTP,
            format="jsonl",
            options={"kind": "pages", "path": route, "limit": limit},
        ),
    )
    http.faults.drop_after(route, 100, skip=2)  # page 3 cut
    http.faults.drop_after(route, 1_000, skip=5)  # and a later page too
    batch = land(ds, INTERVAL, replace(get_settings(), http_attempts=5))
    keys = [json.loads(line)["key"] for line in _landed(batch.key).decode().splitlines()]
    assert batch.stated_rows == n
    _books(chaos_row, {i["key"] for i in items}, keys, f"{n // limit} pages, 2 cut mid-body")


def test_ftp_dropped_mid_transfer(chaos_row: ScenarioRow, ftp: RunningFTP, lake: str) -> None:
    """Station files cut mid-download (control and data connection): resumed with REST, each row once."""
    from jobs.landing import land
    from jobs.settings import get_settings

    files, per_file = sized(12, 200), sized(500, 5_000)
    day_dir = Path(os.environ["LAKEHOUSE_SOURCE_ROOT"]) / "chaos" / "ftp" / f"{DAY:%Y-%m-%d}"
    day_dir.mkdir(parents=True)
    written: set[str] = set()
    for f in range(files):
        rows = _csv_rows(f"f{f:03d}", per_file)
        written.update(r.split(",", 1)[0] for r in rows)
        (day_dir / f"station_{f:03d}.csv").write_text("key,filler\n" + "".join(r + "\n" for r in rows))
    size = (day_dir / "station_000.csv").stat().st_size
    drops = 4
    ftp.faults.drop_after("/chaos/ftp/", size // 3, times=drops)  # the first downloads are cut after a third
    assert WASTEWATER.source is not None
    ds = replace(
        WASTEWATER,
        source=replace(
            WASTEWATER.source, channel=Channel.FTP, format="csv", options={"directory": "/chaos/ftp/{date:%Y-%m-%d}"}
        ),
    )
    batch = land(ds, INTERVAL, replace(get_settings(), ftp_port=FTP_PORT, http_attempts=drops + 2))
    resumed = [rest for _p, rest in ftp.faults.retrievals if rest]
    assert len(resumed) >= 1  # the cut file was resumed from where it stopped, not fetched again
    keys = [line.split(",", 1)[0] for line in _landed(batch.key).decode().splitlines()[1:]]
    _books(chaos_row, written, keys, f"{files} files, {drops} cut downloads, {len(resumed)} REST resumes")


# --- 2. MQTT: lander killed mid-drain, broker restarted mid-drain ------------------------------


def variant(tag: str, **options: Any) -> Dataset:
    """air_quality_reading on its own topic: its own durable session, spool and landing."""
    assert AIR.source is not None
    opts = {**AIR.source.options, "topic": f"chaos/{tag}/air_quality", **options}
    return replace(AIR, name=f"air_quality_reading_chaos{tag}", source=replace(AIR.source, options=opts))


def air_file(directory: Path, stem: str, day: date, n: int) -> tuple[Path, set[str]]:
    """``n`` readings measured over ``day``; ``value`` is the test's unique key of each row."""
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL)
    lines = [AIR_HEADER]
    for i in range(n):
        at = (start + timedelta(seconds=i * 86_000 // n)).isoformat()
        lines.append(f"AQ-01-{i % 40:04d},Trạm {i % 40},01,PM2.5,{stem}{i},µg/Nm³,{at},measuring")
    path = directory / f"{stem}_{day:%Y%m%d}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, {f"{stem}{i}" for i in range(n)}


def publish(ds: Dataset, path: Path, day: date, force: bool = False) -> int:
    from sample_sources.servers.mqtt_publisher import publish_file

    assert ds.source is not None
    topic = ds.source.options["topic"]
    return publish_file(path, topic, topic_field="station_id", event_time="measured_at", day=day, force=force).messages


def landed_values(key: str) -> list[str]:
    return [json.loads(line)["value"] for line in _landed(key).decode().splitlines()]


def drain_main() -> None:
    """Subprocess entry point: drain one variant's session into the spool (killed by the test)."""
    from jobs.extract.mqtt import drain
    from jobs.settings import get_settings

    drain(variant(sys.argv[1], segment_messages=int(sys.argv[2])), get_settings())


def _drain_in_subprocess(tag: str, segment: int) -> subprocess.Popen[bytes]:
    code = "import sys; from tests.chaos.test_source_channels import drain_main; drain_main()"
    return subprocess.Popen([sys.executable, "-c", code, tag, str(segment)], cwd=REPO, env=dict(os.environ))


def _wait_for_segments(ds: Dataset, proc: subprocess.Popen[bytes], at_least: int, timeout: float = 60) -> int:
    """Poll the spool until the draining lander stored ``at_least`` segments; fail if it finished first."""
    from jobs.extract.mqtt import spool_prefix
    from jobs.storage import list_keys

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored = len(list_keys(spool_prefix(ds)))
        if stored >= at_least:
            return stored
        assert proc.poll() is None, f"the lander ended (rc {proc.returncode}) before it was interrupted"
        time.sleep(0.02)
    raise AssertionError(f"the lander stored fewer than {at_least} spool segments in {timeout} s")


def test_mqtt_lander_killed_mid_drain(chaos_row: ScenarioRow, broker: Broker, lake: str, tmp_path: Path) -> None:
    """SIGKILL of the lander while it drains a persistent session; the next run lands every message once."""
    from jobs.extract.mqtt import register, spool_prefix
    from jobs.landing import land
    from jobs.settings import get_settings
    from jobs.storage import list_keys

    ds = variant("kill")
    register(ds, get_settings())
    path, written = air_file(tmp_path, "k", DAY, sized(6_000, 300_000))
    assert publish(ds, path, DAY) == len(written)
    segment = sized(100, 2_000)
    proc = _drain_in_subprocess("kill", segment)
    try:
        stored = _wait_for_segments(ds, proc, 3)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    spooled_before = len(list_keys(spool_prefix(ds)))
    assert 3 <= spooled_before < len(written) // segment  # killed part-way: some of the queue was in the spool

    batch = land(ds, INTERVAL)
    assert (batch.data_rows, batch.stated_rows) == (len(written), len(written))
    _books(
        chaos_row,
        written,
        landed_values(batch.key),
        f"SIGKILL after {stored} of ~{len(written) // segment} segments; redelivered ones deduplicated",
    )


def test_mqtt_broker_restarted_mid_drain(chaos_row: ScenarioRow, broker: Broker, lake: str, tmp_path: Path) -> None:
    """The broker stops (saving its queue) and starts again while the lander drains: every message once."""
    from jobs.extract.mqtt import register
    from jobs.landing import land
    from jobs.settings import get_settings

    ds = variant("restart")
    register(ds, get_settings())
    path, written = air_file(tmp_path, "r", DAY, sized(6_000, 300_000))
    assert publish(ds, path, DAY) == len(written)
    proc = _drain_in_subprocess("restart", sized(100, 2_000))
    try:
        stored = _wait_for_segments(ds, proc, 3)
        broker.run("stop")
        broker.run("start")
    finally:
        rc = proc.wait(60)
    assert rc != 0  # the lander lost its broker mid-drain and failed (its task would retry)

    batch = land(ds, INTERVAL)
    assert (batch.data_rows, batch.stated_rows) == (len(written), len(written))
    _books(chaos_row, written, landed_values(batch.key), f"broker restarted after {stored} spool segments")


# --- 3. Late MQTT messages ---------------------------------------------------------------------


def reading_file(directory: Path, stem: str, day: date, first: int, n: int) -> tuple[Path, set[tuple[str, str]]]:
    """``n`` clean readings of the two reference stations on ``day``, at distinct seconds from ``first``.

    Returns the file and its natural keys (station_id, measured_at as UTC ISO), counted here, not by the pipeline.
    """
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL)
    stations = (("AQ-01-0001", "Trạm Nguyễn Văn Cừ", "01"), ("AQ-79-0001", "Trạm Thủ Dầu Một", "79"))
    lines, keys = [AIR_HEADER], set()
    for i in range(first, first + n):
        station, name, province = stations[i % 2]
        at = start + timedelta(seconds=i)
        lines.append(f"{station},{name},{province},PM2.5,{10 + i % 90}.5,µg/Nm³,{at.isoformat()},measuring")
        keys.add((station, at.astimezone(UTC).isoformat()))
    path = directory / f"{stem}_{day:%Y%m%d}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, keys


def silver_keys_by_day() -> dict[date, list[tuple[str, str]]]:
    """The silver readings' natural keys per measured_date, read with delta-rs (not with the pipeline's Spark)."""
    from deltalake import DeltaTable

    from jobs.settings import get_settings

    settings = get_settings()
    table = DeltaTable(settings.s3_uri(AIR.table_path), storage_options=settings.delta_rs_storage_options())
    out: dict[date, list[tuple[str, str]]] = {}
    for row in table.to_pyarrow_table(columns=["station_id", "measured_at", "measured_date"]).to_pylist():
        at = row["measured_at"].replace(tzinfo=UTC) if row["measured_at"].tzinfo is None else row["measured_at"]
        out.setdefault(row["measured_date"], []).append((row["station_id"], at.astimezone(UTC).isoformat()))
    return out


def test_mqtt_late_messages_land_in_a_later_batch(
    chaos_row: ScenarioRow, broker: Broker, lake: str, tmp_path: Path
) -> None:
    """Readings sent on a day whose batch was landed go to the next day's batch, counted there as late
    (landing metadata ``late-rows``); a re-send of the landed day is not landed again; silver files every
    late reading under its own measured day."""
    from jobs.extract.mqtt import register
    from jobs.pipeline import run_dataset
    from jobs.settings import get_settings
    from jobs.storage import head, list_keys

    assert AIR.source is not None
    register(AIR, get_settings())
    n_day, n_late, n_next = sized(1_000, 40_000), sized(200, 5_000), sized(500, 20_000)
    day_file, day_keys = reading_file(tmp_path, "readings", DAY, 0, n_day)
    late_file, late_keys = reading_file(tmp_path, "late", DAY, n_day, n_late)  # measured after the day's others
    next_file, next_keys = reading_file(tmp_path, "readings", NEXT_DAY, 0, n_next)
    publish(AIR, day_file, DAY)
    run_dataset("air_station", *INTERVAL.as_strings(), run_id="chaos")
    first = run_dataset("air_quality_reading", *INTERVAL.as_strings(), run_id="chaos")["refined"]

    publish(AIR, late_file, DAY, force=True)  # sent on DAY (device clock), after DAY's batch was landed
    publish(AIR, day_file, DAY, force=True)  # and the device re-sends the whole landed day (same message ids)
    publish(AIR, next_file, NEXT_DAY)
    second = run_dataset("air_quality_reading", *DataInterval.for_local_day(NEXT_DAY).as_strings(), run_id="chaos")
    refined = second["refined"]

    landed = sorted(k for k in list_keys(f"landing/{AIR.sector}/{AIR.name}/ingest_date=") if k.endswith(".jsonl"))
    assert len(landed) == 2
    meta = (head(landed[1]) or {}).get("Metadata", {})
    assert (int(meta["late-rows"]), int(meta["data-rows"])) == (n_late, n_next + n_late)
    assert int(meta["stated-rows"]) == n_next + n_late  # the day's manifest (n_next) + the late rows counted
    landed_keys = [
        (r["station_id"], datetime.fromisoformat(r["measured_at"]).astimezone(UTC).isoformat())
        for key in landed
        for r in map(json.loads, _landed(key).decode().splitlines())
    ]
    silver = silver_keys_by_day()
    assert sorted(silver[DAY]) == sorted(day_keys | late_keys)  # late readings on their measured day
    assert sorted(silver[NEXT_DAY]) == sorted(next_keys)
    quarantined = sum(first["quarantined_by_reason"].values()) + sum(refined["quarantined_by_reason"].values())
    written = day_keys | late_keys | next_keys
    in_silver = [k for keys in silver.values() for k in keys]
    chaos_row.count(
        records_in=len(written),
        silver=len(set(in_silver) & written),
        quarantined=quarantined,
        duplicated=len(in_silver) - len(set(in_silver)) + len(landed_keys) - len(set(landed_keys)),
    )
    chaos_row.detail = (
        f"{n_late} late → next day's batch (late-rows={meta['late-rows']}), silver on their measured day; "
        f"{n_day} re-sends not re-landed"
    )
    assert set(landed_keys) == written and quarantined == 0
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0


def test_mqtt_device_clock_ahead_is_batched_by_arrival(
    chaos_row: ScenarioRow, broker: Broker, lake: str, tmp_path: Path
) -> None:
    """A device whose clock is days ahead: its messages are batched by arrival time, not held for a future day."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from jobs.extract.mqtt import drain, register
    from jobs.landing import land
    from jobs.settings import get_settings
    from jobs.storage import head
    from sample_sources.env import SourceEnv
    from sample_sources.servers.mqtt_publisher import connect_client

    ds = variant("clock", require_manifest=False)
    register(ds, get_settings())
    assert ds.source is not None
    n = sized(50, 5_000)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    wrong = (datetime.now(UTC) + timedelta(days=3)).astimezone(LOCAL)
    # the sources' gateway login on the device listener (the lander's may not publish data)
    client = connect_client(SourceEnv().mqtt_publisher(), client_id="device-clock-ahead", max_inflight=1000)
    client.loop_start()
    infos = []
    for i in range(n):
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("message_id", f"ahead:{i}"), ("sent_at", wrong.isoformat())]
        body = {"station_id": "AQ-01-0001", "parameter": "PM2.5", "value": f"a{i}", "measured_at": wrong.isoformat()}
        infos.append(client.publish(f"{ds.source.options['topic']}/AQ-01-0001", json.dumps(body), 1, properties=props))
    for info in infos:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()
    drained = drain(ds, get_settings())  # arrival at the lander: now, inside the interval below
    assert drained.clock_ahead == n
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    time.sleep(max((end - datetime.now(UTC)).total_seconds(), 0) + 0.1)

    batch = land(ds, DataInterval(start, end))
    meta = (head(batch.key) or {}).get("Metadata", {})
    assert int(meta["clock-ahead-rows"]) == n and int(meta["late-rows"]) == 0
    _books(chaos_row, {f"a{i}" for i in range(n)}, landed_values(batch.key), f"{n} readings from a clock 3 days ahead")
