"""``lakehouse query "SELECT …"``: read-only SQL over the catalog tables, as the caller.

DuckDB in-process by default (seconds, no JVM); ``--engine spark`` runs the same SQL on Spark for
what does not fit one machine. ``--as-of`` reads every table as of a Delta version or a time.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.cli.catalog import add_ministry_argument, caller
from jobs.errors import UserFacingError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "json", "parquet")


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def write_result(result: pa.Table, fmt: str, output: Path | None, limit: int) -> None:
    """Print or save the rows; table format shows at most ``limit`` rows."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        if output is None:
            raise UserFacingError("--format parquet needs --output FILE (Parquet is binary, not for a terminal).")
        pq.write_table(result, output)
    elif fmt == "csv":
        if output is None:
            pacsv.write_csv(result, sys.stdout.buffer)
            sys.stdout.flush()
        else:
            pacsv.write_csv(result, str(output))
    elif fmt == "json":
        text = json.dumps(result.to_pylist(), ensure_ascii=False, default=_json_value, indent=2)
        if output is None:
            print(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
    else:
        _print_table(result, limit, output)
        return
    if output is not None:
        print(f"wrote {result.num_rows:,} rows to {output}", file=sys.stderr)


def _print_table(result: pa.Table, limit: int, output: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    if output is not None:
        raise UserFacingError("--output needs --format csv, json or parquet.")
    shown = result.slice(0, limit)
    table = Table(*[f"{f.name}\n[dim]{f.type}[/dim]" for f in result.schema])
    for row in shown.to_pylist():
        table.add_row(*["NULL" if v is None else str(v) for v in row.values()])
    console = Console()
    console.print(table)
    more = f" (showing the first {limit}; --limit N or --format csv for all)" if result.num_rows > limit else ""
    console.print(f"{result.num_rows:,} rows{more}")


def run(args: argparse.Namespace) -> int:
    from jobs.query import run_query

    if args.format == "parquet" and args.output is None:
        raise UserFacingError("--format parquet needs --output FILE (Parquet is binary, not for a terminal).")
    settings, ministry = caller(args)
    result = run_query(args.sql, settings=settings, as_of=args.as_of, engine=args.engine, ministry=ministry)
    write_result(result, args.format, args.output, args.limit)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "query",
        help="run one read-only SELECT over the lakehouse tables (DuckDB, or Spark)",
        description='e.g. lakehouse query "SELECT province_code, avg(vn_aqi) FROM gold.environment_aqi_daily '
        'GROUP BY 1 ORDER BY 2 DESC LIMIT 10". Tables are named schema.table (see `lakehouse tables`).',
    )
    p.add_argument("sql", metavar="SQL", help="one SELECT statement")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--output", type=Path, default=None, metavar="FILE", help="write to FILE (required for parquet)")
    p.add_argument(
        "--as-of",
        default=None,
        metavar="VERSION|TIME",
        help="read every table as of a Delta version (e.g. 3) or an ISO time (e.g. 2026-11-26T12:00+07:00; "
        "no offset = UTC)",
    )
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb", help="duckdb (default) or spark")
    p.add_argument("--limit", type=int, default=50, help="rows shown in table format (default 50)")
    add_ministry_argument(p)
    p.set_defaults(run=run)
