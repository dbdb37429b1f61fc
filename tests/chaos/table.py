"""Print the chaos table from ``test-output/chaos.jsonl`` (``make chaos`` calls this last)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.chaos.scenario import RESULTS, read_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--markdown", action="store_true", help="a Markdown table (for the README)")
    args = parser.parse_args(argv)
    rows = sorted(read_rows(args.results), key=lambda r: r.scenario)
    if not rows:
        print(f"no chaos results in {args.results}: run `make chaos`", file=sys.stderr)
        return 1
    headers = [
        "scenario",
        "records in",
        "silver",
        "quarantined",
        "merged dup.",
        "lost",
        "duplicated",
        "outcome",
        "seconds",
    ]
    cells = [
        [
            r.scenario,
            f"{r.records_in:,}",
            f"{r.silver:,}",
            f"{r.quarantined:,}",
            f"{r.merged_duplicates:,}",
            str(r.lost),
            str(r.duplicated),
            r.outcome + (f" — {r.detail}" if r.detail else ""),
            f"{r.seconds:.1f}",
        ]
        for r in rows
    ]
    if args.markdown:
        print("| " + " | ".join(headers) + " |")
        print("|" + "---|" * len(headers))
        for c in cells:
            print("| " + " | ".join(c) + " |")
    else:
        table = Table(title=f"Chaos scenarios ({rows[0].scale})")
        for h in headers:
            table.add_column(h, justify="left" if h in ("scenario", "outcome") else "right")
        for c in cells:
            table.add_row(*c)
        Console().print(table)
    bad = [r for r in rows if r.lost or r.duplicated or r.outcome != "passed"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
