"""Bronze parsing: every landed line keeps its raw text; malformed ones get an exact ``_parse_error``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import Row, SparkSession

from jobs.bronze import SchemaDriftError, check_header, parse_csv_lines, read_landed_lines
from jobs.errors import DataError
from jobs.registry import REGISTRY

COLUMNS = ("a", "b", "c")
AIR_QUALITY_READING = REGISTRY["air_quality_reading"]
AIR_READING_COLUMNS = AIR_QUALITY_READING.source.columns  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def parsed(spark: SparkSession) -> dict[int, Row]:
    lines = [
        "x,y,z",  # 2 well-formed
        '"Hà Nội, Láng",y,z',  # 3 quoted comma stays inside the field
        '"he said ""hi""",y,z',  # 4 "" is an escaped quote
        "x,y",  # 5 too few
        "x,y,z,w",  # 6 too many
        '"x,y,z',  # 7 unclosed quote
        "",  # 8 empty
        "   ",  # 9 blank counts as empty
        '"a,b",c',  # 10 a quoted comma does not count as a separator: 2 fields, not 3
        "x,,z",  # 11 an empty field is NULL, the line is fine
    ]
    df = spark.createDataFrame([(line, n) for n, line in enumerate(lines, start=2)], "line STRING, line_no LONG")
    out = parse_csv_lines(df, COLUMNS)
    assert out.columns == ["a", "b", "c", "_raw_line", "_source_line", "_parse_error"]
    assert dict(out.dtypes)["_source_line"] == "bigint"
    rows = {r["_source_line"]: r for r in out.collect()}
    assert sorted(rows) == list(range(2, 12))  # no line lost or invented
    return rows


def test_well_formed_line(parsed: dict[int, Row]) -> None:
    assert parsed[2].asDict() == {
        "a": "x",
        "b": "y",
        "c": "z",
        "_raw_line": "x,y,z",
        "_source_line": 2,
        "_parse_error": None,
    }


def test_quoted_comma_stays_in_field(parsed: dict[int, Row]) -> None:
    assert (parsed[3]["a"], parsed[3]["b"], parsed[3]["c"]) == ("Hà Nội, Láng", "y", "z")
    assert parsed[3]["_parse_error"] is None


def test_escaped_quotes(parsed: dict[int, Row]) -> None:
    assert parsed[4]["a"] == 'he said "hi"'
    assert parsed[4]["_parse_error"] is None


@pytest.mark.parametrize(
    ("line_no", "error", "raw"),
    [
        (5, "expected 3 fields, found 2", "x,y"),
        (6, "expected 3 fields, found 4", "x,y,z,w"),
        (7, "unclosed quote", '"x,y,z'),
        (8, "empty line", ""),
        (9, "empty line", "   "),
        (10, "expected 3 fields, found 2", '"a,b",c'),
    ],
)
def test_malformed_lines_keep_raw_text_and_exact_error(
    parsed: dict[int, Row], line_no: int, error: str, raw: str
) -> None:
    row = parsed[line_no]
    assert row["_parse_error"] == error
    assert row["_raw_line"] == raw
    # A malformed line is never half-parsed into the declared columns.
    assert (row["a"], row["b"], row["c"]) == (None, None, None)


def test_empty_field_is_null_not_an_error(parsed: dict[int, Row]) -> None:
    assert (parsed[11]["a"], parsed[11]["b"], parsed[11]["c"], parsed[11]["_parse_error"]) == ("x", None, "z", None)


def test_check_header_accepts_registered_columns_quoted_or_spaced() -> None:
    check_header(AIR_QUALITY_READING, ",".join(AIR_READING_COLUMNS))
    check_header(AIR_QUALITY_READING, ", ".join(f'"{c}"' for c in AIR_READING_COLUMNS))


def test_check_header_raises_schema_drift_with_helpful_message() -> None:
    renamed = ",".join("device_state" if c == "device_status" else c for c in AIR_READING_COLUMNS)
    with pytest.raises(SchemaDriftError) as info:
        check_header(AIR_QUALITY_READING, renamed)
    message = str(info.value)
    assert message.startswith("air_quality_reading: the source header [")
    assert "'device_state'" in message  # what arrived
    assert str(list(AIR_READING_COLUMNS)) in message  # what is registered
    assert "update the dataset's Source.columns" in message  # what to do about it
    assert isinstance(info.value, DataError)  # deterministic: the DAG fails it without retrying


def test_check_header_rejects_reordered_columns() -> None:
    swapped = (AIR_READING_COLUMNS[1], AIR_READING_COLUMNS[0], *AIR_READING_COLUMNS[2:])
    with pytest.raises(SchemaDriftError):
        check_header(AIR_QUALITY_READING, ",".join(swapped))


