"""The ``mqtt`` channel: land what devices published to the broker, losing nothing, landing nothing twice.

Why this shape. MQTT has no replay: a message reaches a subscriber only if a session was waiting
for it. So each dataset has ONE durable session on the broker (client id ``lakehouse-<dataset>``,
MQTT v5 ``clean_start=False``, 30-day session expiry, QoS-1 subscription to ``<topic>/#``), which
the broker keeps queuing for (on disk, across restarts) while the lander is not running. Register
it once before sources publish (``python -m jobs.extract.mqtt register``); ``extract`` registers it
too when it finds none.

An extract run has two steps:

1. **Drain** the session into the SPOOL, an append-only log in the lake
   (``landing/<sector>/<dataset>/_spool/sent_date=<YYYY-MM-DD>/<segment>.jsonl``, one put-if-absent
   object per segment of at most ``segment_messages`` messages). Messages are acknowledged only after
   their segment is stored (a segment's PUBACKs in one write), so a crash at any point loses nothing:
   the broker redelivers what was not acknowledged (at-least-once; duplicates are removed in step 2).
   The drain runs on :mod:`jobs.extract.mqtt_session` (the ``mqtt5`` codec, compiled): paho decoded
   ≈ 3,500 messages/s here, too slow for a day's backlog.
   The drain stops when it receives a marker it published to its own subscription after
   connecting: the broker delivers a session's queue in order, so everything queued before the
   marker is then in the spool (no idle-timeout guess, and it ends even under constant traffic).
2. **Assemble** the interval's batch from the spool partitions of the days it covers: messages
   whose ``sent_at`` (the device's send time, an MQTT v5 user property; the payload's ``sent_at``
   or the arrival time otherwise) falls in the interval, deduplicated by ``message_id``, in
   (sent_at, message_id) order, one payload per line (JSON lines). Batching by send time, not
   event time, matches what a daily file holds: a station's late re-send of yesterday's hour is
   part of today's delivery; silver judges event times. The day's retained manifest
   (``<topic>/_manifest/<YYYY-MM-DD>``, ``{"interval_date", "rows"}``) gives ``stated_rows`` (đủ).

Landing never overwrites, and a rerun of a landed interval does not call ``extract`` at all
(jobs/landing.py), so an interval is landed once. Each spool record carries ``batch_at``, the
instant that picks its batch (the device's ``sent_at`` as a rule):

- *Late*: a message sent on a local day whose batch was already landed is not dropped: it is put
  into the next day whose batch is not landed yet (``batch_at`` = that day's local midnight,
  ``late_for`` = the day it was sent), so it lands in a later batch, whose landing metadata counts
  it (``late-rows``; the batch's stated rows are the manifest's plus these, so the đủ check still
  balances); silver then files the reading under its own measured day (event time). A late
  message whose ``message_id`` was already landed (a re-send) is kept in the spool marked
  ``already_landed`` and not landed again.
- *Clock ahead*: a device whose ``sent_at`` is more than ``clock_skew_hours`` (default 2) after
  its arrival at the lander (``received_at``) has a wrong clock; it is batched by its arrival time
  (``clock_ahead`` = true) so it is not held back for a future day; silver quarantines the reading
  (FUTURE_TIMESTAMP) when its measured time is after its batch's interval.

Options (``Source.options``): ``topic`` (base topic, required), ``require_manifest`` (a whole-day
interval waits, as a retried task, until the source's manifest for the day has arrived; default
False), ``segment_messages`` (default 20 000), ``timeout_seconds`` (drain limit, default 900),
``clock_skew_hours`` (default 2).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs import storage
from jobs.extract import Extracted
from jobs.extract.mqtt_session import Refused, Session, SessionLost
from jobs.interval import DataInterval
from jobs.lease import hold
from jobs.payload import SourceMissingError, landing_key
from jobs.registry import REGISTRY, Channel, Dataset
from jobs.settings import Settings, get_settings

if TYPE_CHECKING:
    from mqtt5 import PublishPacket
    from paho.mqtt.client import Client

log = logging.getLogger(__name__)

PROP_MESSAGE_ID = "message_id"
PROP_SENT_AT = "sent_at"
MANIFEST_LEVEL = "_manifest"
MARKER_LEVEL = "_lander"
SESSION_EXPIRY_SECONDS = 30 * 24 * 3600  # matches persistent_client_expiration in infra/mqtt
RECEIVE_MAXIMUM = 65535  # QoS-1 messages the broker may send before the lander acknowledges any
SEGMENT_MESSAGES = 20_000
KEEPALIVE_SECONDS = 120
TIMEOUT_SECONDS = 900.0
CLOCK_SKEW_HOURS = 2.0  # sent_at this far after arrival: the device clock is wrong, arrival time decides
MAX_OPEN_DAY_SEARCH = 3660  # a late message goes to the next unlanded day within ten years
LOCAL_TZ = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh: spool partitions are local days, like intervals


# ---------------------------------------------------------------------------------------------
# Protocol shared with publishers (sample_sources/servers/mqtt_publisher.py)
# ---------------------------------------------------------------------------------------------


def manifest_topic(topic: str, day: date) -> str:
    """Where a source states (retained) how many messages it sent for ``day``."""
    return f"{topic}/{MANIFEST_LEVEL}/{day:%Y-%m-%d}"


def client_id(dataset: Dataset) -> str:
    """The dataset's durable session on the broker: fixed, so the broker queues for it while away."""
    return f"lakehouse-{dataset.name}"


