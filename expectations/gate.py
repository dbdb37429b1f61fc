"""The quality gate: run a batch's GX suites, score each criterion, stop bad batches before gold.

Per check the score is the share of evaluated rows that passed (row checks) or 100/0 (table
checks); a criterion's score is the mean of its checks. Results go to Delta tables in the
``quality`` area (``scores``: dataset × criterion × interval; ``checks``: one row per check;
``entity_scores``: dataset × criterion × interval × station / facility / province, with when each
entity was last heard and whether it is silent) plus the batch's row accounting, all replaced per
dataset × batch on rerun, and GX Data Docs are rebuilt. A failed *critical* check raises
:class:`QualityGateError` naming dataset, criterion, check and sample offending values.
"""

from __future__ import annotations

import json
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any

from expectations import frames
from expectations.docs_offline import VendoredAssetsMissingError, make_offline
from expectations.suites import build_suite, checks_by_frame, gate_checks
from jobs import storage
from jobs.checks import NO_LEGACY_ENCODING_FLAG
from jobs.errors import DataError
from jobs.interval import DataInterval
from jobs.payload import STATED_ROWS_META, landing_key
from jobs.publish import read_staged
from jobs.registry import REGISTRY, RULESET_VERSION, Check, Classification, Criterion, Dataset, Severity
from jobs.settings import Settings, get_settings
from jobs.tables import (
    ACCOUNTING_DDL,
    CHECKS_DDL,
    ENTITY_SCORES_DDL,
    HELD,
    HELD_BATCHES_DDL,
    HELD_BATCHES_KEY,
    SCORES_DDL,
    quality_key,
    replace_rows,
    table_uri,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

STATED_ROWS = "stated_rows"
"""Suite parameter: the row count the source states for a batch (registry checks name it in kwargs
as ``{"$PARAMETER": "stated_rows"}``); a run without one leaves those checks out."""


class QualityGateError(DataError):
    """A critical check failed: the batch must not reach gold."""


@dataclass
class CheckOutcome:
    check_id: str
    frame: str
    criterion: str
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    observed: str
    sample: list[str]
    description: str
    evaluated: bool = True
    expected: str = ""

    @property
    def score(self) -> float | None:
        """Share of rows that passed; None when a row check had no rows to judge (not a pass)."""
        if not self.evaluated:
            return None
        if self.element_count is not None and self.unexpected_count is not None:
            if self.element_count == 0:
                return None
            return 100.0 * (1 - self.unexpected_count / self.element_count)
        return 100.0 if self.success else 0.0


@dataclass
class GateResult:
    dataset: str
    batch_id: str
    scores: dict[str, float]
    checks: list[CheckOutcome] = field(default_factory=list)
    data_docs: str = ""
    entity_scores: list[frames.EntityScore] = field(default_factory=list)

    @property
    def critical_failures(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.success and c.severity == Severity.CRITICAL.value]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "batch_id": self.batch_id,
            "scores": self.scores,
            "failed_checks": [c.check_id for c in self.checks if not c.success],
            "data_docs": self.data_docs,
        }


def _expected(kwargs: dict[str, Any], parameters: dict[str, Any]) -> str:
    """What a table-level expectation wanted, for the failure message (suite parameters filled in)."""
    shown = []
    for key, value in kwargs.items():
        if key in {"column", "column_list", "result_format", "meta", "batch_id", "catch_exceptions"} or value is None:
            continue
        if isinstance(value, dict) and "$PARAMETER" in value:
            value = parameters.get(value["$PARAMETER"], value)
        shown.append(f"{key}={value}")
    return ", ".join(shown)


def _outcomes(
    validation: Any, frame: str, frame_rows: int, parameters: dict[str, Any] | None = None
) -> list[CheckOutcome]:
    out = []
    for r in validation.results:
        meta = r.expectation_config.meta or {}
        res = r.result or {}
        observed = res.get("observed_value")
        sample = [clip_sample(str(v)) for v in (res.get("partial_unexpected_list") or [])[:5]]
        element_count = res.get("element_count")
        if element_count is not None and res.get("missing_count"):
            element_count -= res["missing_count"]  # GX ignores NULLs in map checks; so does the score
        out.append(
            CheckOutcome(
                check_id=meta["check_id"],
                frame=frame,
                criterion=meta["criterion"],
                severity=meta["severity"],
                success=bool(r.success),
                element_count=element_count,
                unexpected_count=res.get("unexpected_count"),
                observed="" if observed is None else str(observed),
                sample=sample,
                description=meta.get("description", ""),
                # On an empty frame only table-level checks say anything; row checks pass vacuously.
                evaluated=frame_rows > 0 or r.expectation_config.type.startswith("expect_table_"),
                expected=_expected(dict(r.expectation_config.kwargs), parameters or {}),
            )
        )
    return out


