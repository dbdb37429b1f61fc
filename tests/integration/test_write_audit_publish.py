"""Write → audit → publish, on the real store with Spark and delta-rs: a batch that fails a critical
check reaches no reader, a steward's release publishes it once, a discard leaves it out for good,
and a publish killed between its commits finishes on the rerun with every row exactly once.

The readings are written here by hand (not by the generator), so every expected figure is counted
from these lines:

- day 10 (held, then released): station AQ-01-0001 PM2.5 at 00–03 h = 50, 60, 70, 80 (good) and
  eight negative values (AQ-01-0001 PM10, AQ-79-0001 PM2.5): 8 of 12 rejected as incorrect, above
  the half that ``correct_share`` (critical) allows;
- day 11 (certified): AQ-01-0001 PM2.5 late for day 10 at 20–23 h = 10, 20, 30, 40, plus three
  readings of day 11. Gold ``aqi_hourly`` for AQ-01-0001 on day 10 then has PM2.5 1 h values at
  20–23 h only (10, 20, 30, 40), and after the release of day 10 also at 00–03 h (50, 60, 70, 80);
- day 12 (held, then discarded): as day 10;
- day 13 (certified, publish killed after the silver commit): six good PM2.5 readings, one
  negative, one exact duplicate line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from tests.lakehouse_fixtures import REPO, copy_fixture_sources, lake_bucket, ministry_identities

pytestmark = pytest.mark.integration

HEADER = "station_id,station_name,province_code,parameter,value,unit,measured_at,device_status"
HELD_DAY, LATE_DAY, DISCARD_DAY, CRASH_DAY = (
    date(2026, 11, 10),
    date(2026, 11, 11),
    date(2026, 11, 12),
    date(2026, 11, 13),
)
AIR = "air_quality_reading"


def _line(station: str, province: str, parameter: str, value: float, at: str) -> str:
    return f"{station},Trạm,{province},{parameter},{value},µg/Nm³,{at}:00+07:00,measuring"


def _mostly_negative(day: date) -> list[str]:
    lines = [_line("AQ-01-0001", "01", "PM2.5", v, f"{day}T{h:02d}:00") for h, v in enumerate((50, 60, 70, 80))]
    lines += [_line("AQ-01-0001", "01", "PM10", -5, f"{day}T{h:02d}:00") for h in range(4)]
    lines += [_line("AQ-79-0001", "79", "PM2.5", -5, f"{day}T{h:02d}:00") for h in range(4)]
    return lines


def _write(sources: Path, day: date, lines: list[str]) -> None:
    path = sources / "environment" / "air_quality" / f"readings_{day:%Y%m%d}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")


def _sources(root: Path) -> Path:
    sources = copy_fixture_sources(root)
    _write(sources, HELD_DAY, _mostly_negative(HELD_DAY))
    late = [_line("AQ-01-0001", "01", "PM2.5", v, f"{HELD_DAY}T{20 + i}:00") for i, v in enumerate((10, 20, 30, 40))]
    late += [_line("AQ-01-0001", "01", "PM2.5", v, f"{LATE_DAY}T0{i}:00") for i, v in enumerate((12, 14))]
    late.append(_line("AQ-79-0001", "79", "PM2.5", 30, f"{LATE_DAY}T00:00"))
    _write(sources, LATE_DAY, late)
    _write(sources, DISCARD_DAY, _mostly_negative(DISCARD_DAY))
    crash = [_line("AQ-01-0001", "01", "PM2.5", 20 + h, f"{CRASH_DAY}T{h:02d}:00") for h in range(6)]
    crash += [_line("AQ-79-0001", "79", "PM2.5", -1, f"{CRASH_DAY}T00:00"), crash[0]]
    _write(sources, CRASH_DAY, crash)
    return sources


def _interval(day: date) -> tuple[str, str]:
    return DataInterval.for_local_day(day).as_strings()


def _batch(day: date) -> str:
    return DataInterval.for_local_day(day).batch_id(AIR)


@dataclass
class Lake:
    bucket: str
    ministries: dict[str, Any]
    held_error: str
    discard_error: str


def _silver(spark: Any, settings: Any) -> Any:
    return spark.read.format("delta").load(settings.s3a_uri(f"silver/environment/{AIR}"))


def _rows(settings: Any, key: str) -> list[dict[str, Any]]:
    from deltalake import DeltaTable

    return (
        DeltaTable(settings.s3_uri(key), storage_options=settings.delta_rs_storage_options())
        .to_pyarrow_table()
        .to_pylist()
    )


def _pm25_hours(spark: Any, settings: Any, day: date) -> dict[int, float]:
    """AQ-01-0001's PM2.5 1 h values in gold ``aqi_hourly`` on ``day``, by local hour."""
    from pyspark.sql import functions as F

    gold = spark.read.format("delta").load(settings.s3a_uri("gold/environment/aqi_hourly"))
    rows = gold.where((F.col("station_id") == "AQ-01-0001") & (F.col("date") == day)).collect()
    assert len(rows) == 24  # every hour of the day is there, measured or not
    return {r["hour"]: r["pm25_1h"] for r in rows if r["pm25_1h"] is not None}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    from expectations.gate import QualityGateError
    from jobs.pipeline import run_dataset

    tmp = tmp_path_factory.mktemp("wap")
    sources = _sources(tmp / "sources")
    with lake_bucket("wap", sources, tmp / "gx") as bucket:
        run_dataset("air_station", *_interval(HELD_DAY), run_id="wap")
        with pytest.raises(QualityGateError) as held:
            run_dataset(AIR, *_interval(HELD_DAY), run_id="wap-held")
        with pytest.raises(QualityGateError) as to_discard:
            run_dataset(AIR, *_interval(DISCARD_DAY), run_id="wap-discard")
        with ministry_identities(bucket) as ministries:
            yield Lake(bucket, ministries, str(held.value), str(to_discard.value))


