"""Benchmark: typical ministry queries on the lake, DuckDB (in-process) against Spark.

Run with ``make bench-query`` (or ``python -m tests.bench_query``) after ``make run`` or on a lake
that has gold tables. Each query runs ``--reps`` times per engine after one warm-up run; p50 and
p95 are of the warm runs, through :func:`jobs.query.run_query` (delta-rs snapshot + engine) in one
process, which keeps its DuckDB connections and open tables between queries as a notebook or a
service would; a ``lakehouse query`` command starts a new process each time and pays Python's start
and imports on top. Spark's one-off session start is reported on its own.
Prints a table and writes ``.state/bench/query.json``; timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from jobs.settings import Settings, get_settings


def queries(settings: Settings) -> dict[str, str]:
    """Three gold questions ministries ask daily, plus one silver scan, on the latest day present."""
    from jobs.query import run_query

    probe = run_query(
        "SELECT max(date) AS day, min(station_id) AS station FROM gold.environment_aqi_daily", settings=settings
    ).to_pylist()[0]
    if probe["day"] is None:
        raise SystemExit("gold.environment_aqi_daily is empty: run `make run` first.")
    day, station = probe["day"].isoformat(), probe["station"]
    return {
        "top-10 provinces by mean VN_AQI (one day)": (
            "SELECT province_code, round(avg(vn_aqi), 1) AS mean_aqi, max(vn_aqi) AS worst, count(*) AS stations "
            f"FROM gold.environment_aqi_daily WHERE date = DATE '{day}' "
            "GROUP BY province_code ORDER BY mean_aqi DESC, province_code LIMIT 10"
        ),
        "exceedances per parameter × province": (
            "SELECT parameter, province_code, count(*) AS exceedances, max(exceedance_ratio) AS worst_ratio "
            "FROM gold.environment_exceedance GROUP BY parameter, province_code ORDER BY exceedances DESC"
        ),
        "one station's VN_AQI over days": (
            "SELECT date, vn_aqi, band, dominant_parameter FROM gold.environment_aqi_daily "
            f"WHERE station_id = '{station}' ORDER BY date"
        ),
        "silver: one station's hourly PM2.5 (scan)": (
            "SELECT measured_at, value FROM silver.environment_air_quality_reading "
            f"WHERE station_id = '{station}' AND parameter = 'PM2.5' ORDER BY measured_at"
        ),
    }


def _time(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _pcts(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[18] if len(ordered) > 1 else ordered[0]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p95_ms": round(p95 * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=20, help="warm repetitions per query and engine (default 20)")
    parser.add_argument("--spark-reps", type=int, default=None, help="repetitions for Spark (default: --reps)")
    parser.add_argument("--no-spark", action="store_true", help="DuckDB only")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from jobs.catalog import require_delta, resolve, row_count
    from jobs.query import run_query

    settings = get_settings()
    sizes = {}
    for name in ("gold.environment_aqi_daily", "gold.environment_exceedance", "silver.environment_air_quality_reading"):
        sizes[name] = row_count(require_delta(resolve(name), settings))
    sql_by_name = queries(settings)
    engines = ["duckdb"] if args.no_spark else ["duckdb", "spark"]
    results: list[dict[str, Any]] = []
    spark_start = None
    for engine in engines:
        reps = args.reps if engine == "duckdb" else (args.spark_reps or args.reps)
        if engine == "spark":
            from jobs.spark import get_spark

            spark_start, _ = _time(lambda: get_spark("lakehouse-query", settings=settings))
        for label, sql in sql_by_name.items():
            first, table = _time(lambda sql=sql, engine=engine: run_query(sql, settings=settings, engine=engine))
            samples = [
                _time(lambda sql=sql, engine=engine: run_query(sql, settings=settings, engine=engine))[0]
                for _ in range(reps)
            ]
            results.append(
                {"query": label, "engine": engine, "reps": reps, "rows_returned": table.num_rows,
                 "first_ms": round(first * 1000, 1), **_pcts(samples), "sql": sql}
            )  # fmt: skip

    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bucket": settings.bucket,
        "cpu_count": os.cpu_count(),
        "table_rows": sizes,
        "spark_session_start_s": round(spark_start, 1) if spark_start is not None else None,
        "results": results,
    }
    out = settings.state_dir / "bench" / "query.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    console = Console(width=max(Console().width, 120))
    table = Table(
        title=f"Query latency on bucket {settings.bucket} ({', '.join(f'{k}: {v:,}' for k, v in sizes.items())} rows)"
    )
    for col in ("query", "engine", "rows", "first (ms)", "p50 (ms)", "p95 (ms)"):
        table.add_column(col, justify="left" if col in ("query", "engine") else "right")
    for r in results:
        table.add_row(r["query"], r["engine"], str(r["rows_returned"]), f"{r['first_ms']:,.1f}",
                      f"{r['p50_ms']:,.1f}", f"{r['p95_ms']:,.1f}")  # fmt: skip
    console.print(table)
    if spark_start is not None:
        console.print(f"Spark session start (once per process): {spark_start:.1f} s")
    console.print(f"written to {out}")


if __name__ == "__main__":
    main()
