"""Seeded generator of transport-sector sample sources: a GTFS bus feed and vehicle GPS pings.

Why: the pipeline needs realistic, *countable* input. Everything derives from ``random.Random``
seeded by the arguments (never the clock), the zip is written with fixed member times, so the
same arguments give byte-identical files; ``_generation_report.json`` states exactly what the
pipeline must quarantine (per reason), drop as duplicates and keep in silver, per dataset.

Layout under ``--out DIR``::

    transport/gtfs/hanoi_bus_gtfs.zip        (agency, stops, routes, trips, stop_times, calendar,
                                              calendar_dates, feed_info)
    transport/vehicle_positions/positions_YYYYMMDD.jsonl   (+ .manifest.json {"rows": N})
    transport/_generation_report.json

**GTFS.** A hand-designed core of three Hanoi routes (the fixture; its service on the fixture day
is computed by hand in tests/integration/test_transport_pipeline.py) plus ``--extra-routes``
generated ones. Valid oddities: times past 24:00 (a trip 23:50:00 → 25:10:00, a night route
24:30:00 → 25:30:00), gaps in ``stop_sequence`` (10, 20, 30 …), a service that runs only by
``calendar_dates``. Mess: one trip whose ``stop_sequence`` goes back (1, 2, 4, 3: its 4 stop times
are quarantined and so is the trip, left without stop times), a stop at (0,0), a stop in Bangkok,
one exact duplicate line each in stops, trips and stop_times, NFD stop names.

**Vehicle pings** (``--rows``, streamed: one vehicle at a time, constant memory, a progress bar
above 100k rows). Vehicles circle a city centre (Hà Nội, and for bigger runs Hải Phòng, Đà Nẵng,
TP Hồ Chí Minh, Cần Thơ; vehicle 6 of every six works in Bắc Ninh) and ping every 15 minutes from
06:00 to 21:45 local; the Bắc Ninh ones fall silent at 12:00. Valid oddities: plates written
``29A-123.45``, ``29A12345`` or ``29a 123.45`` (one vehicle), speeds in m/s from some devices
(``speed_unit`` ``m/s``). Mess (exact quotas, never in local hour 07 so that hour's gold cell is
checkable by hand): (0,0) fixes, jumps of 1° latitude (≈ 444 km/h implied), exact duplicate pings.

Usage::

    python -m sample_sources.transport.generate --out DIR [--date 2026-11-26] [--rows 2000]
        [--seed 42] [--extra-routes 40] [--no-progress]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import sys
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

SECTOR = "transport"
GTFS_ZIP = "transport/gtfs/hanoi_bus_gtfs.zip"
FEED_VERSION = "HNBUS-2026.11"
LOCAL = timezone(timedelta(hours=7))
PING_MINUTES = 15
FIRST_HOUR, LAST_HOUR = 6, 22  # pings 06:00 … 21:45 local
SILENT_FROM_HOUR = 12  # the Bắc Ninh vehicles stop sending at 12:00
CLEAN_HOUR = 7  # no mess in this local hour: its gold cell is checked by hand
PINGS_PER_VEHICLE = (LAST_HOUR - FIRST_HOUR) * 60 // PING_MINUTES  # 64
PINGS_SILENT_VEHICLE = (SILENT_FROM_HOUR - FIRST_HOUR) * 60 // PING_MINUTES  # 24
PROGRESS_FROM_ROWS = 100_000
PING_RATES = {"zero_position": 0.004, "jump": 0.003, "duplicate_ping": 0.006}
EXPECTED_PING_OUTCOME = {"zero_position": "INVALID_POSITION", "jump": "IMPOSSIBLE_JUMP", "duplicate_ping": None}
ZIP_TIME = (2026, 11, 1, 0, 0, 0)

# (name, lat, lon, plate locality) — vehicles circle these centres (radius 0.05°, one lap per 2 h).
CITIES = [
    ("Hà Nội", 21.0285, 105.8542, 29),
    ("Hải Phòng", 20.8449, 106.6881, 15),
    ("Đà Nẵng", 16.0544, 108.2022, 43),
    ("TP Hồ Chí Minh", 10.7769, 106.7009, 51),
    ("Cần Thơ", 10.0452, 105.7469, 65),
]
BAC_NINH = ("Bắc Ninh", 21.1860, 106.0760, 99)

# ------------------------------------------------------------------------------------------- GTFS

STOPS = [
    # stop_id, code, name, lat, lon
    ("S01", "GL01", "Bến xe Gia Lâm", 21.0475, 105.8780),
    ("S02", "LB02", "Cầu Long Biên", 21.0400, 105.8500),
    ("S03", "HK03", "Hồ Hoàn Kiếm", 21.0285, 105.8542),
    ("S04", "CG04", "Cầu Giấy", 21.0333, 105.7940),
    ("S05", "YN05", "Bến xe Yên Nghĩa", 20.9510, 105.7430),
    ("S06", "BC06", "Bác Cổ", 21.0190, 105.8620),
    ("S07", "GB07", "Bến xe Giáp Bát", 20.9800, 105.8410),
    ("S08", "HD08", "Hà Đông", 20.9710, 105.7780),
    ("S09", "TS09", "Từ Sơn", 21.1170, 105.9590),
    ("S10", "BN10", "Thành phố Bắc Ninh", 21.1860, 106.0760),
]
BAD_STOPS = [("S11", "XX11", "Điểm chưa có tọa độ", 0.0, 0.0), ("S12", "XX12", "Bangkok (nhập nhầm)", 13.75, 100.5)]
NFD_STOPS = {"S03", "S07"}  # names written in NFD (valid Unicode, stored NFC in silver)

ROUTES = [
    ("R01", "01", "Bến xe Gia Lâm - Bến xe Yên Nghĩa"),
    ("R02", "02", "Bác Cổ - Bến xe Yên Nghĩa"),
    ("R03", "03N", "Gia Lâm - Bắc Ninh (tuyến đêm)"),
]
# trip_id, route, service, headsign, direction, first departure "HH:MM:SS", stops, minute offsets, sequences
CORE_TRIPS: list[tuple[str, str, str, str, int, str, list[str], list[int], list[int]]] = []
_R01_STOPS, _R01_OFF, _R01_SEQ = ["S01", "S02", "S03", "S04", "S05"], [0, 10, 25, 40, 50], [10, 20, 30, 40, 50]
for _i, _h in enumerate((5, 6, 7, 8)):
    CORE_TRIPS.append(
        (f"R01-WK-{_i + 1}", "R01", "WK", "Yên Nghĩa", 0, f"{_h:02d}:00:00", _R01_STOPS, _R01_OFF, _R01_SEQ)
    )
for _i, _h in enumerate((7, 9)):
    CORE_TRIPS.append(
        (f"R01-WE-{_i + 1}", "R01", "WE", "Yên Nghĩa", 0, f"{_h:02d}:00:00", _R01_STOPS, _R01_OFF, _R01_SEQ)
    )
_R02_STOPS, _R02_OFF = ["S06", "S07", "S08", "S05"], [0, 10, 25, 40]
CORE_TRIPS += [
    ("R02-WK-1", "R02", "WK", "Yên Nghĩa", 0, "06:15:00", _R02_STOPS, _R02_OFF, [1, 2, 3, 4]),
    ("R02-WK-2", "R02", "WK", "Yên Nghĩa", 0, "07:15:00", _R02_STOPS, _R02_OFF, [1, 2, 3, 4]),
    ("R02-WK-3", "R02", "WK", "Yên Nghĩa", 0, "08:15:00", _R02_STOPS, _R02_OFF, [1, 2, 4, 3]),  # goes back
    ("R02-WK-LATE", "R02", "WK", "Bác Cổ", 1, "23:50:00", _R02_STOPS[::-1], [0, 20, 50, 80], [1, 2, 3, 4]),
    ("R03-XT-1", "R03", "XT", "Bắc Ninh", 0, "24:30:00", ["S01", "S09", "S10"], [0, 30, 60], [1, 2, 3]),
]
BROKEN_TRIP = "R02-WK-3"
CALENDAR = [("WK", "1111100"), ("WE", "0000011")]
CALENDAR_START, CALENDAR_END = "20261101", "20270131"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FEED_INFO_COLUMNS = ("feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date", "feed_end_date")
CALENDAR_DATES = [("XT", "20261126", 1), ("WK", "20270101", 2), ("WE", "20270101", 1)]


def _seconds(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def gtfs_tables(rng: random.Random, extra_routes: int) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Every member of the feed, and the report of what each GTFS dataset must come out as."""
    stops: list[tuple[str, str, str, float, float]] = list(STOPS)
    trips = list(CORE_TRIPS)
    routes = list(ROUTES)
    for n in range(extra_routes):  # generated routes between random core stops and new ones
        rid = f"R{n + 10:02d}"
        routes.append((rid, f"{n + 10}", f"Tuyến {n + 10}"))
        own = []
        for k in range(6):
            sid = f"S{rid}{k}"
            lat, lon = 21.0285 + rng.uniform(-0.12, 0.12), 105.8542 + rng.uniform(-0.12, 0.12)
            stops.append((sid, sid, f"Điểm dừng {rid}-{k + 1}", round(lat, 5), round(lon, 5)))
            own.append(sid)
        for t in range(rng.randint(8, 30)):
            start = 5 * 3600 + t * rng.choice((900, 1200, 1800))
            offsets = [0, 8, 17, 25, 33, 41]
            trips.append(
                (
                    f"{rid}-WK-{t + 1}",
                    rid,
                    "WK",
                    f"Tuyến {n + 10}",
                    t % 2,
                    _hms(start),
                    own,
                    offsets,
                    [1, 2, 3, 5, 8, 9],
                )
            )
    stop_rows: list[list[Any]] = []
    for sid, code, name, lat, lon in [*stops, *BAD_STOPS]:
        shown = unicodedata.normalize("NFD", name) if sid in NFD_STOPS else name
        stop_rows.append([sid, code, shown, lat, lon, 0])
    stop_rows.insert(1, list(stop_rows[0]))  # exact duplicate line
    trip_rows = [[t[1], t[2], t[0], t[3], t[4]] for t in trips]
    trip_rows.insert(3, list(trip_rows[2]))
    st_rows: list[list[Any]] = []
    for trip_id, _r, _s, _h, _d, first, stop_ids, offsets, seqs in trips:
        base = _seconds(first)
        for stop_id, off, seq in zip(stop_ids, offsets, seqs, strict=True):
            at = _hms(base + off * 60)
            st_rows.append([trip_id, at, at, stop_id, seq])
    st_rows.insert(7, list(st_rows[6]))
    members = {
        "agency.txt": _csv(
            ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
            [["TRANSERCO", "Tổng công ty Vận tải Hà Nội", "https://transerco.example.vn", "Asia/Ho_Chi_Minh", "vi"]],
        ),
        "stops.txt": _csv(["stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon", "location_type"], stop_rows),
        "routes.txt": _csv(
            ["route_id", "agency_id", "route_short_name", "route_long_name", "route_type"],
            [[r[0], "TRANSERCO", r[1], r[2], 3] for r in routes],
        ),
        "trips.txt": _csv(["route_id", "service_id", "trip_id", "trip_headsign", "direction_id"], trip_rows),
        "stop_times.txt": _csv(["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"], st_rows),
        "calendar.txt": _csv(
            ["service_id", *WEEKDAYS, "start_date", "end_date"],
            [[sid, *days, CALENDAR_START, CALENDAR_END] for sid, days in CALENDAR],
        ),
        "calendar_dates.txt": _csv(["service_id", "date", "exception_type"], CALENDAR_DATES),
        "feed_info.txt": _csv(
            [*FEED_INFO_COLUMNS, "feed_version"],
            [["Sở Xây dựng Hà Nội (mẫu)", "https://example.vn", "vi", CALENDAR_START, CALENDAR_END, FEED_VERSION]],
        ),
    }
    broken_lines = sum(1 for r in st_rows if r[0] == BROKEN_TRIP) - (1 if st_rows[6][0] == BROKEN_TRIP else 0)

    def entry(dataset: str, lines: int, quarantine: dict[str, int], dups: int) -> dict[str, Any]:
        return {
            "dataset": dataset,
            "data_rows": lines,
            "expected_quarantine": quarantine,
            "expected_duplicates_removed": dups,
            "expected_silver_rows": lines - sum(quarantine.values()) - dups,
        }

    report = {
        "feed_version": FEED_VERSION,
        "datasets": [
            entry("gtfs_stop", len(stop_rows), {"INVALID_POSITION": 1, "OUTSIDE_VIETNAM": 1}, 1),
            entry("gtfs_route", len(routes), {}, 0),
            entry("gtfs_calendar", len(CALENDAR), {}, 0),
            entry("gtfs_calendar_date", len(CALENDAR_DATES), {}, 0),
            entry("gtfs_stop_time", len(st_rows), {"STOP_SEQUENCE_NOT_INCREASING": broken_lines}, 1),
            entry("gtfs_trip", len(trip_rows), {"TRIP_WITHOUT_STOP_TIMES": 1}, 1),
        ],
        "mess": {
            "times_past_24h": sum(1 for r in st_rows if _seconds(r[1]) >= 24 * 3600),
            "stop_sequence_gaps_trips": sum(
                1 for t in trips if any(b - a > 1 for a, b in zip(t[8], t[8][1:], strict=False))
            ),
            "stop_sequence_going_back_trips": 1,
            "zero_position_stops": 1,
            "stops_outside_vietnam": 1,
            "duplicate_lines": 3,
            "nfd_stop_names": len(NFD_STOPS),
        },
    }
    return members, report


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    """A byte-reproducible zip (fixed member times and order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, members[name])
    tmp.replace(path)


# ------------------------------------------------------------------------------------ GPS pings


@dataclass(frozen=True)
class Vehicle:
    number: int  # 1-based
    plate: str  # canonical, e.g. 29A12345
    driver_id: str
    city: tuple[str, float, float, int]
    phase: float
    speed_in_mps: bool
    plate_styles: tuple[str, ...]

    @property
    def silent_from_noon(self) -> bool:
        return self.city is BAC_NINH


def plate_in(style: str, plate: str) -> str:
    """A canonical plate written as devices do: ``display`` 29A-123.45, ``compact`` 29A12345,
    ``lower_space`` 29a 123.45."""
    head, digits = plate[:-5], plate[-5:]
    if style == "compact":
        return plate
    if style == "lower_space":
        return f"{head.lower()} {digits[:3]}.{digits[3:]}"
    return f"{head}-{digits[:3]}.{digits[3:]}"


def make_vehicle(n: int, rng: random.Random, cities: int) -> Vehicle:
    city = BAC_NINH if n % 6 == 0 else CITIES[(n - 1) % cities]
    series = rng.choice("ABCDEFGHKLMNPSTUVXYZ")
    plate = f"{city[3]:02d}{series}{rng.randrange(10000, 100000):05d}"
    styles = ("display", "compact", "lower_space") if n == 1 else (("compact",) if n % 10 == 3 else ("display",))
    return Vehicle(
        n, plate, f"{rng.randrange(10**11, 10**12):012d}", city, rng.uniform(0, 2 * math.pi), n % 4 == 3, styles
    )


def vehicle_pings(v: Vehicle, day: date, rng: random.Random) -> Iterator[dict[str, Any]]:
    """One vehicle's day of pings, in time order (a circle of radius 0.05° per 2 h around its city)."""
    count = PINGS_SILENT_VEHICLE if v.silent_from_noon else PINGS_PER_VEHICLE
    _, lat0, lon0, _ = v.city
    lap_hours, radius = 2.0, 0.05
    kmh = 2 * math.pi * radius * 111.0 / lap_hours
    for i in range(count):
        minutes = FIRST_HOUR * 60 + i * PING_MINUTES
        t = datetime(day.year, day.month, day.day, tzinfo=LOCAL) + timedelta(minutes=minutes, seconds=v.number % 60)
        angle = v.phase + 2 * math.pi * (minutes / 60) / lap_hours
        speed = kmh * rng.uniform(0.8, 1.2)
        yield {
            "plate": plate_in(v.plate_styles[i % len(v.plate_styles)], v.plate),
            "driver_id": v.driver_id,
            "lat": round(lat0 + radius * math.sin(angle), 6),
            "lon": round(lon0 + radius * math.cos(angle), 6),
            "speed": round(speed / 3.6, 2) if v.speed_in_mps else round(speed, 1),
            "speed_unit": "m/s" if v.speed_in_mps else "km/h",
            "heading": round(math.degrees(angle + math.pi / 2) % 360, 1),
            "recorded_at": t.isoformat(),
        }


