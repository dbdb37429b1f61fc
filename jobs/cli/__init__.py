"""``lakehouse``: the project's command line, for ministries, data stewards and engineers.

Each module of this package is one group of commands: it defines ``register(subparsers)``, which
adds its sub-commands with ``set_defaults(run=callable)``; ``run(args) -> int`` does the work.
Modules are discovered, so a new command is a new module here and nothing else. Commands read the
lakehouse through delta-rs (no JVM start) with the caller's S3 credentials.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import pkgutil
import sys
import threading
from typing import NoReturn

from jobs.errors import UserFacingError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakehouse",
        description="Query, describe and look after the national-data lakehouse.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{module.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserFacingError as err:
        print(f"lakehouse {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    finally:
        # Collect Arrow scanners (delta-rs reads) while Arrow is alive: left to interpreter
        # teardown, their threads can abort the process after the work is done (exit 134,
        # "terminate called without an active exception"; apache/arrow, delta-io/delta-rs#2184).
        gc.collect()


def entry() -> NoReturn:
    """The process's entry (``lakehouse``, ``python -m jobs.cli``): :func:`main`, then a plain exit.

    Arrow's scanner threads (delta-rs reads) can still be alive when the interpreter tears down, and
    then the C++ runtime aborts the finished process (exit -6/134, "terminate called without an active
    exception") even after ``gc.collect()``: seen on ``lakehouse summary --json`` after it had printed
    everything. So the normal shutdown is done by hand — other threads joined, ``atexit`` handlers run
    (logging, pyspark's JVM), streams flushed — and the process leaves with ``os._exit``, skipping only
    the C++ static destructors.
    """
    code = main()
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
