"""The live monitoring page as the centre sees it: served over HTTP from tables in the real store,
opened in headless Chromium (no network), open alerts read back from the rendered page, and a
screenshot in ``test-output/``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import lxml.html
import pytest

from tests.browser import chromium, distinct_colours
from tests.lakehouse_fixtures import REPO, lake_bucket, write_registry_table

DAY = date(2026, 11, 26)
MIDNIGHT = datetime(2026, 11, 25, 17, tzinfo=UTC)  # 00:00 on the 26th, Vietnam time


def hour(n: int) -> datetime:
    """Local hour ``n`` of 26 November, in UTC."""
    return MIDNIGHT + timedelta(hours=n)


def alert(alert_id: str, kind: str, entity: str, opened: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "kind": kind,
        "entity_id": entity,
        "opened_at": opened,
        "date": DAY,
        "limit_kind": "max",
        "status": "open",
    } | extra


# Hanoi's station: VN_AQI 40 at 00:00 rising by 5 an hour to 155 at 23:00 ('Xấu', red, from 151)
HANOI_AQI = [40 + 5 * n for n in range(24)]
SONG_LAM = {  # the paper mill's discharge point
    "medium": "wastewater",
    "facility_id": "WW-40-0001",
    "entity_name": "Công ty Giấy Sông Lam",
    "province_code": "40",
}
ALERTS = [
    alert(
        "a1",
        "aqi",
        "AQ-01-0001",
        hour(23),
        medium="air",
        entity_name="Trạm Hoàn Kiếm",
        province_code="01",
        parameter="VN_AQI",
        open_value=155.0,
        peak_value=155.0,
        limit_value=150.0,
        limit_source="Decision 1459/QĐ-TCMT (VN_AQI), Bảng 1: 'Xấu' from 151",
    ),
    alert(
        "w1",
        "silent",
        "WW-40-0001-S1",
        hour(15),
        **SONG_LAM,
        limit_value=60.0,
        limit_source="reading_interval of the dataset registry (60 min)",
        last_seen_at=hour(14),
    ),
    alert(
        "d1",
        "device",
        "WW-40-0001-S1",
        hour(10),
        **SONG_LAM,
        parameter="COD",
        open_value=900.0,
        peak_value=950.0,
        limit_source="Circular 10/2021/TT-BTNMT: device status 'error' (báo lỗi thiết bị)",
    ),
    alert(  # closed: not on the page
        "x1",
        "exceedance",
        "WW-40-0001-S1",
        hour(3),
        medium="wastewater",
        facility_id="WW-40-0001",
        province_code="40",
        parameter="COD",
        closed_at=hour(5),
        status="closed",
    ),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from jobs.live import server
    from jobs.registry import REGISTRY
    from jobs.tables import LIVE_AQI_KEY, live_key

    root = tmp_path_factory.mktemp("live")
    with lake_bucket("live", root / "sources", root / "gx"):
        write_registry_table(
            "air_station",
            [
                {"station_id": "AQ-01-0001", "station_name": "Trạm Hoàn Kiếm", "province_code": "01"},
                {"station_id": "AQ-24-0001", "station_name": "Trạm Bắc Ninh", "province_code": "24"},
            ],
        )
        write_registry_table(
            "wastewater_facility",
            [{"facility_id": "WW-40-0001", "facility_name": "Công ty Giấy Sông Lam", "province_code": "40"}],
        )

        def hourly(station: str, hours: range, values: list[int | None]) -> list[dict[str, Any]]:
            return [
                {"station_id": station, "date": DAY, "hour": n, "hour_start": hour(n), "vn_aqi": values[n]}
                for n in hours
            ]

        # Hanoi's hours 0–19 come from the nightly batch, 20–23 from the live stream's hourly index only
        # (16–19 are in both: the batch's wins, and the live table's differ to show it)
        live_view = [v if n < 16 or n > 19 else 0 for n, v in enumerate(HANOI_AQI)]
        no_index = [None] * 24  # Bac Ninh: no index at all (too few hours for a NowCast)
        write_registry_table(
            "aqi_hourly", hourly("AQ-01-0001", range(20), HANOI_AQI) + hourly("AQ-24-0001", range(24), no_index)
        )
        write_registry_table("aqi_hourly", hourly("AQ-01-0001", range(16, 24), live_view), key=LIVE_AQI_KEY)
        write_registry_table(
            "air_quality_reading",
            [
                {"station_id": "AQ-01-0001", "measured_at": hour(22), "measured_date": DAY},
                {"station_id": "AQ-24-0001", "measured_at": hour(20), "measured_date": DAY},
            ],
            partition_by=["measured_date"],
        )
        write_registry_table(  # the live view heard Hanoi last, at 23:00
            "air_quality_reading",
            [{"station_id": "AQ-01-0001", "measured_at": hour(23), "measured_date": DAY}],
            partition_by=["measured_date"],
            key=live_key(REGISTRY["air_quality_reading"]),
        )
        write_registry_table(
            "wastewater_reading",
            [
                {
                    "facility_id": "WW-40-0001",
                    "station_id": "WW-40-0001-S1",
                    "measured_at": hour(14),
                    "measured_date": DAY,
                }
            ],
            partition_by=["measured_date"],
        )
        write_registry_table("alert", ALERTS)
        httpd = server("127.0.0.1", 0)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        try:
            dom = lxml.html.fromstring(chromium("--dump-dom", url).stdout)
            png = REPO / "test-output" / "live-monitor.png"
            png.parent.mkdir(parents=True, exist_ok=True)
            png.unlink(missing_ok=True)
            chromium(f"--screenshot={png}", "--window-size=1300,900", "--hide-scrollbars", url)
            yield {"dom": dom, "png": png}
        finally:
            httpd.shutdown()
            httpd.server_close()


def test_open_alerts_are_read_back_from_the_page_newest_first(page: dict[str, Any]) -> None:
    dom = page["dom"]
    rows = dom.xpath("//table[@id='open-alerts']/tbody/tr")
    assert [r.get("data-alert-id") for r in rows] == ["a1", "w1", "d1"]  # newest first; x1 is closed
    assert dom.xpath("string(//span[@id='open-count'])") == "3"
    first, second, third = ([c.text_content().strip() for c in r.xpath("td")] for r in rows)
    assert first == [
        "VN_AQI xấu",
        "Trạm Hoàn Kiếm (AQ-01-0001)",
        "Hà Nội",
        "VN_AQI",
        "155 (đỉnh 155)",
        "150",
        "Decision 1459/QĐ-TCMT (VN_AQI), Bảng 1: 'Xấu' from 151",
        "2026-11-26 23:00",
    ]
    assert second[:3] == ["Ngừng truyền", "Công ty Giấy Sông Lam (WW-40-0001-S1)", "Nghệ An"]
    assert second[5] == "60 phút" and second[7] == "2026-11-26 15:00"
    assert third[:5] == [
        "Thiết bị lỗi",
        "Công ty Giấy Sông Lam (WW-40-0001-S1)",
        "Nghệ An",
        "COD",
        "900 (thiết bị lỗi)",
    ]
    assert third[5:7] == ["—", "Circular 10/2021/TT-BTNMT: device status 'error' (báo lỗi thiết bị)"]
    assert dom.xpath("string(//span[@id='as-of'])") == "2026-11-27 00:00"  # the end of the latest hour


def test_stations_by_province_with_band_colour_last_seen_and_sparkline(page: dict[str, Any]) -> None:
    dom = page["dom"]
    assert [s.get("data-province") for s in dom.xpath("//section[@class='province']")] == ["24", "01", "40"]
    hanoi = dom.xpath("//tr[@data-id='AQ-01-0001']")[0]
    assert hanoi.xpath("string(td[@class='aqi'])") == "155 Xấu"
    assert "background:#FF0000" in hanoi.xpath("td/span[@class='swatch']")[0].get("style")
    assert hanoi.xpath("string(td[@class='seen'])") == "2026-11-26 23:00"
    bars = hanoi.xpath(".//svg[@class='spark']/rect")
    assert [b.xpath("string(title)") for b in bars] == [str(v) for v in HANOI_AQI]
    assert bars[0].get("fill") == "#00E400" and bars[-1].get("fill") == "#FF0000"  # 40 Tốt, 155 Xấu
    bac_ninh = dom.xpath("//tr[@data-id='AQ-24-0001']")[0]
    assert bac_ninh.xpath("string(td[@class='aqi'])") == "—"
    assert bac_ninh.xpath("string(td[@class='seen'])") == "2026-11-26 20:00"
    facility = dom.xpath("//tr[@data-id='WW-40-0001']")[0]
    assert facility.xpath("string(td[@class='open'])") == "2"  # silence, device; the closed COD alert is not
    assert facility.xpath("string(td[@class='seen'])") == "2026-11-26 14:00"


def test_page_refreshes_itself_and_loads_nothing_remote(page: dict[str, Any]) -> None:
    dom = page["dom"]
    assert dom.xpath("//meta[@http-equiv='refresh']/@content") == ["60"]
    assert dom.xpath("//script|//link|//img|//iframe") == []
    assert distinct_colours(page["png"]) >= 8, "the screenshot looks blank"


def test_unknown_path_is_404() -> None:
    import urllib.error
    import urllib.request

    from jobs.live import server

    httpd = server("127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{httpd.server_address[1]}/admin", timeout=10)
        assert err.value.code == 404
    finally:
        httpd.shutdown()
        httpd.server_close()
