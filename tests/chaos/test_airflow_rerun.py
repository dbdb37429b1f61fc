"""Scenario 2: Airflow clears a finished interval and runs it again → every table's content unchanged.

The environment sector's silver DAG and its gold DAG run through real Airflow (``dag.test()``) for
the fixture day; then the same logical date runs again. ``dag.test()`` first clears the existing
task instances of that logical date with Airflow's own ``clear_dags`` (what ``airflow tasks clear``
does), then runs every task anew: landing, bronze, silver, gate, publish and every gold table.

What "unchanged" means is checked on every object of the lake bucket, found by listing it (not
from the registry): each landing object keeps its ETag (a rerun never overwrites what landed), and
every Delta table holds the same multiset of rows, apart from the columns that name *when* or *by
which run* a row was written (ingest time, run id, decision times, the staging version). Tables
that are a log of runs (checks, scores, accounting) may add the rerun's rows; their rows of the
first run must still be there, unchanged. Input records are counted from the fixture CSVs here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jobs.cli.dags import logical_date_for
from tests.chaos.scenario import ScenarioRow
from tests.dags.conftest import parse_for_this_lake
from tests.lakehouse_fixtures import FIXTURE_DAY, FIXTURES, copy_fixture_sources, lake_bucket

pytestmark = pytest.mark.integration

# Columns that say when, or in which run, a row was written: a rerun writes them anew.
RUN_COLUMNS = {
    "_ingested_at",
    "run_id",
    "staged_version",
    "held_at",
    "decided_at",
    "evaluated_at",
    "published_at",
    "computed_at",
    "created_at",
    "updated_at",
}


def _fixture_records() -> dict[str, int]:
    """Data lines of each fixture CSV (lines after the header: a malformed line with an open quote is
    one record of the source, so lines are counted, not what a CSV parser makes of them)."""
    return {
        str(path.relative_to(FIXTURES)): len(path.read_bytes().splitlines()) - 1
        for path in sorted((FIXTURES / "environment").rglob("*.csv"))
    }


def _lake_objects(bucket: str) -> dict[str, str]:
    from jobs.storage import s3_client

    objects: dict[str, str] = {}
    for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            objects[o["Key"]] = o["ETag"]
    return objects


def _delta_tables(objects: dict[str, str]) -> list[str]:
    return sorted({key.split("/_delta_log/")[0] for key in objects if "/_delta_log/" in key})


def _rows(table: str) -> list[str]:
    """The table's rows without run columns, each as canonical JSON, sorted (a multiset)."""
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    df = get_spark().read.format("delta").load(get_settings().s3a_uri(table))
    kept = [c for c in df.columns if c not in RUN_COLUMNS]
    return sorted(json.dumps(r.asDict(recursive=True), sort_keys=True, default=str) for r in df.select(*kept).collect())


def _snapshot(bucket: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    objects = _lake_objects(bucket)
    landing = {k: v for k, v in objects.items() if k.startswith("landing/")}
    return landing, {t: _rows(t) for t in _delta_tables(objects)}


def _states(run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_airflow_clear_and_rerun_of_a_finished_interval(tmp_path: Path, chaos_row: ScenarioRow) -> None:
    import pendulum

    records = _fixture_records()
    sources = copy_fixture_sources(tmp_path / "sources")
    with lake_bucket("rerun", sources, tmp_path / "gx") as bucket:
        dags = parse_for_this_lake()
        iot, gold = dags["environment_iot"], dags["environment_gold"]
        gold_date = pendulum.datetime(2026, 11, 27, 1, tz="UTC")

        first = iot.test(logical_date=logical_date_for(FIXTURE_DAY))
        assert first.state == "success", _states(first)
        assert gold.test(logical_date=gold_date).state == "success"
        landing_before, tables_before = _snapshot(bucket)
        assert len(landing_before) == len(records)  # one landed object per source file
        assert any("/silver/" in t or t.startswith("silver/") for t in tables_before)
        assert any("gold" in t for t in tables_before)

        # Airflow clears the finished interval's task instances and runs them all again.
        second = iot.test(logical_date=logical_date_for(FIXTURE_DAY))
        assert second.state == "success", _states(second)
        assert set(_states(second).values()) == {"success"}
        assert gold.test(logical_date=gold_date).state == "success"
        landing_after, tables_after = _snapshot(bucket)

        assert landing_after == landing_before, "a rerun rewrote or added landed objects"
        assert set(tables_after) == set(tables_before), "a rerun created or lost a table"
        changed: dict[str, str] = {}
        for table, before in tables_before.items():
            after = tables_after[table]
            if after == before:
                continue
            missing = _minus(before, after)
            if missing:
                changed[table] = f"{len(missing)} rows gone or changed, e.g. {missing[0][:300]}"
            elif not _is_run_log(table):
                changed[table] = f"{len(after) - len(before)} rows added, e.g. {_minus(after, before)[0][:300]}"
        assert not changed, json.dumps(changed, indent=1, ensure_ascii=False)

        silver = {t: len(rows) for t, rows in tables_after.items() if t.startswith("silver/")}
        books = [json.loads(r) for r in tables_after[_one(tables_after, "accounting")]]
        latest = {b["dataset"]: b for b in books}  # the rerun's rows repeat the first run's
        quarantined = sum(int(b["quarantined_rows"]) for b in latest.values())
        merged = sum(int(b["exact_duplicates"]) + int(b["superseded_duplicates"]) for b in latest.values())
        chaos_row.count(
            records_in=sum(records.values()),
            silver=sum(silver.values()),
            quarantined=quarantined,
            merged_duplicates=merged,
        )
        chaos_row.detail = f"{len(tables_before)} Delta tables and {len(landing_before)} landed objects unchanged"
        assert chaos_row.lost == 0 and chaos_row.duplicated == 0, chaos_row


def _minus(a: list[str], b: list[str]) -> list[str]:
    """Multiset difference a − b."""
    from collections import Counter

    return list((Counter(a) - Counter(b)).elements())


def _is_run_log(table: str) -> bool:
    """Tables that keep one entry per run (a rerun adds its own): checks, scores, accounting."""
    name = table.rsplit("/", 1)[-1]
    return any(word in name for word in ("checks", "scores", "accounting"))


def _one(tables: dict[str, Any], word: str) -> str:
    (match,) = [t for t in tables if t.rsplit("/", 1)[-1].endswith(word) or word in t.rsplit("/", 1)[-1]]
    return match
