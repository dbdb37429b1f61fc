"""``lakehouse spark-driver``: keep one Spark driver for the processes that attach to it.

Each Airflow task under a LocalExecutor (or Celery) worker is a process of its own; with a driver of
its own it pays a JVM's start, its executors' registration and a cold JIT (≈ 70 s a task on the
cluster) before a few seconds of work. Tasks with ``LAKEHOUSE_SPARK_DRIVER_FILE`` set attach to this
driver instead (``jobs.spark.attach_shared_driver``). Unlike the other commands, this one starts a JVM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "spark-driver",
        help="run a long-lived Spark driver that tasks attach to (LAKEHOUSE_SPARK_DRIVER_FILE); stops on SIGTERM",
    )
    p.add_argument(
        "--file",
        type=Path,
        default=None,
        help="where to write the driver's connection (mode 600; default: LAKEHOUSE_SPARK_DRIVER_FILE)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from jobs.errors import UserFacingError
    from jobs.settings import get_settings
    from jobs.spark import serve_shared_driver

    settings = get_settings()
    driver_file = args.file or settings.spark_driver_file
    if driver_file is None:
        raise UserFacingError("no connection file: pass --file PATH or set LAKEHOUSE_SPARK_DRIVER_FILE")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve_shared_driver(driver_file, stop, settings=settings)
    return 0
