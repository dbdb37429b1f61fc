"""The live monitoring page for the central monitoring centre: open alerts first, then every air
station and wastewater facility by province with its current VN_AQI band colour, when it was last
heard and a 24-hour sparkline of its hourly VN_AQI.

Served by a small threaded HTTP server (``lakehouse live``, ``make live``) on 127.0.0.1; every
request reads the lake anew (delta-rs, no JVM) and the page reloads itself every
``REFRESH_SECONDS``. It reads both paths: the nightly batch's tables and the live stream's
(``jobs.stream``: the readings' live views and the hourly VN_AQI the stream recomputes as readings
arrive), the batch's row winning where both hold the same hour (the system of record). Everything
is inline (CSS, SVG): nothing is fetched from elsewhere, so it works offline. ``collect`` reads,
``render`` is pure.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jobs.environment import aqi
from jobs.provinces import PROVINCES_2025
from jobs.registry import REGISTRY
from jobs.settings import Settings, get_settings
from jobs.storage import delta_table_or_none

REFRESH_SECONDS = 60
VN = timedelta(hours=7)
NO_INDEX_COLOUR = "#9E9E9E"
KIND_LABEL = {"exceedance": "Vượt quy chuẩn", "aqi": "VN_AQI xấu", "silent": "Ngừng truyền", "device": "Thiết bị lỗi"}


@dataclass
class Entity:
    """An air station or a wastewater facility as the page shows it."""

    medium: str
    entity_id: str
    name: str
    province_code: str
    vn_aqi: int | None = None
    last_seen: datetime | None = None
    hourly: list[int | None] = field(default_factory=list)  # the last 24 hours, oldest first
    open_alerts: int = 0


@dataclass
class LiveData:
    as_of: datetime | None
    open_alerts: list[dict[str, Any]]
    entities: list[Entity]


def _rows(settings: Settings, key: str, columns: list[str], filter_expr: Any = None) -> list[dict[str, Any]]:
    """``columns`` of the Delta table at ``key`` (those it has); [] while it does not exist."""
    table = delta_table_or_none(settings, key)
    if table is None:
        return []
    data = table.to_pyarrow_dataset()
    wanted = [c for c in columns if c in data.schema.names]
    return data.to_table(columns=wanted, filter=filter_expr).to_pylist()  # type: ignore[no-any-return]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def collect(settings: Settings | None = None) -> LiveData:
    """What the page shows, read from gold (alerts, hourly VN_AQI) and silver (lists, last readings),
    each from the nightly batch's table and the live stream's."""
    import pyarrow.compute as pc

    from jobs.tables import LIVE_AQI_KEY, live_key

    settings = settings or get_settings()

    def path(dataset: str) -> str:
        return REGISTRY[dataset].table_path

    entities: dict[tuple[str, str], Entity] = {}
    for r in _rows(settings, path("air_station"), ["station_id", "station_name", "province_code"]):
        entities[("air", r["station_id"])] = Entity("air", r["station_id"], r["station_name"] or "", r["province_code"])
    for r in _rows(settings, path("wastewater_facility"), ["facility_id", "facility_name", "province_code"]):
        entities[("wastewater", r["facility_id"])] = Entity(
            "wastewater", r["facility_id"], r["facility_name"] or "", r["province_code"]
        )

    hourly_tables = (LIVE_AQI_KEY, path("aqi_hourly"))  # the batch's last: its hour wins below
    # one column first: the page needs only the last two days
    latest = max((r["date"] for key in hourly_tables for r in _rows(settings, key, ["date"])), default=None)
    recent = None if latest is None else pc.field("date") >= latest - timedelta(days=1)
    hourly = [
        r for key in hourly_tables for r in _rows(settings, key, ["station_id", "date", "hour_start", "vn_aqi"], recent)
    ]
    as_of = max((_utc(r["hour_start"]) for r in hourly), default=None)
    if as_of is not None:
        as_of += timedelta(hours=1)  # the end of the latest hour
        by_station: dict[str, dict[datetime, int | None]] = defaultdict(dict)
        for r in hourly:
            start = _utc(r["hour_start"])
            if as_of - timedelta(hours=24) <= start < as_of:
                by_station[r["station_id"]][start] = r["vn_aqi"]
        for station, hours in by_station.items():
            entity = entities.setdefault(("air", station), Entity("air", station, "", ""))
            entity.hourly = [hours.get(as_of - timedelta(hours=24 - n)) for n in range(24)]
            entity.vn_aqi = next((v for v in reversed(entity.hourly) if v is not None), None)

    last_days = None if as_of is None else pc.field("measured_date") >= (as_of + VN).date() - timedelta(days=1)
    for medium, dataset, key in (
        ("air", "air_quality_reading", "station_id"),
        ("wastewater", "wastewater_reading", "facility_id"),
    ):
        for table in (path(dataset), live_key(REGISTRY[dataset])):
            for r in _rows(settings, table, [key, "measured_at"], last_days):
                heard = entities.get((medium, r[key]))
                if heard is not None and (heard.last_seen is None or _utc(r["measured_at"]) > heard.last_seen):
                    heard.last_seen = _utc(r["measured_at"])

    alerts = _rows(settings, path("alert"), [f.name for f in REGISTRY["alert"].fields], pc.field("status") == "open")
    alerts.sort(key=lambda a: (_utc(a["opened_at"]), a["alert_id"]), reverse=True)
    for a in alerts:
        alerted = entities.get((a["medium"], a["facility_id"] if a["medium"] == "wastewater" else a["entity_id"]))
        if alerted is not None:
            alerted.open_alerts += 1
    return LiveData(as_of, alerts, list(entities.values()))


def _local(value: datetime | None) -> str:
    return "—" if value is None else f"{_utc(value).astimezone(UTC) + VN:%Y-%m-%d %H:%M}"


def _number(value: Any) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def sparkline(values: list[int | None], width: int = 120, height: int = 24) -> str:
    """24 bars, one per hour, each in its band's colour; an hour without an index is a grey tick."""
    if not values:
        return ""
    step = width / len(values)
    top = max([v for v in values if v is not None] + [100])
    bars = []
    for n, v in enumerate(values):
        h = 2.0 if v is None else max(2.0, height * v / top)
        band = aqi.band_of(v)
        colour = band.hex if band is not None else NO_INDEX_COLOUR
        bars.append(
            f'<rect x="{n * step:.1f}" y="{height - h:.1f}" width="{step - 1:.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{'—' if v is None else v}</title></rect>"
        )
    size = f'width="{width}" height="{height}"'
    return f'<svg class="spark" {size} role="img" aria-label="VN_AQI 24 h">{"".join(bars)}</svg>'


