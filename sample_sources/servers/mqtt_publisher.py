"""Publish a generator's file to the MQTT broker, one message per record, as field devices would.

Why: air-quality stations (and vehicles' GPS units) do not drop files, they publish each reading
live to a broker. This replays a day's file (CSV with a header, or JSON lines) onto the broker so
the lander (``jobs/extract/mqtt.py``) meets the real protocol: QoS 1, at-least-once redelivery,
durable sessions, retained manifests.

Each data line becomes one QoS-1 message on ``<topic>/<value of --topic-field>`` (or ``<topic>``):

- payload: the record as a JSON object of the file's fields, values as the file has them
  (strings for CSV; a JSON line as it is); a line that is not a record (a CSV line with the wrong
  field count, a JSON line that is not an object) is sent as its raw text, as a broken device would;
- the envelope as MQTT v5 user properties, not in the payload: ``message_id`` (``<file stem>:<line
  number>``, unique and stable, so a redelivered or republished message is recognised) and
  ``sent_at`` (the device's send time, ISO 8601 with offset). Keeping them out of the payload
  keeps a device's repeated reading byte-identical (silver counts it as an exact duplicate, as
  in the file), and lets a broken payload carry them too. The lander batches messages by
  ``sent_at``, so a station's late re-send of yesterday's hour lands in today's batch, as it sat
  in today's file.

``sent_at`` replays the day (``--date``, default: the 8-digit date in the file name): a clock that
starts at 00:00 local and follows the largest record time (``--event-time FIELD``) seen so far
within the day, so it never runs backwards and a late or garbled time does not move it.
``--sent-at now`` stamps the wall clock instead (live publishing).

At the end, a RETAINED manifest ``{"interval_date": "YYYY-MM-DD", "rows": N}`` goes to
``<topic>/_manifest/<YYYY-MM-DD>``: the count the source states it sent (from the file's
``.manifest.json`` when there is one, else the lines published), which the gate checks (đủ).

Usage::

    python -m sample_sources.servers.mqtt_publisher --file F --topic T [--topic-field station_id]
        [--event-time measured_at] [--date YYYY-MM-DD] [--rate N] [--sent-at replay|now] [--force]

Broker and login: LAKEHOUSE_MQTT_HOST, LAKEHOUSE_MQTT_DEVICE_PORT (default LAKEHOUSE_MQTT_PORT + 1),
LAKEHOUSE_MQTT_PUBLISHER_USER / _PASSWORD; TLS, checked against LAKEHOUSE_TLS_CA (infra/gen_tls.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import ssl
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sample_sources.env import MqttAccount, SourceEnv

if TYPE_CHECKING:
    from paho.mqtt.client import Client, MQTTMessage

LOCAL_TZ = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh, no DST

# The protocol agreed with the lakehouse's MQTT lander (README, "Sources"): user properties on each
# message and where the day's retained manifest goes. The lander's own copy lives in
# jobs/extract/mqtt.py; tests/unit/sample_sources/test_independence.py checks that they agree.
PROP_MESSAGE_ID = "message_id"
PROP_SENT_AT = "sent_at"
MANIFEST_LEVEL = "_manifest"
KEEPALIVE_SECONDS = 120


def manifest_topic(topic: str, day: date) -> str:
    """Where the publisher states (retained) how many messages it sent for ``day``."""
    return f"{topic}/{MANIFEST_LEVEL}/{day:%Y-%m-%d}"


def connect_client(account: MqttAccount, *, client_id: str, max_inflight: int, timeout: float = 10.0) -> Client:
    """An MQTT v5 client with a clean session, connected and authenticated (CONNACK received)."""
    from paho.mqtt.client import CallbackAPIVersion, Client, ConnectFlags, MQTTv5
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTv5)
    client.username_pw_set(account.mqtt_user, account.mqtt_password)
    client.tls_set_context(ssl.create_default_context(cafile=str(account.tls_ca)))  # TLS only, broker checked
    client.max_inflight_messages_set(max_inflight)
    state: dict[str, ReasonCode] = {}

    def on_connect(_c: Client, _u: Any, _f: ConnectFlags, rc: ReasonCode, _p: Properties | None) -> None:
        state["rc"] = rc

    client.on_connect = on_connect
    where = f"{account.mqtt_host}:{account.mqtt_port}"
    try:
        client.connect(account.mqtt_host, account.mqtt_port, keepalive=KEEPALIVE_SECONDS, clean_start=True)
    except OSError as err:
        raise ConnectionError(f"cannot reach the MQTT broker at {where} ({err}); start it with `make sources`") from err
    deadline = time.monotonic() + timeout
    while "rc" not in state:
        if time.monotonic() > deadline:
            client.disconnect()
            raise TimeoutError(f"the MQTT broker at {where} did not answer CONNECT within {timeout:.0f} s")
        client.loop(0.1)
    if state["rc"].is_failure:
        client.disconnect()
        raise ConnectionRefusedError(
            f"the MQTT broker at {where} refused {account.mqtt_user!r}: {state['rc']}. Check "
            "LAKEHOUSE_MQTT_PUBLISHER_USER / LAKEHOUSE_MQTT_PUBLISHER_PASSWORD (.state/secrets.env)."
        )
    return client


WINDOW = 2000
"""QoS-1 messages published but not yet acknowledged by the broker (bounds memory on 10 M lines)."""
_DATE_IN_NAME = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TOPIC_UNSAFE = re.compile(r"[/+#\x00]")


@dataclass(frozen=True)
class Published:
    """What one run published: data messages, the manifest's stated rows, where it went."""

    messages: int
    stated_rows: int
    manifest_topic: str
    seconds: float


