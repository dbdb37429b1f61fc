"""Every physical table of the lake: where it lives, its columns, and how it is created or evolved.

Registered datasets (silver, gold) take their columns from the registry; the fixed tables
(quarantine, the ``quality/`` tables, held batches, releases, the erasure audit) are declared here
and nowhere else. Layers, the gate, the catalog and governance ask this module for a table's key,
URI and DDL; it imports nothing above the registry and settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobs.registry import Dataset, PersonalKind
from jobs.settings import Settings, get_settings
from jobs.storage import delta_table_or_none

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

LINEAGE_COLUMNS = ("_batch_id", "_source_file", "_source_line", "_ingested_at")
"""Where every bronze and silver row came from: batch, landed object, line, landing time."""

QUARANTINE_DDL = (
    "dataset STRING, _batch_id STRING, _source_file STRING, _source_line LONG, raw_line STRING, "
    "province_code STRING, reason_code STRING, rule_id STRING, ruleset_version STRING, criterion STRING, "
    "detail STRING, _ingested_at TIMESTAMP, status STRING, release_id STRING, released_at TIMESTAMP, "
    "corrections MAP<STRING, STRING>, accepted_rules ARRAY<STRING>, record MAP<STRING, STRING>"
)
"""One row per quarantined landed line. ``province_code`` is best effort (2025 code, else the raw
value) so stewards can filter by province; ``status`` is the steward workflow: ``open`` (waiting),
``released`` (corrected and back in silver), ``accepted`` (accepted as it is, a rule overridden);
``release_id``/``released_at`` name the release (for an open row: its last failed attempt);
``corrections`` and ``accepted_rules`` are the steward's decisions, re-applied on every rerun;
``record``: the typed values the dataset's ``quarantine_record`` names, as text (none personal)."""

SCORES_DDL = (
    "dataset STRING, criterion STRING, data_interval_start TIMESTAMP, data_interval_end TIMESTAMP, batch_id STRING, "
    "checks_passed INT, checks_failed INT, rows_evaluated LONG, rows_failing LONG, score DOUBLE, "
    "ruleset_version STRING, run_id STRING"
)
CHECKS_DDL = (
    "dataset STRING, check_id STRING, frame STRING, criterion STRING, severity STRING, success BOOLEAN, "
    "element_count LONG, unexpected_count LONG, observed STRING, sample STRING, description STRING, "
    "data_interval_start TIMESTAMP, batch_id STRING, ruleset_version STRING, run_id STRING"
)
ACCOUNTING_DDL = (
    "dataset STRING, batch_id STRING, data_interval_start TIMESTAMP, landed_rows LONG, silver_rows LONG, "
    "quarantined_rows LONG, exact_duplicates LONG, superseded_duplicates LONG, quarantined_by_reason STRING, "
    "run_id STRING"
)
ENTITY_SCORES_DDL = (
    "dataset STRING, criterion STRING, entity_type STRING, entity_id STRING, data_interval_start TIMESTAMP, "
    "data_interval_end TIMESTAMP, batch_id STRING, rows_evaluated BIGINT, rows_failing BIGINT, score DOUBLE, "
    "last_seen TIMESTAMP, silent BOOLEAN, ruleset_version STRING, run_id STRING"
)
RELEASES_KEY = "quality/releases"
RELEASES_DDL = (
    "release_id STRING, dataset STRING, steward STRING, note STRING, selection STRING, rows_selected LONG, "
    "rows_released LONG, rows_still_failing LONG, corrections MAP<STRING, STRING>, accepted_rule_ids ARRAY<STRING>, "
    "row_ids ARRAY<STRING>, still_failing_row_ids ARRAY<STRING>, dates ARRAY<STRING>, ruleset_version STRING, "
    "released_at TIMESTAMP"
)
HELD = "held"
RELEASED = "released"
DISCARDED = "discarded"
SUPERSEDED = "superseded"
HELD_BATCHES_KEY = "quality/held_batches"
HELD_BATCHES_DDL = (
    "dataset STRING, batch_id STRING, data_interval_start TIMESTAMP, data_interval_end TIMESTAMP, status STRING, "
    "failed_checks STRING, staged_rows LONG, staged_quarantine_rows LONG, staged_version LONG, held_at TIMESTAMP, "
    "run_id STRING, decided_at TIMESTAMP, decided_by STRING, decision_reason STRING, release_id STRING"
)
"""One row per batch a critical check stopped (write → audit → publish): ``status`` is ``held``
until a steward decides (``released``: published as a passed gate would; ``discarded``: never
published) or a later run of the batch passes its gate (``superseded``). ``failed_checks`` is JSON:
check id, criterion, what was observed and sample values."""
AUDIT_KEY = "audit/erasure"
AUDIT_DDL = (
    "erasure_id STRING, subject_column STRING, pseudonyms ARRAY<STRING>, "
    "tables ARRAY<STRUCT<table: STRING, action: STRING, rows: BIGINT>>, rows_total BIGINT, "
    "landing_objects ARRAY<STRING>, retention_hours DOUBLE, requested_by STRING, reason STRING, "
    "requested_at TIMESTAMP, completed_at TIMESTAMP, old_versions_unreadable_after TIMESTAMP"
)

