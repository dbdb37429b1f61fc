"""Shared fixtures for the pure-transform unit tests: one local Spark session, no object store."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import pytest
from pyspark.sql import DataFrame, SparkSession

# Python workers must run this interpreter (pandas, pyarrow): set before any session exists, since a
# module in this tree may build its own plain session before ours and get_spark sets it too late.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

BATCH_ID = "unit_test__20261125T1700Z-20261126T1700Z"
SOURCE_FILE = "environment/air_quality/readings_20261126.csv"
INGESTED_AT = datetime(2026, 11, 26, 17, 5)  # naive = UTC (the session time zone)

BronzeBuilder = Callable[..., DataFrame]


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """The project's own session builder, without S3 (LAKEHOUSE_SPARK_MASTER or local[*])."""
    from jobs.spark import get_spark

    session = get_spark("unit-tests", with_s3=False)
    # Every expected timestamp in these tests is UTC; fail loudly if the builder stops saying so.
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"
    # A handful of rows per test: one shuffle partition saves task overhead (restored afterwards,
    # since other suites in the same process may share this session).
    saved = session.conf.get("spark.sql.shuffle.partitions")
    session.conf.set("spark.sql.shuffle.partitions", "1")
    # In `make test` this session already served the chaos and integration suites: free what they left
    # in the driver's block store (cached tables; locally checkpointed RDDs go once the JVM collects
    # them), or a late unit test can fail to build a broadcast for want of driver memory.
    session.catalog.clearCache()
    session.sparkContext._jvm.java.lang.System.gc()  # type: ignore[union-attr]
    yield session
    session.conf.set("spark.sql.shuffle.partitions", saved)


@pytest.fixture(scope="session")
def bronze_from_lines(spark: SparkSession) -> BronzeBuilder:
    """Build a bronze batch the way ``load_bronze`` does: data lines numbered from 2 (line 1 is the
    header), parsed by ``parse_csv_lines``, plus the batch lineage columns."""
    from pyspark.sql import functions as F

    from jobs.bronze import parse_csv_lines

    def build(
        lines: Sequence[str],
        columns: tuple[str, ...],
        *,
        batch_id: str = BATCH_ID,
        source_file: str = SOURCE_FILE,
    ) -> DataFrame:
        numbered = spark.createDataFrame(
            [(line, n) for n, line in enumerate(lines, start=2)], "line STRING, line_no LONG"
        )
        return parse_csv_lines(numbered, columns).select(
            "*",
            F.lit(batch_id).alias("_batch_id"),
            F.lit(source_file).alias("_source_file"),
            F.lit(INGESTED_AT).cast("timestamp").alias("_ingested_at"),
        )

    return build
