"""Seeded generator of environment-sector sample sources (air quality and industrial wastewater).

Why: the pipeline needs realistic, *countable* input. Every file is derived from
``random.Random`` seeded by the arguments only (never the clock or the global generator), so the same
arguments give byte-identical files, and ``_generation_report.json`` states exactly how many rows
the pipeline should quarantine (per reason code), drop as duplicates and keep in silver.

Layout under ``--out DIR``::

    environment/reference/air_stations.csv
    environment/reference/wastewater_facilities.csv   (with the officer's contact_name, contact_phone)
    environment/air_quality/readings_YYYYMMDD.csv      (≈80 % of --rows)
    environment/wastewater/readings_YYYYMMDD.csv       (≈20 % of --rows)
    environment/_generation_report.json
    (next to every data file: <file>.manifest.json = {"rows": N}, the count the source states)

Mess is injected at the fixed rates of :data:`AIR_RATES` / :data:`WASTEWATER_RATES` (shares of a
reading file's data rows). Counts are exact quotas, not coin flips: each kind gets
``max(1, round(rate × expected rows))`` rows, spread over the file by sequential selection sampling
(constant memory), and a row carries at most one kind. Kinds and what the pipeline must do with
them are in :data:`EXPECTED_OUTCOME`. Eligibility limits a few kinds: ``legacy_province_code`` only
on stations whose pre-2025 province code is not itself a 2025 code, wastewater ``unit_variant`` only
on mg/L parameters, wastewater ``negative_value`` only on concentrations and flow, wastewater
``impossible_value`` only on pH. ``late_event`` rows are whole station-hours of the previous day
(all parameters) that the previous day's file, when generated in the same run, leaves out.
The last air station is silent: it sends nothing from 12:00 local time on.

Usage::

    python -m sample_sources.environment.generate --out DIR [--date 2026-11-26] [--days 1]
        [--rows 2000] [--seed 42] [--no-progress]
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import math
import random
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sample_sources import provinces
from sample_sources.legacy_text import cp1252_text, tcvn3_bytes, vni_bytes

SECTOR = "environment"
AIR_UNIT = "µg/Nm³"  # micro sign U+00B5, superscript three U+00B3
UTC_OFFSET = "+07:00"  # Asia/Ho_Chi_Minh, no DST
SILENT_FROM_HOUR = 12

AIR_ROWS_SHARE = 0.8
AIR_ROWS_PER_STATION_DAY = 6 * 24
WASTEWATER_ROWS_PER_FACILITY_DAY = 7 * 24

# ---------------------------------------------------------------------------------------------
# Mess catalogue
# ---------------------------------------------------------------------------------------------

QUARANTINE_REASON: dict[str, str] = {
    "malformed_line": "MALFORMED_LINE",
    "device_calibrating": "DEVICE_NOT_MEASURING",
    "device_error": "DEVICE_NOT_MEASURING",
    "negative_value": "NEGATIVE_VALUE",
    "impossible_value": "OUT_OF_PHYSICAL_RANGE",
    "non_numeric_value": "INVALID_NUMBER",
    "unknown_station": "UNKNOWN_STATION",
    "bad_timestamp": "INVALID_TIMESTAMP",
}
"""Mess kinds whose rows the pipeline must quarantine, with the reason code it must record."""

NAME_KINDS = ("nfd_name", "tcvn3_name", "vni_name", "legacy_province_code")
"""Kinds that touch the station name or province column: air readings only."""

AIR_RATES: dict[str, float] = {
    "exact_duplicate": 0.02,
    "malformed_line": 0.005,
    "device_calibrating": 0.01,
    "device_error": 0.01,
    "negative_value": 0.005,
    "impossible_value": 0.003,
    "non_numeric_value": 0.003,
    "unknown_station": 0.002,
    "bad_timestamp": 0.002,
    "nfd_name": 0.10,
    "tcvn3_name": 0.02,
    "vni_name": 0.02,
    "legacy_province_code": 0.05,
    "unit_variant": 0.02,
    "local_time_format": 0.03,
    "late_event": 0.01,
}
"""Nominal share of an air reading file's data rows carrying each kind of mess."""

WASTEWATER_RATES: dict[str, float] = {k: v for k, v in AIR_RATES.items() if k not in NAME_KINDS}
"""Same rates for wastewater readings, which have no name or province column."""

EXPECTED_OUTCOME: dict[str, str] = {
    "exact_duplicate": "removed as exact duplicate (identical copy of an earlier clean line)",
    "malformed_line": "quarantine MALFORMED_LINE (too few fields, unclosed quote or garbage text)",
    "device_calibrating": "quarantine DEVICE_NOT_MEASURING (Circular 10/2021: not a valid measurement)",
    "device_error": "quarantine DEVICE_NOT_MEASURING (Circular 10/2021: not a valid measurement)",
    "negative_value": "quarantine NEGATIVE_VALUE",
    "impossible_value": "quarantine OUT_OF_PHYSICAL_RANGE (pH > 14, air value ≥ 20000 µg/Nm³)",
    "non_numeric_value": "quarantine INVALID_NUMBER (value 'N/A' or empty)",
    "unknown_station": "quarantine UNKNOWN_STATION (id not in the reference list)",
    "bad_timestamp": "quarantine INVALID_TIMESTAMP",
    "nfd_name": "repaired: station_name normalised to NFC",
    "tcvn3_name": "repaired: station_name decoded from TCVN3 (ABC) mojibake",
    "vni_name": "repaired: station_name decoded from VNI mojibake",
    "legacy_province_code": "repaired: pre-2025 province code mapped to the 2025 code (reading dated after 2025-07-01)",
    "unit_variant": "repaired: unit canonicalised (μ U+03BC, ug/Nm3, CO mg/Nm3 ×1000; mg/l, g/m³ → mg/L)",
    "local_time_format": "repaired: 'dd/mm/yyyy HH:mm' read as Asia/Ho_Chi_Minh local time",
    "late_event": "kept: previous day's reading delivered late, partitioned by its own measured_date",
    "silent_station": "kept rows; flagged by the liveness (sống) check: no readings from 12:00 local",
}
"""What the pipeline is expected to do with each kind (copied into the report)."""