STAGING_PREFIX = "staging"
"""Written by refine, read by the gate, published (or held) afterwards: in no ministry's policy."""


def ddl_fields(ddl: str) -> list[tuple[str, str]]:
    """``"a STRING, b MAP<STRING, STRING>"`` → ``[("a", "STRING"), ("b", "MAP<STRING, STRING>")]`` (no JVM)."""
    parts, depth, current = [], 0, ""
    for ch in ddl:  # split on top-level commas only: MAP<STRING, STRING> is one type
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    fields = [part.strip().partition(" ") for part in parts]
    return [(name.strip("`"), type_.strip()) for name, _, type_ in fields]


def ddl_names(ddl: str) -> list[str]:
    return [name for name, _ in ddl_fields(ddl)]


def quality_key(name: str) -> str:
    return f"quality/{name}"


def quarantine_key(dataset: Dataset) -> str:
    return f"quarantine/{dataset.sector}/{dataset.name}"


LIVE_AQI_KEY = "gold/environment/aqi_hourly_live"
"""The hourly VN_AQI the live stream (``jobs.stream``) recomputes as readings arrive."""


def live_key(dataset: Dataset) -> str:
    """A streamed dataset's live view (``jobs.stream``), beside its silver table."""
    return f"{dataset.table_path}_live"


def live_quarantine_key(dataset: Dataset) -> str:
    return f"{dataset.table_path}_live_quarantine"


def staging_key(dataset: Dataset, batch_id: str, part: str) -> str:
    """A batch's staged rows before its gate passes: ``part`` is ``silver`` or ``quarantine``."""
    return f"{STAGING_PREFIX}/{dataset.sector}/{dataset.name}/{batch_id}/{part}"


def table_uri(dataset: Dataset, settings: Settings) -> str:
    return settings.s3a_uri(dataset.table_path)


def quarantine_uri(dataset: Dataset, settings: Settings) -> str:
    return settings.s3a_uri(quarantine_key(dataset))


def silver_ddl(dataset: Dataset) -> str:
    cols = [f"`{f.name}` {f.type}" for f in dataset.fields]
    cols += ["`_batch_id` STRING", "`_source_file` STRING", "`_source_line` LONG", "`_ingested_at` TIMESTAMP"]
    return ", ".join(cols)


