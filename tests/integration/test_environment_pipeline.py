"""The environment slice end to end on the real store, Spark and Delta, from the committed fixture.

Runs land → bronze → silver → gate → gold for the fixture day, then again (rerun), and checks
the books against the generator's own account of the mess it injected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Layer
from tests.lakehouse_fixtures import (
    FIXTURE_DAY,
    assert_same_books_staged_anew,
    copy_fixture_sources,
    expected_for,
    lake_bucket,
    run_sector,
)

SILVER = [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]
GOLD = [d.name for d in REGISTRY.by_sector("environment", Layer.GOLD)]
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)


def run_all(run_id: str) -> dict[str, Any]:
    return run_sector("environment", INTERVAL, run_id)


def spark_count(key: str) -> int:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    return int(get_spark().read.format("delta").load(get_settings().s3a_uri(key)).count())


def table_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row (sorted) of every silver, quarantine and gold table: the fixture is small."""
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    spark, settings = get_spark(), get_settings()
    keys = [d.table_path for d in REGISTRY if d.sector == "environment"]
    keys += [f"quarantine/environment/{n}" for n in SILVER]
    snap = {}
    for key in keys:
        df = spark.read.format("delta").load(settings.s3a_uri(key))
        snap[key] = sorted((tuple(r) for r in df.collect()), key=repr)
    return snap


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("env")
    sources = copy_fixture_sources(root / "sources")
    with lake_bucket("env", sources, root / "gx") as bucket:
        first = run_all("first")
        snapshot = table_snapshot()
        from jobs.storage import list_keys

        landing_after_first = sorted(list_keys("landing/"))
        second = run_all("second")
        yield {
            "bucket": bucket,
            "first": first,
            "second": second,
            "snapshot": snapshot,
            "snapshot_after_rerun": table_snapshot(),
            "landing_first": landing_after_first,
            "landing_second": sorted(list_keys("landing/")),
            "root": root,
        }


@pytest.mark.parametrize("dataset", SILVER)
def test_books_balance_and_match_the_injected_mess(lake: dict[str, Any], dataset: str) -> None:
    refined = lake["first"][dataset]["refined"]
    expected = expected_for(dataset)
    assert refined["landed_rows"] == expected["data_rows"]
    assert refined["quarantined_by_reason"] == expected["expected_quarantine"]
    assert refined["exact_duplicates"] + refined["superseded_duplicates"] == expected["expected_duplicates_removed"]
    assert refined["silver_rows"] == expected["expected_silver_rows"]
    assert refined["landed_rows"] == (
        refined["silver_rows"]
        + refined["quarantined_rows"]
        + refined["exact_duplicates"]
        + refined["superseded_duplicates"]
    )


@pytest.mark.parametrize("dataset", SILVER)
def test_tables_hold_what_the_books_say(lake: dict[str, Any], dataset: str) -> None:
    ds = REGISTRY[dataset]
    refined = lake["first"][dataset]["refined"]
    assert spark_count(ds.table_path) == refined["silver_rows"]
    assert spark_count(f"quarantine/environment/{dataset}") == refined["quarantined_rows"]
    assert spark_count(f"bronze/environment/{dataset}") == refined["landed_rows"]


def test_rerun_changes_nothing_and_lands_nothing_twice(lake: dict[str, Any]) -> None:
    assert lake["landing_second"] == lake["landing_first"]
    assert len(lake["landing_first"]) == len(SILVER)
    for key, rows in lake["snapshot"].items():
        assert lake["snapshot_after_rerun"][key] == rows, key
    for name in SILVER:
        assert_same_books_staged_anew(lake["first"][name]["refined"], lake["second"][name]["refined"])
    for name in GOLD:
        assert lake["second"][name]["rows"] == lake["first"][name]["rows"] > 0


def test_delta_rs_reads_the_same_counts_as_spark(lake: dict[str, Any]) -> None:
    from deltalake import DeltaTable

    from jobs.settings import get_settings

    settings = get_settings()
    for ds in REGISTRY.by_sector("environment"):
        table = DeltaTable(settings.s3_uri(ds.table_path), storage_options=settings.delta_rs_storage_options())
        assert table.to_pyarrow_table().num_rows == spark_count(ds.table_path), ds.name


def test_silver_is_conformed(lake: dict[str, Any]) -> None:
    """NFC names with legacy encodings repaired, 2025 province codes, canonical units only."""
    import unicodedata

    from jobs.provinces import PROVINCES_2025
    from jobs.settings import get_settings
    from jobs.spark import get_spark
    from jobs.text import looks_legacy_encoded

    rows = (
        get_spark()
        .read.format("delta")
        .load(get_settings().s3a_uri(REGISTRY["air_quality_reading"].table_path))
        .collect()
    )
    stations = (
        get_spark().read.format("delta").load(get_settings().s3a_uri(REGISTRY["air_station"].table_path)).collect()
    )
    official = {s["station_id"]: s["station_name"] for s in stations}
    for r in rows:
        assert r["province_code"] in PROVINCES_2025
        assert unicodedata.is_normalized("NFC", r["station_name"])
        assert not looks_legacy_encoded(r["station_name"])
        assert r["station_name"] == official[r["station_id"]]  # every spelling repaired to the reference name
        assert r["unit"] == "µg/Nm³"
        assert r["value"] >= 0