_ADDED_KINDS = ("exact_duplicate", "malformed_line", "late_event")  # add lines instead of altering one

# ---------------------------------------------------------------------------------------------
# Parameters, units and daily patterns
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    name: str
    lo: float
    hi: float
    unit: str
    decimals: int
    pattern: str


def _traffic(h: int) -> float:
    return max(math.exp(-((h - 8) ** 2) / 3.0), math.exp(-((h - 19) ** 2) / 4.0))


_PATTERNS: dict[str, Callable[[int], float]] = {
    "traffic": _traffic,
    "industry": lambda h: 0.5 + 0.25 * math.sin((h - 6) / 24 * 2 * math.pi),
    "sunlight": lambda h: math.exp(-((h - 14) ** 2) / 8.0),
    "shift": lambda h: 1.0 if 7 <= h <= 17 else 0.3,
    "warmth": lambda h: math.exp(-((h - 15) ** 2) / 20.0),
    "flat": lambda h: 0.5,
}

AIR_PARAMS: tuple[_Param, ...] = (
    _Param("PM2.5", 5.0, 120.0, AIR_UNIT, 1, "traffic"),
    _Param("PM10", 10.0, 200.0, AIR_UNIT, 1, "traffic"),
    _Param("NO2", 10.0, 150.0, AIR_UNIT, 1, "traffic"),
    _Param("SO2", 5.0, 100.0, AIR_UNIT, 1, "industry"),
    _Param("CO", 500.0, 8000.0, AIR_UNIT, 1, "traffic"),
    _Param("O3", 20.0, 180.0, AIR_UNIT, 1, "sunlight"),
)
WASTEWATER_PARAMS: tuple[_Param, ...] = (
    _Param("pH", 6.0, 8.5, "-", 2, "flat"),
    _Param("COD", 20.0, 120.0, "mg/L", 1, "shift"),
    _Param("BOD5", 10.0, 45.0, "mg/L", 1, "shift"),
    _Param("TSS", 10.0, 80.0, "mg/L", 1, "shift"),
    _Param("NH4_N", 1.0, 8.0, "mg/L", 2, "shift"),
    _Param("temperature", 25.0, 38.0, "°C", 1, "warmth"),
    _Param("flow", 50.0, 500.0, "m3/h", 1, "shift"),
)

IMPOSSIBLE_RANGE: dict[str, tuple[float, float]] = {
    "PM2.5": (25000.0, 40000.0),
    "PM10": (30000.0, 50000.0),
    "NO2": (20000.0, 40000.0),
    "SO2": (20000.0, 40000.0),
    "CO": (2_000_000.0, 5_000_000.0),
    "O3": (20000.0, 40000.0),
    "pH": (15.0, 19.0),
}
"""Values injected as ``impossible_value``: far beyond anything a sensor can physically read."""

AIR_UNIT_VARIANTS = ("μg/Nm³", "ug/Nm3")  # μ here is GREEK SMALL LETTER MU U+03BC
CO_MG_UNIT = "mg/Nm3"  # value divided by 1000
WASTEWATER_UNIT_VARIANTS = ("mg/l", "g/m³")  # 1 g/m³ = 1 mg/L, value unchanged
NON_NUMERIC_VALUES = ("N/A", "")
_GARBAGE_CHARS = "ÿþýüûú¤§¶¿¡¢£¥ÃÂâ€™œžŸ\ufffd@#%&*~^"

# ---------------------------------------------------------------------------------------------
# Stations and facilities
# ---------------------------------------------------------------------------------------------

# name, 2025 province, pre-2025 province of the site, latitude, longitude
_KNOWN_AIR_STATIONS: tuple[tuple[str, str, str, float, float], ...] = (
    ("Trạm Nguyễn Văn Cừ", "01", "01", 21.0491, 105.8831),
    ("Trạm Thủ Dầu Một", "79", "74", 10.9804, 106.6519),
    ("Trạm Hoàn Kiếm", "01", "01", 21.0285, 105.8542),
    ("Trạm Đà Nẵng - Liên Chiểu", "48", "48", 16.0755, 108.1500),
    ("Trạm Từ Sơn", "24", "27", 21.1170, 105.9600),
    ("Trạm Hải Dương", "31", "30", 20.9373, 106.3146),
    ("Trạm Biên Hòa", "75", "75", 10.9447, 106.8243),
    ("Trạm Vũng Tàu", "79", "77", 10.3460, 107.0843),
    ("Trạm Hội An", "48", "49", 15.8801, 108.3380),
    ("Trạm Vĩnh Yên", "25", "26", 21.3089, 105.6049),
    ("Trạm Hạ Long", "22", "22", 20.9517, 107.0800),
    ("Trạm Nam Định", "37", "36", 20.4200, 106.1683),
    ("Trạm Huế", "46", "46", 16.4637, 107.5909),
    ("Trạm Nha Trang", "56", "56", 12.2388, 109.1967),
    ("Trạm Pleiku", "52", "64", 13.9833, 108.0000),
    ("Trạm Cần Thơ - Ninh Kiều", "92", "92", 10.0340, 105.7880),
    ("Trạm Sóc Trăng", "92", "94", 9.6025, 105.9739),
    ("Trạm Long Xuyên", "91", "89", 10.3864, 105.4352),
    ("Trạm Bến Tre", "86", "83", 10.2434, 106.3756),
    ("Trạm Đồng Xoài", "75", "70", 11.5349, 106.8832),
    ("Trạm Thái Bình", "33", "34", 20.4463, 106.3366),
    ("Trạm Vinh", "40", "40", 18.6796, 105.6813),
    ("Trạm Thanh Hóa", "38", "38", 19.8067, 105.7852),
    ("Trạm Lào Cai", "15", "10", 22.4809, 103.9755),
    ("Trạm Hà Giang", "08", "02", 22.8233, 104.9836),
    ("Trạm Phan Thiết", "68", "60", 10.9289, 108.1021),
    ("Trạm Đông Hà", "44", "45", 16.8163, 107.1003),
    ("Trạm Bạc Liêu", "96", "95", 9.2941, 105.7278),
    ("Trạm Tây Ninh", "80", "72", 11.3100, 106.0983),
    ("Trạm Hòa Bình", "25", "17", 20.8133, 105.3383),
    ("Trạm Buôn Ma Thuột", "66", "66", 12.6667, 108.0500),
    ("Trạm Thái Nguyên", "19", "19", 21.5942, 105.8480),
)

