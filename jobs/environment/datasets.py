"""Registry entries of the environment IoT sector (air quality and industrial wastewater).

Owner: Bộ Nông nghiệp và Môi trường. Readings follow QCVN 05:2023 (air, µg/Nm³) and Circular
10/2021 (continuous wastewater monitoring: value, unit, time, device status).
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

SECTOR = "environment"
OWNER = Ministry.AGRICULTURE_ENVIRONMENT
C, S = Criterion, Severity

AIR_QUALITY_TOPIC = "lakehouse/environment/air_quality"
"""Stations publish on ``<topic>/<station_id>``; the day's manifest is retained on ``<topic>/_manifest/<date>``."""
AIR_READING_COLUMNS = (
    "station_id",
    "station_name",
    "province_code",
    "parameter",
    "value",
    "unit",
    "measured_at",
    "device_status",
)
WASTEWATER_READING_COLUMNS = (
    "facility_id",
    "station_id",
    "parameter",
    "value",
    "unit",
    "measured_at",
    "device_status",
)


def _reading_time_fields() -> tuple[Field, ...]:
    return (
        Field("measured_at", "TIMESTAMP", "Thời điểm đo (UTC)", "Measurement time (UTC)", nullable=False),
        Field("source_utc_offset", "STRING", "Độ lệch múi giờ của nguồn", "UTC offset the source reported"),
        Field(
            "measured_date", "DATE", "Ngày đo (giờ Việt Nam)", "Measurement day (Vietnam local time)", nullable=False
        ),
    )


def _parse_rules(entity: str) -> tuple[RowRule, ...]:
    """Rules every reading dataset shares: format, reference, device status, physics."""
    return (
        RowRule(
            "MALFORMED_LINE",
            "_parse_error IS NOT NULL",
            C.CORRECT,
            "Line cannot be parsed as a CSV record with the declared columns.",
        ),
        RowRule(
            "UNKNOWN_STATION",
            "NOT _entity_known",
            C.CORRECT,
            f"The {entity} id is not in the reference data (referential integrity).",
        ),
        RowRule(
            "INVALID_TIMESTAMP",
            "measured_at IS NULL",
            C.CORRECT,
            "measured_at is not ISO 8601 with offset nor dd/mm/yyyy HH:mm local time.",
        ),
        RowRule("INVALID_NUMBER", "value IS NULL", C.CORRECT, "value is missing or not a number."),
        RowRule("UNKNOWN_PARAMETER", "parameter IS NULL", C.CORRECT, "parameter is not a monitored parameter."),
        RowRule("UNKNOWN_UNIT", "unit IS NULL", C.CLEAN, "unit cannot be converted to the canonical unit."),
        RowRule(
            "DEVICE_NOT_MEASURING",
            "device_status <> 'measuring'",
            C.CORRECT,
            "Device was calibrating or in error: not a valid measurement (Circular 10/2021).",
            acceptable=True,  # the operator's log may show the status flag was wrong
        ),
        RowRule("NEGATIVE_VALUE", "value < 0", C.CORRECT, "Concentrations and physical quantities cannot be negative."),
        RowRule(
            "OUT_OF_PHYSICAL_RANGE",
            "value < _physical_min OR value > _physical_max",
            C.CORRECT,
            "Value outside what the parameter can physically take (e.g. pH 15).",
        ),
        RowRule(
            "FUTURE_TIMESTAMP",
            "measured_at >= _interval_end",
            C.CORRECT,
            "Measured after the end of the data interval: the station clock is wrong.",
        ),
    )


def _physical_sql(ranges: dict[str, tuple[float, float]]) -> str:
    """Spark SQL: the value lies in its parameter's physically possible range (unknown parameter: false)."""
    cases = " ".join(f"WHEN '{p}' THEN value BETWEEN {lo!r} AND {hi!r}" for p, (lo, hi) in ranges.items())
    return f"CASE parameter {cases} ELSE false END"


