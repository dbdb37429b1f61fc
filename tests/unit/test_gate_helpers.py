"""Pure helpers of the quality gate: per-entity scores, check columns, suite parameters, manifests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from expectations import frames
from expectations.gate import (
    SAMPLE_CHARS,
    STATED_ROWS,
    CheckOutcome,
    _checked_columns,
    _expected,
    _samples,
    clip_sample,
)
from expectations.suites import build_suite, checks_by_frame, gate_checks, required_field_checks, runnable
from jobs import checks
from jobs.errors import DataError
from jobs.payload import stated_rows
from jobs.registry import REGISTRY, Check, Criterion, Severity
from jobs.text import LEGACY_PATTERN_REGEX

NOON = datetime(2026, 11, 26, 4, 0)


def test_entity_scores_per_station_and_province() -> None:
    lines = [
        {"entity": "S1", "province": "01", "rows": 10, "đúng": 2, "sạch": 0, "đủ": 0, "sống": 0},
        {"entity": "S2", "province": "01", "rows": 5, "đúng": 0, "sạch": 1, "đủ": 0, "sống": 0},
    ]
    entities = [
        {"entity": "S1", "province": "01", "hours": 24, "reported": 24, "last_seen": NOON, "silent": False},
        {"entity": "S2", "province": "01", "hours": 24, "reported": 12, "last_seen": NOON, "silent": True},
        {"entity": "S3", "province": "79", "hours": 24, "reported": 0, "last_seen": None, "silent": True},
    ]
    got = {(s.entity_type, s.entity_id, s.criterion): s for s in frames.entity_scores("station", lines, entities)}
    assert got["station", "S1", "đúng"].score == 80.0
    assert (got["station", "S2", "sạch"].rows_evaluated, got["station", "S2", "sạch"].rows_failing) == (5, 1)
    assert got["station", "S2", "đủ"].score == 50.0
    assert got["station", "S2", "sống"].silent is True and got["station", "S2", "sống"].score == 0.0
    assert got["station", "S2", "sống"].last_seen == NOON
    assert ("station", "S3", "đúng") not in got  # no line to judge: no score, not 100
    assert got["station", "S3", "đủ"].score == 0.0 and got["station", "S3", "sống"].last_seen is None
    # Provinces add up their stations; silent only when every station in it is.
    assert (got["province", "01", "đúng"].rows_evaluated, got["province", "01", "đúng"].rows_failing) == (15, 2)
    assert got["province", "01", "đủ"].score == 75.0
    assert got["province", "01", "sống"].silent is False and got["province", "01", "sống"].score == 50.0
    assert got["province", "79", "sống"].silent is True
    assert not any(c == "đủ" and t == "station" and got[t, e, c].rows_evaluated == 15 for t, e, c in got)


def test_reference_lists_score_completeness_by_rows() -> None:
    lines = [{"entity": "F1", "province": "74", "rows": 1, "đúng": 0, "sạch": 0, "đủ": 1, "sống": 0}]
    got = {(s.entity_type, s.criterion): s for s in frames.entity_scores("facility", lines, None)}
    assert got["facility", "đủ"].score == 0.0
    assert got["province", "đủ"].rows_failing == 1
    assert ("facility", "sống") not in got and got["facility", "đúng"].silent is None


def test_non_nfc_values_names_only_decomposed_text() -> None:
    nfd = "Ha\u0300 N\u00f4\u0323i"
    assert frames.non_nfc_values(["Hà Nội", nfd, None, nfd]) == [nfd]


def test_text_flags_judge_each_distinct_name_and_leave_null_names_unjudged(spark: SparkSession) -> None:
    """The mojibake flag is what GX's regex check on the name counted: False for mojibake, NULL for
    no name (GX skips NULLs), True otherwise; NFC is flagged on the same distinct names."""
    ds = REGISTRY["air_quality_reading"]
    silver_checks = checks_by_frame(ds)["silver"]
    (legacy,) = [c for c in silver_checks if c.id == "no_legacy_encoding_station_name"]
    assert legacy.kwargs == {"column": "_no_legacy_encoding_station_name", "value_set": [True]}
    names = ["Hà Nội", "Hµ Néi", "Ha\u0300 N\u00f4\u0323i", None, "Hµ Néi", "Huế"]  # "Hµ Néi": TCVN3 "Hà Nội"
    df = spark.createDataFrame([(i, n) for i, n in enumerate(names)], "i INT, station_name STRING")
    rows = frames.with_text_flags(df, ds, silver_checks).orderBy("i").collect()
    assert [r["_no_legacy_encoding_station_name"] for r in rows] == [True, False, True, None, False, True]
    assert [r["_text_is_nfc"] for r in rows] == [True, True, False, True, True, True]
    # the same verdicts as the regex check it replaced (Spark's rlike on every row)
    regex = df.orderBy("i").select(~F.col("station_name").rlike(LEGACY_PATTERN_REGEX))
    assert [r[0] for r in regex.collect()] == [r["_no_legacy_encoding_station_name"] for r in rows]
    with pytest.raises(ValueError, match="does not have"):
        frames.with_text_flags(df.drop("station_name"), ds, silver_checks)


def test_a_failing_mojibake_check_shows_the_names_not_the_flag(spark: SparkSession) -> None:
    ds = REGISTRY["air_quality_reading"]
    silver_checks = checks_by_frame(ds)["silver"]
    (legacy,) = [c for c in silver_checks if c.id == "no_legacy_encoding_station_name"]
    df = spark.createDataFrame([(1, "Hà Nội"), (2, "Hµ Néi"), (3, "Hµ Néi"), (4, None)], "i INT, station_name STRING")
    built = {"silver": frames.with_text_flags(df, ds, silver_checks)}
    outcome = CheckOutcome(legacy.id, "silver", "sạch", "warning", False, 3, 2, "", [], legacy.description)
    _samples(ds, [outcome], {legacy.id: legacy}, built)
    assert outcome.sample == ["Hµ Néi"]


def test_check_columns_are_declared_once() -> None:
    a = Check("a", Criterion.CORRECT, Severity.WARNING, "X", {}, "", derive=(("_x", "1 = 1"),))
    b = Check("b", Criterion.CORRECT, Severity.WARNING, "X", {}, "", derive=(("_x", "1 = 1"), ("_y", "true")))
    assert frames.derived_columns([a, b]) == [("_x", "1 = 1"), ("_y", "true")]
    clash = Check("c", Criterion.CORRECT, Severity.WARNING, "X", {}, "", derive=(("_x", "2 = 2"),))
    with pytest.raises(ValueError, match="_x is declared twice"):
        frames.derived_columns([a, clash])


def test_required_fields_become_not_null_checks() -> None:
    ds = REGISTRY["air_quality_reading"]
    required = {c.kwargs["column"] for c in required_field_checks(ds)}
    assert required == {f.name for f in ds.fields if not f.nullable}
    assert {"station_id", "value", "unit", "measured_at"} <= required
    assert all(c.criterion == Criterion.COMPLETE and c.severity == Severity.CRITICAL for c in required_field_checks(ds))
    assert gate_checks(REGISTRY["aqi_daily"]) == ()  # gold is not gated


def test_source_count_check_runs_only_with_a_stated_count() -> None:
    import great_expectations as gx

    gx.get_context(mode="ephemeral")  # build_suite needs an active context
    assert STATED_ROWS == checks.STATED_ROWS
    ds = REGISTRY["air_quality_reading"]
    (count,) = [c for c in checks_by_frame(ds)["lines"] if c.id == "landed_matches_source_count"]
    assert not runnable(count, {}) and runnable(count, {STATED_ROWS: 3}) and runnable(count, None)
    ids = [e.meta["check_id"] for e in build_suite(ds, "lines", {}).expectations]
    assert "landed_matches_source_count" not in ids and "correct_share" in ids
    assert _expected({"value": {"$PARAMETER": STATED_ROWS}, "column": "x"}, {STATED_ROWS: 227}) == "value=227"


def test_manifest_states_the_row_count(tmp_path: Path) -> None:
    data = tmp_path / "readings.csv"
    data.write_text("a\n1\n")
    assert stated_rows(data) is None
    (tmp_path / "readings.csv.manifest.json").write_text(json.dumps({"rows": 1}))
    assert stated_rows(data) == 1
    (tmp_path / "readings.csv.manifest.json").write_text('{"rows": "many"}')
    with pytest.raises(DataError, match="non-negative integer"):
        stated_rows(data)
    (tmp_path / "readings.csv.manifest.json").write_text("not json")
    with pytest.raises(DataError, match="Fix or remove the manifest"):
        stated_rows(data)


def test_unexpected_conditions_match_the_expectations(spark: SparkSession) -> None:
    """Each translated condition flags exactly the rows GX counts as unexpected (NULLs ignored)."""
    df = spark.createDataFrame(
        [
            ("PM2.5", "µg/Nm³", 5.0, "Hà Nội"),
            ("PM2.5", "mg/L", -1.0, "Hµ Néi"),  # TCVN3 mojibake of "Hà Nội"
            ("pH", "pH", 15.0, None),
            (None, None, None, "Huế"),
        ],
        "parameter STRING, unit STRING, value DOUBLE, station_name STRING",
    )

    def flagged(check: Check) -> list[int]:
        condition = frames.unexpected_condition(check)
        assert condition is not None
        rows = df.withColumn("_bad", condition).collect()
        return [i for i, r in enumerate(rows) if r["_bad"]]

    def check(expectation: str, **kwargs: object) -> Check:
        return Check("x", Criterion.CORRECT, Severity.WARNING, expectation, kwargs, "")

    assert flagged(check("ExpectColumnValuesToNotBeNull", column="value")) == [3]
    assert flagged(check("ExpectColumnValuesToBeInSet", column="parameter", value_set=["PM2.5"])) == [2]
    assert flagged(check("ExpectColumnValuesToNotBeInSet", column="parameter", value_set=["pH"])) == [2]
    assert flagged(check("ExpectColumnValuesToBeBetween", column="value", min_value=0)) == [1]
    assert flagged(check("ExpectColumnValuesToBeBetween", column="value", min_value=5, strict_min=True)) == [0, 1]
    assert flagged(check("ExpectColumnValuesToBeBetween", column="value", max_value=14)) == [2]
    legacy = check("ExpectColumnValuesToNotMatchRegex", column="station_name", regex="__LEGACY_ENCODING_REGEX__")
    assert flagged(legacy) == [1]
    pairs = check(
        "ExpectColumnPairValuesToBeInSet",
        column_A="parameter",
        column_B="unit",
        value_pairs_set=[("PM2.5", "µg/Nm³"), ("pH", "pH")],
    )
    assert flagged(pairs) == [1]
    assert frames.unexpected_condition(check("ExpectTableRowCountToBeBetween", min_value=1)) is None


def _quarantined(spark: SparkSession, dataset: str, lines: list[tuple[str, str]]) -> list[dict[str, object]]:
    """Per-entity line stats of quarantined ``(raw line, reason)`` pairs against a two-station reference."""
    from jobs.silver import STATUS_OPEN
    from jobs.tables import QUARANTINE_DDL, ddl_names, silver_ddl

    ds = REGISTRY[dataset]
    column = frames.entity_column(ds)
    names = ddl_names(QUARANTINE_DDL)
    rows = [
        {n: None for n in names}
        | {"dataset": dataset, "_source_line": i, "raw_line": raw, "reason_code": reason, "criterion": "correct"}
        | {"status": STATUS_OPEN}
        for i, (raw, reason) in enumerate(lines, start=1)
    ]
    quarantine = spark.createDataFrame(rows, QUARANTINE_DDL)
    silver = spark.createDataFrame([], silver_ddl(ds))
    reference = spark.createDataFrame(
        [("AQ-01-0001", "01"), ("WW-79-0001", "79")], f"{column} STRING, province_code STRING"
    )
    stats = frames.line_stats(frames.lines_frame(spark, silver, quarantine, ds, {}, [], reference))
    return sorted(({"entity": s["entity"], "province": s["province"], "rows": s["rows"]} for s in stats), key=str)


def test_quarantined_lines_name_known_entities_or_a_group(spark: SparkSession) -> None:
    """JSON lines are read as JSON (not split on commas); ids the reference lacks and broken lines are groups."""
    got = _quarantined(
        spark,
        "air_quality_reading",
        [
            ('{"station_id": "AQ-01-0001", "parameter": "PM2.5", "value": "-3"}', "NEGATIVE_VALUE"),
            ('{"station_name": "Trạm A, cổng B", "station_id": "AQ-01-0001", "value": "-1"}', "NEGATIVE_VALUE"),
            ('{"station_id": "AQ-99-9999", "value": "5"}', "UNKNOWN_STATION"),
            ('{"station_id": "XX-00-0000", "value": "6"}', "UNKNOWN_STATION"),
            ('{"station_id": "AQ-01-00', "MALFORMED_LINE"),
            ("#^œþ@€Ãœ", "MALFORMED_LINE"),
        ],
    )
    assert got == sorted(
        [
            {"entity": "AQ-01-0001", "province": "01", "rows": 2},
            {"entity": frames.UNKNOWN_ENTITY, "province": None, "rows": 2},
            {"entity": frames.MALFORMED_ENTITY, "province": None, "rows": 2},
        ],
        key=str,
    )


def test_quarantined_csv_lines_are_read_by_position(spark: SparkSession) -> None:
    got = _quarantined(
        spark,
        "wastewater_reading",
        [
            ("WW-79-0001,WW-79-0001-S1,COD,-5,mg/L,2026-11-26T09:00:00+07:00,measuring", "NEGATIVE_VALUE"),
            ("WW-01-0042,WW-01-0042-S1,COD,12,mg/L,2026-11-26T09:00:00+07:00,measuring", "UNKNOWN_STATION"),
            ("WW-79-0001;COD;12", "MALFORMED_LINE"),
        ],
    )
    assert got == sorted(
        [
            {"entity": "WW-79-0001", "province": "79", "rows": 1},
            {"entity": frames.UNKNOWN_ENTITY, "province": None, "rows": 1},
            {"entity": frames.MALFORMED_ENTITY, "province": None, "rows": 1},
        ],
        key=str,
    )


def test_a_local_csv_drop_of_a_json_dataset_is_read_as_csv(spark: SparkSession) -> None:
    """The MQTT dataset's local drop is CSV: its quarantined lines name their station by position."""
    got = _quarantined(
        spark,
        "air_quality_reading",
        [
            ('AQ-01-0001,"Trạm A, cổng B",01,PM2.5,-3,µg/m3,2026-11-26T09:00:00+07:00,measuring', "NEGATIVE_VALUE"),
            ('{"parameter": "PM2.5", "value": "4"}', "UNKNOWN_STATION"),
        ],
    )
    assert got == sorted(
        [
            {"entity": "AQ-01-0001", "province": "01", "rows": 1},
            {"entity": frames.UNKNOWN_ENTITY, "province": None, "rows": 1},
        ],
        key=str,
    )


