"""The live path: environment readings from the channels to live views, alerts and notices in seconds.

Why a micro-batch lander and a stream over its log, not Spark Structured Streaming's sources. The
channels already have a durable log in the lake: the MQTT lander's SPOOL (``jobs.extract.mqtt``:
put-if-absent segments, acknowledged to the broker only once stored). Two processes share it:

- the **lander** (``lakehouse stream lander``, no JVM) drains the broker's durable session into the
  spool every few seconds (the same ``drain`` the nightly extract runs, one at a time under the lease
  ``mqtt-session/<dataset>``) and copies each new FTP transmission file (Circular 10/2021: one file
  per facility per transmission), oldest first, byte for byte into ``landing/<sector>/<dataset>/_live/<day>/``
  (put-if-absent; the drop's ``processed/`` folder is read too, so a file the nightly batch already
  moved is not missed); each channel in its own thread, which says in the lake when it is in a round
  (``live/_lander/<dataset>.json``). Killed at any point it loses nothing: the broker redelivers what
  was not acknowledged, a copied file is there or is copied again.
- the **stream** (``lakehouse stream run``, one Spark driver) reads the log objects it has not
  processed yet (its checkpoint: ``live/_checkpoint/<dataset>.json`` in the lake) once the log has
  settled (:func:`settle`: a burst landed in pieces is refined in one round), runs them through
  THE batch's transform and row rules (``jobs.silver.typed_batch`` / ``split_batch``: same repair, same
  quarantine reasons, lineage naming the nightly batch the reading belongs to) and MERGEs them into
  ``silver/<sector>/<dataset>_live`` on the natural key (good rows) and ``..._live_quarantine`` on
  (batch, raw line). Only then does it move its checkpoint. Killed between the two, it processes the
  same objects again: the MERGEs are idempotent (a reading already there is matched, not added), so
  the live view neither loses nor doubles a reading (exactly-once effect from an at-least-once log
  and an idempotent sink, the same argument Structured Streaming's file sink makes).

Spark's own file source would have needed a second copy of every MQTT message as a file and could
not decide an FTP file's legacy charset from the file's own lines before parsing (bronze's rule);
a loop over the log with one long-lived SparkSession keeps one transform and pays Spark's fixed
costs once.

After each micro-batch the stream rebuilds, for the local days it touched (and, as time passes, for
today, so a station that falls silent is noticed without a new reading): the hourly VN_AQI
(``gold/environment/aqi_hourly_live``, the batch's NowCast transform) and the alert episodes
(``gold.environment_alert``, the batch's ``alerts`` transform with ``as_of`` from
:func:`alert_clock`: the wall clock when following yesterday and today, the readings' own clock when
replaying an older day), both written with delta-rs from Arrow (a day's rows commit in a fraction
of a second; the alert table under its lease, as the nightly gold build writes it). Notices go out
from a background thread (:class:`Notifier`), so a burst of e-mails does not hold up the next
micro-batch. Readings come from the batch silver where the nightly batch published
them and from the live view otherwise (:func:`current_readings`): a reading counts once. Alert ids
are what the episode is, so the nightly rebuild writes the same rows and the notifier's ledger
(``jobs.notify``) sends each notice once, whoever wrote the alert first.

The books (:func:`books`): per dataset and day, readings in the live view, in silver, in both, and in
one only; the nightly batch is the system of record, and after it the two must agree.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs import storage
from jobs.interval import DataInterval
from jobs.lease import LeaseBusyError, hold
from jobs.registry import REGISTRY, Dataset, quarantine_input
from jobs.settings import Settings, get_settings
from jobs.tables import LIVE_AQI_KEY, live_key, live_quarantine_key

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

LOCAL_TZ = timezone(timedelta(hours=7))  # Vietnam has no daylight saving: local days as the intervals have them

STREAMED = ("air_quality_reading", "wastewater_reading")
"""The readings that have a live path (MQTT and the FTP drop)."""

STREAM_RESOURCE = "live-stream"
ALERT_REFRESH_SECONDS = 60.0
"""How often the stream re-judges today's alerts without new readings (a silence needs no reading)."""


def ftp_spool_prefix(dataset: Dataset) -> str:
    return f"landing/{dataset.sector}/{dataset.name}/_live/"


def checkpoint_key(dataset: Dataset) -> str:
    return f"live/_checkpoint/{dataset.name}.json"


def local_today(now: datetime) -> date:
    return now.astimezone(LOCAL_TZ).date()


def live_days(now: datetime) -> list[date]:
    """The local days the live path follows: yesterday (late and midnight-crossing readings) and today."""
    today = local_today(now)
    return [today - timedelta(days=1), today]


# ---------------------------------------------------------------------------------------------- lander


FTP_SESSIONS = 4
"""FTPS sessions the lander copies with at once: a transmission is a few hundred bytes, so a copy is
mostly round trips (a TLS data connection per file), which several sessions overlap."""


def transmission_order(name: str) -> tuple[str, str]:
    """Oldest transmission first: Circular 10/2021 file names end in their time
    (``<facility>_<station>_<YYYYMMDDhhmmss>.csv``). A backlog copied in name order would hand the
    stream one facility's later hours before another's earlier ones, and a medium's silences are
    judged by its latest reading when replaying a day: the later facilities would look silent until
    their files came. A name without a time sorts first, by name."""
    stamp = name.rsplit(".", 1)[0].rsplit("_", 1)[-1]
    return (stamp if stamp.isdigit() else "", name)


LOG_RELIST_SECONDS = 30.0
"""How long the stream trusts its last listing of the live log while no lander says it landed more
(:class:`LogWatch`); the lander lists what its log holds again after ten times as long
(:class:`LandedNames`). Either picks up an object written some other way within that time."""


