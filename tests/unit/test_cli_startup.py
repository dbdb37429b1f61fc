"""The ``lakehouse`` CLI builds its parser (every command module) without heavy imports: a command
imports its implementation when it runs, so ``lakehouse --help`` and a typo answer at once."""

from __future__ import annotations

import subprocess
import sys

from tests.lakehouse_fixtures import REPO

HEAVY = ("pyspark", "pandas", "great_expectations", "deltalake", "boto3", "duckdb", "vietnamadminunits")


def test_cli_parser_loads_no_heavy_library() -> None:
    probe = (
        "import sys; from jobs.cli import build_parser; build_parser(); "
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_the_process_entry_keeps_exit_codes_output_and_threads() -> None:
    """``entry`` leaves with ``os._exit`` (no C++ teardown): the command's exit code and message, a
    thread still working and an ``atexit`` handler must all survive that."""
    empty = subprocess.run([sys.executable, "-m", "jobs.cli", "query", ""], capture_output=True, text=True, cwd=REPO)
    assert empty.returncode == 2, empty.stderr[-2000:]
    assert "lakehouse query: empty query" in empty.stderr
    probe = (
        "import atexit, sys, threading, time\n"
        "import jobs.cli as cli\n"
        "def work(): time.sleep(0.5); print('thread done', flush=True)\n"
        "def command(args):\n"
        "    threading.Thread(target=work).start(); atexit.register(lambda: print('atexit ran')); return 3\n"
        "cli.main = lambda: command(None)\n"
        "cli.entry()\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 3, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["thread done", "atexit ran"]
