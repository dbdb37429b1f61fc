"""SQL over the lakehouse on the real store: DuckDB and Spark agree, time travel, errors, the CLI.

The environment slice is built once on the committed fixture in a throw-away bucket; then one
gold table gets a second Delta version (a DELETE through Spark) so ``--as-of`` has a past to read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jobs.errors import UserFacingError
from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Layer
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, expected_for, lake_bucket

SILVER = [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]
GOLD = [d.name for d in REGISTRY.by_sector("environment", Layer.GOLD)]
AQI = REGISTRY["aqi_daily"]


def _settings() -> Any:
    from jobs.settings import get_settings

    return get_settings()


def _spark_rows(sql: str) -> list[dict[str, Any]]:
    """Spark's own answer, read straight from the Delta paths (not through jobs.query)."""
    from jobs.spark import get_spark

    return [r.asDict() for r in get_spark().sql(sql).collect()]


def _history(uri: str) -> list[dict[str, Any]]:
    """Spark's view of the table's commits (epoch milliseconds: no time-zone guessing)."""
    from delta.tables import DeltaTable

    from jobs.spark import get_spark

    history = DeltaTable.forPath(get_spark(), uri).history().selectExpr("version", "unix_millis(timestamp) AS ms")
    return [r.asDict() for r in history.collect()]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from jobs.pipeline import publish_gold, run_dataset
    from jobs.spark import get_spark

    root = tmp_path_factory.mktemp("query")
    sources = copy_fixture_sources(root / "sources")
    with lake_bucket("query", sources, root / "gx") as bucket:
        start, end = DataInterval.for_local_day(FIXTURE_DAY).as_strings()
        runs: dict[str, Any] = {}
        dates: set[str] = set()
        for name in SILVER:
            runs[name] = run_dataset(name, start, end, run_id="query-test")
            dates |= set(runs[name]["dates"])
        for name in GOLD:
            runs[name] = publish_gold(name, sorted(dates))

        # A second Delta version of gold.environment_aqi_daily: delete one station's rows.
        uri = _settings().s3a_uri(AQI.table_path)
        before = _spark_rows(f"SELECT station_id, date, vn_aqi FROM delta.`{uri}`")
        old_version = max(h["version"] for h in _history(uri))
        station = sorted({r["station_id"] for r in before})[0]
        get_spark().sql(f"DELETE FROM delta.`{uri}` WHERE station_id = '{station}'")
        delete = max(_history(uri), key=lambda h: h["version"])
        yield {
            "bucket": bucket,
            "runs": runs,
            "before": before,
            "old_version": old_version,
            "deleted_station": station,
            "delete_version": delete["version"],
            "delete_time": datetime.fromtimestamp(delete["ms"] / 1000, tz=UTC),
        }


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def rows_of(table: Any) -> list[tuple[Any, ...]]:
    """Sorted rows of an Arrow table with engine-specific types evened out (decimal sums, time zones)."""
    rows = [tuple(_norm(v) for v in r.values()) for r in table.to_pylist()]
    return sorted(rows, key=repr)


COMPARED = {
    "gold aggregate": (
        "SELECT province_code, count(*) AS stations, max(vn_aqi) AS worst, min(vn_aqi) AS best, "
        "sum(vn_aqi) AS total FROM gold.environment_aqi_daily GROUP BY province_code"
    ),
    "gold rows with timestamps": "SELECT * FROM gold.environment_exceedance WHERE medium = 'air'",
    "silver join": (
        "SELECT r.station_id, s.station_name, r.parameter, count(*) AS readings, min(r.value) AS low, "
        "max(r.value) AS high, max(r.measured_at) AS last_at FROM silver.environment_air_quality_reading r "
        "JOIN silver.environment_air_station s ON r.station_id = s.station_id "
        "WHERE r.device_status = 'measuring' GROUP BY r.station_id, s.station_name, r.parameter"
    ),
    "quarantine by reason": (
        "SELECT reason_code, criterion, count(*) AS n FROM quarantine.environment_wastewater_reading "
        "GROUP BY reason_code, criterion"
    ),
}


@pytest.mark.parametrize("case", list(COMPARED))
def test_duckdb_and_spark_return_the_same_rows(lake: dict[str, Any], case: str) -> None:
    from jobs.query import run_query

    sql = COMPARED[case]
    duck = run_query(sql, settings=_settings())
    spark = run_query(sql, settings=_settings(), engine="spark")
    assert duck.column_names == spark.column_names
    assert duck.num_rows > 0
    assert rows_of(duck) == rows_of(spark)


