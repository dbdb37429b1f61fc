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


def parse_for_this_lake() -> dict[str, Any]:
    """The DAGs as parsed for the current lake bucket, with their assets active in Airflow.

    Asset URIs name the table in the lake bucket, and each test lake is a new bucket. Airflow
    activates an asset only if no other active asset has its name; retiring the previous lake's
    assets is the scheduler's orphanage pass, which ``dag.test()`` does not run, so it is done here.
    """
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.models.asset import AssetActive
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    bag = BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS, bundle_name="dags-folder", known_pools=POOLS)
    assert bag.import_errors == {}
    current = {a.name: a.uri for dag in bag.dags.values() for t in dag.tasks for a in [*t.inlets, *t.outlets]}
    with create_session() as session:
        for name, uri in current.items():
            session.execute(delete(AssetActive).where(AssetActive.name == name, AssetActive.uri != uri))
    return dict(bag.dags)
