"""The transport sector end to end on the real store, Spark, Delta and GX, from the committed fixture
(``LAKEHOUSE_EXTRACT_FROM=local``: the feed zip and the pings file under the source root).

Runs land → bronze → silver → gate for every transport silver dataset and the three gold tables for
the fixture day, then all of it again (rerun), and checks the books against the generator's account,
the personal data, and the gold figures against values computed by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Layer
from tests.lakehouse_fixtures import (
    FIXTURE_DAY,
    FIXTURES,
    assert_same_books_staged_anew,
    copy_fixture_sources,
    lake_bucket,
    run_sector,
)

# 7 datasets × 2 runs (land, bronze, silver, GX gate each) + gold: more than the default 900 s per test
pytestmark = pytest.mark.timeout(3600)

SILVER = [d.name for d in REGISTRY.by_sector("transport", Layer.SILVER)]
GOLD = [d.name for d in REGISTRY.by_sector("transport", Layer.GOLD)]
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
REPORT = json.loads((FIXTURES / "transport" / "_generation_report.json").read_text(encoding="utf-8"))
PINGS = FIXTURES / "transport" / "vehicle_positions" / f"positions_{FIXTURE_DAY:%Y%m%d}.jsonl"


def expected_for(dataset: str) -> dict[str, Any]:
    for entry in REPORT["files"].values():
        for item in entry.get("datasets", [entry]):
            if item["dataset"] == dataset:
                return item  # type: ignore[no-any-return]
    raise KeyError(dataset)


def run_all(run_id: str) -> dict[str, Any]:
    return run_sector("transport", INTERVAL, run_id)


def rows_of(key: str) -> list[dict[str, Any]]:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    return [r.asDict() for r in get_spark().read.format("delta").load(get_settings().s3a_uri(key)).collect()]


def snapshot() -> dict[str, list[str]]:
    keys = [d.table_path for d in REGISTRY if d.sector == "transport"]
    keys += [f"quarantine/transport/{n}" for n in SILVER]
    return {k: sorted(repr(sorted(r.items())) for r in rows_of(k)) for k in keys}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import os

    root = tmp_path_factory.mktemp("transport")
    sources = copy_fixture_sources(root / "sources")
    saved = os.environ.get("LAKEHOUSE_EXTRACT_FROM")
    os.environ["LAKEHOUSE_EXTRACT_FROM"] = "local"
    try:
        with lake_bucket("transport", sources, root / "gx") as bucket:
            first = run_all("first")
            snap = snapshot()
            from jobs.storage import list_keys

            landing = sorted(list_keys("landing/transport/"))
            second = run_all("second")
            yield {
                "bucket": bucket,
                "first": first,
                "second": second,
                "snapshot": snap,
                "snapshot_after_rerun": snapshot(),
                "landing_first": landing,
                "landing_second": sorted(list_keys("landing/transport/")),
                "tables": {d.name: rows_of(d.table_path) for d in REGISTRY.by_sector("transport")},
            }
    finally:
        if saved is None:
            os.environ.pop("LAKEHOUSE_EXTRACT_FROM", None)
        else:
            os.environ["LAKEHOUSE_EXTRACT_FROM"] = saved


@pytest.mark.parametrize("dataset", SILVER)
def test_books_balance_and_match_the_injected_mess(lake: dict[str, Any], dataset: str) -> None:
    refined = lake["first"][dataset]["refined"]
    expected = expected_for(dataset)
    assert refined["landed_rows"] == expected["data_rows"]
    assert refined["quarantined_by_reason"] == expected["expected_quarantine"]
    assert refined["exact_duplicates"] + refined["superseded_duplicates"] == expected["expected_duplicates_removed"]
    assert refined["silver_rows"] == expected["expected_silver_rows"] == len(lake["tables"][dataset])
    assert refined["landed_rows"] == (
        refined["silver_rows"]
        + refined["quarantined_rows"]
        + refined["exact_duplicates"]
        + refined["superseded_duplicates"]
    )


def test_rerun_changes_nothing_and_lands_nothing_twice(lake: dict[str, Any]) -> None:
    assert lake["landing_second"] == lake["landing_first"]
    assert len(lake["landing_first"]) == len(SILVER)
    for key, rows in lake["snapshot"].items():
        assert lake["snapshot_after_rerun"][key] == rows, key
    for name in SILVER:
        assert_same_books_staged_anew(lake["first"][name]["refined"], lake["second"][name]["refined"])


def test_feed_version_reaches_silver_and_lineage(lake: dict[str, Any]) -> None:
    for name in SILVER:
        if name.startswith("gtfs_"):
            rows = lake["tables"][name]
            assert {r["feed_version"] for r in rows} == {"HNBUS-2026.11"}, name
            assert {r["_source_file"] for r in rows} == {
                f"hanoi_bus_gtfs.zip#{REGISTRY[name].source.options['member']}"
            }  # type: ignore[union-attr]


def test_stops_get_their_2025_province_from_coordinates(lake: dict[str, Any]) -> None:
    stops = {r["stop_id"]: r for r in lake["tables"]["gtfs_stop"]}
    assert set(stops) == {f"S{i:02d}" for i in range(1, 11)}  # S11 (0,0) and S12 (Bangkok) quarantined
    assert {s: r["province_code"] for s, r in stops.items() if r["province_code"] != "01"} == {"S09": "24", "S10": "24"}
    assert stops["S03"]["stop_name"] == "Hồ Hoàn Kiếm"  # sent in NFD, stored NFC


def test_route_service_daily_by_hand(lake: dict[str, Any]) -> None:
    """Thursday 2026-11-26, from the fixture feed (sample_sources/transport/generate.py CORE_TRIPS):

    - R01: weekday trips at 05:00, 06:00, 07:00, 08:00, each 50 min (last stop +50): 4 trips,
      200 min = 3.3333 h, 05:00:00 → 08:50:00; its two weekend trips do not run on a Thursday.
    - R02: 06:15 → 06:55 and 07:15 → 07:55 (40 min each) and the late trip 23:50:00 → 25:10:00
      (80 min, belongs to Thursday's service though it ends on Friday 01:10); the 08:15 trip's
      stop_sequence goes back (1, 2, 4, 3), so it is quarantined: 3 trips, 160 min = 2.6667 h,
      06:15:00 → 25:10:00.
    - R03 (night): service XT is added for 2026-11-26 by calendar_dates only: 24:30:00 → 25:30:00,
      1 trip, 1.0 h.
    """
    got = {
        r["route_id"]: (r["trips"], r["service_hours"], r["first_departure"], r["last_arrival"], r["feed_version"])
        for r in lake["tables"]["route_service_daily"]
        if r["service_date"] == date(2026, 11, 26)
    }
    assert got == {
        "R01": (4, 3.3333, "05:00:00", "08:50:00", "HNBUS-2026.11"),
        "R02": (3, 2.6667, "06:15:00", "25:10:00", "HNBUS-2026.11"),
        "R03": (1, 1.0, "24:30:00", "25:30:00", "HNBUS-2026.11"),
    }


def test_stops_by_province_by_hand(lake: dict[str, Any]) -> None:
    """Hà Nội (01): S01–S08, called at by R01, R02 and R03 (S01); Bắc Ninh (24): S09, S10, R03 only."""
    got = {(r["province_code"], r["stops"], r["routes"]) for r in lake["tables"]["stops_by_province"]}
    assert got == {("01", 8, 3), ("24", 2, 1)}


def test_vehicle_activity_by_hand(lake: dict[str, Any]) -> None:
    """Local hour 07 is clean by construction (the generator injects no mess there): vehicles 1–5
    circle Hoàn Kiếm (radius 0.05°, all in Hà Nội) pinging at :00, :15, :30, :45 → 5 vehicles,
    20 pings; vehicle 6 circles Bắc Ninh city → 1 vehicle, 4 pings. Over the day the gold pings add
    up to the silver rows (342)."""
    cells = {(r["hour"], r["province_code"]): r for r in lake["tables"]["vehicle_activity_hourly"]}
    assert (cells[(7, "01")]["active_vehicles"], cells[(7, "01")]["pings"]) == (5, 20)
    assert (cells[(7, "24")]["active_vehicles"], cells[(7, "24")]["pings"]) == (1, 4)
    assert not any(h >= 12 and p == "24" for h, p in cells)  # vehicle 6 is silent from 12:00
    assert sum(r["pings"] for r in cells.values()) == expected_for("vehicle_position")["expected_silver_rows"]
    assert len({r["vehicle_id"] for r in lake["tables"]["vehicle_position"]}) == 6  # 3 plate spellings, 1 vehicle


def test_no_raw_plate_or_driver_id_in_silver_or_gold(lake: dict[str, Any]) -> None:
    from jobs.privacy import normalize_identifier

    raw: set[str] = set()
    for line in PINGS.read_text(encoding="utf-8").splitlines():
        ping = json.loads(line)
        raw |= {ping["plate"], ping["driver_id"], normalize_identifier(ping["plate"]) or ""}
    raw.discard("")
    assert len(raw) > 12
    for name, rows in lake["tables"].items():
        for row in rows:
            for column, value in row.items():
                if isinstance(value, str):
                    assert not any(r in value for r in raw), f"{name}.{column} holds a raw personal value"
    assert all(len(r["vehicle_id"]) == 64 for r in lake["tables"]["vehicle_position"])


def test_silent_vehicle_is_named_by_the_gate(lake: dict[str, Any]) -> None:
    checks = {c for c in lake["first"]["vehicle_position"]["failed_checks"]}
    assert "vehicles_heard_within_sla" in checks  # vehicle 6 silent since 12:00 (> 3 h before the end)
    assert "fresh_within_sla" not in checks  # newest ping 21:45 local, 2.25 h before the end
    assert lake["first"]["vehicle_position"]["scores"]["sống"] < 100


def test_silver_and_gold_pass_the_scan(lake: dict[str, Any]) -> None:
    """2025 province codes, NFC, no legacy bytes, and no raw plate or driver id in any silver or gold table."""
    from tests.silver_scan import problems_in, raw_personal_values, sector_tables

    pings = [json.loads(line) for line in PINGS.read_text(encoding="utf-8").splitlines()]
    raw = raw_personal_values(REGISTRY["vehicle_position"], pings)
    assert len(raw) > 12
    assert problems_in(sector_tables("transport"), raw) == []


def test_rules_change_leaves_no_line_in_both_silver_and_quarantine(lake: dict[str, Any]) -> None:
    """Last in this module (it changes the lake): rerun every transport dataset under a tightened rule."""
    from tests.lakehouse_fixtures import assert_no_line_in_both, rerun_under_tightened_rule

    assert_no_line_in_both(rerun_under_tightened_rule("transport", INTERVAL))
