"""Quality scores on the committed fixture: each criterion is below 100 exactly where the generator
says it injected mess that criterion judges, per-entity scores name the silent station, a backfill
is judged against its own interval, and a rerun replaces its rows.

Which criteria the mess touches is derived from the generator's report, not from the gate: a
quarantine reason counts for the criterion its registry row rule names; delivered exact duplicates
count for sạch; a station that fell silent counts for đủ (hours missing) and sống (silence).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from expectations import frames
from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Criterion, Layer
from sample_sources.environment.generate import SILENT_FROM_HOUR
from tests.lakehouse_fixtures import (
    FIXTURE_DAY,
    copy_fixture_sources,
    expected_for,
    fixture_report,
    lake_bucket,
    make_all_negative,
)

SILVER = [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
BACKFILL_DAY = date(2026, 11, 20)
BACKFILL = DataInterval.for_local_day(BACKFILL_DAY)
ALL = {c.value for c in Criterion}


def touched(dataset: str) -> set[str]:
    """Criteria the fixture's injected mess touches for a dataset, from the generator's report."""
    entry = expected_for(dataset)
    rule_criterion = {r.reason: r.criterion.value for r in REGISTRY[dataset].row_rules}
    out = {rule_criterion[reason] for reason, n in entry["expected_quarantine"].items() if n}
    if entry["expected_duplicates_removed"]:
        out.add(Criterion.CLEAN.value)
    if dataset == "air_quality_reading" and fixture_report()["silent_stations"]:
        out |= {Criterion.COMPLETE.value, Criterion.LIVE.value}
    return out


def judged(dataset: str) -> set[str]:
    """Criteria a dataset has checks for (reference lists have no liveness)."""
    from expectations.suites import gate_checks

    return {c.criterion.value for c in gate_checks(REGISTRY[dataset])}


def _read(key: str) -> list[Any]:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    return get_spark().read.format("delta").load(get_settings().s3a_uri(key)).collect()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from jobs.pipeline import run_dataset

    root = tmp_path_factory.mktemp("scores")
    sources = copy_fixture_sources(root / "sources")
    make_all_negative(sources, BACKFILL_DAY)  # also moves the wastewater fixture, unchanged, to that day
    with lake_bucket("scores", sources, root / "gx"):
        start, end = INTERVAL.as_strings()
        first = {name: run_dataset(name, start, end, run_id="first") for name in SILVER}
        entity_rows_first = len(_read("quality/entity_scores"))
        rerun = run_dataset("air_quality_reading", start, end, run_id="second")
        b_start, b_end = BACKFILL.as_strings()
        backfill = run_dataset("wastewater_reading", b_start, b_end, run_id="backfill")
        yield {
            "first": first,
            "rerun": rerun,
            "backfill": backfill,
            "entity_rows_first": entity_rows_first,
            "entity_scores": _read("quality/entity_scores"),
            "scores": _read("quality/scores"),
            "checks": _read("quality/checks"),
        }


@pytest.mark.parametrize("dataset", SILVER)
def test_each_criterion_is_below_100_exactly_where_the_mess_touches_it(lake: dict[str, Any], dataset: str) -> None:
    scores = lake["first"][dataset]["scores"]
    assert set(scores) == judged(dataset)
    below = {c for c, s in scores.items() if s < 100}
    assert below == touched(dataset) & judged(dataset), scores
    assert all(scores[c] == 100.0 for c in judged(dataset) - touched(dataset))


def test_expected_touches_are_not_trivial() -> None:
    """Guard the derivation itself: the fixture exercises every criterion somewhere."""
    assert touched("air_quality_reading") == ALL
    assert touched("wastewater_reading") == {Criterion.CORRECT.value, Criterion.CLEAN.value}
    assert touched("air_station") == set() and touched("wastewater_facility") == set()


def test_every_failing_row_check_shows_offending_values(lake: dict[str, Any]) -> None:
    """GX is asked for no unexpected values (one Spark job per check); the gate fetches up to five
    for failing checks only, so every failing row check still shows some and passing ones none."""
    rows = [r for r in lake["checks"] if r["batch_id"] == lake["first"][r["dataset"]]["batch_id"]]
    failing = [r for r in rows if not r["success"] and (r["unexpected_count"] or 0) > 0]
    assert "air_quality_reading" in {r["dataset"] for r in failing}
    for r in failing:
        assert 0 < len(json.loads(r["sample"])) <= 5, (r["dataset"], r["check_id"], r["sample"])
    assert all(json.loads(r["sample"]) == [] for r in rows if r["success"])


def test_silent_station_is_named_with_its_last_reading(lake: dict[str, Any]) -> None:
    (silent_id,) = fixture_report()["silent_stations"]
    rows = [
        r
        for r in lake["entity_scores"]
        if r["dataset"] == "air_quality_reading" and r["data_interval_start"] == INTERVAL.start.replace(tzinfo=None)
    ]
    live = {r["entity_id"]: r for r in rows if r["criterion"] == Criterion.LIVE.value and r["entity_type"] == "station"}
    n_stations = expected_for("air_station")["expected_silver_rows"]
    assert len(live) == n_stations
    # Silent from SILENT_FROM_HOUR local time: last reading the hour before, in UTC (UTC+7).
    last_local = datetime.combine(FIXTURE_DAY, datetime.min.time()) + timedelta(hours=SILENT_FROM_HOUR - 1)
    assert live[silent_id]["silent"] is True
    assert live[silent_id]["last_seen"] == last_local - timedelta(hours=7)
    assert live[silent_id]["score"] == 0.0
    assert all(r["silent"] is False and r["score"] == 100.0 for e, r in live.items() if e != silent_id)
    complete = {r["entity_id"]: r for r in rows if r["criterion"] == Criterion.COMPLETE.value}
    hours = 24
    assert (complete[silent_id]["rows_evaluated"], complete[silent_id]["rows_failing"]) == (
        hours,
        hours - SILENT_FROM_HOUR,
    )
    assert complete[silent_id]["score"] == 100.0 * SILENT_FROM_HOUR / hours
    assert lake["first"]["air_quality_reading"]["scores"][Criterion.COMPLETE.value] < 100


def test_entity_scores_add_up_to_the_batch(lake: dict[str, Any]) -> None:
    """Per-station đúng failures sum to the rows quarantined for đúng reasons (those with a station)."""
    rows = [
        r
        for r in lake["entity_scores"]
        if r["dataset"] == "wastewater_reading"
        and r["data_interval_start"] == INTERVAL.start.replace(tzinfo=None)
        and r["criterion"] == Criterion.CORRECT.value
    ]
    facilities = [r for r in rows if r["entity_type"] == "facility"]
    provinces = [r for r in rows if r["entity_type"] == "province"]
    entry = expected_for("wastewater_reading")
    quarantined = sum(entry["expected_quarantine"].values())
    # Every quarantined line counts once: under its facility, or under the group of lines naming none.
    failing = sum(r["rows_failing"] for r in facilities)
    assert failing == quarantined
    by_id = {r["entity_id"]: r["rows_failing"] for r in facilities}
    assert by_id[frames.MALFORMED_ENTITY] == entry["expected_quarantine"]["MALFORMED_LINE"]
    assert by_id[frames.UNKNOWN_ENTITY] == entry["expected_quarantine"]["UNKNOWN_STATION"]
    # Provinces add up the facilities of the reference list (an unknown facility has no province).
    import csv

    from tests.lakehouse_fixtures import FIXTURES

    with (FIXTURES / "environment" / "reference" / "wastewater_facilities.csv").open(encoding="utf-8") as fh:
        listed = {row["facility_id"] for row in csv.DictReader(fh)}
    known = [r for r in facilities if r["entity_id"] in listed]
    assert {r["entity_id"] for r in facilities} == {r["entity_id"] for r in known} | set(frames.GROUPED_ENTITIES)
    assert sum(r["rows_failing"] for r in provinces) == sum(r["rows_failing"] for r in known)
    assert {r["entity_type"] for r in lake["entity_scores"]} <= {"province", "station", "facility"}


def test_backfill_is_judged_against_its_own_interval(lake: dict[str, Any]) -> None:
    """Run six days after the fact, the backfill is fresh for its interval: no sống penalty."""
    assert lake["backfill"]["scores"][Criterion.LIVE.value] == 100.0
    live = [
        r
        for r in lake["entity_scores"]
        if r["dataset"] == "wastewater_reading"
        and r["data_interval_start"] == BACKFILL.start.replace(tzinfo=None)
        and r["criterion"] == Criterion.LIVE.value
        and r["entity_type"] == "facility"
    ]
    assert live and all(r["silent"] is False for r in live)
    assert all(r["last_seen"] < BACKFILL.end.replace(tzinfo=None) for r in live)


def test_rerun_replaces_entity_scores(lake: dict[str, Any]) -> None:
    rows = lake["entity_scores"]
    air_now = [r for r in rows if r["dataset"] == "air_quality_reading"]
    assert {r["run_id"] for r in air_now} == {"second"}
    keys = [(r["dataset"], r["criterion"], r["entity_type"], r["entity_id"], r["batch_id"]) for r in rows]
    assert len(keys) == len(set(keys))
    backfill_rows = [r for r in rows if r["run_id"] == "backfill"]
    assert len(rows) == lake["entity_rows_first"] + len(backfill_rows)
    columns = [
        "dataset",
        "criterion",
        "entity_type",
        "entity_id",
        "data_interval_start",
        "data_interval_end",
        "batch_id",
        "rows_evaluated",
        "rows_failing",
        "score",
        "last_seen",
        "silent",
        "ruleset_version",
        "run_id",
    ]
    assert list(rows[0].asDict()) == columns


def test_entity_scores_schema_is_the_contract(lake: dict[str, Any]) -> None:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    schema = get_spark().read.format("delta").load(get_settings().s3a_uri("quality/entity_scores")).schema
    assert [(f.name, f.dataType.simpleString()) for f in schema.fields] == [
        ("dataset", "string"),
        ("criterion", "string"),
        ("entity_type", "string"),
        ("entity_id", "string"),
        ("data_interval_start", "timestamp"),
        ("data_interval_end", "timestamp"),
        ("batch_id", "string"),
        ("rows_evaluated", "bigint"),
        ("rows_failing", "bigint"),
        ("score", "double"),
        ("last_seen", "timestamp"),
        ("silent", "boolean"),
        ("ruleset_version", "string"),
        ("run_id", "string"),
    ]


def test_source_count_is_checked_against_the_manifest(lake: dict[str, Any]) -> None:
    checks = [
        r
        for r in _read("quality/checks")
        if r["check_id"] == "landed_matches_source_count"
        and r["data_interval_start"] == INTERVAL.start.replace(tzinfo=None)
    ]
    assert {r["dataset"] for r in checks} == set(SILVER)
    assert all(r["success"] for r in checks)
    by_dataset = {r["dataset"]: r["observed"] for r in checks}
    assert by_dataset == {name: str(expected_for(name)["data_rows"]) for name in SILVER}


def test_manifests_sit_next_to_every_fixture_file() -> None:
    import json

    from tests.lakehouse_fixtures import FIXTURES

    for relative, entry in fixture_report()["files"].items():
        manifest = FIXTURES / (relative + ".manifest.json")
        assert json.loads(Path(manifest).read_text()) == {"rows": entry["data_rows"]}
