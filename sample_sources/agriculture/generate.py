"""Seeded generator of agriculture-sector sample sources: crop statistics, OCOP registry, EPCIS events.

Why: the pipeline needs realistic, *countable* input served over HTTP the way ministries publish
it. Everything derives from ``random.Random`` seeded by the arguments (never the clock), so the
same arguments give byte-identical files, and ``agriculture/_generation_report.json`` states how
many rows the pipeline must quarantine (per reason), drop as duplicates and keep in silver.

Layout under ``--out DIR`` (the HTTP server serves this tree; the local-drop channel reads it)::

    agriculture/crop_stats/crop_stats_YYYYMMDD.csv    statistics export (``/files/…``): the whole
        series 2015–2026 (fixture: 2024–2026); on even days of the month a legacy-font export (no
        UTF-8: each provincial office's rows in TCVN3 or VNI bytes)
    agriculture/ocop/products_YYYYMMDD.jsonl          OCOP registry, one product a line, paginated
        by the server (``/api/pages/…``) with ``total``; the manifest beside it states that total
    agriculture/traceability/epcis_YYYYMMDD.jsonld    EPCIS 2.0 JSON-LD document (``/api/document/…``)
    agriculture/traceability/events_YYYYMMDD.jsonl    the same events one a line (local-drop replay)
    agriculture/_generation_report.json

Mess (docs/domain.md, "Agriculture", "Vietnamese text"), each kind an exact quota spread by the RNG:
crop — Vietnamese number notation (``31.005,00``) beside English (``7,329,200``), legacy fonts,
pre-2025 reporting provinces (by code only, by name only, ASCII names, "Tỉnh …"), the defunct Hà
Tây, production inconsistent with area × yield / 10, exact duplicates, one province × crop ×
season gap; OCOP — stars outside 3–5, stars inconsistent with the score, NFD text, legacy
province codes and names in entries recognized before 2025-07-01, duplicates; traceability —
missing eventTime, unknown product, events out of document order and lots whose steps are out of
time order, CBV URIs instead of short names, duplicates, lots missing steps.

Rows: ``--rows`` is split ≈ 25 % crop statistics (capped by the series' key space), ≈ 15 % OCOP
products, the rest EPCIS events, written as a stream (10 million rows never sit in memory).

Usage::

    python -m sample_sources.agriculture.generate --out DIR [--date 2026-11-26] [--rows 2000]
        [--seed 42] [--no-progress]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sample_sources import provinces
from sample_sources.agriculture.facts import (
    CROP_STATS_COLUMNS,
    CROPS,
    EXPECTED_STEPS,
    OCOP_GROUPS,
    PRODUCER_TYPES,
    SEASONS,
    STAR_SCORE_BANDS,
    gtin13_check_digit,
    season_end,
)
from sample_sources.legacy_text import ENCODERS, ascii_fold
from sample_sources.provinces import REFORM_DATE

FILE_ENCODINGS = ("utf-8", "tcvn3", "vni", "utf-8", "utf-8-via-cp1252", "utf-8")
"""crop_stats file encoding by day of month (index ``day % 6``): every other day a legacy one."""

SECTOR = "agriculture"
CROP_SHARE, OCOP_SHARE = 0.25, 0.15
TRACED_PRODUCTS = 100_000

# crop code → (seasons, 2025 provinces growing it or None for all, yield range tạ/ha, area range per unit ha)
CROP_PLAN: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None, tuple[float, float], tuple[float, float]]] = {
    "LUA": (("DONG_XUAN", "HE_THU", "MUA"), None, (48.0, 68.0), (8000.0, 120000.0)),
    "NGO": (("DONG_XUAN", "HE_THU"), None, (38.0, 62.0), (1500.0, 30000.0)),
    "CA_PHE": (("CA_NAM",), ("66", "68", "52", "51"), (24.0, 32.0), (20000.0, 210000.0)),
    "CAO_SU": (("CA_NAM",), ("75", "80", "52", "66"), (14.0, 19.0), (15000.0, 150000.0)),
    "HO_TIEU": (("CA_NAM",), ("66", "52", "75", "79"), (22.0, 30.0), (3000.0, 35000.0)),
}
# Provinces whose figures show the traps first (merged units, a reused code, Hà Nội), then the rest.
PROVINCE_ORDER = ("37", "24", "38", "01", "66", "52", "75", "79", "92", "91")

CROP_RATES = {
    "vn_number_format": 0.3,
    "name_only_province": 0.1,
    "code_only_province": 0.1,
    "inconsistent_production": 0.02,
    "exact_duplicate": 0.02,
}
OCOP_RATES = {
    "stars_out_of_range": 0.02,
    "stars_score_mismatch": 0.02,
    "nfd_text": 0.1,
    "exact_duplicate": 0.02,
    "date_dd_mm_yyyy": 0.2,
}
TRACE_RATES = {
    "missing_event_time": 0.01,
    "unknown_product": 0.01,
    "exact_duplicate": 0.01,
    "cbv_uri": 0.1,
    "lot_steps_out_of_order": 0.03,
    "lot_missing_steps": 0.15,
}
EXPECTED_OUTCOME = {
    "vn_number_format": "repaired: 31.005,00 / 1.714.577 read as Vietnamese notation",
    "legacy_font_rows": (
        "repaired: the whole file in TCVN3 (iconv), VNI (typed chart) or UTF-8 read as cp1252, "
        "decoded per file (bronze _charset), NFC"
    ),
    "legacy_unit_rows": "mapped: the 63-province unit of the record's date → its 2025 province (gold sums them)",
    "name_only_province": "mapped: province given by (ASCII / 'Tỉnh …') name only",
    "code_only_province": "mapped: province given by code only (legacy scheme before 2025-07-01: 24 = Bắc Giang)",
    "defunct_province": "quarantine DEFUNCT_PROVINCE (Hà Tây in a 2024 record)",
    "inconsistent_production": "quarantine PRODUCTION_INCONSISTENT (production ×1.3)",
    "exact_duplicate": "removed as exact duplicate",
    "coverage_gap": "kept; the đủ check season_coverage flags the crop × season × year with a province missing",
    "stars_out_of_range": "quarantine INVALID_STARS (2 or 6 stars)",
    "stars_score_mismatch": "quarantine STARS_SCORE_MISMATCH (5 stars for a 4-star score)",
    "nfd_text": "repaired: names normalised to NFC",
    "legacy_province": "mapped: legacy code or name of an entry recognized before 2025-07-01",
    "date_dd_mm_yyyy": "repaired: dd/mm/yyyy recognition date",
    "missing_event_time": "quarantine MISSING_EVENT_TIME",
    "unknown_product": "quarantine UNKNOWN_PRODUCT (GTIN not in the OCOP registry)",
    "cbv_uri": "repaired: bizStep / disposition URIs read as CBV short names",
    "lot_steps_out_of_order": "kept; gold steps_in_order = false (receiving before shipping)",
    "lot_missing_steps": "kept; gold completeness < 1",
    "document_order_shuffled": "kept: the document lists events out of time order",
}


def _quota(rate: float, n: int) -> int:
    return min(n, max(1, round(rate * n))) if n else 0


def _pick(
    rng: random.Random, n: int, quotas: dict[str, int], eligible: Callable[[str, int], bool] | None = None
) -> dict[int, str]:
    """Assign each kind its quota of distinct row indices (a row carries at most one kind)."""
    free = list(range(n))
    rng.shuffle(free)
    chosen: dict[int, str] = {}
    for kind, count in quotas.items():
        taken = 0
        for i in free:
            if taken == count:
                break
            if i in chosen or (eligible is not None and not eligible(kind, i)):
                continue
            chosen[i] = kind
            taken += 1
    return chosen


def _vn_number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"  # 31,005.00
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def _en_number(value: float, decimals: int, grouped: bool) -> str:
    return f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"


@dataclass
class _Counter:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n


# ---------------------------------------------------------------------------------------------
# crop_stats


@dataclass(frozen=True)
class _CropRow:
    unit_code: str
    unit_name: str
    province_2025: str
    crop: str
    season: str
    year: int
    area: float
    yield_: float
    production: float
    preliminary: bool


def _predecessors() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for old, new in sorted(provinces.legacy_to_2025().items()):
        out.setdefault(new, []).append(old)
    return out


def _crop_rows(target: int, day: date, rng: random.Random) -> list[_CropRow]:
    """The series' rows: per 2025 province (traps first) until about ``target`` rows."""
    years = list(range(2024, day.year + 1)) if target < 1500 else list(range(2015, day.year + 1))
    order = list(PROVINCE_ORDER) + [c for c in provinces.provinces_2025() if c not in PROVINCE_ORDER]
    preds = _predecessors()
    base: dict[tuple[str, str], tuple[float, float]] = {}  # (legacy unit, crop) -> (area, yield)
    rows: list[_CropRow] = []
    for p in order:
        for crop, (seasons, growers, (ylo, yhi), (alo, ahi)) in CROP_PLAN.items():
            if growers is not None and p not in growers:
                continue
            for unit in preds[p]:
                base[(unit, crop)] = (rng.uniform(alo, ahi) / len(preds[p]), rng.uniform(ylo, yhi))
            for year in years:
                for season in seasons:
                    end = season_end(season, year)
                    legacy = end < REFORM_DATE
                    units = preds[p] if legacy else [p]
                    for unit in units:
                        parts = [base[(u, crop)] for u in (preds[p] if not legacy else [unit])]
                        drift = 1 + 0.015 * (year - 2020) + rng.uniform(-0.04, 0.04)
                        area = round(sum(a for a, _ in parts) * drift * (0.6 if season == "HE_THU" else 1.0), 2)
                        yld = round(sum(y for _, y in parts) / len(parts) * (1 + rng.uniform(-0.05, 0.05)), 1)
                        production = float(round(area * yld / 10))
                        name = provinces.provinces_legacy()[unit] if legacy else provinces.provinces_2025()[unit]
                        rows.append(
                            _CropRow(unit, name, p, crop, season, year, area, yld, production, year >= day.year)
                        )
        if len(rows) >= target:
            break
    return rows


