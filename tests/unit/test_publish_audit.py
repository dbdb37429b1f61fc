"""The audit of what silver would become (``published`` frame) and the tables module's DDL parser."""

from __future__ import annotations

from datetime import date

from pyspark.sql import SparkSession

from expectations.frames import published_frame
from expectations.suites import PUBLISHED_KEY_CHECK, checks_by_frame, gate_checks
from jobs.registry import REGISTRY
from jobs.tables import HELD_BATCHES_DDL, QUARANTINE_DDL, ddl_fields, ddl_names

DS = REGISTRY["air_quality_reading"]
COLUMNS = "station_id STRING, parameter STRING, measured_at STRING, measured_date DATE, value DOUBLE, _batch_id STRING"
D1, D2 = date(2026, 11, 26), date(2026, 11, 27)


def _keys(frame: object) -> list[tuple[str, str, str]]:
    return sorted((r["station_id"], r["parameter"], r["measured_at"]) for r in frame.collect())  # type: ignore[attr-defined]


def test_published_frame_is_silver_for_the_batch_keys_after_the_merge(spark: SparkSession) -> None:
    silver = spark.createDataFrame(
        [
            ("S1", "PM2.5", "t1", D1, 1.0, "A"),  # another batch's row of a key the batch brings again: kept
            ("S2", "PM2.5", "t1", D1, 2.0, "B"),  # this batch's earlier row: replaced, not counted twice
            ("S3", "PM2.5", "t1", D1, 3.0, "A"),  # a repeated key the batch does not touch: not its business
            ("S3", "PM2.5", "t1", D1, 3.0, "A"),
            ("S9", "PM2.5", "t1", D2, 9.0, "A"),  # a day the batch does not touch: not read
        ],
        COLUMNS,
    )
    staged = spark.createDataFrame(
        [
            ("S1", "PM2.5", "t1", D1, 1.5, "B"),
            ("S2", "PM2.5", "t1", D1, 2.5, "B"),
            ("S4", "PM2.5", "t1", D1, 4.0, "B"),
            ("S4", "PM2.5", "t1", D1, 4.0, "B"),  # a key twice in the batch: would break the MERGE
        ],
        COLUMNS,
    )
    frame = published_frame(silver, staged, DS, "B", [D1.isoformat()])
    assert _keys(frame) == [("S1", "PM2.5", "t1"), ("S2", "PM2.5", "t1"), ("S4", "PM2.5", "t1"), ("S4", "PM2.5", "t1")]
    # Only the touched day is read: a staged key that exists on an untouched day is counted once.
    staged_d2 = spark.createDataFrame([("S9", "PM2.5", "t1", D2, 9.5, "B")], COLUMNS)
    assert _keys(published_frame(silver, staged_d2, DS, "B", [D1.isoformat()])) == [("S9", "PM2.5", "t1")]
    assert _keys(published_frame(silver, staged_d2, DS, "B", [D2.isoformat()])) == [("S9", "PM2.5", "t1")]


def test_every_dataset_with_a_unique_key_is_audited_after_publish() -> None:
    for ds in REGISTRY:
        ids = [c.id for c in gate_checks(ds)]
        if "unique_natural_key" in ids:
            (audit,) = checks_by_frame(ds)["published"]
            (key,) = [c for c in gate_checks(ds) if c.id == "unique_natural_key"]
            assert (audit.id, audit.severity, audit.expectation) == (PUBLISHED_KEY_CHECK, key.severity, key.expectation)
            assert dict(audit.kwargs) == dict(key.kwargs)
        else:
            assert PUBLISHED_KEY_CHECK not in ids


def test_ddl_fields_split_on_top_level_commas_only() -> None:
    assert ddl_fields("a STRING, `b` MAP<STRING, STRING>, c ARRAY<STRUCT<x: INT, y: STRING>>") == [
        ("a", "STRING"),
        ("b", "MAP<STRING, STRING>"),
        ("c", "ARRAY<STRUCT<x: INT, y: STRING>>"),
    ]
    assert ddl_names(QUARANTINE_DDL)[:4] == ["dataset", "_batch_id", "_source_file", "_source_line"]
    assert len(ddl_names(QUARANTINE_DDL)) == 18
    assert ddl_names(HELD_BATCHES_DDL)[4:6] == ["status", "failed_checks"]
