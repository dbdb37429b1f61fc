"""Scenario 1: the publish task killed after its data files are written, before the Delta commit.

The child process running the publish (what the DAG's publish task calls) is SIGKILLed, with its
JVM, the moment a new Parquet file of the batch appears under the silver table while no commit
for it exists. Readers must see no row of the batch (no partial version), the orphan files must
stay unread, and the rerun (Airflow's retry) must publish every line exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.chaos import faults
from tests.chaos.scenario import ScenarioRow, sized
from tests.lakehouse_fixtures import lake_bucket

# Under a shared machine's load one Spark step can take minutes: more room than the suite's 900 s.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

DAY = date(2026, 11, 20)


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[tuple[Path, faults.Readings]]:
    readings = faults.write_readings(tmp_path / "sources", DAY, sized(2_000, 200_000))
    with lake_bucket("killed", tmp_path / "sources", tmp_path / "gx"):
        yield tmp_path, readings


def test_writer_killed_before_commit(lake: tuple[Path, faults.Readings], chaos_row: ScenarioRow) -> None:
    from jobs.pipeline import publish_batch
    from jobs.settings import get_settings
    from jobs.storage import delta_table_or_none

    tmp, readings = lake
    settings = get_settings()
    audited = faults.audited_batch(readings, "chaos-killed")
    before = faults.keys(settings, faults.SILVER_KEY + "/")

    proc = faults.start_publish(audited, tmp / "publish-killed.log")
    try:
        written = faults.wait_for_new_data_file(proc, settings, faults.SILVER_KEY + "/", faults.data_files(before))
    finally:
        faults.kill_group(proc)
    assert proc.returncode == -9
    after_kill = faults.keys(settings, faults.SILVER_KEY + "/")
    orphans = faults.data_files(after_kill) - faults.data_files(before)
    assert written <= orphans, "the files seen before the kill must still be in the store"
    # No partial version: no MERGE was committed and no reader sees a row of the batch.
    assert "MERGE" not in faults.operations(settings, faults.SILVER_KEY), "the kill came after the commit"
    assert faults.books(settings, readings) == (0, 0, 0)

    rerun = publish_batch(faults.AIR, audited)  # what Airflow's retry of the publish task does
    assert rerun["published"]["silver_rows"] == readings.good
    silver, quarantined, duplicated = faults.books(settings, readings)
    chaos_row.count(records_in=readings.total, silver=silver, quarantined=quarantined, duplicated=duplicated)
    table = delta_table_or_none(settings, faults.SILVER_KEY)
    assert table is not None
    live = {u.split(f"{settings.bucket}/", 1)[1] for u in table.file_uris()}
    assert not orphans & live, "an orphan file of the killed attempt is part of the table"
    assert orphans <= faults.keys(settings, faults.SILVER_KEY + "/")  # still there, unread
    assert faults.operations(settings, faults.SILVER_KEY).count("MERGE") == 1
    chaos_row.detail = f"killed with {len(orphans)} orphan Parquet file(s) written, no commit; rerun exact"
    assert (silver, quarantined) == (readings.good, readings.bad)
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0
