"""``make bench``: the air readings' path, landing → silver → daily VN_AQI, four ways on the same input.

Why (issue 16): to know what the pipeline costs against what the rules need, in one run, on the same
seeded input, with one correctness check. Per size (``--sizes``, rows per day of the environment
generator, of which ≈ 80 % air readings) and repetition, each in a throw-away bucket of the real store:

* ``airflow``: the ``environment_iot`` and ``environment_gold`` DAGs through ``dag.test()``, as
  ``make run`` runs them; the wastewater tasks and the gold tables the air path does not need are
  marked successful instead of run (``mark_success_pattern``, a full match). Stage times are the task durations.
* ``jobs``: the same ``jobs.pipeline`` steps called directly (land, bronze, silver, gate, publish;
  gold ``aqi_hourly`` then ``aqi_daily``), each in its own Spark job group.
* ``lean``: ``bench.lean`` in a child process (polars + delta-rs, the same rules written again, no gate).
* ``floor``: pyarrow reads the readings file (child process).

Correctness: silver rows, quarantined rows by reason, ``aqi_daily`` rows and a checksum of each
table's key and value columns (``bench.measure.fingerprint``) must be equal for ``airflow``, ``jobs`` and
``lean``; differences are printed and the exit status is 1. Timings are medians of ``--reps``; the
fit t(n) = a + b·n and the log-log slope are over the sizes. Results: ``.state/bench/side_by_side.json``
and ``.png``; ``python -m bench.report`` prints the README's table from the JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.measure import TreeMemory, compare, fingerprint, fit_linear, median_stages

IMPLEMENTATIONS = ("airflow", "jobs", "lean", "floor")
CHECKED = ("airflow", "jobs", "lean")
SILVER_COLUMNS = (
    "station_id",
    "station_name",
    "province_code",
    "parameter",
    "value",
    "unit",
    "measured_at",
    "source_utc_offset",
    "measured_date",
    "device_status",
    "_source_line",
)
QUARANTINE_COLUMNS = ("_source_line", "reason_code")
GOLD_COLUMNS = (
    "station_id",
    "date",
    "province_code",
    "pm25_24h",
    "pm10_24h",
    "o3_1h_max",
    "o3_8h_max",
    "co_1h_max",
    "so2_1h_max",
    "no2_1h_max",
    "aqi_pm25",
    "aqi_pm10",
    "aqi_o3",
    "aqi_co",
    "aqi_so2",
    "aqi_no2",
    "vn_aqi",
    "dominant_parameter",
    "band",
    "colour",
    "pm25_hours",
    "pm10_hours",
)
# Task (or step) → stage of the air path; the station list is one stage, whatever its steps.
STAGE_OF_TASK = {
    "air_quality_reading.land": "land",
    "air_quality_reading.bronze": "bronze",
    "air_quality_reading.silver": "silver",
    "air_quality_reading.gate": "gate",
    "air_quality_reading.publish": "publish",
    "gold_aqi_hourly": "gold aqi_hourly",
    "gold_aqi_daily": "gold aqi_daily",
    "certified_events": "gold events",
}

log = logging.getLogger("bench")


def fingerprints(tables: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The correctness fingerprint of an implementation's silver, open quarantine and daily AQI tables."""
    import polars as pl
    from deltalake import DeltaTable

    from jobs.settings import get_settings

    options = get_settings().delta_rs_storage_options()

    def read(uri: str, columns: tuple[str, ...]) -> pl.DataFrame:
        return pl.from_arrow(DeltaTable(uri, storage_options=options).to_pyarrow_table(columns=list(columns)))  # type: ignore[return-value]

    return {
        "silver": fingerprint(read(tables["silver"], SILVER_COLUMNS), SILVER_COLUMNS),
        "quarantine": fingerprint(read(tables["quarantine"], QUARANTINE_COLUMNS), QUARANTINE_COLUMNS, "reason_code"),
        "gold": fingerprint(read(tables["gold"], GOLD_COLUMNS), GOLD_COLUMNS),
    }


def pipeline_tables() -> dict[str, str]:
    from jobs.registry import REGISTRY
    from jobs.settings import get_settings
    from jobs.tables import quarantine_key

    settings = get_settings()
    return {
        "silver": settings.s3_uri(REGISTRY["air_quality_reading"].table_path),
        "quarantine": settings.s3_uri(quarantine_key(REGISTRY["air_quality_reading"])),
        "gold": settings.s3_uri(REGISTRY["aqi_daily"].table_path),
    }


