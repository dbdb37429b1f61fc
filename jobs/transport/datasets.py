"""Registry entries of the transport sector (owner: Bộ Xây dựng).

Two sources:

* a **GTFS static feed** of a Hanoi-like bus network (one zip over HTTP, channel ``gtfs``): each
  member file is one silver dataset, loaded *per feed version* (``feed_version`` leads every natural
  key; the adapter writes it into every landed row, from ``feed_info.txt`` or the zip's sha256).
  Times may pass 24:00 (a trip after midnight belongs to the previous service day) and
  ``stop_sequence`` may skip numbers, but must increase along a trip;
* **commercial-vehicle GPS pings** (journey-monitoring devices, Decree 10/2020 then 158/2024)
  published as JSON messages to MQTT and landed per interval as JSON lines. Plates and driver ids
  are personal data and a position tied to them is sensitive (Law 91/2025): silver keeps only
  keyed pseudonyms (``jobs.privacy``), the raw values live in ``restricted/transport/…``, gold
  holds counts only.

Stops and pings get their 2025 province from their coordinates (:mod:`jobs.transport.geo`: the
province of the nearest 2025 ward centre).
"""

from __future__ import annotations

from datetime import timedelta

from jobs.checks import in_vietnam, line_checks, not_empty, province_codes_2025, text_checks, unique_key
from jobs.registry import (
    Channel,
    Check,
    Classification,
    Criterion,
    Dataset,
    Field,
    Layer,
    Ministry,
    PersonalData,
    PersonalKind,
    RowRule,
    Severity,
    Source,
    undecidable_text_rule,
)

SECTOR = "transport"
OWNER = Ministry.CONSTRUCTION
C, S = Criterion, Severity

GTFS_PATH = "transport/gtfs/hanoi_bus_gtfs.zip"
"""The feed's local drop (and the path the HTTP source serves under ``/files/``)."""
GTFS_REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
"""Required by the GTFS reference, plus ``calendar.txt`` and/or ``calendar_dates.txt``."""
GTFS_CALENDAR_FILES = ("calendar.txt", "calendar_dates.txt")
GTFS_REQUIRED_FIELDS = {
    "agency.txt": ("agency_name", "agency_url", "agency_timezone"),
    "stops.txt": ("stop_id",),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
}
"""Columns a member must have (GTFS reference "Required"); a feed lacking one is refused."""

MAX_SPEED_KMH = 200.0
"""Above this a road vehicle's reported or implied speed is not physical (GPS glitch)."""
LAT_LON_VN = "latitude BETWEEN 8.0 AND 23.5 AND longitude BETWEEN 102.0 AND 117.5"
_VN_BOX = "Vietnam's bounding box (8.0–23.5° N, 102.0–117.5° E)"


def _gtfs_source(member: str, columns: tuple[str, ...]) -> Source:
    """A GTFS member file; the adapter lands it with exactly ``feed_version`` + these columns."""
    return Source(
        GTFS_PATH,
        ("feed_version", *columns),
        channel=Channel.GTFS,
        # the zip comes through the HTTP channel's resumable download of /files/<path>
        # the adapter validates the whole feed against the reference's required fields before any member
        options={
            "member": member,
            "kind": "download",
            "path": f"/files/{GTFS_PATH}",
            "required_fields": GTFS_REQUIRED_FIELDS,
        },
    )


def _feed_version_field() -> Field:
    return Field("feed_version", "STRING", "Phiên bản bộ dữ liệu GTFS", "GTFS feed version", nullable=False)


def _malformed() -> RowRule:
    return RowRule("MALFORMED_LINE", "_parse_error IS NOT NULL", C.CORRECT, "Line cannot be parsed as a CSV record.")


def _missing(condition: str, what: str) -> RowRule:
    return RowRule("MISSING_REQUIRED_FIELD", condition, C.COMPLETE, f"A field GTFS requires is empty: {what}.")


