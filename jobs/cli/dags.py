"""``lakehouse dags test``: run DAGs for one Vietnamese day in this one process, one after another.

Each DAG runs as ``airflow dags test`` runs it (``DAG.test()``: every task in this process, recorded in
Airflow's metadata), but the DAG folder is parsed once and one Spark driver serves every DAG: the one
builder's session is kept by ``getOrCreate``, so its start and its warm-up (class loading, JIT, Delta's
first log reads) are paid once, not once per DAG as with one ``airflow dags test`` process per DAG.
``make run`` uses it. Each DAG's output — Python's, Airflow's and the Spark JVM's — goes to its own log
file; the first failed DAG stops the run and its errors are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import threading
import time
import traceback
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from jobs.cli.assets import importable_dag_bag, retire_other_uris
from jobs.errors import UserFacingError

# What ``make run`` showed of a failed DAG's log: exceptions and the gate's failed criteria.
_WHAT_WENT_WRONG = re.compile(r"^[A-Za-z_.]+(Error|Exception): |^  - criterion")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("dags", help="(engineers) run DAGs for one day in one process, as make run does")
    actions = p.add_subparsers(dest="dags_command", required=True, metavar="ACTION")
    test = actions.add_parser(
        "test",
        help="run the DAGs, in the order given, for the Vietnamese day --date (each as `airflow dags test`)",
    )
    test.add_argument("dag_ids", nargs="+", metavar="DAG", help="the DAGs to run, in this order")
    test.add_argument("--date", type=date.fromisoformat, required=True, help="the Vietnamese day, YYYY-MM-DD")
    test.add_argument("--log-dir", type=Path, required=True, help="each DAG's log: <log-dir>/<dag>-<date>.log")
    test.set_defaults(run=run)


def logical_date_for(day: date) -> datetime:
    """The logical date whose data interval is the Vietnamese day ``day`` (its end, 00:00 +07:00)."""
    import pendulum

    nxt = day + timedelta(days=1)
    return pendulum.datetime(nxt.year, nxt.month, nxt.day, tz="Asia/Ho_Chi_Minh")


class OutputToFile:
    """While active, everything written to this process's stdout and stderr — by Python, and by the
    child processes it starts, such as the Spark JVM — goes to the file last named by :meth:`switch`.

    File descriptors 1 and 2 are pointed at a pipe that a thread copies into the current file. A child
    keeps the descriptors it was started with, so plain redirection would leave the JVM started during
    the first DAG writing into that DAG's log for good; through the pipe its later lines follow the
    switch. A switch is a marker line sent through the same pipe: what was written before it is in the
    previous file. After the block, the copying goes on into the last file (children still hold the
    pipe) and Python's own output is the terminal's again.
    """

    def __init__(self, first: Path) -> None:
        self._marker = f"lakehouse-output-switch-{uuid.uuid4().hex}\n".encode()
        self._first = first
        self._next: Path | None = None
        self._switched = threading.Event()
        self._saved: list[int] = []
        self._write_end = -1

    def __enter__(self) -> OutputToFile:
        read_end, self._write_end = os.pipe()
        target = self._first.open("wb")
        threading.Thread(target=self._copy, args=(os.fdopen(read_end, "rb"), target), daemon=True).start()
        _flush()
        self._saved = [os.dup(1), os.dup(2)]
        os.dup2(self._write_end, 1)
        os.dup2(self._write_end, 2)
        return self

    def switch(self, path: Path) -> None:
        """Send what is written from now on to ``path`` (truncated)."""
        self._through_marker(path)

    def drain(self) -> None:
        """Return once everything written so far is in the current file."""
        self._through_marker(None)

    def _through_marker(self, path: Path | None) -> None:
        _flush()
        self._next = path
        self._switched.clear()
        os.write(self._write_end, self._marker)
        if not self._switched.wait(timeout=60):
            raise RuntimeError("the output copier did not reach its marker within 60 s")

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        _flush()
        for fd, saved in zip((1, 2), self._saved, strict=True):
            os.dup2(saved, fd)
            os.close(saved)

    def _copy(self, source: BinaryIO, target: BinaryIO) -> None:
        for line in iter(source.readline, b""):
            if line.endswith(self._marker):
                target.write(line[: -len(self._marker)])
                target.flush()
                if self._next is not None:
                    target.close()
                    target = self._next.open("wb")
                self._switched.set()
                continue
            target.write(line)
            target.flush()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed stream has nothing to flush
                stream.flush()


def what_went_wrong(log: Path, limit: int = 20) -> list[str]:
    """The distinct exception and failed-criterion lines of a DAG's log, sorted (at most ``limit``)."""
    with log.open(encoding="utf-8", errors="replace") as lines:
        found = {line.rstrip("\n") for line in lines if _WHAT_WENT_WRONG.match(line)}
    return sorted(found)[:limit]


def configured_dags_folder() -> Path:
    """The folder Airflow reads (``[core] dags_folder``): ``DAG.test()`` runs only DAGs serialized from it."""
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder"))


def run_dag(dag: Any, day: date) -> str:
    """Run ``dag`` for ``day`` as ``airflow dags test`` does; its run's state, "failed" if it raised."""
    try:
        run = dag.test(logical_date=logical_date_for(day))
    except Exception:
        traceback.print_exc()
        return "failed"
    return str(run.state) if run is not None else "failed"


def run(args: argparse.Namespace) -> int:
    folder = configured_dags_folder()
    bag = importable_dag_bag(folder)
    unknown = [name for name in args.dag_ids if name not in bag.dags]
    if unknown:
        raise UserFacingError(f"no DAG {', '.join(unknown)} in {folder}; there are: {', '.join(sorted(bag.dags))}")
    for name, uri in retire_other_uris(dict(bag.dags)):
        print(f"retired {name} at {uri} (another lake's); the DAGs use their own")
    args.log_dir.mkdir(parents=True, exist_ok=True)
    logs = {name: args.log_dir / f"{name}-{args.date.isoformat()}.log" for name in args.dag_ids}
    console = io.TextIOWrapper(os.fdopen(os.dup(1), "wb"), encoding="utf-8", line_buffering=True)
    with OutputToFile(logs[args.dag_ids[0]]) as output:
        for i, name in enumerate(args.dag_ids):
            if i:
                output.switch(logs[name])
            console.write(f"running DAG {name} for {args.date} through Airflow (log: {logs[name]})\n")
            started = time.monotonic()
            state = run_dag(bag.dags[name], args.date)
            if state != "success":
                output.drain()
                console.write(f"The DAG run {name} ended {state}. What went wrong:\n")
                for line in what_went_wrong(logs[name]):
                    console.write(f"{line}\n")
                return 1
            console.write(f"  {name}: {state} in {time.monotonic() - started:.1f} s\n")
    return 0
