"""A small batch's steps run Spark's interpreted expressions (``jobs.spark.interpreted_if_small``), a
large one's generated code: both must write the same lake.

The station list, the air readings (the fixture's mess: quarantined lines, duplicates) and the
vehicle positions (personal data: pseudonyms, the restricted table) run through all their steps once
with the default (the fixture's batches are small: interpreted) and once with
``LAKEHOUSE_SPARK_INTERPRETED_MAX_ROWS=0`` (generated code); every table they wrote is compared row
by row, without the landing time each run stamps, and so are the books and the gate's scores. (Gold
builds keep generated code: they are not sized by a batch.)"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from tests.lakehouse_fixtures import (
    FIXTURE_DAY,
    SMALL_SLICE,
    _reset_caches,
    copy_fixture_sources,
    lake_bucket,
    lake_contents,
)


def run_once(tmp_path: Path, label: str, caplog: pytest.LogCaptureFixture) -> tuple[dict[str, Any], bool]:
    """The datasets' steps on a fresh bucket: the lake's tables, the books and gate scores, and whether a
    step ran interpreted."""
    from jobs.pipeline import run_dataset

    sources = copy_fixture_sources(tmp_path / label / "sources")
    caplog.clear()
    with (
        caplog.at_level(logging.INFO, logger="jobs.spark"),
        lake_bucket(f"interp-{label}", sources, tmp_path / label / "gx"),
    ):
        interval = DataInterval.for_local_day(FIXTURE_DAY)
        results = {name: run_dataset(name, *interval.as_strings(), run_id="interp") for name in SMALL_SLICE}
        tables = lake_contents(list(SMALL_SLICE))
    scores = {name: r["scores"] for name, r in results.items()}
    books = {name: r["refined"] for name, r in results.items()}
    for refined in books.values():
        refined.pop("staged_version", None)  # a table version, not data
    interpreted = any("Spark's interpreted expressions" in r.getMessage() for r in caplog.records)
    return {"tables": tables, "scores": scores, "books": books}, interpreted


def test_small_batches_interpreted_write_what_generated_code_writes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("LAKEHOUSE_SPARK_INTERPRETED_MAX_ROWS", raising=False)  # the default: fixture batches are small
        interpreted, used = run_once(tmp_path, "interpreted", caplog)  # (lake_bucket re-reads the settings)
        assert used, "the default should have run the fixture's small batches interpreted"
        env.setenv("LAKEHOUSE_SPARK_INTERPRETED_MAX_ROWS", "0")
        generated, used = run_once(tmp_path, "generated", caplog)
        assert not used
    _reset_caches()
    tables = interpreted["tables"]
    assert sum(len(rows) for label, rows in tables.items() if label.endswith("quarantine")) > 0
    assert len(tables["air_quality_reading"]) > 100
    assert len(tables["vehicle_position restricted"]) > 0
    assert tables.keys() == generated["tables"].keys()
    for label in tables:
        assert tables[label] == generated["tables"][label], label
    assert interpreted["scores"] == generated["scores"]
    assert interpreted["books"] == generated["books"]