def score_by_criterion(checks: list[CheckOutcome]) -> dict[str, float]:
    """Mean check score per criterion (criteria without evaluated checks are absent, not 100)."""
    result: dict[str, float] = {}
    for criterion in Criterion:
        mine = [s for c in checks if c.criterion == criterion.value and (s := c.score) is not None]
        if mine:
            result[criterion.value] = round(sum(mine) / len(mine), 2)
    return result


def _named_columns(check: Check) -> list[str]:
    """The columns a check's kwargs name: ``column``, ``column_A``, ``column_B``, then ``column_list``."""
    named = [str(check.kwargs[k]) for k in ("column", "column_A", "column_B") if k in check.kwargs]
    return named + [str(c) for c in check.kwargs.get("column_list") or []]


def _checked_columns(df: DataFrame, checks: list[Check]) -> DataFrame:
    """Only the columns a frame's checks name (what a local validation collects); a frame whose
    checks name none (row counts) keeps one constant column, so the collect still has its rows."""
    from pyspark.sql import functions as F

    columns = list(dict.fromkeys(c for check in checks for c in _named_columns(check)))
    return df.select(*columns) if columns else df.select(F.lit(True).alias("_row"))


class Gate:
    """Runs GX validations for one dataset batch against a file-backed GX project."""

    def __init__(self, settings: Settings | None = None) -> None:
        import great_expectations as gx

        self.settings = settings or get_settings()
        self.settings.gx_root.mkdir(parents=True, exist_ok=True)
        self.context = gx.get_context(mode="file", project_root_dir=str(self.settings.gx_root))
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        # persist=False: the gate persists (and unpersists) its own frames. GX's default caches every
        # validated frame for the session's life; each later write to a table one of them reads then
        # re-caches it (work for nothing), and one that reads a removed staging table fails that write.
        self.datasource = self.context.data_sources.add_or_update_spark(name="lakehouse_spark", persist=False)
        self.local_datasource: Any = None  # GX's pandas engine, for small frames (made when first needed)
        self.rendered: list[Any] = []  # this gate's validation results and suites, for the docs

    def validate(
        self,
        dataset: Dataset,
        frame: str,
        df: DataFrame,
        parameters: dict[str, Any] | None = None,
        rows: int | None = None,
    ) -> Any:
        """Run all of one frame's checks as one validation; stored for Data Docs (built once per gate).

        ``parameters`` are this run's suite parameter values (e.g. the source's stated row count);
        checks that need a missing one are left out of this run. A frame of ``rows`` at most
        ``gate_local_max_rows`` is collected once (Arrow) and validated by GX's pandas engine: the
        same expectations, without a Spark job per metric.
        """
        import great_expectations as gx

        name = f"{dataset.name}.{frame}"
        data: Any = df
        datasource = self.datasource
        local_max = self.settings.gate_local_max_rows
        if rows is not None and local_max > 0 and rows <= local_max:
            data = _checked_columns(df, checks_by_frame(dataset).get(frame, [])).toArrow().to_pandas()
            if self.local_datasource is None:
                self.local_datasource = self.context.data_sources.add_or_update_pandas(name="lakehouse_local")
            datasource = self.local_datasource
        log.info("gate %s: %s rows of %s on GX's %s engine", dataset.name, rows, frame, datasource.type)
        try:
            asset = datasource.get_asset(name)
        except LookupError:
            asset = datasource.add_dataframe_asset(name=name)
        try:
            batch_def = asset.get_batch_definition("batch")
        except KeyError:
            batch_def = asset.add_batch_definition_whole_dataframe("batch")
        suite = self.context.suites.add_or_update(build_suite(dataset, frame, parameters or {}))
        definition = self.context.validation_definitions.add_or_update(
            # One stored definition per engine: each names its own datasource's asset.
            gx.ValidationDefinition(name=f"{name}.{datasource.name}", data=batch_def, suite=suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": data},
            expectation_parameters=parameters or {},
            # BASIC gives the counts the scores need. No unexpected values from GX: fetching them is
            # one more Spark job per check, passing or not; ``_samples`` fetches them for failing
            # checks only (Spark answers a LIMIT 0 without a job).
            result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
        )
        self.rendered += self._identifiers(suite.name, result)
        return result

    def _identifiers(self, suite_name: str, result: Any) -> list[Any]:
        """The stored result's key (as GX's ValidationDefinition files it) and its suite's."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        suite_id = ExpectationSuiteIdentifier(name=suite_name)
        batch = result.meta.get("active_batch_definition") or {}
        key = ValidationResultIdentifier(
            expectation_suite_identifier=suite_id,
            run_id=result.meta.get("run_id"),
            batch_identifier=f"{batch.get('datasource_name')}-{batch.get('data_asset_name')}",
        )
        return [suite_id, key] if self.context.validation_results_store.has_key(key) else []

    def build_docs(self) -> str:
        """Render this gate's validation results and suites (and the index) into the Data Docs,
        made to render offline; returns the index URL.

        Incremental: the site keeps every earlier run's pages, so rebuilding all of them at every
        gate would grow with the history (a full build is ``context.build_data_docs()``).
        """
        started = time.time()
        self.context.build_data_docs(resource_identifiers=self.rendered or None)
        try:
            make_offline(self.settings.gx_root / "gx" / "uncommitted" / "data_docs" / "local_site", since=started)
        except VendoredAssetsMissingError as err:  # the docs are secondary: never fail a gate for them
            log.warning("%s", err)
        return self.data_docs_index()

    def data_docs_index(self) -> str:
        sites = self.context.get_docs_sites_urls()
        return str(sites[0]["site_url"]) if sites else ""


def stated_rows(dataset: Dataset, interval: DataInterval, settings: Settings) -> int | None:
    """The row count the source stated for this batch (its manifest, kept with the landed object)."""
    if dataset.source is None:
        return None
    head = None
    # the channel's own format, else a replay of the local drop (LAKEHOUSE_EXTRACT_FROM=local) in the other one
    for fmt in dict.fromkeys((dataset.source.format, "csv", "jsonl")):
        if (head := storage.head(landing_key(dataset, interval, fmt), settings)) is not None:
            break
    value = ((head or {}).get("Metadata") or {}).get(STATED_ROWS_META)
    return int(value) if value not in (None, "") else None


def _reference(spark: SparkSession, dataset: Dataset, settings: Settings) -> DataFrame | None:
    """The entity reference list (silver) a reading dataset is checked against, if it has one."""
    column = frames.entity_column(dataset)
    if not dataset.entity_column or not column:
        return None
    for name in dataset.inputs:
        ref = REGISTRY[name]
        if column in ref.natural_key:
            cols = [c for c in (column, "province_code", "active_since") if c in ref.column_names]
            return spark.read.format("delta").load(table_uri(ref, settings)).select(*cols)
    return None


_UNIQUENESS = ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique")
SAMPLE_CHARS = 300  # a sample value is for a person to recognize: a hostile 10 MB line must not fill the message


def clip_sample(value: str) -> str:
    """``value`` cut to ``SAMPLE_CHARS`` characters, saying how long it was (error messages, quality/checks)."""
    if len(value) <= SAMPLE_CHARS:
        return value
    return f"{value[:SAMPLE_CHARS]}… ({len(value):,} characters)"


def _samples(
    dataset: Dataset, outcomes: list[CheckOutcome], by_id: dict[str, Check], built: dict[str, DataFrame]
) -> None:
    """Sample values a person can act on, for failing checks only (GX is asked for none).

    Check columns (``_…``) are flags, so show the offending rows' key and value; other row checks
    show up to five offending values of their column(s), uniqueness checks the repeated keys;
    rejection shares show quarantined lines with their reason; silence shows the silent entities.
    """
    from pyspark.sql import functions as F

    key = frames.entity_column(dataset) or "_entity"
    for outcome in outcomes:
        check = by_id.get(outcome.check_id)
        if outcome.success or check is None:
            continue
        column = str(check.kwargs.get("column", ""))
        if check.frame == "lines" and column == "rejected_for":
            bad = built["lines"].where(F.col("rejected_for").isin(*check.kwargs["value_set"]))
            rows = bad.select("reason_code", "raw_line").orderBy("_source_line").limit(5).collect()
            outcome.sample = [f"{r[0]}: {r[1]}" for r in rows]
        elif check.frame == "entity" and column == "_hours_silent":
            silent = built["entity"].where(F.col("_hours_silent") > float(check.kwargs["max_value"]))
            ordered = silent.select(key, "_hours_silent").distinct().orderBy(F.col("_hours_silent").desc(), key)
            outcome.sample = [r[0] for r in ordered.limit(20).collect()]
        elif check.frame == "entity" and column == "_reported":
            missing = built["entity"].where(~F.col("_reported")).groupBy(key).count().orderBy(F.desc("count"), key)
            outcome.sample = [f"{r[0]}: {r[1]} h missing" for r in missing.limit(5).collect()]
        elif check.frame == "silver" and column.startswith(NO_LEGACY_ENCODING_FLAG):
            text = column[len(NO_LEGACY_ENCODING_FLAG) :]  # the name itself is what a person fixes
            rows = built["silver"].where(~F.col(column)).select(text).distinct().orderBy(text).limit(5).collect()
            outcome.sample = [str(r[0]) for r in rows]
        elif check.frame == "silver" and column.startswith("_"):
            condition = frames.unexpected_condition(check)
            if condition is None:
                continue
            shown = [
                c for c in (*dataset.natural_key, "province_code", "value", "unit") if c in built["silver"].columns
            ]
            rows = built["silver"].where(condition).select(*shown).limit(5).collect()
            outcome.sample = [", ".join(f"{c}={r[c]}" for c in shown) for r in rows]
        elif check.frame in built and check.expectation in _UNIQUENESS:
            columns = _named_columns(check)
            present = reduce(lambda a, b: a | b, [F.col(c).isNotNull() for c in columns])  # GX skips all-NULL keys
            repeated = built[check.frame].where(present)
            counted = repeated.groupBy(*columns).count().where(F.col("count") > 1)
            rows = counted.orderBy(F.desc("count"), *columns).limit(5).collect()
            outcome.sample = [", ".join(f"{c}={r[c]}" for c in columns) + f" ({r['count']} rows)" for r in rows]
        elif check.frame in built and (condition := frames.unexpected_condition(check)) is not None:
            columns = _named_columns(check)
            rows = built[check.frame].where(condition).select(*columns).limit(5).collect()
            outcome.sample = [", ".join(str(v) for v in r) for r in rows]
    for outcome in outcomes:
        outcome.sample = [clip_sample(s) for s in outcome.sample]
    _withhold_personal_samples(dataset, outcomes, by_id)


PERSONAL_CLASSES = (Classification.PERSONAL, Classification.SENSITIVE)


def _withhold_personal_samples(dataset: Dataset, outcomes: list[CheckOutcome], by_id: dict[str, Check]) -> None:
    """Samples go to ``quality/checks``, which every ministry reads: none may show personal data.

    For a dataset holding personal data, raw lines (which carry the raw values) are cut to their
    reason, ids of silent entities that are pseudonyms become a count, and values of personal
    columns are withheld; the owner finds the rows in its own quarantine and silver tables.
    """
    personal = {f.name for f in dataset.fields if f.classification in PERSONAL_CLASSES}
    if dataset.personal is None and not personal:
        return
    key = frames.entity_column(dataset)
    for outcome in outcomes:
        if not outcome.sample:
            continue
        check = by_id.get(outcome.check_id)
        column = str(check.kwargs.get("column", "")) if check else ""
        if outcome.frame == "lines":
            outcome.sample = [s.split(":", 1)[0] + ": <line withheld: personal data>" for s in outcome.sample]
        elif outcome.frame == "entity" and key in personal:
            outcome.sample = [f"{len(outcome.sample)} {key} values withheld (personal data)"]
        elif column in personal or any(f"{c}=" in s for s in outcome.sample for c in personal):
            outcome.sample = [f"{len(outcome.sample)} values withheld (personal data)"]


def run_gate(
    spark: SparkSession,
    dataset: Dataset,
    batch_id: str,
    interval: DataInterval,
    accounting: dict[str, Any],
    run_id: str,
    settings: Settings | None = None,
) -> GateResult:
    """Validate one batch, record scores, per-entity scores and accounting; raise on a critical failure.

    Passes over the data: silver is read once for the batch (persisted, with every check column
    added in the same projection) and once for liveness (two columns of the last 30 days); the
    quarantine batch is small. Each frame's checks run as one GX validation over a cached frame
    (GX's pandas engine on one Arrow collect for a frame of at most ``gate_local_max_rows``).
    """
    from pyspark import StorageLevel

    settings = settings or get_settings()
    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return clock[-1] - clock[-2]

    by_frame = checks_by_frame(dataset)
    by_id = {c.id: c for c in gate_checks(dataset)}
    stated = stated_rows(dataset, interval, settings)
    parameters: dict[str, Any] = {} if stated is None else {STATED_ROWS: stated}
    reference = _reference(spark, dataset, settings)
    if reference is not None:
        reference = reference.cache()
    silver_table = spark.read.format("delta").load(table_uri(dataset, settings))
    # Audit the staged batch (write → audit → publish): nothing of it is in silver yet.
    batch_rows = read_staged(spark, dataset, batch_id, "silver", settings).select(*silver_table.columns)
    silver_checks = by_frame.get("silver", [])
    silver = frames.silver_frame(batch_rows, dataset, interval, silver_checks, reference)
    silver = silver.persist(StorageLevel.MEMORY_AND_DISK)
    cached: list[DataFrame] = [silver] + ([reference] if reference is not None else [])
    try:
        text_flags = ("_text_is_nfc", NO_LEGACY_ENCODING_FLAG)
        if any(str(c.kwargs.get("column", "")).startswith(text_flags) for c in silver_checks):
            silver = frames.with_text_flags(silver, dataset, silver_checks)
        quarantine = read_staged(spark, dataset, batch_id, "quarantine", settings)
        built: dict[str, DataFrame] = {"silver": silver}
        if "published" in by_frame:
            dates = [str(d) for d in accounting.get("dates", [])]
            built["published"] = frames.published_frame(silver_table, batch_rows, dataset, batch_id, dates)
        lines = frames.lines_frame(spark, silver, quarantine, dataset, accounting, silver_checks, reference)
        built["lines"] = lines.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(built["lines"])
        has_entities = bool(dataset.entity_column and dataset.event_time)
        if has_entities:
            heard = [c for c in (frames.entity_column(dataset), dataset.event_time, "measured_date") if c]
            would_be = silver_table.select(*heard).unionByName(batch_rows.select(*heard))  # silver once published
            entity = frames.entity_frame(would_be, reference, dataset, interval)
            built["entity"] = entity.persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(built["entity"])
        gate = Gate(settings)
        spent = {"prepare": lap()}
        outcomes: list[CheckOutcome] = []
        for frame, df in built.items():
            if frame not in by_frame:
                continue
            rows = df.count()
            outcomes += _outcomes(gate.validate(dataset, frame, df, parameters, rows), frame, rows, parameters)
        spent["validate"] = lap()
        _samples(dataset, outcomes, by_id, built)
        sla = dataset.freshness_sla.total_seconds() / 3600 if dataset.freshness_sla else math.inf
        kind = frames.entity_type(dataset)
        per_entity = (
            frames.entity_scores(
                kind,
                frames.line_stats(built["lines"]),
                frames.entity_stats(built["entity"], dataset, sla) if has_entities else None,
            )
            if kind
            else []
        )
        spent["samples and entity scores"] = lap()
    finally:
        for df in cached:
            df.unpersist()
    result = GateResult(dataset.name, batch_id, score_by_criterion(outcomes), outcomes, gate.build_docs())
    result.entity_scores = per_entity
    spent["data docs"] = lap()
    record(spark, dataset, interval, batch_id, result, accounting, run_id, settings)
    spent["record"] = lap()
    log.info("gate %s: %s", dataset.name, ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()))
    if result.critical_failures:
        record_held(spark, dataset, interval, result, accounting, run_id, settings)
        raise QualityGateError(failure_message(dataset, interval, result))
    return result


def failure_message(dataset: Dataset, interval: DataInterval, result: GateResult) -> str:
    lines = [
        f"Quality gate failed for {dataset.qualified_name}, batch {result.batch_id} "
        f"(data interval {interval.start:%Y-%m-%d %H:%M} – {interval.end:%Y-%m-%d %H:%M} UTC); the batch is held: "
        "nothing of it reached silver, quarantine or gold:"
    ]
    for c in result.critical_failures:
        if c.element_count:
            failing = f"{c.unexpected_count} of {c.element_count} rows failed"
        else:
            failing = f"observed {c.observed or '—'}" + (f", expected {c.expected}" if c.expected else "")
        lines.append(
            f"  - criterion {c.criterion}, check {c.check_id} ({c.description}): {failing}; "
            f"sample offending values: {c.sample or '—'}"
        )
    lines.append(
        f"Look at it with `lakehouse batch show {result.batch_id}`; a steward decides with `lakehouse batch "
        f"release {result.batch_id} --reason TEXT` (publish it as it is) or `lakehouse batch discard "
        f"{result.batch_id} --reason TEXT`, or fix the source and rerun. Every check's result: quality/checks; "
        f"Data Docs: {result.data_docs}"
    )
    return "\n".join(lines)


def record_held(
    spark: SparkSession,
    dataset: Dataset,
    interval: DataInterval,
    result: GateResult,
    accounting: dict[str, Any],
    run_id: str,
    settings: Settings,
) -> None:
    """The batch stopped at its gate: one ``quality/held_batches`` row (replacing an earlier run's)
    with the failed critical checks and their samples, for a steward to look at and decide."""
    from datetime import UTC, datetime

    failed = [
        {
            "check_id": c.check_id,
            "criterion": c.criterion,
            "description": c.description,
            "observed": c.observed,
            "expected": c.expected,
            "unexpected_count": c.unexpected_count,
            "element_count": c.element_count,
            "sample": c.sample,
        }
        for c in result.critical_failures
    ]
    row = (
        dataset.name,
        result.batch_id,
        interval.start.replace(tzinfo=None),
        interval.end.replace(tzinfo=None),
        HELD,
        json.dumps(failed, ensure_ascii=False),
        int(accounting["silver_rows"]),
        int(accounting["quarantined_rows"]),
        int(accounting["staged_version"]),
        datetime.now(UTC).replace(tzinfo=None),
        run_id,
        None,
        None,
        None,
        None,
    )
    predicate = f"dataset = '{dataset.name}' AND batch_id = '{result.batch_id}'"
    replace_rows(spark, [row], HELD_BATCHES_DDL, HELD_BATCHES_KEY, predicate, settings)


def record(
    spark: SparkSession,
    dataset: Dataset,
    interval: DataInterval,
    batch_id: str,
    result: GateResult,
    accounting: dict[str, Any],
    run_id: str,
    settings: Settings,
) -> None:
    """Write scores, check results, per-entity scores and accounting for this batch (replacing a
    previous run's). The four tables are independent, so their commits run concurrently (delta-rs
    releases the GIL)."""
    start, end = interval.start.replace(tzinfo=None), interval.end.replace(tzinfo=None)
    predicate = f"dataset = '{dataset.name}' AND batch_id = '{batch_id}'"
    writes: list[tuple[list[tuple[Any, ...]], str, str]] = []
    score_rows = []
    for criterion, score in result.scores.items():
        mine = [c for c in result.checks if c.criterion == criterion]
        score_rows.append(
            (
                dataset.name,
                criterion,
                start,
                end,
                batch_id,
                sum(c.success for c in mine),
                sum(not c.success for c in mine),
                max((c.element_count or 0) for c in mine),
                sum((c.unexpected_count or 0) for c in mine),
                score,
                RULESET_VERSION,
                run_id,
            )
        )
    writes.append((score_rows, SCORES_DDL, "scores"))
    check_rows = [
        (
            dataset.name,
            c.check_id,
            c.frame,
            c.criterion,
            c.severity,
            c.success,
            c.element_count,
            c.unexpected_count,
            c.observed,
            json.dumps(c.sample, ensure_ascii=False),
            c.description,
            start,
            batch_id,
            RULESET_VERSION,
            run_id,
        )
        for c in result.checks
    ]
    writes.append((check_rows, CHECKS_DDL, "checks"))
    acc = (
        dataset.name,
        batch_id,
        start,
        accounting["landed_rows"],
        accounting["silver_rows"],
        accounting["quarantined_rows"],
        accounting["exact_duplicates"],
        accounting["superseded_duplicates"],
        json.dumps(accounting.get("quarantined_by_reason", {}), sort_keys=True),
        run_id,
    )
    writes.append(([acc], ACCOUNTING_DDL, "batch_accounting"))
    entity_rows = [
        (
            dataset.name,
            e.criterion,
            e.entity_type,
            e.entity_id,
            start,
            end,
            batch_id,
            e.rows_evaluated,
            e.rows_failing,
            e.score,
            e.last_seen,
            e.silent,
            RULESET_VERSION,
            run_id,
        )
        for e in result.entity_scores
    ]
    writes.append((entity_rows, ENTITY_SCORES_DDL, "entity_scores"))
    with ThreadPoolExecutor(max_workers=len(writes)) as pool:
        done = [
            pool.submit(replace_rows, spark, rows, ddl, quality_key(key), predicate, settings)
            for rows, ddl, key in writes
        ]
    for future in done:
        future.result()  # re-raise the first failed write