class LandedNames:
    """The names of the transmissions the live log holds, per log prefix (a day), kept by the lander
    between its rounds: listed once, then added to as it copies, listed again every
    10 × :data:`LOG_RELIST_SECONDS`. Why: listing is ≈ 1 s of CPU per 10,000 objects (botocore parses
    the XML) and a day at the 10⁶ setting is 28,000 transmissions, listed every round (2 s) before.
    A name missing here costs nothing worse than a conditional PUT that finds the object there."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.clock = settings, clock
        self.names: dict[str, set[str]] = {}
        self.listed_at: dict[str, float] = {}

    def of(self, prefix: str) -> set[str]:
        if prefix not in self.names or self.clock() - self.listed_at[prefix] >= 10 * LOG_RELIST_SECONDS:
            self.names[prefix] = {k.rsplit("/", 1)[1] for k in storage.list_keys(prefix, self.settings)}
            self.listed_at[prefix] = self.clock()
            for old in [p for p in self.names if p != prefix and self.clock() - self.listed_at[p] > 86_400]:
                del self.names[old], self.listed_at[old]  # a day no longer followed
        return self.names[prefix]


def copy_transmissions(
    dataset: Dataset, days: Sequence[date], settings: Settings, landed: LandedNames | None = None
) -> int:
    """Copy the FTP drop's transmission files of ``days`` not yet in the live log, oldest first
    (:func:`transmission_order`); returns how many. ``landed``: the lander's record of the log's names
    (:class:`LandedNames`); by default the log is listed."""
    import tempfile

    from jobs.extract import ftp

    landed = landed or LandedNames(settings)

    def copy(prefix: str, files: list[tuple[str, int]]) -> int:
        done = 0
        with ftp._session(settings) as session, tempfile.TemporaryDirectory() as tmp:
            for path, size in files:
                name = path.rsplit("/", 1)[1]
                target = Path(tmp) / name
                ftp._fetch(session, path, size, target)
                if storage.put_if_absent(prefix + name, target.read_bytes(), {"ftp-path": path}, settings):
                    done += 1
                landed.of(prefix).add(name)  # written now, or found there
                target.unlink()
        return done

    copied = 0
    for day in days:
        prefix = f"{ftp_spool_prefix(dataset)}day={day:%Y-%m-%d}/"
        have = landed.of(prefix)
        directory = ftp._directory(dataset, DataInterval.for_local_day(day))
        todo: dict[str, tuple[str, int]] = {}
        with ftp._session(settings) as session:
            for folder in (directory, f"{directory}/{ftp.PROCESSED}"):
                for name, size in sorted((ftp._list(session, folder) or {}).items()):
                    if name.endswith(".csv") and name not in have and name not in todo:
                        todo[name] = (f"{folder}/{name}", size)
        if not todo:
            continue
        files = [todo[name] for name in sorted(todo, key=transmission_order)]
        shares = [files[i::FTP_SESSIONS] for i in range(min(FTP_SESSIONS, len(files)))]
        with ThreadPoolExecutor(len(shares)) as pool:
            copied += sum(pool.map(copy, [prefix] * len(shares), shares))
    return copied


def land_channel(dataset: Dataset, settings: Settings, days: Sequence[date], landed: LandedNames | None = None) -> int:
    """One round of one channel: drain the air readings' MQTT session, or copy new FTP transmissions;
    returns how many messages or files it landed (``landed``: :func:`copy_transmissions`)."""
    from jobs.extract.mqtt import drain, session_resource

    if dataset.name == "air_quality_reading":
        with hold(session_resource(dataset), holder="live lander", settings=settings, wait_seconds=0):
            return drain(dataset, settings).messages  # busy: the nightly extract is draining; the next round drains
    return copy_transmissions(dataset, days, settings, landed)


def lander_state_key(dataset: Dataset) -> str:
    return f"live/_lander/{dataset.name}.json"


LANDER_BUSY_STALE = timedelta(seconds=60)
"""A channel's lander round said to be in progress for longer than this is taken for a lander that
died mid-round (or a backlog): the stream no longer waits for it."""


def mark_lander(dataset: Dataset, busy: bool, settings: Settings, landed_at: str | None = None) -> None:
    """Say in the lake whether the channel's lander is in a round (:func:`settle` waits for it) and
    when it last landed something (``landed_at``: :class:`LogWatch` lists the log again when it moves)."""
    body = json.dumps({"busy": busy, "at": datetime.now(UTC).isoformat(), "landed_at": landed_at}).encode()
    storage.s3_client(settings).put_object(Bucket=settings.bucket, Key=lander_state_key(dataset), Body=body)


def lander_marks(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each channel's lander state as it last wrote it (empty when it never did)."""
    out = {}
    for name in STREAMED:
        body = storage.get_or_none(lander_state_key(REGISTRY[name]), settings)
        out[name] = json.loads(body) if body is not None else {}
    return out


def lander_busy(settings: Settings, now: datetime | None = None) -> bool:
    """Whether a channel's lander is in a round now (and not for longer than :data:`LANDER_BUSY_STALE`)."""
    now = now or datetime.now(UTC)
    return any(
        state.get("busy") and now - datetime.fromisoformat(state["at"]) < LANDER_BUSY_STALE
        for state in lander_marks(settings).values()
    )


# ---------------------------------------------------------------------------------------------- stream