def _reading_checks(
    entity_col: str,
    natural_key: tuple[str, ...],
    parameter_units: dict[str, str],
    ranges: dict[str, tuple[float, float]],
    sla_hours: int,
) -> tuple[Check, ...]:
    """Gate checks shared by reading datasets; each one becomes a GX expectation."""
    return (
        # đủ
        not_empty("The batch delivered at least one valid reading."),
        Check(
            "hourly_coverage",
            C.COMPLETE,
            S.WARNING,
            "ExpectColumnValuesToBeInSet",
            {"column": "_reported", "value_set": [True]},
            f"Every active {entity_col} (reference list) reports in every hour of the data interval.",
            frame="entity",
        ),
        # đúng
        Check(
            "allowed_parameters",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "parameter", "value_set": list(parameter_units)},
            "Only monitored parameters reach silver.",
        ),
        Check(
            "non_negative_values",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "value", "min_value": 0},
            "No negative value reaches silver.",
        ),
        Check(
            "physically_possible",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_physically_possible", "value_set": [True]},
            "Every value lies in what its parameter can physically take (e.g. pH 0–14).",
            derive=(("_physically_possible", _physical_sql(ranges)),),
        ),
        province_codes_2025(),
        Check(
            "province_matches_entity",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_province_matches_entity", "value_set": [True]},
            f"The reading's province is its {entity_col}'s province in the reference list (cross-field).",
            derive=(("_province_matches_entity", "coalesce(province_code = _entity_province, false)"),),
        ),
        Check(
            "measured_date_matches_time",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_date_matches_time", "value_set": [True]},
            "measured_date is the Vietnam-local day of measured_at (cross-field).",
            derive=(
                (
                    "_date_matches_time",
                    "coalesce(measured_date = to_date(from_utc_timestamp(measured_at, 'Asia/Ho_Chi_Minh')), false)",
                ),
            ),
        ),
        Check(
            "not_after_interval",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "_hours_before_interval_end", "min_value": 0, "strict_min": True},
            "No reading is dated at or after the end of the data interval.",
        ),
        # sạch
        unique_key(natural_key, "One reading per natural key."),
        Check(
            "canonical_units",
            C.CLEAN,
            S.CRITICAL,
            "ExpectColumnPairValuesToBeInSet",
            {"column_A": "parameter", "column_B": "unit", "value_pairs_set": sorted(parameter_units.items())},
            "Each parameter is in its canonical unit (values are comparable across stations).",
        ),
        *line_checks(),
        # sống
        Check(
            "fresh_within_sla",
            C.LIVE,
            S.WARNING,
            "ExpectColumnMinToBeBetween",
            {"column": "_hours_before_interval_end", "max_value": sla_hours},
            f"Newest reading is at most {sla_hours} h older than the end of the data interval "
            "(judged against the interval, not the clock, so backfills are fair).",
        ),
        Check(
            "entities_heard_within_sla",
            C.LIVE,
            S.WARNING,
            "ExpectColumnValuesToBeBetween",
            {"column": "_hours_silent", "max_value": sla_hours},
            f"Every active {entity_col} sent a reading within {sla_hours} h of the interval end "
            "(silent ones are named).",
            frame="entity",
        ),
    )


def _reference_checks(key: str, text: tuple[str, ...], *extra: Check) -> tuple[Check, ...]:
    """Gate checks every reference list shares: not empty, one row per id, clean names, 2025 provinces.

    Required (non-nullable) fields get a not-null check each, generated from the fields by the suites."""
    return (
        not_empty("The reference list is not empty."),
        unique_key((key,), f"{key} values are unique."),
        *text_checks(text),
        province_codes_2025(),
        *extra,
        *line_checks(),
    )


AIR_PARAMETERS = ["PM2.5", "PM10", "NO2", "SO2", "CO", "O3", "TSP"]
WASTEWATER_PARAMETERS = ["pH", "COD", "BOD5", "TSS", "NH4_N", "TN", "TP", "coliform", "temperature", "flow"]
AIR_UNIT = "µg/Nm³"  # QCVN 05:2023; micro sign U+00B5, superscript three U+00B3

