"""Registry entries of the agriculture sector: crop statistics, OCOP products, product traceability.

Owner: Bộ Nông nghiệp và Môi trường. Crop statistics follow the statistical yearbook layout
(province × crop × season × year; area ha, yield tạ/ha, production t, "Sơ bộ" = preliminary);
OCOP products follow Decision 148/QĐ-TTg (2023: six groups, 3–5 stars by score); traceability
events are GS1 EPCIS 2.0 ObjectEvents (CBV 2.0 business steps). Every source comes over HTTP.
"""

from __future__ import annotations

from datetime import date, timedelta

from jobs.checks import line_checks, not_empty, province_codes_2025, text_checks, unique_key
from jobs.registry import (
    Channel,
    Check,
    Classification,
    Criterion,
    Dataset,
    Field,
    Layer,
    Ministry,
    RowRule,
    Severity,
    Source,
    undecidable_text_rule,
)

SECTOR = "agriculture"
OWNER = Ministry.AGRICULTURE_ENVIRONMENT
C, S = Criterion, Severity

# ---------------------------------------------------------------------------------------------
# Reference facts (docs/domain.md, "Agriculture"), shared by transforms, generator and tests.

CROPS: dict[str, str] = {
    "LUA": "Lúa",
    "NGO": "Ngô",
    "CA_PHE": "Cà phê",
    "CAO_SU": "Cao su",
    "HO_TIEU": "Hồ tiêu",
}
"""Crop code → name as the yearbook writes it."""

SEASONS: dict[str, str] = {
    "DONG_XUAN": "Đông Xuân",
    "HE_THU": "Hè Thu",
    "THU_DONG": "Thu Đông",
    "MUA": "Mùa",
    "CA_NAM": "Cả năm",  # perennial crops: the whole year
}
SEASON_END: dict[str, tuple[int, int]] = {
    "DONG_XUAN": (5, 31),
    "HE_THU": (8, 31),
    "THU_DONG": (11, 30),
    "MUA": (12, 31),
    "CA_NAM": (12, 31),
}
"""(month, day) a season's harvest ends: the record's date, which decides its province scheme.
Đông Xuân 2025 (to 31 May) is reported by the 63 provinces, Hè Thu 2025 (to 31 August) by the 34."""

YIELD_RANGE_TA_HA = (1.0, 150.0)
"""Plausible yield in tạ/ha for any crop here (rice ≈ 55–60, coffee ≈ 28, rubber ≈ 17)."""
PRODUCTION_TOLERANCE = 0.02
"""production may differ from area × yield / 10 by this share (published figures are rounded)."""
FIRST_YEAR = 2000


def season_end(season_code: str, year: int) -> date:
    month, day = SEASON_END[season_code]
    return date(year, month, day)


OCOP_GROUPS: dict[str, str] = {
    "THUC_PHAM": "Thực phẩm",
    "DO_UONG": "Đồ uống",
    "THAO_DUOC": "Thảo dược",
    "THU_CONG_MY_NGHE": "Thủ công mỹ nghệ",
    "SINH_VAT_CANH": "Sinh vật cảnh",
    "DU_LICH": "Dịch vụ du lịch cộng đồng và điểm du lịch",
}
"""The six OCOP product groups (Decision 148/QĐ-TTg, 2023)."""

PRODUCER_TYPES: dict[str, str] = {
    "DOANH_NGHIEP": "Doanh nghiệp",
    "HOP_TAC_XA": "Hợp tác xã",
    "TO_HOP_TAC": "Tổ hợp tác",
    "HO_KINH_DOANH": "Hộ kinh doanh",
}

STAR_SCORE_BANDS: dict[int, tuple[int, int]] = {3: (50, 69), 4: (70, 89), 5: (90, 100)}
"""OCOP stars by evaluation score (Decision 148/QĐ-TTg): 3★ 50–69, 4★ 70–89, 5★ 90–100."""

