"""``lakehouse batch``: the data steward looks at batches a gate held, and releases or discards them.

``list`` and ``show`` read ``quality/held_batches`` through delta-rs (no JVM); ``release`` publishes
the staged batch with Spark exactly as a passed gate would, records it in ``quality/releases`` and
emits the dataset's certified asset event in Airflow, so the gold DAG follows; ``discard`` leaves the
batch out for good (its rows go to quarantine). Policy and mechanics: :mod:`jobs.batches`.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("batch", help="look at batches a quality gate held; release or discard them (data stewards)")
    b = p.add_subparsers(dest="batch_command", required=True, metavar="ACTION")

    ls = b.add_parser("list", help="held batches: dataset, batch, interval, failed checks")
    ls.add_argument("--dataset", help="a silver dataset (default: all)")
    ls.add_argument(
        "--status",
        default="held",
        choices=["held", "released", "discarded", "superseded", "all"],
        help="held (default): waiting for a steward",
    )
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(run=run_list)

    show = b.add_parser("show", help="one held batch with its failed checks and sample values")
    show.add_argument("batch_id", metavar="BATCH")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=run_show)

    for action, text in (
        ("release", "publish the held batch as it is (recorded in quality/releases; gold follows)"),
        ("discard", "leave the held batch out of silver for good (its rows go to quarantine as BATCH_DISCARDED)"),
    ):
        cmd = b.add_parser(action, help=text)
        cmd.add_argument("batch_id", metavar="BATCH")
        cmd.add_argument("--reason", required=True, help="why (recorded with the decision)")
        cmd.add_argument("--steward", default=None, help="who decides (default: the login name)")
        cmd.add_argument("--json", action="store_true", help="print the result as JSON")
        cmd.set_defaults(run=run_release if action == "release" else run_discard)


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "—"


def run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from jobs.batches import held_batches

    rows = held_batches(None if args.status == "all" else args.status, args.dataset)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
        return 0
    table = Table(title=f"Batches stopped by their gate ({args.status}): {len(rows)}")
    for col in ("batch", "dataset", "interval (UTC)", "status", "failed checks", "staged rows", "held at"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["batch_id"],
            r["dataset"],
            f"{_when(r['data_interval_start'])} – {_when(r['data_interval_end'])}",
            r["status"] + (f" by {r['decided_by']}" if r.get("decided_by") else ""),
            ", ".join(c["check_id"] for c in r["failed_checks"]),
            f"{r['staged_rows']} good + {r['staged_quarantine_rows']} quarantined",
            _when(r["held_at"]),
        )
    Console(width=max(Console().width, 160)).print(table)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from jobs.batches import BatchDecisionError, find

    row = find(args.batch_id)
    if row is None:
        raise BatchDecisionError(f"no held batch {args.batch_id}; see `lakehouse batch list --status all`")
    if args.json:
        print(json.dumps(row, ensure_ascii=False, default=str, indent=2))
        return 0
    print(f"Batch {row['batch_id']} of {row['dataset']}: {row['status']}")
    print(f"  data interval (UTC): {_when(row['data_interval_start'])} – {_when(row['data_interval_end'])}")
    print(f"  held at {_when(row['held_at'])} UTC by run {row['run_id']}")
    print(f"  staged: {row['staged_rows']} good rows, {row['staged_quarantine_rows']} quarantined rows (not published)")
    if row.get("decided_by"):
        print(
            f"  decided: {row['status']} by {row['decided_by']} at {_when(row['decided_at'])} UTC: "
            f"{row['decision_reason']}"
        )
    print("  failed critical checks:")
    for c in row["failed_checks"]:
        counted = (
            f"{c['unexpected_count']} of {c['element_count']} rows failed"
            if c.get("element_count")
            else f"observed {c['observed'] or '—'}" + (f", expected {c['expected']}" if c.get("expected") else "")
        )
        print(f"    - {c['criterion']} {c['check_id']} ({c['description']}): {counted}")
        for sample in c["sample"]:
            print(f"        {sample}")
    if row["status"] == "held":
        print(f"Decide with `lakehouse batch release {row['batch_id']} --reason TEXT` or `... discard ...`.")
    return 0


def _writing(batch_id: str, action: str, steward: str) -> Any:
    """The leases a decision on ``batch_id`` needs (``jobs.lease``): its dataset's tables and the
    shared quality tables, so a DAG task or another command never commits to them at the same time."""
    from jobs.batches import find
    from jobs.lease import QUALITY, dataset_resource, hold

    row = find(batch_id)
    resources = [QUALITY] + ([dataset_resource(row["dataset"])] if row is not None else [])
    return hold(*resources, holder=f"lakehouse batch {action} {batch_id} by {steward}")


def run_release(args: argparse.Namespace) -> int:
    from jobs.batches import certified_extra, release

    steward = args.steward or getpass.getuser()
    with _writing(args.batch_id, "release", steward):
        decision = release(args.batch_id, args.reason, steward)
    extra = certified_extra(decision)
    emitted = emit_certified_event(decision.dataset, extra)
    if args.json:
        print(json.dumps({**decision.to_dict(), "event": emitted}, ensure_ascii=False, indent=2))
        return 0
    print(
        f"Released batch {decision.batch_id} of {decision.dataset} ({decision.release_id}): "
        f"{decision.silver_rows} rows published to silver, {decision.quarantined_rows} to quarantine; "
        "recorded in quality/releases."
    )
    print(emitted)
    return 0


def run_discard(args: argparse.Namespace) -> int:
    from jobs.batches import discard

    steward = args.steward or getpass.getuser()
    with _writing(args.batch_id, "discard", steward):
        decision = discard(args.batch_id, args.reason, steward)
    if args.json:
        print(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(
        f"Discarded batch {decision.batch_id} of {decision.dataset}: nothing published to silver; "
        f"{decision.discarded_rows} good rows quarantined as BATCH_DISCARDED and {decision.quarantined_rows} "
        "rejected rows with their reasons; the books (quality/batch_accounting) say so."
    )
    return 0


def emit_certified_event(dataset_name: str, extra: dict[str, Any]) -> str:
    """Record the dataset's certified asset event in Airflow's metadata database, as a passed
    gate's publish task would, so the gold DAG scheduled on it runs (same call as Airflow's REST
    ``POST /assets/events``). Returns what happened, for the steward."""
    from jobs.registry import REGISTRY

    name = REGISTRY[dataset_name].qualified_name
    try:
        from airflow.assets.manager import AssetManager
        from airflow.models.asset import AssetModel
        from airflow.utils.session import create_session
        from sqlalchemy import select
    except ImportError:  # pragma: no cover - Airflow is a pinned dependency
        return f"Airflow is not installed here: emit the event for {name} from the Airflow host."
    from sqlalchemy.exc import SQLAlchemyError

    by_hand = "run the sector's gold DAG for the interval by hand (`airflow dags test <sector>_gold`)"
    try:
        with create_session() as session:
            asset = session.scalar(select(AssetModel).where(AssetModel.name == name, AssetModel.active.has()))
            if asset is None:
                return (
                    f"Airflow does not know the asset {name} yet (no DAG producing it was parsed): gold is not "
                    f"triggered; {by_hand}."
                )
            AssetManager.register_asset_change(asset=asset, extra=extra, source_is_api=True, session=session)
    except SQLAlchemyError as err:
        return f"No certified event: Airflow's metadata database is not reachable ({type(err).__name__}); {by_hand}."
    return f"Certified asset event emitted for {name}: the gold DAG scheduled on it follows."
