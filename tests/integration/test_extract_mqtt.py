"""The MQTT channel against a real mosquitto (infra/mqtt) and the real store.

A private broker (same script and config as `make sources`) runs on a free port in a temp dir for
this module. The committed air-quality fixture (227 data lines, 1 malformed, manifest rows=227) is
published by the real publisher; each test lands it through ``jobs.landing.land`` with its own
dataset variant (own topic, durable session and spool), so tests do not see each other's messages.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Channel, Dataset
from tests.lakehouse_fixtures import FIXTURE_DAY, FIXTURES, copy_fixture_sources, expected_for, lake_bucket

REPO = Path(__file__).resolve().parents[2]
MQTT_SH = REPO / "infra" / "mqtt" / "mqtt.sh"
FIXTURE_CSV = FIXTURES / "environment" / "air_quality" / "readings_20261126.csv"
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
ROWS = 227  # data lines of the fixture file (and its manifest); checked below against the file itself


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory, self.env = directory, env

    def run(self, command: str) -> None:
        subprocess.run([str(MQTT_SH), command], env=self.env, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("mqtt")
    mqtt_env = {
        "LAKEHOUSE_MQTT_DIR": str(directory),
        "LAKEHOUSE_MQTT_PORT": str(_free_port()),
        "LAKEHOUSE_MQTT_USER": "lakehouse",
        "LAKEHOUSE_MQTT_PASSWORD": secrets.token_urlsafe(16),
        "LAKEHOUSE_MQTT_DEVICE_PORT": str(_free_port()),
        "LAKEHOUSE_MQTT_PUBLISHER_PASSWORD": secrets.token_urlsafe(16),
    }
    saved = {k: os.environ.get(k) for k in mqtt_env}
    os.environ.update(mqtt_env)
    b = Broker(directory, {**os.environ, **mqtt_env})
    b.run("start")
    try:
        yield b
    finally:
        b.run("stop")
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def lake(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("lake")
    sources = copy_fixture_sources(root / "sources")  # the reference files the air readings join
    with lake_bucket("mqtt", sources, root / "gx", extract_from="channel") as bucket:
        yield bucket


def variant(tag: str, **options: Any) -> Dataset:
    """The registry's air_quality_reading on its own topic (own durable session and spool)."""
    base = REGISTRY["air_quality_reading"]
    assert base.source is not None and base.source.channel == Channel.MQTT
    options = {**base.source.options, "topic": topic_of(tag), **options}
    return replace(base, name=f"air_quality_reading_{tag}", source=replace(base.source, options=options))


def topic_of(tag: str) -> str:
    return f"test/{tag}/air_quality"


def publish(ds: Dataset, path: Path = FIXTURE_CSV, day: date | None = None, force: bool = False) -> Any:
    return publish_file_to(topic_of(ds.name.rsplit("_", 1)[1]), path, day, force)


def publish_file_to(topic: str, path: Path = FIXTURE_CSV, day: date | None = None, force: bool = False) -> Any:
    from sample_sources.servers.mqtt_publisher import publish_file

    return publish_file(path, topic, topic_field="station_id", event_time="measured_at", day=day, force=force)


def landed_lines(key: str) -> list[str]:
    from jobs.settings import get_settings
    from jobs.storage import s3_client

    s = get_settings()
    return s3_client(s).get_object(Bucket=s.bucket, Key=key)["Body"].read().decode("utf-8").splitlines()


def fixture_records() -> list[dict[str, str] | str]:
    """The fixture's data lines, independently of the publisher: a dict per well-formed CSV record,
    the raw text for a line that is not one (it must be landed as the device sent it)."""
    lines = FIXTURE_CSV.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    out: list[dict[str, str] | str] = []
    for line in lines[1:]:
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error:
            fields = []
        out.append(dict(zip(header, fields, strict=True)) if len(fields) == len(header) else line)
    return out


def as_records(lines: list[str]) -> list[dict[str, str] | str]:
    out: list[dict[str, str] | str] = []
    for line in lines:
        try:
            body = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        out.append(body)
    return out


def test_fixture_facts() -> None:
    """What the other tests count on: 227 data lines, one of them malformed, the manifest says 227."""
    records, expected = fixture_records(), expected_for("air_quality_reading")
    assert len(records) == ROWS == expected["data_rows"]
    assert sum(isinstance(r, str) for r in records) == 1 == expected["mess"]["malformed_line"]
    manifest = json.loads((FIXTURE_CSV.parent / (FIXTURE_CSV.name + ".manifest.json")).read_text())
    assert manifest == {"rows": ROWS}


