"""The project's session builder (jobs/spark.py) on a real local JVM."""

from __future__ import annotations

from pyspark.sql import SparkSession


def test_generated_code_outlives_more_than_spark_s_default_100_classes(spark: SparkSession) -> None:
    """A query compiled, then 120 other queries, then the first again: not compiled a second time
    (Spark's default cache of 100 classes would have dropped it; jobs/spark.py keeps 1,000)."""
    from pyspark.sql import functions as F

    metrics = spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics  # type: ignore[union-attr]

    def run(factor: int) -> None:  # a distinct literal: distinct generated code
        spark.range(3).select((F.col("id") * factor + 7).alias("x")).collect()

    run(1_000_003)
    for factor in range(120):
        run(factor)
    before = metrics.METRIC_COMPILATION_TIME().getCount()
    run(1_000_003)
    assert metrics.METRIC_COMPILATION_TIME().getCount() == before
