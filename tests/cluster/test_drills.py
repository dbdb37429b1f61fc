"""Failure drills on the cluster topology (issue 15): `make cluster-drills` after `make cluster-up`.

Each drill takes a batch of air-quality readings it wrote itself (so every expected count is its
own, from the lines written: ``tests/chaos/faults.py``) through the pipeline's real steps — land,
bronze, write (stage), publish — with the Spark driver in this process (or a child) on the
standalone master and the lake on the distributed store, and breaks one piece mid-way:

- a Spark worker is SIGKILLed while a stage runs on its executor: the application gets an executor
  on the other worker and the steps finish; the books are exact;
- one MinIO node is stopped as the publish starts, then a second once it has written a file: with
  one down the write goes on (6 of 8 drives: above the write quorum of 5); with two down reads still
  work (4 drives: the read quorum) and the publish waits rather than fails; the second node back, it
  finishes with every line once.

Each prints what it cost in seconds. Not part of `make test`: they need the cluster (30 s to start,
minutes a drill on this 2-core machine).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.chaos import faults
from tests.lakehouse_fixtures import REPO, lake_bucket

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

CLUSTER = REPO / "infra" / "cluster" / "cluster.sh"
ROWS = int(os.environ.get("CLUSTER_DRILL_ROWS", "200000"))  # enough files that the publish outlasts a node


def cluster(*args: str) -> str:
    done = subprocess.run([str(CLUSTER), *args], capture_output=True, text=True, env=os.environ, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def pid_of(component: str) -> int:
    return int((Path(os.environ["LAKEHOUSE_CLUSTER_DIR"]) / "pids" / f"{component}.pid").read_text())


def worker_json(n: int) -> dict[str, Any]:
    port = int(os.environ["CLUSTER_SPARK_UI_PORT"]) + n
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/", timeout=5) as answer:
        return json.load(answer)  # type: ignore[no-any-return]


def executors_on(n: int, app_id: str) -> int:
    try:
        return sum(1 for e in worker_json(n).get("executors", []) if e.get("appid") == app_id)
    except OSError:
        return 0


@pytest.fixture(scope="module", autouse=True)
def on_the_cluster() -> None:
    if not os.environ.get("LAKEHOUSE_SPARK_MASTER", "").startswith("spark://"):
        raise RuntimeError("the drills run on the cluster: `make cluster-up`, then `make cluster-drills`")
    cluster("status")  # every process up, or the drill would prove nothing


@pytest.fixture
def readings(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[faults.Readings]:
    day = date(2026, 11, 18)
    written = faults.write_readings(tmp_path / "sources", day, ROWS)
    name = request.node.name.removeprefix("test_")[:12].replace("_", "-")
    with lake_bucket(name, tmp_path / "sources", tmp_path / "gx"):
        yield written


def test_spark_worker_killed_mid_stage(readings: faults.Readings) -> None:
    from jobs.pipeline import publish_batch
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    spark = get_spark()
    app_id = spark.sparkContext.applicationId
    tracker = spark.sparkContext.statusTracker()
    outcome: dict[str, Any] = {}

    def steps() -> None:
        try:
            outcome["published"] = publish_batch(faults.AIR, faults.audited_batch(readings, "drill-worker"))
        except BaseException as err:
            outcome["error"] = err

    started = time.monotonic()
    runner = threading.Thread(target=steps)
    runner.start()
    victim = None
    while runner.is_alive() and victim is None:  # the first stage with tasks running on a worker
        busy = [n for n in (1, 2) if executors_on(n, app_id)]
        stages = [tracker.getStageInfo(s) for s in tracker.getActiveStageIds()]
        if busy and any(stage is not None and stage.numActiveTasks for stage in stages):
            victim = busy[0]
        time.sleep(0.2)
    assert victim is not None, "the steps finished before a stage ran on a worker"
    os.kill(pid_of(f"spark-worker{victim}"), signal.SIGKILL)
    killed_at = time.monotonic()
    try:
        survivor = 3 - victim
        runner.join(timeout=1500)
        assert not runner.is_alive(), "the steps did not finish after the worker was killed"
        assert "error" not in outcome, f"the steps failed after the worker was killed: {outcome.get('error')!r}"
        assert executors_on(survivor, app_id) >= 1, "no executor on the surviving worker"
        silver, quarantined, duplicated = faults.books(get_settings(), readings)
        assert (silver, quarantined, duplicated) == (readings.good, readings.bad, 0)
        print(
            f"\nworker {victim} killed {killed_at - started:.1f} s into the steps; they finished on worker {survivor} "
            f"{time.monotonic() - killed_at:.1f} s later; {readings.total:,} lines → {silver:,} silver + "
            f"{quarantined:,} quarantined, 0 duplicated"
        )
    finally:
        cluster("start", f"spark-worker{victim}")


def test_store_nodes_stopped_mid_write(readings: faults.Readings, tmp_path: Path) -> None:
    from jobs.settings import get_settings
    from jobs.storage import delta_table_or_none

    settings = get_settings()
    audited = faults.audited_batch(readings, "drill-store")  # staged with the whole store up
    before = faults.data_files(faults.keys(settings, faults.SILVER_KEY + "/"))
    started = time.monotonic()
    proc = faults.start_publish(audited, tmp_path / "publish.log")
    log = tmp_path / "publish.log"
    stopped: list[str] = []
    try:
        cluster("stop", "minio2")  # before the publish writes anything
        stopped.append("minio2")
        one_down = time.monotonic()
        # One node down (6 of 8 drives, over the write quorum of 5): the publish writes its files.
        faults.wait_for_new_data_file(proc, settings, faults.SILVER_KEY + "/", before, timeout=600)
        wrote = time.monotonic()
        cluster("stop", "minio3")
        stopped.append("minio3")
        two_down = time.monotonic()
        # Two of four nodes down: 4 of 8 drives, the read quorum. A reader still gets the table …
        station_list = delta_table_or_none(settings, "silver/environment/air_station")
        assert station_list is not None and station_list.to_pyarrow_dataset().count_rows() > 0
        time.sleep(15)
        # … and the publish, if it was not done, waits for the write quorum instead of failing.
        waited = proc.poll() is None
        assert waited, f"the publish ended ({proc.returncode}) with two nodes down: " + log.read_text()[-3000:]
        cluster("start", "minio3")
        stopped.remove("minio3")
        back = time.monotonic()
        assert proc.wait(timeout=1200) == 0, log.read_text()[-3000:]
        done = time.monotonic()
    finally:
        for node in stopped:
            cluster("start", node)
        if proc.poll() is None:
            faults.kill_group(proc)
    silver, quarantined, duplicated = faults.books(settings, readings)
    assert (silver, quarantined, duplicated) == (readings.good, readings.bad, 0)
    print(
        f"\nnode 2 stopped {one_down - started:.1f} s into the publish; its first file written "
        f"{wrote - one_down:.1f} s later; node 3 stopped {two_down - wrote:.1f} s after that (reads went on); "
        f"the publish still waiting when node 3 came back {back - two_down:.1f} s later; "
        f"finished {done - back:.1f} s after that; {readings.total:,} lines → {silver:,} silver + "
        f"{quarantined:,} quarantined, 0 duplicated"
    )
