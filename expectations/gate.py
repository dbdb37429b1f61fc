"""The quality gate: run a batch's GX suites, score each criterion, stop bad batches before gold.

Per check the score is the share of evaluated rows that passed (row checks) or 100/0 (table
checks); a criterion's score is the mean of its checks. Results go to two Delta tables in the
``quality`` area (``scores``: dataset × criterion × interval; ``checks``: one row per check)
plus the batch's row accounting, and GX Data Docs are rebuilt. A failed *critical* check raises
:class:`QualityGateError` naming dataset, criterion, check and sample offending values.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from expectations.suites import build_suite, checks_by_frame
from jobs.errors import DataError
from jobs.interval import DataInterval
from jobs.registry import RULESET_VERSION, Criterion, Dataset, Severity
from jobs.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

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


def _outcomes(validation: Any, frame: str, samples: dict[str, list[str]], frame_rows: int) -> list[CheckOutcome]:
    out = []
    for r in validation.results:
        meta = r.expectation_config.meta or {}
        res = r.result or {}
        observed = res.get("observed_value")
        sample = [str(v) for v in (res.get("partial_unexpected_list") or [])[:5]]
        out.append(
            CheckOutcome(
                check_id=meta["check_id"],
                frame=frame,
                criterion=meta["criterion"],
                severity=meta["severity"],
                success=bool(r.success),
                element_count=res.get("element_count"),
                unexpected_count=res.get("unexpected_count"),
                observed="" if observed is None else str(observed),
                sample=samples.get(meta["check_id"], sample),
                description=meta.get("description", ""),
                # On an empty frame only table-level checks say anything; row checks pass vacuously.
                evaluated=frame_rows > 0 or r.expectation_config.type.startswith("expect_table_"),
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


class Gate:
    """Runs GX validations for one dataset batch against a file-backed GX project."""

    def __init__(self, settings: Settings | None = None) -> None:
        import great_expectations as gx

        self.settings = settings or get_settings()
        self.settings.gx_root.mkdir(parents=True, exist_ok=True)
        self.context = gx.get_context(mode="file", project_root_dir=str(self.settings.gx_root))
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.datasource = self.context.data_sources.add_or_update_spark(name="lakehouse_spark")

    def validate(self, dataset: Dataset, frame: str, df: DataFrame) -> Any:
        """Run one frame's suite; the result is stored for Data Docs (built once per gate)."""
        import great_expectations as gx

        name = f"{dataset.name}.{frame}"
        try:
            asset = self.datasource.get_asset(name)
        except LookupError:
            asset = self.datasource.add_dataframe_asset(name=name)
        try:
            batch_def = asset.get_batch_definition("batch")
        except KeyError:
            batch_def = asset.add_batch_definition_whole_dataframe("batch")
        suite = self.context.suites.add_or_update(build_suite(dataset, frame))
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_def, suite=suite)
        )
        return definition.run(
            batch_parameters={"dataframe": df},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )

    def build_docs(self) -> str:
        """Rebuild the Data Docs site; returns the index URL."""
        self.context.build_data_docs()
        return self.data_docs_index()

    def data_docs_index(self) -> str:
        sites = self.context.get_docs_sites_urls()
        return str(sites[0]["site_url"]) if sites else ""


def run_gate(
    spark: SparkSession,
    dataset: Dataset,
    batch_id: str,
    interval: DataInterval,
    accounting: dict[str, Any],
    run_id: str,
    settings: Settings | None = None,
) -> GateResult:
    """Validate one batch, record scores and accounting, raise if a critical check failed."""
    from pyspark.sql import functions as F

    from expectations import frames
    from jobs.bronze import read_bronze_batch
    from jobs.silver import quarantine_uri, table_uri

    settings = settings or get_settings()
    silver = spark.read.format("delta").load(table_uri(dataset, settings))
    builders = {
        "silver": lambda: frames.silver_frame(silver, dataset, batch_id, interval),
        "audit": lambda: frames.audit_frame(
            read_bronze_batch(spark, dataset, batch_id, settings),
            spark.read.format("delta").load(quarantine_uri(dataset, settings)).where(F.col("_batch_id") == batch_id),
        ),
        "delivered": lambda: frames.delivered_frame(read_bronze_batch(spark, dataset, batch_id, settings)),
        "coverage": lambda: frames.coverage_frame(silver, dataset, interval),
        "entity": lambda: frames.entity_frame(silver, dataset, interval),
    }
    gate = Gate(settings)
    outcomes: list[CheckOutcome] = []
    for frame, checks in checks_by_frame(dataset).items():
        df = builders[frame]().cache()
        samples: dict[str, list[str]] = {}
        if frame == "entity":  # name the silent entities, not just their silence
            assert dataset.entity_column is not None
            for check in checks:
                limit = float(check.kwargs["max_value"])
                silent = df.where(F.col("_hours_silent") > limit).orderBy(F.col("_hours_silent").desc())
                samples[check.id] = [r[0] for r in silent.select(dataset.entity_column).limit(20).collect()]
        outcomes += _outcomes(gate.validate(dataset, frame, df), frame, samples, df.count())
        df.unpersist()
    result = GateResult(dataset.name, batch_id, score_by_criterion(outcomes), outcomes, gate.build_docs())
    record(spark, dataset, interval, batch_id, result, accounting, run_id, settings)
    if result.critical_failures:
        raise QualityGateError(failure_message(dataset, interval, result))
    return result


def failure_message(dataset: Dataset, interval: DataInterval, result: GateResult) -> str:
    lines = [
        f"Quality gate failed for {dataset.qualified_name}, batch {result.batch_id} "
        f"(data interval {interval.start:%Y-%m-%d %H:%M} – {interval.end:%Y-%m-%d %H:%M} UTC); gold not written:"
    ]
    for c in result.critical_failures:
        failing = f"{c.unexpected_count} of {c.element_count} rows" if c.element_count else f"observed {c.observed}"
        lines.append(
            f"  - criterion {c.criterion}, check {c.check_id} ({c.description}): {failing} failed; "
            f"sample offending values: {c.sample or '—'}"
        )
    lines.append(
        f"Quarantined rows and their reasons: quarantine/{dataset.sector}/{dataset.name}; Data Docs: {result.data_docs}"
    )
    return "\n".join(lines)


def _replace(
    spark: SparkSession, rows: list[tuple[Any, ...]], ddl: str, key: str, predicate: str, settings: Settings
) -> None:
    from jobs.silver import ensure_table

    uri = settings.s3a_uri(f"quality/{key}")
    ensure_table(spark, uri, ddl, ("dataset",))
    spark.createDataFrame(rows, ddl).write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(uri)


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
    """Write scores, check results and accounting for this batch (replacing a previous run's)."""
    start, end = interval.start.replace(tzinfo=None), interval.end.replace(tzinfo=None)
    predicate = f"dataset = '{dataset.name}' AND batch_id = '{batch_id}'"
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
    _replace(spark, score_rows, SCORES_DDL, "scores", predicate, settings)
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
    _replace(spark, check_rows, CHECKS_DDL, "checks", predicate, settings)
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
    _replace(spark, [acc], ACCOUNTING_DDL, "batch_accounting", predicate, settings)
