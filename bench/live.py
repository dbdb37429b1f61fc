"""``make bench-live``: latency of the live path, from a reading's publish to its alert row and e-mail.

Why (issue 14, item 1): "alerts within a minute" is a figure, not a design. The environment sample
of one day at the ``--rows`` setting (1e6 by default: ≈ 800,000 air readings from ≈ 5,400 stations,
≈ 200,000 wastewater readings in ≈ 28,000 transmission files) is replayed hour by hour, one hour of
the day every ``--hour-seconds``, on the real channels: each hour's air readings published (QoS 1)
to a private mosquitto by this process, each hour's wastewater transmissions moved into the FTPS
drop served by ``sample_sources.servers.ftp_server``. ``lakehouse stream lander`` and ``lakehouse
stream run`` run as the two processes ``make stream-start`` starts, following the day before and
the day (a service follows yesterday and today), against a throw-away bucket of the real store,
sending notices to a local SMTP server (aiosmtpd) in a process of its own. Before the day, the day
before's last hour (generated at the same setting) goes through the whole path as a warm-up: a
service that has been running has its JVM compiled and its plans generated; a fresh one pays that
on its first round, reported apart (``warm_up_hour``), not in the figures.

Measured per alert opened by a reading (``exceedance``, ``aqi`` and ``device``; a ``silent`` alert is
opened by the clock, not by a reading): from the moment the station-hour's first reading was handed to the
broker (air) or its transmission file appeared in the drop (wastewater) to the moment the alert's
row was first seen in ``gold.environment_alert`` (polled every second with delta-rs) and to the
moment the local SMTP server (:mod:`bench.smtp_sink`, a process of its own, as a relay is) accepted
its ``opened`` notice. Results: p50 / p95 / max, a table and ``.state/bench/live.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.channels import REPO, broker, free_port, server, wait_listening
from sample_sources.environment.transmissions import LOCAL_TIME

GOAL_P95_SECONDS = 60.0
LOCAL = timedelta(hours=7)  # Asia/Ho_Chi_Minh, no DST
OPENED_BY_A_READING = ("exceedance", "aqi", "device")
ALERT_KINDS = (*OPENED_BY_A_READING, "silent")
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):")
_LOCAL_STAMP = re.compile(LOCAL_TIME)

log = logging.getLogger("bench.live")


def _hour_of(line: str, day: date) -> int | None:
    """The local hour of ``day`` a data line is stamped with (ISO or 'dd/mm/yyyy HH:MM' form), else None."""
    if m := _STAMP.search(line):
        return int(m[2]) if m[1] == day.isoformat() else None
    if m := _LOCAL_STAMP.search(line):
        return int(m[4]) if (m[3], m[2], m[1]) == (f"{day:%Y}", f"{day:%m}", f"{day:%d}") else None
    return None


def split_air_by_hour(readings: Path, out: Path, day: date) -> list[Path]:
    """The day's air file as 24 files, one per local hour, in file order; a line without its own hour
    of the day (a late re-send, a broken line) goes with the hour of the line before it."""
    lines = readings.read_text(encoding="utf-8").splitlines(keepends=True)
    header, hours = lines[0], [[] for _ in range(24)]  # type: str, list[list[str]]
    current = 0
    for line in lines[1:]:
        hour = _hour_of(line, day)
        current = current if hour is None else hour
        hours[current].append(line)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for h, part in enumerate(hours):
        path = out / f"readings_{day:%Y%m%d}_{h:02d}.csv"
        path.write_text(header + "".join(part), encoding="utf-8")
        files.append(path)
    return files


class Clock:
    """When each station-hour reached its channel (the first of its readings), on the monotonic clock."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, int], float] = {}

    def mark(self, station: str, hour: int, at: float) -> None:
        self.sent.setdefault((station, hour), at)