@dataclass
class Checkpoint:
    """What the stream has processed (log object keys) and which days still owe an alert rebuild."""

    processed: set[str] = field(default_factory=set)
    alerts_due: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, dataset: Dataset, settings: Settings) -> Checkpoint:
        body = storage.get_or_none(checkpoint_key(dataset), settings)
        if body is None:
            return cls()
        data = json.loads(body)
        return cls(set(data.get("processed", [])), set(data.get("alerts_due", [])))

    def write(self, dataset: Dataset, settings: Settings, keep_days: Iterable[date]) -> None:
        """Overwrite the checkpoint (one stream writes it: the ``live-stream`` lease); keys of days the
        stream no longer follows are dropped (and days it does not rebuild), so it stays small."""
        kept = {f"{d:%Y-%m-%d}" for d in keep_days}
        processed = sorted(k for k in self.processed if _key_day(k) in kept)
        due = sorted(d for d in self.alerts_due if d in kept)
        body = json.dumps({"processed": processed, "alerts_due": due}).encode()
        storage.s3_client(settings).put_object(Bucket=settings.bucket, Key=checkpoint_key(dataset), Body=body)


def _key_day(key: str) -> str:
    """The day in a log key (``sent_date=YYYY-MM-DD`` or ``day=YYYY-MM-DD``)."""
    for part in key.split("/"):
        if part.startswith(("sent_date=", "day=")):
            return part.split("=", 1)[1]
    return ""


def log_objects(dataset: Dataset, days: Sequence[date], settings: Settings) -> dict[str, datetime]:
    """The live log's objects of ``days`` (spool segments for MQTT, copied transmissions for FTP), with
    when the store wrote each."""
    from jobs.extract.mqtt import spool_prefix

    if dataset.name == "air_quality_reading":
        prefixes = [f"{spool_prefix(dataset)}sent_date={d:%Y-%m-%d}/" for d in days]
    else:
        prefixes = [f"{ftp_spool_prefix(dataset)}day={d:%Y-%m-%d}/" for d in days]
    return {k: at for p in prefixes for k, at in storage.list_objects(p, settings).items()}


def log_keys(dataset: Dataset, days: Sequence[date], settings: Settings) -> list[str]:
    return sorted(log_objects(dataset, days, settings))


SETTLE_LIMIT = 3.0
"""A round waits at most this many times its ``quiet`` seconds for the log to go quiet."""
LANDER_WAIT = 30.0
"""A round waits at most this many seconds for a lander round in progress (a burst being landed)."""
LANDER_POLL = 0.5


def settle(
    unprocessed: Callable[[], dict[str, dict[str, datetime]]],
    quiet: float,
    landing: Callable[[], bool] = lambda: False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, list[str]]:
    """Once there is something new, wait until the newest log object the stream has not processed is
    ``quiet`` seconds old (at most :data:`SETTLE_LIMIT` × ``quiet``) and no lander round is in progress
    (``landing``; at most :data:`LANDER_WAIT` s), then return each dataset's unprocessed keys, oldest
    name first.

    Why: a burst (an hour's readings from thousands of stations and facilities) reaches the log in
    pieces: MQTT segments a lander round or two apart, and a thousand FTP transmissions copied over
    10–20 s. A round that starts at the first piece refines it alone and the rest waits for the next
    round, a whole round (tens of seconds) later; waiting a moment for the log to go quiet (Kafka's
    ``linger.ms``) costs seconds and saves that round. A steady trickle never goes quiet, but its lander
    rounds are short: the limits bound what it adds. ``unprocessed``: per dataset, the keys not
    processed yet with when the store wrote them (the store's clock; a skewed one only shortens or
    lengthens the wait within the limit)."""
    waited = 0.0
    while True:
        pending = unprocessed()
        stamps = [at for objects in pending.values() for at in objects.values()]
        pause = 0.0
        if stamps:
            age = (clock() - max(stamps)).total_seconds()
            pause = min(quiet - age, SETTLE_LIMIT * quiet - waited)
            if waited < LANDER_WAIT and landing():
                pause = min(max(pause, LANDER_POLL), LANDER_WAIT - waited)
        if pause <= 0:
            return {name: sorted(objects) for name, objects in pending.items()}
        sleep(pause)
        waited += pause


