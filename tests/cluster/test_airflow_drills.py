"""Airflow's own failure drills on the cluster (issue 15): `make cluster-drills` after `make cluster-up`.

Both drills break a real DAG run of the scheduler — the ``reference`` DAG's day, its ``commune``
group (3,321 communes: land → bronze → silver → gate → publish, each task its own Spark application
on the standalone master) cleared and run again — and check that Airflow, not a person, recovers:

- the worker process of a running task is SIGKILLed: its supervisor reports the task failed, Airflow
  retries it (``retries`` in the DAG's ``default_args``) and the rerun is exact;
- the scheduler is SIGKILLed mid-run with its LocalExecutor and the tasks it started (its whole
  session: a scheduler host lost), and a new one is started: once the dead scheduler's heartbeat is
  stale it adopts the dead one's running task, resets it for another try (LocalExecutor cannot adopt a
  task of another process) and finishes the run (``orphaned_tasks_check_interval``, 60 s in
  ``infra/cluster/cluster.env``).

"Exact" is the day's ``lakehouse summary``: every dataset's books, quarantine reasons and scores and
every table's row count the same as after the undisturbed run the module starts with (made by the
scheduler, or already there from ``make cluster-run``). Each prints what it cost in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.cluster.test_drills import cluster
from tests.infra_scripts import load_infra_script
from tests.lakehouse_fixtures import REPO

compare = load_infra_script("cluster/compare")
runs = load_infra_script("cluster/runs")  # the run watcher's day start and state names

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3600)]

DAG_ID = "reference"
GROUP = "commune"
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 1.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def run_of(day: str) -> dict[str, Any] | None:
    """The DAG's run for a Vietnamese day (its data interval): run id and logical date, or None."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(
            select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.data_interval_start == runs.day_start(day))
        )
        return None if run is None else {"run_id": run.run_id, "logical": run.logical_date}


def group_tasks(run_id: str) -> dict[str, dict[str, Any]]:
    """The group's task instances of a run: state, try number, id (the worker process names it)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run_id, TaskInstance.task_id.like(f"{GROUP}.%")
            )
        )
        return {
            ti.task_id: {
                "state": runs.state_name(ti.state),
                "try": ti.try_number,
                "id": str(ti.id),
                "start": ti.start_date,
            }
            for ti in tis
        }


def summary(day: str) -> dict[str, Any]:
    done = subprocess.run(  # this process runs under `cluster.sh exec`: the cluster's configuration
        [sys.executable, "-m", "jobs.cli", "summary", "--date", day, "--json"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def worker_process(ti_id: str) -> int | None:
    """The pid of the task's worker process: the task runner titles itself `airflow worker -- <ti id>`."""
    wanted = f"airflow worker -- {ti_id}".encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().startswith(wanted):
                    return int(proc.name)
            except OSError:
                continue
    return None


def running_task(run_id: str, after_seconds: float) -> tuple[str, dict[str, Any]] | None:
    """A group task that has been running for at least ``after_seconds`` (its Spark work under way)."""
    now = datetime.now(runs.VN)
    for task_id, ti in group_tasks(run_id).items():
        if ti["state"] == "running" and ti["start"] and (now - ti["start"]).total_seconds() >= after_seconds:
            return task_id, ti
    return None


def clear_group(run: dict[str, Any]) -> None:
    """Clear the group's task instances of the run: the scheduler runs them again."""
    logical = run["logical"].isoformat()
    # -t searches task ids (unanchored; Airflow 3.3 matched nothing for `^commune\.`): only commune.* has the word
    cluster("airflow", "tasks", "clear", DAG_ID, "-t", GROUP, "-s", logical, "-e", logical, "-y")
    wait_for("the cleared run to run again", lambda: run_of_id(run["run_id"]) not in {None, "success"} or None, 60)


def run_of_id(run_id: str) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(select(DagRun.state).where(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id))
        return None if state is None else runs.state_name(state)


def finished(run_id: str) -> str | None:
    state = run_of_id(run_id)
    return state if state in {"success", "failed"} else None


