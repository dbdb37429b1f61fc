"""Shared pieces of the store-fault scenarios (writer killed, store down, disk full).

Each scenario writes its own air-quality readings (so every expected figure is counted here, from
the lines written, never from the pipeline), takes the batch through land → bronze → write
in this process, and runs the publish step (what the DAG's publish task calls) in a child
process it can kill or starve of its store.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jobs.interval import DataInterval
from tests.lakehouse_fixtures import REPO, copy_fixture_sources

AIR = "air_quality_reading"
SILVER_KEY = f"silver/environment/{AIR}"
QUARANTINE_KEY = f"quarantine/environment/{AIR}"
HEADER = "station_id,station_name,province_code,parameter,value,unit,measured_at,device_status"
PARAMETERS = ("PM2.5", "PM10", "NO2", "SO2", "O3", "CO")
BAD_EVERY = 20  # every 20th line carries a negative value: quarantined as NEGATIVE_VALUE


@dataclass(frozen=True)
class Readings:
    """What the scenario wrote: the day, and its own count of good and bad lines."""

    day: date
    good: int
    bad: int

    @property
    def total(self) -> int:
        return self.good + self.bad

    @property
    def interval(self) -> tuple[str, str]:
        return DataInterval.for_local_day(self.day).as_strings()

    @property
    def batch_id(self) -> str:
        return DataInterval.for_local_day(self.day).batch_id(AIR)


def write_readings(root: Path, day: date, rows: int) -> Readings:
    """``rows`` readings of distinct keys (station × parameter × minute) for ``day``; the stations
    are added to the reference list. Returns the counts of what was written."""
    sources = copy_fixture_sources(root)
    per_station = len(PARAMETERS) * 1440
    stations = [f"AQ-01-{9000 + i:04d}" for i in range(-(-rows // per_station))]
    ref = sources / "environment" / "reference" / "air_stations.csv"
    with ref.open("a", encoding="utf-8") as fh:
        for s in stations:
            fh.write(f"{s},Trạm thử {s},01,21.03,105.85,2020-01-01\n")
    _manifest(ref)
    lines, good, bad = [HEADER], 0, 0
    for i in range(rows):
        station = stations[i // per_station]
        parameter = PARAMETERS[i % len(PARAMETERS)]
        minute = (i % per_station) // len(PARAMETERS)
        if i % BAD_EVERY == BAD_EVERY - 1:
            value, bad = -5.0, bad + 1
        else:
            value, good = 10.0 + (i % 50), good + 1
        at = f"{day}T{minute // 60:02d}:{minute % 60:02d}:00+07:00"
        lines.append(f"{station},Trạm thử {station},01,{parameter},{value},µg/Nm³,{at},measuring")
    path = sources / "environment" / "air_quality" / f"readings_{day:%Y%m%d}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _manifest(path)
    return Readings(day, good, bad)


def _manifest(csv_path: Path) -> None:
    """The sender's manifest (how many records it sent), which the gate checks the landing against."""
    rows = len(csv_path.read_text(encoding="utf-8").splitlines()) - 1
    csv_path.with_name(csv_path.name + ".manifest.json").write_text(json.dumps({"rows": rows}), encoding="utf-8")


def audited_batch(readings: Readings, run_id: str) -> dict[str, Any]:
    """Reference stations published, then the readings staged (land, bronze, write) and handed to
    the publish step as a passed audit would hand them. The gate itself is not run: these scenarios
    are about the writer and the store, and the gate's Great Expectations run costs minutes on a
    loaded laptop; ``run_id`` names nothing else."""
    from jobs import pipeline

    start, end = readings.interval
    stations = _staged("air_station", start, end)
    pipeline.publish_batch("air_station", stations)
    return _staged(AIR, start, end)


def _staged(dataset: str, start: str, end: str) -> dict[str, Any]:
    """Land, bronze and write (stage) one dataset's interval; returns what the publish step takes."""
    from jobs import pipeline

    landed = pipeline.land_batch(dataset, start, end)
    bronze = pipeline.load_bronze_batch(dataset, landed)
    refined = pipeline.refine_batch(dataset, bronze["batch_id"], start, end)
    return {
        "dataset": dataset,
        "batch_id": refined["batch_id"],
        "staged_version": refined["staged_version"],
        "data_interval_start": start,
        "data_interval_end": end,
        "dates": refined.get("dates", []),
    }