@dataclass
class Connection:
    client: Client
    session_present: bool


def connect_client(
    settings: Settings,
    *,
    client_id: str,
    durable: bool,
    manual_ack: bool = False,
    max_inflight: int | None = None,
    receive_maximum: int = RECEIVE_MAXIMUM,
    timeout: float = 10.0,
) -> Connection:
    """An MQTT v5 client connected and authenticated (CONNACK received), driven by ``loop()``.

    ``durable``: resume (or create) the session ``client_id`` and keep it for 30 days after
    disconnecting, so QoS-1 messages published meanwhile are queued by the broker.
    """
    from paho.mqtt.client import CallbackAPIVersion, Client, ConnectFlags, MQTTv5
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTv5, manual_ack=manual_ack)
    client.username_pw_set(settings.mqtt_user, settings.mqtt_password)
    client.tls_set_context(settings.tls_context())  # TLS only; the broker is checked against the CA
    if max_inflight is not None:
        client.max_inflight_messages_set(max_inflight)  # QoS-1 publishes awaiting PUBACK
    state: dict[str, Any] = {}

    def on_connect(_c: Client, _u: Any, flags: ConnectFlags, rc: ReasonCode, _p: Properties | None) -> None:
        state["rc"] = rc
        state["session_present"] = flags.session_present

    client.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)
    if durable:
        props.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        props.ReceiveMaximum = receive_maximum
    where = f"{settings.mqtt_host}:{settings.mqtt_port}"
    try:
        client.connect(
            settings.mqtt_host,
            settings.mqtt_port,
            keepalive=KEEPALIVE_SECONDS,
            clean_start=not durable,
            properties=props,
        )
    except OSError as err:
        raise ConnectionError(
            f"cannot reach the MQTT broker at {where} ({err}). Start it (`make sources`, or "
            "`infra/mqtt/mqtt.sh start`) or point LAKEHOUSE_MQTT_HOST / LAKEHOUSE_MQTT_PORT at yours."
        ) from err
    deadline = time.monotonic() + timeout
    while "rc" not in state:
        if time.monotonic() > deadline:
            client.disconnect()
            raise TimeoutError(f"the MQTT broker at {where} did not answer CONNECT within {timeout:.0f} s")
        client.loop(0.1)
    rc = state["rc"]
    if rc.is_failure:
        client.disconnect()
        raise ConnectionRefusedError(
            f"the MQTT broker at {where} refused {settings.mqtt_user!r}: {rc}. Check that LAKEHOUSE_MQTT_USER / "
            "LAKEHOUSE_MQTT_PASSWORD match the broker's password file (both come from .state/secrets.env; "
            "`infra/mqtt/mqtt.sh stop && infra/mqtt/mqtt.sh start` rewrites it)."
        )
    return Connection(client, bool(state["session_present"]))