@pytest.fixture(scope="module")
def day_run() -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Yesterday's reference run, finished undisturbed by the scheduler, and the day's summary after it."""
    if not os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "").startswith("postgresql"):
        raise RuntimeError("the drills run on the cluster: `make cluster-up`, then `make cluster-drills`")
    day = cluster("days").split()[-1]
    cluster("airflow", "dags", "reserialize")
    cluster("airflow", "dags", "unpause", DAG_ID)  # no catch-up: the scheduler makes the newest day's run
    run = wait_for(f"the scheduler to create {DAG_ID}'s run for {day}", lambda: run_of(day), 300, 2)
    state = wait_for(f"{DAG_ID} {day} to finish", lambda: finished(run["run_id"]), 2400, 5)
    assert state == "success", f"the undisturbed run failed: {group_tasks(run['run_id'])}"
    return day, run, summary(day)


def same_as_before(day: str, before: dict[str, Any]) -> None:
    diffs = compare.differences(before, summary(day), tables=True)
    assert not diffs, "the rerun is not exact:\n" + "\n".join(diffs)


def test_task_worker_killed_is_retried(day_run: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
    day, run, before = day_run
    clear_group(run)
    started = time.monotonic()
    task_id, ti = wait_for("a commune task running for 15 s", lambda: running_task(run["run_id"], 15), 900)
    pid = wait_for("its worker process", lambda: worker_process(ti["id"]), 30)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(f"{task_id} to be retried", lambda: group_tasks(run["run_id"])[task_id]["try"] > ti["try"] or None, 600)
    retried = time.monotonic()
    assert wait_for("the run to finish", lambda: finished(run["run_id"]), 1800, 5) == "success"
    done = time.monotonic()
    after = group_tasks(run["run_id"])
    assert all(t["state"] == "success" for t in after.values()), after
    assert after[task_id]["try"] == ti["try"] + 1, f"{task_id}: try {ti['try']} → {after[task_id]['try']}"
    same_as_before(day, before)
    print(
        f"\n{task_id} (try {ti['try']}) killed {killed - started:.1f} s after the clear; its retry (try "
        f"{after[task_id]['try']}) started {retried - killed:.1f} s later (retry_delay 60 s); the run finished "
        f"{done - retried:.1f} s after that; the day's books and {len(before['tables'])} tables' counts unchanged"
    )


def test_scheduler_killed_mid_run(day_run: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
    day, run, before = day_run
    clear_group(run)
    started = time.monotonic()
    task_id, ti = wait_for("a commune task running for 15 s", lambda: running_task(run["run_id"], 15), 900)
    try:
        cluster("crash", "airflow-scheduler")  # the scheduler, its executor and its tasks: one session
        killed = time.monotonic()
        wait_for("the task's process to die with its host", lambda: worker_process(ti["id"]) is None, 10, 0.2)
        time.sleep(5)
    finally:
        cluster("start", "airflow-scheduler")
    restarted = time.monotonic()

    def taken_over() -> bool | None:  # adopted and reset (LocalExecutor cannot adopt a running task), or failed
        now = group_tasks(run["run_id"])[task_id]
        return (now["try"] > ti["try"] or now["state"] in {"up_for_retry", "failed", "scheduled", "queued"}) or None

    wait_for(f"the new scheduler to take {task_id} over", taken_over, 600, 2)
    noticed = time.monotonic()
    assert wait_for("the run to finish", lambda: finished(run["run_id"]), 1800, 5) == "success"
    done = time.monotonic()
    after = group_tasks(run["run_id"])
    assert all(t["state"] == "success" for t in after.values()), after
    assert after[task_id]["try"] == ti["try"] + 1
    same_as_before(day, before)
    print(
        f"\nscheduler killed {killed - started:.1f} s after the clear, with {task_id} (try {ti['try']}) running; "
        f"a new scheduler up {restarted - killed:.1f} s later; it took the orphaned task over (reset for another "
        f"try) {noticed - restarted:.1f} s after starting (orphaned-task check every 60 s); the run finished "
        f"{done - noticed:.1f} s after that; the day's books and {len(before['tables'])} tables' counts unchanged"
    )