def test_a_held_batch_reaches_no_reader(lake: Lake) -> None:
    from botocore.exceptions import ClientError
    from pyspark.sql import functions as F

    from jobs.settings import get_settings
    from jobs.spark import get_spark
    from jobs.storage import s3_client

    spark, settings = get_spark(), get_settings()
    assert f"batch {_batch(HELD_DAY)}" in lake.held_error and "the batch is held" in lake.held_error
    assert "check correct_share" in lake.held_error and f"lakehouse batch release {_batch(HELD_DAY)}" in lake.held_error
    # Spark, as the pipeline: the silver table exists and has no row of either held batch.
    assert _silver(spark, settings).where(F.col("_batch_id").isin(_batch(HELD_DAY), _batch(DISCARD_DAY))).count() == 0
    assert _silver(spark, settings).count() == 0
    # delta-rs, as the owner ministry (mae): the same.
    mae = lake.ministries["mae"]
    assert _rows(mae, f"silver/environment/{AIR}") == []
    # Nor did quarantine move: the batch's rejected rows wait in staging with it.
    assert _rows(settings, f"quarantine/environment/{AIR}") == []
    # Staging is in no ministry's policy: the store refuses it, whatever the tool.
    staged = [k for k in s3_client(settings).list_objects_v2(Bucket=lake.bucket, Prefix="staging/")["Contents"]]
    assert staged
    for code, ministry in lake.ministries.items():
        with pytest.raises(ClientError) as denied:
            s3_client(ministry).get_object(Bucket=lake.bucket, Key=staged[0]["Key"])
        assert denied.value.response["Error"]["Code"] == "AccessDenied", code


def test_the_hold_is_recorded_with_its_failed_checks(lake: Lake) -> None:
    from jobs.batches import held_batches

    held = {r["batch_id"]: r for r in held_batches("held")}
    assert set(held) == {_batch(HELD_DAY), _batch(DISCARD_DAY)}
    row = held[_batch(HELD_DAY)]
    assert (row["dataset"], row["staged_rows"], row["staged_quarantine_rows"]) == (AIR, 4, 8)
    (share,) = [c for c in row["failed_checks"] if c["check_id"] == "correct_share"]
    assert (share["unexpected_count"], share["element_count"]) == (8, 12)
    assert all(s.startswith("NEGATIVE_VALUE: ") for s in share["sample"]) and len(share["sample"]) == 5