# Which canonical unit each wastewater parameter must end in (a pH in mg/L is not convertible).
WASTEWATER_PARAMETER_UNIT = {
    "pH": "pH",
    "COD": "mg/L",
    "BOD5": "mg/L",
    "TSS": "mg/L",
    "NH4_N": "mg/L",
    "TN": "mg/L",
    "TP": "mg/L",
    "coliform": "MPN/100 mL",
    "temperature": "°C",
    "flow": "m³/h",
}

# What each parameter can physically take (beyond: a broken sensor, not pollution). Used by the
# silver row rule OUT_OF_PHYSICAL_RANGE (via the transforms) and by the gate's physically_possible.
AIR_PHYSICAL_RANGE = {
    "PM2.5": (0.0, 2000.0),
    "PM10": (0.0, 3000.0),
    "NO2": (0.0, 5000.0),
    "SO2": (0.0, 5000.0),
    "CO": (0.0, 200000.0),
    "O3": (0.0, 2000.0),
    "TSP": (0.0, 5000.0),
}
WASTEWATER_PHYSICAL_RANGE = {
    "pH": (0.0, 14.0),
    "COD": (0.0, 50000.0),
    "BOD5": (0.0, 50000.0),
    "TSS": (0.0, 100000.0),
    "NH4_N": (0.0, 10000.0),
    "TN": (0.0, 10000.0),
    "TP": (0.0, 5000.0),
    "coliform": (0.0, 1e9),
    "temperature": (0.0, 100.0),
    "flow": (0.0, 1e6),
}

READING_KEY = ("station_id", "parameter", "measured_at")
# Stations and facility monitors report each hour (the sample sources' cadence; a station with a
# shorter cycle gets its own interval here): silence longer than this is a 'silent' alert.
READING_INTERVAL = timedelta(hours=1)
# What a quarantined reading keeps typed beside its raw line: where and when a device reported a
# status other than measuring (the device-error alerts, jobs/environment/alerts.py).
DEVICE_RECORD = ("station_id", "parameter", "measured_at", "value", "device_status")
# An alert episode is followed this many days either side of the day it opened (jobs/environment/alerts.py).
ALERT_WINDOW_DAYS = 7
_LAT_LON_VN = "latitude BETWEEN 8.0 AND 23.5 AND longitude BETWEEN 102.0 AND 117.5"

AIR_STATION = Dataset(
    name="air_station",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Danh mục trạm quan trắc không khí",
    title_en="Air-quality monitoring stations",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("station_id", "STRING", "Mã trạm", "Station id", nullable=False),
        Field("station_name", "STRING", "Tên trạm (NFC)", "Station name (NFC)"),
        Field("province_code", "STRING", "Mã tỉnh (2025, 34 tỉnh)", "Province code (2025, 34 units)", nullable=False),
        Field("latitude", "DOUBLE", "Vĩ độ", "Latitude", unit="°"),
        Field("longitude", "DOUBLE", "Kinh độ", "Longitude", unit="°"),
        Field("active_since", "DATE", "Hoạt động từ ngày", "Active since"),
    ),
    natural_key=("station_id",),
    transform="jobs.environment.transforms:air_station_to_silver",
    source=Source(
        "environment/reference/air_stations.csv",
        ("station_id", "station_name", "province_code", "latitude", "longitude", "active_since"),
        snapshot=True,
    ),
    row_rules=(
        RowRule("MALFORMED_LINE", "_parse_error IS NOT NULL", C.CORRECT, "Line cannot be parsed."),
        undecidable_text_rule(),
        RowRule(
            "UNMAPPABLE_PROVINCE", "province_code IS NULL", C.CORRECT, "Province code is not a 2025 or legacy code."
        ),
        RowRule("OUT_OF_PHYSICAL_RANGE", f"NOT ({_LAT_LON_VN})", C.CORRECT, "Coordinates outside Vietnam."),
    ),
    checks=_reference_checks("station_id", ("station_name",), *in_vietnam()),
)

