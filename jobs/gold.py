"""Gold: aggregates ministries use, rewritten per day so reruns and late data are exact.

The days to rebuild are those the batch touched (late events included): each gold table
replaces exactly those days (``replaceWhere date IN …``) from all of silver for them. A gold
table without a ``replace_key`` (a small aggregate over every year, such as crop production by
province × season × year) is rewritten whole each time it is rebuilt.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from jobs.registry import REGISTRY, Dataset, quarantine_input
from jobs.settings import Settings, get_settings
from jobs.tables import ensure_quarantine_table, ensure_table, quarantine_uri

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def read_table(spark: SparkSession, dataset: Dataset, settings: Settings) -> DataFrame:
    """A registered silver or gold table, with an explicit schema check on the way in."""
    uri = settings.s3a_uri(dataset.table_path)
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, uri):
        raise FileNotFoundError(
            f"{dataset.qualified_name} has no Delta table at {uri} yet: run the tasks that build it first "
            f"(its inputs: {', '.join(dataset.inputs) or 'its source'})."
        )
    return spark.read.format("delta").load(uri)


def read_quarantine(spark: SparkSession, dataset: Dataset, settings: Settings) -> DataFrame:
    """A silver dataset's quarantine rows (an empty table first if none was written yet)."""
    from pyspark.sql import functions as F

    uri = quarantine_uri(dataset, settings)
    ensure_quarantine_table(spark, uri)
    return spark.read.format("delta").load(uri).where(F.col("dataset") == dataset.name)


def read_inputs(spark: SparkSession, dataset: Dataset, settings: Settings) -> dict[str, DataFrame]:
    """A gold dataset's inputs by name; the quarantine rows of its ``quarantine_inputs`` as
    :func:`~jobs.registry.quarantine_input`."""
    inputs = {name: read_table(spark, REGISTRY[name], settings) for name in dataset.inputs}
    for name in dataset.quarantine_inputs:
        inputs[quarantine_input(name)] = read_quarantine(spark, REGISTRY[name], settings)
    return inputs


def conform_to_schema(df: DataFrame, dataset: Dataset) -> DataFrame:
    """Select exactly the registered columns, cast to the registered types."""
    from pyspark.sql import functions as F

    missing = [f.name for f in dataset.fields if f.name not in df.columns]
    if missing:
        raise ValueError(f"{dataset.name}: transform output lacks registered columns {missing}")
    return df.select(*[F.col(f.name).cast(f.type).alias(f.name) for f in dataset.fields])


def build(spark: SparkSession, dataset: Dataset, dates: list[date], settings: Settings | None = None) -> int:
    """Rebuild ``dates`` of a gold table from its inputs; returns the rows written for them."""
    settings = settings or get_settings()
    uri = settings.s3a_uri(dataset.table_path)
    ensure_table(spark, uri, dataset.spark_schema(), dataset.partition_by)
    if not dates:
        return 0
    rows = conform_to_schema(dataset.load_transform()(read_inputs(spark, dataset, settings), dates), dataset)
    if dataset.replace_key is None:  # a small aggregate over all of its inputs: rewritten whole
        rows.write.format("delta").mode("overwrite").save(uri)
        return int(spark.read.format("delta").load(uri).count())
    day_list = ", ".join(f"DATE'{d.isoformat()}'" for d in dates)
    predicate = f"{dataset.replace_key} IN ({day_list})"
    rows.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(uri)
    return int(spark.read.format("delta").load(uri).where(predicate).count())