def table_metadata(uri: str) -> Any | None:
    """The Delta table at an ``s3a://`` URI (or a local path) as delta-rs sees it without its file list (schema and
    properties in milliseconds, where Spark replays the log in several jobs), or None if there is none."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    on_store = uri.startswith("s3a://")
    options = get_settings().delta_rs_storage_options() if on_store else None  # a local table needs no keys
    try:
        return DeltaTable(uri.replace("s3a://", "s3://", 1), storage_options=options, without_files=True)
    except TableNotFoundError:
        return None


def ensure_table(
    spark: SparkSession,
    uri: str,
    ddl_or_schema: str | StructType,
    partition_by: tuple[str, ...] = (),
    properties: Mapping[str, str] | None = None,
) -> None:
    """Create an empty Delta table at ``uri`` unless one exists, or add the columns an older one
    lacks (a lake built by an earlier version keeps working: ``ALTER TABLE ADD COLUMNS`` is a
    metadata-only commit and old rows read NULL there). Idempotent; the usual case (the table is
    there, complete) is a look at its metadata, no Spark job. ``properties``: table properties, set
    in the creating commit (or on an older table once, :func:`set_properties`)."""
    from pyspark.sql.types import StructType

    wanted = StructType.fromDDL(ddl_or_schema) if isinstance(ddl_or_schema, str) else ddl_or_schema
    assert isinstance(wanted, StructType)
    table = table_metadata(uri)
    if table is not None:
        existing = {f.name for f in table.schema().fields}
        missing = [f"`{f.name}` {f.dataType.simpleString()}" for f in wanted.fields if f.name not in existing]
        if missing:
            spark.sql(f"ALTER TABLE delta.`{uri}` ADD COLUMNS ({', '.join(missing)})")
        if properties:
            set_properties(spark, uri, properties, table)
        return
    empty = spark.createDataFrame(spark.sparkContext.emptyRDD(), wanted)
    writer = empty.write.format("delta").mode("ignore").options(**(properties or {}))
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(uri)


STATS_COLUMNS_PROPERTY = "delta.dataSkippingStatsColumns"
# Quarantine columns that may carry a record's raw values (a plate, a phone) get no min/max statistics:
# Delta writes those into its log, which outlives an erasure's redaction and VACUUM.
QUARANTINE_STATS_COLUMNS = tuple(
    n
    for n in ddl_names(QUARANTINE_DDL)
    if n not in ("dataset", "raw_line", "detail", "corrections", "accepted_rules", "record")
)  # ``dataset`` is the partition column: Delta keeps no statistics of it anyway


def set_properties(spark: SparkSession, uri: str, properties: Mapping[str, str], table: Any | None = None) -> None:
    """Set the existing table's ``properties`` unless they already have these values (one metadata
    commit, once). ``table``: its metadata if the caller just read it."""
    if table is None:
        table = table_metadata(uri)
    current = table.metadata().configuration if table is not None else {}
    changed = {k: v for k, v in properties.items() if current.get(k) != v}
    if changed:
        pairs = ", ".join(f"'{k}' = '{v}'" for k, v in changed.items())
        spark.sql(f"ALTER TABLE delta.`{uri}` SET TBLPROPERTIES ({pairs})")


def limit_statistics(spark: SparkSession, uri: str, columns: tuple[str, ...] | list[str]) -> None:
    """Set the existing table's statistics columns to ``columns``; later commits record min/max only
    for them."""
    set_properties(spark, uri, {STATS_COLUMNS_PROPERTY: ",".join(columns)})


def ensure_quarantine_table(spark: SparkSession, uri: str, properties: Mapping[str, str] | None = None) -> None:
    """Create the quarantine table, or evolve an older one to today's columns; statistics only on
    the columns that never hold a record's raw values. ``properties``: more table properties."""
    stats = {STATS_COLUMNS_PROPERTY: ",".join(QUARANTINE_STATS_COLUMNS)}
    ensure_table(spark, uri, QUARANTINE_DDL, ("dataset",), {**stats, **(properties or {})})


def ensure_silver_table(spark: SparkSession, dataset: Dataset, settings: Settings) -> str:
    """The dataset's silver table, created empty if no batch was published yet; returns its URI."""
    uri = table_uri(dataset, settings)
    ensure_table(spark, uri, silver_ddl(dataset), dataset.partition_by)
    return uri