EXPECTED_STEPS: tuple[str, ...] = ("commissioning", "shipping", "receiving", "retail_selling")
"""The supply-chain steps a traceable OCOP lot should show, in order (CBV 2.0 bizStep names)."""
BIZ_STEPS: tuple[str, ...] = (
    *EXPECTED_STEPS,
    "packing",
    "storing",
    "inspecting",
    "accepting",
    "loading",
    "departing",
    "arriving",
    "decommissioning",
)
ACTIONS: tuple[str, ...] = ("ADD", "OBSERVE", "DELETE")


# ---------------------------------------------------------------------------------------------
# crop_stats

CROP_STATS_COLUMNS = (
    "province_code",
    "province_name",
    "crop",
    "season",
    "year",
    "planted_area_ha",
    "yield_ta_ha",
    "production_t",
    "status",
)
CROP_KEY = ("reporting_unit_name", "crop_code", "season_code", "year")
_CONSISTENT_SQL = (
    f"abs(production_t - planted_area_ha * yield_ta_ha / 10) <= {PRODUCTION_TOLERANCE} * greatest(production_t, 1)"
)

CROP_STATS = Dataset(
    name="crop_stats",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Thống kê diện tích, năng suất, sản lượng cây trồng theo tỉnh, vụ, năm",
    title_en="Crop area, yield and production by province, season and year",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field(
            "province_code",
            "STRING",
            "Mã tỉnh (2025, 34 tỉnh; số liệu cũ quy đổi theo ngày của số liệu)",
            "Province code (2025, 34 units; legacy records mapped by the record's date)",
            nullable=False,
        ),
        Field(
            "reporting_unit_name",
            "STRING",
            "Đơn vị báo cáo (tên tỉnh tại thời điểm số liệu: 63 tỉnh trước 1/7/2025)",
            "Reporting unit: the province as it stood on the record's date (63 units before 2025-07-01)",
            nullable=False,
        ),
        Field("crop_code", "STRING", "Mã cây trồng", "Crop code", nullable=False),
        Field("crop_name", "STRING", "Tên cây trồng", "Crop name"),
        Field("season_code", "STRING", "Mã vụ", "Season code", nullable=False),
        Field("season_name", "STRING", "Tên vụ", "Season name"),
        Field("year", "INT", "Năm", "Year", nullable=False),
        Field("period_end", "DATE", "Ngày kết thúc vụ (ngày của số liệu)", "Season end (the record's date)"),
        Field("planted_area_ha", "DOUBLE", "Diện tích gieo trồng", "Planted area", unit="ha", nullable=False),
        Field("yield_ta_ha", "DOUBLE", "Năng suất", "Yield", unit="tạ/ha", nullable=False),
        Field("production_t", "DOUBLE", "Sản lượng", "Production", unit="t", nullable=False),
        Field("preliminary", "BOOLEAN", "Số liệu sơ bộ", "Preliminary figure (Sơ bộ)", nullable=False),
    ),
    natural_key=CROP_KEY,
    transform="jobs.agriculture.transforms:crop_stats_to_silver",
    freshness_sla=timedelta(days=120),
    event_time="period_end",
    source=Source(
        "agriculture/crop_stats/crop_stats_{date:%Y%m%d}.csv",
        CROP_STATS_COLUMNS,
        snapshot=True,  # each export is the whole series; revisions replace earlier figures by key
        channel=Channel.HTTP,
        options={"kind": "download", "path": "/files/agriculture/crop_stats/crop_stats_{date:%Y%m%d}.csv"},
    ),
    row_rules=(
        RowRule("MALFORMED_LINE", "_parse_error IS NOT NULL", C.CORRECT, "Line cannot be parsed as a CSV record."),
        RowRule("UNKNOWN_CROP", "crop_code IS NULL", C.CORRECT, "Crop is not one of the crops the series covers."),
        RowRule(
            "UNKNOWN_SEASON",
            "season_code IS NULL",
            C.CORRECT,
            "Season is not Đông Xuân, Hè Thu, Thu Đông, Mùa or Cả năm.",
        ),
        RowRule(
            "INVALID_YEAR",
            f"year IS NULL OR year < {FIRST_YEAR} OR year > _interval_year",
            C.CORRECT,
            f"Year is missing, before {FIRST_YEAR} or after the export's year.",
        ),
        RowRule(
            "DEFUNCT_PROVINCE",
            "_province_problem = 'defunct'",
            C.CORRECT,
            "The province no longer existed on the record's date (Hà Tây merged into Hà Nội on 2008-08-01): "
            "its figures would double count its successor's.",
            acceptable=True,  # a steward may know the row is the successor's, mislabelled
        ),
        RowRule(
            "PROVINCE_MISMATCH",
            "_province_problem = 'mismatch'",
            C.CORRECT,
            "Province code and name name different provinces on the record's date (codes were reused in 2025).",
            acceptable=True,
        ),
        RowRule(
            "UNMAPPABLE_PROVINCE",
            "province_code IS NULL",
            C.CORRECT,
            "Province is neither a 2025 nor a legacy code or name valid on the record's date.",
        ),
        RowRule(
            "INVALID_NUMBER",
            "planted_area_ha IS NULL OR yield_ta_ha IS NULL OR production_t IS NULL",
            C.CORRECT,
            "Area, yield or production is missing or not a number (Vietnamese or English format).",
        ),
        RowRule(
            "OUT_OF_RANGE",
            f"planted_area_ha < 0 OR production_t < 0 OR yield_ta_ha < {YIELD_RANGE_TA_HA[0]} "
            f"OR yield_ta_ha > {YIELD_RANGE_TA_HA[1]}",
            C.CORRECT,
            f"Negative area or production, or a yield outside {YIELD_RANGE_TA_HA[0]}–{YIELD_RANGE_TA_HA[1]} tạ/ha.",
        ),
        RowRule(
            "PRODUCTION_INCONSISTENT",
            f"NOT ({_CONSISTENT_SQL})",
            C.CORRECT,
            f"Production differs from area × yield / 10 by more than {PRODUCTION_TOLERANCE:.0%} (t = ha × tạ/ha / 10).",
            acceptable=True,  # the statistics office may confirm a figure revised in one column only
        ),
    ),
    checks=(
        not_empty("The export holds at least one valid figure."),
        Check(
            "season_coverage",
            C.COMPLETE,
            S.WARNING,
            "ExpectColumnValuesToBeInSet",
            {"column": "_season_covered", "value_set": [True]},
            "Every 2025 province that grows a crop in the series reports it for every season and year the "
            "series has for that crop (province × crop × season coverage).",
            derive=(
                (
                    "_season_covered",
                    "size(collect_set(province_code) OVER (PARTITION BY crop_code, season_code, year)) = "
                    "size(collect_set(province_code) OVER (PARTITION BY crop_code))",
                ),
            ),
        ),
        Check(
            "production_matches_area_times_yield",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_production_consistent", "value_set": [True]},
            f"production ≈ area × yield / 10 within {PRODUCTION_TOLERANCE:.0%} (cross-field).",
            derive=(("_production_consistent", f"coalesce({_CONSISTENT_SQL}, false)"),),
        ),
        Check(
            "yield_plausible",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "yield_ta_ha", "min_value": YIELD_RANGE_TA_HA[0], "max_value": YIELD_RANGE_TA_HA[1]},
            "Yields are physically plausible (tạ/ha).",
        ),
        Check(
            "area_non_negative",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "planted_area_ha", "min_value": 0},
            "No negative planted area reaches silver.",
        ),
        Check(
            "allowed_crops",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "crop_code", "value_set": list(CROPS)},
            "Only the series' crops reach silver.",
        ),
        Check(
            "allowed_seasons",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "season_code", "value_set": list(SEASONS)},
            "Only known seasons reach silver.",
        ),
        province_codes_2025(),
        unique_key(CROP_KEY, "One figure per reporting unit × crop × season × year."),
        *text_checks(("reporting_unit_name", "crop_name", "season_name")),
        *line_checks(),
        Check(
            "fresh_within_sla",
            C.LIVE,
            S.WARNING,
            "ExpectColumnMinToBeBetween",
            {"column": "_hours_before_interval_end", "max_value": 120 * 24},
            "The newest season in the export ended at most 120 days before the interval end (a season).",
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# ocop_product

OCOP_COLUMNS = (
    "product_code",
    "product_name",
    "group",
    "stars",
    "score",
    "gtin",
    "producer_name",
    "producer_type",
    "commune",
    "province",
    "recognized_on",
)
_STARS_SCORE_SQL = " OR ".join(
    f"(stars = {s} AND score BETWEEN {lo} AND {hi})" for s, (lo, hi) in STAR_SCORE_BANDS.items()
)

OCOP_PRODUCT = Dataset(
    name="ocop_product",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Danh mục sản phẩm OCOP được công nhận",
    title_en="Recognized OCOP (One Commune One Product) products",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("product_code", "STRING", "Mã sản phẩm OCOP", "OCOP product code", nullable=False),
        Field("product_name", "STRING", "Tên sản phẩm (NFC)", "Product name (NFC)", nullable=False),
        Field("product_group", "STRING", "Mã nhóm sản phẩm (6 nhóm)", "Product group code (6 groups)", nullable=False),
        Field("stars", "INT", "Hạng sao (3–5)", "Stars (3–5)", nullable=False),
        Field("score", "INT", "Điểm đánh giá (0–100)", "Evaluation score (0–100)", nullable=False),
        Field("gtin", "STRING", "Mã số mã vạch GTIN-13", "GTIN-13 barcode"),
        Field("producer_name", "STRING", "Chủ thể sản xuất (NFC)", "Producer (NFC)"),
        Field("producer_type", "STRING", "Loại chủ thể", "Producer type"),
        Field("commune_name", "STRING", "Xã, phường (NFC)", "Commune (NFC)"),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("recognized_on", "DATE", "Ngày công nhận", "Recognition date", nullable=False),
    ),
    natural_key=("product_code",),
    transform="jobs.agriculture.transforms:ocop_product_to_silver",
    freshness_sla=timedelta(days=180),
    event_time="recognized_on",
    source=Source(
        "agriculture/ocop/products_{date:%Y%m%d}.jsonl",
        OCOP_COLUMNS,
        format="jsonl",
        snapshot=True,  # the registry, whole, each day
        channel=Channel.HTTP,
        options={"kind": "pages", "path": "/api/pages/agriculture/ocop/products_{date:%Y%m%d}.jsonl", "limit": 500},
    ),
    row_rules=(
        RowRule("MALFORMED_LINE", "_parse_error IS NOT NULL", C.CORRECT, "Item is not a JSON object."),
        undecidable_text_rule(),
        RowRule("MISSING_PRODUCT_CODE", "product_code IS NULL", C.COMPLETE, "The product has no OCOP code."),
        RowRule("UNKNOWN_GROUP", "product_group IS NULL", C.CORRECT, "Group is not one of the six OCOP groups."),
        RowRule("INVALID_STARS", "stars IS NULL OR stars NOT BETWEEN 3 AND 5", C.CORRECT, "OCOP ranks 3 to 5 stars."),
        RowRule("INVALID_SCORE", "score IS NULL OR score NOT BETWEEN 0 AND 100", C.CORRECT, "Score is 0–100."),
        RowRule(
            "STARS_SCORE_MISMATCH",
            f"NOT ({_STARS_SCORE_SQL})",
            C.CORRECT,
            "Stars do not match the score (3★ 50–69, 4★ 70–89, 5★ 90–100).",
            acceptable=True,  # a council decision may post-date the scoring sheet
        ),
        RowRule(
            "INVALID_DATE",
            "recognized_on IS NULL OR recognized_on > _interval_day",
            C.CORRECT,
            "Recognition date is missing, unparseable or after the registry's date.",
        ),
        RowRule(
            "UNMAPPABLE_PROVINCE",
            "province_code IS NULL",
            C.CORRECT,
            "Province is neither a 2025 nor a legacy code or name on the recognition date.",
        ),
    ),
    checks=(
        not_empty("The registry holds at least one valid product."),
        Check(
            "stars_in_range",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "stars", "min_value": 3, "max_value": 5},
            "OCOP products rank 3 to 5 stars.",
        ),
        Check(
            "stars_match_score",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_stars_match_score", "value_set": [True]},
            "Stars agree with the score band (cross-field).",
            derive=(("_stars_match_score", f"coalesce({_STARS_SCORE_SQL}, false)"),),
        ),
        Check(
            "allowed_groups",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "product_group", "value_set": list(OCOP_GROUPS)},
            "Only the six OCOP groups.",
        ),
        province_codes_2025(),
        unique_key(("product_code",), "One entry per OCOP product code."),
        *text_checks(("product_name", "producer_name", "commune_name")),
        *line_checks(),
        Check(
            "fresh_within_sla",
            C.LIVE,
            S.WARNING,
            "ExpectColumnMinToBeBetween",
            {"column": "_hours_before_interval_end", "max_value": 180 * 24},
            "The registry recognized a product within 180 days of the interval end (it is kept up to date).",
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# traceability_event (GS1 EPCIS 2.0 ObjectEvent, one JSON object per event)

TRACE_COLUMNS = (
    "event_id",
    "event_type",
    "event_time",
    "event_time_zone_offset",
    "action",
    "biz_step",
    "disposition",
    "read_point",
    "biz_location",
    "epc_list",
    "epc_class",
    "quantity",
    "uom",
    "ilmd_lot",
)
TRACE_JSON_PATHS = {
    "event_id": "$.eventID",
    "event_type": "$.type",
    "event_time": "$.eventTime",
    "event_time_zone_offset": "$.eventTimeZoneOffset",
    "action": "$.action",
    "biz_step": "$.bizStep",
    "disposition": "$.disposition",
    "read_point": "$.readPoint.id",
    "biz_location": "$.bizLocation.id",
    "epc_list": "$.epcList",
    "epc_class": "$.quantityList[0].epcClass",
    "quantity": "$.quantityList[0].quantity",
    "uom": "$.quantityList[0].uom",
    "ilmd_lot": "$.ilmd['cbvmda:lotNumber']",
}

TRACEABILITY_EVENT = Dataset(
    name="traceability_event",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Sự kiện truy xuất nguồn gốc sản phẩm OCOP (GS1 EPCIS 2.0)",
    title_en="OCOP product traceability events (GS1 EPCIS 2.0 ObjectEvents)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("event_id", "STRING", "Mã sự kiện (eventID)", "Event id (eventID)", nullable=False),
        Field("event_time", "TIMESTAMP", "Thời điểm sự kiện (UTC)", "Event time (UTC)", nullable=False),
        Field("event_time_zone_offset", "STRING", "Múi giờ nguồn", "Source time-zone offset", nullable=False),
        Field("event_date", "DATE", "Ngày sự kiện (giờ Việt Nam)", "Event day (Vietnam local)", nullable=False),
        Field("action", "STRING", "Hành động (ADD/OBSERVE/DELETE)", "Action (ADD/OBSERVE/DELETE)", nullable=False),
        Field("biz_step", "STRING", "Bước nghiệp vụ (CBV)", "Business step (CBV short name)", nullable=False),
        Field("disposition", "STRING", "Trạng thái (CBV)", "Disposition (CBV short name)"),
        Field("read_point", "STRING", "Điểm đọc (SGLN)", "Read point (SGLN)"),
        Field("biz_location", "STRING", "Địa điểm nghiệp vụ (SGLN)", "Business location (SGLN)"),
        Field("gtin", "STRING", "GTIN-13 của sản phẩm", "Product GTIN-13", nullable=False),
        Field("lot_number", "STRING", "Số lô", "Lot number", nullable=False),
        Field("product_code", "STRING", "Mã sản phẩm OCOP", "OCOP product code", nullable=False),
        Field("quantity", "DOUBLE", "Số lượng", "Quantity"),
        Field("uom", "STRING", "Đơn vị (UN/CEFACT)", "Unit of measure (UN/CEFACT)"),
        Field("epc_count", "INT", "Số mã EPC riêng lẻ", "Individual EPCs in epcList"),
    ),
    natural_key=("event_id",),
    transform="jobs.agriculture.transforms:traceability_to_silver",
    freshness_sla=timedelta(days=1),
    event_time="event_time",
    source=Source(
        "agriculture/traceability/events_{date:%Y%m%d}.jsonl",  # local drop: the document's events, one a line
        TRACE_COLUMNS,
        format="jsonl",
        channel=Channel.HTTP,
        options={
            "kind": "document",
            "path": "/api/document/agriculture/traceability/epcis_{date:%Y%m%d}.jsonld",
            "records": "epcisBody.eventList",
        },
        json_paths=TRACE_JSON_PATHS,
    ),
    inputs=("ocop_product",),
    row_rules=(
        RowRule("MALFORMED_LINE", "_parse_error IS NOT NULL", C.CORRECT, "Event is not a JSON object."),
        RowRule("NOT_OBJECT_EVENT", "_event_type <> 'ObjectEvent'", C.CORRECT, "Only EPCIS ObjectEvents are expected."),
        RowRule("MISSING_EVENT_ID", "event_id IS NULL", C.COMPLETE, "eventID is required to deduplicate events."),
        RowRule(
            "MISSING_EVENT_TIME",
            "_event_time_raw IS NULL OR event_time_zone_offset IS NULL",
            C.COMPLETE,
            "EPCIS requires eventTime and eventTimeZoneOffset.",
        ),
        RowRule("INVALID_TIMESTAMP", "event_time IS NULL", C.CORRECT, "eventTime is not an ISO 8601 date-time."),
        RowRule("UNKNOWN_ACTION", "action IS NULL", C.CORRECT, "action is not ADD, OBSERVE or DELETE."),
        RowRule("UNKNOWN_BIZ_STEP", "biz_step IS NULL", C.CORRECT, "bizStep is not a CBV 2.0 business step used here."),
        RowRule(
            "MISSING_LOT",
            "gtin IS NULL OR lot_number IS NULL",
            C.COMPLETE,
            "No LGTIN class (GTIN + lot) in quantityList: the event names no product lot.",
        ),
        RowRule(
            "UNKNOWN_PRODUCT",
            "product_code IS NULL",
            C.CORRECT,
            "The lot's GTIN is not an OCOP product in the registry (referential integrity).",
        ),
        RowRule(
            "FUTURE_TIMESTAMP",
            "event_time >= _interval_end",
            C.CORRECT,
            "Event dated at or after the end of the data interval: the reader's clock is wrong.",
        ),
    ),
    checks=(
        not_empty("The document holds at least one valid event."),
        Check(
            "allowed_biz_steps",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "biz_step", "value_set": list(BIZ_STEPS)},
            "bizStep is a CBV 2.0 business step.",
        ),
        Check(
            "allowed_actions",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "action", "value_set": list(ACTIONS)},
            "action is ADD, OBSERVE or DELETE.",
        ),
        Check(
            "gtin_is_gtin13",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToMatchRegex",
            {"column": "gtin", "regex": "^[0-9]{13}$"},
            "GTINs are 13 digits (check digit computed from the EPC class).",
        ),
        Check(
            "not_after_interval",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "_hours_before_interval_end", "min_value": 0, "strict_min": True},
            "No event is dated at or after the end of the data interval.",
        ),
        unique_key(("event_id",), "One event per eventID."),
        *line_checks(),
        Check(
            "fresh_within_sla",
            C.LIVE,
            S.WARNING,
            "ExpectColumnMinToBeBetween",
            {"column": "_hours_before_interval_end", "max_value": 24},
            "The newest event is at most 24 h older than the interval end.",
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# gold

CROP_PRODUCTION = Dataset(
    name="crop_production",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Sản lượng cây trồng theo tỉnh (34 tỉnh), cây, vụ, năm",
    title_en="Crop production by 2025 province, crop, season and year",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("province_name", "STRING", "Tên tỉnh", "Province name"),
        Field("crop_code", "STRING", "Mã cây trồng", "Crop code", nullable=False),
        Field("season_code", "STRING", "Mã vụ", "Season code", nullable=False),
        Field("year", "INT", "Năm", "Year", nullable=False),
        Field("planted_area_ha", "DOUBLE", "Diện tích gieo trồng", "Planted area", unit="ha"),
        Field("production_t", "DOUBLE", "Sản lượng", "Production", unit="t"),
        Field(
            "yield_ta_ha",
            "DOUBLE",
            "Năng suất (sản lượng × 10 / diện tích)",
            "Yield (production × 10 / area)",
            unit="tạ/ha",
        ),
        Field("reporting_units", "INT", "Số đơn vị báo cáo cộng dồn", "Reporting units summed (legacy provinces)"),
        Field("preliminary", "BOOLEAN", "Có số liệu sơ bộ", "Includes preliminary figures"),
    ),
    natural_key=("province_code", "crop_code", "season_code", "year"),
    transform="jobs.agriculture.transforms:crop_production",
    inputs=("crop_stats",),
    replace_key=None,  # a small aggregate over every year: rewritten whole
)

