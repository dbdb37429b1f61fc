"""The catalog is the registry seen as SQL tables: names, resolution, scores rule, dictionary entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from jobs.catalog import (
    catalog_tables,
    close_matches,
    ddl_columns,
    entry,
    parse_as_of,
    resolve,
    schemas,
    scores_for,
    silver_inputs,
)
from jobs.errors import UserFacingError
from jobs.registry import REGISTRY, Layer


def test_every_registry_dataset_is_a_table_under_its_qualified_name() -> None:
    by_name = {t.name: t for t in catalog_tables()}
    for ds in REGISTRY:
        table = by_name[ds.qualified_name]
        assert (table.key, table.kind, table.dataset) == (ds.table_path, "dataset", ds)
        assert [c.name for c in table.columns][: len(ds.fields)] == ds.column_names


def test_each_silver_dataset_has_its_quarantine_table_and_gold_has_none() -> None:
    names = {t.name: t for t in catalog_tables()}
    for ds in REGISTRY:
        name = f"quarantine.{ds.sector}_{ds.name}"
        if ds.layer == Layer.SILVER:
            assert names[name].key == f"quarantine/{ds.sector}/{ds.name}"
            assert names[name].dataset is ds
        else:
            assert name not in names


def test_quality_tables_are_listed_with_their_columns() -> None:
    names = {t.name: t for t in catalog_tables()}
    for name in ("quality.scores", "quality.checks", "quality.batch_accounting"):
        assert names[name].key == name.replace(".", "/")
        assert names[name].columns
    assert [c.name for c in names["quality.scores"].columns] == [
        "dataset", "criterion", "data_interval_start", "data_interval_end", "batch_id", "checks_passed",
        "checks_failed", "rows_evaluated", "rows_failing", "score", "ruleset_version", "run_id",
    ]  # fmt: skip


def test_names_are_unique_and_schemas_are_the_queryable_layers() -> None:
    names = [t.name for t in catalog_tables()]
    assert len(names) == len(set(names))
    assert schemas() == ["gold", "quality", "quarantine", "silver"]


@pytest.mark.parametrize(
    "written",
    [
        "gold.environment_aqi_daily",
        "GOLD.Environment_AQI_Daily",
        '"gold"."environment_aqi_daily"',
        "gold/environment/aqi_daily",
    ],
)
def test_resolve_by_sql_name_any_case_quoted_or_key(written: str) -> None:
    assert resolve(written).name == "gold.environment_aqi_daily"


@pytest.mark.parametrize(
    ("written", "expected_first"),
    [
        ("gold.environment_aqi_dayly", "gold.environment_aqi_daily"),  # misspelt
        ("silver.environment_aqi_daily", "gold.environment_aqi_daily"),  # wrong layer
        ("aqi_daily", "gold.environment_aqi_daily"),  # unqualified
        ("quality.score", "quality.scores"),
    ],
)
def test_unknown_name_suggests_close_matches_and_how_to_list(written: str, expected_first: str) -> None:
    assert close_matches(written)[0] == expected_first
    with pytest.raises(UserFacingError) as err:
        resolve(written)
    message = str(err.value)
    assert f"Did you mean {expected_first}" in message
    assert "lakehouse tables" in message


def test_unknown_name_with_nothing_close_still_says_how_to_list() -> None:
    with pytest.raises(UserFacingError, match=r"unknown table 'zzz\.qqq'\. List the tables with `lakehouse tables`"):
        resolve("zzz.qqq")


def test_as_of_is_a_version_or_a_timestamp() -> None:
    assert parse_as_of("3") == 3
    assert parse_as_of(None) is None
    assert parse_as_of("2026-11-26T12:00:00+07:00") == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    naive = parse_as_of("2026-11-26T05:00:00")
    assert naive == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    assert parse_as_of(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=7)))) == datetime(
        2025, 12, 31, 17, tzinfo=UTC
    )
    with pytest.raises(UserFacingError, match="neither a Delta version"):
        parse_as_of("yesterday")


def test_gold_inputs_resolve_through_gold_to_silver() -> None:
    assert silver_inputs(REGISTRY["aqi_province_daily"]) == ["air_quality_reading"]
    assert silver_inputs(REGISTRY["exceedance"]) == ["air_quality_reading", "wastewater_reading", "wastewater_facility"]


def test_gold_scores_are_the_minimum_of_its_silver_inputs() -> None:
    row = lambda s: {"score": s}  # noqa: E731
    scores = {
        "air_quality_reading": {"đúng": row(98.0), "đủ": row(80.0), "sống": row(99.5)},
        "wastewater_reading": {"đúng": row(97.0), "đủ": row(90.0)},
        "wastewater_facility": {"sạch": row(100.0)},
    }
    assert scores_for(REGISTRY["exceedance"], scores) == (
        {"đúng": 97.0, "đủ": 80.0, "sống": 99.5, "sạch": 100.0},
        ["air_quality_reading", "wastewater_reading", "wastewater_facility"],
    )
    assert scores_for(REGISTRY["aqi_province_daily"], scores)[0] == {"đúng": 98.0, "đủ": 80.0, "sống": 99.5}
    assert scores_for(REGISTRY["wastewater_reading"], scores) == ({"đúng": 97.0, "đủ": 90.0}, ["wastewater_reading"])


def test_describe_entry_matches_the_registry() -> None:
    ds = REGISTRY["air_quality_reading"]
    d = entry("silver.environment_air_quality_reading")
    assert d["title_en"] == ds.title_en and d["title_vi"] == ds.title_vi
    assert d["owner"] == {"code": ds.owner.code, "name": ds.owner.value}
    assert d["classification"] == ds.classification.value
    assert d["freshness_sla"] == "2 h"
    assert d["natural_key"] == ["station_id", "parameter", "measured_at"]
    value = next(c for c in d["columns"] if c["name"] == "value")
    assert value == {
        "name": "value",
        "type": "DOUBLE",
        "unit": "µg/Nm³",
        "classification": "public",
        "nullable": False,
        "vi": "Nồng độ",
        "en": "Concentration",
    }
    assert [c["name"] for c in d["columns"]] == [*ds.column_names, "_batch_id", "_source_file", "_source_line",
                                                 "_ingested_at"]  # fmt: skip
    assert d["source"] == {
        "channel": "mqtt",  # stations publish live; the local drop below replays a day
        "options": dict(ds.source.options),  # type: ignore[union-attr]
        "path": "environment/air_quality/readings_{date:%Y%m%d}.csv",
        "format": "jsonl",
        "columns": list(ds.source.columns),  # type: ignore[union-attr]
        "snapshot": False,
    }
    stages = [s["stage"] for s in d["lineage"]["steps"]]
    assert stages == ["source", "landing", "bronze", "silver", "quarantine"]
    assert d["lineage"]["steps"][1]["where"] == (
        "landing/environment/air_quality_reading/ingest_date=<YYYY-MM-DD>/<batch_id>.jsonl"
    )
    assert d["lineage"]["inputs"] == [
        {"dataset": "air_station", "table": "silver.environment_air_station", "layer": "silver"}
    ]
    assert [(r["reason"], r["criterion"]) for r in d["row_rules"]] == [
        (r.reason, r.criterion.value) for r in ds.row_rules
    ]
    assert [(c["id"], c["criterion"], c["severity"]) for c in d["checks"]] == [
        (c.id, c.criterion.value, c.severity.value) for c in ds.checks
    ]
    assert {"id": "fresh_within_sla", "criterion": "sống", "severity": "warning"}.items() <= next(
        c for c in d["checks"] if c["id"] == "fresh_within_sla"
    ).items()


def test_gold_entry_has_lineage_down_to_sources_and_no_rules() -> None:
    d = entry("gold.environment_aqi_province_daily")
    assert d["lineage"]["inputs"] == [{"dataset": "aqi_daily", "table": "gold.environment_aqi_daily", "layer": "gold"}]
    assert d["lineage"]["edges"] == [
        ["gold.environment_aqi_daily", "gold.environment_aqi_province_daily"],
        ["gold.environment_aqi_hourly", "gold.environment_aqi_daily"],
        ["silver.environment_air_quality_reading", "gold.environment_aqi_hourly"],
        ["source:environment/air_quality/readings_{date:%Y%m%d}.csv", "silver.environment_air_quality_reading"],
        ["silver.environment_air_station", "silver.environment_air_quality_reading"],
        ["source:environment/reference/air_stations.csv", "silver.environment_air_station"],
    ]
    assert d["row_rules"] == [] and d["checks"] == [] and d["source"] is None
    assert "air_quality_reading" in d["scores_note"]


def test_quarantine_entry_is_explained_by_its_dataset_rules_and_is_not_public() -> None:
    ds = REGISTRY["air_quality_reading"]
    d = entry("quarantine.environment_air_quality_reading")
    assert d["classification"] == "internal"  # raw rejected lines, although the dataset is public
    assert [r["reason"] for r in d["row_rules"]] == [r.reason for r in ds.row_rules]
    assert d["checks"] == [] and d["natural_key"] == []
    assert [c["name"] for c in d["columns"]][:4] == ["dataset", "_batch_id", "_source_file", "_source_line"]
    assert (
        next(c for c in d["columns"] if c["name"] == "reason_code")["en"] == "Why the row was quarantined (rule reason)"
    )


def test_ddl_columns_keep_order_and_nested_types() -> None:
    cols = ddl_columns("a STRING, m MAP<STRING, STRING>, l ARRAY<STRING>, score DOUBLE")
    assert [(c.name, c.type) for c in cols] == [
        ("a", "STRING"), ("m", "MAP<STRING, STRING>"), ("l", "ARRAY<STRING>"), ("score", "DOUBLE"),
    ]  # fmt: skip
    assert cols[3].en == "Score 0–100"


def test_every_quality_table_has_described_columns() -> None:
    for table in catalog_tables():
        if table.kind == "quality":
            assert table.columns, table.name
            assert all(c.en for c in table.columns), [c.name for c in table.columns if not c.en]