class LogWatch:
    """The stream's view of the live log: per dataset, the objects of ``days`` its checkpoint does not
    hold yet. The log is listed again only when a lander's marker says it landed something since the
    last listing (``landed_at``, written after the objects), when the days change, or after
    :data:`LOG_RELIST_SECONDS` (an object landed some other way: the nightly extract draining the MQTT
    session). Why: the stream looked every 2 s, idle too, and a listing is ≈ 1 s of CPU per 10,000
    objects (measured: 1.1 s for the 9,600 of an 8-hour replay at 10⁶), in the process whose threads
    send the notices: a burst of 1,238 notices took 26.7 s beside it, 5.3–7.7 s once it listed less
    (``make bench-live``)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.clock = settings, clock
        self.listed: dict[str, dict[str, datetime]] = {}
        self.key: tuple[Any, ...] | None = None  # (days, each lander's landed_at) at the last listing
        self.listed_at = float("-inf")

    def __call__(self, days: Sequence[date]) -> dict[str, dict[str, datetime]]:
        marks = lander_marks(self.settings)
        key = (tuple(days), *(marks[name].get("landed_at") for name in STREAMED))
        if key != self.key or self.clock() - self.listed_at >= LOG_RELIST_SECONDS:
            self.listed = {name: log_objects(REGISTRY[name], days, self.settings) for name in STREAMED}
            self.key, self.listed_at = key, self.clock()
        out = {}
        for name in STREAMED:
            processed = Checkpoint.read(REGISTRY[name], self.settings).processed
            out[name] = {k: at for k, at in self.listed[name].items() if k not in processed}
        return out


@dataclass(frozen=True)
class LiveLine:
    """One record of the log as bronze would see it: text, how it was read, where it came from."""

    line: str
    charset: str
    decode_error: str | None
    day: date  # the local day whose nightly batch carries it too
    source_file: str


def batch_id_of(dataset: Dataset, day: date) -> str:
    """The nightly batch the reading of local ``day`` belongs to (its lineage in the live view)."""
    return DataInterval.for_local_day(day).batch_id(dataset.name)


def spool_lines(dataset: Dataset, key: str, body: bytes, settings: Settings) -> list[LiveLine]:
    """A spool segment's messages as JSON-lines records (manifests, markers and re-sends of landed
    messages left out, as the nightly assembly leaves them out)."""
    from jobs.extract.mqtt import _line, batch_time
    from jobs.guards import record_problem

    out = []
    for raw in body.splitlines():
        if not raw.strip():
            continue
        rec = json.loads(raw)
        if "manifest" in rec or rec.get("already_landed"):
            continue
        text = _line(rec["payload"])
        day = batch_time(rec).astimezone(LOCAL_TZ).date()
        problem = record_problem(text, "jsonl", settings.limits)
        out.append(LiveLine(text, "utf-8", problem, day, f"{key}#{rec['message_id']}"))
    return out


def transmission_lines(dataset: Dataset, key: str, body: bytes, settings: Settings) -> list[LiveLine]:
    """A copied FTP transmission's data lines, each read in the charset decided from the file's own lines."""
    from jobs.bronze import _LINE_BREAK, _decoded_lines, check_header
    from jobs.text import decide_charset, decode_as

    lines = _LINE_BREAK.split(body)
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        return []
    header = (decode_as(lines[0], "utf-8") or "").lstrip("\ufeff")
    check_header(dataset, header, settings.limits)
    charset = decide_charset(lines[1:])
    decoded = _decoded_lines(b"\n".join(lines[1:]), ((1, charset),), "csv", settings.limits)
    day = date.fromisoformat(_key_day(key))
    return [LiveLine(text, cs, err, day, key) for text, cs, err in decoded]


def bronze_frame(spark: SparkSession, dataset: Dataset, lines: Sequence[LiveLine], ingested_at: datetime) -> DataFrame:
    """The micro-batch's lines parsed as bronze parses them (same columns, parse flags and lineage).

    ``_source_line`` numbers the micro-batch's lines in log order (unique within it, so the batch's
    duplicate and "later line wins" rules work across the micro-batch's objects)."""
    from pyspark.sql import functions as F

    from jobs.bronze import parse_csv_lines, parse_json_lines
    from jobs.spark import local_frame

    assert dataset.source is not None
    batch_ids = {day: batch_id_of(dataset, day) for day in {ln.day for ln in lines}}
    # In the plan (Arrow), not Python rows: those make a Python RDD that Python workers unpickle on every
    # scan, and the refine scans it several times (4 × 1-3 s for an hour of air readings, measured).
    frame = local_frame(
        spark,
        ((ln.line, ln.charset, ln.decode_error, n, batch_ids[ln.day], ln.source_file) for n, ln in enumerate(lines, 1)),
        "line STRING, _charset STRING, _decode_error STRING, line_no LONG, _batch_id STRING, _source_file STRING",
    )
    lineage = ("_batch_id", "_source_file")
    parsed = (
        parse_json_lines(frame, dataset.source, keep=lineage)
        if dataset.source.format == "jsonl"
        else parse_csv_lines(frame, dataset.source.columns, keep=lineage)
    )
    return parsed.withColumn("_ingested_at", F.lit(ingested_at.astimezone(UTC).replace(tzinfo=None)).cast("timestamp"))


def refine_live(dataset: Dataset, bronze: DataFrame, inputs: dict[str, DataFrame], days: Sequence[date]) -> DataFrame:
    """The batch's refine of a micro-batch, each line judged with the nightly batch of its local day
    (the interval its row rules see): one frame, ``_outcome`` saying silver, quarantine or duplicate,
    by the same transform, row rules and duplicate rules."""
    from functools import reduce

    from jobs.silver import split_batch, typed_batch

    splits = []
    for day in days:
        share = bronze.where(bronze["_batch_id"] == batch_id_of(dataset, day))
        typed = typed_batch(dataset, share, inputs, {"interval": DataInterval.for_local_day(day)})
        splits.append(split_batch(typed, dataset))
    return reduce(lambda a, b: a.unionByName(b), splits)


LIVE_TABLE_PROPERTIES = {"delta.checkpointInterval": "100"}
"""The tables only the stream writes take a commit every round, and Delta Spark writes a checkpoint in
the commit that reaches its interval (10 by default): the four live tables reached it in the same
round, which then took 41 s instead of 15 (measured, ``make bench-live``). Every 100th commit, as
delta-rs does by default; a reader replays at most 99 small JSON commits instead of 9."""


def _ensure_live_tables(spark: SparkSession, dataset: Dataset, settings: Settings) -> tuple[str, str]:
    from jobs.tables import ensure_quarantine_table, ensure_table, silver_ddl

    uri, q_uri = settings.s3a_uri(live_key(dataset)), settings.s3a_uri(live_quarantine_key(dataset))
    ensure_table(spark, uri, silver_ddl(dataset), dataset.partition_by, LIVE_TABLE_PROPERTIES)
    ensure_quarantine_table(spark, q_uri, LIVE_TABLE_PROPERTIES)
    return uri, q_uri


