"""The cluster topology's pieces that need no cluster (infra/cluster, issue 15).

The comparison of two deployments' summaries must notice every count that differs and nothing
else; the run watcher must not call a run finished while a day, a gold run or an asset event is
still open; the cluster's configuration must only set names that something actually reads.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from tests.infra_scripts import load_infra_script

REPO = Path(__file__).resolve().parents[3]
compare = load_infra_script("cluster/compare")
runs = load_infra_script("cluster/runs")


def _summary(day: str) -> dict[str, Any]:
    """A hand-made `lakehouse summary --json` of two datasets, one with two batches that day."""
    book = {"exact_duplicates": 0, "superseded_duplicates": 0, "batch_id": "b1", "run_id": "manual__1"}
    return {
        "date": day,
        "tables": [["silver.environment_air_quality", 900, 3], ["quarantine.environment_air_quality", 40, 3]],
        "books": [
            {**book, "dataset": "air_quality", "landed_rows": 600, "silver_rows": 570, "quarantined_rows": 20,
             "exact_duplicates": 10, "quarantined_by_reason": {"value_out_of_range": 20}},
            {**book, "dataset": "air_quality", "landed_rows": 400, "silver_rows": 380, "quarantined_rows": 20,
             "quarantined_by_reason": {"value_out_of_range": 5, "unknown_station": 15}, "batch_id": "b2"},
            {**book, "dataset": "province", "landed_rows": 34, "silver_rows": 34, "quarantined_rows": 0,
             "quarantined_by_reason": {}},
        ],
        "scores": {"air_quality": {"correct": 0.96, "complete": 1.0}},
        "data_docs": None,
    }  # fmt: skip


def test_books_add_up_a_days_batches() -> None:
    air = compare.books(_summary("2026-12-03"))["air_quality"]
    assert (air["landed_rows"], air["silver_rows"], air["quarantined_rows"], air["exact_duplicates"]) == (
        1000,
        950,
        40,
        10,
    )
    assert air["reasons"] == {"value_out_of_range": 25, "unknown_station": 15}


def test_equal_summaries_differ_in_nothing_but_names_and_versions() -> None:
    local, cluster = _summary("2026-12-03"), _summary("2026-12-03")
    for b in cluster["books"]:  # other runs, other batch ids, other Delta versions: not differences
        b["run_id"], b["batch_id"] = "backfill__x", b["batch_id"] + "-cluster"
    cluster["tables"] = [[name, rows, version + 7] for name, rows, version in cluster["tables"]]
    assert compare.differences(local, cluster, tables=True) == []


def test_each_count_that_differs_is_reported() -> None:
    local = _summary("2026-12-03")
    fewer_silver = copy.deepcopy(local)
    fewer_silver["books"][2]["silver_rows"] = 33
    other_reason = copy.deepcopy(local)
    other_reason["books"][1]["quarantined_by_reason"] = {"value_out_of_range": 6, "unknown_station": 14}
    other_score = copy.deepcopy(local)
    other_score["scores"]["air_quality"]["correct"] = 0.95
    other_table = copy.deepcopy(local)
    other_table["tables"][1][1] = 41
    missing_dataset = copy.deepcopy(local)
    del missing_dataset["books"][2]

    assert [d.split(":")[0] for d in compare.differences(local, fewer_silver, tables=True)] == [
        "2026-12-03 books province"
    ]
    assert len(compare.differences(local, other_reason, tables=True)) == 1
    assert compare.differences(local, other_score, tables=True)[0].startswith("2026-12-03 scores air_quality")
    assert compare.differences(local, other_table, tables=True) == [
        "after 2026-12-03: table quarantine.environment_air_quality: local 40 rows ≠ cluster 41"
    ]
    assert compare.differences(local, other_table, tables=False) == []  # totals only after the last day
    assert "cluster None" in compare.differences(local, missing_dataset, tables=False)[0]


def test_main_compares_every_day_and_fails_on_a_difference(tmp_path: Path, capsys: Any) -> None:
    import json

    local_dir, cluster_dir = tmp_path / "local", tmp_path / "cluster"
    local_dir.mkdir()
    cluster_dir.mkdir()
    for day in ("2026-12-03", "2026-12-04"):
        (local_dir / f"{day}.json").write_text(json.dumps(_summary(day)))
        (cluster_dir / f"{day}.json").write_text(json.dumps(_summary(day)))
    assert compare.main([str(local_dir), str(cluster_dir)]) == 0
    assert "2 days, 4 dataset-days of books and scores, 2 tables' row counts: identical" in capsys.readouterr().out
    changed = _summary("2026-12-04")
    changed["tables"][0][1] = 899
    (cluster_dir / "2026-12-04.json").write_text(json.dumps(changed))
    assert compare.main([str(local_dir), str(cluster_dir)]) == 1
    (local_dir / "2026-12-03.json").unlink()
    assert compare.main([str(local_dir), str(cluster_dir)]) == 1
    assert "2026-12-03: no local summary" in capsys.readouterr().out


def _snap(silver_states: dict[str, dict[str, str]], gold_states: list[str], queued_events: int) -> dict[str, Any]:
    return {
        "runs": {
            **{dag: [{"day": d, "state": s} for d, s in days.items()] for dag, days in silver_states.items()},
            "environment_gold": [{"day": None, "state": s} for s in gold_states],
        },
        "asset_queue": queued_events,
    }


def test_a_run_is_settled_only_when_every_day_gold_run_and_event_is_done() -> None:
    days = ["2026-12-03", "2026-12-04"]
    silver, gold = ["reference", "environment_iot"], ["environment_gold"]
    finished = {"reference": dict.fromkeys(days, "success"), "environment_iot": {days[0]: "success", days[1]: "failed"}}
    assert runs.settled(_snap(finished, ["success", "failed"], 0), silver, gold, days)
    one_day_missing = {**finished, "environment_iot": {days[0]: "success"}}
    assert not runs.settled(_snap(one_day_missing, ["success"], 0), silver, gold, days)
    still_running = {**finished, "reference": {days[0]: "success", days[1]: "running"}}
    assert not runs.settled(_snap(still_running, ["success"], 0), silver, gold, days)
    assert not runs.settled(_snap(finished, ["success", "queued"], 0), silver, gold, days)
    assert not runs.settled(_snap(finished, ["success"], 1), silver, gold, days)  # an asset event not yet run


def test_waiting_is_from_scheduled_or_queued_to_start() -> None:
    t = datetime(2026, 12, 6, 1, 0, 0)
    task = {"scheduled": t, "queued": t.replace(second=3), "start": t.replace(second=5), "end": t.replace(second=45)}
    assert runs._waited(task) == 5.0
    assert runs._waited({**task, "scheduled": None}) == 2.0
    assert runs._waited({**task, "start": None}) == 0.0  # never started: no latency counted


def test_cluster_configuration_sets_only_names_something_reads() -> None:
    """A misspelt name in cluster.env would be ignored silently and the cluster would run on laptop defaults."""
    env_text = (REPO / "infra" / "cluster" / "cluster.env").read_text()
    exported = set(re.findall(r"\b((?:LAKEHOUSE|SPARK|AIRFLOW)_[A-Z0-9_]+)=", env_text))
    assert {"LAKEHOUSE_S3_ENDPOINT", "LAKEHOUSE_SPARK_MASTER", "AIRFLOW__CORE__EXECUTOR"} <= exported
    readers = (REPO / "jobs" / "settings.py").read_text() + "".join(
        p.read_text() for p in (REPO / "infra").rglob("*.sh")
    )
    airflow_options = yaml.safe_load(
        (Path(importlib.util.find_spec("airflow").origin).parent / "config_templates" / "config.yml").read_text()  # type: ignore[arg-type, union-attr]
    )
    unread = []
    for name in sorted(exported):
        if name.startswith("AIRFLOW__"):
            section, option = name.removeprefix("AIRFLOW__").lower().split("__", 1)
            if option not in airflow_options.get(section, {}).get("options", {}):
                unread.append(name)
        elif name.startswith("SPARK_"):
            continue  # Spark's own launcher variables (SPARK_CONF_DIR, SPARK_LOCAL_IP)
        elif name not in readers:
            unread.append(name)
    assert not unread, f"set in cluster.env but read by nothing: {unread}"