WASTEWATER_FACILITY = Dataset(
    name="wastewater_facility",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Danh mục cơ sở xả thải (khu công nghiệp)",
    title_en="Industrial wastewater facilities",
    owner=OWNER,
    # PERSONAL: it carries the environmental officer's pseudonym (contact_id), so only the owner reads it.
    classification=Classification.PERSONAL,
    fields=(
        Field("facility_id", "STRING", "Mã cơ sở", "Facility id", nullable=False),
        Field("facility_name", "STRING", "Tên cơ sở (NFC)", "Facility name (NFC)"),
        Field("industrial_park", "STRING", "Khu công nghiệp", "Industrial park"),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("qcvn_column", "STRING", "Cột áp dụng QCVN 40 (A/B)", "QCVN 40 column (A/B)"),
        Field("kq", "DOUBLE", "Hệ số Kq (nguồn tiếp nhận)", "Kq factor (receiving water)"),
        Field("kf", "DOUBLE", "Hệ số Kf (lưu lượng)", "Kf factor (flow)"),
        Field(
            "contact_id",
            "STRING",
            "Mã giả danh cán bộ phụ trách môi trường (HMAC số điện thoại)",
            "Environmental officer's pseudonym (keyed HMAC-SHA256 of the E.164 phone)",
            classification=Classification.PERSONAL,
            pseudonym_of="contact_phone",
        ),
    ),
    natural_key=("facility_id",),
    transform="jobs.environment.transforms:wastewater_facility_to_silver",
    source=Source(
        "environment/reference/wastewater_facilities.csv",
        (
            "facility_id",
            "facility_name",
            "industrial_park",
            "province_code",
            "qcvn_column",
            "kq",
            "kf",
            "contact_name",
            "contact_phone",
        ),
        snapshot=True,
    ),
    # The officer in charge (Circular 10/2021): raw values only in restricted/environment/wastewater_facility_contact.
    personal=PersonalData(
        "wastewater_facility_contact", {"contact_name": PersonalKind.NAME, "contact_phone": PersonalKind.PHONE}
    ),
    row_rules=(
        RowRule("MALFORMED_LINE", "_parse_error IS NOT NULL", C.CORRECT, "Line cannot be parsed."),
        undecidable_text_rule(),
        RowRule(
            "UNMAPPABLE_PROVINCE", "province_code IS NULL", C.CORRECT, "Province code is not a 2025 or legacy code."
        ),
        RowRule(
            "INVALID_QCVN_COLUMN",
            "qcvn_column NOT IN ('A', 'B') OR kq IS NULL OR kf IS NULL",
            C.CORRECT,
            "QCVN 40 column must be A or B with numeric Kq and Kf.",
        ),
    ),
    checks=_reference_checks(
        "facility_id",
        ("facility_name", "industrial_park"),
        Check(
            "qcvn40_column_known",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "qcvn_column", "value_set": ["A", "B"]},
            "The QCVN 40 column is A or B.",
        ),
        Check(
            "kq_in_qcvn40_range",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "kq", "min_value": 0.6, "max_value": 1.3},
            "Kq (receiving water factor) is one QCVN 40 allows (0.6–1.3).",
        ),
        Check(
            "kf_in_qcvn40_range",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "kf", "min_value": 0.9, "max_value": 1.2},
            "Kf (discharge flow factor) is one QCVN 40 allows (0.9–1.2).",
        ),
    ),
)