def days_and_windows(good: DataFrame, dataset: Dataset) -> tuple[set[str], list[tuple[str, str]]]:
    """The local days a micro-batch's good rows fall on and their event-time windows (UTC text), in one
    Spark job: the windows let the MERGE into the live view skip the day's other files. One window per
    run of consecutive hours the rows fall in, not one from the earliest to the latest row: a single
    late reading of yesterday would otherwise stretch it over every file of the day so far."""
    from pyspark.sql import functions as F

    assert dataset.event_time is not None
    stamp = "yyyy-MM-dd HH:mm:ss.SSSSSS"  # the session's time zone is UTC (jobs.spark)
    at = F.col(dataset.event_time)
    hours = (
        good.groupBy(F.date_format(F.date_trunc("hour", at), stamp).alias("hour"))
        .agg(
            F.collect_set(F.col(dataset.partition_by[0]).cast("string")).alias("days"),
            F.date_format(F.min(at), stamp).alias("low"),
            F.date_format(F.max(at), stamp).alias("high"),
        )
        .collect()
    )
    days = {d for row in hours for d in row["days"]}
    windows: list[tuple[str, str]] = []
    previous: datetime | None = None  # the hour of the last window's latest row
    for row in sorted(hours, key=lambda r: r["hour"]):
        hour = datetime.strptime(row["hour"], "%Y-%m-%d %H:%M:%S.%f")
        if previous is not None and hour - previous == timedelta(hours=1):
            windows[-1] = (windows[-1][0], row["high"])
        else:
            windows.append((row["low"], row["high"]))
        previous = hour
    return days, windows


def merge_quarantine(spark: SparkSession, uri: str, rows: DataFrame, batch_ids: Sequence[str] = ()) -> None:
    """Add quarantine rows not there yet, matched on (dataset, batch, raw line): a record read twice
    (a redelivered message, a reprocessed log object) is one row, as exact duplicates are in a batch.
    ``batch_ids``: every batch the rows can belong to, as literals Delta skips other days' files by."""
    from delta.tables import DeltaTable

    condition = "t.dataset = s.dataset AND t._batch_id = s._batch_id AND t.raw_line <=> s.raw_line"
    if batch_ids:
        condition += " AND t._batch_id IN (" + ", ".join(f"'{b}'" for b in batch_ids) + ")"
    DeltaTable.forPath(spark, uri).alias("t").merge(rows.alias("s"), condition).whenNotMatchedInsertAll().execute()


class Phases:
    """Seconds per phase of a step, each from the end of the one before (``phase("merge")``): what a
    round logs, so a slow round says where its time went."""

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds = {} if seconds is None else seconds
        self.mark = time.monotonic()

    def __call__(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self.mark, 1)
        self.mark = now


@dataclass
class MicroBatch:
    """What one round of the stream did for one dataset."""

    dataset: str
    objects: int = 0
    lines: int = 0
    days: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # read the log, transform + windows, each MERGE


def process_dataset(
    spark: SparkSession,
    dataset: Dataset,
    days: Sequence[date],
    now: datetime,
    settings: Settings,
    listed: Sequence[str] | None = None,
) -> MicroBatch:
    """Refine the log objects of ``days`` the checkpoint does not hold yet into the live view, then move
    the checkpoint (see the module docstring for why a crash between the two is harmless). ``listed``:
    the log's keys as the caller just listed them (:func:`settle`), else the log is listed here."""
    from jobs.gold import read_table
    from jobs.publish import merge_into_silver
    from jobs.silver import quarantine_rows, silver_rows

    result = MicroBatch(dataset.name)
    phase = Phases(result.seconds)

    checkpoint = Checkpoint.read(dataset, settings)
    keys = log_keys(dataset, days, settings) if listed is None else listed
    new = [k for k in keys if k not in checkpoint.processed]
    if not new:
        return result
    client = storage.s3_client(settings)
    reader = spool_lines if dataset.name == "air_quality_reading" else transmission_lines

    def body(key: str) -> bytes:
        return client.get_object(Bucket=settings.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]

    lines: list[LiveLine] = []
    with ThreadPoolExecutor(8) as pool:  # an hour of FTP transmissions is a thousand small objects
        for key, data in zip(new, pool.map(body, new), strict=True):
            lines.extend(reader(dataset, key, data, settings))
    result.objects, result.lines = len(new), len(lines)
    phase("read")
    if lines:
        uri, q_uri = _ensure_live_tables(spark, dataset, settings)
        inputs = {name: read_table(spark, REGISTRY[name], settings) for name in dataset.inputs}
        bronze = bronze_frame(spark, dataset, lines, now)
        # computed once (Spark would recompute the transform for each action below otherwise); one MERGE
        # per table for the whole micro-batch, whichever days its lines belong to
        split = refine_live(dataset, bronze, inputs, sorted({ln.day for ln in lines})).cache()
        try:
            good, quarantined = silver_rows(split, dataset), quarantine_rows(split, dataset)
            touched, windows = days_and_windows(good, dataset)  # the first action: the transform runs here
            phase("transform")
            merge_into_silver(spark, dataset, good, settings, uri=uri, event_windows=windows)
            phase("merge")
            merge_quarantine(spark, q_uri, quarantined, sorted({batch_id_of(dataset, ln.day) for ln in lines}))
            phase("merge_quarantine")
        finally:
            split.unpersist()
        result.days = sorted(touched)
        # a day the stream does not follow (a late reading of the day before) is the nightly rebuild's;
        # a batch's days count even if all its lines were quarantined (a device in error alerts)
        batch_days = {ln.day.isoformat() for ln in lines}
        checkpoint.alerts_due |= (touched | batch_days) & {d.isoformat() for d in days}
    checkpoint.processed |= set(new)
    checkpoint.write(dataset, settings, days)
    return result


def current_readings(spark: SparkSession, dataset: Dataset, days: Sequence[date], settings: Settings) -> DataFrame:
    """The readings of ``days`` counted once: silver's (published by the nightly batch, the system of
    record) plus the live view's that silver does not hold (matched on the natural key)."""
    from pyspark.sql import functions as F

    from jobs.tables import ensure_silver_table

    date_col = dataset.partition_by[0]
    wanted = F.col(date_col).isin(*days)
    silver = spark.read.format("delta").load(ensure_silver_table(spark, dataset, settings)).where(wanted)
    live_uri, _ = _ensure_live_tables(spark, dataset, settings)
    live = spark.read.format("delta").load(live_uri).where(wanted)
    keys = list(dataset.natural_key)
    return silver.unionByName(live.join(silver.select(*keys), keys, "left_anti"))