# Approximate centre of each 2025 province (for synthetic stations and facilities).
_PROVINCE_CENTRE: dict[str, tuple[float, float]] = {
    "01": (21.03, 105.85),
    "04": (22.67, 106.26),
    "08": (21.82, 105.21),
    "11": (21.39, 103.02),
    "12": (22.40, 103.46),
    "14": (21.33, 103.91),
    "15": (21.72, 104.91),
    "19": (21.59, 105.85),
    "20": (21.85, 106.76),
    "22": (20.95, 107.08),
    "24": (21.27, 106.20),
    "25": (21.32, 105.40),
    "31": (20.86, 106.68),
    "33": (20.65, 106.05),
    "37": (20.25, 105.97),
    "38": (19.81, 105.78),
    "40": (18.68, 105.68),
    "42": (18.34, 105.91),
    "44": (17.47, 106.62),
    "46": (16.46, 107.59),
    "48": (16.05, 108.20),
    "51": (15.12, 108.80),
    "52": (13.78, 109.22),
    "56": (12.24, 109.19),
    "66": (12.67, 108.04),
    "68": (11.94, 108.44),
    "75": (10.95, 106.82),
    "79": (10.78, 106.70),
    "80": (10.54, 106.41),
    "82": (10.36, 106.36),
    "86": (10.25, 105.97),
    "91": (10.01, 105.08),
    "92": (10.03, 105.78),
    "96": (9.18, 105.15),
}

_PLACE_WORDS_A = (
    "Tân",
    "Phú",
    "Bình",
    "Hòa",
    "Long",
    "Mỹ",
    "Đông",
    "Tây",
    "Vĩnh",
    "Hưng",
    "Phước",
    "Xuân",
    "Quang",
    "Minh",
    "Trung",
    "Thái",
    "Hải",
    "Thạnh",
    "Thuận",
    "Hiệp",
    "Cẩm",
    "Kim",
    "Nghĩa",
    "Đức",
)
_PLACE_WORDS_B = (
    "An",
    "Lợi",
    "Thịnh",
    "Sơn",
    "Lâm",
    "Giang",
    "Thủy",
    "Cát",
    "Lộc",
    "Phong",
    "Hà",
    "Điền",
    "Hải",
    "Khánh",
    "Thành",
    "Định",
    "Mỹ",
    "Xương",
    "Quý",
    "Tiến",
    "Ninh",
    "Bảo",
    "Hội",
    "Yên",
)
_INDUSTRIAL_PARKS: tuple[tuple[str, str], ...] = (
    ("KCN Amata", "75"),
    ("KCN VSIP I", "79"),
    ("KCN Quế Võ", "24"),
    ("KCN Đình Vũ", "31"),
    ("KCN Hòa Khánh", "48"),
    ("KCN Thăng Long", "01"),
    ("KCN Nhơn Trạch 3", "75"),
    ("KCN Hiệp Phước", "79"),
    ("KCN Phố Nối A", "33"),
    ("KCN Trà Nóc", "92"),
    ("KCN Long Hậu", "80"),
    ("KCN Yên Phong", "24"),
    ("KCN Phú Bài", "46"),
    ("KCN Suối Dầu", "56"),
    ("KCN Nam Cấm", "40"),
    ("KCN Lễ Môn", "38"),
    ("KCN Tịnh Phong", "51"),
    ("KCN Mỹ Phước", "79"),
    ("KCN Sa Đéc", "82"),
    ("KCN Hòa Phú", "66"),
)
_COMPANY_FORMS = ("Công ty TNHH", "Công ty Cổ phần")
_INDUSTRIES = (
    "Dệt nhuộm",
    "Chế biến thủy sản",
    "Giấy",
    "Thực phẩm",
    "Hóa chất",
    "Cao su",
    "Bia và nước giải khát",
    "Điện tử",
    "Xi mạ",
    "Chế biến gỗ",
    "Sữa",
    "Thuộc da",
)


@dataclass(frozen=True)
class _Entity:
    """An air station or a wastewater facility (with its single monitoring station S1)."""

    entity_id: str
    station_id: str
    name: str
    province: str
    legacy_code: str | None  # pre-2025 code, not a 2025 code, mapping to ``province``
    level: float  # 0..0.5, how polluted the site is on average
    silent: bool
    reference_row: tuple[str, ...]