def _gtfs_checks(key: tuple[str, ...], *extra: Check, text: tuple[str, ...] = ()) -> tuple[Check, ...]:
    """Gate checks every GTFS table shares: not empty, one row per key in a feed version, line checks."""
    return (
        not_empty("The feed delivered at least one valid row of this file."),
        unique_key(key, f"One row per {', '.join(key)}."),
        *(text_checks(text) if text else ()),
        *extra,
        *line_checks(),
        Check(
            "complete_rows",
            C.COMPLETE,
            S.WARNING,
            "ExpectColumnValuesToNotBeInSet",
            {"column": "rejected_for", "value_set": [C.COMPLETE.value]},
            "Rows rejected as incomplete (a required field empty, a trip without stop times).",
            frame="lines",
        ),
    )


GTFS_STOP = Dataset(
    name="gtfs_stop",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Điểm dừng xe buýt (GTFS stops.txt)",
    title_en="Bus stops (GTFS stops.txt)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        _feed_version_field(),
        Field("stop_id", "STRING", "Mã điểm dừng", "Stop id", nullable=False),
        Field("stop_code", "STRING", "Mã hiển thị", "Stop code shown to riders"),
        Field("stop_name", "STRING", "Tên điểm dừng (NFC)", "Stop name (NFC)"),
        Field("latitude", "DOUBLE", "Vĩ độ", "Latitude", unit="°", nullable=False),
        Field("longitude", "DOUBLE", "Kinh độ", "Longitude", unit="°", nullable=False),
        Field("location_type", "INT", "Loại (0 điểm dừng, 1 nhà ga)", "Location type (0 stop, 1 station)"),
        Field(
            "province_code",
            "STRING",
            "Mã tỉnh 2025 (theo phường/xã gần nhất)",
            "2025 province code (of the nearest ward centre)",
            nullable=False,
        ),
    ),
    natural_key=("feed_version", "stop_id"),
    transform="jobs.transport.transforms:gtfs_stop_to_silver",
    source=_gtfs_source("stops.txt", ("stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon", "location_type")),
    row_rules=(
        _malformed(),
        undecidable_text_rule(),
        _missing("stop_id IS NULL OR stop_name IS NULL", "stop_id, stop_name"),
        RowRule(
            "INVALID_POSITION",
            "latitude IS NULL OR longitude IS NULL OR (latitude = 0 AND longitude = 0)",
            C.CORRECT,
            "Coordinates missing, not numbers, or (0,0) (a placeholder, not a place).",
        ),
        RowRule("OUTSIDE_VIETNAM", f"NOT ({LAT_LON_VN})", C.CORRECT, f"Coordinates outside {_VN_BOX}."),
        RowRule(
            "UNMAPPABLE_PROVINCE",
            "province_code IS NULL",
            C.CORRECT,
            "No 2025 ward centre within 40 km: the point is not on Vietnamese land.",
        ),
    ),
    checks=_gtfs_checks(("feed_version", "stop_id"), *in_vietnam(), province_codes_2025(), text=("stop_name",)),
)

GTFS_ROUTE = Dataset(
    name="gtfs_route",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Tuyến xe buýt (GTFS routes.txt)",
    title_en="Bus routes (GTFS routes.txt)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        _feed_version_field(),
        Field("route_id", "STRING", "Mã tuyến", "Route id", nullable=False),
        Field("agency_id", "STRING", "Mã đơn vị vận hành", "Agency id"),
        Field("route_short_name", "STRING", "Số hiệu tuyến", "Route number"),
        Field("route_long_name", "STRING", "Tên tuyến (NFC)", "Route name (NFC)"),
        Field("route_type", "INT", "Loại phương tiện (3 = buýt)", "Route type (3 = bus)", nullable=False),
    ),
    natural_key=("feed_version", "route_id"),
    transform="jobs.transport.transforms:gtfs_route_to_silver",
    source=_gtfs_source("routes.txt", ("route_id", "agency_id", "route_short_name", "route_long_name", "route_type")),
    row_rules=(
        _malformed(),
        undecidable_text_rule(),
        _missing(
            "route_id IS NULL OR (route_short_name IS NULL AND route_long_name IS NULL)",
            "route_id, route_short_name or route_long_name",
        ),
        RowRule(
            "INVALID_ROUTE_TYPE",
            "route_type IS NULL OR NOT (route_type BETWEEN 0 AND 12 OR route_type BETWEEN 100 AND 1702)",
            C.CORRECT,
            "route_type is not a GTFS (or extended) route type.",
        ),
    ),
    checks=_gtfs_checks(("feed_version", "route_id"), text=("route_short_name", "route_long_name")),
)