def current_quarantine(spark: SparkSession, dataset: Dataset, days: Sequence[date], settings: Settings) -> DataFrame:
    """The quarantined records of ``days``' batches counted once: the nightly batch's (the system of
    record, where a steward may have released or accepted one since) plus the live quarantine's that
    it does not hold (matched as the live MERGE matches: dataset, batch, raw line)."""
    from pyspark.sql import functions as F

    from jobs.gold import read_quarantine

    batches = F.col("_batch_id").isin(*[batch_id_of(dataset, d) for d in days])  # Delta skips other days' files
    _, live_uri = _ensure_live_tables(spark, dataset, settings)
    live = spark.read.format("delta").load(live_uri).where((F.col("dataset") == dataset.name) & batches)
    nightly = read_quarantine(spark, dataset, settings).where(batches)
    line = ["dataset", "_batch_id", "raw_line"]
    return nightly.unionByName(live.join(nightly.select(*line), line, "left_anti"))


def rebuild_alerts(spark: SparkSession, days: Sequence[date], now: datetime, settings: Settings) -> dict[str, int]:
    """The hourly VN_AQI (live table) and the alert episodes of ``days`` from the current readings.

    A station is silent when its next reading is overdue by :func:`alert_clock`. ``days`` are the
    followed days (yesterday and today when live), so the readings after a rebuilt day that close its
    episodes are read too. Written
    under the alert table's lease, the one the nightly gold build takes (one writer per table)."""
    from jobs.environment.alerts import alerts
    from jobs.environment.transforms import aqi_hourly
    from jobs.gold import conform_to_schema, read_table
    from jobs.lease import dataset_resource
    from jobs.tables import ensure_table, replace_with_arrow

    alert, hourly = REGISTRY["alert"], REGISTRY["aqi_hourly"]
    first, last = min(days) - timedelta(days=1), max(days)  # the day before: the NowCast's 12 hours
    span = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    phase = Phases()
    air = current_readings(spark, REGISTRY["air_quality_reading"], span, settings).cache()
    water = current_readings(spark, REGISTRY["wastewater_reading"], span, settings).cache()
    aqi = conform_to_schema(aqi_hourly({"air_quality_reading": air}, span[1:]), hourly).cache()
    try:
        as_of = alert_clock(air, water, last, now)
        phase("clock")
        inputs = {
            "air_quality_reading": air,
            "wastewater_reading": water,
            "wastewater_facility": read_table(spark, REGISTRY["wastewater_facility"], settings),
            "aqi_hourly": aqi,
            **{
                quarantine_input(name): current_quarantine(spark, REGISTRY[name], span, settings)
                for name in alert.quarantine_inputs
            },
        }
        rows = conform_to_schema(alerts(inputs, list(days), as_of=as_of), alert)
        day_list = ", ".join(f"'{d.isoformat()}'" for d in days)
        # a day's hourly index and alerts are a few hundred thousand rows at most: collected as Arrow and
        # committed with delta-rs in a fraction of a second (a Spark overwrite costs seconds a table)
        ensure_table(spark, settings.s3a_uri(LIVE_AQI_KEY), hourly.spark_schema(), hourly.partition_by)
        hourly_rows = aqi.where(aqi["date"].isin(*days)).toArrow()
        phase("aqi")
        replace_with_arrow(hourly_rows, LIVE_AQI_KEY, f"date IN ({day_list})", settings)
        phase("aqi_write")
        ensure_table(spark, settings.s3a_uri(alert.table_path), alert.spark_schema(), alert.partition_by)
        written = rows.toArrow()
        phase("episodes")
        with hold(dataset_resource(alert.name), holder="live stream alerts", settings=settings):
            replace_with_arrow(written, alert.table_path, f"{alert.replace_key} IN ({day_list})", settings)
        phase("alert_write")
    finally:
        for frame in (aqi, air, water):  # a long-lived session: what a round cached goes with it
            frame.unpersist()
    log.info("alerts: %d rows, seconds %s", written.num_rows, phase.seconds)
    return {"alerts": written.num_rows}


LOCAL_RELATION_RULE = "org.apache.spark.sql.catalyst.optimizer.ConvertToLocalRelation"

# Replaying a day, a medium's clock is the time its leading tenth of stations have reached: the 0.9
# quantile of the stations' latest readings (with nine stations or fewer, the latest of them).
REPLAY_CLOCK_QUANTILE = 0.9


def judged_by_wall_clock(day: date, now: datetime) -> bool:
    """Whether ``day``'s silences are judged by the wall clock (yesterday or today), not by its own data
    (a replayed day: :func:`alert_clock`)."""
    return now - DataInterval.for_local_day(day).end < timedelta(days=1)


def alert_clock(air: DataFrame, water: DataFrame, last_day: date, now: datetime) -> dict[str, datetime]:
    """Up to when each medium's silences are judged. Following yesterday or today: the wall clock
    (capped at the day's end), so a station that stops is seen when its next reading is due.
    Replaying an older day (``--day``): each medium's own data, since the wall clock is long past that
    day's end and would call every station not replayed yet silent, and one channel running ahead of
    the other (MQTT landed, FTP still copying) must not make the other's stations silent. Not the
    medium's single latest reading: one station whose clock runs hours ahead (or whose reading came
    early) would make every other station silent; see :data:`REPLAY_CLOCK_QUANTILE`."""
    from pyspark.sql import functions as F

    day_end = DataInterval.for_local_day(last_day).end
    if judged_by_wall_clock(last_day, now):
        return dict.fromkeys(("air", "wastewater"), min(now, day_end))
    clocks = {}
    for medium, frame in (("air", air), ("wastewater", water)):
        latest = frame.groupBy("station_id").agg(F.max(F.unix_timestamp("measured_at")).alias("latest"))
        reached = latest.agg(F.percentile_approx("latest", REPLAY_CLOCK_QUANTILE)).collect()[0][0]
        clocks[medium] = day_end if reached is None else min(day_end, datetime.fromtimestamp(reached, UTC))
    return clocks