def _legacy_field_names(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Each name as a field pasted from a TCVN3 / VNI document into a UTF-8 file: its legacy bytes
    shown as cp1252 (TCVN3 by one iconv call for all names, VNI from the typed chart).

    Every name the generator can make is repaired exactly by the pipeline's field repair, which
    ``tests/unit/sample_sources/test_independence.py`` checks over the whole name space; the report
    therefore predicts "repaired" for each, and the generator never asks the pipeline.
    """
    if not names:
        return [], []
    tcvn3 = cp1252_text(tcvn3_bytes("\n".join(names))).split("\n")
    return tcvn3, [cp1252_text(vni_bytes(name)) for name in names]


def _legacy_candidates() -> dict[str, list[str]]:
    """2025 code → pre-2025 codes that map to it and are not themselves 2025 codes (unambiguous)."""
    out: dict[str, list[str]] = {}
    for old, new in sorted(provinces.legacy_to_2025().items()):
        if old != new and old not in provinces.provinces_2025():
            out.setdefault(new, []).append(old)
    return out


def _jitter(rng: random.Random, centre: tuple[float, float]) -> tuple[float, float]:
    return centre[0] + rng.uniform(-0.15, 0.15), centre[1] + rng.uniform(-0.15, 0.15)


def _active_since(rng: random.Random) -> str:
    return (date(2012, 1, 1) + timedelta(days=rng.randrange(12 * 365))).isoformat()


def _air_stations(n: int, rng: random.Random) -> list[_Entity]:
    """First the hand-picked real-looking stations, then synthetic Vietnamese-looking ones."""
    legacy = _legacy_candidates()
    codes = sorted(provinces.provinces_2025())
    seq: dict[str, int] = {}
    used: set[str] = set()
    out: list[_Entity] = []
    for i in range(n):
        if i < len(_KNOWN_AIR_STATIONS):
            name, prov, old, lat, lon = _KNOWN_AIR_STATIONS[i]
            legacy_code = old if old in legacy.get(prov, ()) else None
        else:
            prov = codes[(i - len(_KNOWN_AIR_STATIONS)) % len(codes)]
            lat, lon = _jitter(rng, _PROVINCE_CENTRE[prov])
            name = _synthetic_name(rng, used, "Trạm")
            olds = [*legacy.get(prov, ()), prov] if prov in provinces.legacy_to_2025() else list(legacy.get(prov, ()))
            old = rng.choice(olds) if olds else prov
            legacy_code = old if old != prov else None
        used.add(name)
        seq[prov] = seq.get(prov, 0) + 1
        sid = f"AQ-{prov}-{seq[prov]:04d}"
        row = (sid, name, prov, f"{lat:.4f}", f"{lon:.4f}", _active_since(rng))
        out.append(_Entity(sid, sid, name, prov, legacy_code, rng.uniform(0.05, 0.5), i == n - 1, row))
    return out


def _synthetic_name(rng: random.Random, used: set[str], prefix: str) -> str:
    """A unique Vietnamese-looking name such as 'Trạm Phước Lộc' (numbered when taken)."""
    base = f"{prefix} {rng.choice(_PLACE_WORDS_A)} {rng.choice(_PLACE_WORDS_B)}"
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base} {k}"
    return name


def _wastewater_facilities(n: int, rng: random.Random) -> list[_Entity]:
    """Facilities in real industrial parks, round-robin, with QCVN 40 column and Kq/Kf factors."""
    seq: dict[str, int] = {}
    used: set[str] = set()
    out: list[_Entity] = []
    for i in range(n):
        park, prov = _INDUSTRIAL_PARKS[i % len(_INDUSTRIAL_PARKS)]
        seq[prov] = seq.get(prov, 0) + 1
        fid = f"WW-{prov}-{seq[prov]:04d}"
        place = f"{rng.choice(_PLACE_WORDS_A)} {rng.choice(_PLACE_WORDS_B)}"
        base = f"{rng.choice(_COMPANY_FORMS)} {rng.choice(_INDUSTRIES)} {place}"
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base} {k}"
        used.add(name)
        column = "A" if rng.random() < 0.3 else "B"
        kq = rng.choice(("0.9", "1.0", "1.1", "1.2"))
        daily_flow_m3 = rng.uniform(50.0, 500.0) * 24
        kf = "1.0" if daily_flow_m3 <= 5000 else "0.9"  # QCVN 40:2011 Kf bands (m³/day)
        row = (fid, name, park, prov, column, kq, kf)
        out.append(_Entity(fid, f"{fid}-S1", name, prov, None, rng.uniform(0.05, 0.5), False, row))
    return out


# Environmental officer in charge of each facility (Circular 10/2021 practice): personal data.
_FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Ngô")
_MIDDLE_NAMES = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Thanh", "Hữu", "Quốc", "Thu", "Hoài")
_GIVEN_NAMES = ("An", "Bình", "Cường", "Dũng", "Hạnh", "Hương", "Khoa", "Lan", "Linh", "Nam", "Phúc", "Sơn", "Trang")
_MOBILE_PREFIXES = ("032", "035", "038", "070", "077", "081", "086", "088", "090", "091", "093", "096", "097", "098")
CONTACT_COLUMNS = ("contact_name", "contact_phone")
_FACILITY_COLUMNS = ("facility_id", "facility_name", "industrial_park", "province_code", "qcvn_column", "kq", "kf")


def facility_contact(seed: int, facility_id: str) -> tuple[str, str]:
    """(name, phone) of a facility's environmental officer, phone in one of the forms sources use.

    Drawn from its own generator seeded by ``seed`` and the facility id, so adding contacts left
    every other random stream (and every other value of the files) unchanged.
    """
    rng = random.Random(f"{seed}:contact:{facility_id}")  # nosec B311  # seeded sample data, not cryptography
    name = f"{rng.choice(_FAMILY_NAMES)} {rng.choice(_MIDDLE_NAMES)} {rng.choice(_GIVEN_NAMES)}"
    prefix = rng.choice(_MOBILE_PREFIXES)
    rest = f"{rng.randrange(10**7):07d}"
    form = rng.randrange(3)
    if form == 0:
        phone = f"{prefix}{rest[0]} {rest[1:4]} {rest[4:]}"  # 0912 345 678
    elif form == 1:
        phone = f"+84{prefix[1:]}{rest}"  # +84912345678
    else:
        phone = f"{prefix}{rest[0]}.{rest[1:4]}.{rest[4:]}"  # 0912.345.678
    return name, phone


# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    dataset: str
    folder: str
    header: tuple[str, ...]
    params: tuple[_Param, ...]
    rates: dict[str, float]
    prefix: str  # "AQ" / "WW"

    @property
    def air(self) -> bool:
        return self.prefix == "AQ"


AIR_SPEC = _Spec(
    "air_quality_reading",
    "air_quality",
    ("station_id", "station_name", "province_code", "parameter", "value", "unit", "measured_at", "device_status"),
    AIR_PARAMS,
    AIR_RATES,
    "AQ",
)
WASTEWATER_SPEC = _Spec(
    "wastewater_reading",
    "wastewater",
    ("facility_id", "station_id", "parameter", "value", "unit", "measured_at", "device_status"),
    WASTEWATER_PARAMS,
    WASTEWATER_RATES,
    "WW",
)


def _eligible(spec: _Spec, kind: str, entity: _Entity, param: _Param) -> bool:
    """Whether ``kind`` can be applied to a row of ``entity`` × ``param`` (keeps each kind meaningful)."""
    if kind == "legacy_province_code":
        return entity.legacy_code is not None
    if spec.air:
        return True
    if kind == "unit_variant":
        return param.unit == "mg/L"
    if kind == "negative_value":
        return param.name not in ("pH", "temperature")
    if kind == "impossible_value":
        return param.name in IMPOSSIBLE_RANGE
    return True


def _expected_rows(spec: _Spec, entities: Sequence[_Entity]) -> float:
    """Expected data rows of one file (base rows grown by the added kinds): the quota base."""
    base = len(spec.params) * sum(SILENT_FROM_HOUR if e.silent else 24 for e in entities)
    added = sum(spec.rates[k] for k in _ADDED_KINDS)
    return base / (1.0 - added)


def _late_blocks(spec: _Spec, entities: Sequence[_Entity], day: date, seed: int) -> list[tuple[int, int]]:
    """(entity index, hour) of ``day - 1`` re-sent in ``day``'s file; a pure function of its args."""
    rng = random.Random(f"{seed}:{spec.dataset}:late:{day.isoformat()}")  # nosec B311  # seeded sample data, not cryptography
    candidates = [i for i, e in enumerate(entities) if not e.silent]
    quota = max(1, round(spec.rates["late_event"] * _expected_rows(spec, entities) / len(spec.params)))
    picks = rng.sample(range(len(candidates) * 24), min(quota, len(candidates) * 24))
    return sorted((p % 24, candidates[p // 24]) for p in picks)


def _allocate(total: int, sizes: list[int], rng: random.Random) -> list[int]:
    """Split ``total`` over strata proportionally to ``sizes`` (largest remainder, seeded ties)."""
    whole = sum(sizes)
    if whole == 0 or total == 0:
        return [0] * len(sizes)
    shares = [total * s / whole for s in sizes]
    out = [int(x) for x in shares]
    order = sorted(range(len(sizes)), key=lambda i: (-(shares[i] - out[i]), rng.random()))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


class _Selector:
    """Exact-quota, one-kind-per-row assignment by sequential selection sampling, per stratum.

    Each stratum knows its row count in advance; a row is given kind k with probability
    remaining_k / remaining_rows, so every quota is met exactly without holding the file in memory.
    """

    def __init__(self, sizes: list[int], quotas: list[dict[str, int]], kind_order: Sequence[str]) -> None:
        self.remaining = list(sizes)
        self.kinds = [[k for k in kind_order if q.get(k)] for q in quotas]
        self.counts = [[q[k] for k in kinds] for q, kinds in zip(quotas, self.kinds, strict=True)]
        self.total = [sum(c) for c in self.counts]

    def pick(self, stratum: int, rng: random.Random) -> str | None:
        """The kind for the next row of ``stratum``, or None for a clean row."""
        rows = self.remaining[stratum]
        self.remaining[stratum] = rows - 1
        left = self.total[stratum]
        if not left:
            return None
        u = rng.random() * rows
        if u >= left:
            return None
        self.total[stratum] = left - 1
        counts = self.counts[stratum]
        for i, count in enumerate(counts):
            if u < count:
                counts[i] = count - 1
                return self.kinds[stratum][i]
            u -= count
        raise AssertionError("selection quotas out of sync")  # pragma: no cover


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


# ---------------------------------------------------------------------------------------------
# Exceedance episodes: the generator's own account of which alerts the data must raise
# ---------------------------------------------------------------------------------------------

# The 1-hour limits, copied here from the regulations themselves (not imported from ``jobs``), so the
# count the alert tests check against is not derived from the code under test.
# QCVN 05:2023/BTNMT, Bảng 1 (1-hour average, µg/Nm³); PM2.5 and PM10 have no 1-hour limit.
_AIR_1H_LIMIT: dict[str, float] = {"SO2": 350.0, "CO": 30000.0, "NO2": 200.0, "O3": 200.0}
# QCVN 40:2011/BTNMT, Bảng 1 (column A / B: (min, C)); Cmax = C × Kq × Kf except pH and temperature.
_WASTEWATER_LIMIT: dict[str, tuple[bool, dict[str, tuple[float | None, float | None]]]] = {
    "pH": (False, {"A": (6.0, 9.0), "B": (5.5, 9.0)}),
    "BOD5": (True, {"A": (None, 30.0), "B": (None, 50.0)}),
    "COD": (True, {"A": (None, 75.0), "B": (None, 150.0)}),
    "TSS": (True, {"A": (None, 50.0), "B": (None, 100.0)}),
    "NH4_N": (True, {"A": (None, 5.0), "B": (None, 10.0)}),
    "temperature": (False, {"A": (None, 40.0), "B": (None, 40.0)}),
}
_ALTERING_QUARANTINE = frozenset(QUARANTINE_REASON) - frozenset(_ADDED_KINDS)  # the row itself is unusable


def _limit_checks(spec: _Spec, e: _Entity, parameter: str, value: float) -> list[tuple[str, bool]]:
    """(limit kind, over) of one reading against its 1-hour limits; [] for a parameter without one."""
    if spec.air:
        limit = _AIR_1H_LIMIT.get(parameter)
        return [] if limit is None else [("max", value > limit)]
    if parameter not in _WASTEWATER_LIMIT:
        return []
    scaled, by_column = _WASTEWATER_LIMIT[parameter]
    column, kq, kf = e.reference_row[4], float(e.reference_row[5]), float(e.reference_row[6])
    low, high = by_column[column]
    checks = []
    if high is not None:
        checks.append(("max", value > (high * kq * kf if scaled else high)))
    if low is not None:
        checks.append(("min", value < low))
    return checks


# The check a reading's device status is: "over" when the device reported 'error' (Circular 10/2021's
# "báo lỗi thiết bị"); a measurement or a calibrating reading of the same parameter ends the episode.
DEVICE_CHECK = "device"


def exceedance_episodes(points: Sequence[tuple[str, str, str, str, str, bool]]) -> list[dict[str, str]]:
    """Runs of consecutive over-limit readings per station, parameter and limit kind → one episode
    each (what an alert is), opened at the run's first reading.

    ``points``: (medium, station id, parameter, limit kind, local ISO time, over) of every reading
    that reaches silver as a measurement; readings a device flagged, or the pipeline must
    quarantine, are not points (they neither open nor close an episode).
    """
    by_key: dict[tuple[str, str, str, str], list[tuple[str, bool]]] = {}
    for medium, station, parameter, kind, at, over in points:
        by_key.setdefault((medium, station, parameter, kind), []).append((at, over))
    episodes = []
    for (medium, station, parameter, kind), series in sorted(by_key.items()):
        previous = False
        for at, over in sorted(set(series)):
            if over and not previous:
                episodes.append(
                    {
                        "medium": medium,
                        "station_id": station,
                        "parameter": parameter,
                        "limit_kind": kind,
                        "opened_at": at,
                    }
                )
            previous = over
    return episodes


def _write_readings(
    path: Path,
    spec: _Spec,
    entities: Sequence[_Entity],
    day: date,
    seed: int,
    late_here: Sequence[tuple[int, int]],
    skip: set[tuple[int, int]],
    tick: Callable[[int], None],
    points: list[tuple[str, str, str, str, str, bool]],
) -> dict[str, Any]:
    """Stream one day's reading file and return its report entry; append to ``points`` every
    reading that reaches silver as a measurement, checked against its 1-hour limits and as a device
    measuring, and every reading its device flagged (``DEVICE_CHECK``, over when in error)."""
    rng = random.Random(f"{seed}:{spec.dataset}:{day.isoformat()}")  # nosec B311  # seeded sample data, not cryptography
    params = spec.params
    n_params = len(params)
    patterns = [[_PATTERNS[p.pattern](h) for h in range(24)] for p in params]
    prev_day = day - timedelta(days=1)
    kinds = [k for k in spec.rates if k != "late_event"]
    expected = _expected_rows(spec, entities)

    # Strata: rows grouped by which kinds may apply to them; sizes known before writing.
    stratum_of_key: dict[tuple[str, ...], int] = {}
    strata: list[list[int]] = []  # per entity, per param → stratum index
    sizes: list[int] = []
    skipped_hours: dict[int, int] = {}
    for ei, _h in skip:
        skipped_hours[ei] = skipped_hours.get(ei, 0) + 1
    for ei, e in enumerate(entities):
        hours = (SILENT_FROM_HOUR if e.silent else 24) - skipped_hours.get(ei, 0)
        row: list[int] = []
        for p in params:
            key = tuple(k for k in kinds if _eligible(spec, k, e, p))
            if key not in stratum_of_key:
                stratum_of_key[key] = len(sizes)
                sizes.append(0)
            s = stratum_of_key[key]
            sizes[s] += hours
            row.append(s)
        strata.append(row)
    n_base = sum(sizes)
    keys = list(stratum_of_key)
    quotas: list[dict[str, int]] = [{} for _ in sizes]
    for kind in kinds:
        where = [s for s, key in enumerate(keys) if kind in key]
        capacity = sum(sizes[s] for s in where)
        want = min(capacity, max(1, round(spec.rates[kind] * expected)))
        for s, share in zip(where, _allocate(want, [sizes[s] for s in where], rng), strict=True):
            quotas[s][kind] = share
    for s, quota in enumerate(quotas):  # never more mess than rows in a stratum
        while sum(quota.values()) > sizes[s]:
            biggest = max(quota, key=lambda k: (quota[k], k))
            quota[biggest] -= 1
    selector = _Selector(sizes, quotas, kinds)

    late_positions = sorted(rng.sample(range(n_base), min(len(late_here), n_base))) if late_here else []
    late_queue = list(late_here)[: len(late_positions)]

    mess = {k: 0 for k in spec.rates}
    data_rows = 0
    iso = [f"{day.isoformat()}T{h:02d}:00:00{UTC_OFFSET}" for h in range(24)]
    prev_iso = [f"{prev_day.isoformat()}T{h:02d}:00:00{UTC_OFFSET}" for h in range(24)]
    local = [f"{day:%d/%m/%Y} {h:02d}:00" for h in range(24)]
    unknown_seq: dict[str, int] = {}
    for e in entities:
        prov = e.entity_id.split("-")[1]
        unknown_seq[prov] = max(unknown_seq.get(prov, 0), int(e.entity_id.split("-")[2]))
    names_nfd = [unicodedata.normalize("NFD", e.name) for e in entities] if spec.air else []
    names_tcvn3, names_vni = _legacy_field_names([e.name for e in entities] if spec.air else [])

    def clean_fields(e: _Entity, p: _Param, pi: int, hour: int, ts: str) -> list[str]:
        x = e.level + 0.45 * patterns[pi][hour] + (rng.random() - 0.5) * 0.12
        x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
        value = _fmt(p.lo + x * (p.hi - p.lo), p.decimals)
        if spec.air:
            return [e.entity_id, e.name, e.province, p.name, value, p.unit, ts, "measuring"]
        return [e.entity_id, e.station_id, p.name, value, p.unit, ts, "measuring"]

    vi = 4 if spec.air else 3  # index of the value column; unit, measured_at, status follow
    medium = "air" if spec.air else "wastewater"

    def measured(e: _Entity, p: _Param, fields: list[str]) -> None:
        for kind, over in _limit_checks(spec, e, p.name, float(fields[vi])):
            points.append((medium, e.station_id, p.name, kind, fields[vi + 2], over))
        points.append((medium, e.station_id, p.name, DEVICE_CHECK, fields[vi + 2], False))  # device measuring

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(spec.header)
        pending: list[tuple[int, int, list[str]]] = []  # duplicates waiting: (due index, seq, fields)
        index = 0
        late_ptr = 0
        ticked = 0
        for hour in range(24):
            active = [
                (ei, e)
                for ei, e in enumerate(entities)
                if not (e.silent and hour >= SILENT_FROM_HOUR) and (ei, hour) not in skip
            ]
            spread = max(1, len(active) * n_params)
            for ei, e in active:
                for pi, p in enumerate(params):
                    while late_ptr < len(late_positions) and late_positions[late_ptr] <= index:
                        late_hour, late_ei = late_queue[late_ptr]
                        late_e = entities[late_ei]
                        for lpi, lp in enumerate(params):
                            late_fields = clean_fields(late_e, lp, lpi, late_hour, prev_iso[late_hour])
                            writer.writerow(late_fields)
                            measured(late_e, lp, late_fields)
                        mess["late_event"] += n_params
                        data_rows += n_params
                        late_ptr += 1
                    while pending and pending[0][0] <= index:
                        writer.writerow(heapq.heappop(pending)[2])
                        data_rows += 1
                    index += 1
                    fields = clean_fields(e, p, pi, hour, iso[hour])
                    picked = selector.pick(strata[ei][pi], rng)
                    if picked not in _ALTERING_QUARANTINE:
                        measured(e, p, fields)  # before any repairable mess rewrites the value or time
                    elif picked in ("device_error", "device_calibrating"):  # flagged, not measured
                        points.append((medium, e.station_id, p.name, DEVICE_CHECK, iso[hour], picked == "device_error"))
                    if picked is not None:
                        mess[picked] += 1
                        if picked == "exact_duplicate":
                            heapq.heappush(pending, (index + rng.randint(1, spread), index, list(fields)))
                        elif picked == "malformed_line":
                            fh.write(_malformed(fields, spec, rng) + "\n")
                            data_rows += 1
                        else:
                            _apply(
                                picked,
                                fields,
                                spec,
                                e,
                                p,
                                ei,
                                hour,
                                day,
                                rng,
                                vi,
                                local,
                                unknown_seq,
                                names_nfd,
                                names_tcvn3,
                                names_vni,
                            )
                    writer.writerow(fields)
                    data_rows += 1
                    if data_rows - ticked >= 8192:
                        tick(data_rows - ticked)
                        ticked = data_rows
        while pending:
            writer.writerow(heapq.heappop(pending)[2])
            data_rows += 1
        tick(data_rows - ticked)

    quarantine: dict[str, int] = {}
    for kind, reason in QUARANTINE_REASON.items():
        if kind in mess:
            quarantine[reason] = quarantine.get(reason, 0) + mess[kind]
    duplicates = mess["exact_duplicate"]
    return {
        "dataset": spec.dataset,
        "data_rows": data_rows,
        "mess": mess,
        "expected_quarantine": quarantine,
        "expected_duplicates_removed": duplicates,
        "expected_silver_rows": data_rows - sum(quarantine.values()) - duplicates,
    }


def _malformed(fields: list[str], spec: _Spec, rng: random.Random) -> str:
    """A line no CSV parser can map onto the header: one field short, an unclosed quote, or garbage."""
    form = rng.randrange(3)
    if form == 0:
        return ",".join(fields[:-1])  # device_status missing
    if form == 1:
        cut = 1 if spec.air else 2  # open a quote on the name (air) or the parameter (wastewater)
        return ",".join(fields[:cut]) + ',"' + ",".join(fields[cut:])
    return "".join(rng.choice(_GARBAGE_CHARS) for _ in range(rng.randint(16, 48)))


def _bad_timestamp(day: date, hour: int, rng: random.Random) -> str:
    return rng.choice(
        (
            f"{day.year}-13-45 99:00",
            f"{day.isoformat()}T{hour + 24:02d}:00:00{UTC_OFFSET}",
            f"{day.day:02d}/{day.month + 12:02d}/{day.year} {hour:02d}:00",
            "0000-00-00 00:00:00",
            "#VALUE!",
        )
    )


def _apply(
    kind: str,
    fields: list[str],
    spec: _Spec,
    e: _Entity,
    p: _Param,
    ei: int,
    hour: int,
    day: date,
    rng: random.Random,
    vi: int,
    local: list[str],
    unknown_seq: dict[str, int],
    names_nfd: list[str],
    names_tcvn3: list[str],
    names_vni: list[str],
) -> None:
    """Alter ``fields`` in place so it carries exactly one kind of mess."""
    if kind == "device_calibrating":
        fields[vi + 3] = "calibrating"
    elif kind == "device_error":
        fields[vi + 3] = "error"
    elif kind == "negative_value":
        fields[vi] = "-" + _fmt(rng.uniform(0.05, 0.3) * p.hi, p.decimals)
    elif kind == "impossible_value":
        lo, hi = IMPOSSIBLE_RANGE[p.name]
        fields[vi] = _fmt(rng.uniform(lo, hi), p.decimals)
    elif kind == "non_numeric_value":
        fields[vi] = rng.choice(NON_NUMERIC_VALUES)
    elif kind == "unknown_station":
        prov = e.entity_id.split("-")[1]
        bogus = f"{spec.prefix}-{prov}-{unknown_seq[prov] + rng.randint(1, 500):04d}"
        fields[0] = bogus
        if not spec.air:
            fields[1] = f"{bogus}-S1"
    elif kind == "bad_timestamp":
        fields[vi + 2] = _bad_timestamp(day, hour, rng)
    elif kind == "local_time_format":
        fields[vi + 2] = local[hour]
    elif kind == "unit_variant":
        if spec.air:
            if p.name == "CO" and rng.random() < 1 / 3:
                fields[vi] = _fmt(float(fields[vi]) / 1000.0, 4)
                fields[vi + 1] = CO_MG_UNIT
            else:
                fields[vi + 1] = rng.choice(AIR_UNIT_VARIANTS)
        else:
            fields[vi + 1] = rng.choice(WASTEWATER_UNIT_VARIANTS)
    elif kind == "nfd_name":
        fields[1] = names_nfd[ei]
    elif kind == "tcvn3_name":
        fields[1] = names_tcvn3[ei]
    elif kind == "vni_name":
        fields[1] = names_vni[ei]
    elif kind == "legacy_province_code":
        assert e.legacy_code is not None
        fields[2] = e.legacy_code
    else:  # pragma: no cover
        raise ValueError(f"unknown mess kind {kind!r}")


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def _write_reference(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_manifest(path: Path, rows: int) -> None:
    """``<file>.manifest.json``: the row count the source states it sent (the gate checks it)."""
    with path.with_name(path.name + ".manifest.json").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps({"rows": rows}) + "\n")


def _reference_entry(dataset: str, rows: int) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "data_rows": rows,
        "mess": {},
        "expected_quarantine": {},
        "expected_duplicates_removed": 0,
        "expected_silver_rows": rows,
    }


def entity_counts(rows_per_day: int) -> tuple[int, int]:
    """Air stations and wastewater facilities for about ``rows_per_day`` data rows, mess included.

    Duplicates, malformed lines and late events are added on top of the regular hourly rows, so
    the regular rows are sized to leave room for them.
    """
    base = rows_per_day * (1.0 - sum(AIR_RATES[k] for k in _ADDED_KINDS))
    air = max(2, round(AIR_ROWS_SHARE * base / AIR_ROWS_PER_STATION_DAY))
    water = max(1, round((1 - AIR_ROWS_SHARE) * base / WASTEWATER_ROWS_PER_FACILITY_DAY))
    return air, water


def _alert_report(points: Sequence[tuple[str, str, str, str, str, bool]]) -> dict[str, Any]:
    """The report's account of the alerts the data must raise, per local day and medium, and the
    episodes themselves: QCVN 1-hour exceedances (an alert's medium, station, parameter, limit kind
    and opening time) and devices in error (medium, station, parameter, opening time)."""

    def per_day(episodes: list[dict[str, str]]) -> dict[str, dict[str, int]]:
        days: dict[str, dict[str, int]] = {}
        for episode in episodes:
            day = days.setdefault(episode["opened_at"][:10], {"air": 0, "wastewater": 0})
            day[episode["medium"]] += 1
        return dict(sorted(days.items()))

    episodes = exceedance_episodes([p for p in points if p[3] != DEVICE_CHECK])
    devices = [
        {k: v for k, v in e.items() if k != "limit_kind"}
        for e in exceedance_episodes([p for p in points if p[3] == DEVICE_CHECK])
    ]
    return {
        "exceedance_alerts": per_day(episodes),
        "exceedance_episodes": episodes,
        "device_alerts": per_day(devices),
        "device_error_episodes": devices,
    }


def generate(out: Path, start: date, days: int, rows_per_day: int, seed: int, progress: bool = True) -> dict[str, Any]:
    """Write reference lists, ``days`` daily reading files and the report; return the report.

    Deterministic: everything derives from ``seed`` (and the other arguments), never the clock.
    """
    if days < 1 or rows_per_day < 1:
        raise ValueError("days and rows_per_day must be positive")
    out = Path(out)
    root = out / SECTOR
    for folder in ("reference", AIR_SPEC.folder, WASTEWATER_SPEC.folder):
        (root / folder).mkdir(parents=True, exist_ok=True)

    n_air, n_water = entity_counts(rows_per_day)
    ref_rng = random.Random(f"{seed}:reference")  # nosec B311  # seeded sample data, not cryptography
    stations = _air_stations(n_air, ref_rng)
    facilities = _wastewater_facilities(n_water, ref_rng)

    files: dict[str, dict[str, Any]] = {}
    ref_air = root / "reference" / "air_stations.csv"
    ref_water = root / "reference" / "wastewater_facilities.csv"
    _write_reference(
        ref_air,
        ("station_id", "station_name", "province_code", "latitude", "longitude", "active_since"),
        [e.reference_row for e in stations],
    )
    _write_reference(
        ref_water,
        (*_FACILITY_COLUMNS, *CONTACT_COLUMNS),
        [(*e.reference_row, *facility_contact(seed, e.entity_id)) for e in facilities],
    )
    files[ref_air.relative_to(out).as_posix()] = _reference_entry("air_station", len(stations))
    files[ref_water.relative_to(out).as_posix()] = _reference_entry("wastewater_facility", len(facilities))

    plan = ((AIR_SPEC, stations), (WASTEWATER_SPEC, facilities))
    points: list[tuple[str, str, str, str, str, bool]] = []
    total = int(days * sum(_expected_rows(spec, ents) for spec, ents in plan))
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (progress and console.is_terminal),
    ) as bar:
        task = bar.add_task("environment sample rows", total=total)

        def tick(n: int) -> None:
            bar.advance(task, n)

        for offset in range(days):
            day = start + timedelta(days=offset)
            for spec, ents in plan:
                late_here = _late_blocks(spec, ents, day, seed)
                if offset + 1 < days:
                    skip = {(ei, h) for h, ei in _late_blocks(spec, ents, day + timedelta(days=1), seed)}
                else:
                    skip = set()
                path = root / spec.folder / f"readings_{day:%Y%m%d}.csv"
                files[path.relative_to(out).as_posix()] = _write_readings(
                    path, spec, ents, day, seed, late_here, skip, tick, points
                )
        done = sum(f["data_rows"] for f in files.values() if f["dataset"].endswith("_reading"))
        bar.update(task, total=done, completed=done)

    for relative, entry in files.items():
        _write_manifest(out / relative, entry["data_rows"])
    report: dict[str, Any] = {
        "seed": seed,
        "start": start.isoformat(),
        "days": days,
        "rows_per_day": rows_per_day,
        "files": files,
        "silent_stations": [e.entity_id for e in stations if e.silent],
        "expected_outcome": dict(EXPECTED_OUTCOME),
        **_alert_report(points),
    }
    with (root / "_generation_report.json").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return report


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """CLI: ``python -m sample_sources.environment.generate --out DIR [...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="output directory (files go under DIR/environment)")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26), help="first day (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=1, help="number of daily files per dataset")
    parser.add_argument("--rows", type=int, default=2000, help="reading rows per day across both datasets")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    args = parser.parse_args(argv)
    report = generate(args.out, args.date, args.days, args.rows, args.seed, progress=not args.no_progress)
    rows = sum(f["data_rows"] for f in report["files"].values() if f["dataset"].endswith("_reading"))
    summary = f"wrote {len(report['files'])} files ({rows} reading rows) under {args.out / SECTOR}"
    print(summary, file=stdout or sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