GTFS_STOP_TIME = Dataset(
    name="gtfs_stop_time",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Giờ đến/đi tại điểm dừng (GTFS stop_times.txt)",
    title_en="Stop times (GTFS stop_times.txt)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        _feed_version_field(),
        Field("trip_id", "STRING", "Mã chuyến", "Trip id", nullable=False),
        Field("stop_sequence", "INT", "Thứ tự điểm dừng (tăng dần)", "Stop order (increasing)", nullable=False),
        Field("stop_id", "STRING", "Mã điểm dừng", "Stop id", nullable=False),
        Field("arrival_time", "STRING", "Giờ đến (HH:MM:SS, có thể quá 24:00)", "Arrival (HH:MM:SS, may pass 24:00)"),
        Field("departure_time", "STRING", "Giờ đi (HH:MM:SS)", "Departure (HH:MM:SS, may pass 24:00)"),
        Field(
            "arrival_seconds", "INT", "Giây kể từ đầu ngày phục vụ", "Seconds after the service day's start", unit="s"
        ),
        Field(
            "departure_seconds", "INT", "Giây kể từ đầu ngày phục vụ", "Seconds after the service day's start", unit="s"
        ),
    ),
    natural_key=("feed_version", "trip_id", "stop_sequence"),
    transform="jobs.transport.transforms:gtfs_stop_time_to_silver",
    source=_gtfs_source("stop_times.txt", ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence")),
    inputs=("gtfs_stop",),
    row_rules=(
        _malformed(),
        _missing("trip_id IS NULL OR stop_id IS NULL OR _stop_sequence_raw IS NULL", "trip_id, stop_id, stop_sequence"),
        RowRule(
            "INVALID_NUMBER",
            "stop_sequence IS NULL OR stop_sequence < 0",
            C.CORRECT,
            "stop_sequence is not a non-negative integer.",
        ),
        RowRule(
            "INVALID_TIME",
            "(arrival_time IS NOT NULL AND arrival_seconds IS NULL) "
            "OR (departure_time IS NOT NULL AND departure_seconds IS NULL)",
            C.CORRECT,
            "A time is not H:MM:SS / HH:MM:SS (hours may pass 24 for trips after midnight).",
        ),
        RowRule(
            "UNKNOWN_STOP",
            "NOT _stop_known",
            C.CORRECT,
            "stop_id is not a valid stop of the same feed version (referential integrity).",
        ),
        RowRule(
            "STOP_SEQUENCE_NOT_INCREASING",
            "_trip_sequence_broken",
            C.CORRECT,
            "In this trip stop_sequence does not increase line after line (gaps are fine, going back is not): "
            "the trip's order of stops is unknown, so all its stop times are held back.",
        ),
    ),
    checks=_gtfs_checks(
        ("feed_version", "trip_id", "stop_sequence"),
        Check(
            "stop_sequence_increasing",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_sequence_increases", "value_set": [True]},
            "Within each trip, stop_sequence increases in file order.",
            derive=(
                (
                    "_sequence_increases",
                    "coalesce(stop_sequence > lag(stop_sequence) OVER "
                    "(PARTITION BY feed_version, trip_id ORDER BY _source_line), true)",
                ),
            ),
        ),
        Check(
            "times_not_decreasing",
            C.CORRECT,
            S.WARNING,
            "ExpectColumnValuesToBeInSet",
            {"column": "_times_in_order", "value_set": [True]},
            "Along a trip a stop is not reached before the previous stop was left.",
            derive=(
                (
                    "_times_in_order",
                    "coalesce(coalesce(arrival_seconds, departure_seconds) >= lag(coalesce(departure_seconds, "
                    "arrival_seconds)) OVER (PARTITION BY feed_version, trip_id ORDER BY stop_sequence), true)",
                ),
            ),
        ),
        Check(
            "times_within_two_days",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "departure_seconds", "min_value": 0, "max_value": 48 * 3600},
            "Times lie between 00:00:00 and 48:00:00 of the service day (past 24:00 is allowed).",
        ),
    ),
)