@dataclass
class Round:
    """One round of the stream: the micro-batches, the alert rebuild and the notices."""

    batches: list[MicroBatch]
    alert_days: list[str]
    alerts: int | None = None
    notices: dict[str, Any] | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per phase: refine, alerts, notices


def stream_once(
    spark: SparkSession,
    settings: Settings,
    days: Sequence[date],
    now: datetime,
    rebuild_days: Iterable[date] = (),
    notify: bool = True,
    listed: dict[str, list[str]] | None = None,
) -> Round:
    """One round: each streamed dataset's new log objects → live view; then the alerts of the days
    they touched (plus ``rebuild_days``, the caller's clock-driven rebuild of today) and their notices.
    ``listed``: per dataset, the log keys to look at (:func:`settle`); by default the log is listed."""
    from jobs import notify as notifier

    datasets = [REGISTRY[name] for name in STREAMED]
    started = time.monotonic()
    with ThreadPoolExecutor(len(datasets)) as pool:  # their Spark jobs and store round trips overlap
        batches = list(
            pool.map(
                lambda ds: process_dataset(spark, ds, days, now, settings, None if listed is None else listed[ds.name]),
                datasets,
            )
        )
    refined = time.monotonic()
    checkpoints = {ds.name: Checkpoint.read(ds, settings) for ds in datasets}
    due = {date.fromisoformat(d) for cp in checkpoints.values() for d in cp.alerts_due} | set(rebuild_days)
    due = {d for d in due if d in days}
    if not due:
        return Round(batches, [], seconds={"refine": round(refined - started, 1)})
    due |= {d for d in days if d > min(due)}  # the later days hold the readings that close its episodes
    out = Round(batches, sorted(d.isoformat() for d in due))
    out.alerts = rebuild_alerts(spark, sorted(due), now, settings)["alerts"]
    rebuilt = time.monotonic()
    out.seconds = {"refine": round(refined - started, 1), "alerts": round(rebuilt - refined, 1)}
    for ds in datasets:  # the alerts are written: these days owe nothing any more
        cp = checkpoints[ds.name]
        if cp.alerts_due:
            cp.alerts_due -= {d.isoformat() for d in due}
            cp.write(ds, settings, days)
    if notify:
        out.notices = notifier.deliver(notifier.read_alerts(settings, dates=out.alert_days), settings)
        out.seconds["notices"] = round(time.monotonic() - rebuilt, 1)
    return out


def books(spark: SparkSession, day: date, settings: Settings | None = None) -> dict[str, dict[str, int]]:
    """Per streamed dataset, the readings of local ``day`` in the live view and in silver: in both,
    live only (not yet, or never, published by the nightly batch), silver only (the live path missed
    them), and the quarantined records of the day's batch on each path."""
    from pyspark.sql import functions as F

    from jobs.tables import ensure_quarantine_table, ensure_silver_table, quarantine_uri

    settings = settings or get_settings()
    out: dict[str, dict[str, int]] = {}
    for name in STREAMED:
        dataset = REGISTRY[name]
        uri, q_uri = _ensure_live_tables(spark, dataset, settings)
        date_col, keys = dataset.partition_by[0], list(dataset.natural_key)
        on_day = F.col(date_col) == F.lit(day)
        live = spark.read.format("delta").load(uri).where(on_day).select(*keys, F.lit(True).alias("_live"))
        silver_uri = ensure_silver_table(spark, dataset, settings)
        silver = spark.read.format("delta").load(silver_uri).where(on_day).select(*keys, F.lit(True).alias("_silver"))
        both = (
            live.join(silver, keys, "full_outer")
            .agg(
                F.count(F.when(F.col("_live") & F.col("_silver"), 1)).alias("both"),
                F.count(F.when(F.col("_live") & F.col("_silver").isNull(), 1)).alias("live_only"),
                F.count(F.when(F.col("_silver") & F.col("_live").isNull(), 1)).alias("silver_only"),
            )
            .collect()[0]  # a global aggregation has exactly one row
        )
        batch = batch_id_of(dataset, day)
        ensure_quarantine_table(spark, quarantine_uri(dataset, settings))
        of_batch = (F.col("dataset") == name) & (F.col("_batch_id") == batch)
        batch_quarantine = spark.read.format("delta").load(quarantine_uri(dataset, settings))
        out[name] = {
            "live": int(both["both"] + both["live_only"]),
            "silver": int(both["both"] + both["silver_only"]),
            "both": int(both["both"]),
            "live_only": int(both["live_only"]),
            "silver_only": int(both["silver_only"]),
            "live_quarantined": spark.read.format("delta").load(q_uri).where(of_batch).count(),
            "silver_quarantined": batch_quarantine.where(of_batch).count(),
        }
    return out


# ---------------------------------------------------------------------------------------------- loops


def run_lander(
    settings: Settings, period: float, rounds: int | None = None, days: Sequence[date] | None = None
) -> None:
    """Land every ``period`` seconds until stopped (or ``rounds`` rounds), each channel in its own
    thread: a burst of FTP transmissions (a thousand small files, tens of seconds) does not hold up the
    MQTT drain, nor the reverse. A failed round is logged and retried next round (the log and the
    broker keep what was not landed); an unexpected error in one channel stops both and is raised, so
    the lander never runs on with one channel dead. ``days``: the local days to follow (default:
    yesterday and today by the clock)."""
    stop = threading.Event()
    with ThreadPoolExecutor(len(STREAMED), thread_name_prefix="lander") as pool:
        loops = [pool.submit(_land_loop, REGISTRY[name], settings, period, rounds, days, stop) for name in STREAMED]
        wait(loops, return_when=FIRST_EXCEPTION)
        stop.set()  # the other channel finishes its round and stops
    for loop in loops:
        loop.result()  # raises the channel's error


