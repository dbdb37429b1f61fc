"""``make bench-channels``: each source channel's own rate at one generator setting, extract only.

Why (issue 16, item 3): the rows/s of a `make run` land task mix the channel with Airflow's and the
store's fixed costs; this measures what the channel adapter itself sustains. The sample sources of
the given ``--rows`` setting (1e6 by default: ≈ 153,000 OCOP products, ≈ 200,000 wastewater rows in
≈ 28,000 transmission files, ≈ 800,000 air readings) are generated once, and each adapter runs
against its real server started here as a separate process, as in `make sources`:

* ``http pages``: ``ocop_product`` through ``jobs.extract.http`` (its registry page size) from
  ``sample_sources.servers.http_api`` over HTTPS;
* ``ftp drop``: ``wastewater_reading`` through ``jobs.extract.ftp`` from
  ``sample_sources.servers.ftp_server`` over FTPS (one file per transmission);
* ``mqtt drain``: the air readings published (QoS 1) by ``sample_sources.servers.mqtt_publisher``
  into a private mosquitto, then ``jobs.extract.mqtt.drain`` of the lander's durable session into the
  spool in a throw-away bucket of the real store (the publish is timed apart: it is the source's side).

Results: a table and ``.state/bench/channels.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MQTT_SH = REPO / "infra" / "mqtt" / "mqtt.sh"
GOALS = {"http pages": 20_000, "ftp drop": 10_000, "mqtt drain": 25_000}  # rows (messages) per second

log = logging.getLogger("bench.channels")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


@contextmanager
def server(module: str, *args: str) -> Iterator[None]:
    """A sample source server in its own process (the lander's and the server's CPU are apart)."""
    proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO)  # nosec B603  # our own module
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def generate(root: Path, day: date, rows: int) -> None:
    for module in ("sample_sources.environment.generate", "sample_sources.agriculture.generate"):
        subprocess.run(  # nosec B603  # our own generators
            [sys.executable, "-m", module, "--out", str(root), "--date", day.isoformat(), "--rows", str(rows)],
            check=True,
            cwd=REPO,
        )
    subprocess.run(  # nosec B603
        [sys.executable, "-m", "sample_sources.environment.transmissions", "--root", str(root), "--date", str(day)],
        check=True,
        cwd=REPO,
    )


def bench_http(root: Path, day: date, staging: Path) -> dict[str, Any]:
    from jobs.extract import http
    from jobs.interval import DataInterval
    from jobs.registry import REGISTRY
    from jobs.settings import get_settings

    port = free_port()
    with server("sample_sources.servers.http_api", "--root", str(root), "--port", str(port)):
        wait_listening(port)
        settings = replace(get_settings(), http_source_url=f"https://127.0.0.1:{port}")
        t0 = time.perf_counter()
        out = http.extract(REGISTRY["ocop_product"], DataInterval.for_local_day(day), settings, staging / "http")
        seconds = time.perf_counter() - t0
    assert out.stated_rows is not None
    return {"rows": out.stated_rows, "seconds": seconds}


def bench_ftp(root: Path, day: date, staging: Path) -> dict[str, Any]:
    from jobs.extract import ftp
    from jobs.interval import DataInterval
    from jobs.registry import REGISTRY
    from jobs.settings import get_settings

    port, passive = free_port(), 31_000
    with server(
        "sample_sources.servers.ftp_server",
        "--root",
        str(root),
        "--port",
        str(port),
        "--passive-ports",
        f"{passive}-{passive + 99}",
    ):
        wait_listening(port)
        settings = replace(get_settings(), ftp_port=port)
        t0 = time.perf_counter()
        out = ftp.extract(REGISTRY["wastewater_reading"], DataInterval.for_local_day(day), settings, staging / "ftp")
        seconds = time.perf_counter() - t0
    return {"rows": sum(out.parts), "files": len(out.parts), "seconds": seconds}


@contextmanager
def broker(directory: Path) -> Iterator[None]:
    env = {
        "LAKEHOUSE_MQTT_DIR": str(directory),
        "LAKEHOUSE_MQTT_PORT": str(free_port()),
        "LAKEHOUSE_MQTT_USER": "lakehouse",
        "LAKEHOUSE_MQTT_PASSWORD": secrets.token_urlsafe(16),
        "LAKEHOUSE_MQTT_DEVICE_PORT": str(free_port()),
        "LAKEHOUSE_MQTT_PUBLISHER_PASSWORD": secrets.token_urlsafe(16),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    subprocess.run([str(MQTT_SH), "start"], env=dict(os.environ), check=True, capture_output=True)  # nosec B603
    try:
        yield
    finally:
        subprocess.run([str(MQTT_SH), "stop"], env=dict(os.environ), check=False, capture_output=True)  # nosec B603
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def bench_mqtt(root: Path, day: date, work: Path) -> dict[str, Any]:
    from jobs.extract import mqtt
    from jobs.registry import REGISTRY
    from jobs.settings import get_settings
    from sample_sources.servers.mqtt_publisher import publish_file
    from tests.lakehouse_fixtures import lake_bucket

    air = REGISTRY["air_quality_reading"]
    assert air.source is not None
    readings = root / "environment" / "air_quality" / f"readings_{day:%Y%m%d}.csv"
    with broker(work / "mqtt"), lake_bucket("channels", root, work / "gx", extract_from="channel"):
        settings = get_settings()
        mqtt.register(air, settings)
        t0 = time.perf_counter()
        published = publish_file(
            readings, air.source.options["topic"], topic_field="station_id", event_time="measured_at", day=day
        )
        publish_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        drained = mqtt.drain(air, settings)
        seconds = time.perf_counter() - t0
    if drained.messages != published.messages:
        raise RuntimeError(f"published {published.messages} messages, drained {drained.messages}")
    return {
        "rows": drained.messages,
        "segments": len(drained.segments),
        "seconds": seconds,
        "publish_seconds": publish_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per day of the sample generators")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26))
    parser.add_argument("--only", nargs="+", choices=tuple(GOALS), default=list(GOALS))
    parser.add_argument("--sources", type=Path, help="reuse sources generated earlier at this setting")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("LAKEHOUSE_STATE_DIR", ".state")) / "bench")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per page otherwise
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-channels-") as tmp:
        work = Path(tmp)
        root = args.sources or work / "sources"
        if args.sources is None:
            t0 = time.perf_counter()
            generate(root, args.date, args.rows)
            log.info("generated the %s-row setting in %.1f s", f"{args.rows:,}", time.perf_counter() - t0)
        runs = {
            "http pages": lambda: bench_http(root, args.date, work / "staging"),
            "ftp drop": lambda: bench_ftp(root, args.date, work / "staging"),
            "mqtt drain": lambda: bench_mqtt(root, args.date, work),
        }
        for name in args.only:
            result = runs[name]()
            result["rows_per_s"] = result["rows"] / result["seconds"]
            result["goal_rows_per_s"] = GOALS[name]
            results[name] = result
            log.info("%s: %s", name, json.dumps(result))
    print(f"\n{'channel':<12} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'goal':>7}  met")
    for name, r in results.items():
        met = "yes" if r["rows_per_s"] >= r["goal_rows_per_s"] else "no"
        figures = f"{r['rows']:>9,} {r['seconds']:>8.1f} {r['rows_per_s']:>9,.0f} {r['goal_rows_per_s']:>7,}"
        print(f"{name:<12} {figures}  {met}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "channels.json").write_text(json.dumps({"rows_setting": args.rows, "channels": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