def test_a_hostile_sample_is_clipped_and_says_how_long_it_was() -> None:
    line = "RECORD_TOO_LARGE: " + "x" * 10_000_000
    clipped = clip_sample(line)
    assert clipped == line[:300] + "… (10,000,018 characters)" and SAMPLE_CHARS == 300
    assert clip_sample("x" * 300) == "x" * 300


def test_a_local_validation_collects_only_the_checked_columns(spark: SparkSession) -> None:
    """The pandas engine gets the columns the frame's checks name (single, pair, compound), in the
    order first named; a frame checked only for its row count keeps its rows in one constant column."""
    df = spark.createDataFrame(
        [(1, "a", "x", 2.0, "spare"), (2, "b", "y", None, "spare")], "k int, p string, u string, v double, z string"
    )

    def check(expectation: str, kwargs: dict[str, object]) -> Check:
        return Check("c", Criterion.CORRECT, Severity.CRITICAL, expectation, kwargs, "")

    checks_ = [
        check("ExpectColumnValuesToBeBetween", {"column": "v", "min_value": 0}),
        check("ExpectColumnPairValuesToBeInSet", {"column_A": "p", "column_B": "u", "value_pairs_set": []}),
        check("ExpectCompoundColumnsToBeUnique", {"column_list": ["k", "v"]}),
        check("ExpectTableRowCountToBeBetween", {"min_value": 1}),
    ]
    got = _checked_columns(df, checks_)
    assert got.columns == ["v", "p", "u", "k"]
    assert [tuple(r) for r in got.collect()] == [(2.0, "a", "x", 1), (None, "b", "y", 2)]
    only_rows = _checked_columns(df, checks_[3:])
    assert only_rows.toArrow().num_rows == 2 and only_rows.columns == ["_row"]
