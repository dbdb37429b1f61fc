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
