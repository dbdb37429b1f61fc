"""The DAGs folder parses cleanly, cheaply and with no heavy import (the DAG processor reparses it often)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.dags.conftest import DAGS
from tests.lakehouse_fixtures import REPO

HEAVY = ("pyspark", "great_expectations", "boto3", "deltalake", "pandas", "py4j")


def test_every_dag_loads_without_import_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    # one DAG per file, named after it (a sector's ingest and gold DAGs, the open-data export)
    assert set(dagbag.dag_ids) == {p.stem for p in DAGS.glob("*.py") if not p.name.startswith("_")}
    assert {"environment_iot", "environment_gold", "environment_opendata"} <= set(dagbag.dag_ids)
    for dag in dagbag.dags.values():
        assert dag.max_active_runs == 1, dag.dag_id
        assert dag.doc_md and dag.doc_md.strip().startswith("###"), dag.dag_id
        assert dag.default_args["retries"] == 2 and dag.default_args["pool"] == "lakehouse_spark", dag.dag_id


@pytest.mark.parametrize("path", sorted(p.name for p in DAGS.glob("*.py")))
def test_dag_file_does_no_heavy_imports_at_parse_time(path: str) -> None:
    probe = (
        f"import runpy, sys; sys.path.insert(0, {str(DAGS)!r}); runpy.run_path({str(DAGS / path)!r}); "
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="