# Decision 1459/QĐ-TCMT, Bảng 2, typed again here (not imported) so the recomputation below shares
# no code with jobs/environment/aqi.py: index levels, then each column's breakpoints in µg/m³.
_LEVELS = (0, 50, 100, 150, 200, 300, 400, 500)
_BP = {
    "O3": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "O3_8h": (0, 100, 120, 170, 210, 400),
    "CO": (0, 10000, 30000, 45000, 60000, 90000, 120000, 150000),
    "SO2": (0, 125, 350, 550, 800, 1600, 2100, 2630),
    "NO2": (0, 100, 200, 700, 1200, 2350, 3100, 3850),
    "PM10": (0, 50, 150, 250, 350, 420, 500, 600),
    "PM2.5": (0, 25, 50, 80, 150, 250, 350, 500),
}


def _index(column: str, c: float | None) -> float | None:
    if c is None:
        return None
    bp = _BP[column]
    if column == "O3_8h" and c > 400:
        return None
    for k in range(len(bp) - 1):
        if bp[k] <= c <= bp[k + 1]:
            return (_LEVELS[k + 1] - _LEVELS[k]) / (bp[k + 1] - bp[k]) * (c - bp[k]) + _LEVELS[k]
    return 500.0


def _nowcast(c: list[float | None]) -> float | None:  # c[0] = this hour
    if sum(v is not None for v in c[:3]) < 2:
        return None
    have = [(i, v) for i, v in enumerate(c[:12]) if v is not None]
    hi, lo = max(v for _, v in have), min(v for _, v in have)
    if hi == 0:
        return 0.0
    if lo / hi <= 0.5:
        return sum(0.5 ** (i + 1) * v for i, v in have)
    return sum((lo / hi) ** i * v for i, v in have) / sum((lo / hi) ** i for i, _ in have)


def _aqi(subs: dict[str, float | None]) -> int | None:
    if subs.get("PM2.5") is None and subs.get("PM10") is None:
        return None
    return int(max(v for v in subs.values() if v is not None) + 0.5)


def test_gold_aqi_matches_an_independent_computation(lake: dict[str, Any]) -> None:
    """Recompute every station-hour and station-day VN_AQI in plain Python from silver, with the
    Decision's table typed above (no project code), and compare with the two gold tables."""
    from collections import defaultdict
    from datetime import timedelta

    from jobs.settings import get_settings
    from jobs.spark import get_spark

    spark, settings = get_spark(), get_settings()
    readings = spark.read.format("delta").load(settings.s3a_uri(REGISTRY["air_quality_reading"].table_path)).collect()
    sums: dict[tuple[str, str, Any], list[float]] = defaultdict(list)
    for r in readings:
        if r["parameter"] in _BP:
            sums[(r["station_id"], r["parameter"], r["measured_at"].replace(minute=0, second=0, microsecond=0))].append(
                r["value"]
            )
    hour_mean = {k: sum(v) / len(v) for k, v in sums.items()}
    midnight = datetime(FIXTURE_DAY.year, FIXTURE_DAY.month, FIXTURE_DAY.day) - timedelta(hours=7)
    hours = [midnight + timedelta(hours=h) for h in range(24)]
    stations = {s for s, _, _ in hour_mean}

    def series(station: str, parameter: str, end: Any, n: int) -> list[float | None]:
        return [hour_mean.get((station, parameter, end - timedelta(hours=i))) for i in range(n)]

    expected_hourly, expected_daily = {}, {}
    for st in stations:
        for t in hours:
            subs = {p: _index(p, _nowcast(series(st, p, t, 12))) for p in ("PM2.5", "PM10")}
            subs |= {p: _index(p, hour_mean.get((st, p, t))) for p in ("O3", "CO", "SO2", "NO2")}
            expected_hourly[(st, t)] = _aqi(subs)
        day = {p: [v for v in (hour_mean.get((st, p, t)) for t in hours) if v is not None] for p in _BP}
        eights = [[v for v in series(st, "O3", t, 8) if v is not None] for t in hours]
        o3_8h = max((sum(e) / len(e) for e in eights if len(e) >= 6), default=None)
        subs = {p: _index(p, sum(day[p]) / len(day[p]) if len(day[p]) >= 18 else None) for p in ("PM2.5", "PM10")}
        subs |= {p: _index(p, max(day[p], default=None)) for p in ("CO", "SO2", "NO2")}
        o3 = [v for v in (_index("O3", max(day["O3"], default=None)), _index("O3_8h", o3_8h)) if v is not None]
        subs["O3"] = max(o3, default=None)
        expected_daily[st] = _aqi(subs)

    hourly = spark.read.format("delta").load(settings.s3a_uri(REGISTRY["aqi_hourly"].table_path)).collect()
    got_hourly = {(g["station_id"], g["hour_start"]): g["vn_aqi"] for g in hourly if g["date"] == FIXTURE_DAY}
    assert got_hourly == expected_hourly
    assert sum(v is not None for v in expected_hourly.values()) > len(stations) * 12  # most hours have an index
    daily = spark.read.format("delta").load(settings.s3a_uri(REGISTRY["aqi_daily"].table_path)).collect()
    assert {g["station_id"]: g["vn_aqi"] for g in daily if g["date"] == FIXTURE_DAY} == expected_daily
    assert None in expected_daily.values()  # the station silent from noon has too few PM hours for a day
    assert all(g["no_index_reason"] for g in daily if g["vn_aqi"] is None)