def run_jobs(day: date) -> dict[str, Any]:
    """The pipeline's steps called directly, as ``tests/bench.py`` does, for the air path only."""
    from jobs import pipeline
    from jobs.interval import DataInterval
    from jobs.spark import get_spark

    spark = get_spark()
    tracker = spark.sparkContext.statusTracker()
    start, end = DataInterval.for_local_day(day).as_strings()
    stages: dict[str, float] = {}
    jobs: dict[str, int] = {}
    tag = f"jobs-{time.monotonic_ns()}"

    def timed(stage: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        group = f"{tag}:{stage}"
        spark.sparkContext.setJobGroup(group, group)
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - t0
        jobs[stage] = jobs.get(stage, 0) + len(tracker.getJobIdsForGroup(group))
        return out

    rows, dates = 0, []
    for name in ("air_station", "air_quality_reading"):
        reference = name == "air_station"

        def stage(step: str, reference: bool = reference) -> str:
            return "station list" if reference else step

        landed = timed(stage("land"), pipeline.land_batch, name, start, end)
        bronze = timed(stage("bronze"), pipeline.load_bronze_batch, name, landed)
        refined = timed(stage("silver"), pipeline.refine_batch, name, bronze["batch_id"], start, end)
        audited = timed(stage("gate"), pipeline.gate_batch, name, refined, start, end, run_id="bench")
        timed(stage("publish"), pipeline.publish_batch, name, audited)
        if not reference:
            rows, dates = landed["data_rows"], refined["dates"]
    gold_rows = 0
    for name in ("aqi_hourly", "aqi_daily"):
        gold_rows = timed(f"gold {name}", pipeline.publish_gold, name, dates)["rows"]
    spark.sparkContext.setJobGroup("idle", "idle")
    return {"stages": stages, "spark_jobs": jobs, "landed_rows": rows, "gold_rows": gold_rows}


def run_airflow(day: date) -> dict[str, Any]:
    """The two environment DAGs through ``dag.test()``; tasks off the air path are marked successful."""
    import pendulum

    from jobs.cli.dags import logical_date_for
    from jobs.spark import get_spark
    from tests.dags.conftest import parse_for_this_lake

    spark = get_spark()
    group = f"airflow-{time.monotonic_ns()}"
    spark.sparkContext.setJobGroup(group, group)
    dags = parse_for_this_lake()
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    iot = dags["environment_iot"].test(logical_date=logical_date_for(day), mark_success_pattern=r"wastewater_.*")
    after = day + timedelta(days=1)
    gold = dags["environment_gold"].test(
        logical_date=pendulum.datetime(after.year, after.month, after.day, 1, tz="UTC"),
        mark_success_pattern=r"gold_(exceedance|aqi_province_daily|alert)|notify_alerts",
    )
    wall = time.perf_counter() - t0
    for run in (iot, gold):
        if run.state != "success":
            raise RuntimeError(f"{run.dag_id}: {run.state}: {[(t.task_id, t.state) for t in run.get_task_instances()]}")
        for ti in run.get_task_instances():
            if ti.task_id.startswith("wastewater_") or ti.duration is None:
                continue
            name = "station list" if ti.task_id.startswith("air_station.") else STAGE_OF_TASK.get(ti.task_id)
            if name is not None:
                stages[name] = stages.get(name, 0.0) + float(ti.duration)
    stages["Airflow outside tasks"] = max(0.0, wall - sum(stages.values()))
    jobs = len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))
    spark.sparkContext.setJobGroup("idle", "idle")
    return {"stages": stages, "spark_jobs": {"all tasks": jobs}}


def run_child(args: list[str]) -> dict[str, Any]:
    """``bench.lean`` in a child process, its process tree's peak memory sampled."""
    proc = subprocess.Popen(  # nosec B603  # our own module, arguments from this runner
        [sys.executable, "-m", "bench.lean", *args], stdout=subprocess.PIPE, env=os.environ.copy()
    )
    with TreeMemory(proc.pid) as memory:
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.lean {' '.join(args)} failed with exit status {proc.returncode}")
    result: dict[str, Any] = json.loads(out)
    result["peak_rss_bytes"] = memory.peak
    return result


def one_round(impl: str, sources: Path, work: Path, day: date, label: str) -> dict[str, Any]:
    """One implementation once, in a fresh bucket; its timings, memory and fingerprints."""
    from tests.lakehouse_fixtures import lake_bucket

    if impl == "floor":
        result = run_child(["--sources", str(sources), "--date", day.isoformat(), "--floor"])
        result["total"] = sum(result["stages"].values())
        return result
    with lake_bucket(f"bench-{impl}-{label}", sources, work / f"gx-{impl}-{label}"):
        t0 = time.perf_counter()
        if impl == "lean":
            result = run_child(["--sources", str(sources), "--date", day.isoformat()])
            tables = result.pop("tables")
        else:
            with TreeMemory() as memory:
                result = run_jobs(day) if impl == "jobs" else run_airflow(day)
            result["peak_rss_bytes"] = memory.peak
            tables = pipeline_tables()
        result["total"] = time.perf_counter() - t0
        result["fingerprints"] = fingerprints(tables)
    return result