def render(data: LiveData) -> str:
    """The page (pure): open alerts newest first, then provinces by name, stations with open alerts first."""
    e = html.escape
    alert_rows = []
    for a in data.open_alerts:
        province = PROVINCES_2025.get(str(a.get("province_code") or ""), "")
        value = "—" if a["kind"] == "silent" else f"{_number(a['open_value'])} (đỉnh {_number(a['peak_value'])})"
        limit = f"{_number(a['limit_value'])} phút" if a["kind"] == "silent" else _number(a["limit_value"])
        if a["kind"] == "device":
            value, limit = f"{_number(a['open_value'])} (thiết bị lỗi)", "—"
        alert_rows.append(
            f'<tr class="alert" data-alert-id="{e(a["alert_id"])}" data-kind="{e(a["kind"])}">'
            f"<td>{e(KIND_LABEL.get(a['kind'], a['kind']))}</td>"
            f"<td class='entity'>{e(a.get('entity_name') or '')} ({e(a['entity_id'])})</td>"
            f"<td class='province'>{e(province)}</td><td>{e(a.get('parameter') or '—')}</td>"
            f"<td>{e(value)}</td><td>{e(limit)}</td><td>{e(a.get('limit_source') or '')}</td>"
            f"<td class='opened'>{_local(a['opened_at'])}</td></tr>"
        )
    alerts_html = (
        "<p class='none'>Không có cảnh báo đang mở / no open alert</p>"
        if not alert_rows
        else "<table id='open-alerts'><thead><tr><th>Loại</th><th>Trạm / cơ sở</th><th>Tỉnh</th><th>Thông số</th>"
        "<th>Giá trị</th><th>Giới hạn</th><th>Quy chuẩn</th><th>Mở lúc (giờ VN)</th></tr></thead>"
        f"<tbody>{''.join(alert_rows)}</tbody></table>"
    )
    by_province: dict[str, list[Entity]] = defaultdict(list)
    for entity in data.entities:
        by_province[entity.province_code].append(entity)
    sections = []
    for code in sorted(by_province, key=lambda c: (PROVINCES_2025.get(c, "~"), c)):
        rows = []
        for ent in sorted(by_province[code], key=lambda x: (-x.open_alerts, x.medium, x.entity_id)):
            band = aqi.band_of(ent.vn_aqi)
            colour = band.hex if band is not None else NO_INDEX_COLOUR
            label = f"{ent.vn_aqi} {band.name}" if band is not None else "—"
            rows.append(
                f'<tr class="entity" data-id="{e(ent.entity_id)}" data-medium="{ent.medium}">'
                f'<td><span class="swatch" style="background:{colour}"></span></td>'
                f"<td>{e(ent.name)} ({e(ent.entity_id)})</td>"
                f"<td>{'không khí' if ent.medium == 'air' else 'nước thải'}</td>"
                f"<td class='aqi'>{e(label)}</td><td class='seen'>{_local(ent.last_seen)}</td>"
                f"<td>{sparkline(ent.hourly)}</td><td class='open'>{ent.open_alerts or ''}</td></tr>"
            )
        name = PROVINCES_2025.get(code, code or "?")
        sections.append(
            f"<section class='province' data-province='{e(code)}'><h3>{e(name)} ({e(code)})</h3>"
            "<table><thead><tr><th></th><th>Trạm / cơ sở</th><th>Loại</th><th>VN_AQI hiện tại</th>"
            "<th>Lần cuối nhận (giờ VN)</th><th>24 giờ</th><th>Cảnh báo mở</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>"
        )
    legend = "".join(
        f'<span class="swatch" style="background:{b.hex}"></span>{e(b.name)} ({b.low}–{b.high}) ' for b in aqi.BANDS
    )
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Giám sát môi trường trực tuyến</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; font-size: 14px; }}
#open-alerts tr.alert td {{ background: #fdecea; }}
.swatch {{ display: inline-block; width: 14px; height: 14px; border: 1px solid #555; margin: 0 4px; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 18px; margin-top: 1.2em; }} h3 {{ font-size: 15px; }}
.asof {{ color: #555; }}
</style></head><body>
<h1>Giám sát môi trường trực tuyến / Live environmental monitoring</h1>
<p class="asof">Số liệu đến / data up to: <span id="as-of">{_local(data.as_of)}</span> (giờ VN); tự làm mới mỗi
{REFRESH_SECONDS} giây.</p>
<h2>Cảnh báo đang mở / Open alerts (<span id="open-count">{len(data.open_alerts)}</span>)</h2>
{alerts_html}
<h2>Trạm và cơ sở theo tỉnh / Stations and facilities by province</h2>
<p class="legend">{legend}</p>
{"".join(sections)}
</body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    settings: Settings

    def do_GET(self) -> None:
        if self.path.split("?")[0] not in ("/", "/index.html"):
            self.send_error(404, "the page is at /")
            return
        body = render(collect(self.settings)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def server(host: str, port: int, settings: Settings | None = None) -> ThreadingHTTPServer:
    """The page's HTTP server, bound but not yet serving (``serve_forever``)."""
    handler = type("LiveHandler", (_Handler,), {"settings": settings or get_settings()})
    return ThreadingHTTPServer((host, port), handler)