def _land_loop(
    dataset: Dataset,
    settings: Settings,
    period: float,
    rounds: int | None,
    days: Sequence[date] | None,
    stop: threading.Event,
) -> None:
    from botocore.exceptions import BotoCoreError

    from jobs.errors import StoreUnreachableError

    # the broker, the FTP server or the store away: the next round lands what this one did not
    transient = (ConnectionError, OSError, TimeoutError, LeaseBusyError, BotoCoreError, StoreUnreachableError)
    done = 0
    names = LandedNames(settings)
    landed_at: str | None = None  # this lander's last round that landed something
    while (rounds is None or done < rounds) and not stop.is_set():
        started = time.monotonic()
        try:
            mark_lander(dataset, True, settings, landed_at)
            landed, failed = 0, True
            try:
                landed = land_channel(dataset, settings, days or live_days(datetime.now(UTC)), names)
                failed = False
            finally:
                if landed or failed:  # a round that failed part-way may have landed some: the stream lists again
                    landed_at = datetime.now(UTC).isoformat()
                mark_lander(dataset, False, settings, landed_at)
            if landed:
                log.info("lander: %s %d", dataset.name, landed)
        except transient as err:
            log.warning("lander: %s: this round did not land (%s); again in %.0f s", dataset.name, err, period)
        done += 1
        stop.wait(max(0.0, period - (time.monotonic() - started)))


class Notifier:
    """Sends the notices of the days the stream rebuilt, one run at a time in a background thread, so
    a burst of e-mails does not hold up the next micro-batch; the days of rounds that finish while a
    run is busy wait for the next run (``deliver`` sends whatever the ledger does not hold yet)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="notifier")
        self.running: Any = None
        self.owed: set[str] = set()

    def offer(self, days: Iterable[str]) -> None:
        self.owed |= set(days)
        if self.owed and (self.running is None or self.running.done()):
            if self.running is not None:
                self._report(self.running)
            self.running = self.pool.submit(self._deliver, sorted(self.owed))
            self.owed = set()

    def _deliver(self, days: list[str]) -> dict[str, Any]:
        from jobs import notify as notifier

        return notifier.deliver(notifier.read_alerts(self.settings, dates=days), self.settings)

    def _report(self, run: Any) -> None:
        try:
            report = run.result()
        except Exception:  # the ledger keeps what was delivered; the next run sends the rest
            log.exception("notifier: this run failed; the next round's run sends what is left")
        else:
            if any(report.get(c, {}).get("sent") for c in ("email", "webhook")):
                log.info("notifier: %s", report)

    def close(self) -> None:
        """Finish the run in flight and deliver what is still owed (a bounded stop drains its notices)."""
        if self.running is not None:
            self._report(self.running)
            self.running = None
        if self.owed:
            self._report(self.pool.submit(self._deliver, sorted(self.owed)))
            self.owed = set()
        self.pool.shutdown()


def run_stream(
    settings: Settings,
    period: float,
    rounds: int | None = None,
    days: Sequence[date] | None = None,
    quiet: float = 2.0,
) -> None:
    """Process the live log every ``period`` seconds until stopped (or ``rounds`` rounds), holding the
    ``live-stream`` lease so a second stream waits instead of writing beside it. ``days`` as for
    :func:`run_lander`; a round starts once the log has been ``quiet`` seconds without a new object
    (:func:`settle`); silences are judged by :func:`alert_clock`; notices go out beside the rounds
    (:class:`Notifier`)."""
    from jobs.spark import get_spark

    spark = get_spark()
    # A micro-batch arrives as an Arrow table (bronze_frame), which Spark holds as a local relation; this
    # rule would then run the whole refine in the driver, one thread, interpreted, as the plan is
    # optimised (3 s for an hour of air readings, measured): let the executors run it.
    spark.conf.set("spark.sql.optimizer.excludedRules", LOCAL_RELATION_RULE)
    last_alerts: float | None = None  # the first round rebuilds: its silences, and the plans warmed
    done = 0
    notifier = Notifier(settings)
    log_watch = LogWatch(settings)
    with hold(STREAM_RESOURCE, holder="live stream", settings=settings):
        try:
            while rounds is None or done < rounds:
                started = time.monotonic()
                followed = list(days or live_days(datetime.now(UTC)))
                # A replayed day's silences move with its data only: rebuilding it without new readings
                # changes nothing, and held up the round that brought the next hour by 15 s (measured)
                clock_due = last_alerts is None or (
                    started - last_alerts >= ALERT_REFRESH_SECONDS
                    and judged_by_wall_clock(max(followed), datetime.now(UTC))
                )
                try:
                    listed = settle(partial(log_watch, followed), quiet, partial(lander_busy, settings))
                    rebuild = [max(followed)] if clock_due else []
                    now = datetime.now(UTC)
                    result = stream_once(spark, settings, followed, now, rebuild, notify=False, listed=listed)
                except Exception:  # a long-lived service: the round is idempotent, the next one retries it
                    log.exception(
                        "stream: this round failed; again in %.0f s (its log objects stay unprocessed)", period
                    )
                else:
                    if result.alerts is not None:
                        last_alerts = started
                    notifier.offer(result.alert_days)
                    if any(b.lines for b in result.batches):
                        log.info("stream: %s", result)
                done += 1
                time.sleep(max(0.0, period - (time.monotonic() - started)))
        finally:
            notifier.close()