AIR_QUALITY_READING = Dataset(
    name="air_quality_reading",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Số liệu quan trắc không khí tự động (theo giờ)",
    title_en="Hourly ambient air-quality readings",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("station_id", "STRING", "Mã trạm", "Station id", nullable=False),
        Field(
            "station_name", "STRING", "Tên trạm (NFC, đã sửa mã cũ)", "Station name (NFC, legacy encodings repaired)"
        ),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("parameter", "STRING", "Thông số (QCVN 05:2023)", "Parameter (QCVN 05:2023)", nullable=False),
        Field("value", "DOUBLE", "Nồng độ", "Concentration", unit="µg/Nm³", nullable=False),
        Field("unit", "STRING", "Đơn vị chuẩn", "Canonical unit", nullable=False),
        *_reading_time_fields(),
        Field("device_status", "STRING", "Trạng thái thiết bị", "Device status"),
    ),
    natural_key=READING_KEY,
    transform="jobs.environment.transforms:air_readings_to_silver",
    freshness_sla=timedelta(hours=2),
    event_time="measured_at",
    partition_by=("measured_date",),
    # Stations publish each reading live to MQTT (sample_sources/servers/mqtt_publisher.py); the
    # lander batches them by send time (jobs/extract/mqtt.py). The CSV is the local-drop replay.
    source=Source(
        "environment/air_quality/readings_{date:%Y%m%d}.csv",
        AIR_READING_COLUMNS,
        format="jsonl",
        channel=Channel.MQTT,
        options={"topic": AIR_QUALITY_TOPIC, "require_manifest": True},
    ),
    inputs=("air_station",),
    entity_column="station_id",
    reading_interval=READING_INTERVAL,
    quarantine_record=DEVICE_RECORD,
    row_rules=(
        *_parse_rules("station"),
        undecidable_text_rule(),
        RowRule(
            "UNMAPPABLE_PROVINCE",
            "province_code IS NULL",
            C.CORRECT,
            "Province code is neither a 2025 code nor a legacy code mappable at the reading's date.",
        ),
        RowRule(
            "PROVINCE_MISMATCH",
            "province_code <> _entity_province",
            C.CORRECT,
            "Province of the reading differs from the station's province in the reference data.",
            acceptable=True,  # a relocated station: the reading's own province may be right
        ),
    ),
    checks=(
        *_reading_checks(
            "station_id", READING_KEY, dict.fromkeys(AIR_PARAMETERS, AIR_UNIT), AIR_PHYSICAL_RANGE, sla_hours=2
        ),
        *text_checks(("station_name",)),
    ),
)