def _province_variant(name: str, kind: str, rng: random.Random) -> str:
    if kind == "ascii":
        return " ".join(ascii_fold(name).casefold().split()).title()
    return f"Tỉnh {name}" if not name.startswith(("TP", "Hà Nội")) else name


def _write_crop_stats(path: Path, day: date, target: int, seed: int, tick: Callable[[int], None]) -> dict[str, Any]:
    rng = random.Random(f"{seed}:crop:{day}")  # nosec B311  # seeded sample data, not cryptography
    rows = _crop_rows(target, day, rng)
    # the coverage gap: the last 2025-era row of a province reporting alone (one unit per season)
    gap = max(i for i, r in enumerate(rows) if r.year == day.year and r.crop == "NGO")
    rows = rows[:gap] + rows[gap + 1 :]
    n = len(rows)
    quotas = {k: _quota(r, n) for k, r in CROP_RATES.items() if k != "exact_duplicate"}
    # legacy-era rows only may drop code or name (a 2025 row always carries both)
    legacy_only = {"name_only_province", "code_only_province"}
    kinds = _pick(
        rng, n, quotas, lambda k, i: k not in legacy_only or season_end(rows[i].season, rows[i].year) < REFORM_DATE
    )
    dup_rows = set(
        rng.sample(
            [i for i in range(n) if i not in kinds or kinds[i] == "vn_number_format"],
            _quota(CROP_RATES["exact_duplicate"], n),
        )
    )
    encoding = FILE_ENCODINGS[day.day % len(FILE_ENCODINGS)]
    counter = _Counter()
    lines: list[list[str]] = []
    for i, r in enumerate(rows):
        kind = kinds.get(i)
        code, name = r.unit_code, r.unit_name
        if kind == "name_only_province":
            code, name = "", _province_variant(name, rng.choice(("ascii", "prefix")), rng)
        elif kind == "code_only_province":
            name = ""
        production = r.production * (1.3 if kind == "inconsistent_production" else 1.0)
        if kind == "vn_number_format":
            numbers = [_vn_number(r.area, 2), _vn_number(r.yield_, 1), _vn_number(production, 0)]
        else:
            numbers = [_en_number(r.area, 2, False), _en_number(r.yield_, 1, False), _en_number(production, 0, True)]
        status = "Sơ bộ" if r.preliminary else "Chính thức"
        line = [code, name, CROPS[r.crop], SEASONS[r.season], str(r.year), *numbers, status]
        if kind:
            counter.add(kind)
        if season_end(r.season, r.year) < REFORM_DATE:
            counter.add("legacy_unit_rows")
        lines.append(line)
        if i in dup_rows:
            lines.append(list(line))
            counter.add("exact_duplicate")
    # Hà Tây, defunct since 2008, in a legacy-era record
    defunct = ["", "Hà Tây", CROPS["LUA"], SEASONS["DONG_XUAN"], "2024", "21500.00", "57.2", "122,980", "Chính thức"]
    lines.insert(len(lines) // 2, defunct)
    counter.add("defunct_province")
    counter.add("coverage_gap")

    path.parent.mkdir(parents=True, exist_ok=True)
    text = ",".join(CROP_STATS_COLUMNS) + "\n" + "".join(",".join(_csv_field(v) for v in line) + "\n" for line in lines)
    if encoding != "utf-8":  # the whole file in one legacy encoding, as an old export tool writes it
        counter.counts["legacy_font_rows"] = sum(1 for line in lines if not all(v.isascii() for v in line))
    path.write_bytes(text.encode("utf-8") if encoding == "utf-8" else ENCODERS[encoding](text))
    tick(len(lines))
    data_rows = len(lines)
    quarantine = {
        "DEFUNCT_PROVINCE": 1,
        "PRODUCTION_INCONSISTENT": counter.counts.get("inconsistent_production", 0),
    }
    duplicates = counter.counts.get("exact_duplicate", 0)
    return {
        "dataset": "crop_stats",
        "data_rows": data_rows,
        "encoding": encoding,
        "mess": dict(sorted(counter.counts.items())),
        "expected_quarantine": dict(sorted(quarantine.items())),
        "expected_duplicates_removed": duplicates,
        "expected_silver_rows": data_rows - sum(quarantine.values()) - duplicates,
    }


def _csv_field(value: str) -> str:
    return f'"{value}"' if "," in value or '"' in value else value


# ---------------------------------------------------------------------------------------------
# ocop_product

_PRODUCT_WORDS = {
    "THUC_PHAM": ("Mật ong rừng", "Mắm tôm", "Nem chua", "Bánh đa", "Gạo thơm", "Chè búp", "Mứt gừng"),
    "DO_UONG": ("Rượu nếp cái hoa vàng", "Trà sen", "Cà phê bột nguyên chất", "Nước cốt gừng"),
    "THAO_DUOC": ("Cao actiso", "Tinh dầu sả chanh", "Trà giảo cổ lam", "Nghệ tinh bột"),
    "THU_CONG_MY_NGHE": ("Chiếu cói", "Nón lá", "Gốm men lam", "Mây tre đan"),
    "SINH_VAT_CANH": ("Lan hồ điệp", "Đào thế", "Quất cảnh"),
    "DU_LICH": ("Làng nghề truyền thống", "Du lịch sinh thái miệt vườn"),
}
_PLACES = ("Hòa Bình", "Phú Lộc", "Tân Thạnh", "Quảng Điền", "Đông Hưng", "Yên Thủy", "Cẩm Giàng", "Nghĩa Đàn")
_PEOPLE = ("Nguyễn Văn Hùng", "Trần Thị Lan", "Lê Đức Thịnh", "Phạm Thị Hương", "Hoàng Văn Quý")


@dataclass(frozen=True)
class _Product:
    code: str
    gtin: str
    province_2025: str
    clean: bool


def _ocop_item(i: int, day: date, rng: random.Random) -> tuple[dict[str, Any], str, date]:
    p2025 = rng.choice(sorted(provinces.provinces_2025()))
    group = rng.choice(list(OCOP_GROUPS))
    score = rng.randint(50, 100)
    stars = next(s for s, (lo, hi) in STAR_SCORE_BANDS.items() if lo <= score <= hi)
    recognized = day - timedelta(days=rng.randint(1, 7 * 365))
    body = f"893{i // 100000:04d}{i % 100000:05d}"  # unique per product up to 10^9 products
    gtin = body + str(gtin13_check_digit(body))
    place = rng.choice(_PLACES)
    producer_type = rng.choice(list(PRODUCER_TYPES))
    producer = {
        "DOANH_NGHIEP": f"Công ty TNHH {place}",
        "HOP_TAC_XA": f"Hợp tác xã Nông nghiệp {place}",
        "TO_HOP_TAC": f"Tổ hợp tác {place}",
        "HO_KINH_DOANH": f"Hộ kinh doanh {rng.choice(_PEOPLE)}",
    }[producer_type]
    item = {
        "product_code": f"OCOP-{p2025}-{recognized.year}-{i:06d}",
        "product_name": f"{rng.choice(_PRODUCT_WORDS[group])} {place}",
        "group": OCOP_GROUPS[group],
        "stars": stars,
        "score": score,
        "gtin": gtin,
        "producer_name": producer,
        "producer_type": PRODUCER_TYPES[producer_type],
        "commune": f"Xã {place}",
        "province": p2025,
        "recognized_on": recognized.isoformat(),
    }
    return item, p2025, recognized


def _write_ocop(
    path: Path, day: date, n: int, seed: int, tick: Callable[[int], None]
) -> tuple[dict[str, Any], list[_Product]]:
    rng = random.Random(f"{seed}:ocop:{day}")  # nosec B311  # seeded sample data, not cryptography
    quotas = {k: _quota(r, n) for k, r in OCOP_RATES.items() if k != "exact_duplicate"}
    kinds = _pick(rng, n, quotas)
    dups = set(
        rng.sample(
            [i for i in range(n) if kinds.get(i) != "stars_out_of_range"], _quota(OCOP_RATES["exact_duplicate"], n)
        )
    )
    preds = _predecessors()
    counter = _Counter()
    products: list[_Product] = []
    data_rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for i in range(n):
            item, p2025, recognized = _ocop_item(i, day, rng)
            kind = kinds.get(i)
            if recognized < REFORM_DATE:
                legacy = rng.choice(preds[p2025])
                item["province"] = legacy if rng.random() < 0.5 else provinces.provinces_legacy()[legacy]
                counter.add("legacy_province")
            elif rng.random() < 0.3:
                item["province"] = provinces.provinces_2025()[p2025]
            if kind == "stars_out_of_range":
                item["stars"] = rng.choice((2, 6))
            elif kind == "stars_score_mismatch":
                item["stars"], item["score"] = 5, rng.randint(70, 89)
            elif kind == "nfd_text":
                for key in ("product_name", "producer_name", "commune"):
                    item[key] = unicodedata.normalize("NFD", item[key])
            elif kind == "date_dd_mm_yyyy":
                item["recognized_on"] = recognized.strftime("%d/%m/%Y")
            if kind:
                counter.add(kind)
            line = json.dumps(item, ensure_ascii=False)
            fh.write(line + "\n")
            data_rows += 1
            if i in dups:
                fh.write(line + "\n")
                data_rows += 1
                counter.add("exact_duplicate")
            clean = kind not in ("stars_out_of_range", "stars_score_mismatch")
            if len(products) < TRACED_PRODUCTS:  # lots cycle over these: memory stays flat at any --rows
                products.append(_Product(item["product_code"], item["gtin"], p2025, clean))
            if i % 10000 == 9999:
                tick(10000)
    tick(n % 10000)
    _write_manifest(path, data_rows)
    quarantine = {
        "INVALID_STARS": counter.counts.get("stars_out_of_range", 0),
        "STARS_SCORE_MISMATCH": counter.counts.get("stars_score_mismatch", 0),
    }
    duplicates = counter.counts.get("exact_duplicate", 0)
    entry = {
        "dataset": "ocop_product",
        "data_rows": data_rows,
        "stated_rows": data_rows,
        "mess": dict(sorted(counter.counts.items())),
        "expected_quarantine": {k: v for k, v in sorted(quarantine.items()) if v},
        "expected_duplicates_removed": duplicates,
        "expected_silver_rows": data_rows - sum(quarantine.values()) - duplicates,
    }
    return entry, products


def _write_manifest(path: Path, rows: int) -> None:
    path.with_name(path.name + ".manifest.json").write_text(json.dumps({"rows": rows}) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# traceability_event (EPCIS 2.0)

EPCIS_CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"cbvmda": "urn:epcglobal:cbv:mda:"}]
LOCAL = timedelta(hours=7)


