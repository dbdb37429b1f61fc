"""Bronze: the landed lines parsed with the source's declared columns, plus lineage.

CSV payloads are split by position after checking the header; JSON-lines payloads (API pages,
MQTT messages, EPCIS events) are read by JSONPath per column.

Every column stays a string here (typing is silver's job, where a failed cast becomes a
quarantine reason instead of a lost row). A line that is not a well-formed CSV record with the
declared number of fields keeps its raw text and a ``_parse_error``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from jobs.errors import DataError
from jobs.payload import LandedBatch
from jobs.registry import Dataset, Source
from jobs.settings import Settings, get_settings
from jobs.tables import ensure_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# A double-quoted CSV field (with "" escapes); removing them leaves only separators that count.
_QUOTED_FIELD = r'"(?:[^"]|"")*"'


class SchemaDriftError(DataError):
    """The source's header no longer matches the registered columns."""


def parse_csv_lines(lines: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    """Split ``(line, line_no)`` rows into the declared columns; flag malformed lines.

    Pure transform: no I/O. ``line_no`` is 1-based within the file (the header, line 1, must
    already be removed). A line is malformed when it has an odd number of quotes (unclosed
    field) or a number of separators outside quotes different from ``len(columns) - 1``.
    """
    from pyspark.sql import functions as F

    line = F.col("line")
    unquoted = F.regexp_replace(line, _QUOTED_FIELD, "")
    fields_found = F.size(F.split(unquoted, ",", -1))
    quote_count = F.length(line) - F.length(F.regexp_replace(line, '"', ""))
    parse_error = (
        F.when(F.trim(line) == "", F.lit("empty line"))
        .when(quote_count % 2 == 1, F.lit("unclosed quote"))
        .when(
            fields_found != len(columns),
            F.concat(F.lit(f"expected {len(columns)} fields, found "), fields_found.cast("string")),
        )
    )
    schema = ", ".join(f"`{c}` STRING" for c in columns)
    parsed = F.from_csv(line, schema, {"mode": "PERMISSIVE", "escape": '"', "ignoreLeadingWhiteSpace": "false"})
    return lines.select(
        *[F.when(parse_error.isNull(), parsed[c]).alias(c) for c in columns],
        line.alias("_raw_line"),
        F.col("line_no").cast("long").alias("_source_line"),
        parse_error.alias("_parse_error"),
    )


def parse_json_lines(lines: DataFrame, source: Source) -> DataFrame:
    """Read the declared columns out of ``(line, line_no)`` JSON-lines rows; flag lines that are not objects.

    Pure transform: no I/O. Each column comes from ``source.json_path(column)`` as text (numbers as
    written, arrays and objects as JSON), so typing stays silver's job, as for CSV.
    """
    from pyspark.sql import functions as F

    line = F.col("line")
    parse_error = F.when(F.trim(line) == "", F.lit("empty line")).when(
        ~F.ltrim(line).startswith("{") | F.get_json_object(line, "$").isNull(), F.lit("not a JSON object")
    )
    return lines.select(
        *[F.when(parse_error.isNull(), F.get_json_object(line, source.json_path(c))).alias(c) for c in source.columns],
        line.alias("_raw_line"),
        F.col("line_no").cast("long").alias("_source_line"),
        parse_error.alias("_parse_error"),
    )


def _decoded_lines(payload: bytes, charset: str) -> list[str]:
    lines = re.split(r"\r\n|\r|\n", payload.decode(charset))
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_landed_lines(
    spark: SparkSession, uri: str, has_header: bool = True, charset: str = "utf-8"
) -> tuple[str, DataFrame]:
    """The header (CSV) and the numbered data lines of a landed text object (order kept at any size).

    A payload that is not UTF-8 (``charset`` from landing) is decoded byte for byte in that charset
    rather than through Hadoop's UTF-8 reader, which would replace the legacy bytes and lose them.
    """
    if charset.lower().replace("_", "-") in ("utf-8", "utf8"):
        rdd = spark.sparkContext.textFile(uri).zipWithIndex()
    else:
        rdd = (
            spark.sparkContext.binaryFiles(uri).flatMap(lambda named: _decoded_lines(named[1], charset)).zipWithIndex()
        )
    first = 1 if has_header else 0
    header = ""
    if has_header:
        header_rows = rdd.filter(lambda pair: pair[1] == 0).map(lambda pair: pair[0]).take(1)
        header = header_rows[0].lstrip("\ufeff") if header_rows else ""
    data = rdd.filter(lambda pair: pair[1] >= first).map(lambda pair: (pair[0], pair[1] + 1))
    return header, spark.createDataFrame(data, "line STRING, line_no LONG")


def check_header(dataset: Dataset, header: str) -> None:
    assert dataset.source is not None
    found = tuple(h.strip().strip('"') for h in header.split(","))
    if found != dataset.source.columns:
        raise SchemaDriftError(
            f"{dataset.name}: the source header {list(found)} differs from the registered columns "
            f"{list(dataset.source.columns)}. If the source changed its layout on purpose, update the "
            "dataset's Source.columns in the registry (and its transform); otherwise ask the source to resend."
        )


def bronze_table_uri(dataset: Dataset, settings: Settings) -> str:
    return settings.s3a_uri(f"bronze/{dataset.sector}/{dataset.name}")


def load_bronze(spark: SparkSession, dataset: Dataset, batch: LandedBatch, settings: Settings | None = None) -> int:
    """Parse the landed batch and (re)write it into the bronze table; returns the row count.

    The write replaces exactly this batch (``replaceWhere _batch_id``), so reruns are exact.
    """
    from pyspark.sql import functions as F

    settings = settings or get_settings()
    assert dataset.source is not None
    is_csv = batch.format == "csv"
    header, lines = read_landed_lines(spark, settings.s3a_uri(batch.key), is_csv, batch.charset)
    if is_csv:
        check_header(dataset, header)
        fields = parse_csv_lines(lines, dataset.source.columns)
    else:
        fields = parse_json_lines(lines, dataset.source)
    parsed = fields.select(
        "*",
        F.lit(batch.batch_id).alias("_batch_id"),
        F.lit(batch.source_file).alias("_source_file"),
        F.to_timestamp(F.lit(batch.ingested_at)).alias("_ingested_at"),
    )
    uri = bronze_table_uri(dataset, settings)
    ensure_table(spark, uri, parsed.schema, ("_batch_id",))  # a source that gained columns evolves the table
    (
        parsed.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"_batch_id = '{batch.batch_id}'")
        .partitionBy("_batch_id")
        .save(uri)
    )
    return batch.data_rows


def read_bronze_batch(
    spark: SparkSession, dataset: Dataset, batch_id: str, settings: Settings | None = None
) -> DataFrame:
    from pyspark.sql import functions as F

    settings = settings or get_settings()
    return spark.read.format("delta").load(bronze_table_uri(dataset, settings)).where(F.col("_batch_id") == batch_id)
