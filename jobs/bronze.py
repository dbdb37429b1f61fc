"""Bronze: the landed lines parsed with the source's declared columns, plus lineage.

CSV payloads are split by position after checking the header; JSON-lines payloads (API pages,
MQTT messages, EPCIS events) are read by JSONPath per column.

Every column stays a string here (typing is silver's job, where a failed cast becomes a
quarantine reason instead of a lost row). A line that is not a well-formed CSV record with the
declared number of fields keeps its raw text and a ``_parse_error``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from jobs.errors import DataError
from jobs.guards import INVALID_ENCODING_MESSAGE, RECORD_TOO_LARGE_MESSAGE, header_problem, record_problem
from jobs.payload import LandedBatch
from jobs.registry import Dataset, Source
from jobs.settings import InputLimits, Settings, get_settings
from jobs.tables import ensure_table
from jobs.text import Charset, cp1252_view, decode_as

if TYPE_CHECKING:
    from pyspark import RDD
    from pyspark.sql import Column, DataFrame, SparkSession

# A double-quoted CSV field (with "" escapes); removing them leaves only separators that count.
# Written as an unrolled loop: Java runs ``(?:[^"]|"")*`` by recursion, one frame per character,
# and a long quoted field overflowed the executor thread's stack; ``[^"]*`` is iterative.
_QUOTED_FIELD = r'"[^"]*(?:""[^"]*)*"'


class SchemaDriftError(DataError):
    """The source's header no longer matches the registered columns."""


def _decode_error(lines: DataFrame) -> Column:
    """The line's decode error (set by :func:`read_landed_lines`), NULL for frames built without one."""
    from pyspark.sql import functions as F

    return F.col("_decode_error") if "_decode_error" in lines.columns else F.lit(None).cast("string")


def _charset(lines: DataFrame) -> list[Column]:
    """The line's charset as ``_charset``, when the frame has one."""
    from pyspark.sql import functions as F

    return [F.col("_charset")] if "_charset" in lines.columns else []