def test_bom_header_is_tolerated_and_lines_are_numbered(spark: SparkSession, tmp_path: Path) -> None:
    header = ",".join(AIR_READING_COLUMNS)
    data = [
        "S1,Trạm Láng,01,PM2.5,35.5,µg/Nm³,2026-11-26T08:00:00+07:00,measuring",
        "S1,Trạm Láng,01,PM10,60,µg/Nm³,2026-11-26T08:00:00+07:00,measuring",
    ]
    path = tmp_path / "readings.csv"
    path.write_bytes(("\ufeff" + header + "\r\n" + "\r\n".join(data) + "\r\n").encode("utf-8"))

    found_header, lines = read_landed_lines(spark, str(path))

    assert found_header == header  # BOM gone, so the header matches the registry ...
    check_header(AIR_QUALITY_READING, found_header)  # ... and does not raise
    assert [(r["line"], r["line_no"]) for r in lines.orderBy("line_no").collect()] == [(data[0], 2), (data[1], 3)]


def test_lines_of_a_many_block_file_are_numbered_in_file_order_with_the_guards_verdicts(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Spark reads a large object in blocks on several cores: every line keeps its own number, and the
    guards' verdicts (some computed in the JVM, the doubtful ones by :mod:`jobs.guards`) are exact."""
    from jobs.settings import InputLimits

    limits = InputLimits(max_record_chars=200, max_fields=6, max_json_depth=3)
    header = b"a,b,c"
    body = [f"row{n},{n * 7},x".encode() for n in range(1, 3001)]
    body[99] = b"S1,Tr\xe1m,z"  # line 101: a byte that is not UTF-8 after "S1,Tr"
    body[1499] = b"x" * 250  # line 1501: longer than the record limit
    body[2199] = b"1,2,3,4,5,6,7,8"  # line 2201: 8 fields, over the limit of 6
    body[2299] = b'1,"2,3,4,5,6,7",8'  # line 2301: 7 commas, but 3 fields (quotes): fine
    path = tmp_path / "big.csv"
    path.write_bytes(b"\n".join([header, *body]) + b"\n")
    saved = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")  # ≈ 10 blocks of ≈ 300 lines
    try:
        assert spark.read.text(str(path)).rdd.getNumPartitions() >= 10  # the reader's blocks, not its branches
        found_header, lines = read_landed_lines(spark, str(path), limits=limits)
        assert lines.rdd.getNumPartitions() >= 10
        rows = {r["line_no"]: r for r in lines.collect()}
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", saved)
    assert found_header == "a,b,c"
    assert sorted(rows) == list(range(2, 3002))  # the header is line 1, not data; no gap, no repeat
    assert rows[2]["line"] == "row1,7,x" and rows[3001]["line"] == "row3000,21000,x"
    assert rows[1234]["line"] == "row1233,8631,x"
    errors = {n: r["_decode_error"] for n, r in rows.items() if r["_decode_error"]}
    assert errors == {
        101: "invalid UTF-8: bytes that are not UTF-8 (at character 6)",
        1501: "record too large: 250 characters, the limit is 200 (LAKEHOUSE_MAX_RECORD_CHARS)",
        2201: "too many fields: 8, the limit is 6 (LAKEHOUSE_MAX_FIELDS)",
    }
    assert rows[101]["line"] == "S1,Tr\ufffdm,z"  # the bad byte read as U+FFFD (make_valid_utf8)
    assert {r["_charset"] for r in rows.values()} == {"utf-8"}


def test_json_lines_get_the_json_guards(spark: SparkSession, tmp_path: Path) -> None:
    from jobs.settings import InputLimits

    limits = InputLimits(max_record_chars=200, max_fields=6, max_json_depth=3)
    body = [
        '{"a": 1}',
        '{"a": [[[[1]]]]}',  # depth 5
        '{"a": "[[[[ in a string ]]]]"}',  # brackets in a string do not nest
        '{"a": NaN}',
        '{"a": "NaN"}',  # a string, not a number
    ]
    path = tmp_path / "page.jsonl"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    header, lines = read_landed_lines(spark, str(path), has_header=False, limits=limits)
    assert header == ""
    got = {r["line_no"]: (r["line"], r["_decode_error"]) for r in lines.collect()}
    assert got == {
        1: (body[0], None),
        2: (body[1], "nesting too deep: 5 levels, the limit is 3 (LAKEHOUSE_MAX_JSON_DEPTH)"),
        3: (body[2], None),
        4: (body[3], "non-finite number: NaN (JSON has no NaN or Infinity)"),
        5: (body[4], None),
    }