# ---------------------------------------------------------------------------------------------
# Drain: broker session → spool (acknowledge only what is stored)
# ---------------------------------------------------------------------------------------------


def _topic(dataset: Dataset) -> str:
    assert dataset.source is not None
    topic = str(dataset.source.options.get("topic", "")).rstrip("/")
    if not topic or "#" in topic or "+" in topic:
        raise ValueError(
            f"{dataset.name}: Source.options['topic'] must be a base topic without wildcards, got {topic!r}"
        )
    return topic


def session_resource(dataset: Dataset) -> str:
    """The lease a drain of the dataset's durable session holds: the nightly extract and the live
    lander (``jobs.stream``) connect with the same client id, and a second connection would take the
    session over mid-drain."""
    return f"mqtt-session/{dataset.name}"


def spool_prefix(dataset: Dataset) -> str:
    return f"landing/{dataset.sector}/{dataset.name}/_spool/"


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def spool_record(
    msg_topic: str, payload: bytes, user_properties: Sequence[tuple[str, str]], topic: str, received_at: datetime
) -> dict[str, Any] | None:
    """The spool line of one received message (None for the lander's own markers)."""
    levels = msg_topic[len(topic) + 1 :].split("/") if msg_topic.startswith(topic + "/") else []
    if levels[:1] == [MARKER_LEVEL]:
        return None
    rec: dict[str, Any] = {"topic": msg_topic, "received_at": received_at.isoformat()}
    if levels[:1] == [MANIFEST_LEVEL]:
        try:
            manifest = json.loads(payload)
            day = date.fromisoformat(manifest["interval_date"])
            rows = manifest["rows"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a manifest on %s that is not {interval_date, rows}: %r", msg_topic, payload[:200])
            return None
        rec["manifest"] = {"interval_date": day.isoformat(), "rows": rows}
        return rec
    props = dict(user_properties)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("cp1252", errors="replace")  # a legacy device: keep what can be read
    body: Any = None
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    body = body if isinstance(body, dict) else {}
    message_id = props.get(PROP_MESSAGE_ID) or body.get(PROP_MESSAGE_ID)
    if not isinstance(message_id, str) or not message_id:
        import hashlib

        message_id = "sha256:" + hashlib.sha256(msg_topic.encode() + b"\0" + payload).hexdigest()
    sent = _parse_time(props.get(PROP_SENT_AT)) or _parse_time(body.get(PROP_SENT_AT)) or received_at
    rec.update(message_id=message_id, sent_at=sent.isoformat(), payload=text)
    return rec


def batch_time(rec: dict[str, Any]) -> datetime:
    """The instant that picks the record's batch: ``batch_at`` when set (late, clock ahead), else ``sent_at``."""
    return datetime.fromisoformat(rec.get("batch_at") or rec["sent_at"])


def _partition_day(rec: dict[str, Any]) -> date:
    if "manifest" in rec:
        return date.fromisoformat(rec["manifest"]["interval_date"])
    return batch_time(rec).astimezone(LOCAL_TZ).date()


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)


@dataclass
class DrainResult:
    messages: int = 0
    segments: list[str] = field(default_factory=list)
    late: dict[str, int] = field(default_factory=dict)  # local day already landed → messages that came after
    late_to: dict[str, int] = field(default_factory=dict)  # later day whose batch takes them → messages
    already_landed: int = 0  # late re-sends of messages that were landed: kept in the spool, not landed again
    clock_ahead: int = 0  # batched by arrival time: the device clock was ahead by more than clock_skew_hours


