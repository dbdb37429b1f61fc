"""``lakehouse summary``: what one day's run produced (tables, books, quarantine reasons, scores)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Layer
from jobs.settings import Settings, get_settings
from jobs.storage import delta_table_or_none


def _rows(table: Any, filter_expr: Any = None) -> list[dict[str, Any]]:
    dataset = table.to_pyarrow_dataset()
    return dataset.to_table(filter=filter_expr).to_pylist()  # type: ignore[no-any-return]


def table_counts(settings: Settings) -> list[tuple[str, int | None, int | None]]:
    """(qualified name, rows, Delta version) for every registered table, plus quarantine."""
    out = []
    for ds in REGISTRY:
        for key, name in [(ds.table_path, ds.qualified_name)] + (
            [(f"quarantine/{ds.sector}/{ds.name}", f"quarantine.{ds.sector}_{ds.name}")]
            if ds.layer == Layer.SILVER
            else []
        ):
            table = delta_table_or_none(settings, key)
            rows = table.to_pyarrow_dataset().count_rows() if table else None
            out.append((name, rows, table.version() if table else None))
    return out


def summary(day: date, settings: Settings | None = None) -> dict[str, Any]:
    """What a run of ``day`` produced: table counts, books per dataset, reasons, scores, Data Docs."""
    import pyarrow.compute as pc

    settings = settings or get_settings()
    interval = DataInterval.for_local_day(day)
    start = interval.start  # Delta TIMESTAMP columns are UTC instants
    result: dict[str, Any] = {"date": day.isoformat(), "tables": table_counts(settings), "books": [], "scores": {}}
    accounting = delta_table_or_none(settings, "quality/batch_accounting")
    if accounting is not None:
        for row in _rows(accounting, pc.field("data_interval_start") == start):
            row["quarantined_by_reason"] = json.loads(row["quarantined_by_reason"])
            result["books"].append(row)
    scores = delta_table_or_none(settings, "quality/scores")
    if scores is not None:
        for row in _rows(scores, pc.field("data_interval_start") == start):
            result["scores"].setdefault(row["dataset"], {})[row["criterion"]] = row["score"]
    docs = settings.gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    result["data_docs"] = str(docs) if docs.exists() else None
    return result


def print_summary(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 100))
    tables = Table(title=f"Lakehouse tables after the run of {data['date']}")
    for col in ("table", "rows", "Delta version"):
        tables.add_column(col, justify="right" if col != "table" else "left")
    for name, rows, version in data["tables"]:
        tables.add_row(name, "—" if rows is None else f"{rows:,}", "—" if version is None else str(version))
    console.print(tables)

    books = Table(title="Books per dataset: landed = silver + quarantined + duplicates removed")
    for col in ("dataset", "landed", "silver", "quarantined", "duplicates removed", "balanced"):
        books.add_column(col, justify="left" if col == "dataset" else "right")
    reasons = Table(title="Quarantined rows by reason")
    for col in ("dataset", "reason", "rows"):
        reasons.add_column(col, justify="right" if col == "rows" else "left")
    for b in sorted(data["books"], key=lambda r: r["dataset"]):
        dups = b["exact_duplicates"] + b["superseded_duplicates"]
        ok = b["landed_rows"] == b["silver_rows"] + b["quarantined_rows"] + dups
        books.add_row(
            b["dataset"],
            f"{b['landed_rows']:,}",
            f"{b['silver_rows']:,}",
            f"{b['quarantined_rows']:,}",
            f"{dups:,}",
            "yes" if ok else "NO",
        )
        for reason, rows in sorted(b["quarantined_by_reason"].items(), key=lambda kv: -kv[1]):
            reasons.add_row(b["dataset"], reason, f"{rows:,}")
    console.print(books)
    console.print(reasons)

    criteria = ["đúng", "đủ", "sạch", "sống"]
    scores = Table(title="Quality score per criterion (0–100)")
    scores.add_column("dataset")
    for c in criteria:
        scores.add_column(c, justify="right")
    for dataset, by_criterion in sorted(data["scores"].items()):
        scores.add_row(dataset, *[f"{by_criterion[c]:.1f}" if c in by_criterion else "—" for c in criteria])
    console.print(scores)
    console.print(f"Data Docs: {data['data_docs'] or 'not built yet'}")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("summary", help="tables, books, quarantine reasons and scores of one day's run")
    p.add_argument("--date", type=date.fromisoformat, required=True, help="the run's local day, YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data = summary(args.date)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, default=str, indent=2))
    else:
        print_summary(data)
    return 0
