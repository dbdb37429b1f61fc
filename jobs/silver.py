"""Silver: typed and conformed rows MERGEd by natural key, bad rows quarantined with a reason.

The dataset's own transform (registry ``transform``) turns bronze strings into typed,
conformed columns. Everything else is the same for every dataset and lives here: exact
duplicates are removed, registry row rules name the reason a row is rejected, good rows are
de-duplicated by natural key (latest line wins) and MERGEd, and the books balance:

    landed rows = silver rows written + quarantined rows + duplicates removed
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from jobs.bronze import LINEAGE_COLUMNS
from jobs.registry import Dataset
from jobs.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

QUARANTINE_DDL = (
    "dataset STRING, _batch_id STRING, _source_file STRING, _source_line LONG, raw_line STRING, "
    "reason_code STRING, rule_id STRING, criterion STRING, detail STRING, _ingested_at TIMESTAMP, status STRING"
)


class BooksDoNotBalanceError(AssertionError):
    """Rows were lost or invented between landing and silver: a bug, never a data problem."""


@dataclass
class SilverResult:
    """What one batch did to silver; returned to the orchestrator and recorded by the gate."""

    dataset: str
    batch_id: str
    landed_rows: int
    silver_rows: int
    quarantined_rows: int
    exact_duplicates: int
    superseded_duplicates: int
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    dates: list[str] = field(default_factory=list)

    @property
    def duplicates_removed(self) -> int:
        return self.exact_duplicates + self.superseded_duplicates

    def check_balance(self) -> None:
        total = self.silver_rows + self.quarantined_rows + self.duplicates_removed
        if total != self.landed_rows:
            raise BooksDoNotBalanceError(
                f"{self.dataset} batch {self.batch_id}: landed {self.landed_rows} != silver {self.silver_rows} + "
                f"quarantined {self.quarantined_rows} + duplicates {self.duplicates_removed}"
            )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def mark_exact_duplicates(bronze: DataFrame) -> DataFrame:
    """Add ``_is_duplicate``: true for every repeat of an identical raw line after its first."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    first_line = F.min("_source_line").over(Window.partitionBy("_raw_line"))
    return bronze.withColumn("_is_duplicate", F.col("_source_line") != first_line)


def apply_row_rules(typed: DataFrame, dataset: Dataset) -> DataFrame:
    """Add ``_reject_reason``, ``_reject_rule`` and ``_reject_criterion`` from the registry rules.

    The first matching rule wins; a rule whose predicate is NULL (unknown) does not match.
    """
    from pyspark.sql import functions as F

    reason = rule = criterion = None
    for r in reversed(dataset.row_rules):  # build the CASE from the last rule outwards
        hit = F.coalesce(F.expr(r.when), F.lit(False))
        reason = F.when(hit, F.lit(r.reason)).otherwise(reason if reason is not None else F.lit(None))
        rule = F.when(hit, F.lit(r.rule_id)).otherwise(rule if rule is not None else F.lit(None))
        criterion = F.when(hit, F.lit(r.criterion.value)).otherwise(criterion if criterion is not None else F.lit(None))
    none = F.lit(None).cast("string")
    return typed.select(
        "*",
        (reason if reason is not None else none).alias("_reject_reason"),
        (rule if rule is not None else none).alias("_reject_rule"),
        (criterion if criterion is not None else none).alias("_reject_criterion"),
    )