class _Spooler:
    """Buffers received messages; ``flush`` stores them as spool segments, then has them acknowledged.

    ``flush`` returns the packet ids to acknowledge: the drain sends their PUBACKs only after the
    segment is stored.
    """

    def __init__(self, dataset: Dataset, settings: Settings, topic: str) -> None:
        self.dataset, self.settings, self.topic = dataset, settings, topic
        self.buffer: list[tuple[int | None, dict[str, Any] | None]] = []
        self.result = DrainResult()
        self._landed: dict[date, bool] = {}
        self._ids: dict[date, set[str]] = {}
        assert dataset.source is not None
        self.skew = timedelta(hours=float(dataset.source.options.get("clock_skew_hours", CLOCK_SKEW_HOURS)))

    def add(self, packets: Sequence[PublishPacket]) -> None:
        now = datetime.now(UTC)
        self.buffer += (
            (p.packet_id, spool_record(p.topic, p.payload, p.user_properties, self.topic, now)) for p in packets
        )

    def pending(self) -> int:
        return len(self.buffer)

    def _day_landed(self, day: date) -> bool:
        if day not in self._landed:
            key = landing_key(self.dataset, DataInterval.for_local_day(day))
            self._landed[day] = storage.head(key, self.settings) is not None
        return self._landed[day]

    def flush(self, limit: int) -> list[int]:
        """Store (up to ``limit`` of) the buffered messages as one spool segment; their packet ids to acknowledge."""
        taken, self.buffer = self.buffer[:limit], self.buffer[limit:]
        if not taken:
            return []
        by_day: dict[date, list[dict[str, Any]]] = {}
        for _msg, rec in taken:
            if rec is not None:
                if "manifest" not in rec:
                    self._place(rec)
                by_day.setdefault(_partition_day(rec), []).append(rec)
        segment = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        for day, recs in sorted(by_day.items()):
            key = f"{spool_prefix(self.dataset)}sent_date={day:%Y-%m-%d}/{segment}.jsonl"
            body = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in recs)
            meta = {"messages": str(len(recs)), "client-id": client_id(self.dataset)}
            if not storage.put_if_absent(key, body.encode("utf-8"), meta, self.settings):
                raise RuntimeError(f"spool segment {key} exists already (segment ids are unique): retry")
            self.result.segments.append(key)
            self.result.messages += sum("manifest" not in r for r in recs)
            late = [r for r in recs if "late_for" in r]
            if late:
                fresh = sum(not r.get("already_landed") for r in late)
                self.result.late_to[day.isoformat()] = self.result.late_to.get(day.isoformat(), 0) + fresh
                log.warning(
                    "%s: %d late message(s) (sent on a day whose batch was already landed) go to the batch of %s; "
                    "%d of them were landed before (a re-send) and are kept in the spool only (%s).",
                    self.dataset.name,
                    len(late),
                    day,
                    len(late) - fresh,
                    key,
                )
        return self._ack(taken)

    def _place(self, rec: dict[str, Any]) -> None:
        """Decide the record's batch: its send day, the arrival day (clock ahead) or a later open day (late)."""
        sent, received = datetime.fromisoformat(rec["sent_at"]), datetime.fromisoformat(rec["received_at"])
        if sent - received > self.skew:
            rec["clock_ahead"] = True
            rec["batch_at"] = rec["received_at"]
            self.result.clock_ahead += 1
        day = _partition_day(rec)
        if not self._day_landed(day):
            return
        first = day
        self.result.late[first.isoformat()] = self.result.late.get(first.isoformat(), 0) + 1
        passed: list[date] = []
        while self._day_landed(day) and len(passed) < MAX_OPEN_DAY_SEARCH:
            passed.append(day)
            day += timedelta(days=1)
        rec["late_for"] = first.isoformat()
        rec["batch_at"] = _local_midnight(day).isoformat()
        if any(rec["message_id"] in self._landed_ids(d) for d in passed):
            rec["already_landed"] = True
            self.result.already_landed += 1

    def _landed_ids(self, day: date) -> set[str]:
        """Message ids in a landed day's spool partition: what its batch holds (late ones are batched later)."""
        if day not in self._ids:
            self._ids[day] = {
                r["message_id"]
                for r in spooled(self.dataset, [day], self.settings)
                if "message_id" in r and not r.get("already_landed")
            }
        return self._ids[day]

    def _ack(self, taken: list[tuple[int | None, dict[str, Any] | None]]) -> list[int]:
        """Stored: now the broker may forget them (the QoS-1 ones; a QoS-0 message has no packet id)."""
        return [packet_id for packet_id, _rec in taken if packet_id is not None]