def _epc_class(gtin: str, lot: str, digital_link: bool = False) -> str:
    """LGTIN class URI of a GTIN-13 (indicator 0, 7-digit company prefix) and a lot, or the same
    class as a GS1 Digital Link URI (GTIN-14 = 0 + GTIN-13)."""
    if digital_link:
        return f"https://id.gs1.org/01/0{gtin}/10/{lot}"
    return f"urn:epc:class:lgtin:{gtin[:7]}.0{gtin[7:12]}.{lot}"


def _sgtin(gtin: str, serial: int, digital_link: bool = False) -> str:
    if digital_link:
        return f"https://id.gs1.org/01/0{gtin}/21/{serial}"
    return f"urn:epc:id:sgtin:{gtin[:7]}.0{gtin[7:12]}.{serial}"


def _as_transformation(event: dict[str, Any], made_from: tuple[str, str], digital_link: bool) -> dict[str, Any]:
    """A commissioning ObjectEvent turned into the TransformationEvent that made the lot from another
    lot (EPCIS 2.0: no action; the lot's class is an output, ``ilmd`` describes the outputs).
    Draws nothing from the RNG, so every other event stays byte for byte what it was."""
    out = {k: v for k, v in event.items() if k not in ("action", "quantityList")}
    (element,) = event["quantityList"]
    gtin, lot = made_from
    out["inputQuantityList"] = [
        {"epcClass": _epc_class(gtin, lot, digital_link), "quantity": element["quantity"], "uom": "KGM"}
    ]
    out["outputQuantityList"] = event["quantityList"]
    out["type"] = "TransformationEvent"
    return out