def test_gold_never_sees_the_held_rows_then_a_release_publishes_them_once(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyspark.sql import functions as F

    from jobs.cli import main
    from jobs.pipeline import publish_gold, run_dataset
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    spark, settings = get_spark(), get_settings()
    late = run_dataset(AIR, *_interval(LATE_DAY), run_id="wap-late")  # certified; touches day 10 too
    assert late["published"]["silver_rows"] == 7 and HELD_DAY.isoformat() in late["dates"]
    publish_gold("aqi_hourly", late["dates"])
    assert _pm25_hours(spark, settings, HELD_DAY) == {20: 10.0, 21: 20.0, 22: 30.0, 23: 40.0}  # no held row

    assert main(["batch", "release", _batch(HELD_DAY), "--reason", "station log confirms", "--steward", "dpo"]) == 0
    out = capsys.readouterr().out
    assert "4 rows published to silver, 8 to quarantine" in out
    held_rows = _silver(spark, settings).where(F.col("_batch_id") == _batch(HELD_DAY))
    assert sorted(r["value"] for r in held_rows.collect()) == [50.0, 60.0, 70.0, 80.0]
    quarantined = _rows(settings, f"quarantine/environment/{AIR}")
    assert sorted(r["reason_code"] for r in quarantined) == ["NEGATIVE_VALUE"] * 8
    publish_gold("aqi_hourly", [HELD_DAY.isoformat()])
    released = {0: 50.0, 1: 60.0, 2: 70.0, 3: 80.0, 20: 10.0, 21: 20.0, 22: 30.0, 23: 40.0}
    assert _pm25_hours(spark, settings, HELD_DAY) == released

    # A second release is refused, says why, and changes nothing.
    assert main(["batch", "release", _batch(HELD_DAY), "--reason", "again", "--steward", "dpo"]) == 2
    err = capsys.readouterr().err
    assert "was already released by dpo" in err and "nothing done" in err
    assert _silver(spark, settings).where(F.col("_batch_id") == _batch(HELD_DAY)).count() == 4
    releases = [r for r in _rows(settings, "quality/releases") if r["selection"] == f"held batch {_batch(HELD_DAY)}"]
    assert len(releases) == 1 and releases[0]["steward"] == "dpo" and releases[0]["rows_released"] == 4


def test_a_discarded_batch_stays_out_and_the_books_say_where_its_rows_went(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyspark.sql import functions as F

    from jobs.batches import BatchDiscardedError, find
    from jobs.cli import main
    from jobs.pipeline import run_dataset
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    spark, settings = get_spark(), get_settings()
    batch = _batch(DISCARD_DAY)
    assert main(["batch", "discard", batch, "--reason", "sensor swap day", "--steward", "dpo"]) == 0
    assert "4 good rows quarantined as BATCH_DISCARDED and 8 rejected rows" in capsys.readouterr().out
    mine = [r for r in _rows(settings, f"quarantine/environment/{AIR}") if r["_batch_id"] == batch]
    by_reason = {reason: sum(r["reason_code"] == reason for r in mine) for reason in {r["reason_code"] for r in mine}}
    assert by_reason == {"BATCH_DISCARDED": 4, "NEGATIVE_VALUE": 8}
    assert {r["status"] for r in mine if r["reason_code"] == "BATCH_DISCARDED"} == {"discarded"}
    (books,) = [r for r in _rows(settings, "quality/batch_accounting") if r["batch_id"] == batch]
    assert (books["landed_rows"], books["silver_rows"], books["quarantined_rows"]) == (12, 0, 12)
    assert find(batch)["status"] == "discarded"  # type: ignore[index]
    assert main(["batch", "release", batch, "--reason", "changed my mind"]) == 2
    assert "was discarded by dpo" in capsys.readouterr().err
    with pytest.raises(BatchDiscardedError, match="stays out of silver for good"):
        run_dataset(AIR, *_interval(DISCARD_DAY), run_id="wap-rerun")
    assert _silver(spark, settings).where(F.col("_batch_id") == batch).count() == 0
    # The steward report lists the held batches and what became of them.
    from expectations.report import collect

    shown = {b.batch_id: b for b in collect(settings).held_batches}
    assert shown[batch].status == "discarded" and shown[batch].decided == "dpo: sensor swap day"
    assert shown[_batch(HELD_DAY)].status == "released" and "correct_share (đúng)" in shown[batch].failed_checks


def test_a_publish_killed_after_its_silver_commit_finishes_exactly_once_on_rerun(lake: Lake) -> None:
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    from jobs import pipeline
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    spark, settings = get_spark(), get_settings()
    start, end = _interval(CRASH_DAY)
    landed = pipeline.land_batch(AIR, start, end)
    bronze = pipeline.load_bronze_batch(AIR, landed)
    refined = pipeline.refine_batch(AIR, bronze["batch_id"], start, end)
    audited = pipeline.gate_batch(AIR, refined, start, end, run_id="wap-crash")
    code = f"import json, sys; from jobs.pipeline import publish_batch; publish_batch({AIR!r}, json.loads(sys.argv[1]))"
    import json

    killed = subprocess.run(
        [sys.executable, "-c", code, json.dumps(audited)],
        env={**os.environ, "LAKEHOUSE_CRASH_AT": "publish.after_silver"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    batch = refined["batch_id"]
    silver_key = f"silver/environment/{AIR}"
    assert _silver(spark, settings).where(F.col("_batch_id") == batch).count() == 6  # silver committed
    assert not [r for r in _rows(settings, f"quarantine/environment/{AIR}") if r["_batch_id"] == batch]
    version = DeltaTable(settings.s3_uri(silver_key), storage_options=settings.delta_rs_storage_options()).version()

    rerun = pipeline.publish_batch(AIR, audited)  # what Airflow's retry of the publish task does
    assert rerun["published"]["silver_rows"] == 6
    after = DeltaTable(settings.s3_uri(silver_key), storage_options=settings.delta_rs_storage_options())
    assert after.version() == version  # the MERGE was recognised as done (txnAppId/txnVersion): no new commit
    silver = _silver(spark, settings)
    assert silver.where(F.col("_batch_id") == batch).count() == 6
    keys = ["station_id", "parameter", "measured_at"]
    assert silver.count() == silver.select(*keys).distinct().count()  # every key once, in the whole table
    quarantined = [r for r in _rows(settings, f"quarantine/environment/{AIR}") if r["_batch_id"] == batch]
    assert [r["reason_code"] for r in quarantined] == ["NEGATIVE_VALUE"]
    # The books balance: 8 landed = 6 silver + 1 quarantined + 1 exact duplicate.
    assert (refined["landed_rows"], refined["silver_rows"], refined["quarantined_rows"]) == (8, 6, 1)
    assert refined["exact_duplicates"] == 1
    # The staging is gone; a third call finds the batch published and changes nothing.
    assert pipeline.publish_batch(AIR, audited)["published"]["already_published"] is True
    assert DeltaTable(settings.s3_uri(silver_key), storage_options=settings.delta_rs_storage_options()).version() == (
        version
    )
