"""The steward's quarantine workflow on the real store, Spark and Delta, from the committed fixture.

The environment silver steps run on the fixture day in a throw-away bucket; then, in order: list
by dataset, reason and province; release a reading with a bad timestamp corrected with ``--set``;
release it again (no-op); a correction that still breaks a rule; accept a calibrating reading;
rerun the batch's silver step. Expected values come from the generator's report and from the
fixture lines named below (read by hand).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, RULESET_VERSION, Layer
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, expected_for, lake_bucket

SILVER = [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]
READINGS = ["air_quality_reading", "wastewater_reading"]
AIR = "air_quality_reading"
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
BATCH = INTERVAL.batch_id(AIR)
# Fixture lines of air_quality/readings_20261126.csv (line 1 is the header):
BAD_TIME = 7  # AQ-01-0001,…,01,O3,77.0,µg/Nm³,#VALUE!,measuring   (O3 has no 00:00 reading that day)
NO_VALUE = 123  # AQ-01-0001,…,01,O3,,µg/Nm³,2026-11-26T09:00:00+07:00,measuring
CALIBRATING = 13  # AQ-79-0001,…,79,O3,33.0,µg/Nm³,2026-11-26T00:00:00+07:00,calibrating
FIXED_TIME = "2026-11-26T00:00:00+07:00"
FIXED_UTC = datetime(2026, 11, 25, 17, 0)  # what silver stores for FIXED_TIME
# Quarantined air rows by province, counted by hand: station 79's calibrating (13) and error (136)
# readings; every other one is station 01's or the unknown station's (01); the malformed line 64 has none.
# Wastewater lines carry no province: the facility's (WW-75-0001, province 75) is used; the unknown
# facility WW-75-0194 and the malformed line have none.
AIR_BY_PROVINCE = {"01": 7, "79": 2, None: 1}


def cli(*args: str) -> tuple[int, Any]:
    """Run ``lakehouse …`` in-process and parse its JSON output."""
    from jobs.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, json.loads(out.getvalue())


def release_cli(*args: str) -> tuple[int, Any]:
    return cli("quarantine", "release", "--dataset", AIR, "--steward", "test-steward", "--json", *args)


def silver_step(name: str) -> dict[str, Any]:
    """What the DAG runs for one silver dataset: land, bronze, silver (write), gate (audit), publish;
    returns the silver step's books."""
    from jobs.pipeline import run_dataset

    start, end = INTERVAL.as_strings()
    return run_dataset(name, start, end, run_id="quarantine-test")["refined"]  # type: ignore[no-any-return]


def rerun(name: str, batch: str) -> dict[str, Any]:
    """The DAG's silver, gate and publish steps again for the interval (the batch is landed)."""
    from jobs.pipeline import gate_batch, publish_batch, refine_batch

    start, end = INTERVAL.as_strings()
    refined = refine_batch(name, batch, start, end)
    publish_batch(name, gate_batch(name, refined, start, end, run_id="quarantine-rerun"))
    return refined


def air_silver() -> list[dict[str, Any]]:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    uri = get_settings().s3a_uri(REGISTRY[AIR].table_path)
    return [r.asDict() for r in get_spark().read.format("delta").load(uri).collect()]


def at_key(rows: list[dict[str, Any]], station: str, parameter: str, at: datetime) -> list[dict[str, Any]]:
    return [r for r in rows if (r["station_id"], r["parameter"], r["measured_at"]) == (station, parameter, at)]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from jobs.quarantine import Selection, list_rows, releases

    root: Path = tmp_path_factory.mktemp("quarantine")
    sources = copy_fixture_sources(root / "sources")
    with lake_bucket("quar", sources, root / "gx"):
        obs: dict[str, Any] = {"refined": {name: silver_step(name) for name in SILVER}}
        obs["open"] = {name: list_rows(Selection(dataset=name)) for name in SILVER}
        obs["by_reason"] = cli("quarantine", "list", "--dataset", AIR, "--reason", "device_not_measuring", "--json")
        obs["by_province"] = {p: list_rows(Selection(dataset=AIR, province=p)) for p in ("01", "1", "79", "24")}

        fix = ("--row", f"{BATCH}:{BAD_TIME}", "--set", f"measured_at={FIXED_TIME}", "--note", "station log: 00:00")
        obs["release"] = release_cli(*fix)
        obs["silver_after_release"] = air_silver()
        obs["release_again"] = release_cli(*fix)
        obs["silver_after_again"] = air_silver()
        obs["still_failing"] = release_cli(
            "--row", f"{BATCH}:{NO_VALUE}", "--set", "value=-3", "--note", "value from the paper log"
        )
        obs["accept"] = release_cli("--row", f"{BATCH}:{CALIBRATING}", "--accept", "--note", "calibration ended 23:58")
        obs["quarantine_after"] = {r["_source_line"]: r for r in list_rows(Selection(dataset=AIR, status=None))}
        obs["releases"] = releases(AIR)

        obs["rerun"] = rerun(AIR, BATCH)  # the DAG's silver, gate and publish steps for the interval
        obs["silver_after_rerun"] = air_silver()
        obs["quarantine_after_rerun"] = {r["_source_line"]: r for r in list_rows(Selection(dataset=AIR, status=None))}
        obs["releases_after_rerun"] = releases(AIR)
        yield obs


