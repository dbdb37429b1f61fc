"""The registry is the data dictionary: every entry must be consistent with its transform, rules and checks.

Transforms run here on empty DataFrames: Spark analyses the whole plan (every column a rule or a
check names must exist, every type is resolved) without running a job.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from dataclasses import replace
from datetime import date

import great_expectations as gx
import pytest
from pyspark.sql import DataFrame, SparkSession

from expectations import frames
from expectations.suites import build_suite, checks_by_frame, gate_checks
from jobs.interval import DataInterval
from jobs.privacy import with_personal_columns
from jobs.registry import REGISTRY, RULESET_VERSION, Dataset, Layer, Registry, quarantine_input
from jobs.settings import REPO_ROOT
from jobs.silver import mark_exact_duplicates, quarantine_rows, silver_rows, split_batch
from jobs.tables import QUARANTINE_DDL, silver_ddl

DATASETS = list(REGISTRY)
IDS = [d.name for d in DATASETS]
WITH_SOURCE = [d for d in DATASETS if d.source is not None]
INTERVAL = DataInterval.for_local_day(date(2026, 11, 26))
EXPECTED_NAMES = {
    "air_station",
    "wastewater_facility",
    "air_quality_reading",
    "wastewater_reading",
    "aqi_hourly",
    "aqi_daily",
    "aqi_province_daily",
    "exceedance",
    "alert",
}


def _empty_table(spark: SparkSession, ds: Dataset) -> DataFrame:
    """An empty table of a registered dataset as the pipeline stores it (silver keeps lineage)."""
    return spark.createDataFrame([], silver_ddl(ds) if ds.layer == Layer.SILVER else ds.spark_schema())


def _empty_bronze(spark: SparkSession, ds: Dataset) -> DataFrame:
    assert ds.source is not None
    cols = [f"`{c}` STRING" for c in ds.source.columns]
    cols += [
        "_raw_line STRING",
        "_source_line LONG",
        "_parse_error STRING",
        "_batch_id STRING",
        "_source_file STRING",
        "_ingested_at TIMESTAMP",
    ]
    return spark.createDataFrame([], ", ".join(cols))


def _transform_output(spark: SparkSession, ds: Dataset) -> DataFrame:
    inputs = {name: _empty_table(spark, REGISTRY[name]) for name in ds.inputs}
    inputs |= {quarantine_input(name): spark.createDataFrame([], QUARANTINE_DDL) for name in ds.quarantine_inputs}
    if ds.source is not None:
        return ds.load_transform()(mark_exact_duplicates(_empty_bronze(spark, ds)), inputs, interval=INTERVAL)
    return ds.load_transform()(inputs, [date(2026, 11, 26)])


def test_registry_holds_the_environment_datasets() -> None:
    assert {d.name for d in REGISTRY.by_sector("environment")} == EXPECTED_NAMES
    assert {d.layer for d in DATASETS} == {Layer.SILVER, Layer.GOLD}
    assert len(IDS) == len(set(IDS))


@pytest.mark.parametrize("ds", DATASETS, ids=IDS)
def test_keys_and_references_name_registered_things(ds: Dataset) -> None:
    names = ds.column_names
    assert len(names) == len(set(names)), "duplicate field names"
    assert ds.natural_key and set(ds.natural_key) <= set(names)
    assert set(ds.partition_by) <= set(names)
    for optional in (ds.event_time, ds.entity_column, ds.replace_key):
        assert optional is None or optional in names
    assert all(name in REGISTRY.datasets for name in ds.inputs)
    assert all(REGISTRY[name].quarantine_record for name in ds.quarantine_inputs)  # a readable record
    if ds.layer == Layer.GOLD:
        assert ds.source is None  # gold is rebuilt from its inputs: per day (replace_key) or whole
        assert ds.replace_key is not None or ds.partition_by == ()  # a whole rewrite has no day partitions
    else:
        assert ds.source is not None and len(set(ds.source.columns)) == len(ds.source.columns)
    reasons = [r.reason for r in ds.row_rules]
    assert len(reasons) == len(set(reasons)), "a reason code used twice"
    # the most basic failure first: a line bronze could not or would not parse (hostile-input guards, then malformed)
    assert ds.row_rules == () or "_parse_error" in ds.row_rules[0].when
    if ds.source is not None:  # every landed dataset has the guards (jobs/guards.py) before its own rules
        assert reasons[:4] == ["RECORD_TOO_LARGE", "TOO_MANY_FIELDS", "NESTING_TOO_DEEP", "INVALID_ENCODING"]


@pytest.mark.parametrize("ds", DATASETS, ids=IDS)
def test_transform_is_importable_and_callable_with_the_pipeline_signature(ds: Dataset) -> None:
    transform = ds.load_transform()
    assert callable(transform)
    module, _, attr = ds.transform.partition(":")
    assert (transform.__module__, transform.__name__) == (module, attr)
    params = inspect.signature(transform).parameters
    if ds.source is not None:  # silver.refine calls transform(bronze, inputs, interval=...)
        assert list(params)[:2] == ["bronze", "inputs"]
        assert params["interval"].kind is inspect.Parameter.KEYWORD_ONLY
    else:  # gold.build calls transform(inputs, dates); anything more must be keyword-only with a default
        assert list(params)[:2] == ["inputs", "dates"]
        extra = list(params.values())[2:]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty for p in extra)


def test_rules_parse_as_spark_sql(spark: SparkSession) -> None:
    parser = spark._jsparkSession.sessionState().sqlParser()
    rules = [(d.name, r) for d in DATASETS for r in d.row_rules]
    environment = [r for name, r in rules if REGISTRY[name].sector == "environment"]
    assert len(environment) == 51  # 4 + 4 + 13 + 10 own rules + 5 guard rules each: every one is checked below
    for name, rule in rules:
        parsed = parser.parseExpression(rule.when)
        assert parsed is not None, (name, rule.reason)
    with pytest.raises(Exception, match="PARSE_SYNTAX_ERROR"):
        parser.parseExpression("value <")  # the parser does reject broken SQL


@pytest.mark.parametrize("ds", WITH_SOURCE, ids=[d.name for d in WITH_SOURCE])
def test_rules_resolve_against_the_transform_output(spark: SparkSession, ds: Dataset) -> None:
    split = split_batch(_transform_output(spark, ds), ds)
    # Analysis resolves every rule's columns; a rule naming a column the transform lacks raises here.
    types = dict(split.dtypes)
    assert (types["_reject_reason"], types["_reject_rule"], types["_reject_criterion"], types["_outcome"]) == (
        "string",
        "string",
        "string",
        "string",
    )
    # The quarantine rows fit the quarantine table's DDL column for column.
    want = spark.createDataFrame([], QUARANTINE_DDL).schema.simpleString()
    assert quarantine_rows(split, ds).schema.simpleString() == want


@pytest.mark.parametrize("ds", DATASETS, ids=IDS)
def test_transform_output_has_the_registered_schema(
    spark: SparkSession, ds: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _transform_output(spark, ds)
    if ds.source is not None:
        if ds.personal is not None:  # refine fills the pseudonyms and their key ids after the transform
            monkeypatch.delenv("LAKEHOUSE_PSEUDONYM_KEY", raising=False)
            monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEYS", "t1:" + "x" * 32)
            monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEY_ID", "t1")
            out = with_personal_columns(out, _empty_bronze(spark, ds), ds)
        out = silver_rows(split_batch(out, ds), ds)
        expected = silver_ddl(ds)
    else:
        expected = ", ".join(f"`{f.name}` {f.type}" for f in ds.fields)
    want = [(f.name, f.dataType.simpleString()) for f in spark.createDataFrame([], expected).schema]
    assert [(f.name, f.dataType.simpleString()) for f in out.schema] == want


@pytest.fixture(scope="module")
def gx_context() -> object:
    # build_suite needs an active context (the gate uses a file context; tests need no files).
    return gx.get_context(mode="ephemeral")


@pytest.mark.parametrize("ds", DATASETS, ids=IDS)
def test_checks_build_into_gx_suites(gx_context: object, ds: Dataset) -> None:
    ids = [c.id for c in gate_checks(ds)]
    assert len(ids) == len(set(ids)), "a check id used twice"
    for check in gate_checks(ds):
        assert hasattr(gx.expectations, check.expectation), f"{ds.name}.{check.id}: no {check.expectation}"
    for frame, checks in checks_by_frame(ds).items():
        suite = build_suite(ds, frame)
        assert suite.name == f"{ds.name}.{frame}"
        assert [(type(e).__name__, e.meta["check_id"]) for e in suite.expectations] == [
            (c.expectation, c.id) for c in checks
        ]
        for expectation, check in zip(suite.expectations, checks, strict=True):
            assert expectation.meta == {
                "check_id": check.id,
                "dataset": ds.name,
                "criterion": check.criterion.value,
                "severity": check.severity.value,
                "description": check.description,
                "ruleset_version": RULESET_VERSION,
            }
    assert sum(len(c) for c in checks_by_frame(ds).values()) == len(gate_checks(ds))


def test_symbolic_province_list_is_expanded(gx_context: object) -> None:
    ds = REGISTRY["air_quality_reading"]
    suite = build_suite(ds, "silver")
    (provinces,) = [e for e in suite.expectations if e.meta["check_id"] == "province_codes_2025"]
    assert len(provinces.value_set) == 34
    assert {"01", "24", "44", "79", "96"} <= set(provinces.value_set)
    assert "27" not in provinces.value_set  # a legacy-only code


def _frame(spark: SparkSession, ds: Dataset, frame: str) -> DataFrame:
    table = _empty_table(spark, ds)
    by_frame = checks_by_frame(ds)
    reference = next((_empty_table(spark, REGISTRY[n]) for n in ds.inputs if ds.entity_column), None)
    silver_checks = by_frame.get("silver", [])
    silver = frames.with_text_flags(
        frames.silver_frame(table, ds, INTERVAL, silver_checks, reference), ds, silver_checks
    )
    if frame == "silver":
        return silver
    if frame == "entity":
        return frames.entity_frame(table, reference, ds, INTERVAL)
    if frame == "published":
        return frames.published_frame(table, table, ds, "batch")
    assert frame == "lines", frame
    quarantine = spark.createDataFrame([], QUARANTINE_DDL)
    return frames.lines_frame(spark, silver, quarantine, ds, {}, by_frame.get("silver", []), reference)


@pytest.mark.parametrize("ds", [d for d in DATASETS if d.checks], ids=[d.name for d in DATASETS if d.checks])
def test_checked_columns_exist_in_their_frames(spark: SparkSession, ds: Dataset) -> None:
    for check in gate_checks(ds):
        columns = _frame(spark, ds, check.frame).columns
        named = [check.kwargs["column"]] if "column" in check.kwargs else list(check.kwargs.get("column_list", []))
        named += [check.kwargs[k] for k in ("column_A", "column_B") if k in check.kwargs]
        missing = [c for c in named if c not in columns]
        assert not missing, f"{ds.name}.{check.id} looks at {missing}, absent from the {check.frame} frame {columns}"


@pytest.mark.parametrize(
    ("typo", "suggestion"), [("air_stations", "air_station"), ("aqi_dialy", "aqi_daily"), ("exceedances", "exceedance")]
)
def test_unknown_dataset_suggests_close_matches(typo: str, suggestion: str) -> None:
    with pytest.raises(KeyError) as info:
        REGISTRY[typo]
    message = info.value.args[0]
    assert message.startswith(f"unknown dataset {typo!r}. Did you mean {suggestion}")
    assert message.endswith("Known: " + ", ".join(sorted(IDS)))


def test_unknown_dataset_without_close_match_lists_known_ones() -> None:
    with pytest.raises(KeyError) as info:
        REGISTRY["zzz"]
    assert info.value.args[0] == "unknown dataset 'zzz'. Known: " + ", ".join(sorted(IDS))


def test_registry_refuses_duplicates_and_foreign_keys() -> None:
    registry = Registry()
    ds = REGISTRY["air_station"]
    registry.add(ds)
    with pytest.raises(ValueError, match="registered twice"):
        registry.add(ds)
    with pytest.raises(ValueError, match=r"natural key columns \['nope'\] are not in its fields"):
        Registry().add(replace(ds, natural_key=("station_id", "nope")))


def test_dataset_module_imports_on_its_own() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import jobs.environment.datasets"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-300:]