@dataclass(frozen=True)
class Record:
    line_no: int
    payload: bytes
    message_id: str
    sent_at: str
    topic: str


def day_of(path: Path) -> date:
    """The day a daily file is for, from the 8-digit date in its name (``readings_20261126.csv``)."""
    m = _DATE_IN_NAME.search(path.name)
    if m is None:
        raise SystemExit(f"{path.name}: no YYYYMMDD in the file name; pass --date YYYY-MM-DD")
    return date(int(m[1]), int(m[2]), int(m[3]))


def _topic_level(value: object) -> str:
    text = _TOPIC_UNSAFE.sub("_", str(value)).strip()
    return text or "_unknown"


def _event_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class _ReplayClock:
    """The device's send time while replaying a day: monotonic, within the day."""

    def __init__(self, day: date) -> None:
        self.start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
        self.last = self.start + timedelta(days=1) - timedelta(seconds=1)
        self.now = self.start

    def tick(self, event: datetime | None) -> str:
        if event is not None:
            event = event.astimezone(LOCAL_TZ)
            if self.now < event <= self.last:
                self.now = event
        return self.now.isoformat()


def records(
    path: Path,
    topic: str,
    *,
    topic_field: str | None,
    event_time: str | None,
    day: date,
    live: bool,
) -> Iterator[Record]:
    """Every data line of ``path`` as the message a device would send (streamed, constant memory)."""
    is_csv = path.suffix.lower() == ".csv"
    clock = _ReplayClock(day)
    header: list[str] | None = None
    with path.open("r", encoding="utf-8", newline="") as fh:
        for line_no, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if is_csv and header is None:
                header = next(csv.reader([line]))
                continue
            if not line and not is_csv:
                continue
            fields: dict[str, object] | None = None
            if is_csv:
                assert header is not None
                try:
                    values = next(csv.reader([line], strict=True), [])
                except csv.Error:
                    values = []
                if len(values) == len(header):
                    fields = dict(zip(header, values, strict=True))
            else:
                try:
                    parsed = json.loads(line)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    fields = parsed
            message_id = f"{path.stem}:{line_no}"
            event = _event_time(fields.get(event_time)) if fields is not None and event_time else None
            sent_at = datetime.now(UTC).astimezone(LOCAL_TZ).isoformat() if live else clock.tick(event)
            if fields is None:
                payload = line.encode("utf-8")
                level = "_unparsed" if topic_field else ""  # no field to route it by
            else:
                payload = (
                    line if not is_csv else json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
                ).encode("utf-8")
                level = _topic_level(fields.get(topic_field)) if topic_field else ""
            yield Record(line_no, payload, message_id, sent_at, f"{topic}/{level}" if level else topic)


def _stated_rows(path: Path) -> int | None:
    manifest = path.with_name(path.name + ".manifest.json")
    if not manifest.is_file():
        return None
    rows = json.loads(manifest.read_text(encoding="utf-8")).get("rows")
    return rows if isinstance(rows, int) else None


def retained_manifest(client: Client, topic: str, grace: float = 0.5) -> dict[str, Any] | None:
    """The manifest retained on ``topic``, if any (the broker sends it right after the SUBACK)."""
    found: dict[str, Any] = {}
    state = {"subscribed": False}

    def on_message(_c: Client, _u: Any, msg: MQTTMessage) -> None:
        if msg.topic == topic and msg.payload:
            found.update(json.loads(msg.payload))

    client.on_message = on_message
    client.on_subscribe = lambda *_a: state.update(subscribed=True)
    client.subscribe(topic, qos=1)
    deadline = time.monotonic() + 10
    while not state["subscribed"] and time.monotonic() < deadline:
        client.loop(0.05)
    until = time.monotonic() + grace
    while not found and time.monotonic() < until:
        client.loop(0.05)
    client.unsubscribe(topic)
    client.on_message = None
    return found or None