def _lot_events(
    product: _Product,
    lot: str,
    day: date,
    rng: random.Random,
    kind: str | None,
    made_from: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    digital_link = int(lot[-1]) % 3 == 1  # lots ending in 1, 4, 7: GS1 Digital Link URIs (no RNG draw)
    steps = list(EXPECTED_STEPS)
    if kind == "lot_missing_steps":
        steps = steps[: rng.choice((2, 3))]
    start = datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC) - LOCAL + timedelta(minutes=rng.randint(0, 300))
    times = [start + timedelta(minutes=90 * k + rng.randint(0, 60)) for k in range(len(steps))]
    if kind == "lot_steps_out_of_order" and len(steps) >= 3:
        times[1], times[2] = times[2], times[1]  # received before it was shipped
    sgln = f"urn:epc:id:sgln:{product.gtin[:7]}.00001.0"
    events = []
    for step, moment in zip(steps, times, strict=True):
        local = moment + LOCAL
        event: dict[str, Any] = {
            "type": "ObjectEvent",
            "eventID": f"ni:///sha-256;{rng.getrandbits(128):032x}?ver=CBV2.0",
            "eventTime": local.strftime("%Y-%m-%dT%H:%M:%S.000+07:00"),
            "eventTimeZoneOffset": "+07:00",
            "action": "ADD" if step == "commissioning" else "OBSERVE",
            "bizStep": step,
            "disposition": {"commissioning": "active", "shipping": "in_transit", "receiving": "in_progress"}.get(
                step, "retail_sold"
            ),
            "readPoint": {"id": sgln},
            "bizLocation": {"id": sgln},
            "quantityList": [
                {
                    "epcClass": _epc_class(product.gtin, lot, digital_link),
                    "quantity": rng.randint(20, 400),
                    "uom": "KGM",
                }
            ],
        }
        if step == "commissioning":
            event["ilmd"] = {
                "cbvmda:lotNumber": lot,
                "cbvmda:itemExpirationDate": (day + timedelta(days=365)).isoformat(),
            }
            if made_from is not None:
                event = _as_transformation(event, made_from, digital_link)
        if step == "retail_selling" and rng.random() < 0.5:
            event["epcList"] = [_sgtin(product.gtin, k, digital_link) for k in range(1, 4)]
        events.append(event)
    return events