GTFS_TRIP = Dataset(
    name="gtfs_trip",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Chuyến xe (GTFS trips.txt)",
    title_en="Trips (GTFS trips.txt)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        _feed_version_field(),
        Field("trip_id", "STRING", "Mã chuyến", "Trip id", nullable=False),
        Field("route_id", "STRING", "Mã tuyến", "Route id", nullable=False),
        Field("service_id", "STRING", "Mã lịch chạy", "Service (calendar) id", nullable=False),
        Field("trip_headsign", "STRING", "Biển hiển thị", "Headsign"),
        Field("direction_id", "INT", "Chiều (0 đi, 1 về)", "Direction (0 out, 1 back)"),
    ),
    natural_key=("feed_version", "trip_id"),
    transform="jobs.transport.transforms:gtfs_trip_to_silver",
    source=_gtfs_source("trips.txt", ("route_id", "service_id", "trip_id", "trip_headsign", "direction_id")),
    inputs=("gtfs_route", "gtfs_stop_time"),
    row_rules=(
        _malformed(),
        _missing("trip_id IS NULL OR route_id IS NULL OR service_id IS NULL", "trip_id, route_id, service_id"),
        RowRule("UNKNOWN_ROUTE", "NOT _route_known", C.CORRECT, "route_id is not a route of the same feed version."),
        RowRule(
            "TRIP_WITHOUT_STOP_TIMES",
            "NOT _has_stop_times",
            C.COMPLETE,
            "The trip has no valid stop times in its feed version (none given, or all held back).",
        ),
    ),
    checks=_gtfs_checks(("feed_version", "trip_id")),
)

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

GTFS_CALENDAR = Dataset(
    name="gtfs_calendar",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Lịch chạy theo thứ (GTFS calendar.txt)",
    title_en="Weekly service calendar (GTFS calendar.txt)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        _feed_version_field(),
        Field("service_id", "STRING", "Mã lịch chạy", "Service id", nullable=False),
        *(Field(d, "BOOLEAN", f"Chạy vào {d}", f"Runs on {d}s", nullable=False) for d in _DAYS),
        Field("start_date", "DATE", "Từ ngày", "First day", nullable=False),
        Field("end_date", "DATE", "Đến ngày", "Last day", nullable=False),
    ),
    natural_key=("feed_version", "service_id"),
    transform="jobs.transport.transforms:gtfs_calendar_to_silver",
    source=_gtfs_source("calendar.txt", ("service_id", *_DAYS, "start_date", "end_date")),
    row_rules=(
        _malformed(),
        _missing("service_id IS NULL", "service_id"),
        RowRule(
            "INVALID_CALENDAR",
            " OR ".join(f"{d} IS NULL" for d in _DAYS) + " OR start_date IS NULL OR end_date IS NULL "
            "OR end_date < start_date",
            C.CORRECT,
            "Day flags must be 0/1 and dates YYYYMMDD with start_date ≤ end_date.",
        ),
    ),
    checks=_gtfs_checks(("feed_version", "service_id")),
)

GTFS_CALENDAR_DATE = Dataset(
    name="gtfs_calendar_date",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Ngày chạy bổ sung / ngừng chạy (GTFS calendar_dates.txt)",
    title_en="Service exceptions (GTFS calendar_dates.txt)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        _feed_version_field(),
        Field("service_id", "STRING", "Mã lịch chạy", "Service id", nullable=False),
        Field("date", "DATE", "Ngày", "Day", nullable=False),
        Field(
            "exception_type",
            "INT",
            "1 thêm ngày chạy, 2 ngừng chạy",
            "1 service added, 2 service removed",
            nullable=False,
        ),
    ),
    natural_key=("feed_version", "service_id", "date"),
    transform="jobs.transport.transforms:gtfs_calendar_date_to_silver",
    source=_gtfs_source("calendar_dates.txt", ("service_id", "date", "exception_type")),
    row_rules=(
        _malformed(),
        _missing("service_id IS NULL", "service_id"),
        RowRule(
            "INVALID_EXCEPTION",
            "date IS NULL OR exception_type IS NULL OR exception_type NOT IN (1, 2)",
            C.CORRECT,
            "date must be YYYYMMDD and exception_type 1 (added) or 2 (removed).",
        ),
    ),
    checks=_gtfs_checks(("feed_version", "service_id", "date")),
)