def split_batch(typed: DataFrame, dataset: Dataset) -> DataFrame:
    """Classify every bronze row as duplicate, rejected, superseded or good (pure transform).

    ``typed`` is the dataset transform's output, still carrying ``_is_duplicate``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    judged = apply_row_rules(typed, dataset)
    candidate = (~F.col("_is_duplicate")) & F.col("_reject_reason").isNull()

    last_line = F.max(F.when(candidate, F.col("_source_line"))).over(Window.partitionBy(*dataset.natural_key))
    outcome = (
        F.when(F.col("_is_duplicate"), F.lit("duplicate"))
        .when(F.col("_reject_reason").isNotNull(), F.lit("quarantined"))
        .when(F.col("_source_line") != last_line, F.lit("superseded"))
        .otherwise(F.lit("silver"))
    )
    return judged.withColumn("_outcome", outcome)


def silver_rows(split: DataFrame, dataset: Dataset) -> DataFrame:
    from pyspark.sql import functions as F

    return split.where(F.col("_outcome") == "silver").select(*dataset.column_names, *LINEAGE_COLUMNS)


def quarantine_rows(split: DataFrame, dataset: Dataset) -> DataFrame:
    from pyspark.sql import functions as F

    return split.where(F.col("_outcome") == "quarantined").select(
        F.lit(dataset.name).alias("dataset"),
        "_batch_id",
        "_source_file",
        "_source_line",
        F.col("_raw_line").alias("raw_line"),
        F.col("_reject_reason").alias("reason_code"),
        F.col("_reject_rule").alias("rule_id"),
        F.col("_reject_criterion").alias("criterion"),
        F.coalesce(F.col("_parse_error"), F.lit("")).alias("detail"),
        "_ingested_at",
        F.lit("quarantined").alias("status"),
    )


def table_uri(dataset: Dataset, settings: Settings) -> str:
    return settings.s3a_uri(dataset.table_path)


def quarantine_uri(dataset: Dataset, settings: Settings) -> str:
    return settings.s3a_uri(f"quarantine/{dataset.sector}/{dataset.name}")


def ensure_table(
    spark: SparkSession, uri: str, ddl_or_schema: str | StructType, partition_by: tuple[str, ...] = ()
) -> None:
    """Create an empty Delta table at ``uri`` unless one exists (idempotent)."""
    from delta.tables import DeltaTable

    if DeltaTable.isDeltaTable(spark, uri):
        return
    empty = spark.createDataFrame(spark.sparkContext.emptyRDD(), ddl_or_schema)
    writer = empty.write.format("delta").mode("ignore")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(uri)


def silver_ddl(dataset: Dataset) -> str:
    cols = [f"`{f.name}` {f.type}" for f in dataset.fields]
    cols += ["`_batch_id` STRING", "`_source_file` STRING", "`_source_line` LONG", "`_ingested_at` TIMESTAMP"]
    return ", ".join(cols)


def merge_into_silver(spark: SparkSession, dataset: Dataset, rows: DataFrame, settings: Settings) -> None:
    """MERGE on the natural key; on a key already in silver the later ingestion wins.

    Partition columns join the match condition so the MERGE prunes partitions; they must be
    functions of the natural key (e.g. ``measured_date`` of ``measured_at``).
    """
    from delta.tables import DeltaTable

    uri = table_uri(dataset, settings)
    ensure_table(spark, uri, silver_ddl(dataset), dataset.partition_by)
    keys = (*dataset.natural_key, *[p for p in dataset.partition_by if p not in dataset.natural_key])
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(rows.alias("s"), condition)
        .whenMatchedUpdateAll(condition="s._ingested_at >= t._ingested_at")
        .whenNotMatchedInsertAll()
        .execute()
    )


def write_quarantine(spark: SparkSession, dataset: Dataset, rows: DataFrame, batch_id: str, settings: Settings) -> None:
    """Replace this batch's quarantined rows (a rerun rewrites, never appends twice)."""
    uri = quarantine_uri(dataset, settings)
    ensure_table(spark, uri, QUARANTINE_DDL, ("dataset",))
    (rows.write.format("delta").mode("overwrite").option("replaceWhere", f"_batch_id = '{batch_id}'").save(uri))


def refine(
    spark: SparkSession,
    dataset: Dataset,
    bronze: DataFrame,
    inputs: dict[str, DataFrame],
    context: dict[str, object],
    settings: Settings | None = None,
) -> SilverResult:
    """Run the dataset transform on a bronze batch, MERGE good rows, quarantine bad ones."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    settings = settings or get_settings()
    transform = dataset.load_transform()
    typed = transform(mark_exact_duplicates(bronze), inputs, **context)
    split = split_batch(typed, dataset).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        batch_ids = [r[0] for r in split.select("_batch_id").distinct().collect()]
        if len(batch_ids) != 1:
            raise ValueError(f"{dataset.name}: refine takes exactly one batch, got {batch_ids}")
        counts = {r["_outcome"]: r["n"] for r in split.groupBy("_outcome").agg(F.count("*").alias("n")).collect()}
        reasons = {
            r["_reject_reason"]: r["n"]
            for r in split.where(F.col("_outcome") == "quarantined")
            .groupBy("_reject_reason")
            .agg(F.count("*").alias("n"))
            .collect()
        }
        date_col = dataset.partition_by[0] if dataset.partition_by else None
        dates: list[date] = []
        if date_col:
            dates = sorted(
                r[0] for r in split.where(F.col("_outcome") == "silver").select(date_col).distinct().collect()
            )
        merge_into_silver(spark, dataset, silver_rows(split, dataset), settings)
        write_quarantine(spark, dataset, quarantine_rows(split, dataset), batch_ids[0], settings)
    finally:
        split.unpersist()
    result = SilverResult(
        dataset=dataset.name,
        batch_id=batch_ids[0],
        landed_rows=sum(counts.values()),
        silver_rows=counts.get("silver", 0),
        quarantined_rows=counts.get("quarantined", 0),
        exact_duplicates=counts.get("duplicate", 0),
        superseded_duplicates=counts.get("superseded", 0),
        quarantined_by_reason=dict(sorted(reasons.items())),
        dates=[d.isoformat() for d in dates],
    )
    result.check_balance()
    return result
