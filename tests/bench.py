"""Benchmark: the environment slice on a generated sample of ``--rows`` readings per day.

Run with ``make bench`` (``BENCH_ROWS=…`` to change the size). Works in a throw-away bucket and
prints wall time per step and rows per second, the Spark jobs each step ran, and the gate's cost:
its time against the pipeline's time without it (issue 4 asks for at most +25 % at 1,000,000 rows).
``--no-gate`` runs the pipeline without the gate step (staged batches are published unaudited), to
check the other steps take as long without it. Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import logging
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
    logging.basicConfig(format="%(message)s")
    logging.getLogger("expectations.gate").setLevel(logging.INFO)  # the gate's own time split

    from rich.console import Console
    from rich.table import Table

    from sample_sources.environment.generate import generate

    timings: list[tuple[str, float, int]] = []
    jobs: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        generate(root / "sources", args.date, 1, args.rows, seed=42, progress=False)
        timings.append(("generate sample", time.perf_counter() - t0, args.rows))
        with lake_bucket("bench", root / "sources", root / "gx"):
            from jobs import pipeline
            from jobs.spark import get_spark

            t0 = time.perf_counter()
            spark = get_spark()
            timings.append(("Spark session start", time.perf_counter() - t0, 0))
            tracker = spark.sparkContext.statusTracker()

            def step(name: str) -> str:
                spark.sparkContext.setJobGroup(name, name)
                return name

            def jobs_of(name: str) -> None:
                jobs[name] = len(tracker.getJobIdsForGroup(name))

            start, end = DataInterval.for_local_day(args.date).as_strings()
            dates: set[str] = set()
            for ds in REGISTRY.by_sector("environment", Layer.SILVER):
                t0 = time.perf_counter()
                landed = pipeline.land_batch(ds.name, start, end)
                timings.append((f"{ds.name}: land", time.perf_counter() - t0, landed["data_rows"]))
                name = step(f"{ds.name}: bronze")
                t0 = time.perf_counter()
                bronze = pipeline.load_bronze_batch(ds.name, landed)
                timings.append((name, time.perf_counter() - t0, landed["data_rows"]))
                jobs_of(name)
                name = step(f"{ds.name}: silver")
                t0 = time.perf_counter()
                refined = pipeline.refine_batch(ds.name, bronze["batch_id"], start, end)
                timings.append((name, time.perf_counter() - t0, landed["data_rows"]))
                jobs_of(name)
                dates |= set(refined["dates"])
                audited = {**refined, "data_interval_start": start, "data_interval_end": end}
                if not args.no_gate:
                    name = step(f"{ds.name}: gate")
                    t0 = time.perf_counter()
                    audited = pipeline.gate_batch(ds.name, refined, start, end, run_id="bench")
                    timings.append((name, time.perf_counter() - t0, landed["data_rows"]))
                    jobs_of(name)
                name = step(f"{ds.name}: publish")  # write → audit → publish: silver is written here
                t0 = time.perf_counter()
                pipeline.publish_batch(ds.name, audited)
                timings.append((name, time.perf_counter() - t0, landed["data_rows"]))
                jobs_of(name)
            for ds in REGISTRY.by_sector("environment", Layer.GOLD):
                name = step(f"{ds.name}: gold")
                t0 = time.perf_counter()
                out = pipeline.publish_gold(ds.name, sorted(dates))
                timings.append((name, time.perf_counter() - t0, out["rows"]))
                jobs_of(name)

    table = Table(title=f"environment slice, {args.rows:,} reading rows per day")
    for col in ("step", "seconds", "rows", "rows/s", "Spark jobs"):
        table.add_column(col, justify="left" if col == "step" else "right")
    for label, secs, rows in timings:
        table.add_row(
            label,
            f"{secs:.1f}",
            f"{rows:,}",
            f"{rows / secs:,.0f}" if rows and secs else "—",
            str(jobs[label]) if label in jobs else "—",
        )
    total = sum(s for _, s, _ in timings)
    table.add_row("total", f"{total:.1f}", "", "", "")
    console = Console()
    console.print(table)
    gate = sum(s for label, s, _ in timings if label.endswith(": gate"))
    pipeline_only = sum(s for label, s, _ in timings if label not in ("generate sample", "Spark session start")) - gate
    if args.no_gate:
        console.print(f"pipeline without the gate: {pipeline_only:.1f} s (gate not run)")
    else:
        console.print(
            f"pipeline without the gate: {pipeline_only:.1f} s; gate: {gate:.1f} s "
            f"({sum(n for label, n in jobs.items() if label.endswith(': gate'))} Spark jobs); "
            f"with the gate: {pipeline_only + gate:.1f} s; the gate adds {100 * gate / pipeline_only:.0f} %"
        )


if __name__ == "__main__":
    main()