def parse_csv_lines(lines: DataFrame, columns: tuple[str, ...], keep: Sequence[str] = ()) -> DataFrame:
    """Split ``(line, line_no)`` rows into the declared columns; flag malformed lines. ``keep``: columns
    of ``lines`` passed through as they are (the live path's lineage).

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
        F.when(_decode_error(lines).isNotNull(), _decode_error(lines))
        .when(F.trim(line) == "", F.lit("empty line"))
        .when(quote_count % 2 == 1, F.lit("unclosed quote"))
        .when(
            fields_found != len(columns),
            F.concat(F.lit(f"expected {len(columns)} fields, found "), fields_found.cast("string")),
        )
    )
    schema = ", ".join(f"`{c}` STRING" for c in columns)
    # from_csv only ever sees a line that passed the checks above: Spark may evaluate it before the
    # CASE picks a branch, and univocity dies (ArrayIndexOutOfBounds) on a record of > 20,480 fields.
    # A malformed line parses as NULL, so every field of it is NULL. The fields are read straight
    # off the one parse: under a CASE each would be a parse of its own (Spark shares a common
    # expression only where it is always evaluated): 8 parses a line, 6 of the 9 s at 10⁶ lines.
    checked = F.when(parse_error.isNull(), line)
    parsed = F.from_csv(checked, schema, {"mode": "PERMISSIVE", "escape": '"', "ignoreLeadingWhiteSpace": "false"})
    return lines.select(
        *[parsed[c].alias(c) for c in columns],
        line.alias("_raw_line"),
        F.col("line_no").cast("long").alias("_source_line"),
        parse_error.alias("_parse_error"),
        *_charset(lines),
        *keep,
    )


def parse_json_lines(lines: DataFrame, source: Source, keep: Sequence[str] = ()) -> DataFrame:
    """Read the declared columns out of ``(line, line_no)`` JSON-lines rows; flag lines that are not objects.
    ``keep``: columns of ``lines`` passed through as they are.

    Pure transform: no I/O. Each column comes from ``source.json_path(column)`` as text (numbers as
    written, arrays and objects as JSON), so typing stays silver's job, as for CSV.
    """
    from pyspark.sql import functions as F

    line = F.col("line")
    parse_error = (
        F.when(_decode_error(lines).isNotNull(), _decode_error(lines))
        .when(F.trim(line) == "", F.lit("empty line"))
        .when(~F.ltrim(line).startswith("{") | F.get_json_object(line, "$").isNull(), F.lit("not a JSON object"))
    )
    return lines.select(
        *[F.when(parse_error.isNull(), F.get_json_object(line, source.json_path(c))).alias(c) for c in source.columns],
        line.alias("_raw_line"),
        F.col("line_no").cast("long").alias("_source_line"),
        parse_error.alias("_parse_error"),
        *_charset(lines),
        *keep,
    )


_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def _decoded_lines(
    payload: bytes, charsets: tuple[tuple[int, str], ...], fmt: str = "csv", limits: InputLimits | None = None
) -> list[tuple[str, str, str | None]]:
    """(text, charset, decode error) per line, each line read in the charset of the file it came from.

    A line that is not valid in its file's charset keeps its cp1252 view (lossless) and an error,
    so silver quarantines it as malformed instead of storing mojibake; a line the guards refuse
    (:func:`jobs.guards.record_problem`) keeps its text and their error.
    """
    limits = limits or InputLimits()
    batch = LandedBatch("", "", "", "", "", 0, "", newly_landed=False, charsets=charsets)
    lines = _LINE_BREAK.split(payload)
    if lines and lines[-1] == b"":
        lines.pop()
    out: list[tuple[str, str, str | None]] = []
    for number, raw in enumerate(lines, start=1):
        charset = cast("Charset", batch.charset_of_line(number))
        text = decode_as(raw, charset)
        error = None if text is not None else f"bytes not valid in the file's charset ({charset})"
        text = text if text is not None else cp1252_view(raw)
        out.append((text, charset, error or record_problem(text, fmt, limits)))
    return out


def _occurrences(line: Column, *needles: str) -> Column:
    """How many times the single characters ``needles`` occur in ``line`` (together)."""
    from pyspark.sql import functions as F

    total = F.lit(0)
    for needle in needles:
        total = total + F.length(line) - F.length(F.replace(line, F.lit(needle), F.lit("")))
    return total


def _numbered_utf8_lines(spark: SparkSession, uri: str, fmt: str, limits: InputLimits) -> tuple[str, DataFrame]:
    """The lines of a plain UTF-8 object, numbered from 0, with the guards' verdict, in the JVM.

    Spark's text reader splits the object into blocks; a line's number is the lines of the blocks
    before its own plus its place in its block (``monotonically_increasing_id`` counts up by one
    within a partition, and a block is never split between partitions). One small aggregation finds
    each block's line count and first line (the header); no line goes through Python except the
    few the guards must look at closely (:func:`jobs.guards.record_problem` decides those):
    a CSV line with at least ``max_fields`` commas, a JSON line with more brackets than the depth
    limit or with ``NaN`` / ``Infinity`` in it. The cheap verdicts (too long; bytes that are not
    UTF-8, which ``make_valid_utf8`` turns into U+FFFD) are the same checks in Spark SQL.
    """
    from pyspark.sql import functions as F

    scanned = spark.read.text(uri).select(
        F.make_valid_utf8("value").alias("line"),
        F.input_file_block_start().alias("_block"),
        F.monotonically_increasing_id().alias("_row_id"),
    )
    blocks = (
        scanned.groupBy("_block")
        .agg(F.count("*").alias("n"), F.min("_row_id").alias("first_id"), F.min_by("line", "_row_id").alias("first"))
        .orderBy("_block")
        .collect()
    )
    shift: list[Column] = []
    before = 0
    for block in blocks:
        shift += [F.lit(block["_block"]), F.lit(before - block["first_id"])]
        before += block["n"]
    header = blocks[0]["first"] if blocks else ""
    if not blocks:
        shift = [F.lit(0), F.lit(0)]
    numbered = scanned.select("line", (F.col("_row_id") + F.create_map(*shift)[F.col("_block")]).alias("_index"))
    line = F.col("line")
    length = F.char_length(line)
    bad_byte = F.instr(line, "\ufffd")
    cheap = F.when(
        length > limits.max_record_chars,
        F.format_string(RECORD_TOO_LARGE_MESSAGE, length, F.lit(limits.max_record_chars)),
    ).when(bad_byte > 0, F.format_string(INVALID_ENCODING_MESSAGE, bad_byte))
    if fmt == "csv":
        closer_look = _occurrences(line, ",") >= limits.max_fields
    else:
        closer_look = (_occurrences(line, "[", "{") > limits.max_json_depth) | line.contains("NaN")
        closer_look = closer_look | line.contains("Infinity")
    closer_look = F.coalesce(closer_look & cheap.isNull(), F.lit(False))
    guard = F.udf(lambda text: record_problem(text, fmt, limits, utf8_read=True), "string")
    plain = numbered.where(~closer_look).select("line", "_index", cheap.alias("_decode_error"))
    odd = numbered.where(closer_look).select("line", "_index", guard(line).alias("_decode_error"))
    return str(header), plain.unionByName(odd)


def read_landed_lines(
    spark: SparkSession,
    uri: str,
    has_header: bool = True,
    charsets: tuple[tuple[int, str], ...] = ((1, "utf-8"),),
    limits: InputLimits | None = None,
) -> tuple[str, DataFrame]:
    """The header (CSV) and the numbered data lines of a landed text object (order kept at any size).

    ``charsets`` (from landing: runs of payload lines decided alike, see
    :class:`jobs.text.CharsetEvidence`) say how each line's bytes are read; the result carries it per
    line (``_charset``) with a ``_decode_error`` for a line its charset cannot read. A payload that
    is plain UTF-8 throughout goes through Hadoop's line reader (fast at any size); any other is
    decoded line by line from its bytes, which Hadoop's UTF-8 reader would replace and lose.

    Every line first passes the hostile-input guards (``limits``, :mod:`jobs.guards`): a line too
    large, with too many fields, nested too deep or with bytes that are not UTF-8 gets their error
    as ``_decode_error``, so no CSV regex or JSON parser ever runs on it (a 10 MB field cannot
    overflow a regex's stack) and silver quarantines it with the guard's reason.
    """
    from pyspark.sql import functions as F

    limits = limits or InputLimits()
    fmt = "csv" if has_header else "jsonl"
    first = 1 if has_header else 0
    if all(charset == "utf-8" for _, charset in charsets):
        first_line, numbered = _numbered_utf8_lines(spark, uri, fmt, limits)
        data_lines = numbered.where(F.col("_index") >= first).select(
            "line",
            (F.col("_index") + 1).alias("line_no"),
            F.lit("utf-8").alias("_charset"),
            "_decode_error",
        )
        return (first_line.lstrip("\ufeff") if has_header else ""), data_lines
    rdd: RDD[tuple[tuple[str, str, str | None], int]] = (
        spark.sparkContext.binaryFiles(uri)
        .flatMap(lambda named: _decoded_lines(named[1], charsets, fmt, limits))
        .zipWithIndex()
    )
    header = ""
    if has_header:
        header_rows = rdd.filter(lambda pair: pair[1] == 0).map(lambda pair: pair[0][0]).take(1)
        header = header_rows[0].lstrip("\ufeff") if header_rows else ""
    data = rdd.filter(lambda pair: pair[1] >= first).map(lambda pair: (*pair[0], pair[1] + 1))
    lines = spark.createDataFrame(data, "line STRING, _charset STRING, _decode_error STRING, line_no LONG")
    return header, lines.select("line", "line_no", "_charset", "_decode_error")


def check_header(dataset: Dataset, header: str, limits: InputLimits | None = None) -> None:
    assert dataset.source is not None
    problem = header_problem(header.count(",") + 1, limits or InputLimits())
    if problem:
        raise SchemaDriftError(
            f"{dataset.name}: {problem}; the registered source has {len(dataset.source.columns)} "
            f"({', '.join(dataset.source.columns)}). Nothing of this batch was parsed: ask the source to resend "
            "the file with the agreed columns, then delete the landed object and rerun."
        )
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
    charsets = tuple((int(first), str(charset)) for first, charset in batch.charsets)  # lists after XCom
    header, lines = read_landed_lines(spark, settings.s3a_uri(batch.key), is_csv, charsets, settings.limits)
    if is_csv:
        check_header(dataset, header, settings.limits)
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
