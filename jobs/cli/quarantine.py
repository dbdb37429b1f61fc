"""``lakehouse quarantine``: the data steward lists quarantined rows, corrects or accepts them, releases them.

``list`` reads through delta-rs (no JVM); ``release`` sends rows back through silver with Spark.
The policy (what may be corrected or accepted) is in :mod:`jobs.quarantine`.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

DEFAULT_LIMIT = 50


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("quarantine", help="list, correct and release quarantined rows (data stewards)")
    q = p.add_subparsers(dest="quarantine_command", required=True, metavar="ACTION")

    ls = q.add_parser("list", help="quarantined rows with their reason, rule, criterion, province and raw line")
    ls.add_argument("--dataset", help="a silver dataset (default: all)")
    ls.add_argument("--reason", help="reason code, e.g. INVALID_TIMESTAMP")
    ls.add_argument("--province", help="2025 province code, e.g. 01")
    ls.add_argument("--batch", help="batch id")
    ls.add_argument(
        "--status",
        default="open",
        choices=["open", "released", "accepted", "discarded", "all"],
        help="workflow status (open)",
    )
    ls.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"rows to show (default {DEFAULT_LIMIT}; 0 = all)")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(run=run_list)

    rel = q.add_parser(
        "release",
        help="send rows back through silver, corrected (--set) or accepted (--accept); recorded in quality/releases",
    )
    rel.add_argument("--dataset", required=True, help="the silver dataset the rows belong to")
    rel.add_argument("--row", action="append", default=[], metavar="ID", help="row id <batch_id>:<line> (repeatable)")
    rel.add_argument("--reason", help="release every open row with this reason code (instead of --row)")
    rel.add_argument("--province", help="with --reason: only rows of this province")
    rel.add_argument("--batch", help="with --reason: only rows of this batch")
    rel.add_argument(
        "--set",
        action="append",
        default=[],
        dest="corrections",
        metavar="COLUMN=VALUE",
        help="correct a source field of the selected rows (repeatable), e.g. --set unit=µg/Nm³",
    )
    rel.add_argument("--accept", action="store_true", help="accept the rows as they are, overriding an acceptable rule")
    rel.add_argument("--note", required=True, help="why the rows may be released (recorded)")
    rel.add_argument("--steward", default=None, help="who releases (default: the login name)")
    rel.add_argument("--json", action="store_true", help="print the result as JSON")
    rel.set_defaults(run=run_release)


def run_list(args: argparse.Namespace) -> int:
    from jobs.quarantine import Selection, list_rows, to_json

    selection = Selection(
        dataset=args.dataset,
        reason=args.reason,
        province=args.province,
        batch=args.batch,
        status=None if args.status == "all" else args.status,
    )
    rows = list_rows(selection)
    shown = rows if args.limit <= 0 else rows[: args.limit]
    if args.json:
        print(to_json({"total": len(rows), "rows": shown}))
        return 0
    print_rows(rows, shown, selection.describe())
    return 0


def print_rows(rows: list[dict[str, Any]], shown: list[dict[str, Any]], described: str) -> None:
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 160))
    table = Table(title=f"Quarantined rows ({described or 'all datasets'}): {len(shown)} of {len(rows)}")
    for col in ("row id", "dataset", "reason", "rule", "criterion", "province", "status", "raw line"):
        table.add_column(col, overflow="fold")
    for r in shown:
        table.add_row(
            r["row_id"],
            r["dataset"],
            r["reason_code"] or "",
            r["rule_id"] or "",
            r["criterion"] or "",
            r["province_code"] or "—",
            r["status"] + (f" ({r['release_id']})" if r.get("release_id") else ""),
            r["raw_line"],
        )
    console.print(table)
    by_reason = Counter((r["dataset"], r["reason_code"]) for r in rows)
    if by_reason:
        console.print("By reason: " + ", ".join(f"{ds} {reason} {n}" for (ds, reason), n in sorted(by_reason.items())))


def run_release(args: argparse.Namespace) -> int:
    from jobs.lease import QUALITY, dataset_resource, hold
    from jobs.quarantine import (
        RowId,
        Selection,
        parse_corrections,
        quarantined_datasets,
        release,
        to_json,
    )

    (dataset,) = quarantined_datasets(args.dataset)
    selection = Selection(
        dataset=args.dataset,
        row_ids=tuple(RowId.parse(r) for r in args.row),
        reason=args.reason,
        province=args.province,
        batch=args.batch,
    )
    steward = args.steward or getpass.getuser()
    corrections = parse_corrections(args.corrections, dataset)  # a wrong column is refused before the lake is touched
    # One writer per table: the dataset's silver and quarantine, and quality/releases (jobs.lease).
    with hold(dataset_resource(dataset.name), QUALITY, holder=f"lakehouse quarantine release by {steward}"):
        result = release(selection, corrections, args.accept, args.note, steward)
    if args.json:
        print(to_json(result.to_dict()))
        return 0 if result.rows_still_failing == 0 else 1
    for a in result.already_released:
        print(f"{a['row_id']}: already {a['status']} by {a['release_id']} (nothing to do)")
    if result.release_id is None:
        print(f"No open row matches ({selection.describe()}): nothing released, nothing recorded.")
        return 0
    print(
        f"Release {result.release_id} of {result.dataset}: {result.rows_selected} row(s) selected, "
        f"{result.rows_released} released into silver, {result.rows_still_failing} still quarantined."
    )
    for row_id in result.released:
        print(f"  released  {row_id}")
    for f in result.still_failing:
        print(
            f"  STILL FAILING {f['row_id']}: {f['reason_code']} ({f['rule_id']}, {f['criterion']}) — {f['description']}"
        )
    if result.still_failing:
        print("  The failing rows stay open with their new reason and corrections; fix them and release again.")
    if result.dates:
        print(
            f"Silver days changed: {', '.join(result.dates)}. Gold for them is rebuilt (and the rows gated) by the "
            "next DAG run of those days."
        )
    print("Recorded in quality/releases.")
    return 0 if result.rows_still_failing == 0 else 1
