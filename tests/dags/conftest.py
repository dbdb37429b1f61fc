"""Shared fixtures of the DAG tests: the DAGs folder parsed the way Airflow parses it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pendulum
import pytest

from tests.lakehouse_fixtures import REPO

DAGS = REPO / "dags"
POOLS = {"default_pool", "lakehouse_spark", "lakehouse_quality_writer"}


def logical_date_for(day: date) -> datetime:
    """The logical date whose data interval is the Vietnamese day ``day``."""
    nxt = day + timedelta(days=1)
    return pendulum.datetime(nxt.year, nxt.month, nxt.day, tz="Asia/Ho_Chi_Minh")


@pytest.fixture(scope="session")
def dagbag() -> Any:
    """The DAGs folder as the DAG processor reads it (a bundle: its folder is on ``sys.path``)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS, bundle_name="dags-folder", known_pools=POOLS)
    assert bag.import_errors == {}
    return bag