def test_published_while_lander_down_then_landed_exactly(lake: str) -> None:
    """(a) + (e): session registered, lander down while the day is published, landed after: every
    line once, in file order, as sent; landed count = the manifest's stated rows."""
    from jobs.extract.mqtt import register
    from jobs.landing import land
    from jobs.settings import get_settings

    ds = variant("a")
    assert register(ds, get_settings()) is True
    assert register(ds, get_settings()) is False  # idempotent
    published = publish(ds)
    assert (published.messages, published.stated_rows) == (ROWS, ROWS)

    batch = land(ds, INTERVAL)
    assert batch.newly_landed and batch.format == "jsonl"
    assert batch.data_rows == ROWS and batch.stated_rows == ROWS
    assert batch.key.endswith("/ingest_date=2026-11-26/air_quality_reading_a__20261125T1700Z-20261126T1700Z.jsonl")
    lines = landed_lines(batch.key)
    assert as_records(lines) == fixture_records()
    first = json.loads(lines[0])
    assert first == {
        "station_id": "AQ-01-0001",
        "station_name": "Trạm Nguyễn Văn Cừ",
        "province_code": "01",
        "parameter": "PM2.5",
        "value": "44.4",
        "unit": "µg/Nm³",
        "measured_at": "2026-11-26T00:00:00+07:00",
        "device_status": "measuring",
    }


def test_broker_restart_keeps_the_queue(lake: str, broker: Broker) -> None:
    """(b): what the broker queued for the offline lander survives a broker stop/start."""
    from jobs.extract.mqtt import register
    from jobs.landing import land
    from jobs.settings import get_settings

    ds = variant("b")
    register(ds, get_settings())
    publish(ds)
    broker.run("stop")
    broker.run("start")
    batch = land(ds, INTERVAL)
    assert (batch.data_rows, batch.stated_rows) == (ROWS, ROWS)
    assert as_records(landed_lines(batch.key)) == fixture_records()


def test_rerun_lands_nothing_twice_and_late_messages_stay_in_the_spool(lake: str) -> None:
    """(c): a rerun returns the landed batch (same key and sha); a re-send arriving after landing is
    counted as late, kept in the spool (marked already landed: not landed again in a later batch),
    and the landed batch does not change."""
    from jobs.extract.mqtt import drain, register, spool_prefix
    from jobs.landing import land
    from jobs.settings import get_settings
    from jobs.storage import list_keys

    ds = variant("c")
    register(ds, get_settings())
    publish(ds)
    first = land(ds, INTERVAL)
    publish(ds, force=True)  # the source re-sends the whole day after its batch was landed
    drained = drain(ds, get_settings())
    assert drained.late == {"2026-11-26": ROWS} and drained.already_landed == ROWS
    assert drained.late_to == {"2026-11-27": 0}  # nothing new for the next day's batch
    second = land(ds, INTERVAL)
    assert not second.newly_landed
    assert (second.key, second.sha256, second.data_rows) == (first.key, first.sha256, ROWS)
    assert [k for k in list_keys("landing/") if "/ingest_date=" in k and "_c__" in k] == [first.key]
    spooled_lines = sum(len(landed_lines(k)) for k in list_keys(spool_prefix(ds)))
    assert spooled_lines == 2 * ROWS + 2  # both sends and both manifests: nothing was deleted