@pytest.mark.parametrize("dataset", READINGS)
def test_list_by_dataset_and_reason_matches_the_injected_mess(lake: dict[str, Any], dataset: str) -> None:
    rows = lake["open"][dataset]
    assert dict(Counter(r["reason_code"] for r in rows)) == expected_for(dataset)["expected_quarantine"]
    ruleset = {r.reason: r for r in REGISTRY[dataset].row_rules}
    for r in rows:
        assert r["row_id"] == f"{INTERVAL.batch_id(dataset)}:{r['_source_line']}"
        assert (r["rule_id"], r["criterion"]) == (
            ruleset[r["reason_code"]].rule_id,
            ruleset[r["reason_code"]].criterion,
        )
        assert (r["status"], r["ruleset_version"], r["release_id"]) == ("open", RULESET_VERSION, None)
        assert r["_source_file"] and r["raw_line"]
    code, listed = lake["by_reason"]
    assert code == 0
    assert listed["total"] == expected_for(AIR)["expected_quarantine"]["DEVICE_NOT_MEASURING"] == 4
    assert {r["reason_code"] for r in listed["rows"]} == {"DEVICE_NOT_MEASURING"}


def test_list_by_province(lake: dict[str, Any]) -> None:
    by_province = Counter(r["province_code"] for r in lake["open"][AIR])
    assert dict(by_province) == AIR_BY_PROVINCE
    assert len(lake["by_province"]["01"]) == AIR_BY_PROVINCE["01"]
    assert lake["by_province"]["1"] == lake["by_province"]["01"]
    assert sorted(r["_source_line"] for r in lake["by_province"]["79"]) == [CALIBRATING, 136]
    assert lake["by_province"]["24"] == []
    assert {r["reason_code"] for r in lake["open"][AIR] if r["province_code"] is None} == {"MALFORMED_LINE"}
    water = lake["open"]["wastewater_reading"]
    assert dict(Counter(r["province_code"] for r in water)) == {"75": 8, None: 2}
    assert {r["reason_code"] for r in water if r["province_code"] is None} == {"MALFORMED_LINE", "UNKNOWN_STATION"}


def test_a_corrected_row_lands_in_silver_exactly_once(lake: dict[str, Any]) -> None:
    code, result = lake["release"]
    assert code == 0
    assert (result["rows_selected"], result["rows_released"], result["rows_still_failing"]) == (1, 1, 0)
    assert result["released"] == [f"{BATCH}:{BAD_TIME}"]
    assert result["dates"] == ["2026-11-26"]
    before = expected_for(AIR)["expected_silver_rows"]
    assert len(lake["silver_after_release"]) == before + 1
    (row,) = at_key(lake["silver_after_release"], "AQ-01-0001", "O3", FIXED_UTC)
    assert (row["value"], row["_batch_id"], row["_source_line"]) == (77.0, BATCH, BAD_TIME)
    q = lake["quarantine_after"][BAD_TIME]
    assert (q["status"], q["release_id"], q["reason_code"]) == ("released", result["release_id"], "INVALID_TIMESTAMP")
    assert q["corrections"] == {"measured_at": FIXED_TIME} and q["released_at"] is not None


def test_releasing_again_is_a_no_op(lake: dict[str, Any]) -> None:
    code, again = lake["release_again"]
    first = lake["release"][1]
    assert code == 0
    assert (again["release_id"], again["rows_selected"], again["rows_released"]) == (None, 0, 0)
    assert again["already_released"] == [
        {"row_id": f"{BATCH}:{BAD_TIME}", "status": "released", "release_id": first["release_id"]}
    ]
    assert len(at_key(lake["silver_after_again"], "AQ-01-0001", "O3", FIXED_UTC)) == 1
    assert len(lake["silver_after_again"]) == len(lake["silver_after_release"])


