"""``jobs.spark.local_frame``: small constant tables as rows in the plan, not as a Python RDD."""

from __future__ import annotations

from datetime import date

from pyspark.sql import SparkSession

from jobs.spark import local_frame

DDL = "parameter STRING, limit_value DOUBLE, valid_from DATE, valid_to DATE, scaled BOOLEAN"


def test_tuples_and_mappings_give_the_typed_rows_they_hold(spark: SparkSession) -> None:
    rows = [
        ("PM2.5", 50, date(2024, 1, 1), date(2025, 12, 31), False),  # an int where DOUBLE is declared
        {"parameter": "PM2.5", "limit_value": 45.0, "valid_from": date(2026, 1, 1), "valid_to": None, "scaled": True},
    ]
    frame = local_frame(spark, rows, DDL)
    assert frame.schema.simpleString() == (
        "struct<parameter:string,limit_value:double,valid_from:date,valid_to:date,scaled:boolean>"
    )
    assert [tuple(r) for r in frame.orderBy("valid_from").collect()] == [
        ("PM2.5", 50.0, date(2024, 1, 1), date(2025, 12, 31), False),
        ("PM2.5", 45.0, date(2026, 1, 1), None, True),
    ]


def test_the_rows_are_held_in_the_plan_so_no_python_worker_scans_them(spark: SparkSession) -> None:
    frame = local_frame(spark, [(date(2026, 11, 26),)], "date DATE")
    assert frame._jdf.queryExecution().logical().getClass().getSimpleName() == "LocalRelation"
    assert local_frame(spark, [], "date DATE").count() == 0
