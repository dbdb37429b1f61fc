"""``lakehouse report``: write the data steward's quality report (one offline HTML page)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="the data steward's report: scores, trends, worst and silent stations, quarantine, releases (HTML)",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="where to write the page (default .state/reports/steward-report.html)"
    )
    p.add_argument("--runs", type=int, default=None, help="how many past runs the trend charts show (default 14)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from expectations.docs_offline import VendoredAssetsMissingError, make_offline
    from expectations.report import DEFAULT_RUNS, build_report, docs_site
    from jobs.errors import UserFacingError
    from jobs.settings import get_settings

    runs = DEFAULT_RUNS if args.runs is None else args.runs
    if runs < 1:
        raise UserFacingError("--runs must be at least 1 (how many past runs the trend charts show).")
    settings = get_settings()
    site = docs_site(settings)
    if (site / "index.html").is_file():  # the report links into the Data Docs: make them open offline too
        try:
            make_offline(site)
        except VendoredAssetsMissingError as err:
            print(f"warning: {err}", file=sys.stderr)
    print(build_report(settings, args.out, runs))
    return 0
