"""Benchmark: rows per second per source, end to end, from the last ``make run`` of a day.

Run ``make run ROWS=1000000 RUN_DATE=…`` first, then ``make bench-sources RUN_DATE=…``. Reads the
task durations Airflow recorded for that day's DAG runs (extract + land, bronze, silver, gate, publish per
dataset; gold per table) and the books the gate wrote (landed rows), and prints per source:
seconds per step, rows per second end to end, and the gate's share. Writes the figures to
``.state/bench/sources-<day>.json``. Durations come from ``DAG.test()`` (``lakehouse dags test``), which runs one
task at a time, so steps do not overlap and their sum is the DAG's work.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jobs.extract import channel_of
from jobs.registry import REGISTRY, Layer
from jobs.settings import get_settings

STEPS = ("land", "bronze", "silver", "gate", "publish")


def task_durations(day: date) -> dict[str, dict[str, float]]:
    """{dag_id: {task_id: seconds}} of the newest successful run of each DAG for ``day``."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    logical = datetime.combine(day + timedelta(days=1), time(), ZoneInfo("Asia/Ho_Chi_Minh"))
    out: dict[str, dict[str, float]] = {}
    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.logical_date == logical).order_by(DagRun.start_date).all()
        for run in runs:  # newest last: a rerun replaces an earlier run's figures
            tis = session.query(TaskInstance).filter(
                TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id
            )
            out[run.dag_id] = {ti.task_id: float(ti.duration or 0.0) for ti in tis}
    return out


def landed_rows(day: date) -> dict[str, int]:
    from jobs.cli.summary import summary

    return {b["dataset"]: int(b["landed_rows"]) for b in summary(day)["books"]}


def per_source(durations: dict[str, dict[str, float]], landed: dict[str, int]) -> list[dict[str, Any]]:
    """One row per silver dataset: its channel, landed rows, seconds per step, rows/s with and without the gate."""
    settings = get_settings()
    by_task: dict[str, float] = {}
    for tasks in durations.values():
        by_task.update(tasks)
    rows = []
    for ds in (d for d in REGISTRY if d.layer == Layer.SILVER):
        steps = {s: by_task.get(f"{ds.name}.{s}") for s in STEPS}
        if any(v is None for v in steps.values()) or ds.name not in landed:
            continue
        seconds = {s: float(v or 0.0) for s, v in steps.items()}
        total = sum(seconds.values())
        n = landed[ds.name]
        rows.append(
            {
                "dataset": ds.qualified_name,
                "channel": channel_of(ds, settings).value,
                "landed_rows": n,
                **{f"{s}_s": round(seconds[s], 1) for s in STEPS},
                "total_s": round(total, 1),
                "rows_per_s": round(n / total) if total else None,
                "rows_per_s_without_gate": round(n / (total - seconds["gate"])) if total > seconds["gate"] else None,
            }
        )
    return rows


def gold_steps(durations: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    out = []
    for ds in (d for d in REGISTRY if d.layer == Layer.GOLD):
        for tasks in durations.values():
            if f"gold_{ds.name}" in tasks:
                out.append({"dataset": ds.qualified_name, "seconds": round(tasks[f"gold_{ds.name}"], 1)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="the make run's RUN_DATE")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    durations = task_durations(args.date)
    if not durations:
        raise SystemExit(f"No DAG run for {args.date} in Airflow's database: `make run RUN_DATE={args.date}` first.")
    sources = per_source(durations, landed_rows(args.date))
    gold = gold_steps(durations)
    all_tasks = sum(sum(t.values()) for t in durations.values())
    gate = sum(r["gate_s"] for r in sources)
    totals = {
        "dag_task_seconds": round(all_tasks, 1),
        "gate_seconds": round(gate, 1),
        "without_gate_seconds": round(all_tasks - gate, 1),
        "gate_adds_percent": round(100 * gate / (all_tasks - gate), 1) if all_tasks > gate else None,
    }

    table = Table(title=f"Rows per second per source, end to end, run of {args.date} (Airflow task durations)")
    for col in ("dataset", "channel", "landed", *(f"{s} s" for s in STEPS), "total s", "rows/s", "rows/s w/o gate"):
        table.add_column(col, justify="left" if col in ("dataset", "channel") else "right")
    for r in sources:
        table.add_row(
            r["dataset"],
            r["channel"],
            f"{r['landed_rows']:,}",
            *(f"{r[f'{s}_s']:.1f}" for s in STEPS),
            f"{r['total_s']:.1f}",
            f"{r['rows_per_s']:,}" if r["rows_per_s"] else "—",
            f"{r['rows_per_s_without_gate']:,}" if r["rows_per_s_without_gate"] else "—",
        )
    console = Console(width=160)
    console.print(table)
    for g in gold:
        console.print(f"gold {g['dataset']}: {g['seconds']:.1f} s")
    console.print(
        f"all DAG tasks: {totals['dag_task_seconds']:.0f} s; gates {totals['gate_seconds']:.0f} s; "
        f"without the gates {totals['without_gate_seconds']:.0f} s; the gate adds {totals['gate_adds_percent']} %"
    )
    out = get_settings().state_dir / "bench" / f"sources-{args.date}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": str(args.date), "sources": sources, "gold": gold, "totals": totals}, indent=2))
    console.print(f"figures written to {out}")


if __name__ == "__main__":
    main()
