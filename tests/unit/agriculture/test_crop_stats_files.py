"""A crop statistics export written whole in TCVN3 (glibc iconv), VNI (the typed chart) or UTF-8
read as cp1252 gives the same silver rows as the same export in UTF-8: decided per file in landing,
decoded per line in bronze, conformed in silver. The files come from the generator, whose encoders
import nothing from the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from jobs.agriculture.transforms import crop_stats_to_silver
from jobs.bronze import check_header, parse_csv_lines, read_landed_lines
from jobs.interval import DataInterval
from jobs.landing import _digest_count_charset
from jobs.registry import REGISTRY
from jobs.silver import mark_exact_duplicates
from jobs.text import looks_legacy_encoded
from sample_sources.agriculture import generate as gen

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DAY = gen.date(2026, 11, 26)
COLUMNS = ("reporting_unit_name", "crop_code", "season_code", "year", "province_code", "preliminary")


def _export(tmp_path: Path, encoding: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(gen, "FILE_ENCODINGS", (encoding,))
    gen.generate(tmp_path / encoding, DAY, 300, 7, progress=False)
    return tmp_path / encoding / "agriculture" / "crop_stats" / f"crop_stats_{DAY:%Y%m%d}.csv"


def _silver(spark: SparkSession, path: Path) -> tuple[set[str], list[tuple[Any, ...]]]:
    from pyspark.sql import functions as F

    dataset = REGISTRY["crop_stats"]
    assert dataset.source is not None
    _, _, runs = _digest_count_charset(path, True)
    header, lines = read_landed_lines(spark, str(path), True, runs)
    check_header(dataset, header)
    bronze = parse_csv_lines(lines, dataset.source.columns).select(
        "*",
        F.lit("b1").alias("_batch_id"),
        F.lit(path.name).alias("_source_file"),
        F.lit("2026-11-27T00:00:00").cast("timestamp").alias("_ingested_at"),
    )
    charsets = {r[0] for r in bronze.select("_charset").distinct().collect()}
    silver = crop_stats_to_silver(mark_exact_duplicates(bronze), {}, interval=DataInterval.for_local_day(DAY))
    return charsets, sorted((tuple(r) for r in silver.select(*COLUMNS).collect()), key=repr)


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "utf-8-via-cp1252"])
def test_legacy_export_gives_the_utf8_exports_silver(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    utf8_charsets, expected = _silver(spark, _export(tmp_path, "utf-8", monkeypatch))
    path = _export(tmp_path, encoding, monkeypatch)
    assert not path.read_bytes().isascii()
    charsets, got = _silver(spark, path)
    assert (utf8_charsets, charsets) == ({"utf-8"}, {encoding})  # recorded per bronze row
    assert got == expected
    names = {row[0] for row in got if row[0]}
    assert {"Nam Định", "Bắc Giang", "Hà Nội", "Thanh Hóa"} <= names  # legacy-era and 2025 units, spelled right
    assert not any(looks_legacy_encoded(n) for n in names)
