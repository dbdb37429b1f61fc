"""The province dimension built on the real store: library channel → landing → bronze → silver → gate.

Each reference dataset is exported from its installed library (the ``library`` channel, not a
local file), landed once, parsed, conformed and gated; then the whole run is repeated for the same
data interval and must change nothing. Expected counts and pairs are retyped by hand from
docs/domain.md, "Administrative units".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Layer
from tests.lakehouse_fixtures import FIXTURE_DAY, assert_same_books_staged_anew, lake_bucket

# Two full runs of four datasets (8 Spark gates): minutes on a laptop, more on a loaded CI machine.
pytestmark = pytest.mark.timeout(2400)

SILVER = [d.name for d in REGISTRY.by_sector("reference", Layer.SILVER)]
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
EXPECTED_ROWS = {"province": 34, "province_legacy": 63, "province_mapping": 63, "commune": 3321}
VERSIONS = {
    "province": "vietnam-provinces==2025.10.1",
    "commune": "vietnam-provinces==2025.10.1",
    "province_legacy": "vietnamadminunits==1.0.4",
    "province_mapping": "vietnamadminunits==1.0.4",
}
# Retyped from the 2025 code list as given in docs/domain.md, "Administrative units".
_DOMAIN_2025 = "01 04 08 11 12 14 15 19 20 22 24 25 31 33 37 38 40 42 44 46 48 51 52 56 66 68 75 79 80 82 86 91 92 96"
CODES_2025 = set(_DOMAIN_2025.split())


def run_all(run_id: str) -> dict[str, Any]:
    from jobs.pipeline import run_dataset

    start, end = INTERVAL.as_strings()
    return {name: run_dataset(name, start, end, run_id=run_id) for name in SILVER}


def rows_of(key: str) -> list[dict[str, Any]]:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    df = get_spark().read.format("delta").load(get_settings().s3a_uri(key))
    return [r.asDict() for r in df.collect()]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    keys = [REGISTRY[n].table_path for n in SILVER] + [f"quarantine/reference/{n}" for n in SILVER]
    return {k: sorted((tuple(r.values()) for r in rows_of(k)), key=repr) for k in keys}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from jobs.storage import head, list_keys

    root = tmp_path_factory.mktemp("reference")
    # No source files at all: the library channel is the only way in.
    with lake_bucket("ref", root / "sources", root / "gx", extract_from="channel") as bucket:
        first = run_all("first")
        landing_first = sorted(list_keys("landing/"))
        metadata = {k: (head(k) or {}).get("Metadata", {}) for k in landing_first}
        snap_first = snapshot()
        second = run_all("second")
        from jobs.settings import get_settings

        staging = get_settings().staging_dir
        from jobs.reference.dimension import province_codes

        yield {
            "bucket": bucket,
            "first": first,
            "second": second,
            "landing_first": landing_first,
            "landing_second": sorted(list_keys("landing/")),
            "metadata": metadata,
            "snapshot_first": snap_first,
            "snapshot_second": snapshot(),
            "codes_in_lake": province_codes(),
            "staging_left": [n for n in SILVER if (staging / n / INTERVAL.batch_id(n)).exists()],
            "source_root_files": sorted(p.name for p in root.glob("sources/**/*")),
        }


@pytest.mark.parametrize("dataset", SILVER)
def test_exact_rows_landed_and_all_in_silver(lake: dict[str, Any], dataset: str) -> None:
    refined = lake["first"][dataset]["refined"]
    n = EXPECTED_ROWS[dataset]
    assert (refined["landed_rows"], refined["silver_rows"], refined["quarantined_rows"]) == (n, n, 0)
    assert refined["exact_duplicates"] + refined["superseded_duplicates"] == 0
    assert len(rows_of(REGISTRY[dataset].table_path)) == n
    assert rows_of(f"quarantine/reference/{dataset}") == []


@pytest.mark.parametrize("dataset", SILVER)
def test_gate_passes_with_full_scores(lake: dict[str, Any], dataset: str) -> None:
    gate = lake["first"][dataset]
    assert gate["failed_checks"] == []
    assert gate["scores"] == {"đúng": 100.0, "đủ": 100.0, "sạch": 100.0}


def test_landed_through_the_library_channel_with_version_and_stated_count(lake: dict[str, Any]) -> None:
    assert len(lake["landing_first"]) == len(SILVER) == 4
    by_dataset = {key.split("/")[2]: meta for key, meta in lake["metadata"].items()}
    for dataset, meta in by_dataset.items():
        assert meta["source-version"] == VERSIONS[dataset]
        assert meta["stated-rows"] == meta["data-rows"] == str(EXPECTED_ROWS[dataset])
        assert meta["source-file"].startswith(f"library:{VERSIONS[dataset]}/")
    assert lake["staging_left"] == []  # each staged export was removed once landed
    assert lake["source_root_files"] == []  # nothing came from (or went to) a local drop


def test_rerun_changes_nothing_and_lands_nothing_twice(lake: dict[str, Any]) -> None:
    assert lake["landing_second"] == lake["landing_first"]
    assert lake["snapshot_second"] == lake["snapshot_first"]
    for name in SILVER:
        assert_same_books_staged_anew(lake["first"][name]["refined"], lake["second"][name]["refined"])


def test_the_dimension_holds_the_gso_codes(lake: dict[str, Any]) -> None:
    assert lake["codes_in_lake"] == CODES_2025
    provinces = {r["province_code"]: r for r in rows_of(REGISTRY["province"].table_path)}
    assert (provinces["24"]["province_name"], provinces["44"]["province_name"]) == ("Bắc Ninh", "Quảng Trị")
    assert provinces["79"]["province_full_name"] == "Thành phố Hồ Chí Minh"


def test_mapping_in_the_lake_resolves_the_trap(lake: dict[str, Any]) -> None:
    mapping = {r["legacy_code"]: r for r in rows_of(REGISTRY["province_mapping"].table_path)}
    assert {c for c, r in mapping.items() if r["code_reused"]} == {"15", "24", "44", "52", "80", "82", "91"}
    got = {c: (mapping[c]["legacy_name"], mapping[c]["province_code"], mapping[c]["province_name"]) for c in mapping}
    assert got["24"] == ("Bắc Giang", "24", "Bắc Ninh")
    assert got["44"] == ("Quảng Bình", "44", "Quảng Trị")
    assert got["01"] == ("Hà Nội", "01", "Hà Nội")
    assert got["27"] == ("Bắc Ninh", "24", "Bắc Ninh")
    assert {r["province_code"] for r in mapping.values()} == CODES_2025
    communes = rows_of(REGISTRY["commune"].table_path)
    assert {r["province_code"] for r in communes} == CODES_2025


def test_silver_passes_the_scan(lake: dict[str, Any]) -> None:
    """The dimension itself: every current province code is a 2025 code, names NFC, no legacy bytes."""
    from tests.silver_scan import problems_in, sector_tables

    tables = sector_tables("reference")
    current = {k: v for k, v in tables.items() if not k.endswith(("province_legacy", "province_mapping"))}
    assert problems_in(current) == []


def test_rules_change_leaves_no_line_in_both_silver_and_quarantine(lake: dict[str, Any]) -> None:
    """Last in this module (it changes the lake): rerun every reference dataset under a tightened rule."""
    from tests.lakehouse_fixtures import assert_no_line_in_both, rerun_under_tightened_rule

    assert_no_line_in_both(rerun_under_tightened_rule("reference", INTERVAL))