def test_spark_engine_refuses_java_calls_before_running(lake: dict[str, Any]) -> None:
    """``reflect`` would read the query process's environment (its store keys) through Spark SQL."""
    from jobs.errors import UserFacingError
    from jobs.query import run_query

    sql = "SELECT station_id, reflect('java.lang.System', 'getenv', 'HOME') AS leak FROM gold.environment_aqi_daily"
    with pytest.raises(UserFacingError, match=r"reflect\(\) calls Java methods .*refused before it ran"):
        run_query(sql, settings=_settings(), engine="spark")
    allowed = run_query("SELECT count(*) AS n FROM gold.environment_aqi_daily", settings=_settings(), engine="spark")
    assert allowed.column("n").to_pylist()[0] > 0


def test_duckdb_counts_match_the_fixture_account(lake: dict[str, Any]) -> None:
    from jobs.query import run_query

    for name in ("air_quality_reading", "wastewater_reading"):
        expected = expected_for(name)
        silver = run_query(f"SELECT count(*) AS n FROM silver.environment_{name}", settings=_settings())
        assert silver.to_pylist() == [{"n": expected["expected_silver_rows"]}]
        reasons = run_query(
            f"SELECT reason_code, count(*) AS n FROM quarantine.environment_{name} GROUP BY 1", settings=_settings()
        )
        assert {r["reason_code"]: r["n"] for r in reasons.to_pylist()} == expected["expected_quarantine"]


def test_gold_matches_spark_reading_the_delta_path_directly(lake: dict[str, Any]) -> None:
    from jobs.query import run_query

    uri = _settings().s3a_uri(AQI.table_path)
    direct = _spark_rows(f"SELECT station_id, date, vn_aqi FROM delta.`{uri}`")
    ours = run_query("SELECT station_id, date, vn_aqi FROM gold.environment_aqi_daily", settings=_settings())
    assert sorted(ours.to_pylist(), key=repr) == sorted(direct, key=repr)
    assert lake["deleted_station"] not in {r["station_id"] for r in direct}


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_as_of_an_earlier_version_returns_that_versions_rows(lake: dict[str, Any], engine: str) -> None:
    from jobs.query import run_query

    sql = "SELECT station_id, date, vn_aqi FROM gold.environment_aqi_daily"
    old = run_query(sql, settings=_settings(), as_of=lake["old_version"], engine=engine)
    assert sorted(old.to_pylist(), key=repr) == sorted(lake["before"], key=repr)
    assert lake["deleted_station"] in {r["station_id"] for r in old.to_pylist()}
    now = run_query(sql, settings=_settings(), engine=engine)
    deleted = [r for r in lake["before"] if r["station_id"] == lake["deleted_station"]]
    assert now.num_rows == len(lake["before"]) - len(deleted) and deleted


def test_as_of_a_time_reads_the_version_current_then(lake: dict[str, Any]) -> None:
    from jobs.query import run_query

    sql = "SELECT count(*) AS n FROM gold.environment_aqi_daily"
    delete_time = lake["delete_time"]
    just_before = (delete_time - timedelta(milliseconds=1)).isoformat()
    assert run_query(sql, settings=_settings(), as_of=just_before).to_pylist() == [{"n": len(lake["before"])}]
    after = (delete_time + timedelta(seconds=1)).isoformat()
    deleted = sum(r["station_id"] == lake["deleted_station"] for r in lake["before"])
    assert run_query(sql, settings=_settings(), as_of=after).to_pylist() == [{"n": len(lake["before"]) - deleted}]


def test_as_of_a_version_the_table_does_not_have_says_which_exist(lake: dict[str, Any]) -> None:
    from jobs.query import run_query

    with pytest.raises(UserFacingError, match=rf"has no version 999: its versions are 0\.\.{lake['delete_version']}"):
        run_query("SELECT * FROM gold.environment_aqi_daily", settings=_settings(), as_of=999)
    with pytest.raises(UserFacingError, match="did not exist at 2001-01-01"):
        run_query("SELECT * FROM gold.environment_aqi_daily", settings=_settings(), as_of="2001-01-01T00:00:00")


