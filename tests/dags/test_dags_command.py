"""``lakehouse dags test``: DAGs run one after another in one process, each into its own log.

``make run`` runs the seven DAGs this way. These tests run real (tiny) DAGs through ``DAG.test()`` on
Airflow's metadata database, in the command's own process as ``make run`` starts it (pytest's capture
would take Python's output otherwise): each DAG's output lands in its own log, the first failed DAG
stops the run and its error is printed, and a child process started during one DAG writes into the
log of the DAG running when it writes (the Spark JVM is such a child).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

DAG_FILE = """
from datetime import datetime
from airflow.sdk import DAG, task

def make(dag_id, fail):
    with DAG(dag_id=dag_id, schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False) as dag:
        @task
        def say():
            print(f"output of {{dag_id}}")
            if fail:
                raise ValueError(f"{{dag_id}} broken on purpose")
        say()
    return dag

first = make("{prefix}_first", False)
broken = make("{prefix}_broken", True)
last = make("{prefix}_last", False)
"""


@pytest.fixture
def dags_folder(tmp_path: Path) -> tuple[Path, str]:
    prefix = f"cmd_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "tiny.py").write_text(DAG_FILE.format(prefix=prefix))
    return folder, prefix


def _run(folder: Path, logs: Path, *dag_ids: str) -> subprocess.CompletedProcess[str]:
    """The command as ``make run`` runs it: its own process, Airflow reading ``folder``."""
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    command = [sys.executable, "-m", "jobs.cli", "dags", "test", "--date", "2026-12-01", "--log-dir", str(logs)]
    return subprocess.run([*command, *dag_ids], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_each_dag_writes_its_own_log_and_the_first_failure_stops_the_run(
    dags_folder: tuple[Path, str], tmp_path: Path
) -> None:
    folder, prefix = dags_folder
    logs = tmp_path / "logs"

    done = _run(folder, logs, f"{prefix}_first", f"{prefix}_broken", f"{prefix}_last")

    assert done.returncode == 1, done.stderr
    assert f"running DAG {prefix}_first for 2026-12-01" in done.stdout
    assert f"{prefix}_first: success" in done.stdout
    assert f"The DAG run {prefix}_broken ended failed. What went wrong:" in done.stdout
    assert f"ValueError: {prefix}_broken broken on purpose" in done.stdout
    assert f"running DAG {prefix}_last" not in done.stdout  # not run after a failure
    assert "output of" not in done.stdout + done.stderr  # the DAGs' output is in their logs only
    first_log = (logs / f"{prefix}_first-2026-12-01.log").read_text()
    broken_log = (logs / f"{prefix}_broken-2026-12-01.log").read_text()
    assert f"output of {prefix}_first" in first_log
    assert f"output of {prefix}_broken" not in first_log
    assert f"output of {prefix}_broken" in broken_log
    assert f"output of {prefix}_first" not in broken_log
    assert not (logs / f"{prefix}_last-2026-12-01.log").exists()


def test_dags_that_succeed_exit_zero_and_an_unknown_dag_is_refused(
    dags_folder: tuple[Path, str], tmp_path: Path
) -> None:
    folder, prefix = dags_folder

    done = _run(folder, tmp_path / "logs", f"{prefix}_first", f"{prefix}_last")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{prefix}_first: success" in done.stdout and f"{prefix}_last: success" in done.stdout

    refused = _run(folder, tmp_path / "logs", f"{prefix}_first", "no_such_dag")
    assert refused.returncode == 2
    assert "no DAG no_such_dag" in refused.stderr and f"{prefix}_last" in refused.stderr  # what there is
    assert "running DAG" not in refused.stdout


def test_a_child_process_writes_into_the_log_current_when_it_writes(tmp_path: Path) -> None:
    from jobs.cli.dags import OutputToFile

    first, second = tmp_path / "first.log", tmp_path / "second.log"
    with OutputToFile(first) as output:
        print("python before the switch", file=sys.__stdout__, flush=True)
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; print('child early', flush=True); "
                "sys.stdin.readline(); print('child late', flush=True)",
            ],
            stdin=subprocess.PIPE,
            text=True,
        )
        _wait_for(first, "child early")
        output.switch(second)
        print("python after the switch", file=sys.__stdout__, flush=True)
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
        child.wait(timeout=30)
        _wait_for(second, "child late")

    assert first.read_text().splitlines() == ["python before the switch", "child early"]
    assert sorted(second.read_text().splitlines()) == ["child late", "python after the switch"]


def _wait_for(path: Path, text: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{text!r} never reached {path}"
        time.sleep(0.05)