def _quota(rate: float, rows: int) -> int:
    return max(1, round(rate * rows))


def write_pings(path: Path, day: date, rows: int, seed: int, progress: Progress | None) -> dict[str, Any]:
    """Stream the day's pings; mess by exact quotas with sequential selection sampling (constant memory)."""
    rng = random.Random(f"{seed}:pings:{day}")  # nosec B311  # seeded sample data, not cryptography
    cities = 1 if rows <= 1000 else len(CITIES)
    vehicles, planned = 0, 0
    while planned < rows:  # how many vehicles give ~rows pings
        vehicles += 1
        planned += PINGS_SILENT_VEHICLE if vehicles % 6 == 0 else PINGS_PER_VEHICLE
    quotas = {k: _quota(r, planned) for k, r in PING_RATES.items()}
    left = dict(quotas)
    # eligible pings: not in the clean hour, not a vehicle's first or last two, not the silent vehicles'
    eligible_total = 0
    for n in range(1, vehicles + 1):
        if n % 6 != 0:
            eligible_total += PINGS_PER_VEHICLE - 4 - 60 // PING_MINUTES
    eligible_left = eligible_total
    counts = {k: 0 for k in quotas}
    lines = 0
    task = progress.add_task("vehicle pings", total=planned) if progress else None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for n in range(1, vehicles + 1):
            v = make_vehicle(n, rng, cities)
            pings = list(vehicle_pings(v, day, rng))  # one vehicle (≤ 64 pings) in memory at a time
            last_kind_at = -3
            for i, ping in enumerate(pings):
                hour = FIRST_HOUR + i * PING_MINUTES // 60
                ok = not v.silent_from_noon and hour != CLEAN_HOUR and 2 <= i < len(pings) - 2
                kind = None
                if ok:
                    pending = sum(left.values())
                    if i - last_kind_at >= 3 and pending and rng.random() < pending / max(eligible_left, 1):
                        kind = rng.choice([k for k, q in left.items() if q > 0])
                        left[kind] -= 1
                        last_kind_at = i
                    eligible_left -= 1
                if kind == "zero_position":
                    ping = {**ping, "lat": 0.0, "lon": 0.0}
                elif kind == "jump":
                    ping = {**ping, "lat": round(ping["lat"] + 1.0, 6)}
                line = json.dumps(ping, ensure_ascii=False, separators=(",", ":"))
                fh.write(line + "\n")
                lines += 1
                if kind == "duplicate_ping":
                    fh.write(line + "\n")
                    lines += 1
                if kind:
                    counts[kind] += 1
            if progress is not None and task is not None:
                progress.advance(task, len(pings))
    tmp.replace(path)
    path.with_name(path.name + ".manifest.json").write_text(json.dumps({"rows": lines}) + "\n", encoding="utf-8")
    quarantine: dict[str, int] = {}
    for kind, reason in EXPECTED_PING_OUTCOME.items():
        if reason and counts[kind]:
            quarantine[reason] = quarantine.get(reason, 0) + counts[kind]
    dups = counts["duplicate_ping"]
    return {
        "dataset": "vehicle_position",
        "data_rows": lines,
        "vehicles": vehicles,
        "silent_vehicles": vehicles // 6,
        "mess": counts,
        "expected_quarantine": dict(sorted(quarantine.items())),
        "expected_duplicates_removed": dups,
        "expected_silver_rows": lines - sum(quarantine.values()) - dups,
    }


