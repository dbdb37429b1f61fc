"""Process-wide test hygiene."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest


def _own_airflow_db_per_worker() -> None:
    """Under pytest-xdist (``make test``) each worker runs its DAGs on its own copy of the Airflow
    metadata DB, made before Airflow is imported: two workers' ``dag.test()`` would otherwise share
    one SQLite file (locks) and one set of active assets (each test lake activates its own)."""
    worker, home = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("AIRFLOW_HOME")
    if not worker or not home or not (Path(home) / "airflow.db").exists():
        return
    copy = Path(home) / f"airflow-{worker}.db"
    source, target = sqlite3.connect(Path(home) / "airflow.db"), sqlite3.connect(copy)
    try:
        source.backup(target)  # a consistent copy of a WAL-mode database, migrations and pools included
    finally:
        source.close()
        target.close()
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{copy}"


_own_airflow_db_per_worker()

# The cluster drills (tests/cluster) need the cluster topology: `make cluster-drills` runs them with
# its configuration (a spark:// master); `make test` runs on the laptop stack and leaves them out.
collect_ignore = [] if os.environ.get("LAKEHOUSE_SPARK_MASTER", "").startswith("spark://") else ["cluster"]

# py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after pytest
# closed its streams; that message is noise, so keep py4j's logger at warnings.
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session", autouse=True)
def stop_spark_at_the_end() -> Iterator[None]:
    """Stop the shared SparkSession while logging still works (py4j logs on shutdown)."""
    yield
    import sys

    if "pyspark" in sys.modules:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()