def replace_rows(
    spark: SparkSession, rows: list[tuple[Any, ...]], ddl: str, key: str, predicate: str, settings: Settings
) -> None:
    """Replace the rows ``predicate`` selects in a small table (``quality/…``) by ``rows``, in one commit.

    Written with delta-rs: a few dozen rows commit in a fraction of a second, where a Spark write
    costs seconds of jobs per table and gate. Spark only creates the table or adds the columns an
    older lake lacks (``ensure_table``), both rare.
    """
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    wanted = StructType.fromDDL(ddl)
    assert isinstance(wanted, StructType)
    table = delta_table_or_none(settings, key)
    if table is None or set(wanted.names) - {f.name for f in table.schema().fields}:
        ensure_table(spark, settings.s3a_uri(key), wanted, ("dataset",))
        table = None  # read again below, as created or evolved
    schema = to_arrow_schema(wanted)
    data = pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema)
    replace_with_arrow(data, key, predicate, settings, table)


def replace_with_arrow(data: pa.Table, key: str, predicate: str, settings: Settings, table: Any | None = None) -> None:
    """Replace the rows ``predicate`` selects in the existing table at ``key`` by ``data``, in one
    delta-rs commit (``table``: the delta-rs table if the caller just opened it).

    For results of a few thousand to a few hundred thousand rows that one process writes every few
    seconds (the live path's alerts and hourly VN_AQI of a day, collected with ``DataFrame.toArrow``;
    the small ``quality/…`` tables, :func:`replace_rows`): committed in a fraction of a second, where a
    Spark overwrite costs seconds of jobs and log work."""
    import pyarrow as pa
    from deltalake import write_deltalake

    table = table if table is not None else delta_table_or_none(settings, key)
    if table is None:
        raise FileNotFoundError(f"no Delta table at {key}: create it first (ensure_table)")
    schema = pa.schema(table.schema().to_arrow())
    data = data.select(schema.names).cast(schema)  # the table's order and types
    write_deltalake(table, data, mode="overwrite", predicate=predicate)


def restricted_column(column: str, kind: PersonalKind) -> str:
    """Name of a personal column in the restricted table (a phone is stored in E.164)."""
    return f"{column}_e164" if kind == PersonalKind.PHONE else column


def restricted_uri(dataset: Dataset, settings: Settings) -> str:
    assert dataset.restricted_table_path is not None
    return settings.s3a_uri(dataset.restricted_table_path)


def restricted_columns(dataset: Dataset) -> list[tuple[str, str]]:
    """(name, Spark type) of the restricted table, in order."""
    assert dataset.personal is not None
    types = {f.name: f.type for f in dataset.fields}
    cols = [(k, types[k]) for k in dataset.natural_key]
    cols += [(f.name, "STRING") for f in dataset.pseudonym_fields if f.name not in dataset.natural_key]
    cols += [(f.name, "STRING") for f in dataset.key_id_fields]
    cols += [(restricted_column(c, k), "STRING") for c, k in dataset.personal.columns.items()]
    cols += [
        ("valid_from", "DATE"),
        ("valid_to", "DATE"),
        ("_batch_id", "STRING"),
        ("last_batch_id", "STRING"),
        ("_ingested_at", "TIMESTAMP"),
    ]
    return cols


def ensure_restricted_table(spark: SparkSession, dataset: Dataset, settings: Settings) -> str:
    """Create the restricted table once, with column statistics only on non-personal columns.

    Delta writes min/max statistics of the first columns into its log; personal values there
    would outlive an erasure's VACUUM, so only the key and validity dates get statistics. A table
    written by an earlier version gets the columns it lacks (the key ids: NULL = ``legacy``).
    """
    uri = restricted_uri(dataset, settings)
    if table_metadata(uri) is not None:
        ensure_table(spark, uri, ", ".join(f"`{n}` {t}" for n, t in restricted_columns(dataset)))
    else:
        ddl = ", ".join(f"`{n}` {t}" for n, t in restricted_columns(dataset))
        stats = ",".join([*dataset.natural_key, "valid_from", "valid_to"])
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS delta.`{uri}` ({ddl}) USING delta "
            f"TBLPROPERTIES ('delta.dataSkippingStatsColumns' = '{stats}')"
        )
    return uri
