"""The project's session builder (jobs/spark.py) on a real local JVM."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pyspark.sql import SparkSession


def test_generated_code_outlives_more_than_spark_s_default_100_classes(spark: SparkSession) -> None:
    """A query compiled, then 120 other queries, then the first again: not compiled a second time
    (Spark's default cache of 100 classes would have dropped it; jobs/spark.py keeps 1,000)."""
    from pyspark.sql import functions as F

    def run(factor: int) -> None:  # a distinct literal: distinct generated code
        spark.range(3).select((F.col("id") * factor + 7).alias("x")).collect()

    run(1_000_003)
    for factor in range(120):
        run(factor)
    before = _compilations(spark)
    run(1_000_003)
    assert _compilations(spark) == before


def _compilations(spark: SparkSession) -> int:
    metrics = spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics  # type: ignore[union-attr]
    return int(metrics.METRIC_COMPILATION_TIME().getCount())


def _codegen_settings(spark: SparkSession) -> dict[str, str | None]:
    from jobs.spark import INTERPRETED_EXECUTION

    return {key: spark.conf.get(key) for key in INTERPRETED_EXECUTION}


def test_a_small_batch_runs_without_generated_code_and_gets_the_same_values(spark: SparkSession) -> None:
    """At most ``spark_interpreted_max_rows`` rows: a new query compiles (almost) no class, its values are
    those of the generated code, and the session's settings are back afterwards; one row more: generated code."""
    from pyspark.sql import functions as F

    from jobs.settings import get_settings
    from jobs.spark import INTERPRETED_EXECUTION, interpreted_if_small

    settings = dataclasses.replace(get_settings(), spark_interpreted_max_rows=50)
    before = _codegen_settings(spark)
    assert before == {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}

    def query(factor: int) -> list[tuple[int, str | None, int]]:  # a distinct literal: distinct generated code
        df = spark.range(40).select(
            (F.col("id") * factor % 7).alias("k"),
            F.when(F.col("id") % 3 == 0, F.lit(None)).otherwise(F.concat(F.lit("s"), F.col("id"))).alias("s"),
        )
        rows = df.where(F.col("k") != 2).groupBy("k", F.col("s").isNull()).agg(F.count("*").alias("n"))
        return sorted((r[0], str(r[1]), r[2]) for r in rows.collect())

    with interpreted_if_small(spark, 50, settings) as interpreted:
        assert interpreted is True
        assert _codegen_settings(spark) == INTERPRETED_EXECUTION
        compiled = _compilations(spark)
        small = query(2_000_003)
        interpreted_classes = _compilations(spark) - compiled
    assert _codegen_settings(spark) == before
    compiled = _compilations(spark)
    assert query(2_000_003) == small
    generated_classes = _compilations(spark) - compiled
    assert interpreted_classes <= 1 < 4 <= generated_classes  # 1: the aggregation has a class Spark always generates

    with interpreted_if_small(spark, 51, settings) as interpreted:
        assert interpreted is False
        assert _codegen_settings(spark) == before
    with interpreted_if_small(spark, 1, dataclasses.replace(settings, spark_interpreted_max_rows=0)) as interpreted:
        assert interpreted is False  # 0: always generated code


def test_the_session_s_settings_come_back_when_the_step_fails(spark: SparkSession) -> None:
    from jobs.settings import get_settings
    from jobs.spark import interpreted_if_small

    settings = dataclasses.replace(get_settings(), spark_interpreted_max_rows=10)
    before = _codegen_settings(spark)
    with pytest.raises(ZeroDivisionError), interpreted_if_small(spark, 3, settings):
        raise ZeroDivisionError
    assert _codegen_settings(spark) == before


def test_attaching_without_a_shared_driver_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No connection file, or one whose driver is gone: an error naming the file and the command that
    starts a driver, and the gateway's secret is not left in this process's environment."""
    import json
    import os
    import socket

    from jobs.spark import SharedDriverError, attach_shared_driver

    monkeypatch.setattr(SparkSession, "_instantiatedSession", None)  # as in a process with no session yet
    driver_file = tmp_path / "driver.json"
    with pytest.raises(SharedDriverError, match=f"no shared Spark driver's connection file at {driver_file}"):
        attach_shared_driver(driver_file)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    driver_file.write_text(json.dumps({"port": port, "secret": "s" * 43, "pid": 999_999}))
    answer = rf"pid 999999\) does not answer on 127.0.0.1:{port}.*lakehouse spark-driver"
    with pytest.raises(SharedDriverError, match=answer):
        attach_shared_driver(driver_file)
    assert "PYSPARK_GATEWAY_SECRET" not in os.environ and "PYSPARK_GATEWAY_PORT" not in os.environ