WASTEWATER_READING = Dataset(
    name="wastewater_reading",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Số liệu quan trắc nước thải tự động",
    title_en="Continuous industrial wastewater readings",
    owner=OWNER,
    classification=Classification.INTERNAL,
    # The health ministry watches discharges near water intakes (drinking-water safety).
    grants=(Ministry.HEALTH,),
    fields=(
        Field("facility_id", "STRING", "Mã cơ sở", "Facility id", nullable=False),
        Field("station_id", "STRING", "Mã trạm quan trắc", "Monitoring station id", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh (2025, theo cơ sở)", "Province code (2025, from the facility)"),
        Field("parameter", "STRING", "Thông số", "Parameter", nullable=False),
        Field("value", "DOUBLE", "Giá trị", "Value", nullable=False),
        Field("unit", "STRING", "Đơn vị chuẩn", "Canonical unit", nullable=False),
        *_reading_time_fields(),
        Field("device_status", "STRING", "Trạng thái thiết bị", "Device status"),
    ),
    natural_key=READING_KEY,
    transform="jobs.environment.transforms:wastewater_readings_to_silver",
    freshness_sla=timedelta(hours=2),
    event_time="measured_at",
    partition_by=("measured_date",),
    # Stations push one file per transmission (facility station × hour) to the FTP server, Circular
    # 10/2021 practice (sample_sources/environment/transmissions.py); jobs/extract/ftp.py collects the
    # day's directory. The daily CSV is the local-drop replay.
    source=Source(
        "environment/wastewater/readings_{date:%Y%m%d}.csv",
        WASTEWATER_READING_COLUMNS,
        channel=Channel.FTP,
        options={"directory": "/environment/wastewater/{date:%Y-%m-%d}"},
    ),
    inputs=("wastewater_facility",),
    entity_column="facility_id",
    reading_interval=READING_INTERVAL,
    quarantine_record=("facility_id", *DEVICE_RECORD),
    row_rules=_parse_rules("facility"),
    checks=_reading_checks(
        "facility_id", READING_KEY, WASTEWATER_PARAMETER_UNIT, WASTEWATER_PHYSICAL_RANGE, sla_hours=2
    ),
)

_UG = "µg/Nm³"
# VN_AQI parameter -> the prefix of its gold columns (``pm25_1h``, ``aqi_pm25`` …), in column order;
# the gold transforms read it too (this module stays free of Spark for DAG parsing).
AQI_COLUMN_PREFIX = {"PM2.5": "pm25", "PM10": "pm10", "O3": "o3", "CO": "co", "SO2": "so2", "NO2": "no2"}


def _aqi_result_fields(period_vi: str, period_en: str) -> tuple[Field, ...]:
    """The sub-indices, the index and its band, colour and advice (Decision 1459, Bảng 1, 4, 5)."""
    return (
        *[Field(f"aqi_{c}", "DOUBLE", f"Chỉ số phụ {p}", f"{p} sub-index") for p, c in AQI_COLUMN_PREFIX.items()],
        Field("vn_aqi", "INT", f"VN_AQI {period_vi}", f"{period_en} VN_AQI"),
        Field("dominant_parameter", "STRING", "Thông số quyết định", "Parameter with the largest sub-index"),
        Field("band", "STRING", "Mức chất lượng", "Quality band (Decision 1459, Bảng 1)"),
        Field("colour", "STRING", "Màu (RGB)", "Band colour (Decision 1459, Bảng 1)"),
        Field("health_effect", "STRING", "Ảnh hưởng tới sức khỏe", "Health effect (Decision 1459, Bảng 4)"),
        Field("advice_general", "STRING", "Khuyến nghị: người bình thường", "Advice, general public (Bảng 5)"),
        Field("advice_sensitive", "STRING", "Khuyến nghị: nhóm nhạy cảm", "Advice, sensitive groups (Bảng 5)"),
    )


AQI_HOURLY = Dataset(
    name="aqi_hourly",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Chỉ số VN_AQI giờ theo trạm",
    title_en="Hourly VN_AQI per station",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("station_id", "STRING", "Mã trạm", "Station id", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)"),
        Field("date", "DATE", "Ngày", "Day (Vietnam local)", nullable=False),
        Field("hour", "INT", "Giờ (bắt đầu, giờ Việt Nam)", "Hour (beginning, Vietnam local)", nullable=False),
        Field("hour_start", "TIMESTAMP", "Bắt đầu giờ (UTC)", "Hour start (UTC)", nullable=False),
        *[
            Field(f"{c}_1h", "DOUBLE", f"{p} trung bình 1 giờ", f"{p} 1-hour mean", unit=_UG)
            for p, c in AQI_COLUMN_PREFIX.items()
        ],
        Field("pm25_nowcast", "DOUBLE", "PM2.5 Nowcast", "PM2.5 NowCast (12 h)", unit=_UG),
        Field("pm10_nowcast", "DOUBLE", "PM10 Nowcast", "PM10 NowCast (12 h)", unit=_UG),
        Field("o3_8h", "DOUBLE", "O3 trung bình 8 giờ", "O3 8-hour mean ending at the hour", unit=_UG),
        *_aqi_result_fields("giờ", "Hourly"),
        Field("no_index_reason", "STRING", "Lý do không có chỉ số", "Why the hour has no VN_AQI"),
    ),
    natural_key=("station_id", "hour_start"),
    transform="jobs.environment.transforms:aqi_hourly",
    inputs=("air_quality_reading",),
    replace_key="date",
    partition_by=(),
)

