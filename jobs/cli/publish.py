"""``lakehouse publish``: PUBLIC gold tables to the open-data bucket (CSV, Parquet, DCAT-AP JSON-LD)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "publish",
        help="publish PUBLIC gold tables as open data: CSV + Parquet + DCAT-AP metadata (JSON-LD)",
    )
    p.add_argument(
        "--dataset",
        action="append",
        default=None,
        metavar="NAME",
        help="a PUBLIC gold dataset to publish (repeatable; default: all of them)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from jobs.opendata import base_url, publish
    from jobs.settings import get_settings

    settings = get_settings()
    for item in publish(args.dataset, settings):
        print(f"{item.dataset}: {item.rows} rows -> " + ", ".join(f"{fmt} {item.sizes[fmt]} B" for fmt in item.keys))
    print(f"catalog: {base_url(settings)}/catalog.jsonld")
    return 0