def summarize(runs: dict[str, dict[str, list[dict[str, Any]]]], sizes: list[int]) -> dict[str, Any]:
    """Medians per implementation and size, and the fit of the median totals over the sizes."""
    out: dict[str, Any] = {"median": {}, "fit": {}}
    for impl, by_size in runs.items():
        out["median"][impl] = {}
        for n in sizes:
            reps = by_size.get(str(n), [])
            if not reps:
                continue
            stages = median_stages([r["stages"] for r in reps])
            total = median_stages([{"total": r["total"]} for r in reps])["total"]
            air_rows = reps[0].get("fingerprints", {}).get("silver", {}).get("rows")
            landed = reps[0].get("landed_rows") or air_rows
            out["median"][impl][str(n)] = {
                "stages": stages,
                "total": total,
                "rows_per_s": (landed / total) if landed and total else None,
                "landed_rows": landed,
                "peak_rss_bytes": max(r.get("peak_rss_bytes", 0) for r in reps),
                "spark_jobs": median_stages([r["spark_jobs"] for r in reps]) if "spark_jobs" in reps[0] else {},
            }
        measured = [n for n in sizes if str(n) in out["median"][impl]]
        if measured:
            fit = fit_linear(measured, [out["median"][impl][str(n)]["total"] for n in measured])
            out["fit"][impl] = {"a_seconds": fit.a, "b_us_per_row": fit.us_per_row, "loglog_slope": fit.slope}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1e5 rows only (overrides --sizes)")
    parser.add_argument("--only", nargs="+", choices=IMPLEMENTATIONS, default=list(IMPLEMENTATIONS))
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26))
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("LAKEHOUSE_STATE_DIR", ".state")) / "bench")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else sorted(args.sizes)
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    for noisy in ("py4j", "airflow", "great_expectations", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from bench.report import chart, render_markdown
    from sample_sources.environment.generate import generate

    result: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "date": args.date.isoformat(),
        "sizes": sizes,
        "reps": args.reps,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "runs": {impl: {} for impl in args.only},
        "correctness": {},
    }
    if {"airflow", "jobs"} & set(args.only):
        from jobs.spark import get_spark

        with TreeMemory() as memory:
            t0 = time.perf_counter()
            get_spark()
            result["spark_start_seconds"] = time.perf_counter() - t0
        result["spark_start_peak_rss_bytes"] = memory.peak
        log.info("Spark session started in %.1f s", result["spark_start_seconds"])
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for n in sizes:
            work = Path(tmp) / str(n)
            sources = work / "sources"
            t0 = time.perf_counter()
            generate(sources, args.date, 1, n, seed=42, progress=False)
            log.info("size %s: generated in %.1f s", f"{n:,}", time.perf_counter() - t0)
            for rep in range(args.reps):
                fps: dict[str, Any] = {}
                for impl in args.only:
                    out = one_round(impl, sources, work, args.date, f"{n}-{rep}")
                    log.info("size %s rep %d %s: %.1f s %s", f"{n:,}", rep + 1, impl, out["total"], out["stages"])
                    if "fingerprints" in out:
                        fps[impl] = out["fingerprints"]
                    result["runs"][impl].setdefault(str(n), []).append(out)
                differences = compare({k: fps[k] for k in CHECKED if k in fps})
                result["correctness"].setdefault(str(n), []).append({"fingerprints": fps, "differences": differences})
                for d in differences:
                    log.error("size %s rep %d: MISMATCH %s", f"{n:,}", rep + 1, d)
                problems += differences
            result.update(summarize(result["runs"], sizes))
            result["identical"] = not problems
            result["load_after"] = os.getloadavg()
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "side_by_side.json").write_text(json.dumps(result, indent=1, default=str))
    chart(result, args.out / "side_by_side.png")
    print(render_markdown(result))
    print(f"results: {args.out / 'side_by_side.json'}, chart: {args.out / 'side_by_side.png'}")
    if problems:
        print(f"{len(problems)} differences between implementations (see above): the results are not identical")
        sys.exit(1)
    checked = ", ".join(impl for impl in CHECKED if impl in args.only)
    print(f"correctness check: silver, quarantine by reason and aqi_daily identical across {checked}")


if __name__ == "__main__":
    main()