AQI_DAILY = Dataset(
    name="aqi_daily",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Chỉ số VN_AQI ngày theo trạm",
    title_en="Daily VN_AQI per station",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("station_id", "STRING", "Mã trạm", "Station id", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)"),
        Field("date", "DATE", "Ngày", "Day (Vietnam local)", nullable=False),
        Field("pm25_24h", "DOUBLE", "PM2.5 trung bình 24 giờ", "PM2.5 24-hour mean", unit=_UG),
        Field("pm10_24h", "DOUBLE", "PM10 trung bình 24 giờ", "PM10 24-hour mean", unit=_UG),
        Field("o3_1h_max", "DOUBLE", "O3 trung bình 1 giờ lớn nhất", "O3 largest 1-hour mean", unit=_UG),
        Field("o3_8h_max", "DOUBLE", "O3 trung bình 8 giờ lớn nhất", "O3 largest 8-hour mean", unit=_UG),
        Field("co_1h_max", "DOUBLE", "CO trung bình 1 giờ lớn nhất", "CO largest 1-hour mean", unit=_UG),
        Field("so2_1h_max", "DOUBLE", "SO2 trung bình 1 giờ lớn nhất", "SO2 largest 1-hour mean", unit=_UG),
        Field("no2_1h_max", "DOUBLE", "NO2 trung bình 1 giờ lớn nhất", "NO2 largest 1-hour mean", unit=_UG),
        *_aqi_result_fields("ngày", "Daily"),
        Field("pm25_hours", "INT", "Số giờ có số liệu PM2.5", "Hours with PM2.5 data"),
        Field("pm10_hours", "INT", "Số giờ có số liệu PM10", "Hours with PM10 data"),
        Field("no_index_reason", "STRING", "Lý do không có chỉ số", "Why the day has no VN_AQI"),
    ),
    natural_key=("station_id", "date"),
    transform="jobs.environment.transforms:aqi_daily",
    inputs=("aqi_hourly",),
    replace_key="date",
    partition_by=(),
)

AQI_PROVINCE_DAILY = Dataset(
    name="aqi_province_daily",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="VN_AQI ngày theo tỉnh",
    title_en="Daily VN_AQI per province",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("province_name", "STRING", "Tên tỉnh", "Province name"),
        Field("date", "DATE", "Ngày", "Day", nullable=False),
        Field("stations", "INT", "Số trạm có VN_AQI", "Stations with a VN_AQI"),
        Field("vn_aqi_max", "INT", "VN_AQI cao nhất", "Worst station VN_AQI"),
        Field("vn_aqi_mean", "DOUBLE", "VN_AQI trung bình", "Mean station VN_AQI"),
        Field("band", "STRING", "Mức của trạm xấu nhất", "Band of the worst station"),
        Field("worst_station_id", "STRING", "Trạm xấu nhất", "Worst station"),
    ),
    natural_key=("province_code", "date"),
    transform="jobs.environment.transforms:aqi_province_daily",
    inputs=("aqi_daily",),
    replace_key="date",
)

EXCEEDANCE = Dataset(
    name="exceedance",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Vượt quy chuẩn QCVN (không khí, nước thải)",
    title_en="QCVN limit exceedances (air, wastewater)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("medium", "STRING", "Môi trường (air/wastewater)", "Medium (air/wastewater)", nullable=False),
        Field("entity_id", "STRING", "Mã trạm", "Station id", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)"),
        Field("parameter", "STRING", "Thông số", "Parameter", nullable=False),
        Field("averaging", "STRING", "Thời gian trung bình", "Averaging period (1h/24h)", nullable=False),
        Field("period_start", "TIMESTAMP", "Bắt đầu kỳ (UTC)", "Period start (UTC)", nullable=False),
        Field("date", "DATE", "Ngày", "Day", nullable=False),
        Field("value", "DOUBLE", "Giá trị", "Value"),
        Field("limit_value", "DOUBLE", "Giới hạn", "Limit"),
        Field("limit_kind", "STRING", "Loại giới hạn (max/min)", "Limit kind (max/min)"),
        Field("limit_source", "STRING", "Quy chuẩn", "Regulation"),
        Field("exceedance_ratio", "DOUBLE", "Tỷ lệ so với giới hạn", "Value / limit"),
    ),
    natural_key=("medium", "entity_id", "parameter", "averaging", "period_start", "limit_kind"),
    transform="jobs.environment.transforms:exceedances",
    inputs=("air_quality_reading", "wastewater_reading", "wastewater_facility"),
    replace_key="date",
)

