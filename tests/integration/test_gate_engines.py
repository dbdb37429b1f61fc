"""The gate validates a small frame with GX's pandas engine (one Arrow collect) and a large one with
its Spark engine: both must reach the same verdict on the same staged batch, check by check.

The fixture's air readings carry the generator's mess (quarantined lines, duplicates, a silent
station: failing warning checks); the all-negative day fails critical checks. Each batch is audited
twice, once per engine (``gate_local_max_rows`` 0 puts every frame on Spark)."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, lake_bucket, make_all_negative

BAD_DAY = FIXTURE_DAY.replace(day=20)


def _audit_both_ways(dataset_name: str, interval: DataInterval, caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """Stage one batch, then run the gate on it with each engine; the outcomes, or the failure's text."""
    from expectations.gate import QualityGateError, run_gate
    from jobs import pipeline
    from jobs.registry import REGISTRY
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    start, end = interval.as_strings()
    landed = pipeline.land_batch(dataset_name, start, end)
    bronze = pipeline.load_bronze_batch(dataset_name, landed)
    refined = pipeline.refine_batch(dataset_name, bronze["batch_id"], start, end)
    settings = get_settings()
    assert settings.gate_local_max_rows >= 10_000  # the default: the fixture's frames are all small
    verdicts: dict[str, Any] = {}
    for engine, limit in (("pandas", settings.gate_local_max_rows), ("spark", 0)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="expectations.gate"):
            try:
                result = run_gate(
                    get_spark(),
                    REGISTRY[dataset_name],
                    refined["batch_id"],
                    interval,
                    refined,
                    f"engines-{engine}",
                    dataclasses.replace(settings, gate_local_max_rows=limit),
                )
                verdicts[engine] = [dataclasses.asdict(c) for c in result.checks]
            except QualityGateError as failure:
                verdicts[engine] = str(failure)
        # Only the gate's own lines: other tests in the same worker may have turned GX's logging up.
        used = {
            m.group(1)
            for r in caplog.records
            if r.name == "expectations.gate" and (m := re.search(r" on GX's (\w+) engine$", r.getMessage()))
        }
        assert used == {engine}, [r.getMessage() for r in caplog.records if r.name == "expectations.gate"]
    return verdicts


def test_both_engines_give_the_same_outcome_per_check(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from jobs.pipeline import run_dataset

    sources = copy_fixture_sources(tmp_path / "sources")
    with lake_bucket("engines", sources, tmp_path / "gx"):
        interval = DataInterval.for_local_day(FIXTURE_DAY)
        run_dataset("air_station", *interval.as_strings())
        verdicts = _audit_both_ways("air_quality_reading", interval, caplog)
    pandas, spark = verdicts["pandas"], verdicts["spark"]
    assert isinstance(pandas, list) and len(pandas) > 20
    failing = [c["check_id"] for c in pandas if not c["success"]]
    assert failing, "the fixture's mess fails some (warning) checks"
    assert any((c["unexpected_count"] or 0) > 0 for c in pandas)
    for mine, theirs in zip(pandas, spark, strict=True):
        assert mine == theirs


def test_both_engines_hold_a_bad_batch_for_the_same_reasons(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from jobs.pipeline import run_dataset

    sources = copy_fixture_sources(tmp_path / "sources")
    make_all_negative(sources, BAD_DAY)
    with lake_bucket("engines-bad", sources, tmp_path / "gx"):
        interval = DataInterval.for_local_day(BAD_DAY)
        run_dataset("air_station", *interval.as_strings())
        verdicts = _audit_both_ways("air_quality_reading", interval, caplog)
    assert isinstance(verdicts["pandas"], str) and "check correct_share" in verdicts["pandas"]
    assert verdicts["pandas"] == verdicts["spark"]