def test_a_correction_that_still_breaks_a_rule_stays_quarantined(lake: dict[str, Any]) -> None:
    code, result = lake["still_failing"]
    assert code == 1
    assert (result["rows_selected"], result["rows_released"], result["rows_still_failing"]) == (1, 0, 1)
    (failing,) = result["still_failing"]
    assert (failing["row_id"], failing["reason_code"], failing["rule_id"]) == (
        f"{BATCH}:{NO_VALUE}",
        "NEGATIVE_VALUE",
        "negative_value.v1",
    )
    q = lake["quarantine_after"][NO_VALUE]
    assert (q["status"], q["reason_code"], q["corrections"]) == ("open", "NEGATIVE_VALUE", {"value": "-3"})
    assert q["detail"] == f"still fails after release {result['release_id']}"
    assert at_key(lake["silver_after_release"], "AQ-01-0001", "O3", datetime(2026, 11, 26, 2, 0)) == []


def test_an_accepted_row_keeps_its_value_and_names_the_overridden_rule(lake: dict[str, Any]) -> None:
    code, result = lake["accept"]
    assert code == 0
    assert (result["rows_released"], result["accepted_rule_ids"]) == (1, ["device_not_measuring.v1"])
    q = lake["quarantine_after"][CALIBRATING]
    assert (q["status"], q["accepted_rules"], q["reason_code"]) == (
        "accepted",
        ["device_not_measuring.v1"],
        "DEVICE_NOT_MEASURING",
    )


def test_quality_history_records_each_release_once(lake: dict[str, Any]) -> None:
    records = {r["release_id"]: r for r in lake["releases"]}
    assert len(lake["releases"]) == 3  # the no-op release recorded nothing
    first = records[lake["release"][1]["release_id"]]
    assert (first["dataset"], first["steward"], first["note"]) == (AIR, "test-steward", "station log: 00:00")
    assert (first["rows_selected"], first["rows_released"], first["rows_still_failing"]) == (1, 1, 0)
    assert (first["corrections"], first["ruleset_version"], first["dates"]) == (
        {"measured_at": FIXED_TIME},
        RULESET_VERSION,
        ["2026-11-26"],
    )
    assert first["row_ids"] == [f"{BATCH}:{BAD_TIME}"]
    failing = records[lake["still_failing"][1]["release_id"]]
    assert (failing["rows_released"], failing["still_failing_row_ids"]) == (0, [f"{BATCH}:{NO_VALUE}"])
    accepted = records[lake["accept"][1]["release_id"]]
    assert accepted["accepted_rule_ids"] == ["device_not_measuring.v1"]
    assert lake["releases_after_rerun"] == lake["releases"]


def _as_read(row: dict[str, Any]) -> dict[str, Any]:
    """A quarantine row with its ``record`` map as a dict (a map's pairs come in no fixed order)."""
    return row | {"record": dict(row["record"] or [])}


def test_rerunning_the_batch_keeps_releases_and_the_books_balance(lake: dict[str, Any]) -> None:
    rerun = lake["rerun"]
    expected = dict(expected_for(AIR)["expected_quarantine"])
    expected["INVALID_TIMESTAMP"] -= 1  # released
    expected["DEVICE_NOT_MEASURING"] -= 1  # accepted
    expected["INVALID_NUMBER"] -= 1  # still open, now NEGATIVE_VALUE (its correction is re-applied)
    expected["NEGATIVE_VALUE"] += 1
    assert rerun["quarantined_by_reason"] == {k: v for k, v in expected.items() if v}
    assert rerun["landed_rows"] == expected_for(AIR)["data_rows"]
    assert rerun["silver_rows"] == expected_for(AIR)["expected_silver_rows"] + 2
    assert rerun["released_rows"] == 2
    assert rerun["quarantined_rows"] == sum(expected.values())
    assert rerun["landed_rows"] == (
        rerun["silver_rows"] + rerun["quarantined_rows"] + rerun["exact_duplicates"] + rerun["superseded_duplicates"]
    )
    silver = lake["silver_after_rerun"]
    assert len(silver) == len(lake["silver_after_release"]) + 1  # + the accepted row, nothing else
    (row,) = at_key(silver, "AQ-01-0001", "O3", FIXED_UTC)
    assert (row["value"], row["_source_line"]) == (77.0, BAD_TIME)
    after = lake["quarantine_after_rerun"]
    before = lake["quarantine_after"]
    assert _as_read(after[BAD_TIME]) == _as_read(before[BAD_TIME])  # still released, same release
    assert _as_read(after[CALIBRATING]) == _as_read(before[CALIBRATING])
    assert after[NO_VALUE]["status"] == "open" and after[NO_VALUE]["reason_code"] == "NEGATIVE_VALUE"
    assert sum(r["status"] == "open" for r in after.values()) == rerun["quarantined_rows"]