def test_duplicates_and_unacknowledged_messages_land_once(lake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """(d): the source publishes the day twice (same message ids) and the lander crashes after
    storing a spool segment but before acknowledging it (the broker redelivers): each line once."""
    from jobs.extract import mqtt
    from jobs.landing import land
    from jobs.settings import get_settings
    from jobs.storage import list_keys

    ds = variant("d", segment_messages=100)
    mqtt.register(ds, get_settings())
    publish(ds)
    assert publish(ds).messages == 0  # the day's manifest is retained: `make sources` does not resend it
    publish(ds, force=True)  # the source re-sends the day (same message ids)

    def crash(self: Any, *_args: Any) -> None:
        raise RuntimeError("lander killed before acknowledging")

    monkeypatch.setattr(mqtt._Spooler, "_ack", crash)
    with pytest.raises(RuntimeError, match="killed"):
        land(ds, INTERVAL)
    stored = [k for k in list_keys(mqtt.spool_prefix(ds))]
    assert len(stored) == 1 and len(landed_lines(stored[0])) == 100  # one segment stored, none acknowledged
    assert not [k for k in list_keys("landing/") if "/ingest_date=" in k and "_d__" in k]  # no partial batch
    monkeypatch.undo()

    batch = land(ds, INTERVAL)
    assert (batch.data_rows, batch.stated_rows) == (ROWS, ROWS)
    assert as_records(landed_lines(batch.key)) == fixture_records()


def test_other_days_stay_in_the_spool_for_their_own_run(lake: str, tmp_path: Path) -> None:
    """A day's messages are batched by their send day: the 25th's file does not enter the 26th's
    batch, and its own run lands it whole."""
    from jobs.extract.mqtt import register
    from jobs.landing import land
    from jobs.settings import get_settings

    ds = variant("e")
    register(ds, get_settings())
    day25 = tmp_path / "readings_20261125.csv"
    shutil.copy(FIXTURE_CSV, day25)
    shutil.copy(f"{FIXTURE_CSV}.manifest.json", f"{day25}.manifest.json")
    publish(ds, day25)  # its records say 26 Nov, but it is the 25th's delivery (sent_at on the 25th)
    publish(ds)
    batch26 = land(ds, INTERVAL)
    assert (batch26.data_rows, batch26.stated_rows) == (ROWS, ROWS)
    batch25 = land(ds, DataInterval.for_local_day(date(2026, 11, 25)))
    assert (batch25.data_rows, batch25.stated_rows) == (ROWS, ROWS)
    assert as_records(landed_lines(batch25.key)) == fixture_records()


def test_missing_manifest_means_the_day_is_not_complete(lake: str) -> None:
    """With require_manifest, a day whose manifest has not arrived is not landed (the task retries)."""
    from jobs.extract.mqtt import register
    from jobs.landing import land
    from jobs.payload import SourceMissingError
    from jobs.settings import get_settings
    from jobs.storage import list_keys
    from sample_sources.env import SourceEnv
    from sample_sources.servers.mqtt_publisher import connect_client

    ds = variant("f")
    register(ds, get_settings())
    client = connect_client(SourceEnv().mqtt_publisher(), client_id="device-f", max_inflight=10)
    client.loop_start()
    info = client.publish(f"{topic_of('f')}/AQ-01-0001", b'{"sent_at":"2026-11-26T01:00:00+07:00"}', qos=1)
    info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    with pytest.raises(SourceMissingError, match="manifest"):
        land(ds, INTERVAL)
    assert not [k for k in list_keys("landing/") if "/ingest_date=" in k and "_f__" in k]


def test_environment_books_balance_with_air_readings_over_mqtt(lake: str) -> None:
    """The registry's air_quality_reading over its real channel: the day published to the broker
    goes through land → bronze (JSON lines) → silver → gate with the same books as the CSV drop
    (the generator's own account of the mess it injected)."""
    from jobs.extract.mqtt import register
    from jobs.pipeline import run_dataset
    from jobs.settings import get_settings
    from jobs.storage import list_keys

    ds = REGISTRY["air_quality_reading"]
    assert ds.source is not None
    register(ds, get_settings())
    publish_file_to(ds.source.options["topic"])
    start, end = INTERVAL.as_strings()
    run_dataset("air_station", start, end, run_id="mqtt")
    refined = run_dataset("air_quality_reading", start, end, run_id="mqtt")["refined"]
    expected = expected_for("air_quality_reading")
    assert [k for k in list_keys("landing/environment/air_quality_reading/ingest_date=")] == [
        "landing/environment/air_quality_reading/ingest_date=2026-11-26/"
        "air_quality_reading__20261125T1700Z-20261126T1700Z.jsonl"
    ]
    assert refined["landed_rows"] == expected["data_rows"] == ROWS
    assert refined["quarantined_by_reason"] == expected["expected_quarantine"]
    assert refined["exact_duplicates"] == expected["expected_duplicates_removed"] == 4
    assert refined["silver_rows"] == expected["expected_silver_rows"] == 213


def test_a_wrong_password_and_a_closed_port_get_different_errors(broker: Broker) -> None:
    """The broker's CONNACK refusal names the login to check; a port nobody listens on (also a
    "connection refused" to the socket) names the address to start the broker at, not the login."""
    from jobs.extract.mqtt import open_session
    from jobs.settings import Settings

    settings = Settings()  # the broker fixture's port and password, from the environment
    open_session(settings, "test-login-probe", receive_maximum=10).close()  # the control: the right login works
    wrong = replace(settings, mqtt_password="not-" + settings.mqtt_password)
    refusal = r"refused 'lakehouse': (BAD_USER_NAME_OR_PASSWORD|NOT_AUTHORIZED)"
    with pytest.raises(ConnectionRefusedError, match=refusal):
        open_session(wrong, "test-login-probe", receive_maximum=10)
    closed = replace(settings, mqtt_port=_free_port())
    with pytest.raises(ConnectionError, match="cannot reach the MQTT broker at") as unreachable:
        open_session(closed, "test-login-probe", receive_maximum=10)
    assert not isinstance(unreachable.value, ConnectionRefusedError), unreachable.value
