"""The agriculture sector end to end on the real store, Spark, Delta and GX, from the committed fixture.

Runs land → bronze → silver → gate for the three silver datasets (local-drop channel: the same files
the HTTP server serves, ``LAKEHOUSE_EXTRACT_FROM=local``) and the three gold tables, twice, and
checks the books against the generator's report and gold figures against hand computations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Layer
from tests.lakehouse_fixtures import (
    FIXTURE_DAY,
    FIXTURES,
    assert_same_books_staged_anew,
    copy_fixture_sources,
    lake_bucket,
    run_sector,
)

SILVER = [d.name for d in REGISTRY.by_sector("agriculture", Layer.SILVER)]
GOLD = [d.name for d in REGISTRY.by_sector("agriculture", Layer.GOLD)]
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
# Two full runs of three datasets and three gold tables in the module fixture: on a loaded laptop
# that takes longer than the suite's default 900 s per test.
pytestmark = pytest.mark.timeout(2700)


def expected_for(dataset: str) -> dict[str, Any]:
    report = json.loads((FIXTURES / "agriculture" / "_generation_report.json").read_text(encoding="utf-8"))
    return next(e for e in report["files"].values() if e["dataset"] == dataset)  # type: ignore[no-any-return]


def run_all(run_id: str) -> dict[str, Any]:
    return run_sector("agriculture", INTERVAL, run_id)


def rows_of(key: str) -> list[Any]:
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    return get_spark().read.format("delta").load(get_settings().s3a_uri(key)).collect()  # type: ignore[no-any-return]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    keys = [d.table_path for d in REGISTRY.by_sector("agriculture")] + [f"quarantine/agriculture/{n}" for n in SILVER]
    return {k: sorted((tuple(r) for r in rows_of(k)), key=repr) for k in keys}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("agri")
    sources = copy_fixture_sources(root / "sources")
    with lake_bucket("agri", sources, root / "gx", extract_from="local") as bucket:
        first = run_all("first")
        before = snapshot()
        second = run_all("second")
        yield {"bucket": bucket, "first": first, "second": second, "before": before, "after": snapshot()}


@pytest.mark.parametrize("dataset", SILVER)
def test_books_balance_and_match_the_generation_report(lake: dict[str, Any], dataset: str) -> None:
    refined = lake["first"][dataset]["refined"]
    expected = expected_for(dataset)
    assert refined["landed_rows"] == expected["data_rows"]
    assert refined["quarantined_by_reason"] == expected["expected_quarantine"]
    assert refined["exact_duplicates"] + refined["superseded_duplicates"] == expected["expected_duplicates_removed"]
    assert refined["silver_rows"] == expected["expected_silver_rows"]
    assert refined["landed_rows"] == refined["silver_rows"] + refined["quarantined_rows"] + (
        refined["exact_duplicates"] + refined["superseded_duplicates"]
    )
    assert len(rows_of(REGISTRY[dataset].table_path)) == refined["silver_rows"]


def test_rerun_changes_no_silver_or_gold(lake: dict[str, Any]) -> None:
    assert lake["after"] == lake["before"]
    for name in SILVER:
        assert_same_books_staged_anew(lake["first"][name]["refined"], lake["second"][name]["refined"])
    for name in GOLD:
        assert lake["second"][name]["rows"] == lake["first"][name]["rows"] > 0


def test_silver_is_conformed(lake: dict[str, Any]) -> None:
    """Every province a 2025 code, every name NFC without TCVN3/VNI patterns (the fixture's crop
    export is all legacy-font bytes)."""
    import unicodedata

    from jobs.provinces import PROVINCES_2025
    from jobs.text import looks_legacy_encoded

    for name in SILVER:
        for row in rows_of(REGISTRY[name].table_path):
            values = row.asDict()
            if "province_code" in values:
                assert values["province_code"] in PROVINCES_2025, (name, values)
            for column, value in values.items():
                if isinstance(value, str):
                    assert unicodedata.is_normalized("NFC", value) and not looks_legacy_encoded(value), (column, value)
    crops = {
        (r["reporting_unit_name"], r["crop_name"], r["season_name"]) for r in rows_of("silver/agriculture/crop_stats")
    }
    assert ("Nam Định", "Lúa", "Đông Xuân") in crops and ("Bắc Giang", "Ngô", "Hè Thu") in crops


def test_gold_crop_production_sums_legacy_provinces(lake: dict[str, Any]) -> None:
    """By hand from the fixture export (crop_stats_20261126.csv, TCVN3/VNI decoded):

    Ninh Bình (37), rice, Đông Xuân 2024 (ends 2024-05-31: legacy units) =
      line 2 "Ha Nam" (name only)   10745.94 ha, 68,344 t
      line 3 36 Nam Định            21630.44 ha, 124,591 t
      line 4 37 (code only)         26986.58 ha, 136,552 t
      → area 59362.96 ha, production 329,487 t, yield 3,294,870 / 59362.96 = 55.50 tạ/ha, 3 units.
    Bắc Ninh (24), rice, Mùa 2024 = line 37 code "24" alone (in 2024: Bắc Giang, the reused code)
      4460.53 ha, 26,228 t + line 38 "Tỉnh Bắc Ninh" (legacy 27) 42635.90 ha, 220,428 t
      → 47096.43 ha, 246,656 t, yield 52.37 tạ/ha, 2 units.
    """
    gold = {
        (r["province_code"], r["crop_code"], r["season_code"], r["year"]): r
        for r in rows_of("gold/agriculture/crop_production")
    }
    nb = gold[("37", "LUA", "DONG_XUAN", 2024)]
    assert (nb["planted_area_ha"], nb["production_t"], nb["yield_ta_ha"], nb["reporting_units"]) == (
        59362.96,
        329487.0,
        55.5,
        3,
    )
    assert nb["province_name"] == "Ninh Bình" and nb["preliminary"] is False
    bn = gold[("24", "LUA", "MUA", 2024)]
    assert (bn["planted_area_ha"], bn["production_t"], bn["yield_ta_ha"], bn["reporting_units"]) == (
        47096.43,
        246656.0,
        52.37,
        2,
    )
    assert all(r["preliminary"] for k, r in gold.items() if k[3] == 2026)


def test_gold_ocop_by_province(lake: dict[str, Any]) -> None:
    """By hand from products_20261126.jsonl: Hải Phòng (31), 4 stars = OCOP-31-2026-000005 (province
    "31", score 72) + OCOP-31-2025-000040 ("Hải Dương", recognized before the reform → 31, score 74)
    → 2 products."""
    gold = rows_of("gold/agriculture/ocop_by_province")
    hp4 = [r for r in gold if r["province_code"] == "31" and r["stars"] == 4]
    assert sum(r["products"] for r in hp4) == 2
    assert sum(r["products"] * r["mean_score"] for r in hp4) == 72 + 74
    assert sum(r["products"] for r in gold) == expected_for("ocop_product")["expected_silver_rows"]


def test_gold_traceability_completeness(lake: dict[str, Any]) -> None:
    """By hand from events_20261126.jsonl:
    L26112600027: commissioning 08:11, receiving 09:44, shipping 11:28, retail_selling 12:40 → 4/4 = 1.0,
      not in order (received before shipped);
    L26112600015: commissioning, shipping → 2/4 = 0.5, in order;
    L26112600020: its receiving event has no eventTime (quarantined) → commissioning, shipping,
      retail_selling → 3/4 = 0.75, in order.
    """
    gold = {r["lot_number"]: r for r in rows_of("gold/agriculture/traceability_completeness")}
    assert (gold["L26112600027"]["completeness"], gold["L26112600027"]["steps_in_order"]) == (1.0, False)
    assert (gold["L26112600015"]["completeness"], gold["L26112600015"]["steps_in_order"]) == (0.5, True)
    l20 = gold["L26112600020"]
    assert (l20["steps_present"], l20["completeness"], l20["has_receiving"], l20["steps_in_order"]) == (
        3,
        0.75,
        False,
        True,
    )


def test_gold_lineage_keeps_a_processed_lot_s_inputs(lake: dict[str, Any]) -> None:
    """By hand from events_20261126.jsonl: lot L26112600006 is made from L26112600005 by a
    TransformationEvent (bizStep commissioning, 10:04); L26112600005 has all four steps in order
    (08:29, 09:15, 11:00, 12:28) → inputs_completeness 1.0; L26112600006 has commissioning (the
    transformation), shipping, receiving (as a CBV URI), retail_selling → 1.0; chain 1.0."""
    edges = rows_of("gold/agriculture/traceability_lineage")
    assert [(e["input_lot_number"], e["output_lot_number"]) for e in edges] == [("L26112600005", "L26112600006")]
    assert (edges[0]["input_gtin"], edges[0]["output_gtin"]) == ("08930000000057", "08930000000064")
    gold = {r["lot_number"]: r for r in rows_of("gold/agriculture/traceability_completeness")}
    l6 = gold["L26112600006"]
    assert (l6["completeness"], l6["inputs"], l6["inputs_traced"], l6["inputs_completeness"]) == (1.0, 1, 1, 1.0)
    assert (l6["chain_completeness"], l6["has_commissioning"], l6["events"]) == (1.0, True, 4)
    assert all(
        r["inputs"] == 0 and r["chain_completeness"] == r["completeness"]
        for k, r in gold.items()
        if k != "L26112600006"
    )


def test_scores_show_the_mess(lake: dict[str, Any]) -> None:
    crop = lake["first"]["crop_stats"]["scores"]
    assert crop["đủ"] < 100  # one province × crop × season missing in 2026
    assert crop["đúng"] < 100  # Hà Tây, inconsistent production
    assert lake["first"]["ocop_product"]["scores"]["đúng"] < 100
    assert lake["first"]["traceability_event"]["scores"]["sống"] == 100


def test_silver_and_gold_pass_the_scan(lake: dict[str, Any]) -> None:
    """2025 province codes only (legacy units survive only as names), NFC, no TCVN3/VNI bytes left."""
    from tests.silver_scan import problems_in, sector_tables

    tables = sector_tables("agriculture")
    assert sum(len(rows) for rows in tables.values()) > 100
    assert problems_in(tables) == []


def test_rules_change_leaves_no_line_in_both_silver_and_quarantine(lake: dict[str, Any]) -> None:
    """Last in this module (it changes the lake): rerun every agriculture dataset under a tightened rule."""
    from tests.lakehouse_fixtures import assert_no_line_in_both, rerun_under_tightened_rule

    assert_no_line_in_both(rerun_under_tightened_rule("agriculture", INTERVAL))
