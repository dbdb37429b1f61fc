"""``lakehouse assets activate``: make this lake's asset URIs the active ones in Airflow's metadata.

An asset's URI names its table in the lake bucket (``s3://<bucket>/silver/...``). Airflow keeps one
active asset per name and activates a new URI only when no other asset of that name is active;
retiring the old one is the scheduler's orphanage pass. ``DAG.test()`` (``airflow dags test``, and
``lakehouse dags test``, which ``make run`` uses) never runs that pass, so after the bucket changed
(``LAKEHOUSE_BUCKET``, or a benchmark or test that ran its DAGs on a bucket of its own against the
same metadata database) every task touching such an asset fails with
``AirflowInactiveAssetInInletOrOutletException``. ``lakehouse dags test`` does this first; with a
scheduler running it is not needed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from jobs.errors import UserFacingError

POOLS = frozenset({"default_pool", "lakehouse_spark", "lakehouse_quality_writer"})


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "assets",
        help="(engineers) make the DAGs' asset URIs, i.e. this lake bucket's, the active ones in Airflow",
    )
    actions = p.add_subparsers(dest="assets_command", required=True, metavar="ACTION")
    activate = actions.add_parser(
        "activate", help="retire other URIs active under the DAGs' asset names (what the scheduler does)"
    )
    activate.add_argument(
        "--dags-folder",
        type=Path,
        default=None,
        help="the DAGs folder (default: AIRFLOW__CORE__DAGS_FOLDER, else this repository's dags/)",
    )
    activate.set_defaults(run=run)


def dag_bag(dags_folder: Path) -> Any:
    """The DAGs folder as Airflow's DAG processor reads it (a bundle, its folder on ``sys.path``)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(
        dag_folder=str(dags_folder), bundle_path=dags_folder, bundle_name="dags-folder", known_pools=POOLS
    )


def importable_dag_bag(dags_folder: Path) -> Any:
    """:func:`dag_bag`, refused with what to do when a DAG file in the folder does not import."""
    bag = dag_bag(dags_folder)
    if bag.import_errors:
        raise UserFacingError(f"the DAGs in {dags_folder} do not import; fix them first: {bag.import_errors}")
    return bag


def retire_other_uris(dags: dict[str, Any]) -> list[tuple[str, str]]:
    """Delete the activation of every asset sharing a name with one of ``dags``' inlets or outlets but
    not its URI; returns the retired (name, uri) pairs. The DAGs' own assets are then activated when
    their DAG is next written to the metadata (``airflow dags test`` does)."""
    from airflow.models.asset import AssetActive
    from airflow.utils.session import create_session
    from sqlalchemy import select

    current = {a.name: a.uri for dag in dags.values() for t in dag.tasks for a in [*t.inlets, *t.outlets]}
    with create_session() as session:
        stale = [
            row
            for row in session.scalars(select(AssetActive).where(AssetActive.name.in_(current)))
            if row.uri != current[row.name]
        ]
        for row in stale:
            session.delete(row)
        return sorted((row.name, row.uri) for row in stale)


def default_dags_folder() -> Path:
    configured = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "dags"


def run(args: argparse.Namespace) -> int:
    folder = args.dags_folder or default_dags_folder()
    bag = importable_dag_bag(folder)
    retired = retire_other_uris(dict(bag.dags))
    for name, uri in retired:
        print(f"retired {name} at {uri}")
    print(f"{len(retired)} asset URI(s) of another lake retired; the DAGs in {folder} use their own")
    return 0
