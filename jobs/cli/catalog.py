"""``lakehouse tables`` and ``lakehouse describe TABLE``: the data dictionary, with each table's state.

Both read the store as the caller (``--ministry CODE``, default ``$LAKEHOUSE_MINISTRY``): a table
the caller may not read is listed as "no access", never hidden and never a crash.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from jobs.registry import Criterion, Ministry
from jobs.settings import Settings

CRITERIA = [c.value for c in Criterion]
DASH = "—"


def add_ministry_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ministry",
        metavar="CODE",
        default=None,
        help="read as this ministry's store identity (e.g. mae, moc); default $LAKEHOUSE_MINISTRY, "
        "else the configured LAKEHOUSE_S3_* identity",
    )


def caller(args: argparse.Namespace) -> tuple[Settings, Ministry | None]:
    """The caller's settings (its own store credentials) and ministry, from ``--ministry``."""
    from jobs.access import ministry_for_code, settings_for

    code = args.ministry or os.environ.get("LAKEHOUSE_MINISTRY", "").strip() or None
    return settings_for(code), ministry_for_code(code)


def _console() -> Any:
    from rich.console import Console

    return Console(width=max(Console().width, 140))


def _num(value: int | None, status: str) -> str:
    if value is None:
        return status if status != "ok" else DASH
    return f"{value:,}"


def print_tables(entries: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="Lakehouse tables (scores: latest per criterion, 0–100)")
    for col in ("table", "owner", "class.", "SLA", "version", "rows", *CRITERIA):
        table.add_column(col, justify="left" if col in ("table", "owner", "class.") else "right")
    for e in entries:
        if isinstance(e["scores"], dict):
            mark = "*" if e["layer"] == "gold" else ""
            scores = [f"{e['scores'][c]:.1f}{mark}" if c in e["scores"] else DASH for c in CRITERIA]
        else:
            scores = [e["scores"] or DASH] * len(CRITERIA)
        table.add_row(
            e["name"],
            e["owner"]["code"] if e["owner"] else "steward",
            e["classification"],
            e["freshness_sla"] or DASH,
            _num(e["version"], e["status"]),
            _num(e["rows"], e["status"]),
            *scores,
        )
    console = _console()
    console.print(table)
    console.print(
        "* gold has no gate of its own: it shows the lowest current score of its silver inputs.\n"
        '`lakehouse describe TABLE` explains a table; `lakehouse query "SELECT …"` reads it.'
    )


def _upstream(node: Any, name: str, edges: list[list[str]], sources: bool = False) -> None:
    """Add ``name``'s input tables under ``node``, recursively down to their sources."""
    for source, target in edges:
        if target == name and not source.startswith("source:"):
            _upstream(node.add(source), source, edges, sources=True)
        elif target == name and sources:
            node.add(source)


def print_describe(d: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.tree import Tree

    console = _console()
    owner = f"{d['owner']['name']} ({d['owner']['code']})" if d["owner"] else "data steward (shared quality area)"
    console.print(f"[bold]{d['name']}[/bold] — {d['title_en']} / {d['title_vi']}")
    console.print(
        f"owner: {owner}   classification: {d['classification']}   freshness SLA: "
        f"{d['freshness_sla'] or DASH}   location: {d['location']}"
    )
    if d["grants"]:
        console.print("also granted to: " + ", ".join(g["code"] for g in d["grants"]))
    state = d["status"] if d["status"] != "ok" else f"Delta version {d['version']}, {d['rows']:,} rows"
    console.print(f"state: {state}" + (f" — {d['reason']}" if d.get("reason") else ""))
    if d["natural_key"]:
        console.print("natural key: " + ", ".join(d["natural_key"]))
    if d["partition_by"]:
        console.print("partitioned by: " + ", ".join(d["partition_by"]))

    cols = Table(title="Columns")
    for c in ("column", "type", "unit", "class.", "nghĩa (vi)", "meaning (en)"):
        cols.add_column(c)
    for c in d["columns"]:
        cols.add_row(c["name"], c["type"], c["unit"] or "", c["classification"], c["vi"], c["en"])
    console.print(cols)

    if d["source"]:
        s = d["source"]
        kind = "snapshot (whole list each time)" if s["snapshot"] else "events per data interval"
        console.print(f"source: {s['path']} ({s['format']}, {kind}); columns: {', '.join(s['columns'])}")
    if d["lineage"]:
        tree = Tree("lineage")
        for step in d["lineage"]["steps"]:
            tree.add(f"{step['stage']}: {step['where']}" + (f"  [{step['table']}]" if step.get("table") else ""))
        if d["lineage"]["inputs"]:
            _upstream(tree.add("inputs"), d["name"], d["lineage"]["edges"])
        console.print(tree)

    if d["row_rules"]:
        rules = Table(title="Row rules (a matching row is quarantined with this reason)")
        for c in ("reason", "criterion", "description"):
            rules.add_column(c)
        for r in d["row_rules"]:
            rules.add_row(r["reason"], r["criterion"], r["description"])
        console.print(rules)
    if d["checks"]:
        checks = Table(title="Gate checks (Great Expectations)")
        for c in ("check", "criterion", "severity", "description"):
            checks.add_column(c)
        for c in d["checks"]:
            checks.add_row(c["id"], c["criterion"], c["severity"], c["description"])
        console.print(checks)
    if d.get("scores_note"):
        console.print(f"scores: {d['scores_note']}")
    if d["history"]:
        hist = Table(title="Recent Delta history")
        for c in ("version", "committed (UTC)", "operation", "rows written", "predicate"):
            hist.add_column(c)
        for h in d["history"]:
            rows = DASH if h["rows_written"] is None else f"{h['rows_written']:,}"
            hist.add_row(str(h["version"]), h["timestamp"], h["operation"] or "", rows, h["predicate"] or "")
        console.print(hist)


def run_tables(args: argparse.Namespace) -> int:
    from jobs.catalog import list_tables

    settings, ministry = caller(args)
    entries = list_tables(settings, ministry)
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, default=str, indent=2))
    else:
        print_tables(entries)
    return 0


def run_describe(args: argparse.Namespace) -> int:
    from jobs.catalog import describe

    settings, ministry = caller(args)
    data = describe(args.table, settings, ministry)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, default=str, indent=2))
    else:
        print_describe(data)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tables", help="every queryable table: owner, classification, SLA, size, current scores")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_ministry_argument(p)
    p.set_defaults(run=run_tables)

    d = sub.add_parser("describe", help="one table's columns, meanings, key, source, lineage, rules and history")
    d.add_argument("table", metavar="TABLE", help="SQL name, e.g. gold.environment_aqi_daily")
    d.add_argument("--json", action="store_true", help="print JSON instead of tables")
    add_ministry_argument(d)
    d.set_defaults(run=run_describe)
