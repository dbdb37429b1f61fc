"""Benchmark: the environment slice on a generated sample of ``--rows`` readings per day.

Run with ``make bench`` (``BENCH_ROWS=…`` to change the size). Works in a throw-away bucket and
prints wall time per step and rows per second; timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Layer
from tests.lakehouse_fixtures import lake_bucket


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26))
    parser.add_argument("--no-gate", action="store_true", help="skip the quality gate (to measure its cost)")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from sample_sources.environment.generate import generate

    timings: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        generate(root / "sources", args.date, 1, args.rows, seed=42, progress=False)
        timings.append(("generate sample", time.perf_counter() - t0, args.rows))
        with lake_bucket("bench", root / "sources", root / "gx"):
            from jobs import pipeline
            from jobs.spark import get_spark

            t0 = time.perf_counter()
            get_spark()
            timings.append(("Spark session start", time.perf_counter() - t0, 0))
            start, end = DataInterval.for_local_day(args.date).as_strings()
            dates: set[str] = set()
            for ds in REGISTRY.by_sector("environment", Layer.SILVER):
                t0 = time.perf_counter()
                landed = pipeline.land_batch(ds.name, start, end)
                timings.append((f"{ds.name}: land", time.perf_counter() - t0, landed["data_rows"]))
                t0 = time.perf_counter()
                bronze = pipeline.load_bronze_batch(ds.name, landed)
                timings.append((f"{ds.name}: bronze", time.perf_counter() - t0, landed["data_rows"]))
                t0 = time.perf_counter()
                refined = pipeline.refine_batch(ds.name, bronze["batch_id"], start, end)
                timings.append((f"{ds.name}: silver", time.perf_counter() - t0, landed["data_rows"]))
                dates |= set(refined["dates"])
                if not args.no_gate:
                    t0 = time.perf_counter()
                    pipeline.gate_batch(ds.name, refined, start, end, run_id="bench")
                    timings.append((f"{ds.name}: gate", time.perf_counter() - t0, landed["data_rows"]))
            for ds in REGISTRY.by_sector("environment", Layer.GOLD):
                t0 = time.perf_counter()
                out = pipeline.publish_gold(ds.name, sorted(dates))
                timings.append((f"{ds.name}: gold", time.perf_counter() - t0, out["rows"]))

    table = Table(title=f"environment slice, {args.rows:,} reading rows per day")
    for col in ("step", "seconds", "rows", "rows/s"):
        table.add_column(col, justify="left" if col == "step" else "right")
    for step, secs, rows in timings:
        table.add_row(step, f"{secs:.1f}", f"{rows:,}", f"{rows / secs:,.0f}" if rows and secs else "—")
    total = sum(s for _, s, _ in timings)
    table.add_row("total", f"{total:.1f}", "", "")
    Console().print(table)


if __name__ == "__main__":
    main()