def test_unknown_table_lists_close_matches(lake: dict[str, Any]) -> None:
    from jobs.query import run_query

    with pytest.raises(UserFacingError) as err:
        run_query("SELECT * FROM silver.environment_air_quality_readings", settings=_settings())
    assert "Did you mean silver.environment_air_quality_reading" in str(err.value)
    assert "lakehouse tables" in str(err.value)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_bad_sql_says_where(lake: dict[str, Any], engine: str) -> None:
    from jobs.query import run_query

    with pytest.raises(UserFacingError) as err:
        run_query("SELECT station_id\nFROM gold.environment_aqi_daily\nWHER vn_aqi > 100", settings=_settings(),
                  engine=engine)  # fmt: skip
    assert "LINE 3: WHER vn_aqi > 100" in str(err.value)


def test_unknown_column_is_a_user_error_with_candidates(lake: dict[str, Any]) -> None:
    from jobs.query import run_query

    with pytest.raises(UserFacingError, match=r'(?s)"vn_aq" not found.*Candidate bindings: "vn_aqi"'):
        run_query("SELECT vn_aq FROM gold.environment_aqi_daily", settings=_settings())


# ------------------------------------------------------------------------------------------ the CLI


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    from jobs.cli import main

    monkeypatch.delenv("LAKEHOUSE_MINISTRY", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _delta(key: str) -> Any:
    from deltalake import DeltaTable

    settings = _settings()
    return DeltaTable(settings.s3_uri(key), storage_options=settings.delta_rs_storage_options())


def test_cli_tables_lists_every_dataset_with_version_rows_and_scores(lake: dict[str, Any], cli: Any) -> None:
    code, out, _ = cli("tables", "--json")
    assert code == 0
    entries = {e["name"]: e for e in json.loads(out)}
    assert {ds.qualified_name for ds in REGISTRY} <= set(entries)  # every sector's tables, built or not
    for ds in REGISTRY.by_sector("environment"):  # the sector this lake holds
        e = entries[ds.qualified_name]
        table = _delta(ds.table_path)
        assert (e["status"], e["version"], e["rows"]) == ("ok", table.version(), table.to_pyarrow_table().num_rows)
        assert e["owner"]["code"] == ds.owner.code and e["classification"] == ds.classification.value
    assert (
        entries["silver.environment_air_quality_reading"]["rows"]
        == expected_for("air_quality_reading")["expected_silver_rows"]
    )
    assert entries["silver.environment_air_quality_reading"]["freshness_sla"] == "2 h"
    # Silver scores are the gate's; gold shows the lowest of its silver inputs.
    gate = {name: lake["runs"][name]["scores"] for name in SILVER}
    for name in SILVER:
        assert entries[REGISTRY[name].qualified_name]["scores"] == gate[name]
    air, water, facility = gate["air_quality_reading"], gate["wastewater_reading"], gate["wastewater_facility"]
    expected_exceedance = {
        c: min(s[c] for s in (air, water, facility) if c in s) for c in {*air, *water, *facility}
    }  # fmt: skip
    assert entries["gold.environment_exceedance"]["scores"] == expected_exceedance
    assert entries["gold.environment_aqi_province_daily"]["scores"] == air
    assert entries["quarantine.environment_air_quality_reading"]["rows"] == sum(
        expected_for("air_quality_reading")["expected_quarantine"].values()
    )
    assert entries["quality.scores"]["status"] == "ok"


def test_cli_tables_prints_a_table(lake: dict[str, Any], cli: Any) -> None:
    code, out, _ = cli("tables")
    assert code == 0
    line = next(ln for ln in out.splitlines() if "silver.environment_air_quality_reading" in ln)
    assert f"{expected_for('air_quality_reading')['expected_silver_rows']:,}" in line
    assert "mae" in line and "2 h" in line


def test_cli_describe_shows_dictionary_and_delta_state(lake: dict[str, Any], cli: Any) -> None:
    code, out, _ = cli("describe", "gold.environment_aqi_daily", "--json")
    assert code == 0
    d = json.loads(out)
    assert [c["name"] for c in d["columns"]] == AQI.column_names
    assert d["natural_key"] == list(AQI.natural_key)
    assert (d["status"], d["version"]) == ("ok", lake["delete_version"])
    assert d["history"][0]["version"] == lake["delete_version"] and d["history"][0]["operation"] == "DELETE"
    assert d["rows"] == len(lake["before"]) - sum(r["station_id"] == lake["deleted_station"] for r in lake["before"])

    code, out, _ = cli("describe", "silver.environment_air_quality_reading")
    assert code == 0
    for text in ("Nồng độ", "µg/Nm³", "UNKNOWN_STATION", "fresh_within_sla", "landing/environment/air_quality_reading"):
        assert text in out


def test_cli_query_csv_to_a_file(lake: dict[str, Any], cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "aqi.csv"
    sql = "SELECT station_id, date, vn_aqi FROM gold.environment_aqi_daily ORDER BY station_id, date"
    code, _, err = cli("query", sql, "--format", "csv", "--output", str(target))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    direct = _spark_rows(
        f"SELECT station_id, date, vn_aqi FROM delta.`{_settings().s3a_uri(AQI.table_path)}` ORDER BY station_id, date"
    )
    assert rows == [
        {"station_id": r["station_id"], "date": r["date"].isoformat(), "vn_aqi": "" if r["vn_aqi"] is None else
         str(r["vn_aqi"])}
        for r in direct
    ]  # fmt: skip
    assert f"wrote {len(direct)} rows to {target}" in err


def test_cli_query_json_to_stdout_keeps_vietnamese_text(lake: dict[str, Any], cli: Any) -> None:
    sql = "SELECT station_id, station_name FROM silver.environment_air_station ORDER BY station_id"
    code, out, _ = cli("query", sql, "--format", "json")
    assert code == 0
    direct = _spark_rows(
        f"SELECT station_id, station_name FROM delta.`{_settings().s3a_uri(REGISTRY['air_station'].table_path)}` "
        "ORDER BY station_id"
    )
    assert json.loads(out) == direct
    assert any(ord(ch) > 127 for r in direct for ch in r["station_name"])  # really Vietnamese, not escaped
    assert any(ord(ch) > 127 for ch in out)


def test_cli_query_parquet_with_as_of(lake: dict[str, Any], cli: Any, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "old.parquet"
    sql = "SELECT station_id, date, vn_aqi FROM gold.environment_aqi_daily"
    code, _, _ = cli("query", sql, "--format", "parquet", "--output", str(target), "--as-of", str(lake["old_version"]))
    assert code == 0
    assert sorted(pq.read_table(target).to_pylist(), key=repr) == sorted(lake["before"], key=repr)


def test_cli_query_table_format_shows_the_limit(lake: dict[str, Any], cli: Any) -> None:
    code, out, _ = cli("query", "SELECT * FROM silver.environment_air_quality_reading", "--limit", "2")
    assert code == 0
    total = expected_for("air_quality_reading")["expected_silver_rows"]
    assert f"{total} rows (showing the first 2" in out


def test_cli_bad_sql_exits_2_and_says_where(lake: dict[str, Any], cli: Any) -> None:
    code, out, err = cli("query", "SELECT * FORM gold.environment_aqi_daily")
    assert code == 2 and out == ""
    assert err.startswith("lakehouse query: the SQL does not parse")
    assert "LINE 1: SELECT * FORM gold.environment_aqi_daily" in err


def test_a_query_sees_commits_made_after_its_table_was_opened(lake: dict[str, Any]) -> None:
    """The process keeps tables open between queries (``jobs.query._snapshot``): the next query still
    reads the latest version, and a pinned version keeps reading its own rows."""
    from jobs.query import run_query
    from jobs.spark import get_spark

    hourly = REGISTRY["aqi_hourly"]
    uri = _settings().s3a_uri(hourly.table_path)
    sql = "SELECT count(*) AS n, count(DISTINCT station_id) AS stations FROM gold.environment_aqi_hourly"
    first = run_query(sql, settings=_settings()).to_pylist()[0]
    pinned = max(h["version"] for h in _history(uri))
    station = sorted(r["station_id"] for r in _spark_rows(f"SELECT DISTINCT station_id FROM delta.`{uri}`"))[0]
    removed = _spark_rows(f"SELECT count(*) AS n FROM delta.`{uri}` WHERE station_id = '{station}'")[0]["n"]
    get_spark().sql(f"DELETE FROM delta.`{uri}` WHERE station_id = '{station}'")
    assert removed > 0 and first["stations"] > 1
    assert run_query(sql, settings=_settings()).to_pylist() == [
        {"n": first["n"] - removed, "stations": first["stations"] - 1}
    ]
    assert run_query(sql, settings=_settings(), as_of=pinned).to_pylist() == [first]
