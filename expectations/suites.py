"""Registry checks → Great Expectations suites, one suite per dataset × frame.

Each expectation carries its criterion (đúng / đủ / sạch / sống), severity, check id and the
rule-set version in ``meta``, so results can be scored per criterion and read in Data Docs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from jobs.provinces import PROVINCES_2025
from jobs.registry import RULESET_VERSION, Check, Dataset

if TYPE_CHECKING:
    import great_expectations as gx

# Registry values that name reference data rather than spell it out.
_SYMBOLIC_VALUES: dict[str, Any] = {"__PROVINCES_2025__": sorted(PROVINCES_2025)}


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


def checks_by_frame(dataset: Dataset) -> dict[str, list[Check]]:
    frames: dict[str, list[Check]] = defaultdict(list)
    for check in dataset.checks:
        frames[check.frame].append(check)
    return dict(frames)


def build_suite(dataset: Dataset, frame: str) -> gx.ExpectationSuite:
    """The GX suite for one frame of a dataset, from its registry checks."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"{dataset.name}.{frame}")
    for check in checks_by_frame(dataset).get(frame, []):
        expectation_class = getattr(gx.expectations, check.expectation)
        suite.add_expectation(expectation_class(**expectation_kwargs(check), meta=check_meta(dataset, check)))
    return suite
