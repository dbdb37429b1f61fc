"""Processes attached to one long-lived Spark driver (``lakehouse spark-driver``,
``LAKEHOUSE_SPARK_DRIVER_FILE``) instead of starting their own, as the cluster's Airflow tasks do.

The driver runs as its own process (the CLI command), the tasks as separate Python processes, against
the real store: an attached task writes the lake its own driver would write (every table row by row,
the books, the scores); two attached processes do not see each other's SQL settings; the jobs of an
attached process that is killed mid-job are cancelled by the driver; the driver stops on SIGTERM and
takes its connection file with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from tests.lakehouse_fixtures import (
    FIXTURE_DAY,
    SMALL_SLICE,
    _reset_caches,
    copy_fixture_sources,
    lake_bucket,
    lake_contents,
)

REPO = Path(__file__).resolve().parents[2]

# An attached task: the datasets' steps through `run_dataset`, then its books and scores as JSON.
RUN_DATASETS = """
import json, sys
from jobs.pipeline import run_dataset
from jobs.spark import get_spark
day, end, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
results = {name: run_dataset(name, day, end, run_id="shared") for name in names}
books = {name: r["refined"] for name, r in results.items()}
for refined in books.values():
    refined.pop("staged_version", None)
print(json.dumps({"application_id": get_spark().sparkContext.applicationId,
                  "books": books, "scores": {name: r["scores"] for name, r in results.items()}}, default=str))
"""

# Sets a SQL setting in its session, says so, and holds the session until told to go.
SET_AND_HOLD = """
import sys, time
from pathlib import Path
from jobs.spark import get_spark
spark = get_spark()
spark.conf.set("spark.sql.shuffle.partitions", "7")
Path(sys.argv[1]).write_text(spark.conf.get("spark.sql.shuffle.partitions"))
while not Path(sys.argv[2]).exists():
    time.sleep(0.1)
"""

# Reads the same setting in its own session once the other process has set it.
READ_SETTING = """
import sys, time
from pathlib import Path
from jobs.spark import get_spark
spark = get_spark()
while not Path(sys.argv[1]).exists():
    time.sleep(0.1)
print(spark.conf.get("spark.sql.shuffle.partitions"))
"""

# A job that would run for ten minutes (a Python UDF sleeping in every task).
LONG_JOB = """
import sys, time
from pathlib import Path
from jobs.spark import get_spark
spark = get_spark()
def sleepy(batches):
    import time
    for batch in batches:
        time.sleep(600)
        yield batch
Path(sys.argv[1]).write_text("submitting")
spark.range(2).repartition(2).mapInPandas(sleepy, "id long").collect()
"""

# The driver's active jobs, as seen from another attached process.
ACTIVE_JOBS = """
import json
from jobs.spark import get_spark
print(json.dumps(list(get_spark().sparkContext.statusTracker().getActiveJobsIds())))
"""


def python(code: str, *args: str, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def shared_driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The driver process (``lakehouse spark-driver``), its connection file and its log."""
    folder = tmp_path_factory.mktemp("shared-driver")
    driver_file, log = folder / "driver.json", folder / "driver.log"
    env = {**os.environ, "LAKEHOUSE_SPARK_MASTER": "local[2]", "LAKEHOUSE_SPARK_DRIVER_MEMORY": "1g"}
    env.pop("LAKEHOUSE_SPARK_DRIVER_FILE", None)
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "jobs.cli", "spark-driver", "--file", str(driver_file)],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while not driver_file.exists():
            assert server.poll() is None, f"the driver exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no connection file after 180 s: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield {"file": driver_file, "log": log, "process": server, "info": json.loads(driver_file.read_text())}
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()


def attached_env(shared_driver: dict[str, Any]) -> dict[str, str]:
    return {**os.environ, "LAKEHOUSE_SPARK_DRIVER_FILE": str(shared_driver["file"])}


def test_connection_file_is_private_and_names_the_driver(shared_driver: dict[str, Any]) -> None:
    assert shared_driver["file"].stat().st_mode & 0o777 == 0o600
    info = shared_driver["info"]
    assert info["pid"] == shared_driver["process"].pid
    assert info["port"] > 0 and len(info["secret"]) >= 32


def test_attached_task_writes_what_its_own_driver_writes(shared_driver: dict[str, Any], tmp_path: Path) -> None:
    from jobs.pipeline import run_dataset

    day, end = DataInterval.for_local_day(FIXTURE_DAY).as_strings()
    with lake_bucket("shared", copy_fixture_sources(tmp_path / "shared" / "sources"), tmp_path / "shared" / "gx"):
        attached = json.loads(python(RUN_DATASETS, day, end, ",".join(SMALL_SLICE), env=attached_env(shared_driver)))
        attached_tables = lake_contents(list(SMALL_SLICE))  # read by this process's own driver
    assert attached["application_id"] == shared_driver["info"]["application_id"]
    with lake_bucket("own", copy_fixture_sources(tmp_path / "own" / "sources"), tmp_path / "own" / "gx"):
        results = {name: run_dataset(name, day, end, run_id="shared") for name in SMALL_SLICE}
        own_tables = lake_contents(list(SMALL_SLICE))
    _reset_caches()
    assert len(attached_tables["air_quality_reading"]) > 100
    assert sum(len(rows) for label, rows in attached_tables.items() if label.endswith("quarantine")) > 0
    assert len(attached_tables["vehicle_position restricted"]) > 0
    assert attached_tables == own_tables
    own_books = {name: r["refined"] for name, r in results.items()}
    for refined in own_books.values():
        refined.pop("staged_version", None)
    assert json.loads(json.dumps(own_books, default=str)) == attached["books"]
    assert json.loads(json.dumps({n: r["scores"] for n, r in results.items()}, default=str)) == attached["scores"]


def test_attached_sessions_keep_their_own_settings(shared_driver: dict[str, Any], tmp_path: Path) -> None:
    env = attached_env(shared_driver)
    set_marker, go = tmp_path / "set", tmp_path / "go"
    holder = subprocess.Popen([sys.executable, "-c", SET_AND_HOLD, str(set_marker), str(go)], env=env, cwd=REPO)
    try:
        seen = python(READ_SETTING, str(set_marker), env=env, timeout=300).strip()
        assert set_marker.read_text() == "7"  # the other session has it set, and holds on to it
        assert seen == os.environ.get("LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS", "4")
    finally:
        go.touch()
        assert holder.wait(120) == 0


def test_jobs_of_a_killed_process_are_cancelled(shared_driver: dict[str, Any], tmp_path: Path) -> None:
    env = attached_env(shared_driver)
    marker = tmp_path / "submitting"
    victim = subprocess.Popen([sys.executable, "-c", LONG_JOB, str(marker)], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 180
        while not json.loads(python(ACTIVE_JOBS, env=env)):
            assert victim.poll() is None, "the long job's process ended by itself"
            assert time.monotonic() < deadline, "the long job never became active"
            time.sleep(1)
        victim.kill()  # SIGKILL, mid-job, as an Airflow worker losing its task would
        victim.wait(30)
        killed_at = time.monotonic()
        while active := json.loads(python(ACTIVE_JOBS, env=env)):
            assert time.monotonic() - killed_at < 60, f"jobs {active} still active 60 s after their process died"
            time.sleep(1)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert f"attached process {victim.pid} has ended" in shared_driver["log"].read_text()


def test_driver_stops_on_sigterm_and_removes_its_connection_file(shared_driver: dict[str, Any]) -> None:
    server = shared_driver["process"]
    server.send_signal(signal.SIGTERM)
    assert server.wait(60) == 0
    assert not shared_driver["file"].exists()
