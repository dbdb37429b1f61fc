"""Read-only SQL over the lakehouse: DuckDB in-process (interactive) or Spark (same SQL, at scale).

DuckDB runs over delta-rs Arrow datasets, so no DuckDB extension (they would download from the
internet) and no JVM is needed: filters and projections are pushed down into the Parquet scan.
The tables a query names are found by DuckDB's own parser (``json_serialize_sql``), and only
those are opened, with the caller's credentials, pinned to one Delta version each; the Spark
engine reads exactly those versions too, so both engines answer from the same snapshot. A process
keeps its DuckDB connections and the tables it opened between queries (``_engine``, ``_check_out``):
opening them is most of a query's time on a gold table.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs.catalog import (
    CatalogTable,
    denied_error,
    is_denied,
    parse_as_of,
    require_delta,
    resolve,
    schemas,
    unknown_table_error,
)
from jobs.errors import UserFacingError
from jobs.registry import Ministry
from jobs.settings import Settings
from jobs.spark import get_spark

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from deltalake import DeltaTable
    from pyspark.sql import SparkSession

ENGINES = ("duckdb", "spark")

# One (possibly quoted, dotted) SQL name, as bytes: DuckDB reports table positions as byte offsets.
_IDENT = rb'(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = re.compile(_IDENT + rb"(?:\s*\.\s*" + _IDENT + rb")*")


@dataclass
class TableRef:
    """A catalog table a query names, and where (byte spans) the SQL names it."""

    table: CatalogTable
    spans: list[tuple[int, int]] = field(default_factory=list)


_connections = threading.local()
"""Each thread's two DuckDB connections, made once: a new in-memory database costs ≈ 17-25 ms here, more
than a query on a gold table, and a query used to make two."""


def _parser() -> duckdb.DuckDBPyConnection:
    """The thread's connection for parsing only (it never holds a table)."""
    import duckdb

    con = getattr(_connections, "parser", None)
    if con is None:
        con = _connections.parser = duckdb.connect()
    return con


def _engine() -> duckdb.DuckDBPyConnection:
    """The thread's connection that runs queries: no local files, no URLs, no extension downloads,
    UTC, the catalog's schemas. Between queries it holds no table (``_run_duckdb`` drops them)."""
    import duckdb

    con = getattr(_connections, "engine", None)
    if con is None:
        con = duckdb.connect(config={"enable_external_access": False, "autoinstall_known_extensions": False})
        con.execute("SET TimeZone = 'UTC'")  # Delta timestamps are UTC instants; show them so
        for schema in schemas():
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        _connections.engine = con
    return con


def _parse_error(sql: str) -> UserFacingError:
    """DuckDB's own parser message: it names the line and points at the position."""
    import duckdb

    try:
        _parser().extract_statements(sql)
    except duckdb.Error as err:
        return UserFacingError(f"the SQL does not parse: {err}\nFix the query; it was:\n{sql}")
    return UserFacingError(f"the SQL does not parse; it was:\n{sql}")