def drain(dataset: Dataset, settings: Settings) -> DrainResult:
    """Move everything the broker queued for the dataset's session into the spool."""
    assert dataset.source is not None
    options = dataset.source.options
    topic = _topic(dataset)
    segment_messages = max(1, int(options.get("segment_messages", SEGMENT_MESSAGES)))
    timeout = float(options.get("timeout_seconds", TIMEOUT_SECONDS))
    receive_maximum = min(RECEIVE_MAXIMUM, 2 * segment_messages)  # the broker keeps sending while a segment is stored
    session = open_session(settings, client_id(dataset), receive_maximum)
    spooler = _Spooler(dataset, settings, topic)
    marker = f"{topic}/{MARKER_LEVEL}/{uuid.uuid4().hex}"
    deadline = time.monotonic() + timeout
    try:
        if not session.session_present:
            log.warning(
                "%s: no durable session %s on the broker yet; created it now. Messages published before this "
                "moment were not queued for the lander: register sessions before sources publish "
                "(`python -m jobs.extract.mqtt register`).",
                dataset.name,
                client_id(dataset),
            )
            session.subscribe(f"{topic}/#")
        # The broker handles a connection's packets in order, so the marker is published after the
        # subscription exists and reaches this session's queue after everything queued before it.
        # Waiting for the broker's PUBACK of the marker too means no input is left unread when we close.
        sent = session.publish(marker, b"")
        marker_seen = False
        full = min(segment_messages, receive_maximum)  # the broker sends no more than that unacknowledged
        while not (marker_seen and session.acked(sent)):
            _check_deadline(deadline, dataset)
            try:
                packets = session.receive(0.05)
            except SessionLost as err:
                raise ConnectionError(
                    f"{dataset.name}: lost the MQTT broker while draining ({err}); the task retries and the "
                    "broker redelivers what was not acknowledged"
                ) from err
            marker_seen = marker_seen or any(p.topic == marker for p in packets)
            spooler.add(packets)
            if spooler.pending() >= full:
                session.ack(spooler.flush(segment_messages))
        while spooler.pending():
            session.ack(spooler.flush(segment_messages))
    finally:
        session.close()  # PUBACKs went out before DISCONNECT; the session stays for 30 days
    return spooler.result


def open_session(settings: Settings, client: str, receive_maximum: int, timeout: float = 10.0) -> Session:
    """The dataset's durable session (created when missing), connected over TLS and authenticated."""
    import mqtt5

    where = f"{settings.mqtt_host}:{settings.mqtt_port}"
    connect = mqtt5.ConnectPacket(
        client,
        username=settings.mqtt_user,
        password=settings.mqtt_password.encode(),
        clean_start=False,
        keep_alive=KEEPALIVE_SECONDS,
        session_expiry_interval=SESSION_EXPIRY_SECONDS,
        receive_max=receive_maximum,
    )
    try:
        return Session.connect(settings.mqtt_host, settings.mqtt_port, settings.tls_context(), connect, timeout)
    except Refused as err:  # before OSError: a closed port is a ConnectionRefusedError too, and means unreachable
        raise ConnectionRefusedError(
            f"the MQTT broker at {where} refused {settings.mqtt_user!r}: {err}. Check that LAKEHOUSE_MQTT_USER / "
            "LAKEHOUSE_MQTT_PASSWORD match the broker's password file (both come from .state/secrets.env; "
            "`infra/mqtt/mqtt.sh stop && infra/mqtt/mqtt.sh start` rewrites it)."
        ) from err
    except TimeoutError as err:
        raise TimeoutError(f"the MQTT broker at {where} did not answer CONNECT within {timeout:.0f} s") from err
    except OSError as err:
        raise ConnectionError(
            f"cannot reach the MQTT broker at {where} ({err}). Start it (`make sources`, or "
            "`infra/mqtt/mqtt.sh start`) or point LAKEHOUSE_MQTT_HOST / LAKEHOUSE_MQTT_PORT at yours."
        ) from err