OCOP_BY_PROVINCE = Dataset(
    name="ocop_by_province",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Số sản phẩm OCOP theo tỉnh, hạng sao và nhóm",
    title_en="OCOP products by province, stars and group",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("province_name", "STRING", "Tên tỉnh", "Province name"),
        Field("stars", "INT", "Hạng sao", "Stars", nullable=False),
        Field("product_group", "STRING", "Mã nhóm sản phẩm", "Product group code", nullable=False),
        Field("products", "INT", "Số sản phẩm", "Products"),
        Field("mean_score", "DOUBLE", "Điểm trung bình", "Mean score"),
    ),
    natural_key=("province_code", "stars", "product_group"),
    transform="jobs.agriculture.transforms:ocop_by_province",
    inputs=("ocop_product",),
    replace_key=None,
)

TRACEABILITY_COMPLETENESS = Dataset(
    name="traceability_completeness",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Mức đầy đủ truy xuất nguồn gốc theo lô sản phẩm OCOP",
    title_en="Traceability completeness per OCOP product lot",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("product_code", "STRING", "Mã sản phẩm OCOP", "OCOP product code", nullable=False),
        Field("gtin", "STRING", "GTIN-13", "GTIN-13", nullable=False),
        Field("lot_number", "STRING", "Số lô", "Lot number", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh của sản phẩm (2025)", "Product's province (2025)"),
        Field("has_commissioning", "BOOLEAN", "Có bước sản xuất (commissioning)", "Has commissioning"),
        Field("has_shipping", "BOOLEAN", "Có bước xuất hàng (shipping)", "Has shipping"),
        Field("has_receiving", "BOOLEAN", "Có bước nhận hàng (receiving)", "Has receiving"),
        Field("has_retail_selling", "BOOLEAN", "Có bước bán lẻ (retail_selling)", "Has retail selling"),
        Field("steps_present", "INT", "Số bước có (trên 4)", "Expected steps present (of 4)"),
        Field("completeness", "DOUBLE", "Tỷ lệ đầy đủ (0–1)", "Completeness share (0–1)"),
        Field("steps_in_order", "BOOLEAN", "Các bước đúng trình tự thời gian", "Present steps in time order"),
        Field("events", "INT", "Số sự kiện", "Events"),
        Field("first_event_time", "TIMESTAMP", "Sự kiện đầu (UTC)", "First event (UTC)"),
        Field("last_event_time", "TIMESTAMP", "Sự kiện cuối (UTC)", "Last event (UTC)"),
    ),
    natural_key=("gtin", "lot_number"),
    transform="jobs.agriculture.transforms:traceability_completeness",
    inputs=("traceability_event", "ocop_product"),
    replace_key=None,
)

DATASETS = (
    CROP_STATS,
    OCOP_PRODUCT,
    TRACEABILITY_EVENT,
    CROP_PRODUCTION,
    OCOP_BY_PROVINCE,
    TRACEABILITY_COMPLETENESS,
)
