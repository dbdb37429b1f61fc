"""A batch whose critical checks fail is held before silver, with a message that names the failure."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.interval import DataInterval
from tests.lakehouse_fixtures import copy_fixture_sources, lake_bucket, make_all_negative

BAD_DAY = date(2026, 11, 20)


def test_all_readings_out_of_range_fail_the_gate(tmp_path: pytest.TempPathFactory) -> None:
    from expectations.gate import QualityGateError
    from jobs.pipeline import run_dataset
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    sources = copy_fixture_sources(tmp_path / "sources")  # type: ignore[operator]
    make_all_negative(sources, BAD_DAY)
    start, end = DataInterval.for_local_day(BAD_DAY).as_strings()
    with lake_bucket("gate", sources, tmp_path / "gx"):  # type: ignore[operator]
        run_dataset("air_station", start, end)
        with pytest.raises(QualityGateError) as failure:
            run_dataset("air_quality_reading", start, end)
        message = str(failure.value)
        assert "silver.environment_air_quality_reading" in message
        assert "criterion đúng, check correct_share" in message
        assert "criterion đủ, check batch_not_empty" in message
        assert "observed 0, expected min_value=1" in message
        # The sample is what a person can act on: the rejected lines with their reason, value -5.
        (correct_share,) = [line for line in message.splitlines() if "check correct_share" in line]
        assert "sample offending values: ['NEGATIVE_VALUE: " in correct_share
        assert ",-5," in correct_share
        # Warnings do not stop the batch: only critical checks are listed.
        assert "check correct_rows" not in message and "check entities_heard_within_sla" not in message
        # Nothing reached silver or quarantine: the batch is held, every row staged with its reason.
        spark, settings = get_spark(), get_settings()
        published = spark.read.format("delta").load(settings.s3a_uri("quarantine/environment/air_quality_reading"))
        assert published.count() == 0
        batch = DataInterval.for_local_day(BAD_DAY).batch_id("air_quality_reading")
        quarantine = spark.read.format("delta").load(
            settings.s3a_uri(f"staging/environment/air_quality_reading/{batch}/quarantine")
        )
        reasons = {
            r["reason_code"]: r["n"]
            for r in quarantine.groupBy("reason_code").count().withColumnRenamed("count", "n").collect()
        }
        assert reasons["NEGATIVE_VALUE"] >= 0.9 * sum(reasons.values())
        silver = spark.read.format("delta").load(settings.s3a_uri("silver/environment/air_quality_reading"))
        assert silver.count() == 0
        scores = (
            spark.read.format("delta")
            .load(settings.s3a_uri("quality/scores"))
            .where("dataset = 'air_quality_reading'")
            .collect()
        )
        assert {s["criterion"]: s["score"] for s in scores}["đúng"] < 50