# ------------------------------------------------------------------------------- vehicle positions

VEHICLE_POSITION_COLUMNS = (
    "plate",
    "driver_id",
    "lat",
    "lon",
    "speed",
    "speed_unit",
    "heading",
    "recorded_at",
)
VEHICLE_TOPIC = "lakehouse/transport/vehicle_position"
VEHICLE_SLA_HOURS = 3
SPEED_UNITS = {"km/h": 1.0, "kmh": 1.0, "kph": 1.0, "km/giờ": 1.0, "m/s": 3.6, "mps": 3.6}
"""Speed unit spellings (lower case, no spaces) → factor to km/h, the canonical unit."""

VEHICLE_POSITION = Dataset(
    name="vehicle_position",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Vị trí xe kinh doanh vận tải (thiết bị giám sát hành trình)",
    title_en="Commercial-vehicle GPS positions (journey-monitoring devices)",
    owner=OWNER,
    # A position tied to a (pseudonymous) vehicle and driver is location data: sensitive under Law 91/2025.
    classification=Classification.SENSITIVE,
    fields=(
        Field(
            "vehicle_id",
            "STRING",
            "Mã giả danh phương tiện (HMAC biển số chuẩn hóa)",
            "Vehicle pseudonym (keyed HMAC-SHA256 of the canonical plate)",
            nullable=False,
            classification=Classification.PERSONAL,
            pseudonym_of="plate",
        ),
        Field(
            "driver_key",
            "STRING",
            "Mã giả danh lái xe (HMAC số GPLX)",
            "Driver pseudonym (keyed HMAC-SHA256 of the licence number)",
            classification=Classification.PERSONAL,
            pseudonym_of="driver_id",
        ),
        Field("recorded_at", "TIMESTAMP", "Thời điểm ghi (UTC)", "Fix time (UTC)", nullable=False),
        Field("source_utc_offset", "STRING", "Độ lệch múi giờ của thiết bị", "UTC offset the device reported"),
        Field(
            "measured_date",
            "DATE",
            "Ngày ghi (giờ Việt Nam)",
            "Fix day (Vietnam local time)",
            nullable=False,
        ),
        Field(
            "latitude", "DOUBLE", "Vĩ độ", "Latitude", unit="°", nullable=False, classification=Classification.SENSITIVE
        ),
        Field(
            "longitude",
            "DOUBLE",
            "Kinh độ",
            "Longitude",
            unit="°",
            nullable=False,
            classification=Classification.SENSITIVE,
        ),
        Field("speed_kmh", "DOUBLE", "Tốc độ", "Speed", unit="km/h"),
        Field("heading", "DOUBLE", "Hướng (độ, 0 = Bắc)", "Heading (degrees, 0 = north)", unit="°"),
        Field(
            "province_code", "STRING", "Mã tỉnh 2025 (theo tọa độ)", "2025 province (from the position)", nullable=False
        ),
    ),
    natural_key=("vehicle_id", "recorded_at"),
    transform="jobs.transport.transforms:vehicle_positions_to_silver",
    freshness_sla=timedelta(hours=VEHICLE_SLA_HOURS),
    event_time="recorded_at",
    # Named like the readings' day column: the gate's liveness frame prunes silver by `measured_date`.
    partition_by=("measured_date",),
    source=Source(
        "transport/vehicle_positions/positions_{date:%Y%m%d}.jsonl",
        VEHICLE_POSITION_COLUMNS,
        format="jsonl",
        channel=Channel.MQTT,
        options={"topic": VEHICLE_TOPIC, "event_time": "recorded_at"},
    ),
    entity_column="vehicle_id",
    personal=PersonalData(
        "vehicle_position_identity", {"plate": PersonalKind.IDENTIFIER, "driver_id": PersonalKind.IDENTIFIER}
    ),
    row_rules=(
        RowRule("MALFORMED_LINE", "_parse_error IS NOT NULL", C.CORRECT, "Line is not a JSON object."),
        RowRule(
            "INVALID_PLATE",
            "NOT _plate_valid",
            C.CORRECT,
            "Plate missing or not a Vietnamese plate (2 digits, series letters, 4–5 digits) once separators go.",
        ),
        RowRule("INVALID_TIMESTAMP", "recorded_at IS NULL", C.CORRECT, "recorded_at is not ISO 8601 with an offset."),
        RowRule(
            "INVALID_POSITION",
            "latitude IS NULL OR longitude IS NULL OR (latitude = 0 AND longitude = 0)",
            C.CORRECT,
            "No GPS fix: coordinates missing or (0,0).",
        ),
        RowRule("OUTSIDE_VIETNAM", f"NOT ({LAT_LON_VN})", C.CORRECT, f"Position outside {_VN_BOX}."),
        RowRule(
            "UNMAPPABLE_PROVINCE",
            "province_code IS NULL",
            C.CORRECT,
            "No 2025 ward centre within 40 km of the position.",
        ),
        RowRule(
            "UNKNOWN_UNIT",
            "speed_kmh IS NULL AND _speed_raw IS NOT NULL",
            C.CLEAN,
            "speed is not a number in km/h or m/s.",
        ),
        RowRule(
            "OUT_OF_PHYSICAL_RANGE",
            f"speed_kmh < 0 OR speed_kmh > {MAX_SPEED_KMH} OR heading < 0 OR heading > 360",
            C.CORRECT,
            f"Speed outside 0–{MAX_SPEED_KMH:.0f} km/h or heading outside 0–360°.",
        ),
        RowRule(
            "IMPOSSIBLE_JUMP",
            "_jump",
            C.CORRECT,
            f"The fix implies more than {MAX_SPEED_KMH:.0f} km/h both from the vehicle's previous fix and to its "
            "next one: a GPS glitch, not a journey.",
        ),
        RowRule(
            "FUTURE_TIMESTAMP",
            "recorded_at >= _interval_end",
            C.CORRECT,
            "Recorded after the end of the data interval: the device clock is wrong.",
        ),
    ),
    checks=(
        not_empty("The interval delivered at least one valid position."),
        *in_vietnam(),
        province_codes_2025(),
        Check(
            "speed_physically_possible",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "speed_kmh", "min_value": 0, "max_value": MAX_SPEED_KMH},
            f"Speeds lie in 0–{MAX_SPEED_KMH:.0f} km/h.",
        ),
        Check(
            "measured_date_matches_time",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_date_matches_time", "value_set": [True]},
            "measured_date is the Vietnam-local day of recorded_at (cross-field).",
            derive=(
                (
                    "_date_matches_time",
                    "coalesce(measured_date = to_date(from_utc_timestamp(recorded_at, 'Asia/Ho_Chi_Minh')), false)",
                ),
            ),
        ),
        Check(
            "not_after_interval",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "_hours_before_interval_end", "min_value": 0, "strict_min": True},
            "No position is dated at or after the end of the data interval.",
        ),
        unique_key(["vehicle_id", "recorded_at"], "One position per vehicle and instant (duplicate pings removed)."),
        Check(
            "canonical_plate_pseudonym",
            C.CLEAN,
            S.CRITICAL,
            "ExpectColumnValuesToMatchRegex",
            {"column": "vehicle_id", "regex": "^[0-9a-f]{64}$"},
            "Vehicles are keyed by the HMAC of the canonical plate (one form, whatever the device wrote).",
        ),
        Check(
            "canonical_speed_unit",
            C.CLEAN,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "speed_kmh", "min_value": 0},
            "Speeds are stored in km/h (m/s readings converted).",
        ),
        *line_checks(),
        Check(
            "fresh_within_sla",
            C.LIVE,
            S.WARNING,
            "ExpectColumnMinToBeBetween",
            {"column": "_hours_before_interval_end", "max_value": VEHICLE_SLA_HOURS},
            f"Newest position is at most {VEHICLE_SLA_HOURS} h older than the end of the data interval.",
        ),
        Check(
            "vehicles_heard_within_sla",
            C.LIVE,
            S.WARNING,
            "ExpectColumnValuesToBeBetween",
            {"column": "_hours_silent", "max_value": VEHICLE_SLA_HOURS},
            f"Every vehicle active in the last 30 days sent a position within {VEHICLE_SLA_HOURS} h of the "
            "interval end (each vehicle's last fix is judged, so a silent one is counted, not averaged away).",
            frame="entity",
        ),
    ),
)

