"""Silver refuses a transform that does not keep one row per bronze row, before writing anything.

The books used to count rows after the transform, so a join on a reference key that was not unique
(an OCOP GTIN registered under two product codes, found on the 1M-row sample) repeated events in
silver while landed = silver + quarantined + duplicates still held. Now "landed" is the bronze
count and a transform that repeats or loses rows fails the task with what to fix.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame

from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, lake_bucket

DATASET = "air_station"


def repeat_first_row(bronze: DataFrame, inputs: dict[str, DataFrame], **context: Any) -> DataFrame:
    """The real transform, with its first row repeated (as a fanning-out join would)."""
    typed = REGISTRY[DATASET].load_transform()(bronze, inputs, **context)
    return typed.unionByName(typed.orderBy("_source_line").limit(1))


def test_a_transform_that_repeats_rows_fails_before_anything_is_written(tmp_path: Path) -> None:
    from jobs import pipeline
    from jobs.bronze import read_bronze_batch
    from jobs.settings import get_settings
    from jobs.silver import BooksDoNotBalanceError, refine
    from jobs.spark import get_spark
    from jobs.storage import delta_table_or_none

    interval = DataInterval.for_local_day(FIXTURE_DAY)
    with lake_bucket("guard", copy_fixture_sources(tmp_path / "sources"), tmp_path / "gx"):
        landed = pipeline.land_batch(DATASET, *interval.as_strings())
        batch_id = pipeline.load_bronze_batch(DATASET, landed)["batch_id"]
        spark, settings = get_spark(), get_settings()
        dataset = replace(REGISTRY[DATASET], transform=f"{__name__}:repeat_first_row")
        bronze = read_bronze_batch(spark, dataset, batch_id, settings)
        rows = bronze.count()
        assert rows == landed["data_rows"] > 0
        with pytest.raises(BooksDoNotBalanceError, match=rf"made {rows + 1} rows of {rows} bronze rows"):
            refine(spark, dataset, bronze, {}, {"interval": interval}, settings)
        assert delta_table_or_none(settings, dataset.table_path) is None  # no silver written
        assert delta_table_or_none(settings, f"quarantine/{dataset.sector}/{dataset.name}") is None
        # The real transform on the same bronze batch balances, with landed = the bronze count.
        result = refine(spark, REGISTRY[DATASET], bronze, {}, {"interval": interval}, settings)
        assert result.landed_rows == rows
