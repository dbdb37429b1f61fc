"""Wait for the cluster's DAG runs and say where their time went (``make cluster-run``).

``wait DAY...`` polls Airflow's metadata database (the cluster's PostgreSQL, through Airflow's own
models) until every silver DAG has a finished run for each Vietnamese day, and the asset-triggered
gold DAGs have nothing queued or running and no asset event waiting; then it prints per DAG the
runs, their states and the time split: the scheduler's latency (a task's scheduled → queued →
started) and the task time itself. It exits 1 if a run failed (naming the failed tasks) or the
wait timed out. Run under ``infra/cluster/cluster.sh`` (which sets the cluster's Airflow config).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TERMINAL = {"success", "failed"}


def day_start(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), VN)


def state_name(value: Any) -> str:
    """An Airflow state or run type (an enum, or None) as its plain name."""
    return str(getattr(value, "value", value))


def _day(start: datetime | None) -> str | None:
    return start.astimezone(VN).date().isoformat() if start else None


def snapshot(silver: list[str], gold: list[str], days: list[str]) -> dict[str, Any]:
    """Runs of every DAG (the silver ones for the given days), task timings and queued asset events."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    starts = {day_start(d) for d in days}
    out: dict[str, Any] = {"runs": defaultdict(list), "tasks": defaultdict(list)}
    with create_session() as session:
        for run in session.scalars(select(DagRun).where(DagRun.dag_id.in_(silver + gold))):
            if run.dag_id in silver and (run.data_interval_start is None or run.data_interval_start not in starts):
                continue
            out["runs"][run.dag_id].append(
                {
                    "run_id": run.run_id,
                    "run_type": state_name(run.run_type),
                    "state": state_name(run.state),
                    "day": _day(run.data_interval_start) if run.dag_id in silver else None,
                    "queued_at": run.queued_at,
                    "start": run.start_date,
                    "end": run.end_date,
                }
            )
        run_ids = {(d, r["run_id"]) for d, rs in out["runs"].items() for r in rs}
        for ti in session.scalars(select(TaskInstance).where(TaskInstance.dag_id.in_(silver + gold))):
            if (ti.dag_id, ti.run_id) in run_ids:
                out["tasks"][ti.dag_id].append(
                    {
                        "task": ti.task_id,
                        "run_id": ti.run_id,
                        "state": state_name(ti.state),
                        "try": ti.try_number,
                        "scheduled": ti.scheduled_dttm,
                        "queued": ti.queued_dttm,
                        "start": ti.start_date,
                        "end": ti.end_date,
                    }
                )
        out["asset_queue"] = session.scalar(
            select(func.count()).select_from(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id.in_(gold))
        )
    return out


def _seconds(a: datetime | None, b: datetime | None) -> float:
    return (b - a).total_seconds() if a and b else 0.0


def _waited(task: dict[str, Any]) -> float:
    """Seconds from the scheduler making a task runnable to the task running (pool slot, executor slot,
    the scheduler's own loop: all of it)."""
    return _seconds(task["scheduled"] or task["queued"], task["start"])


def settled(snap: dict[str, Any], silver: list[str], gold: list[str], days: list[str]) -> bool:
    for dag in silver:
        runs = {r["day"]: r["state"] for r in snap["runs"].get(dag, [])}
        if any(runs.get(d) not in TERMINAL for d in days):
            return False
    if snap["asset_queue"]:
        return False
    return not any(r["state"] not in TERMINAL for dag in gold for r in snap["runs"].get(dag, []))


def report(snap: dict[str, Any], dags: list[str], wall: float) -> dict[str, Any]:
    """Per DAG: runs by state, task seconds, seconds waited (scheduled → started), retries."""
    rows: dict[str, dict[str, Any]] = {}
    for dag in dags:
        tasks = snap["tasks"].get(dag, [])
        runs = snap["runs"].get(dag, [])
        rows[dag] = {
            "runs": len(runs),
            "states": dict(sorted(_count(r["state"] for r in runs).items())),
            "task_seconds": round(sum(_seconds(t["start"], t["end"]) for t in tasks), 1),
            "waited_seconds": round(sum(_waited(t) for t in tasks), 1),
            "tasks": len(tasks),
            "retried": sum(1 for t in tasks if (t["try"] or 0) > 1),
        }
    total_task = sum(r["task_seconds"] for r in rows.values())
    total_waited = sum(r["waited_seconds"] for r in rows.values())
    print(f"{'DAG':<22}{'runs':>5}  {'states':<28}{'tasks':>6}{'task s':>9}{'waited s':>10}{'retried':>9}")
    for dag, r in rows.items():
        states = ", ".join(f"{k} {v}" for k, v in r["states"].items())
        print(
            f"{dag:<22}{r['runs']:>5}  {states:<28}{r['tasks']:>6}{r['task_seconds']:>9.1f}"
            f"{r['waited_seconds']:>10.1f}{r['retried']:>9}"
        )
    print(
        f"wall {wall:.0f} s; task time {total_task:.0f} s in all (tasks overlap); waited {total_waited:.0f} s in all "
        "(scheduled → running: for a pool slot, an executor slot or the scheduler)"
    )
    return {"wall_seconds": round(wall, 1), "dags": rows}


def _states(snap: dict[str, Any], dag: str) -> str:
    return ",".join(f"{s} {n}" for s, n in sorted(_count(r["state"] for r in snap["runs"].get(dag, [])).items()))


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for v in values:
        out[v] += 1
    return out


def failed_tasks(snap: dict[str, Any]) -> list[str]:
    return sorted(
        f"{dag}.{t['task']} ({t['run_id']})" for dag, ts in snap["tasks"].items() for t in ts if t["state"] == "failed"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("days", nargs="+", help="the Vietnamese days (YYYY-MM-DD) the silver DAGs run for")
    parser.add_argument("--silver", required=True, help="comma-separated silver DAG ids")
    parser.add_argument("--gold", default="", help="comma-separated asset-triggered DAG ids")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--started", type=float, default=None, help="epoch seconds the run began (for the wall time)")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)
    silver, gold = args.silver.split(","), [g for g in args.gold.split(",") if g]
    began = args.started or time.time()
    deadline = time.monotonic() + args.timeout
    last = ""
    while True:
        snap = snapshot(silver, gold, args.days)
        done = settled(snap, silver, gold, args.days)
        line = "; ".join(f"{dag} {_states(snap, dag)}" for dag in silver + gold)
        if line != last:
            print(f"[{timedelta(seconds=int(time.time() - began))}] {line}", flush=True)
            last = line
        if done:
            break
        if time.monotonic() > deadline:
            print(f"the runs did not finish within {args.timeout:.0f} s", file=sys.stderr)
            report(snap, silver + gold, time.time() - began)
            return 1
        time.sleep(10)
    summary = report(snap, silver + gold, time.time() - began)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=2, default=str)
    failed = failed_tasks(snap) + [
        f"{dag} run {r['run_id']}" for dag in silver + gold for r in snap["runs"].get(dag, []) if r["state"] == "failed"
    ]
    if failed:
        print("failed: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
