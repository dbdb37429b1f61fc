"""Scenario 4: the store goes down in the middle of a publish.

The publish task runs in a child process; the moment its first Parquet file reaches the silver
table, this test stops the store (``infra/store/store.sh stop``: the same MinIO, data kept).

- Down for a while within the retry budget (8 s small, 30 s full; the budget is the default 60 s):
  the clients' retries, or the step waiting for the store and rerunning (``jobs.storage.store_step``),
  ride it out and the publish succeeds, every line exactly once.
- Down past the budget (small: a budget cut to 5 s for the child; full: the default 60 s): the task
  fails with a ``StoreUnreachableError`` saying what to do within the budget plus the clients' last
  retries, nothing is committed, and the rerun after the store is back is exact.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.chaos import faults
from tests.chaos.scenario import ScenarioRow, sized
from tests.lakehouse_fixtures import lake_bucket

# Under a shared machine's load one Spark step can take minutes: more room than the suite's 900 s.
# The store it stops is every test's: `make test` runs it alone, after the parallel pass (serial).
pytestmark = [pytest.mark.integration, pytest.mark.serial, pytest.mark.timeout(1800)]


@pytest.fixture
def lake(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, faults.Readings]]:
    day = date(2026, 11, 21) if "within" in request.node.name else date(2026, 11, 22)
    readings = faults.write_readings(tmp_path / "sources", day, sized(2_000, 200_000))
    with lake_bucket("outage", tmp_path / "sources", tmp_path / "gx"):
        try:
            yield tmp_path, readings
        finally:
            faults.store("start")  # whatever happened, the store is up again for the next test


def test_store_down_within_retry_budget(lake: tuple[Path, faults.Readings], chaos_row: ScenarioRow) -> None:
    from jobs.settings import get_settings

    tmp, readings = lake
    settings = get_settings()
    outage = sized(8, 30)
    audited = faults.audited_batch(readings, "chaos-outage")
    before = faults.data_files(faults.keys(settings, faults.SILVER_KEY + "/"))
    proc = faults.start_publish(audited, tmp / "publish.log")
    try:
        faults.wait_for_new_data_file(proc, settings, faults.SILVER_KEY + "/", before)
        faults.store("stop")
        down_at = time.monotonic()
        time.sleep(outage)
        faults.store("start")
        up_at = time.monotonic()
        assert proc.poll() is None, "the publish finished before the store went down: no outage was ridden out"
        proc.wait(timeout=600)
    finally:
        faults.kill_group(proc)
    log = (tmp / "publish.log").read_text(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    waited = time.monotonic() - down_at
    silver, quarantined, duplicated = faults.books(settings, readings)
    chaos_row.count(records_in=readings.total, silver=silver, quarantined=quarantined, duplicated=duplicated)
    how = "the step waiting for the store and rerunning" if "rerunning the step" in log else "the clients' retries"
    chaos_row.detail = (
        f"store down {up_at - down_at:.0f} s mid-publish; ridden out by {how}, finished {waited:.0f} s after"
    )
    assert faults.operations(settings, faults.SILVER_KEY).count("MERGE") == 1
    assert (silver, quarantined) == (readings.good, readings.bad)
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0


def test_store_down_past_retry_budget(lake: tuple[Path, faults.Readings], chaos_row: ScenarioRow) -> None:
    from jobs.pipeline import publish_batch
    from jobs.settings import get_settings

    tmp, readings = lake
    settings = get_settings()
    audited = faults.audited_batch(readings, "chaos-outage-long")
    before = faults.data_files(faults.keys(settings, faults.SILVER_KEY + "/"))
    budget = sized(5, 60)  # small: cut for the child; full: the default
    proc = faults.start_publish(audited, tmp / "publish.log", env={"LAKEHOUSE_S3_RETRY_BUDGET_SECONDS": str(budget)})
    try:
        faults.wait_for_new_data_file(proc, settings, faults.SILVER_KEY + "/", before)
        faults.store("stop")
        down_at = time.monotonic()
        proc.wait(timeout=budget + 300)  # the store stays down until the task has given up
        gave_up = time.monotonic() - down_at
    finally:
        faults.kill_group(proc)
        faults.store("start")
    log = (tmp / "publish.log").read_text(errors="replace")
    assert proc.returncode not in (0, None), log[-3000:]
    assert "StoreUnreachableError: The object store at" in log, log[-3000:]
    assert f"({budget} s: LAKEHOUSE_S3_RETRY_BUDGET_SECONDS)" in log and "rerun the task" in log
    # the budget, then the clients' last retries of one call (S3A ≤ 10.5 s, boto3's) and the exit
    assert budget <= gave_up <= budget + 60, f"gave up {gave_up:.0f} s after the store went down"
    assert "MERGE" not in faults.operations(settings, faults.SILVER_KEY), "the store went down after the commit"
    assert faults.books(settings, readings) == (0, 0, 0)  # nothing of the failed attempt is visible

    rerun = publish_batch(faults.AIR, audited)  # the retry after the store is back
    assert rerun["published"]["silver_rows"] == readings.good
    silver, quarantined, duplicated = faults.books(settings, readings)
    chaos_row.count(records_in=readings.total, silver=silver, quarantined=quarantined, duplicated=duplicated)
    chaos_row.detail = (
        f"store down past the {budget} s budget: the task failed clearly after {gave_up:.0f} s; rerun exact"
    )
    assert faults.operations(settings, faults.SILVER_KEY).count("MERGE") == 1
    assert (silver, quarantined) == (readings.good, readings.bad)
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0