def publish_file(
    path: Path,
    topic: str,
    *,
    topic_field: str | None = None,
    event_time: str | None = None,
    day: date | None = None,
    rate: float = 0.0,
    live: bool = False,
    settings: MqttAccount | None = None,
    progress: bool = False,
    force: bool = False,
) -> Published:
    """Publish every record of ``path`` (QoS 1) and then the day's retained manifest; wait for the broker.

    A day whose manifest is already retained on the broker was published before: it is not sent
    again (``messages=0``) unless ``force``, so `make sources` can run before every `make run`.
    """
    from paho.mqtt.client import MQTTMessageInfo
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    settings = settings or SourceEnv().mqtt_publisher()
    if MANIFEST_LEVEL in topic.split("/"):
        raise SystemExit(f"--topic {topic}: the level {MANIFEST_LEVEL} is reserved for manifests")
    day = day or day_of(path)
    m_topic = manifest_topic(topic, day)
    client = connect_client(settings, client_id=f"publisher-{path.stem}-{uuid.uuid4().hex[:6]}", max_inflight=WINDOW)
    started = time.monotonic()
    if not force:
        already = retained_manifest(client, m_topic)
        if already is not None:
            client.disconnect()
            return Published(0, int(already.get("rows", -1)), m_topic, time.monotonic() - started)
    client.loop_start()
    sent = 0
    pending: deque[MQTTMessageInfo] = deque()
    bar = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(TextColumn("publishing {task.description}"), BarColumn(), MofNCompleteColumn())
        bar.start()
        task = bar.add_task(path.name, total=_stated_rows(path))
    try:
        for rec in records(path, topic, topic_field=topic_field, event_time=event_time, day=day, live=live):
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [(PROP_MESSAGE_ID, rec.message_id), (PROP_SENT_AT, rec.sent_at)]
            pending.append(client.publish(rec.topic, rec.payload, qos=1, properties=props))
            sent += 1
            while len(pending) >= WINDOW or (pending and pending[0].is_published()):
                pending.popleft().wait_for_publish(timeout=60)
            if rate > 0:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if bar is not None and sent % 4096 == 0:
                bar.update(task, completed=sent)
        while pending:
            info = pending.popleft()
            info.wait_for_publish(timeout=60)
            if not info.is_published():
                raise TimeoutError(f"the broker did not acknowledge message {info.mid} within 60 s")
        stated = _stated_rows(path)
        rows = stated if stated is not None else sent
        manifest = json.dumps({"interval_date": day.isoformat(), "rows": rows}).encode("utf-8")
        info = client.publish(m_topic, manifest, qos=1, retain=True)
        info.wait_for_publish(timeout=60)
        if not info.is_published():
            raise TimeoutError(f"the broker did not acknowledge the manifest on {m_topic} within 60 s")
    finally:
        if bar is not None:
            bar.update(task, completed=sent)
            bar.stop()
        client.disconnect()
        client.loop_stop()
    return Published(sent, rows, m_topic, time.monotonic() - started)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--file", type=Path, required=True, help="a CSV (header line) or JSON-lines file")
    parser.add_argument("--topic", required=True, help="base topic, e.g. lakehouse/environment/air_quality")
    parser.add_argument("--topic-field", help="record field appended as the last topic level (e.g. station_id)")
    parser.add_argument("--event-time", help="record field holding the event time (drives the replay clock)")
    parser.add_argument("--date", type=date.fromisoformat, help="the day the file is for (default: from its name)")
    parser.add_argument("--rate", type=float, default=0.0, help="messages per second (default: as fast as acked)")
    parser.add_argument("--sent-at", choices=("replay", "now"), default="replay", help="how sent_at is stamped")
    parser.add_argument("--force", action="store_true", help="publish even if the day's manifest is on the broker")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"no file {args.file}: generate the sample sources first (`make sample`)")
    result = publish_file(
        args.file,
        args.topic.rstrip("/"),
        topic_field=args.topic_field,
        event_time=args.event_time,
        day=args.date,
        rate=args.rate,
        live=args.sent_at == "now",
        progress=not args.no_progress and sys.stderr.isatty(),
        force=args.force,
    )
    if result.messages == 0 and not args.force:
        print(
            f"{args.file.name}: already published (manifest rows={result.stated_rows} retained on "
            f"{result.manifest_topic}); --force sends it again"
        )
        return 0
    print(
        f"published {result.messages} messages from {args.file.name} to {args.topic}/# in {result.seconds:.1f} s "
        f"({result.messages / max(result.seconds, 1e-9):,.0f}/s); manifest rows={result.stated_rows} "
        f"retained on {result.manifest_topic}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