def _walk(node: Any, refs: list[dict[str, Any]], ctes: set[str]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE" and "table_name" in node:
            refs.append(node)
        for entry in (node.get("cte_map") or {}).get("map", []):
            ctes.add(str(entry.get("key", "")).lower())
        for value in node.values():
            _walk(value, refs, ctes)
    elif isinstance(node, list):
        for value in node:
            _walk(value, refs, ctes)


def referenced_tables(sql: str) -> list[TableRef]:
    """The catalog tables ``sql`` reads, with where it names them; user errors for anything else.

    Only one SELECT statement is accepted: queries are read-only.
    """

    if not sql.strip():
        raise UserFacingError('empty query: give one SELECT statement, e.g. "SELECT * FROM gold.… LIMIT 10".')
    tree = json.loads(_parser().execute("SELECT json_serialize_sql($1)", [sql]).fetchone()[0])  # type: ignore[index]
    if tree.get("error"):
        if tree.get("error_type") == "parser":
            raise _parse_error(sql)
        first = sql.split()[0].upper()
        raise UserFacingError(
            f"only a SELECT query can run here (queries are read-only), not {first} …; "  # nosec B608  # an error message, not a query
            'e.g. "SELECT * FROM gold.environment_aqi_daily LIMIT 10".'
        )
    if len(tree["statements"]) != 1:
        raise UserFacingError(f"give one SELECT statement per query, not {len(tree['statements'])}.")
    nodes: list[dict[str, Any]] = []
    ctes: set[str] = set()
    _walk(tree["statements"], nodes, ctes)
    encoded = sql.encode("utf-8")
    found: dict[str, TableRef] = {}
    for node in nodes:
        schema, name, catalog = node.get("schema_name") or "", node["table_name"], node.get("catalog_name") or ""
        if not schema and not catalog and name.lower() in ctes:
            continue
        written = ".".join(p for p in (catalog, schema, name) if p)
        if catalog or not schema:
            raise unknown_table_error(written)
        if node.get("at_clause"):
            raise UserFacingError(f"{written}: use --as-of for time travel (it applies to every table in the query).")
        table = resolve(f"{schema}.{name}")
        ref = found.setdefault(table.name, TableRef(table))
        start = int(node["query_location"])
        match = _QUALIFIED.match(encoded, start)
        if match is not None and start < len(encoded):
            ref.spans.append((start, match.end()))
    return list(found.values())


SNAPSHOTS_KEPT = 64
"""Open Delta tables a process keeps between queries (a notebook, a service answering many)."""
_snapshots: OrderedDict[tuple[str, ...], DeltaTable] = OrderedDict()
_snapshots_lock = threading.Lock()

Opened = dict[str, tuple[tuple[str, ...] | None, "DeltaTable"]]
"""A query's tables by catalog name: (key among the kept tables or None, snapshot)."""


def _check_out(
    table: CatalogTable, settings: Settings, as_of: int | datetime | None, ministry: Ministry | None
) -> tuple[tuple[str, ...] | None, DeltaTable]:
    """The table's snapshot, taken from the process's open tables where it has one (and kept out of
    them until the query is done: :func:`_check_in`, so no other query moves it meanwhile).

    Opening a table on the store costs a new connection (TLS) and a read of its log each time; an
    open table reads only the commits made since (``update_incremental``), over the connections it
    holds, so a query still sees the latest version. Kept per caller (the store, the access key and
    its secret): one caller's open table never serves another, and a caller whose access was
    withdrawn is refused at the next update. A version (``as_of``) never changes and is kept as it
    is; a timestamp is resolved against the table's history each time (not kept).
    """
    if isinstance(as_of, datetime):
        return None, require_delta(table, settings, as_of=as_of, ministry=ministry)
    secret = hashlib.sha256(settings.s3_secret_key.encode()).hexdigest()  # a rotated secret opens anew
    key = (settings.s3_endpoint, settings.s3_uri(table.key), settings.s3_access_key, secret, str(as_of))
    with _snapshots_lock:
        dt = _snapshots.pop(key, None)
    if dt is None:
        return key, require_delta(table, settings, as_of=as_of, ministry=ministry)
    if as_of is None:
        try:
            dt.update_incremental()
        except Exception as err:
            if is_denied(err):
                raise denied_error(table.name, err, ministry) from None
            return key, require_delta(table, settings, as_of=as_of, ministry=ministry)  # replaced or dropped
    return key, dt


def _check_in(opened: Opened) -> None:
    """Keep a finished query's tables open for the next (the least recently used go first)."""
    with _snapshots_lock:
        for key, dt in opened.values():
            if key is not None:
                _snapshots[key] = dt
        while len(_snapshots) > SNAPSHOTS_KEPT:
            _snapshots.popitem(last=False)


def _failure(err: BaseException, refs: list[TableRef], ministry: Ministry | None, sql: str) -> UserFacingError:
    if is_denied(err):
        return denied_error(", ".join(r.table.name for r in refs) or "the query", err, ministry)
    return UserFacingError(f"the query failed: {err}\nThe query was:\n{sql}")


def _run_duckdb(
    sql: str, refs: list[TableRef], snapshots: dict[str, DeltaTable], ministry: Ministry | None
) -> pa.Table:
    import duckdb

    con = _engine()
    registered: list[tuple[str, str]] = []  # (arrow source, view) to drop after the query
    try:
        for ref in refs:
            source = f"__{ref.table.schema}__{ref.table.table}"
            view = f'"{ref.table.schema}"."{ref.table.table}"'
            con.register(source, snapshots[ref.table.name].to_pyarrow_dataset())
            registered.append((source, view))
            con.execute(f'CREATE OR REPLACE VIEW {view} AS SELECT * FROM "{source}"')  # nosec B608  # names from the catalog, not from the caller
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as err:
        raise _failure(err, refs, ministry, sql) from None
    except OSError as err:
        raise _failure(err, refs, ministry, sql) from None
    finally:
        _forget(con, registered)


def _forget(con: duckdb.DuckDBPyConnection, registered: list[tuple[str, str]]) -> None:
    """Drop a query's views and tables, so the next query on the connection (maybe another caller's)
    finds none of them; a connection that cannot drop them is closed and not used again."""
    import duckdb

    try:
        for source, view in registered:
            con.execute(f"DROP VIEW IF EXISTS {view}")
            con.unregister(source)
    except duckdb.Error:
        _connections.engine = None
        con.close()


def spark_sql(sql: str, refs: list[TableRef]) -> str:
    """``sql`` with each catalog name replaced by its Spark temp view (views cannot be qualified)."""
    encoded = sql.encode("utf-8")
    spans = sorted(((s, e, r.table) for r in refs for s, e in r.spans), reverse=True)
    for start, end, table in spans:
        encoded = encoded[:start] + f"`{spark_view(table)}`".encode() + encoded[end:]
    return encoded.decode("utf-8")


def spark_view(table: CatalogTable) -> str:
    return f"{table.schema}__{table.table}"


JVM_FUNCTIONS = ("reflect", "java_method", "try_reflect")
"""Spark SQL functions that call any Java method (``reflect('java.lang.System', 'getenv', …)``)."""
_JVM_CALL = re.compile(r"(?<![\w$])(" + "|".join(JVM_FUNCTIONS) + r")\s*\(", re.IGNORECASE)


def refuse_jvm_calls(spark: SparkSession, sql: str) -> None:
    """Refuse, before anything runs, a query that calls a Java method through Spark SQL.

    The check reads the plan Spark's own parser makes of ``sql`` (not the text: Spark's string
    escapes differ from DuckDB's, so a call can hide inside what DuckDB reads as a literal), where a
    call shows as ``'name(`` or ``'catalog.schema.name(``. A literal that merely contains such text
    is refused too: a false refusal is safe, a missed call is not.
    """
    from pyspark.errors import PySparkException

    try:
        plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(sql).treeString()
    except PySparkException as err:
        raise UserFacingError(f"Spark cannot parse the query: {err}") from None
    match = _JVM_CALL.search(plan)
    if match:
        raise UserFacingError(
            f"{match.group(1)}() calls Java methods and is not allowed in lakehouse queries "
            f"(refused before it ran). Remove it; the functions {', '.join(JVM_FUNCTIONS)} are refused."
        )


def _run_spark(
    sql: str, refs: list[TableRef], snapshots: dict[str, DeltaTable], settings: Settings, ministry: Ministry | None
) -> pa.Table:
    from pyspark.errors import PySparkException

    spark = get_spark("lakehouse-query", settings=settings)
    rewritten = spark_sql(sql, refs)
    refuse_jvm_calls(spark, rewritten)
    try:
        for ref in refs:
            (
                spark.read.format("delta")
                .option("versionAsOf", snapshots[ref.table.name].version())
                .load(settings.s3a_uri(ref.table.key))
                .createOrReplaceTempView(spark_view(ref.table))
            )
        return spark.sql(rewritten).toArrow()
    except PySparkException as err:
        raise _failure(err, refs, ministry, rewritten) from None
    except Exception as err:  # a JVM error (Py4J) carrying the store's 403
        if is_denied(err):
            raise denied_error(", ".join(r.table.name for r in refs), err, ministry) from None
        raise


def run_query(
    sql: str,
    *,
    settings: Settings,
    as_of: str | int | datetime | None = None,
    engine: str = "duckdb",
    ministry: Ministry | None = None,
) -> pa.Table:
    """Run one read-only SELECT over the catalog tables it names and return the rows as Arrow.

    ``as_of``: a Delta version (int or digits) or an ISO timestamp, applied to every table in the
    query. ``ministry`` only shapes the access-denied message; the credentials in ``settings``
    decide what the store lets the caller read.
    """
    if engine not in ENGINES:
        raise UserFacingError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}.")
    refs = referenced_tables(sql)
    pinned = parse_as_of(as_of)
    opened: Opened = {}
    try:
        for ref in refs:
            opened[ref.table.name] = _check_out(ref.table, settings, pinned, ministry)
        snapshots = {name: dt for name, (_, dt) in opened.items()}
        if engine == "spark":
            return _run_spark(sql, refs, snapshots, settings, ministry)
        return _run_duckdb(sql, refs, snapshots, ministry)
    finally:
        _check_in(opened)