def _write_traceability(
    doc_path: Path,
    lines_path: Path,
    day: date,
    n: int,
    products: list[_Product],
    seed: int,
    tick: Callable[[int], None],
) -> dict[str, Any]:
    rng = random.Random(f"{seed}:trace:{day}")  # nosec B311  # seeded sample data, not cryptography
    clean = [p for p in products if p.clean] or products
    lots = max(1, n // 4)
    lot_kinds = _pick(
        rng,
        lots,
        {k: _quota(TRACE_RATES[k], lots) for k in ("lot_steps_out_of_order", "lot_missing_steps", "unknown_product")},
    )
    counter = _Counter()
    event_rate = {k: TRACE_RATES[k] for k in ("missing_event_time", "exact_duplicate", "cbv_uri")}
    quarantine = {"MISSING_EVENT_TIME": 0, "UNKNOWN_PRODUCT": 0}
    written = 0
    doc_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        doc_path.open("w", encoding="utf-8", newline="\n") as doc,
        lines_path.open("w", encoding="utf-8", newline="\n") as jl,
    ):
        header = {
            "@context": EPCIS_CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": f"{day + timedelta(days=1)}T00:05:00.000+07:00",
            "epcisBody": {"eventList": "__EVENTS__"},
        }
        head, tail = json.dumps(header, ensure_ascii=False, indent=1).split('"__EVENTS__"')
        doc.write(head + "[\n")
        first = True

        def emit(event: dict[str, Any]) -> None:
            nonlocal first, written
            doc.write(("" if first else ",\n") + json.dumps(event, ensure_ascii=False))
            jl.write(json.dumps(event, ensure_ascii=False) + "\n")
            first = False
            written += 1

        window: list[dict[str, Any]] = []
        for lot_i in range(lots):
            kind = lot_kinds.get(lot_i)
            product = clean[lot_i % len(clean)]
            if kind == "unknown_product":
                body = f"8939999{lot_i % 100000:05d}"
                product = _Product("UNKNOWN", body + str(gtin13_check_digit(body)), "01", False)
            lot = f"L{day:%y%m%d}{lot_i:05d}"
            # lots 6, 16, 26 … are made from the lot before (a TransformationEvent) when both are clean
            made_from = None
            if kind is None and lot_i % 10 == 6 and lot_kinds.get(lot_i - 1) is None:
                made_from = (clean[(lot_i - 1) % len(clean)].gtin, f"L{day:%y%m%d}{lot_i - 1:05d}")
            events = _lot_events(product, lot, day, rng, kind, made_from)
            if kind:
                counter.add(kind)
            for event in events:
                roll = rng.random()
                if roll < event_rate["missing_event_time"]:
                    del event["eventTime"]
                    counter.add("missing_event_time")
                    quarantine["MISSING_EVENT_TIME"] += 1
                elif kind == "unknown_product":
                    quarantine["UNKNOWN_PRODUCT"] += 1
                elif roll < event_rate["missing_event_time"] + event_rate["cbv_uri"]:
                    event["bizStep"] = f"https://ref.gs1.org/cbv/BizStep-{event['bizStep']}"
                    counter.add("cbv_uri")
                window.append(event)
                if rng.random() < event_rate["exact_duplicate"]:
                    window.append(event)
                    counter.add("exact_duplicate")
            if len(window) >= 12 or lot_i == lots - 1:
                rng.shuffle(window)  # the document lists a few lots' events in no time order
                for event in window:
                    emit(event)
                tick(len(window))
                window = []
        doc.write("\n]" + tail + "\n")
    counter.add("document_order_shuffled")
    duplicates = counter.counts.get("exact_duplicate", 0)
    return {
        "dataset": "traceability_event",
        "data_rows": written,
        "document": doc_path.name,
        "lots": lots,
        "mess": dict(sorted(counter.counts.items())),
        "expected_quarantine": {k: v for k, v in sorted(quarantine.items()) if v},
        "expected_duplicates_removed": duplicates,
        "expected_silver_rows": written - sum(quarantine.values()) - duplicates,
    }