# ------------------------------------------------------------------------------------------- gold

ROUTE_SERVICE_DAILY = Dataset(
    name="route_service_daily",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Số chuyến và giờ phục vụ theo tuyến và ngày",
    title_en="Scheduled trips and service hours per route and service day",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("service_date", "DATE", "Ngày phục vụ", "Service day", nullable=False),
        Field("route_id", "STRING", "Mã tuyến", "Route id", nullable=False),
        Field("feed_version", "STRING", "Phiên bản GTFS áp dụng", "GTFS feed version used", nullable=False),
        Field("route_short_name", "STRING", "Số hiệu tuyến", "Route number"),
        Field("route_long_name", "STRING", "Tên tuyến", "Route name"),
        Field("trips", "INT", "Số chuyến theo lịch", "Scheduled trips"),
        Field(
            "service_hours",
            "DOUBLE",
            "Giờ xe chạy theo lịch (tổng thời gian các chuyến)",
            "Scheduled vehicle-hours (sum of trip durations)",
            unit="h",
        ),
        Field("first_departure", "STRING", "Chuyến sớm nhất (HH:MM:SS)", "First departure (HH:MM:SS)"),
        Field("last_arrival", "STRING", "Chuyến muộn nhất đến (có thể quá 24:00)", "Last arrival (may pass 24:00)"),
    ),
    natural_key=("service_date", "route_id"),
    transform="jobs.transport.transforms:route_service_daily",
    inputs=("gtfs_route", "gtfs_trip", "gtfs_stop_time", "gtfs_calendar", "gtfs_calendar_date"),
    replace_key="service_date",
)