ALERT = Dataset(
    name="alert",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Cảnh báo môi trường: vượt quy chuẩn, VN_AQI từ mức Xấu, trạm ngừng truyền, thiết bị lỗi",
    title_en="Environmental alerts: QCVN exceedance, VN_AQI 'Xấu' or worse, silent station, device in error",
    owner=OWNER,
    classification=Classification.INTERNAL,
    # Like the wastewater readings it is built from: the health ministry watches discharges.
    grants=(Ministry.HEALTH,),
    fields=(
        Field(
            "alert_id", "STRING", "Mã cảnh báo", "Alert id (the same episode always gets the same id)", nullable=False
        ),
        Field(
            "kind",
            "STRING",
            "Loại (exceedance/aqi/silent/device)",
            "Kind (exceedance/aqi/silent/device)",
            nullable=False,
        ),
        Field("medium", "STRING", "Môi trường (air/wastewater)", "Medium (air/wastewater)", nullable=False),
        Field("entity_id", "STRING", "Mã trạm", "Station id", nullable=False),
        Field("facility_id", "STRING", "Mã cơ sở (nước thải)", "Facility id (wastewater)"),
        Field("entity_name", "STRING", "Tên trạm / cơ sở", "Station or facility name"),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)"),
        Field("parameter", "STRING", "Thông số (VN_AQI cho chỉ số)", "Parameter (VN_AQI for the index)"),
        Field("opened_at", "TIMESTAMP", "Mở lúc (UTC)", "Opened at (UTC)", nullable=False),
        Field("closed_at", "TIMESTAMP", "Đóng lúc (UTC)", "Closed at (UTC; empty while open)"),
        Field("status", "STRING", "Trạng thái (open/closed)", "Status (open/closed)", nullable=False),
        Field("date", "DATE", "Ngày mở (giờ Việt Nam)", "Day opened (Vietnam local)", nullable=False),
        Field("open_value", "DOUBLE", "Giá trị khi mở", "Value that opened it"),
        Field("peak_value", "DOUBLE", "Giá trị xa giới hạn nhất", "Value furthest past the limit"),
        Field("limit_value", "DOUBLE", "Giới hạn", "Limit (minutes of silence for 'silent')"),
        Field("limit_kind", "STRING", "Loại giới hạn (max/min)", "Limit kind (max/min)"),
        Field("limit_source", "STRING", "Quy chuẩn và phiên bản", "Regulation and version of the limit"),
        Field("readings_over", "INT", "Số lần đo vượt", "Readings past the limit"),
        Field(
            "last_seen_at", "TIMESTAMP", "Lần truyền cuối trước khi im lặng (UTC)", "Last transmission before silence"
        ),
    ),
    natural_key=("alert_id",),
    transform="jobs.environment.alerts:alerts",
    inputs=("air_quality_reading", "wastewater_reading", "wastewater_facility", "aqi_hourly"),
    quarantine_inputs=("air_quality_reading", "wastewater_reading"),  # the readings a device flagged in error
    replace_key="date",
    rebuild_days_before=ALERT_WINDOW_DAYS,
)

DATASETS = (
    AIR_STATION,
    WASTEWATER_FACILITY,
    AIR_QUALITY_READING,
    WASTEWATER_READING,
    AQI_HOURLY,
    AQI_DAILY,
    AQI_PROVINCE_DAILY,
    EXCEEDANCE,
    ALERT,
)