# ---------------------------------------------------------------------------------------------


def generate(out: Path, day: date, rows: int, seed: int, progress: bool = True) -> dict[str, Any]:
    """Write the three sources for ``day`` and the report; return the report (deterministic)."""
    if rows < 40:
        raise ValueError("--rows must be at least 40 (a few rows of each dataset)")
    root = Path(out) / SECTOR
    crop_target = int(rows * CROP_SHARE)
    n_ocop = max(10, int(rows * OCOP_SHARE))
    console = Console(stderr=True)
    files: dict[str, dict[str, Any]] = {}
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (progress and console.is_terminal),
    ) as bar:
        task = bar.add_task("agriculture sample rows", total=rows)

        def tick(n: int) -> None:
            bar.advance(task, n)

        crop = root / "crop_stats" / f"crop_stats_{day:%Y%m%d}.csv"
        files[crop.relative_to(out).as_posix()] = _write_crop_stats(crop, day, crop_target, seed, tick)
        ocop = root / "ocop" / f"products_{day:%Y%m%d}.jsonl"
        entry, products = _write_ocop(ocop, day, n_ocop, seed, tick)
        files[ocop.relative_to(out).as_posix()] = entry
        n_events = max(8, rows - sum(f["data_rows"] for f in files.values()))
        doc = root / "traceability" / f"epcis_{day:%Y%m%d}.jsonld"
        events = root / "traceability" / f"events_{day:%Y%m%d}.jsonl"
        files[events.relative_to(out).as_posix()] = _write_traceability(
            doc, events, day, n_events, products, seed, tick
        )
    report = {
        "seed": seed,
        "date": day.isoformat(),
        "rows": rows,
        "files": files,
        "expected_outcome": EXPECTED_OUTCOME,
    }
    (root / "_generation_report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return report


def _iter_rows(report: dict[str, Any]) -> Iterator[int]:
    return (f["data_rows"] for f in report["files"].values())


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """CLI: ``python -m sample_sources.agriculture.generate --out DIR [...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="output directory (files go under DIR/agriculture)")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26), help="the day (YYYY-MM-DD)")
    parser.add_argument("--rows", type=int, default=2000, help="rows across the three sources")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    args = parser.parse_args(argv)
    report = generate(args.out, args.date, args.rows, args.seed, progress=not args.no_progress)
    print(
        f"wrote {len(report['files'])} sources ({sum(_iter_rows(report))} rows) under {args.out / SECTOR}",
        file=stdout or sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
