"""``lakehouse assets activate``: a lake's asset URIs become the active ones in Airflow's metadata.

Airflow activates a DAG's asset only if no other URI is active under its name; a task whose asset
is not active fails. The DAG tests run ``dag.test()`` on a new bucket each after this step, so they
cover its effect on a run; these tests check the step itself on Airflow's metadata database.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest


def _dag_with_outlet(name: str, uri: str) -> Any:
    from airflow.sdk import DAG, Asset, task

    with DAG(dag_id=f"assets_{uuid.uuid4().hex[:8]}", schedule=None, start_date=datetime(2026, 1, 1)) as dag:

        @task(outlets=[Asset(name=name, uri=uri)])
        def write() -> None:
            pass

        write()
    return dag


def _activate(name: str, uri: str) -> None:
    """What an earlier run on another lake left: ``name`` active under ``uri``."""
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        model = AssetModel(name=name, uri=uri, group="asset")
        session.add(model)
        session.flush()
        session.add(AssetActive.for_asset(model))


def _active_uris(name: str) -> list[str]:
    from airflow.models.asset import AssetActive
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return list(session.scalars(select(AssetActive.uri).where(AssetActive.name == name)))


def test_a_name_active_under_another_lakes_uri_is_retired_and_others_are_left() -> None:
    from jobs.cli.assets import retire_other_uris

    name = f"silver.test_assets_{uuid.uuid4().hex[:8]}"
    ours, theirs, unrelated = (f"s3://{lake}/silver/{name}" for lake in ("lake-b", "lake-a", "lake-c"))
    _activate(name, theirs)
    _activate(f"{name}_unrelated", unrelated)
    dag = _dag_with_outlet(name, ours)

    assert retire_other_uris({dag.dag_id: dag}) == [(name, theirs)]
    assert _active_uris(name) == []
    assert _active_uris(f"{name}_unrelated") == [unrelated]  # a name none of the DAGs uses is left alone
    assert retire_other_uris({dag.dag_id: dag}) == []  # idempotent

    _activate(name, ours)  # what Airflow does when it next writes the DAG
    assert retire_other_uris({dag.dag_id: dag}) == []  # the DAG's own URI is never retired
    assert _active_uris(name) == [ours]


def test_the_command_refuses_a_dags_folder_that_does_not_import(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from jobs.cli import main

    (tmp_path / "broken.py").write_text("from airflow.sdk import DAG\nimport not_a_module_anywhere\n")
    assert main(["assets", "activate", "--dags-folder", str(tmp_path)]) == 2
    assert "do not import" in capsys.readouterr().err