def test_scores_name_what_the_mess_touched(lake: dict[str, Any]) -> None:
    air = lake["first"]["air_quality_reading"]
    assert set(air["scores"]) == {"đúng", "đủ", "sạch", "sống"}
    assert air["scores"]["đúng"] < 100  # negatives, impossible values, unknown station…
    assert air["scores"]["sạch"] < 100  # duplicates delivered
    assert air["scores"]["sống"] < 100  # one station fell silent at noon
    assert "entities_heard_within_sla" in air["failed_checks"]
    assert lake["first"]["air_station"]["scores"] == {"đúng": 100.0, "đủ": 100.0, "sạch": 100.0}


def test_quality_tables_record_each_batch_once(lake: dict[str, Any]) -> None:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    spark, settings = get_spark(), get_settings()
    acc = spark.read.format("delta").load(settings.s3a_uri("quality/batch_accounting")).collect()
    assert sorted(a["dataset"] for a in acc) == sorted(SILVER)  # rerun replaced, not appended
    air = next(a for a in acc if a["dataset"] == "air_quality_reading")
    assert json.loads(air["quarantined_by_reason"]) == expected_for("air_quality_reading")["expected_quarantine"]
    scores = spark.read.format("delta").load(settings.s3a_uri("quality/scores")).collect()
    assert len({(s["dataset"], s["criterion"]) for s in scores}) == len(scores)
    assert {s["run_id"] for s in scores} == {"second"}


def test_silent_station_is_named(lake: dict[str, Any]) -> None:
    from jobs.settings import get_settings
    from jobs.spark import get_spark
    from tests.lakehouse_fixtures import fixture_report

    checks = (
        get_spark()
        .read.format("delta")
        .load(get_settings().s3a_uri("quality/checks"))
        .where("dataset = 'air_quality_reading' AND check_id = 'entities_heard_within_sla'")
        .collect()
    )
    assert len(checks) == 1 and not checks[0]["success"]
    assert json.loads(checks[0]["sample"]) == fixture_report()["silent_stations"]


def test_source_missing_for_an_interval_says_what_to_do(lake: dict[str, Any]) -> None:
    from datetime import date

    from jobs.landing import land
    from jobs.payload import SourceMissingError

    with pytest.raises(SourceMissingError, match="make sample"):
        land(REGISTRY["air_quality_reading"], DataInterval.for_local_day(date(2020, 1, 1)))


def test_changed_source_for_a_landed_interval_is_refused(lake: dict[str, Any]) -> None:
    from jobs.landing import LandingConflictError, land

    path = Path(lake["root"]) / "sources" / "environment" / "reference" / "air_stations.csv"
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"AQ-01-9999,Tram moi,01,21.0,105.8,2026-01-01\n")
        with pytest.raises(LandingConflictError, match="never overwritten"):
            land(REGISTRY["air_station"], INTERVAL)
    finally:
        path.write_bytes(original)


def test_silver_and_gold_pass_the_scan(lake: dict[str, Any]) -> None:
    """2025 province codes only, NFC, no TCVN3/VNI, no raw contact of a facility's officer anywhere."""
    import csv

    from tests.lakehouse_fixtures import FIXTURES
    from tests.silver_scan import problems_in, raw_personal_values, sector_tables

    facility = REGISTRY["wastewater_facility"]
    assert facility.source is not None
    with (FIXTURES / facility.source.path).open(encoding="utf-8") as fh:
        raw = raw_personal_values(facility, csv.DictReader(fh))
    assert {"Đỗ Quốc Sơn", "+84964845753"} <= raw  # the fixture's officer, as sent and normalized
    assert problems_in(sector_tables("environment"), raw) == []


def test_rules_change_leaves_no_line_in_both_silver_and_quarantine(lake: dict[str, Any]) -> None:
    """Last in this module (it changes the lake): rerun every environment dataset under a tightened rule."""
    from tests.lakehouse_fixtures import assert_no_line_in_both, rerun_under_tightened_rule

    assert_no_line_in_both(rerun_under_tightened_rule("environment", INTERVAL))
