"""Shared fixtures of the DAG tests: the DAGs folder parsed the way Airflow parses it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lakehouse_fixtures import REPO

DAGS = REPO / "dags"


@pytest.fixture(scope="session")
def dagbag() -> Any:
    """The DAGs folder as the DAG processor reads it (a bundle: its folder is on ``sys.path``)."""
    from jobs.cli.assets import dag_bag

    bag = dag_bag(DAGS)
    assert bag.import_errors == {}
    return bag


def parse_for_this_lake() -> dict[str, Any]:
    """The DAGs as parsed for the current lake bucket, with their assets active in Airflow.

    Each test lake is a new bucket, so its asset URIs are new; ``dag.test()`` does not retire the
    previous lake's (the scheduler would): ``jobs.cli.assets`` does, as ``make run`` does.
    """
    from jobs.cli.assets import dag_bag, retire_other_uris

    bag = dag_bag(DAGS)
    assert bag.import_errors == {}
    retire_other_uris(dict(bag.dags))
    return dict(bag.dags)