PUBLISH_CODE = (
    "import json, sys; from jobs.pipeline import publish_batch; publish_batch(sys.argv[1], json.loads(sys.argv[2]))"
)


def start_publish(audited: dict[str, Any], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """The publish task in a child process (its own process group, so its JVM dies with it)."""
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISH_CODE, AIR, json.dumps(audited)],
        env={**os.environ, **(env or {})},
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (Python and its JVM)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def table_rows(key: str) -> list[dict[str, Any]]:
    """Every row of the Delta table at ``key`` of the current bucket, read with delta-rs ([] if none)."""
    from jobs.settings import get_settings
    from jobs.storage import delta_table_or_none

    table = delta_table_or_none(get_settings(), key)
    return [] if table is None else table.to_pyarrow_table().to_pylist()  # type: ignore[no-any-return]


def table_version(key: str) -> int:
    """The Delta table's latest version (-1 when there is no table yet)."""
    from jobs.settings import get_settings
    from jobs.storage import delta_table_or_none

    table = delta_table_or_none(get_settings(), key)
    return -1 if table is None else int(table.version())


def keys(settings: Any, prefix: str) -> set[str]:
    from jobs.storage import list_keys

    return set(list_keys(prefix, settings))


def log_versions(all_keys: set[str]) -> set[int]:
    """Delta versions committed (``_delta_log/<n>.json``) among ``all_keys``."""
    return {
        int(k.rsplit("/", 1)[1].removesuffix(".json"))
        for k in all_keys
        if "/_delta_log/" in k and k.endswith(".json") and k.rsplit("/", 1)[1][:1].isdigit()
    }


def data_files(all_keys: set[str]) -> set[str]:
    return {k for k in all_keys if k.endswith(".parquet") and "/_delta_log/" not in k}


def wait_for_new_data_file(
    proc: subprocess.Popen[bytes], settings: Any, prefix: str, before: set[str], timeout: float = 240
) -> set[str]:
    """Poll the store until a data file not in ``before`` appears under ``prefix``; returns them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = data_files(keys(settings, prefix)) - before
        if new:
            return new
        if proc.poll() is not None:
            raise AssertionError(f"the publish exited ({proc.returncode}) before writing a data file")
        time.sleep(0.02)
    raise AssertionError(f"no data file under {prefix} within {timeout} s")


def batch_rows(settings: Any, key: str, batch_id: str) -> list[dict[str, Any]]:
    """The rows of one batch in a Delta table, read by delta-rs (another reader than the writer)."""
    from jobs.storage import delta_table_or_none

    table = delta_table_or_none(settings, key)
    if table is None:
        return []
    return [r for r in table.to_pyarrow_table().to_pylist() if r["_batch_id"] == batch_id]


def books(settings: Any, readings: Readings) -> tuple[int, int, int]:
    """(silver rows, quarantined rows, duplicated rows) of the batch, as a reader sees them."""
    silver = batch_rows(settings, SILVER_KEY, readings.batch_id)
    quarantined = batch_rows(settings, QUARANTINE_KEY, readings.batch_id)
    distinct = {(r["station_id"], r["parameter"], r["measured_at"]) for r in silver}
    lines = [r["_source_line"] for r in silver] + [r["_source_line"] for r in quarantined]
    duplicated = (len(silver) - len(distinct)) + (len(lines) - len(set(lines)))
    return len(silver), len(quarantined), duplicated


def operations(settings: Any, key: str) -> list[str]:
    """The table's committed operations, oldest first (delta-rs history)."""
    from jobs.storage import delta_table_or_none

    table = delta_table_or_none(settings, key)
    return [] if table is None else [h.get("operation", "") for h in reversed(table.history())]


def store(command: str) -> None:
    """Stop or start the test's own store (``infra/store/store.sh``: same port, same data dir)."""
    done = subprocess.run(
        [str(REPO / "infra" / "store" / "store.sh"), command], env=os.environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