def generate(out: Path, day: date, rows: int, seed: int, extra_routes: int, show_progress: bool) -> dict[str, Any]:
    rng = random.Random(f"{seed}:gtfs")  # nosec B311  # seeded sample data, not cryptography
    members, gtfs_report = gtfs_tables(rng, extra_routes)
    write_zip(out / GTFS_ZIP, members)
    ping_file = f"transport/vehicle_positions/positions_{day:%Y%m%d}.jsonl"
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    if show_progress and rows >= PROGRESS_FROM_ROWS:
        with Progress(*columns, console=Console(stderr=True)) as progress:
            pings = write_pings(out / ping_file, day, rows, seed, progress)
    else:
        pings = write_pings(out / ping_file, day, rows, seed, None)
    report = {
        "seed": seed,
        "date": day.isoformat(),
        "rows": rows,
        "extra_routes": extra_routes,
        "files": {GTFS_ZIP: gtfs_report, ping_file: pings},
    }
    path = out / SECTOR / "_generation_report.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="output directory (files go under DIR/transport)")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26), help="day (YYYY-MM-DD)")
    parser.add_argument("--rows", type=int, default=2000, help="vehicle pings for the day (about)")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--extra-routes", type=int, default=40, help="generated bus routes beyond the core three")
    parser.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    args = parser.parse_args(argv)
    report = generate(args.out, args.date, args.rows, args.seed, args.extra_routes, not args.no_progress)
    out = stdout or sys.stdout
    for name, entry in report["files"].items():
        rows = entry.get("data_rows", sum(d["data_rows"] for d in entry.get("datasets", [])))
        print(f"{name}: {rows} rows", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