def publish_hour(path: Path, topic: str, day: date, clock: Clock, account: Any) -> int:
    """Publish one hour's air readings (QoS 1, the publisher's own records), marking each station-hour."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from sample_sources.servers.mqtt_publisher import PROP_MESSAGE_ID, PROP_SENT_AT, WINDOW, connect_client, records

    client = connect_client(account, client_id=f"bench-live-{path.stem}", max_inflight=WINDOW)
    client.loop_start()
    pending = []
    sent = 0
    try:
        for rec in records(path, topic, topic_field="station_id", event_time="measured_at", day=day, live=False):
            now = time.monotonic()
            try:
                fields = json.loads(rec.payload)
            except ValueError:
                fields = None
            if isinstance(fields, dict):
                hour = _hour_of(str(fields.get("measured_at", "")), day)
                if hour is not None:
                    clock.mark(str(fields.get("station_id")), hour, now)
            props = Properties(PacketTypes.PUBLISH)  # as the publisher sends it: the device's id and clock
            props.UserProperty = [(PROP_MESSAGE_ID, rec.message_id), (PROP_SENT_AT, rec.sent_at)]
            pending.append(client.publish(rec.topic, rec.payload, qos=1, properties=props))
            sent += 1
            if len(pending) >= WINDOW:
                for info in pending:
                    info.wait_for_publish(timeout=60)
                pending.clear()
        for info in pending:
            info.wait_for_publish(timeout=60)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


def move_transmissions(held: Path, drop: Path, day: date, hour: int, clock: Clock) -> int:
    """Move the hour's transmission files into the FTP drop (hour 0 also takes the late ones)."""
    moved = 0
    for f in sorted(held.glob("*.csv")):
        _facility, station, stamp = f.stem.split("_")
        file_hour = int(stamp[8:10]) if stamp[:8] == f"{day:%Y%m%d}" else 0
        if file_hour == hour:
            shutil.move(str(f), drop / f.name)
            clock.mark(station, hour, time.monotonic())
            moved += 1
    return moved


class AlertWatch(threading.Thread):
    """Polls ``gold.environment_alert`` every second: the first time each alert id is seen."""

    def __init__(self, settings: Any, key: str) -> None:
        super().__init__(daemon=True)
        self.settings, self.key = settings, key
        self.first_seen: dict[str, float] = {}
        self.rows: dict[str, dict[str, Any]] = {}
        self.current: set[str] = set()  # the ids of the last poll: the table as the day ends
        self.stop = threading.Event()

    def run(self) -> None:
        from jobs.storage import delta_table_or_none

        while not self.stop.is_set():
            table = delta_table_or_none(self.settings, self.key)
            if table is not None:
                columns = ["alert_id", "kind", "medium", "entity_id", "opened_at", "closed_at", "date"]
                now = time.monotonic()
                rows = table.to_pyarrow_table(columns=columns).to_pylist()
                for row in rows:
                    self.first_seen.setdefault(row["alert_id"], now)
                    self.rows[row["alert_id"]] = row
                self.current = {row["alert_id"] for row in rows}
            self.stop.wait(1.0)


