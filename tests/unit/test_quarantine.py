"""The steward workflow's pure parts: row ids, selections, corrections, the release policy, and the
silver machinery that applies steward decisions (on a local Spark session, no store)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from jobs.cli import main
from jobs.environment.transforms import air_readings_to_silver
from jobs.interval import DataInterval
from jobs.quarantine import (
    QuarantineError,
    RowDecision,
    RowId,
    Selection,
    interval_of_batch,
    normalise_status,
    parse_corrections,
    plan_release,
)
from jobs.registry import REGISTRY, RULESET_VERSION
from jobs.silver import mark_exact_duplicates, quarantine_rows, split_batch, typed_batch
from jobs.tables import QUARANTINE_DDL
from tests.unit.conftest import BATCH_ID, BronzeBuilder

DS = REGISTRY["air_quality_reading"]
assert DS.source is not None
COLUMNS = DS.source.columns
INTERVAL = DataInterval.for_local_day(date(2026, 11, 26))
B = "air_quality_reading__20261125T1700Z-20261126T1700Z"


def qrow(line: int, reason: str, **extra: Any) -> dict[str, Any]:
    """A quarantine row as ``list_rows`` returns it."""
    return {
        "dataset": "air_quality_reading",
        "_batch_id": B,
        "_source_line": line,
        "reason_code": reason,
        "province_code": "01",
        "status": "open",
        "corrections": {},
        "accepted_rules": [],
        **extra,
    }


# --------------------------------------------------------------------------- row ids and selections


def test_row_id_round_trips_and_rejects_what_is_not_one() -> None:
    rid = RowId.parse(f" {B}:7 ")
    assert (rid.batch_id, rid.source_line, str(rid)) == (B, 7, f"{B}:7")
    for bad in ("7", f"{B}", f"{B}:", f"{B}:x", f"{B}:0", ":7"):
        with pytest.raises(QuarantineError, match="<batch_id>:<source_line>"):
            RowId.parse(bad)


def test_selection_matches_each_filter() -> None:
    row = qrow(7, "INVALID_TIMESTAMP")
    assert Selection().matches(row)
    assert Selection(dataset="air_quality_reading", reason="invalid_timestamp", province="1", batch=B).matches(row)
    assert not Selection(dataset="wastewater_reading").matches(row)
    assert not Selection(reason="NEGATIVE_VALUE").matches(row)
    assert not Selection(province="79").matches(row)
    assert not Selection(batch="other").matches(row)
    assert Selection(row_ids=(RowId(B, 7),)).matches(row)
    assert not Selection(row_ids=(RowId(B, 8),)).matches(row)
    assert not Selection(status="released").matches(row)
    assert Selection(status=None).matches({**row, "status": "released"})


def test_rows_written_before_the_workflow_count_as_open() -> None:
    assert normalise_status("quarantined") == normalise_status(None) == "open"
    assert normalise_status("accepted") == "accepted"
    assert Selection().matches(qrow(7, "INVALID_TIMESTAMP", status="quarantined"))


def test_a_release_names_one_dataset_and_either_rows_or_a_reason() -> None:
    with pytest.raises(QuarantineError, match="needs --dataset"):
        Selection(reason="X").for_release()
    with pytest.raises(QuarantineError, match="either --row"):
        Selection(dataset="air_quality_reading").for_release()
    with pytest.raises(QuarantineError, match="either --row"):
        Selection(dataset="air_quality_reading", row_ids=(RowId(B, 7),), reason="X").for_release()
    with pytest.raises(QuarantineError, match="narrow a --reason"):
        Selection(dataset="air_quality_reading", row_ids=(RowId(B, 7),), province="01").for_release()
    released = Selection(dataset="air_quality_reading", reason="X", status=None).for_release()
    assert released.status == "open"  # only open rows are ever released
    with pytest.raises(QuarantineError, match="unknown status"):
        Selection(status="closed")


# --------------------------------------------------------------------------- corrections and the policy


def test_corrections_parse_against_the_source_columns() -> None:
    assert parse_corrections(["unit=mg/Nm3", "measured_at=2026-11-26T00:00:00+07:00", "value="], DS) == {
        "unit": "mg/Nm3",
        "measured_at": "2026-11-26T00:00:00+07:00",
        "value": "",
    }
    with pytest.raises(QuarantineError, match=r"'colour' is not a source column of air_quality_reading.*station_id"):
        parse_corrections(["colour=red"], DS)
    with pytest.raises(QuarantineError, match="expected COLUMN=VALUE"):
        parse_corrections(["unit"], DS)
    with pytest.raises(QuarantineError, match="given twice"):
        parse_corrections(["unit=a", "unit=b"], DS)
    with pytest.raises(QuarantineError, match="not a source column"):
        parse_corrections(["_batch_id=x"], DS)  # lineage is not a source field


def test_personal_columns_are_never_corrected() -> None:
    facility = REGISTRY["wastewater_facility"]
    assert facility.personal is not None
    column = sorted(facility.personal.columns)[0]
    with pytest.raises(QuarantineError, match="personal data"):
        parse_corrections([f"{column}=x"], facility)


def test_an_unparseable_row_cannot_be_corrected_nor_accepted() -> None:
    rows = [qrow(7, "INVALID_TIMESTAMP"), qrow(11, "MALFORMED_LINE")]
    for corrections, accept in (({"unit": "µg/Nm³"}, False), ({}, True), ({}, False)):
        with pytest.raises(QuarantineError, match=rf"unparseable lines \({B}:11\).*resend"):
            plan_release(rows, DS, corrections, accept)


def test_accept_is_only_for_rules_the_registry_marks_acceptable() -> None:
    acceptable = {r.reason for r in DS.row_rules if r.acceptable}
    assert acceptable == {"DEVICE_NOT_MEASURING", "PROVINCE_MISMATCH"}
    for ds in REGISTRY:
        assert not any(r.acceptable and "_parse_error" in r.when for r in ds.row_rules), ds.name
    with pytest.raises(QuarantineError, match=r"cannot override INVALID_TIMESTAMP.*DEVICE_NOT_MEASURING, PROVINCE"):
        plan_release([qrow(4, "DEVICE_NOT_MEASURING"), qrow(7, "INVALID_TIMESTAMP")], DS, {}, True)
    (decision,) = plan_release([qrow(4, "DEVICE_NOT_MEASURING", accepted_rules=["x.v1"])], DS, {}, True)
    assert decision == RowDecision(RowId(B, 4), {}, ("device_not_measuring.v1", "x.v1"))


def test_corrections_add_to_those_of_an_earlier_attempt() -> None:
    earlier = qrow(13, "NEGATIVE_VALUE", corrections={"value": "-3", "unit": "µg/Nm³"})
    (decision,) = plan_release([earlier], DS, {"value": "3"}, False)
    assert decision.corrections == {"value": "3", "unit": "µg/Nm³"}
    assert decision.accepted_rules == ()


def test_a_key_correction_applies_to_one_row_at_a_time() -> None:
    rows = [qrow(7, "INVALID_TIMESTAMP"), qrow(9, "INVALID_TIMESTAMP")]
    with pytest.raises(QuarantineError, match=r"measured_at changes the natural key.*one by one"):
        plan_release(rows, DS, {"measured_at": "2026-11-26T00:00:00+07:00"}, False)
    assert len(plan_release(rows[:1], DS, {"measured_at": "2026-11-26T00:00:00+07:00"}, False)) == 1
    assert len(plan_release(rows, DS, {"unit": "µg/Nm³"}, False)) == 2


def test_interval_of_batch_inverts_batch_id() -> None:
    assert interval_of_batch(INTERVAL.batch_id("air_quality_reading")) == INTERVAL
    with pytest.raises(QuarantineError, match="does not end in"):
        interval_of_batch("air_quality_reading__yesterday")


def test_cli_refuses_an_unknown_column_before_touching_the_lake(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--dataset", "air_quality_reading", "--row", f"{B}:7", "--set", "colour=red", "--note", "fix"]
    code = main(["quarantine", "release", *args])
    assert code == 2
    assert "'colour' is not a source column of air_quality_reading" in capsys.readouterr().err
    assert main(["quarantine", "list", "--dataset", "aqi_daily"]) == 2
    assert "has no quarantine" in capsys.readouterr().err


# --------------------------------------------------------------------------- silver applies the decisions


def line(station: str, province: str, parameter: str, value: str, at: str, status: str = "measuring") -> str:
    return ",".join((station, "Trạm Láng", province, parameter, value, "µg/Nm³", at, status))


LINES = {
    2: line("S1", "01", "PM2.5", "35.5", "2026-11-26T08:00:00+07:00"),  # silver
    3: line("S1", "01", "O3", "77.0", "#VALUE!"),  # bad time; corrected and released earlier
    4: line("S1", "01", "PM10", "40", "2026-11-26T09:00:00+07:00", "calibrating"),  # accepted earlier
    5: line("S1", "01", "NO2", "", "2026-11-26T10:00:00+07:00"),  # no value; corrected to -3: still fails
    6: line("S1", "99", "PM2.5", "10", "2026-11-26T11:00:00+07:00"),  # unmappable province: raw kept
    7: "S1,Trạm Láng,01",  # malformed: no province
    8: line("S1", "01", "CO", "-1", "2026-11-26T12:00:00+07:00", "error"),  # calibrating AND negative
}
RELEASED_AT = datetime(2026, 11, 27, 3, 0)


def decisions_frame(spark: SparkSession) -> DataFrame:
    def rec(n: int, status: str, reason: str, corrections: dict[str, str] | None, accepted: list[str] | None) -> tuple:
        return (
            "air_quality_reading",
            BATCH_ID,
            "f.csv",
            n,
            LINES[n],
            "01",
            reason,
            f"{reason.lower()}.v1",
            RULESET_VERSION,
            "đúng",
            "",
            datetime(2026, 11, 26, 17, 5),
            status,
            f"rel-{n}",
            None if status == "open" else RELEASED_AT,
            corrections,
            accepted,
            None,  # record
        )

    return spark.createDataFrame(
        [
            rec(3, "released", "INVALID_TIMESTAMP", {"measured_at": "2026-11-26T00:00:00+07:00"}, None),
            rec(4, "accepted", "DEVICE_NOT_MEASURING", None, ["device_not_measuring.v1"]),
            rec(5, "open", "INVALID_NUMBER", {"value": "-3"}, None),
            rec(8, "open", "DEVICE_NOT_MEASURING", None, ["device_not_measuring.v1"]),
        ],
        QUARANTINE_DDL,
    )


@pytest.fixture(scope="module")
def judged(spark: SparkSession, bronze_from_lines: BronzeBuilder) -> DataFrame:
    bronze = bronze_from_lines([LINES[n] for n in sorted(LINES)], COLUMNS)
    stations = spark.createDataFrame([("S1", "01")], "station_id STRING, province_code STRING")
    typed = typed_batch(DS, bronze, {"air_station": stations}, {"interval": INTERVAL}, decisions_frame(spark))
    return split_batch(typed, DS).cache()


def test_decisions_are_applied_through_the_transform_and_rules(judged: DataFrame) -> None:
    rows = {r["_source_line"]: r for r in judged.collect()}
    assert {n: r["_outcome"] for n, r in rows.items()} == {
        2: "silver",
        3: "silver",  # corrected time
        4: "silver",  # calibrating, accepted
        5: "quarantined",
        6: "quarantined",
        7: "quarantined",
        8: "quarantined",
    }
    assert rows[3]["measured_at"] == datetime(2026, 11, 25, 17, 0)  # 00:00 +07:00 in UTC
    assert rows[3]["_raw_line"] == LINES[3]  # lineage: the line as landed
    assert rows[4]["device_status"] == "calibrating"
    assert (rows[5]["_reject_reason"], rows[5]["value"]) == ("NEGATIVE_VALUE", -3.0)
    assert rows[8]["_reject_reason"] == "NEGATIVE_VALUE"  # the accepted rule is skipped, the next one fires


def test_quarantine_keeps_released_records_and_reopens_nothing(judged: DataFrame) -> None:
    out = {r["_source_line"]: r for r in quarantine_rows(judged, DS).collect()}
    assert sorted(out) == [3, 4, 5, 6, 7, 8]
    assert (out[3]["status"], out[3]["release_id"], out[3]["released_at"], out[3]["reason_code"]) == (
        "released",
        "rel-3",
        RELEASED_AT,
        "INVALID_TIMESTAMP",
    )
    assert (out[4]["status"], out[4]["accepted_rules"]) == ("accepted", ["device_not_measuring.v1"])
    assert (out[5]["status"], out[5]["reason_code"], out[5]["corrections"]) == (
        "open",
        "NEGATIVE_VALUE",
        {"value": "-3"},
    )
    assert out[5]["detail"] == "still fails after release rel-5"
    assert (out[5]["released_at"], out[5]["ruleset_version"]) == (None, RULESET_VERSION)
    assert (out[6]["status"], out[6]["release_id"], out[6]["detail"]) == ("open", None, "")
    assert {n: out[n]["province_code"] for n in out} == {3: "01", 4: "01", 5: "01", 6: "99", 7: None, 8: "01"}


def test_province_is_conformed_to_2025_when_possible(spark: SparkSession, bronze_from_lines: BronzeBuilder) -> None:
    bronze = bronze_from_lines(
        [line("S2", "27", "PM2.5", "-1", "2026-11-26T08:00:00+07:00"), line("S2", "27", "PM2.5", "1", "x")], COLUMNS
    )
    stations = spark.createDataFrame([("S2", "24")], "station_id STRING, province_code STRING")
    typed = air_readings_to_silver(mark_exact_duplicates(bronze), {"air_station": stations}, interval=INTERVAL)
    out = quarantine_rows(split_batch(typed, DS), DS).collect()
    assert sorted((r["reason_code"], r["province_code"]) for r in out) == [
        ("INVALID_TIMESTAMP", "24"),  # legacy Bắc Ninh 27 -> 24 even without a date
        ("NEGATIVE_VALUE", "24"),
    ]


def test_exact_duplicates_are_judged_within_a_batch(spark: SparkSession, bronze_from_lines: BronzeBuilder) -> None:
    same = line("S1", "01", "PM2.5", "1", "2026-11-26T08:00:00+07:00")
    both = bronze_from_lines([same], COLUMNS, batch_id="a").unionByName(
        bronze_from_lines([same], COLUMNS, batch_id="b")
    )
    assert [r["_is_duplicate"] for r in mark_exact_duplicates(both).collect()] == [False, False]
