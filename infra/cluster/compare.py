"""Compare two deployments' `lakehouse summary --json` of the same days (``make cluster-compare``).

usage: python infra/cluster/compare.py LOCAL_DIR CLUSTER_DIR  (one DAY.json per day in each)

Per day, the books of every dataset (landed, silver, quarantined by reason, duplicates) and the
quality scores must be equal; after the last day, every table's row count too (Delta versions may
differ: the scheduler commits in another order than `make run`). Prints each difference and exits 1
if there is one. Timestamps, batch ids and run ids are not compared: they name when and by whom.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BOOK_FIELDS = ("landed_rows", "silver_rows", "quarantined_rows", "exact_duplicates", "superseded_duplicates")


def books(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per dataset the counts of the day's batches, added up (a day may have more than one batch)."""
    out: dict[str, dict[str, Any]] = {}
    for b in summary["books"]:
        row = out.setdefault(b["dataset"], {f: 0 for f in BOOK_FIELDS} | {"reasons": {}})
        for f in BOOK_FIELDS:
            row[f] += b[f] or 0
        for reason, n in (b["quarantined_by_reason"] or {}).items():
            row["reasons"][reason] = row["reasons"].get(reason, 0) + n
    return out


def differences(local: dict[str, Any], cluster: dict[str, Any], *, tables: bool) -> list[str]:
    diffs: list[str] = []
    day = local["date"]
    lb, cb = books(local), books(cluster)
    for ds in sorted(lb.keys() | cb.keys()):
        if lb.get(ds) != cb.get(ds):
            diffs.append(f"{day} books {ds}: local {lb.get(ds)} ≠ cluster {cb.get(ds)}")
    for ds in sorted(local["scores"].keys() | cluster["scores"].keys()):
        if local["scores"].get(ds) != cluster["scores"].get(ds):
            diffs.append(f"{day} scores {ds}: local {local['scores'].get(ds)} ≠ cluster {cluster['scores'].get(ds)}")
    if tables:
        lt = {name: rows for name, rows, _version in local["tables"]}
        ct = {name: rows for name, rows, _version in cluster["tables"]}
        for name in sorted(lt.keys() | ct.keys()):
            if lt.get(name) != ct.get(name):
                diffs.append(f"after {day}: table {name}: local {lt.get(name)} rows ≠ cluster {ct.get(name)}")
    return diffs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    local_dir, cluster_dir = (Path(a) for a in argv)
    days = sorted(p.stem for p in cluster_dir.glob("*.json"))
    if not days:
        print(f"no summaries in {cluster_dir}: run `make cluster-run` first", file=sys.stderr)
        return 2
    diffs: list[str] = []
    compared = 0
    for i, day in enumerate(days):
        local_file = local_dir / f"{day}.json"
        if not local_file.exists():
            diffs.append(f"{day}: no local summary at {local_file}")
            continue
        local, cluster = json.loads(local_file.read_text()), json.loads((cluster_dir / f"{day}.json").read_text())
        diffs += differences(local, cluster, tables=i == len(days) - 1)
        compared += len(books(cluster))
    tables = len(json.loads((cluster_dir / f"{days[-1]}.json").read_text())["tables"])
    for d in diffs:
        print(d)
    print(
        f"{len(days)} days, {compared} dataset-days of books and scores, {tables} tables' row counts: "
        f"{'identical' if not diffs else f'{len(diffs)} differences'}"
    )
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
