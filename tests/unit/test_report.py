"""The steward report's rendering, on hand-made data (no store): figures, charts, names, escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import lxml.html
import pytest

from expectations.report import (
    CRITERIA,
    DatasetScores,
    DocLink,
    EntityScore,
    HeldBatch,
    HeldRows,
    QuarantineReason,
    ReportData,
    SilentEntity,
    TableData,
    interval_label,
    render,
    score_colour,
    trend_chart,
)

AQ = DatasetScores(
    dataset="air_quality_reading",
    title_vi="Số liệu quan trắc không khí",
    title_en="Hourly air-quality readings",
    intervals=["2026-11-24", "2026-11-25", "2026-11-26"],
    scores={
        "đúng": [97.5, 98.0, 98.37],
        "đủ": [None, 70.0, 80.53],
        "sạch": [99.5, 99.5, 99.5],
        "sống": [100.0, None, 99.07],
    },
)
STATIONS = DatasetScores(
    dataset="air_station",
    title_vi="Danh mục trạm",
    title_en="Stations",
    intervals=["2026-11-26"],
    scores={"đúng": [None], "đủ": [100.0], "sạch": [100.0], "sống": [None]},
)
EVIL = '<script>alert("x")</script>'


def report(**overrides: object) -> ReportData:
    values: dict[str, object] = dict(
        generated_at="2026-11-27 08:00 (giờ VN)",
        runs=14,
        datasets=[AQ, STATIONS],
        worst=[
            EntityScore("air_quality_reading", "province", "01", "Hà Nội", "đủ", 61.25, 31, 80, "2026-11-26"),
            EntityScore(
                "air_quality_reading", "station", "AQ-15-0004", "Trạm Cẩm Thủy", "sống", 45.0, 11, 20, "2026-11-26"
            ),
        ],
        silent=[
            SilentEntity(
                "air_quality_reading",
                "station",
                "AQ-15-0004",
                "Trạm Cẩm Thủy",
                "2026-11-26 11:00 (giờ VN)",
                "2026-11-26",
            ),
            SilentEntity("wastewater_reading", "station", "WW-07-0002", "", None, "2026-11-26"),
        ],
        quarantine=[
            QuarantineReason("air_quality_reading", "DEVICE_NOT_MEASURING", 318, 1250),
            QuarantineReason("air_quality_reading", "MALFORMED_LINE", 79, 79),
        ],
        held=[HeldRows("air_quality_reading", "DEVICE_NOT_MEASURING", "open", 1250)],
        held_batches=[
            HeldBatch(
                "air_quality_reading",
                "air_quality_reading__20261119T1700Z-20261120T1700Z",
                "2026-11-20",
                "held",
                "correct_share (đúng)",
                "4 + 8",
                "2026-11-21 00:05 (giờ VN)",
                "—",
            )
        ],
        releases=TableData(["release_id", "dataset"], [["r-1", "air_quality_reading"]]),
        docs_index="../gx/gx/uncommitted/data_docs/local_site/index.html",
        docs_pages=[DocLink("air_quality_reading · entity · 20261127T051159Z", "../gx/v/a%20b.html")],
    )
    values.update(overrides)
    return ReportData(**values)  # type: ignore[arg-type]


def parse(page: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(page)


def test_score_table_holds_the_latest_figure_of_each_dataset_and_criterion() -> None:
    doc = parse(render(report()))
    cells = {
        (row.get("data-dataset"), td.get("data-criterion")): td
        for row in doc.xpath('//table[@id="score-table"]/tbody/tr')
        for td in row.xpath('td[@class="score"]')
    }
    assert len(cells) == 2 * 4
    expected = {
        ("air_quality_reading", "đúng"): "98.4",
        ("air_quality_reading", "đủ"): "80.5",
        ("air_quality_reading", "sạch"): "99.5",
        ("air_quality_reading", "sống"): "99.1",
        ("air_station", "đúng"): "—",
        ("air_station", "đủ"): "100.0",
        ("air_station", "sạch"): "100.0",
        ("air_station", "sống"): "—",
    }
    assert {k: td.text_content().strip() for k, td in cells.items()} == expected
    assert cells[("air_quality_reading", "đúng")].get("data-score") == "98.37"
    assert cells[("air_station", "đúng")].get("data-score") is None
    # colour scale: the worse score is redder (lower hue) than the better one; not scored is grey
    assert "hsl(" in cells[("air_quality_reading", "đủ")].get("style")
    assert cells[("air_station", "sống")].get("style") == "background: #eeeeee"


def test_colour_scale_runs_from_red_to_green() -> None:
    assert score_colour(100.0) == "hsl(125, 70%, 82%)"
    assert score_colour(70.0) == score_colour(12.0) == "hsl(0, 70%, 82%)"
    assert score_colour(85.0) == "hsl(62, 70%, 82%)"
    assert score_colour(None) == "#eeeeee"


def test_one_polyline_per_scored_criterion_with_one_point_per_scored_run() -> None:
    doc = parse(render(report()))
    svgs = {svg.get("data-dataset"): svg for svg in doc.xpath("//svg")}
    assert set(svgs) == {"air_quality_reading", "air_station"}
    lines = {p.get("data-criterion"): p.get("points").split() for p in svgs["air_quality_reading"].xpath("polyline")}
    assert {c: len(p) for c, p in lines.items()} == {"đúng": 3, "đủ": 2, "sạch": 3, "sống": 2}
    # an unscored criterion draws no line at all (not a line at 0)
    assert sorted(p.get("data-criterion") for p in svgs["air_station"].xpath("polyline")) == ["sạch", "đủ"]
    circles = svgs["air_quality_reading"].xpath("circle")
    assert len(circles) == 3 + 2 + 3 + 2


def test_chart_geometry_maps_scores_onto_the_0_to_100_axis() -> None:
    chart = trend_chart(AQ, width=500, height=200)
    top, plot_h, left, plot_w = chart.top, chart.plot_h, chart.left, chart.plot_w
    line = {ln.criterion: ln for ln in chart.lines}
    xs = [x for x, _, _ in line["đúng"].points]
    assert xs == [left, left + plot_w / 2, left + plot_w]
    ys = [y for _, y, _ in line["đủ"].points]
    assert ys == pytest.approx([top + plot_h * 0.30, top + plot_h * (1 - 0.8053)])
    # runs without a score are skipped, keeping each point over its own date
    assert [x for x, _, _ in line["sống"].points] == [left, left + plot_w]
    assert [label for _, label in chart.y_ticks] == ["0", "25", "50", "75", "100"]


def test_silent_and_worst_entities_are_named() -> None:
    doc = parse(render(report()))
    silent = doc.xpath('//table[@id="silent-table"]/tbody/tr')
    assert [r.get("data-entity") for r in silent] == ["AQ-15-0004", "WW-07-0002"]
    first = [td.text_content() for td in silent[0].xpath("td")]
    assert first[:2] == ["AQ-15-0004", "Trạm Cẩm Thủy"]
    assert "2026-11-26 11:00" in first[4]
    assert [td.text_content() for td in silent[1].xpath("td")][4] == "—"  # never heard within the data
    worst = [
        [td.text_content().strip() for td in r.xpath("td")] for r in doc.xpath('//table[@id="worst-table"]/tbody/tr')
    ]
    assert worst[0][:6] == ["province", "01", "Hà Nội", "air_quality_reading", "đủ", "61.2"]
    assert worst[0][6] == "31 / 80"


def test_lines_naming_no_known_station_are_listed_apart() -> None:
    unnamed = [
        EntityScore("air_quality_reading", "station", "(malformed line)", "", "đúng", 0.0, 3, 3, "2026-11-26"),
        EntityScore("air_quality_reading", "station", "(not in reference)", "", "đúng", 0.0, 2, 2, "2026-11-26"),
    ]
    doc = parse(render(report(unnamed=unnamed)))
    rows = [[td.text_content() for td in r.xpath("td")] for r in doc.xpath('//table[@id="unnamed-table"]/tbody/tr')]
    assert rows == [
        ["(malformed line)", "air_quality_reading", "đúng", "3", "2026-11-26"],
        ["(not in reference)", "air_quality_reading", "đúng", "2", "2026-11-26"],
    ]
    assert "(malformed" not in doc.xpath('//table[@id="worst-table"]')[0].text_content()
    assert not parse(render(report())).xpath('//table[@id="unnamed-table"]')  # nothing to list, no table


def test_quarantine_held_releases_and_docs_links() -> None:
    doc = parse(render(report()))
    q = [[td.text_content() for td in r.xpath("td")] for r in doc.xpath('//table[@id="quarantine-table"]/tbody/tr')]
    assert q == [
        ["air_quality_reading", "DEVICE_NOT_MEASURING", "318", "1,250"],
        ["air_quality_reading", "MALFORMED_LINE", "79", "79"],
    ]
    held = [[td.text_content() for td in r.xpath("td")] for r in doc.xpath('//table[@id="held-table"]/tbody/tr')]
    assert held == [["air_quality_reading", "DEVICE_NOT_MEASURING", "open", "1,250"]]
    batches = doc.xpath('//table[@id="held-batches-table"]/tbody/tr')
    assert [[td.text_content() for td in r.xpath("td")] for r in batches] == [
        [
            "air_quality_reading",
            "air_quality_reading__20261119T1700Z-20261120T1700Z",
            "2026-11-20",
            "held",
            "correct_share (đúng)",
            "4 + 8",
            "2026-11-21 00:05 (giờ VN)",
            "—",
        ]
    ]
    assert (
        "lakehouse batch release BATCH"
        in doc.xpath('//h2[@id="held-batches"]/following-sibling::p[1]')[0].text_content()
    )
    assert [th.text_content() for th in doc.xpath('//table[@id="releases-table"]//th')] == ["release_id", "dataset"]
    assert doc.xpath('//a[@id="docs-index"]')[0].get("href") == "../gx/gx/uncommitted/data_docs/local_site/index.html"
    assert [a.get("href") for a in doc.xpath('//a[@class="docs-page"]')] == ["../gx/v/a%20b.html"]


def test_empty_lake_still_renders_with_its_notes() -> None:
    page = render(ReportData(generated_at="now", runs=5, datasets=[], notes=["no scores yet"], releases=None))
    doc = parse(page)
    assert "no scores yet" in doc.xpath('//p[@class="note"]')[0].text_content()
    assert doc.xpath("//svg") == []
    assert "Chưa có điểm" in doc.xpath('//table[@id="score-table"]')[0].text_content()


def test_all_text_is_escaped() -> None:
    evil = DatasetScores(EVIL, EVIL, EVIL, [EVIL], {"đúng": [50.0]})
    page = render(
        report(
            datasets=[evil],
            silent=[SilentEntity(EVIL, EVIL, EVIL, EVIL, EVIL, EVIL)],
            quarantine=[QuarantineReason(EVIL, EVIL, 1, 1)],
            releases=TableData([EVIL], [[EVIL]]),
            docs_pages=[DocLink(EVIL, '"><script>x</script>')],
            notes=[EVIL],
        )
    )
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    doc = parse(page)
    assert doc.xpath("//script") == []
    assert doc.xpath('//table[@id="silent-table"]/tbody/tr/td')[0].text_content() == EVIL


def test_nothing_on_the_page_loads_from_the_network() -> None:
    page = render(report())
    doc = parse(page)
    assert doc.xpath("//script[@src] | //link[@href] | //img | //iframe") == []
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"url\(\s*[\"']?(?:https?:)?//", page, re.IGNORECASE)
    assert not re.search(r"@import", page)


def test_interval_label_is_the_vietnamese_day() -> None:
    assert interval_label(datetime(2026, 11, 25, 17, 0, tzinfo=UTC)) == "2026-11-26"
    assert interval_label(datetime(2026, 11, 25, 17, 0)) == "2026-11-26"  # naive = UTC, as Delta stores it
    assert interval_label(datetime(2026, 11, 26, 5, 0, tzinfo=UTC)) == "2026-11-26 12:00"


def test_criteria_are_the_four_of_the_strategy() -> None:
    from jobs.registry import Criterion

    assert [c for c, _ in CRITERIA] == [c.value for c in Criterion]


def test_date_labels_are_thinned_back_from_the_latest_run() -> None:
    days = [f"2026-11-{d:02d}" for d in range(13, 27)]  # 14 runs: every second date, ending on the latest
    chart = trend_chart(DatasetScores("d", "", "", days, {"đúng": [90.0] * 14}))
    assert [label for _, label in chart.x_ticks] == days[1::2]
    assert len(chart.lines[0].points) == 14
