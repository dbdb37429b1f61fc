"""Query parsing without a store: which tables a query reads, read-only, errors that say where."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from jobs.cli import main
from jobs.errors import UserFacingError
from jobs.query import referenced_tables, refuse_jvm_calls, run_query, spark_sql
from jobs.settings import Settings

JOIN = (
    "WITH t AS (SELECT * FROM gold.environment_aqi_daily WHERE band <> 'Tốt') "
    'SELECT a.province_code, count(*) FROM t a JOIN silver."environment_air_station" b '
    "ON a.station_id = b.station_id WHERE b.station_name <> 'Hà Nội' "
    "AND a.station_id IN (SELECT station_id FROM t) GROUP BY 1"
)


def test_tables_are_found_by_the_parser_and_ctes_are_not_tables() -> None:
    refs = referenced_tables(JOIN)
    assert [r.table.name for r in refs] == ["gold.environment_aqi_daily", "silver.environment_air_station"]
    assert [len(r.spans) for r in refs] == [1, 1]


def test_spark_sql_replaces_exactly_the_table_names_even_after_non_ascii_text() -> None:
    assert spark_sql(JOIN, referenced_tables(JOIN)) == (
        "WITH t AS (SELECT * FROM `gold__environment_aqi_daily` WHERE band <> 'Tốt') "
        "SELECT a.province_code, count(*) FROM t a JOIN `silver__environment_air_station` b "
        "ON a.station_id = b.station_id WHERE b.station_name <> 'Hà Nội' "
        "AND a.station_id IN (SELECT station_id FROM t) GROUP BY 1"
    )


def test_same_table_twice_is_opened_once_with_both_spans() -> None:
    sql = "SELECT * FROM quality.scores s1 JOIN quality.scores s2 USING (dataset)"
    refs = referenced_tables(sql)
    assert [r.table.name for r in refs] == ["quality.scores"]
    assert spark_sql(sql, refs) == "SELECT * FROM `quality__scores` s1 JOIN `quality__scores` s2 USING (dataset)"


def test_bad_sql_error_points_at_the_line_and_shows_the_query() -> None:
    sql = "SELECT station_id\nFROM gold.environment_aqi_daily\nWHERE vn_aqi >> > 100"
    with pytest.raises(UserFacingError) as err:
        referenced_tables(sql)
    message = str(err.value)
    assert "does not parse" in message
    assert "LINE 3: WHERE vn_aqi >> > 100" in message
    assert message.endswith(sql)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP TABLE gold.environment_aqi_daily", "only a SELECT query can run here"),
        ("SELECT 1; SELECT 2", "one SELECT statement per query, not 2"),
        ("SELECT * FROM aqi_daily", "Did you mean gold.environment_aqi_daily"),
        ("SELECT * FROM gold.environment_aqi_dayly", "Did you mean gold.environment_aqi_daily"),
        ("SELECT * FROM lakehouse.gold.environment_aqi_daily", "unknown table 'lakehouse.gold.environment_aqi_daily'"),
        ("   ", "empty query"),
    ],
)
def test_what_cannot_run_is_refused_before_any_table_is_opened(sql: str, expected: str) -> None:
    with pytest.raises(UserFacingError, match=expected):
        referenced_tables(sql)


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(UserFacingError, match="unknown engine 'trino'"):
        run_query("SELECT 1", settings=Settings(), engine="trino")


def test_cli_parquet_needs_an_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "SELECT 1", "--format", "parquet"]) == 2
    assert "--format parquet needs --output FILE" in capsys.readouterr().err


def test_cli_unknown_table_exits_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", "gold.aqi"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lakehouse describe: unknown table 'gold.aqi'.")
    assert "Traceback" not in err


# Spark reads \\' as an escaped quote and "…" as a string; DuckDB reads '' as the escaped quote:
# to DuckDB all after SELECT is one literal, to Spark a literal, a reflect() call and a comment.
HIDDEN_FROM_DUCKDB = r"""SELECT 'a\'' , reflect("java.lang.System", "getenv", "HOME") AS leak --'"""


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT reflect('java.lang.System', 'getenv', 'HOME') AS x FROM `gold__environment_aqi_daily`",
        "SELECT `java_method`('java.lang.System', 'getenv', 'HOME')",
        "SELECT TRY_REFLECT('java.lang.System', 'getenv', 'HOME')",
        "SELECT system.builtin.reflect('java.lang.System', 'getenv', 'HOME')",
        "SELECT transform(array(1), x -> reflect('java.lang.System', 'getenv', 'HOME'))",
        "SELECT 1 WHERE 'a' IN (SELECT java_method ('java.lang.System', 'getenv', 'HOME'))",
        HIDDEN_FROM_DUCKDB,
    ],
)
def test_java_calls_are_refused_by_what_spark_parses(spark: SparkSession, sql: str) -> None:
    with pytest.raises(UserFacingError, match=r"calls Java methods and is not allowed"):
        refuse_jvm_calls(spark, sql)


def test_the_escape_trick_hides_the_call_from_duckdb() -> None:
    """Why the check reads Spark's plan: DuckDB sees one string literal and a plain SELECT."""
    assert referenced_tables(HIDDEN_FROM_DUCKDB) == []  # one SELECT of one literal, no error


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT station_id, round(avg(vn_aqi), 1) AS mean FROM `gold__environment_aqi_daily` GROUP BY station_id",
        "SELECT 'reflect on this' AS note, reflectance FROM t",
        "SELECT my_reflect(1), reflect_x FROM t",
    ],
)
def test_ordinary_queries_pass_the_java_call_check(spark: SparkSession, sql: str) -> None:
    refuse_jvm_calls(spark, sql)