def _check_deadline(deadline: float, dataset: Dataset) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(
            f"{dataset.name}: the broker's queue was not drained within the time limit; the task retries "
            "(raise Source.options['timeout_seconds'] for very large backlogs)."
        )


def _loop(client: Client, deadline: float, dataset: Dataset) -> None:
    from paho.mqtt.client import MQTT_ERR_SUCCESS

    rc = client.loop(0.1)
    if rc != MQTT_ERR_SUCCESS:
        raise ConnectionError(f"{dataset.name}: lost the MQTT broker ({rc}); the task retries")
    if time.monotonic() > deadline:
        raise TimeoutError(f"{dataset.name}: the MQTT broker did not answer in time; the task retries")


def register(dataset: Dataset, settings: Settings) -> bool:
    """Create the dataset's durable session and subscription if missing; True when it was created."""
    from paho.mqtt.subscribeoptions import SubscribeOptions

    topic = _topic(dataset)
    # Receive Maximum 1: the broker resumes sending the queue on connect; none of it is wanted (or acknowledged) here.
    conn = connect_client(settings, client_id=client_id(dataset), durable=True, manual_ack=True, receive_maximum=1)
    client = conn.client
    created = not conn.session_present
    try:
        if created:
            done = {"ok": False}
            client.on_subscribe = lambda *_a: done.update(ok=True)
            client.subscribe(f"{topic}/#", options=SubscribeOptions(qos=1))
            deadline = time.monotonic() + 10
            while not done["ok"]:
                _loop(client, deadline, dataset)
    finally:
        # Queued messages the broker sends meanwhile are not acknowledged: they are redelivered to the lander.
        client.disconnect()
        for _ in range(20):
            if client.loop(0.05) != 0:
                break
    return created


# ---------------------------------------------------------------------------------------------
# Assemble: spool → the interval's batch
# ---------------------------------------------------------------------------------------------