class Inbox:
    """The SMTP sink's record (:mod:`bench.smtp_sink`, its own process): when each notice was accepted."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def accepted(self) -> dict[str, float]:
        from bench.smtp_sink import accepted

        return accepted(self.path)


@contextmanager
def smtp_sink(work: Path) -> Iterator[tuple[Inbox, int]]:
    port = free_port()
    inbox = Inbox(work / "smtp-accepted.tsv")
    with server("bench.smtp_sink", "--port", str(port), "--out", str(inbox.path)):
        wait_listening(port)
        yield inbox, port


def _percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"n": len(ordered), "p50": round(q[49], 1), "p95": round(q[94], 1), "max": round(ordered[-1], 1)}


def _start(step: str, days: list[date], period: float, log_dir: Path) -> subprocess.Popen[bytes]:
    out = (log_dir / f"{step}.log").open("wb")
    following = [arg for d in days for arg in ("--day", d.isoformat())]
    return subprocess.Popen(  # nosec B603  # our own CLI
        [sys.executable, "-m", "jobs.cli", "stream", step, "--period", str(period), *following],
        env=dict(os.environ),
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def generate(root: Path, day: date, rows: int) -> None:
    t0 = time.perf_counter()
    subprocess.run(  # nosec B603  # our own generator
        [
            *(sys.executable, "-m", "sample_sources.environment.generate", "--out", str(root)),
            *("--date", day.isoformat(), "--rows", str(rows), "--no-progress"),
        ],
        check=True,
        cwd=REPO,
    )
    log.info("generated %s at the %s-row setting in %.1f s", day, f"{rows:,}", time.perf_counter() - t0)


def warm_up_until(done: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the warm-up hour was not processed within {timeout:.0f} s (--warm-up)")
        time.sleep(1)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from jobs import stream
    from jobs.extract.mqtt import register
    from jobs.interval import DataInterval
    from jobs.pipeline import run_dataset
    from jobs.registry import REGISTRY
    from jobs.settings import get_settings
    from sample_sources.env import SourceEnv
    from sample_sources.environment.transmissions import DAY_DIR, split_day
    from tests.lakehouse_fixtures import lake_bucket

    day: date = args.date
    root = args.sources or work / "sources"
    if args.sources is None:
        generate(root, day, args.rows)
    report = json.loads((root / "environment" / "_generation_report.json").read_text())
    split_day(root, day)
    drop, held = root / DAY_DIR.format(day=day), work / "held"
    held.mkdir()
    for f in drop.glob("*.csv"):
        f.rename(held / f.name)
    hours = split_air_by_hour(root / f"environment/air_quality/readings_{day:%Y%m%d}.csv", work / "air", day)
    # The warm-up: the last hour of the day before, at the same setting, on the same channels
    eve, eve_root = day - timedelta(days=1), work / "eve"
    generate(eve_root, eve, args.rows)
    split_day(eve_root, eve)
    eve_held, eve_drop = work / "eve-held", root / DAY_DIR.format(day=eve)
    (eve_root / DAY_DIR.format(day=eve)).rename(eve_held)
    shutil.rmtree(eve_drop, ignore_errors=True)
    eve_drop.mkdir(parents=True)
    eve_hour = split_air_by_hour(
        eve_root / f"environment/air_quality/readings_{eve:%Y%m%d}.csv", work / "eve-air", eve
    )[23]

    air = REGISTRY["air_quality_reading"]
    assert air.source is not None
    ftp_port = free_port()
    log_dir = work / "logs"
    log_dir.mkdir()
    clock, eve_clock = Clock(), Clock()
    with (
        broker(work / "mqtt"),
        smtp_sink(work) as (inbox, smtp_port),
        server(
            "sample_sources.servers.ftp_server",
            "--root",
            str(root),
            "--port",
            str(ftp_port),
            "--passive-ports",
            "31100-31199",
        ),
        lake_bucket("live", root, work / "gx", extract_from="channel"),
    ):
        wait_listening(ftp_port)
        os.environ.update(
            LAKEHOUSE_FTP_PORT=str(ftp_port),
            LAKEHOUSE_SMTP_HOST="127.0.0.1",
            LAKEHOUSE_SMTP_PORT=str(smtp_port),
            LAKEHOUSE_ALERT_EMAIL_TO="canhbao@monre.gov.vn",
        )
        get_settings.cache_clear()
        settings = get_settings()
        start, end = DataInterval.for_local_day(day).as_strings()
        for reference in ("air_station", "wastewater_facility"):
            run_dataset(reference, start, end, run_id="bench-live")
        register(air, settings)
        watch = AlertWatch(settings, REGISTRY["alert"].table_path)
        log_watch = stream.LogWatch(settings)
        # the stream and the lander follow the day before and the day, as in service (yesterday and today)
        lander = _start("lander", [eve, day], args.period, log_dir)
        streamer = _start("run", [eve, day], args.period, log_dir)
        try:
            watch.start()
            account = SourceEnv().mqtt_publisher()
            # Warm-up, not measured: a service that has run a while has its JVM compiled and its plans
            # generated; a fresh one pays that on its first round (30–45 s more, measured). The day before's
            # last hour goes through the whole path (land, refine, alerts, notices) before the day starts.
            moved = move_transmissions(eve_held, eve_drop, eve, 23, eve_clock)
            sent = publish_hour(eve_hour, air.source.options["topic"], eve, eve_clock, account)
            log.info("warm-up (%s 23:00): %d air readings published, %d transmissions dropped", eve, sent, moved)

            def warmed() -> bool:
                """The warm-up hour refined, its alerts rebuilt and their opening notices accepted."""
                for proc in (lander, streamer):
                    if proc.poll() is not None:
                        raise RuntimeError(f"a live process exited (logs in {log_dir})")
                pending = log_watch([eve])
                for name in stream.STREAMED:
                    checkpoint = stream.Checkpoint.read(REGISTRY[name], settings)
                    if pending[name] or not checkpoint.processed or checkpoint.alerts_due:
                        return False
                eve_alerts = {a for a, row in watch.rows.items() if row["date"] == eve}
                return bool(eve_alerts) and {f"{a}.opened" for a in eve_alerts} <= set(inbox.accepted)

            warm_up_until(warmed, args.warm_up)
            log.info("warm-up done")
            replay_started = time.monotonic()
            for h, path in enumerate(hours[: args.hours]):
                slot = replay_started + h * args.hour_seconds
                time.sleep(max(0.0, slot - time.monotonic()))
                moved = move_transmissions(held, drop, day, h, clock)
                sent = publish_hour(path, air.source.options["topic"], day, clock, account)
                log.info("hour %02d: %d air readings published, %d transmissions dropped", h, sent, moved)
                for proc in (lander, streamer):
                    if proc.poll() is not None:
                        raise RuntimeError(f"a live process exited (logs in {log_dir})")
            replay_seconds = time.monotonic() - replay_started
            expected = {
                e["dataset"]: e["expected_silver_rows"]
                for e in report["files"].values()
                if e["dataset"] in stream.STREAMED
            }
            if args.hours < len(hours):  # part of the day: wait for what was replayed (within the mess)
                expected = {name: int(rows * args.hours / len(hours) * 0.95) for name, rows in expected.items()}

            def caught_up() -> bool:
                """Every log object in the checkpoint, no rebuild owed, every reading in the live views:
                the checkpoint says so only after the round that processed the last object rebuilt the
                alerts (it is written with the days owed, then again once they are rebuilt). The cheap
                checks first: listing the log (≈ 1 s of CPU per 10,000 objects) or reading a live view
                (hundreds of files by the day's end) every 2 s loads the two cores the stream and the
                notifier are being measured on."""
                from jobs.storage import delta_table_or_none

                if any(log_watch([day]).values()):  # the stream's own watch: the log listed when it grew
                    return False
                for name in expected:
                    if stream.Checkpoint.read(REGISTRY[name], settings).alerts_due:
                        return False
                for name, rows in expected.items():
                    table = delta_table_or_none(settings, stream.live_key(REGISTRY[name]))
                    if table is None or table.to_pyarrow_table(columns=["station_id"]).num_rows < rows:
                        return False
                return True

            deadline = time.monotonic() + args.drain_timeout
            while not (finished := caught_up()) and time.monotonic() < deadline:
                time.sleep(2)
            opened = {f"{a}.opened" for a in watch.current}
            while not opened <= set(inbox.accepted) and time.monotonic() < deadline:  # the last round's notices
                time.sleep(1)
                opened = {f"{a}.opened" for a in watch.current}
            accepted = inbox.accepted
        finally:
            watch.stop.set()
            _stop(streamer)
            _stop(lander)
            shutil.copytree(log_dir, args.out / "live-logs", dirs_exist_ok=True)

    latencies: dict[str, dict[str, list[float]]] = {k: {"row": [], "email": []} for k in OPENED_BY_A_READING}
    by_medium: dict[str, dict[str, list[float]]] = {m: {"row": [], "email": []} for m in ("air", "wastewater")}
    by_hour: dict[int, dict[str, list[float]]] = {}  # the hour the alert opened (local): where a slow one came from
    unmatched = 0
    final = {a: watch.rows[a] for a in watch.current if watch.rows[a]["date"] == day}  # not the warm-up's
    for alert_id, row in final.items():
        if row["kind"] not in latencies:
            continue
        opened_local = row["opened_at"].replace(tzinfo=UTC) + LOCAL
        sent_at = clock.sent.get((row["entity_id"], opened_local.hour)) if opened_local.date() == day else None
        if sent_at is None:
            unmatched += 1
            continue
        hour = by_hour.setdefault(opened_local.hour, {"row": [], "email": [], "seen_into_replay": []})
        hour["seen_into_replay"].append(watch.first_seen[alert_id] - replay_started)
        for table in (latencies[row["kind"]], by_medium[row["medium"]], hour):
            table["row"].append(watch.first_seen[alert_id] - sent_at)
            if f"{alert_id}.opened" in accepted:
                table["email"].append(accepted[f"{alert_id}.opened"] - sent_at)
    every = {what: [v for k in latencies.values() for v in k[what]] for what in ("row", "email")}
    cold: dict[str, list[float]] = {"row": [], "email": []}  # the warm-up hour: the stream's first round
    for alert_id, row in watch.rows.items():
        opened_local = row["opened_at"].replace(tzinfo=UTC) + LOCAL
        sent_at = eve_clock.sent.get((row["entity_id"], opened_local.hour)) if opened_local.date() == eve else None
        if row["kind"] in latencies and row["date"] == eve and sent_at is not None:
            cold["row"].append(watch.first_seen[alert_id] - sent_at)
            if f"{alert_id}.opened" in accepted:
                cold["email"].append(accepted[f"{alert_id}.opened"] - sent_at)
    return {
        "rows_setting": args.rows,
        "date": day.isoformat(),
        "hour_seconds": args.hour_seconds,
        "hours_replayed": args.hours,
        "period": args.period,
        "replay_seconds": round(replay_seconds, 1),
        "caught_up": finished,
        "alerts_final": {k: sum(1 for r in final.values() if r["kind"] == k) for k in ALERT_KINDS},
        # ids seen during the replay but gone from the final table: an episode whose opening moved as
        # earlier readings arrived (its first id was replaced), or a silence a late reading undid
        "alerts_replaced": {
            k: sum(
                1 for a in set(watch.rows) - set(final) if watch.rows[a]["kind"] == k and watch.rows[a]["date"] == day
            )
            for k in ALERT_KINDS
        },
        "alerts_without_a_reading": unmatched,
        "replaced_examples": [
            {k: str(watch.rows[a][k]) for k in ("kind", "medium", "entity_id", "opened_at", "closed_at")}
            for a in sorted(a for a in set(watch.rows) - set(final) if watch.rows[a]["date"] == day)[:10]
        ],
        "by_kind": {k: {w: _percentiles(v) for w, v in d.items()} for k, d in latencies.items()},
        "by_medium": {m: {w: _percentiles(v) for w, v in d.items()} for m, d in by_medium.items()},
        "all": {w: _percentiles(v) for w, v in every.items()},
        "by_opening_hour": {h: {w: _percentiles(v) for w, v in d.items()} for h, d in sorted(by_hour.items())},
        "warm_up_hour": {w: _percentiles(v) for w, v in cold.items()},  # not in the figures above
        "goal_p95_seconds": GOAL_P95_SECONDS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per day of the environment generator")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26))
    parser.add_argument("--hour-seconds", type=float, default=60.0, help="seconds of replay per hour of the day")
    parser.add_argument("--hours", type=int, default=24, help="replay the day's first HOURS hours only")
    parser.add_argument("--period", type=float, default=2.0, help="the lander's and the stream's --period")
    parser.add_argument(
        "--warm-up",
        type=float,
        default=300.0,
        help="at most this many seconds for the warm-up hour (the day before's last)",
    )
    parser.add_argument("--drain-timeout", type=float, default=900.0, help="seconds to wait for the stream to finish")
    parser.add_argument("--sources", type=Path, help="reuse environment sources generated earlier at this setting")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("LAKEHOUSE_STATE_DIR", ".state")) / "bench")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        result = run(args, Path(tmp))
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"\n{'alerts':<11} {'to':<6} {'n':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for kind, figures in [*result["by_kind"].items(), *result["by_medium"].items(), ("all", result["all"])]:
        for what, f in figures.items():
            if f["n"]:
                print(f"{kind:<11} {what:<6} {f['n']:>6} {f['p50']:>7} {f['p95']:>7} {f['max']:>7}")
    print(f"\n{'opened at':<11} {'n':>6} {'row p50':>8} {'row max':>8} {'e-mail max':>10} {'seen s into replay':>19}")
    for hour, f in result["by_opening_hour"].items():
        seen = f["seen_into_replay"]
        print(
            f"{hour:02d}:00{'':<6} {f['row']['n']:>6} {f['row']['p50']:>8} {f['row']['max']:>8} "
            f"{f['email'].get('max', '—'):>10} {seen['p50']:>9} – {seen['max']:<7}"
        )
    cold = result["warm_up_hour"]
    if cold["row"]["n"]:
        print(
            f"warm-up hour (the day before's 23:00, the stream's first round; not counted above): {cold['row']['n']}"
            f" alerts, row p50 {cold['row']['p50']} / max {cold['row']['max']} s,"
            f" e-mail max {cold['email'].get('max', '—')} s"
        )
    for what in ("row", "email"):
        met = result["all"][what].get("p95", float("inf")) <= GOAL_P95_SECONDS
        print(f"goal: p95 ≤ {GOAL_P95_SECONDS:.0f} s publish → alert {what}: {'met' if met else 'not met'}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "live.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
