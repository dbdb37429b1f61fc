"""The steward report and the offline Data Docs, as a person sees them: in headless Chromium.

Runs the environment pipeline (silver + gate) on the committed fixture in a throw-away bucket,
makes the GX Data Docs offline, writes the report, then opens both in Chromium with no network:
the rendered DOM must show the fixture's scores, the charts, the silent station and the vendored
Data Docs styling; screenshots go to ``test-output/`` for a human look.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Layer
from tests.browser import chromium, distinct_colours
from tests.lakehouse_fixtures import (
    FIXTURE_DAY,
    FIXTURES,
    REPO,
    copy_fixture_sources,
    expected_for,
    fixture_report,
    lake_bucket,
)

pytestmark = pytest.mark.integration

SILVER = [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]
OUTPUT = REPO / "test-output"
CRITERIA = ["đúng", "đủ", "sạch", "sống"]
# Hand-read from the fixture: AQ-79-0001 "falls silent at noon"; its last reading in
# air_quality/readings_20261126.csv is "26/11/2026 11:00" (Vietnam time).
SILENT_ID, SILENT_NAME, SILENT_LAST_SEEN = "AQ-79-0001", "Trạm Thủ Dầu Một", "2026-11-26 11:00"
VENDORED_CSS = [
    "bootstrap/dist/css/bootstrap.min.css",
    "bootstrap-table/dist/bootstrap-table.min.css",
    "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css",
    "@fortawesome/fontawesome-free/css/all.min.css",
    "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.css",
]


def csv_rows(relative: str) -> list[dict[str, str]]:
    with (FIXTURES / relative).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def dom(page: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(chromium("--dump-dom", page.resolve().as_uri()).stdout)


def screenshot(page: Path, png: Path, size: str) -> Path:
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    chromium(f"--screenshot={png}", f"--window-size={size}", "--hide-scrollbars", page.resolve().as_uri())
    return png


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from expectations.docs_offline import make_offline
    from expectations.report import build_report, docs_site
    from jobs.pipeline import publish_gold, run_dataset
    from jobs.settings import get_settings

    root = tmp_path_factory.mktemp("report")
    sources = copy_fixture_sources(root / "sources")
    start, end = DataInterval.for_local_day(FIXTURE_DAY).as_strings()
    with lake_bucket("report", sources, root / "gx"):
        results = {name: run_dataset(name, start, end, run_id="report-test") for name in SILVER}
        publish_gold("aqi_hourly", sorted({d for r in results.values() for d in r["dates"]}))
        settings = get_settings()
        site = docs_site(settings)
        rewritten = make_offline(site)
        report = build_report(settings, root / "out" / "steward-report.html", runs=7)
        yield {"results": results, "site": site, "rewritten": rewritten, "report": report}


def test_report_page_shows_the_fixtures_scores(built: dict[str, Any]) -> None:
    doc = dom(built["report"])
    shown = {
        row.get("data-dataset"): {
            td.get("data-criterion"): td.text_content().strip() for td in row.xpath("td[@class='score']")
        }
        for row in doc.xpath('//table[@id="score-table"]/tbody/tr')
    }
    expected = {
        name: {c: f"{result['scores'][c]:.1f}" if c in result["scores"] else "—" for c in CRITERIA}
        for name, result in built["results"].items()
    }
    assert shown == expected
    # The fixture's station list is clean and complete; reference lists have no liveness check.
    assert shown["air_station"]["đủ"] == shown["air_station"]["sạch"] == "100.0"
    assert shown["air_station"]["sống"] == "—"
    assert float(shown["air_quality_reading"]["sống"]) < 100  # the station that fell silent


# Decision 1459/QĐ-TCMT, Bảng 1: the highest index of each band and its RGB colour, typed again here.
BAND_COLOURS = (
    (50, "#00E400"),
    (100, "#FFFF00"),
    (150, "#FF7E00"),
    (200, "#FF0000"),
    (300, "#8F3F97"),
    (500, "#7E0023"),
)


def test_report_shows_the_hourly_vn_aqi_with_the_decisions_colours(built: dict[str, Any]) -> None:
    doc = dom(built["report"])
    rows = doc.xpath('//table[@id="aqi-hourly-table"]/tbody/tr')
    assert sorted(r.get("data-station") for r in rows) == ["AQ-01-0001", SILENT_ID]  # the fixture's known stations
    coloured = 0
    for row in rows:
        cells = row.xpath("td[@class='aqi']")
        assert len(cells) == 24
        for cell in cells:
            text, style = cell.text_content().strip(), cell.get("style")
            if text == "·":
                assert "#dddddd" in style and "NO_PM_NOWCAST" in cell.get("title")
            else:
                colour = next(c for top, c in BAND_COLOURS if int(text) <= top)
                assert colour in style, (text, style)
                coloured += 1
    assert coloured > 0
    (silent,) = doc.xpath(f'//table[@id="aqi-hourly-table"]/tbody/tr[@data-station="{SILENT_ID}"]')
    marks = [td.text_content().strip() for td in silent.xpath("td[@class='aqi']")]
    # last reading 11:00: 12:00 still has c2, c3 (2 of the 3 latest hours), 13:00 has only c3.
    assert marks[11] != "·" and marks[12] != "·"
    assert marks[13:] == ["·"] * 11


def test_report_page_draws_one_trend_line_per_scored_criterion(built: dict[str, Any]) -> None:
    doc = dom(built["report"])
    for name, result in built["results"].items():
        svg = doc.xpath(f'//svg[@data-dataset="{name}"]')
        assert len(svg) == 1, name
        lines = {p.get("data-criterion"): p.get("points").split() for p in svg[0].xpath("polyline")}
        assert {c: len(p) for c, p in lines.items()} == {c: 1 for c in result["scores"]}  # one run so far
        assert len(svg[0].xpath("circle")) == len(result["scores"])


def test_report_names_the_silent_station_with_when_it_was_last_heard(built: dict[str, Any]) -> None:
    assert fixture_report()["silent_stations"] == [SILENT_ID]
    doc = dom(built["report"])
    rows = doc.xpath(f'//table[@id="silent-table"]/tbody/tr[@data-entity="{SILENT_ID}"]')
    assert len(rows) == 1
    cells = [td.text_content() for td in rows[0].xpath("td")]
    assert cells[1] == SILENT_NAME
    assert cells[4].startswith(SILENT_LAST_SEEN)
    worst = doc.xpath('//table[@id="worst-table"]')[0].text_content()
    assert SILENT_ID in worst


def test_report_ranks_only_known_stations_and_groups_the_rest(built: dict[str, Any]) -> None:
    """The fixture's malformed line and unknown station id are counted as groups, not ranked as stations."""
    doc = dom(built["report"])
    known = {r["station_id"] for r in csv_rows("environment/reference/air_stations.csv")}
    known |= {r["facility_id"] for r in csv_rows("environment/reference/wastewater_facilities.csv")}
    for row in doc.xpath('//table[@id="worst-table"]/tbody/tr'):
        cells = [td.text_content().strip() for td in row.xpath("td")]
        if len(cells) > 1 and cells[0] != "province":
            assert cells[1] in known, cells
    unnamed = {
        (cells[0], cells[1], cells[2]): cells[3]
        for row in doc.xpath('//table[@id="unnamed-table"]/tbody/tr')
        if (cells := [td.text_content().strip() for td in row.xpath("td")])
    }
    for dataset in ("air_quality_reading", "wastewater_reading"):
        mess = expected_for(dataset)["mess"]
        assert unnamed[("(malformed line)", dataset, "đúng")] == str(mess["malformed_line"])
        assert unnamed[("(not in reference)", dataset, "đúng")] == str(mess["unknown_station"])


