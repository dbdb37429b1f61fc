"""Scenario 7, hostile input: each hostile record goes into an otherwise good batch of a real dataset
(a copy of the committed fixtures) and runs through the real steps (land → bronze → silver → gate →
publish, on the real store with Spark + Delta). It is quarantined with its own reason, or its file is
refused before anything is landed; every other record of the batch is in silver or quarantine; the
same Spark session keeps working afterwards.

Expected counts come from the inputs written here and the fixture generator's own report
(``_generation_report.json``: what it injected), never from the pipeline's results.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from tests.chaos.scenario import ScenarioRow, sized
from tests.lakehouse_fixtures import FIXTURE_DAY, FIXTURES, copy_fixture_sources, lake_bucket

pytestmark = pytest.mark.timeout(1800)

INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
START, END = INTERVAL.as_strings()
TEN_MB = 10 * 1024 * 1024
MILLION = 1_000_000


def _report(sector: str, dataset: str) -> dict[str, Any]:
    report = json.loads((FIXTURES / sector / "_generation_report.json").read_text(encoding="utf-8"))
    for entry in report["files"].values():
        for item in entry.get("datasets", [entry]):
            if item["dataset"] == dataset:
                return item  # type: ignore[no-any-return]
    raise KeyError(dataset)


@pytest.fixture
def sources(tmp_path: Path) -> Iterator[Path]:
    saved = os.environ.get("LAKEHOUSE_EXTRACT_FROM")
    root = copy_fixture_sources(tmp_path / "sources")
    try:
        with lake_bucket("hostile", root, tmp_path / "gx"):
            yield root
    finally:
        if saved is None:
            os.environ.pop("LAKEHOUSE_EXTRACT_FROM", None)
        else:
            os.environ["LAKEHOUSE_EXTRACT_FROM"] = saved


def _append(path: Path, lines: list[bytes]) -> tuple[int, int]:
    """Append data lines to a fixture source (and its manifest); returns (first new line number, data rows)."""
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    first = data.count(b"\n") + 1
    path.write_bytes(data + b"".join(line + b"\n" for line in lines))
    header = 1 if path.suffix == ".csv" else 0
    rows = path.read_bytes().count(b"\n") - header
    manifest = path.with_name(path.name + ".manifest.json")
    if manifest.exists():  # the source states what it sent, hostile lines included
        manifest.write_text(json.dumps({"rows": rows}), encoding="utf-8")
    return first, rows


def _batch_rows(dataset: str, quarantine: bool) -> list[dict[str, Any]]:
    from pyspark.sql import functions as F

    from jobs.settings import get_settings
    from jobs.spark import get_spark
    from jobs.tables import quarantine_uri, table_uri

    ds, settings = REGISTRY[dataset], get_settings()
    uri = quarantine_uri(ds, settings) if quarantine else table_uri(ds, settings)
    frame = get_spark().read.format("delta").load(uri).where(F.col("_batch_id") == INTERVAL.batch_id(dataset))
    if quarantine:
        frame = frame.where(F.col("status") == "open").select("_source_line", "reason_code", "detail")
    else:
        frame = frame.select("_source_line")
    return [r.asDict() for r in frame.collect()]


def _assert_spark_alive() -> None:
    """The JVM that parsed the hostile records is the one still answering (no OOM, no stack overflow)."""
    from jobs.spark import get_spark

    spark = get_spark()
    assert not spark.sparkContext._jsc.sc().isStopped()
    assert spark.range(100_000).selectExpr("sum(id) AS s").first()["s"] == 100_000 * 99_999 // 2  # type: ignore[index]


def _run_and_check(
    chaos_row: ScenarioRow, sector: str, dataset: str, hostile: dict[int, str], data_rows: int, before: list[str]
) -> None:
    """Run the dataset's steps; check each hostile line's reason and the books against the report."""
    from jobs.pipeline import run_dataset

    for name in before:  # reference data the dataset is checked against
        run_dataset(name, START, END, run_id="hostile")
    run_dataset(dataset, START, END, run_id="hostile")
    expected = _report(sector, dataset)
    silver = _batch_rows(dataset, quarantine=False)
    quarantined = _batch_rows(dataset, quarantine=True)
    got = {r["_source_line"]: r["reason_code"] for r in quarantined}
    assert {line: got.get(line) for line in hostile} == hostile
    # the rest of the batch is exactly what the generator says it injected
    want = Counter(expected["expected_quarantine"]) + Counter(hostile.values())
    assert Counter(got.values()) == want, [(r["_source_line"], r["reason_code"], r["detail"][:80]) for r in quarantined]
    assert len(silver) == expected["expected_silver_rows"], (len(silver), len(quarantined))
    assert len({r["_source_line"] for r in silver}) == len(silver)
    distinct_in = data_rows - expected["expected_duplicates_removed"]  # the fixture's own exact repeats
    assert data_rows == expected["data_rows"] + len(hostile)
    chaos_row.count(records_in=distinct_in, silver=len(silver), quarantined=len(quarantined))
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0
    _assert_spark_alive()
    reasons = Counter(hostile.values())
    chaos_row.detail = f"{dataset}: " + ", ".join(f"{n}× {r}" for r, n in sorted(reasons.items()))


def test_hostile_csv_records(chaos_row: ScenarioRow, sources: Path) -> None:
    """Air-quality readings (CSV): a 10 MB field, a record of 10⁶ fields, 1e308, NaN, ±Infinity, 1e999
    and bytes that are not UTF-8, each in an otherwise good line."""
    path = sources / "environment" / "air_quality" / f"readings_{FIXTURE_DAY:%Y%m%d}.csv"

    def line(minute: int, value: str, name: bytes = "Trạm Nguyễn Văn Cừ".encode()) -> bytes:
        at = f"2026-11-26T{minute // 60:02d}:{minute % 60:02d}:00+07:00"
        return b"AQ-01-0001," + name + f",01,PM2.5,{value},µg/Nm³,{at},measuring".encode()

    copies = sized(1, 20)
    big = sized(1, 3)
    kinds: list[tuple[bytes, str]] = []
    for i in range(big):
        kinds.append((line(600 + i, "1", b'"' + b"x" * TEN_MB + b'"'), "RECORD_TOO_LARGE"))
        kinds.append((f"AQ-01-{i + 1:04d}".encode() + b"," * (MILLION - 1), "TOO_MANY_FIELDS"))  # distinct lines
    for i in range(copies):
        minute = 700 + 7 * i
        kinds.append((line(minute, "1e308"), "OUT_OF_PHYSICAL_RANGE"))  # finite: the range rule
        kinds.append((line(minute + 1, "NaN"), "NON_FINITE_NUMBER"))
        kinds.append((line(minute + 2, "Infinity"), "NON_FINITE_NUMBER"))
        kinds.append((line(minute + 3, "-inf"), "NON_FINITE_NUMBER"))
        kinds.append((line(minute + 4, "1e999"), "NON_FINITE_NUMBER"))  # overflows to infinity
        kinds.append((line(minute + 5, "5", b"Tr\xff\xfem " + str(i).encode()), "INVALID_ENCODING"))
    first, data_rows = _append(path, [k for k, _ in kinds])
    hostile = {first + i: reason for i, (_, reason) in enumerate(kinds)}
    _run_and_check(chaos_row, "environment", "air_quality_reading", hostile, data_rows, before=["air_station"])


def test_hostile_json_records(chaos_row: ScenarioRow, sources: Path) -> None:
    """OCOP products (JSON lines from the HTTP API): 1,000-level nesting, a 10 MB field, a bare NaN and
    Infinity, score 1e308, bytes that are not UTF-8, each in an otherwise good product."""
    path = sources / "agriculture" / "ocop" / f"products_{FIXTURE_DAY:%Y%m%d}.jsonl"

    def product(i: int, **extra: Any) -> dict[str, Any]:
        return {
            "product_code": f"OCOP-01-2025-9{i:05d}",
            "product_name": "Chè Thái Nguyên",
            "group": "Thực phẩm",
            "stars": 4,
            "score": 80,
            "gtin": "8930000000002",
            "producer_name": "Hợp tác xã Tân Cương",
            "producer_type": "Hợp tác xã",
            "commune": "Xã Tân Cương",
            "province": "01",
            "recognized_on": "2025-08-22",
            **extra,
        }

    def dumps(item: dict[str, Any]) -> bytes:
        return json.dumps(item, ensure_ascii=False).encode()

    kinds: list[tuple[bytes, str]] = []
    for i in range(sized(1, 3)):
        kinds.append((dumps(product(i, note="x" * TEN_MB)), "RECORD_TOO_LARGE"))
        nested = dumps(product(10 + i, extra="@"))
        kinds.append((nested.replace(b'"@"', b"[" * 1000 + b"1" + b"]" * 1000), "NESTING_TOO_DEEP"))
    # Full: 26 hostile products beside the fixture's 45 (2 of them bad); more than half rejected and
    # the gate would rightly hold the whole batch (check correct_share), which is not this scenario.
    for i in range(sized(1, 5)):
        n = 100 + 10 * i
        kinds.append((dumps(product(n, score=1e308)), "INVALID_SCORE"))  # finite, out of the 0–100 range
        kinds.append((dumps(product(n + 1)).replace(b'"score": 80', b'"score": NaN'), "NON_FINITE_NUMBER"))
        kinds.append((dumps(product(n + 2)).replace(b'"score": 80', b'"score": -Infinity'), "NON_FINITE_NUMBER"))
        bad = dumps(product(n + 3)).replace("Chè".encode(), b"Ch\xe8\xff")
        kinds.append((bad, "INVALID_ENCODING"))
    first, data_rows = _append(path, [k for k, _ in kinds])
    hostile = {first + i: reason for i, (_, reason) in enumerate(kinds)}
    _run_and_check(chaos_row, "agriculture", "ocop_product", hostile, data_rows, before=[])


def _feed_with(original: Path, out: Path, extra: dict[str, bytes]) -> None:
    """The fixture feed plus ``extra`` members (names written exactly as given)."""
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        for name, data in extra.items():
            dst.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)


def test_hostile_gtfs_feeds(chaos_row: ScenarioRow, sources: Path) -> None:
    """A zip bomb, a ``../`` entry and an absolute entry are refused before anything is unzipped or
    landed, with the reason; the good feed is then landed and refined in full by the same session."""
    from jobs.errors import DataError
    from jobs.extract.gtfs import feed_folder
    from jobs.pipeline import land_batch, run_dataset
    from jobs.settings import get_settings
    from jobs.storage import list_keys

    ds = REGISTRY["gtfs_stop"]
    assert ds.source is not None
    feed = sources / ds.source.path.format(date=FIXTURE_DAY)
    good = feed.with_name("good.zip")
    shutil.copyfile(feed, good)
    bomb_mb = sized(64, 512)
    hostile = {
        "zip bomb": ({"shapes.txt": b"0" * (bomb_mb * 1024 * 1024)}, "zip bomb"),
        "../ entry": ({"../../../tmp/evil.txt": b"owned"}, "path traversal"),
        "absolute entry": ({"/etc/cron.d/evil": b"owned"}, "absolute path"),
    }
    refused: dict[str, str] = {}
    for kind, (extra, why) in hostile.items():
        _feed_with(good, feed, extra)
        with pytest.raises(DataError, match=why) as err:
            land_batch(ds.name, START, END)
        refused[kind] = str(err.value)
        assert "Nothing was extracted or landed" in refused[kind]
        assert list_keys("landing/") == []
        unpacked = sum(p.stat().st_size for p in feed_folder(ds, INTERVAL, get_settings()).rglob("*") if p.is_file())
        assert unpacked < 1024 * 1024  # nothing was extracted to disk
    assert not (sources.parent / "tmp" / "evil.txt").exists()
    shutil.copyfile(good, feed)
    run_dataset(ds.name, START, END, run_id="hostile")
    with zipfile.ZipFile(good) as zf:  # stops in the feed, counted here
        stops = zf.read("stops.txt").decode("utf-8-sig").strip().count("\n")
    expected = _report("transport", ds.name)
    silver, quarantined = _batch_rows(ds.name, quarantine=False), _batch_rows(ds.name, quarantine=True)
    assert stops == expected["data_rows"]
    assert Counter(r["reason_code"] for r in quarantined) == Counter(expected["expected_quarantine"])
    chaos_row.count(
        records_in=stops - expected["expected_duplicates_removed"], silver=len(silver), quarantined=len(quarantined)
    )
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0
    _assert_spark_alive()
    chaos_row.detail = (
        f"3 feeds refused before unzipping (bomb {bomb_mb} MiB of zeros, ../ entry, absolute entry); good feed landed"
    )
