"""Registry checks → Great Expectations suites, one suite per dataset × frame.

Each expectation carries its criterion (đúng / đủ / sạch / sống), severity, check id and the
rule-set version in ``meta``, so results can be scored per criterion and read in Data Docs.
Besides a dataset's own checks, every required (non-nullable) field gets a not-null check.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobs.provinces import PROVINCES_2025, PROVINCES_LEGACY
from jobs.registry import RULESET_VERSION, Check, Criterion, Dataset, Severity
from jobs.text import LEGACY_PATTERN_REGEX

if TYPE_CHECKING:
    import great_expectations as gx

__all__ = ["RULESET_VERSION", "build_suite", "checks_by_frame", "gate_checks", "suite_parameters"]

# Registry values that name reference data rather than spell it out.
_SYMBOLIC_VALUES: dict[str, Any] = {
    "__PROVINCES_2025__": sorted(PROVINCES_2025),
    "__PROVINCES_LEGACY__": sorted(PROVINCES_LEGACY),  # the 63 codes valid until 2025-06-30
    "__LEGACY_ENCODING_REGEX__": LEGACY_PATTERN_REGEX,
}


def expectation_kwargs(check: Check) -> dict[str, Any]:
    return {k: _SYMBOLIC_VALUES.get(v, v) if isinstance(v, str) else v for k, v in check.kwargs.items()}


def check_meta(dataset: Dataset, check: Check) -> dict[str, Any]:
    return {
        "check_id": check.id,
        "dataset": dataset.name,
        "criterion": check.criterion.value,
        "severity": check.severity.value,
        "description": check.description,
        "ruleset_version": RULESET_VERSION,
    }


def required_field_checks(dataset: Dataset) -> tuple[Check, ...]:
    """đủ: one not-null check per field the data dictionary declares required."""
    return tuple(
        Check(
            f"required_{f.name}",
            Criterion.COMPLETE,
            Severity.CRITICAL,
            "ExpectColumnValuesToNotBeNull",
            {"column": f.name},
            f"Every row has {f.name} ({f.en}).",
        )
        for f in dataset.fields
        if not f.nullable
    )


PUBLISHED_KEY_CHECK = "unique_natural_key_after_publish"


def published_key_checks(dataset: Dataset) -> tuple[Check, ...]:
    """sạch, audited before publishing: the dataset's unique-key check, run over what silver would
    hold for the batch's keys once it is published (silver ∪ staged, minus what the batch replaces)."""
    return tuple(
        dataclasses.replace(
            check,
            id=PUBLISHED_KEY_CHECK,
            frame="published",
            description="The natural key stays unique in silver once this batch is published "
            "(silver's rows for the batch's keys with the staged rows, minus the versions the batch replaces).",
        )
        for check in dataset.checks
        if check.id == "unique_natural_key"
    )


def gate_checks(dataset: Dataset) -> tuple[Check, ...]:
    """Everything the gate runs for a dataset: required fields first, then the registered checks,
    then the audit of what silver would become."""
    if not dataset.checks:
        return ()
    return (*required_field_checks(dataset), *dataset.checks, *published_key_checks(dataset))


def checks_by_frame(dataset: Dataset) -> dict[str, list[Check]]:
    frames: dict[str, list[Check]] = defaultdict(list)
    for check in gate_checks(dataset):
        frames[check.frame].append(check)
    return dict(frames)


def suite_parameters(check: Check) -> list[str]:
    """Names of the run-time suite parameters (``{"$PARAMETER": name}``) a check's kwargs use."""
    return [v["$PARAMETER"] for v in check.kwargs.values() if isinstance(v, Mapping) and "$PARAMETER" in v]


def runnable(check: Check, parameters: Mapping[str, Any] | None) -> bool:
    """A check whose suite parameter has no value this run (e.g. no source manifest) is not run."""
    return parameters is None or all(p in parameters for p in suite_parameters(check))


def build_suite(dataset: Dataset, frame: str, parameters: Mapping[str, Any] | None = None) -> gx.ExpectationSuite:
    """The GX suite for one frame of a dataset, from its registry checks.

    With ``parameters`` (this run's suite parameter values), checks lacking a value are left out;
    without, the full suite is built (docs, tests).
    """
    import great_expectations as gx

    # Given whole to the constructor: ``suite.add_expectation`` looks the suite up in the current
    # Data Context's store for every expectation (0.7-1.0 s for a dataset's four suites).
    expectations = [
        getattr(gx.expectations, check.expectation)(**expectation_kwargs(check), meta=check_meta(dataset, check))
        for check in checks_by_frame(dataset).get(frame, [])
        if runnable(check, parameters)
    ]
    return gx.ExpectationSuite(name=f"{dataset.name}.{frame}", expectations=expectations)