STOPS_BY_PROVINCE = Dataset(
    name="stops_by_province",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Số điểm dừng theo tỉnh",
    title_en="Stops per province",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("feed_version", "STRING", "Phiên bản GTFS", "GTFS feed version", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("province_name", "STRING", "Tên tỉnh", "Province name"),
        Field("stops", "INT", "Số điểm dừng", "Stops"),
        Field("routes", "INT", "Số tuyến dừng tại tỉnh", "Routes calling in the province"),
    ),
    natural_key=("feed_version", "province_code"),
    transform="jobs.transport.transforms:stops_by_province",
    inputs=("gtfs_stop", "gtfs_stop_time", "gtfs_trip"),
    replace_key=None,  # small: rewritten whole, every feed version
)

VEHICLE_ACTIVITY_HOURLY = Dataset(
    name="vehicle_activity_hourly",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Hoạt động xe kinh doanh vận tải theo tỉnh và giờ",
    title_en="Commercial-vehicle activity per province and hour",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("date", "DATE", "Ngày (giờ Việt Nam)", "Day (Vietnam local)", nullable=False),
        Field("hour", "INT", "Giờ (0–23, giờ Việt Nam)", "Hour (0–23, local)", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("active_vehicles", "INT", "Số xe hoạt động", "Vehicles with a position"),
        Field("pings", "LONG", "Số bản tin vị trí", "Positions received"),
        Field("mean_speed_kmh", "DOUBLE", "Tốc độ trung bình", "Mean speed", unit="km/h"),
    ),
    natural_key=("date", "hour", "province_code"),
    transform="jobs.transport.transforms:vehicle_activity_hourly",
    inputs=("vehicle_position",),
    replace_key="date",
)

DATASETS = (
    GTFS_STOP,
    GTFS_ROUTE,
    GTFS_CALENDAR,
    GTFS_CALENDAR_DATE,
    GTFS_STOP_TIME,
    GTFS_TRIP,
    VEHICLE_POSITION,
    ROUTE_SERVICE_DAILY,
    STOPS_BY_PROVINCE,
    VEHICLE_ACTIVITY_HOURLY,
)
