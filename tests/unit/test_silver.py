"""Generic silver logic on the real AIR_QUALITY_READING entry: duplicates, row rules, books.

One hand-made batch of 20 landed lines (file lines 2..21) goes through bronze parsing, the
dataset transform and ``split_batch``; every line's fate is written next to it below.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from jobs.environment.transforms import air_readings_to_silver
from jobs.interval import DataInterval
from jobs.registry import REGISTRY, RULESET_VERSION, Criterion
from jobs.silver import (
    BooksDoNotBalanceError,
    SilverResult,
    apply_row_rules,
    mark_exact_duplicates,
    quarantine_rows,
    silver_rows,
    split_batch,
)
from tests.unit.conftest import BATCH_ID, INGESTED_AT, SOURCE_FILE, BronzeBuilder

# Through the registry: importing jobs.environment.datasets first hits a circular import (see test_registry).
DS = REGISTRY["air_quality_reading"]
assert DS.source is not None
AIR_READING_COLUMNS = DS.source.columns
INTERVAL = DataInterval.for_local_day(date(2026, 11, 26))  # 2026-11-25T17:00Z .. 2026-11-26T17:00Z
U = "µg/Nm³"


def _line(
    station: str,
    province: str,
    parameter: str,
    value: str,
    at: str,
    status: str = "measuring",
    unit: str = U,
    name: str = "Trạm Láng",
) -> str:
    return ",".join((station, name, province, parameter, value, unit, at, status))


LINES: dict[int, str] = {
    2: _line("S1", "01", "PM2.5", "35.5", "2026-11-26T08:00:00+07:00"),  # silver
    3: _line("S1", "01", "PM2.5", "35.5", "2026-11-26T08:00:00+07:00"),  # exact duplicate of 2
    4: _line("S1", "01", "PM2.5", "-5", "2026-11-26T09:00:00+07:00", "calibrating"),  # calibrating AND negative
    5: _line("S1", "01", "PM2.5", "-5", "2026-11-26T10:00:00+07:00"),  # negative only
    6: _line("S1", "01", "PM10", "40", "2026-11-26T08:00:00+07:00"),  # superseded by 7 (same key)
    7: _line("S1", "01", "PM10", "42", "26/11/2026 08:00"),  # same instant, later line: wins
    8: _line("S1", "01", "PM10", "99", "2026-11-26T08:00:00+07:00", "error"),  # later still, but rejected
    9: _line("S1", "01", "NO2", "20", "2026-11-26T11:00:00+07:00", ""),  # NULL status: no rule matches
    10: _line("S9", "01", "PM2.5", "10", "2026-11-26T08:00:00+07:00"),  # station not in reference
    11: "S1,Trạm Láng,01",  # malformed
    12: _line("S1", "01", "PM2.5", "10", "hôm qua"),  # unparseable time
    13: _line("S1", "01", "PM2.5", "N/A", "2026-11-26T12:00:00+07:00"),  # not a number
    14: _line("S1", "01", "XYZ", "10", "2026-11-26T12:00:00+07:00"),  # unknown parameter
    15: _line("S1", "01", "PM2.5", "10", "2026-11-26T13:00:00+07:00", unit="ppm"),  # unknown unit
    16: _line("S1", "01", "PM2.5", "5000", "2026-11-26T14:00:00+07:00"),  # above PM2.5's 2000 physical max
    17: _line("S1", "01", "PM2.5", "10", "2026-11-27T00:00:00+07:00"),  # = interval end: future
    18: _line("S1", "99", "PM2.5", "10", "2026-11-26T15:00:00+07:00"),  # no province 99
    19: _line("S1", "24", "PM2.5", "10", "2026-11-26T16:00:00+07:00"),  # S1 is in 01, not 24
    20: _line("S2", "27", "PM2.5", "20", "2026-11-26T08:00:00+07:00", name="Trạm Bắc Ninh"),  # legacy 27 -> 24 = S2
    21: _line("S1", "01", "PM2.5", "-5", "2026-11-26T10:00:00+07:00"),  # exact duplicate of 5 (a rejected line)
}

EXPECTED_OUTCOME = {
    2: "silver",
    3: "duplicate",
    6: "superseded",
    7: "silver",
    9: "silver",
    20: "silver",
    21: "duplicate",
    4: "quarantined",
    5: "quarantined",
    8: "quarantined",
    10: "quarantined",
    11: "quarantined",
    12: "quarantined",
    13: "quarantined",
    14: "quarantined",
    15: "quarantined",
    16: "quarantined",
    17: "quarantined",
    18: "quarantined",
    19: "quarantined",
}
# line -> (reason, rule id, criterion)
EXPECTED_REJECTION = {
    4: ("DEVICE_NOT_MEASURING", "device_not_measuring.v1", "đúng"),  # rule 7 comes before NEGATIVE_VALUE (8)
    5: ("NEGATIVE_VALUE", "negative_value.v1", "đúng"),
    8: ("DEVICE_NOT_MEASURING", "device_not_measuring.v1", "đúng"),
    10: ("UNKNOWN_STATION", "unknown_station.v1", "đúng"),
    11: ("MALFORMED_LINE", "malformed_line.v1", "đúng"),
    12: ("INVALID_TIMESTAMP", "invalid_timestamp.v1", "đúng"),
    13: ("INVALID_NUMBER", "invalid_number.v1", "đúng"),
    14: ("UNKNOWN_PARAMETER", "unknown_parameter.v1", "đúng"),
    15: ("UNKNOWN_UNIT", "unknown_unit.v1", "sạch"),
    16: ("OUT_OF_PHYSICAL_RANGE", "out_of_physical_range.v1", "đúng"),
    17: ("FUTURE_TIMESTAMP", "future_timestamp.v1", "đúng"),
    18: ("UNMAPPABLE_PROVINCE", "unmappable_province.v1", "đúng"),
    19: ("PROVINCE_MISMATCH", "province_mismatch.v1", "đúng"),
}
UNKNOWN_UNIT_LINE = 15


@pytest.fixture(scope="module")
def split(spark: SparkSession, bronze_from_lines: BronzeBuilder) -> DataFrame:
    assert sorted(LINES) == list(range(2, 22))
    bronze = bronze_from_lines([LINES[n] for n in sorted(LINES)], AIR_READING_COLUMNS)
    stations = spark.createDataFrame([("S1", "01"), ("S2", "24")], "station_id STRING, province_code STRING")
    typed = air_readings_to_silver(mark_exact_duplicates(bronze), {"air_station": stations}, interval=INTERVAL)
    return split_batch(typed, DS).cache()


@pytest.fixture(scope="module")
def judged(split: DataFrame) -> dict[int, Row]:
    rows = split.select(
        "_source_line",
        "_outcome",
        "_is_duplicate",
        "_reject_reason",
        "_reject_rule",
        "_reject_criterion",
        "value",
        "device_status",
        F.expr("value < 0").alias("_negative"),
    ).collect()
    return {r["_source_line"]: r for r in rows}


def test_every_line_gets_exactly_one_outcome(judged: dict[int, Row]) -> None:
    assert {n: r["_outcome"] for n, r in judged.items()} == EXPECTED_OUTCOME


def test_exact_duplicates_keep_the_first_line(judged: dict[int, Row]) -> None:
    assert sorted(n for n, r in judged.items() if r["_is_duplicate"]) == [3, 21]
    assert judged[2]["_is_duplicate"] is False and judged[5]["_is_duplicate"] is False


def test_first_matching_rule_names_the_reason(judged: dict[int, Row]) -> None:
    got = {
        n: (r["_reject_reason"], r["_reject_rule"], r["_reject_criterion"])
        for n, r in judged.items()
        if r["_reject_reason"] is not None and n != UNKNOWN_UNIT_LINE
    }
    # Line 21 is a duplicate of the rejected line 5: the rules still name it, but it counts as a duplicate.
    expected = {n: v for n, v in EXPECTED_REJECTION.items() if n != UNKNOWN_UNIT_LINE}
    assert got == {**expected, 21: EXPECTED_REJECTION[5]}
    assert judged[UNKNOWN_UNIT_LINE]["_outcome"] == "quarantined"
    # Line 4 matches NEGATIVE_VALUE too; the earlier DEVICE_NOT_MEASURING rule wins.
    assert judged[4]["_negative"] is True and judged[4]["device_status"] == "calibrating"


def test_unknown_unit_is_named_unknown_unit(judged: dict[int, Row]) -> None:
    row = judged[UNKNOWN_UNIT_LINE]
    assert (row["_reject_reason"], row["_reject_rule"], row["_reject_criterion"]) == EXPECTED_REJECTION[15]


def test_null_predicate_does_not_match(judged: dict[int, Row]) -> None:
    # device_status NULL makes "device_status <> 'measuring'" NULL (unknown), which is not a match.
    assert judged[9]["device_status"] is None
    assert judged[9]["_reject_reason"] is None and judged[9]["_outcome"] == "silver"


def test_rule_order_and_null_on_hand_built_typed_rows(spark: SparkSession) -> None:
    columns = (
        "_parse_error STRING, _entity_known BOOLEAN, measured_at TIMESTAMP, value DOUBLE, parameter STRING, "
        "unit STRING, device_status STRING, _physical_min DOUBLE, _physical_max DOUBLE, "
        "_interval_end TIMESTAMP, province_code STRING, _entity_province STRING, _text_undecidable STRING, id INT"
    )
    ts, end = datetime(2026, 11, 26, 1), datetime(2026, 11, 26, 17)
    typed = spark.createDataFrame(
        [
            (None, True, ts, -1.0, "PM2.5", U, "calibrating", 0.0, 2000.0, end, "01", "01", None, 1),
            (None, True, ts, -1.0, "PM2.5", U, "measuring", 0.0, 2000.0, end, "01", "01", None, 2),
            (None, True, ts, 5.0, "PM2.5", U, None, None, None, None, None, None, None, 3),  # later predicates NULL
            ("unclosed quote", None, None, None, None, None, None, None, None, end, None, None, None, 4),
        ],
        columns,
    )
    got = {
        r["id"]: (r["_reject_reason"], r["_reject_rule"], r["_reject_criterion"])
        for r in apply_row_rules(typed, DS).collect()
    }
    assert got == {
        1: ("DEVICE_NOT_MEASURING", "device_not_measuring.v1", "đúng"),
        2: ("NEGATIVE_VALUE", "negative_value.v1", "đúng"),
        # province_code IS NULL is the one predicate that is TRUE (not NULL) for row 3
        3: ("UNMAPPABLE_PROVINCE", "unmappable_province.v1", "đúng"),
        4: ("MALFORMED_LINE", "malformed_line.v1", "đúng"),
    }


def test_superseded_key_keeps_the_later_good_line(split: DataFrame) -> None:
    rows = silver_rows(split, DS).where(F.col("parameter") == "PM10").collect()
    # Lines 6, 7, 8 share (S1, PM10, 2026-11-26T01:00Z); 8 is rejected, so 7 (value 42) is the latest good line.
    assert [(r["_source_line"], r["value"], r["measured_at"]) for r in rows] == [
        (7, 42.0, datetime(2026, 11, 26, 1, 0))
    ]


def test_silver_rows_have_registered_columns_and_lineage(split: DataFrame) -> None:
    out = silver_rows(split, DS)
    assert out.columns == [*DS.column_names, "_batch_id", "_source_file", "_source_line", "_ingested_at"]
    rows = {r["_source_line"]: r.asDict() for r in out.collect()}
    assert sorted(rows) == [2, 7, 9, 20]
    assert rows[2] == {
        "station_id": "S1",
        "station_name": "Trạm Láng",
        "province_code": "01",
        "parameter": "PM2.5",
        "value": 35.5,
        "unit": U,
        "measured_at": datetime(2026, 11, 26, 1, 0),
        "source_utc_offset": "+07:00",
        "measured_date": date(2026, 11, 26),
        "device_status": "measuring",
        "_batch_id": BATCH_ID,
        "_source_file": SOURCE_FILE,
        "_source_line": 2,
        "_ingested_at": INGESTED_AT,
    }
    assert rows[20]["province_code"] == "24"  # legacy 27 (Bắc Ninh) conformed to 24, matching S2


def test_quarantine_rows_carry_reason_rule_criterion_and_raw_line(split: DataFrame) -> None:
    out = quarantine_rows(split, DS)
    assert out.columns == [
        "dataset",
        "_batch_id",
        "_source_file",
        "_source_line",
        "raw_line",
        "province_code",
        "reason_code",
        "rule_id",
        "ruleset_version",
        "criterion",
        "detail",
        "_ingested_at",
        "status",
        "release_id",
        "released_at",
        "corrections",
        "accepted_rules",
        "record",
    ]
    rows = {r["_source_line"]: r for r in out.collect()}
    assert sorted(rows) == sorted(EXPECTED_REJECTION)  # duplicates of rejected lines are not quarantined twice
    for n, row in rows.items():
        if n != UNKNOWN_UNIT_LINE:  # see test_unknown_unit_is_named_unknown_unit
            assert (row["reason_code"], row["rule_id"], row["criterion"]) == EXPECTED_REJECTION[n]
        assert row["raw_line"] == LINES[n]
        assert (row["dataset"], row["_batch_id"], row["_source_file"], row["_ingested_at"], row["status"]) == (
            "air_quality_reading",
            BATCH_ID,
            SOURCE_FILE,
            INGESTED_AT,
            "open",
        )
        assert (row["ruleset_version"], row["release_id"], row["released_at"]) == (RULESET_VERSION, None, None)
    assert rows[11]["detail"] == "expected 8 fields, found 3"
    assert {rows[n]["detail"] for n in rows if n != 11} == {""}
    # the typed values the registry keeps beside the raw line (the device alerts read them): 09:00 in
    # Hanoi is 02:00 UTC; a line that did not parse keeps what could be typed (here nothing)
    assert rows[8]["record"] == {
        "station_id": "S1",
        "parameter": "PM10",
        "measured_at": "2026-11-26 01:00:00",
        "value": "99.0",
        "device_status": "error",
    }
    assert rows[4]["record"]["device_status"] == "calibrating"
    assert rows[4]["record"]["measured_at"] == "2026-11-26 02:00:00"
    assert set(rows[11]["record"].values()) == {None}


def test_outcome_counts_balance(split: DataFrame) -> None:
    counts = {r["_outcome"]: r["n"] for r in split.groupBy("_outcome").agg(F.count("*").alias("n")).collect()}
    result = SilverResult(
        dataset=DS.name,
        batch_id=BATCH_ID,
        landed_rows=sum(counts.values()),
        silver_rows=counts.get("silver", 0),
        quarantined_rows=counts.get("quarantined", 0),
        exact_duplicates=counts.get("duplicate", 0),
        superseded_duplicates=counts.get("superseded", 0),
    )
    # 20 landed = 4 silver + 13 quarantined + 2 exact + 1 superseded duplicates
    assert (
        result.landed_rows,
        result.silver_rows,
        result.quarantined_rows,
        result.exact_duplicates,
        result.superseded_duplicates,
        result.duplicates_removed,
    ) == (20, 4, 13, 2, 1, 3)
    result.check_balance()


def test_check_balance_raises_when_rows_are_lost() -> None:
    result = SilverResult(
        dataset="air_quality_reading",
        batch_id="b1",
        landed_rows=21,
        silver_rows=4,
        quarantined_rows=13,
        exact_duplicates=2,
        superseded_duplicates=1,
    )
    with pytest.raises(BooksDoNotBalanceError) as info:
        result.check_balance()
    assert str(info.value) == "air_quality_reading batch b1: landed 21 != silver 4 + quarantined 13 + duplicates 3"
    assert isinstance(info.value, AssertionError)
    SilverResult(
        dataset="d",
        batch_id="b",
        landed_rows=0,
        silver_rows=0,
        quarantined_rows=0,
        exact_duplicates=0,
        superseded_duplicates=0,
    ).check_balance()  # an empty batch balances


def test_criteria_values_used_by_quarantine() -> None:
    # quarantine stores the criterion's Vietnamese value; the gate's audit frame compares to these strings
    assert {r.criterion.value for r in DS.row_rules} == {Criterion.CORRECT.value, Criterion.CLEAN.value}


def test_ensure_table_adds_the_columns_an_older_table_lacks(spark: SparkSession, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A lake built by an earlier version (e.g. a facility table without contact_id) keeps working."""
    from jobs.tables import ensure_table

    uri = str(tmp_path / "evolving")
    spark.createDataFrame([("F1", 1)], "facility_id STRING, n INT").write.format("delta").save(uri)
    ensure_table(spark, uri, "facility_id STRING, n INT, contact_id STRING, tags MAP<STRING,STRING>")
    ensure_table(spark, uri, "facility_id STRING, n INT, contact_id STRING, tags MAP<STRING,STRING>")  # idempotent
    table = spark.read.format("delta").load(uri)
    assert table.columns == ["facility_id", "n", "contact_id", "tags"]
    assert [tuple(r) for r in table.collect()] == [("F1", 1, None, None)]