def test_report_counts_quarantine_by_reason_as_the_generator_injected(built: dict[str, Any]) -> None:
    doc = dom(built["report"])
    shown: dict[str, dict[str, int]] = {}
    for row in doc.xpath('//table[@id="quarantine-table"]/tbody/tr'):
        dataset, reason, latest, _window = (td.text_content() for td in row.xpath("td"))
        shown.setdefault(dataset, {})[reason] = int(latest.replace(",", ""))
    for name in SILVER:
        assert shown.get(name, {}) == {k: v for k, v in expected_for(name)["expected_quarantine"].items() if v}, name


def test_report_links_into_the_data_docs_and_loads_nothing_remote(built: dict[str, Any]) -> None:
    report: Path = built["report"]
    text = report.read_text(encoding="utf-8")
    doc = lxml.html.fromstring(text)
    index = doc.xpath('//a[@id="docs-index"]')[0].get("href")
    assert (report.parent / index).resolve() == (built["site"] / "index.html").resolve()
    pages = [a.get("href") for a in doc.xpath('//a[@class="docs-page"]')]
    frames = {f"{p.split('/')[-5]}/{p.split('/')[-4]}" for p in pages}
    assert {f"{name}/silver" for name in SILVER} <= frames
    assert all((report.parent / p).is_file() for p in pages)
    assert doc.xpath("//script[@src] | //link[@href] | //img") == []
    assert "http://" not in text and "https://" not in text


def test_report_screenshot_is_a_real_page(built: dict[str, Any]) -> None:
    png = screenshot(built["report"], OUTPUT / "steward-report.png", "1400,2000")
    assert png.stat().st_size > 20_000
    assert distinct_colours(png) > 32


def test_data_docs_are_offline_and_styled(built: dict[str, Any]) -> None:
    from expectations.docs_offline import CDN_HOSTS, remote_loads

    site: Path = built["site"]
    pages = list(site.rglob("*.html"))
    # The gate's Data Docs build already made the site offline: a second pass finds nothing to rewrite.
    assert built["rewritten"] == 0
    assert remote_loads(site) == []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not [h for h in CDN_HOSTS if h in text], page
    for css in VENDORED_CSS:
        assert (site / "static" / "vendor" / css).stat().st_size > 1000, css
    assert any((site / "static/vendor/@fortawesome/fontawesome-free/webfonts").glob("*.woff2"))
    # bootstrap-table's JS ran from the vendored copy (offline, the CDN one never loads)
    index = dom(site / "index.html")
    assert index.xpath('//div[contains(@class, "bootstrap-table")]')
    png = screenshot(site / "index.html", OUTPUT / "data-docs-index.png", "1400,1000")
    assert png.stat().st_size > 20_000
    assert distinct_colours(png) > 32