def _local_days(interval: DataInterval) -> list[date]:
    first = interval.start.astimezone(LOCAL_TZ).date()
    last = (interval.end - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def spooled(dataset: Dataset, days: Sequence[date], settings: Settings) -> Iterator[dict[str, Any]]:
    """Every spool record of the given local days, segment by segment in time order."""
    client = storage.s3_client(settings)
    for day in days:
        for key in sorted(storage.list_keys(f"{spool_prefix(dataset)}sent_date={day:%Y-%m-%d}/", settings)):
            body = client.get_object(Bucket=settings.bucket, Key=key)["Body"]
            for line in body.iter_lines(chunk_size=1024 * 1024):
                if line:
                    yield json.loads(line)


def _order(message_id: str) -> tuple[str, int, str]:
    """Natural order of ``<stem>:<line>`` ids, so a replayed file keeps its line order."""
    stem, _, tail = message_id.rpartition(":")
    return (stem, int(tail), "") if tail.isdigit() else (message_id, -1, "")


def _line(payload: str) -> str:
    return payload if "\n" not in payload and "\r" not in payload else json.dumps(payload, ensure_ascii=False)


@dataclass
class Assembled:
    rows: int
    stated_rows: int | None
    late_rows: int  # messages sent in an earlier, already landed interval (``late_for``)
    clock_ahead_rows: int  # batched by arrival time: the device clock was ahead


def assemble(dataset: Dataset, interval: DataInterval, settings: Settings, out: Path) -> Assembled:
    """Write the interval's batch (JSON lines) to ``out``; count its rows, late rows and the stated rows."""
    messages: dict[str, tuple[datetime, str]] = {}
    late: set[str] = set()
    ahead: set[str] = set()
    manifest: tuple[str, int] | None = None
    whole_day = interval == DataInterval.for_local_day(interval.local_start_date)
    for rec in spooled(dataset, _local_days(interval), settings):
        if "manifest" in rec:
            m = rec["manifest"]
            ours = whole_day and m["interval_date"] == interval.local_start_date.isoformat()
            if ours and (manifest is None or rec["received_at"] >= manifest[0]):  # a corrected manifest wins
                manifest = (rec["received_at"], m["rows"])
            continue
        if rec.get("already_landed"):
            continue
        if interval.start <= batch_time(rec) < interval.end and rec["message_id"] not in messages:
            messages[rec["message_id"]] = (datetime.fromisoformat(rec["sent_at"]), rec["payload"])
            if "late_for" in rec:
                late.add(rec["message_id"])
            if rec.get("clock_ahead"):
                ahead.add(rec["message_id"])
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for mid in sorted(messages, key=lambda m: (messages[m][0], _order(m))):
            fh.write(_line(messages[mid][1]) + "\n")
    tmp.replace(out)
    stated = manifest[1] if manifest is not None and isinstance(manifest[1], int) else None
    return Assembled(len(messages), stated, len(late), len(ahead))


def extract(dataset: Dataset, interval: DataInterval, settings: Settings, staging: Path) -> Extracted:
    """Drain the broker into the spool, then stage the interval's batch from the spool."""
    assert dataset.source is not None
    topic = _topic(dataset)
    now = datetime.now(UTC)
    if interval.end > now:
        raise SourceMissingError(
            f"{dataset.name}: data interval {interval.start:%Y-%m-%d %H:%M} – {interval.end:%Y-%m-%d %H:%M} UTC is "
            "not over yet; messages sent in it may still come. The task retries after the interval ends."
        )
    with hold(session_resource(dataset), holder=f"nightly extract of {dataset.name}", settings=settings):
        result = drain(dataset, settings)  # the live lander drains the same session (jobs.stream)
    log.info("%s: drained %d message(s) into %d spool segment(s)", dataset.name, result.messages, len(result.segments))
    staging.mkdir(parents=True, exist_ok=True)
    out = staging / f"{interval.batch_id(dataset.name)}.jsonl"
    assembled = assemble(dataset, interval, settings, out)
    rows, stated = assembled.rows, assembled.stated_rows
    if assembled.late_rows or assembled.clock_ahead_rows:
        log.warning(
            "%s: the batch %s holds %d late message(s) (sent in an earlier, already landed interval) and %d "
            "batched by arrival time (device clock ahead)",
            dataset.name,
            interval.batch_id(dataset.name),
            assembled.late_rows,
            assembled.clock_ahead_rows,
        )
    whole_day = interval == DataInterval.for_local_day(interval.local_start_date)
    if whole_day and stated is None and dataset.source.options.get("require_manifest"):
        raise SourceMissingError(
            f"{dataset.name}: the source has not published its manifest for {interval.local_start_date} "
            f"({manifest_topic(topic, interval.local_start_date)}) yet, so the day may still be arriving "
            f"({rows} message(s) so far). The task retries; the batch is landed once the source states the "
            "day complete."
        )
    if stated is not None:
        # The source stated its day; the lander adds the late messages it counted itself (``late-rows``),
        # so the đủ check compares like with like: landed = manifest rows + late rows.
        stated += assembled.late_rows
    return Extracted(
        path=out,
        source_name=f"mqtt://{settings.mqtt_host}:{settings.mqtt_port}/{topic}/#",
        stated_rows=stated,
        format="jsonl",
        books={"late-rows": str(assembled.late_rows), "clock-ahead-rows": str(assembled.clock_ahead_rows)},
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``register [DATASET ...]``: create the durable sessions (all MQTT datasets by default)."""
    parser = argparse.ArgumentParser(prog="python -m jobs.extract.mqtt", description=main.__doc__)
    parser.add_argument("command", choices=["register"])
    parser.add_argument("datasets", nargs="*", help="dataset names (default: every dataset on the mqtt channel)")
    args = parser.parse_args(argv)
    settings = get_settings()
    names = args.datasets or [d.name for d in REGISTRY if d.source is not None and d.source.channel == Channel.MQTT]
    for name in names:
        dataset = REGISTRY[name]
        created = register(dataset, settings)
        state = "created" if created else "already registered"
        print(f"{name}: durable session {client_id(dataset)} on {_topic(dataset)}/# {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
