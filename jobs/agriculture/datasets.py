"""Registry entries of the agriculture sector: crop statistics, OCOP products, product traceability.

Owner: Bộ Nông nghiệp và Môi trường. Crop statistics follow the statistical yearbook layout
(province × crop × season × year; area ha, yield tạ/ha, production t, "Sơ bộ" = preliminary);
OCOP products follow Decision 148/QĐ-TTg (2023: six groups, 3–5 stars by score); traceability
events are GS1 EPCIS 2.0 Object, Aggregation and Transformation events (CBV 2.0 business steps),
their products named by EPC URNs or GS1 Digital Link URIs. Every source comes over HTTP.
"""

from __future__ import annotations

from datetime import date, timedelta

from jobs.agriculture.epcis import PRODUCTS_DDL
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
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "sampling",
    "sensor_reporting",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
)
"""The CBV 2.0 bizStep vocabulary (as GS1's EPCIS 2.0 JSON schema lists it, bizStep-JSON-Schema.json).
A bizStep outside it must be a URI (an extension, EPCIS 2.0 'Why' dimension): kept as written."""
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
        options={"kind": "pages", "path": "/api/pages/agriculture/ocop/products_{date:%Y%m%d}.jsonl", "limit": 5000},
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
# traceability_event (GS1 EPCIS 2.0 events, one JSON object per event)

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
    title_en="OCOP product traceability events (GS1 EPCIS 2.0 Object, Aggregation, Transformation events)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field(
            "event_id",
            "STRING",
            "Mã sự kiện (eventID, hoặc mã băm khi thiếu)",
            "Event id (eventID, else a hash of the canonical event)",
            nullable=False,
        ),
        Field(
            "event_id_computed",
            "BOOLEAN",
            "Mã sự kiện do hệ thống tính (không có eventID)",
            "Event id computed here (the event had no eventID)",
            nullable=False,
        ),
        Field("event_type", "STRING", "Loại sự kiện EPCIS", "EPCIS event type", nullable=False),
        Field("event_time", "TIMESTAMP", "Thời điểm sự kiện (UTC)", "Event time (UTC)", nullable=False),
        Field("event_time_zone_offset", "STRING", "Múi giờ nguồn", "Source time-zone offset", nullable=False),
        Field("event_date", "DATE", "Ngày sự kiện (giờ Việt Nam)", "Event day (Vietnam local)", nullable=False),
        Field(
            "action",
            "STRING",
            "Hành động (ADD/OBSERVE/DELETE; không có ở TransformationEvent)",
            "Action (ADD/OBSERVE/DELETE; none on a TransformationEvent)",
        ),
        Field("biz_step", "STRING", "Bước nghiệp vụ (CBV, hoặc URI mở rộng)", "Business step (CBV short name or URI)"),
        Field("disposition", "STRING", "Trạng thái (CBV)", "Disposition (CBV short name)"),
        Field("read_point", "STRING", "Điểm đọc (SGLN)", "Read point (SGLN)"),
        Field("biz_location", "STRING", "Địa điểm nghiệp vụ (SGLN)", "Business location (SGLN)"),
        Field("parent_id", "STRING", "Mã vật chứa (parentID, thường là SSCC)", "Container (parentID, often an SSCC)"),
        Field(
            "gtin",
            "STRING",
            "GTIN-14 của sản phẩm OCOP chính của sự kiện",
            "GTIN-14 of the event's main OCOP product",
            nullable=False,
        ),
        Field("lot_number", "STRING", "Số lô của sản phẩm chính (nếu biết)", "Main product's lot (when known)"),
        Field("product_code", "STRING", "Mã sản phẩm OCOP", "OCOP product code", nullable=False),
        Field("quantity", "DOUBLE", "Số lượng (của sản phẩm chính)", "Quantity (of the main product)"),
        Field("uom", "STRING", "Đơn vị (UN/CEFACT)", "Unit of measure (UN/CEFACT)"),
        Field("epc_count", "INT", "Số mã EPC riêng lẻ (cấp cá thể)", "Instance-level EPCs the event names"),
        Field(
            "products",
            PRODUCTS_DDL,
            "Mọi sản phẩm sự kiện nêu: vai trò, cấp, mã gốc, GTIN-14, lô, số sê-ri, số lượng",
            "Every product the event names: role (object/child/input/output), level, identifier as written, "
            "GTIN-14, lot, serial, quantity",
            nullable=False,
        ),
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
        RowRule(
            "UNSUPPORTED_EVENT_TYPE",
            "_epcis_problem = 'UNSUPPORTED_EVENT_TYPE'",
            C.CORRECT,
            "A TransactionEvent or AssociationEvent (EPCIS 2.0 'TransactionEvent', 'AssociationEvent'): valid "
            "EPCIS that links objects to a business transaction or to each other, not a step of a product lot's "
            "path; not read here.",
        ),
        RowRule(
            "UNKNOWN_EVENT_TYPE",
            "_epcis_problem = 'UNKNOWN_EVENT_TYPE'",
            C.CORRECT,
            "type is not one of the five EPCIS 2.0 event types.",
        ),
        RowRule(
            "ERROR_DECLARATION",
            "_epcis_problem = 'ERROR_DECLARATION'",
            C.CORRECT,
            "The event carries an errorDeclaration (EPCIS 2.0 'ErrorDeclaration'): it declares an earlier event "
            "wrong and is no new observation.",
        ),
        RowRule(
            "MISSING_EVENT_TIME",
            "_event_time_raw IS NULL OR event_time_zone_offset IS NULL",
            C.COMPLETE,
            "EPCIS 2.0 'EPCISEvent' requires eventTime and eventTimeZoneOffset.",
        ),
        RowRule("INVALID_TIMESTAMP", "event_time IS NULL", C.CORRECT, "eventTime is not an ISO 8601 date-time."),
        RowRule(
            "INVALID_EPC",
            "_epcis_problem = 'INVALID_EPC'",
            C.CORRECT,
            "An identifier is neither an EPC URN (Tag Data Standard) nor a GS1 Digital Link URI "
            "(GS1 Digital Link URI syntax 1.2).",
        ),
        RowRule(
            "INVALID_CHECK_DIGIT",
            "_epcis_problem = 'INVALID_CHECK_DIGIT'",
            C.CORRECT,
            "A Digital Link GTIN's check digit is wrong (GS1 General Specifications, check digit calculation).",
        ),
        RowRule(
            "UNKNOWN_ACTION",
            "action IS NULL AND event_type <> 'TransformationEvent'",
            C.CORRECT,
            "action is not ADD, OBSERVE or DELETE (EPCIS 2.0 'Action type'; only a TransformationEvent has none).",
        ),
        RowRule(
            "ILMD_WITHOUT_ADD",
            "_epcis_problem = 'ILMD_WITHOUT_ADD'",
            C.CORRECT,
            "ilmd on an ObjectEvent whose action is not ADD (EPCIS 2.0 'ObjectEvent': instance/lot master data is "
            "stated when objects come into being).",
        ),
        RowRule(
            "MISSING_PARENT_ID",
            "_epcis_problem = 'MISSING_PARENT_ID'",
            C.COMPLETE,
            "An AggregationEvent with action ADD or DELETE has no parentID (EPCIS 2.0 'AggregationEvent').",
        ),
        RowRule(
            "UNKNOWN_BIZ_STEP",
            "_biz_step_raw IS NOT NULL AND biz_step IS NULL",
            C.CORRECT,
            "bizStep is neither a CBV 2.0 business step nor a URI (EPCIS 2.0 'Why' dimension; CBV 2.0 business steps).",
        ),
        RowRule(
            "MISSING_WHAT",
            "_epcis_problem = 'MISSING_WHAT'",
            C.COMPLETE,
            "The event names no object at all (EPCIS 2.0 'ObjectEvent': epcList or quantityList; "
            "'AggregationEvent' and 'TransformationEvent' likewise).",
        ),
        RowRule(
            "NO_PRODUCT",
            "_epcis_problem = 'NO_PRODUCT'",
            C.COMPLETE,
            "The event names only objects that are no trade item (SSCC, GRAI, GIAI …): no product to trace.",
        ),
        RowRule(
            "UNKNOWN_PRODUCT",
            "product_code IS NULL",
            C.CORRECT,
            "None of the event's GTINs is an OCOP product in the registry (referential integrity).",
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
            {"column": "_biz_step_known", "value_set": [True]},
            "bizStep is a CBV 2.0 business step, a URI, or absent (EPCIS 2.0 'Why' dimension).",
            derive=(
                (
                    "_biz_step_known",
                    "biz_step IS NULL OR biz_step IN ("
                    + ", ".join(f"'{s}'" for s in BIZ_STEPS)
                    + ") OR biz_step RLIKE '^[a-zA-Z][a-zA-Z0-9+.-]*:'",
                ),
            ),
        ),
        Check(
            "allowed_actions",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "action", "value_set": list(ACTIONS)},
            "action is ADD, OBSERVE or DELETE (NULL only on a TransformationEvent).",
        ),
        Check(
            "gtin_is_gtin14",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToMatchRegex",
            {"column": "gtin", "regex": "^[0-9]{14}$"},
            "GTINs are normalised to 14 digits (GTIN-8/12/13 padded; check digit verified or computed).",
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

TRACEABILITY_LINEAGE = Dataset(
    name="traceability_lineage",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Quan hệ nguyên liệu → thành phẩm (sự kiện chế biến EPCIS TransformationEvent)",
    title_en="Input → output links of processing (EPCIS TransformationEvents)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("event_id", "STRING", "Mã sự kiện chế biến", "TransformationEvent id", nullable=False),
        Field("event_time", "TIMESTAMP", "Thời điểm chế biến (UTC)", "Transformation time (UTC)", nullable=False),
        Field("biz_step", "STRING", "Bước nghiệp vụ (CBV)", "Business step (CBV)"),
        Field("input_epc", "STRING", "Mã nguyên liệu như nguồn ghi", "Input identifier as written", nullable=False),
        Field("input_gtin", "STRING", "GTIN-14 nguyên liệu", "Input GTIN-14", nullable=False),
        Field("input_lot_number", "STRING", "Lô nguyên liệu (nếu biết)", "Input lot (when known)"),
        Field("input_serial", "STRING", "Số sê-ri nguyên liệu", "Input serial"),
        Field("input_quantity", "DOUBLE", "Số lượng nguyên liệu", "Input quantity"),
        Field("input_uom", "STRING", "Đơn vị", "Input unit of measure"),
        Field("output_epc", "STRING", "Mã thành phẩm như nguồn ghi", "Output identifier as written", nullable=False),
        Field("output_gtin", "STRING", "GTIN-14 thành phẩm", "Output GTIN-14", nullable=False),
        Field("output_lot_number", "STRING", "Lô thành phẩm (nếu biết)", "Output lot (when known)"),
        Field("output_serial", "STRING", "Số sê-ri thành phẩm", "Output serial"),
    ),
    natural_key=("event_id", "input_epc", "output_epc"),
    transform="jobs.agriculture.transforms:traceability_lineage",
    inputs=("traceability_event",),
    replace_key=None,
)

TRACEABILITY_COMPLETENESS = Dataset(
    name="traceability_completeness",
    sector=SECTOR,
    layer=Layer.GOLD,
    title_vi="Mức đầy đủ truy xuất nguồn gốc theo lô sản phẩm (kể cả lô nguyên liệu)",
    title_en="Traceability completeness per product lot, inputs of processed lots included",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("product_code", "STRING", "Mã sản phẩm OCOP (nếu là sản phẩm OCOP)", "OCOP product code (if one)"),
        Field("gtin", "STRING", "GTIN-14", "GTIN-14", nullable=False),
        Field("lot_number", "STRING", "Số lô", "Lot number", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh của sản phẩm (2025)", "Product's province (2025)"),
        Field("has_commissioning", "BOOLEAN", "Có bước sản xuất (commissioning)", "Has commissioning"),
        Field("has_shipping", "BOOLEAN", "Có bước xuất hàng (shipping)", "Has shipping"),
        Field("has_receiving", "BOOLEAN", "Có bước nhận hàng (receiving)", "Has receiving"),
        Field("has_retail_selling", "BOOLEAN", "Có bước bán lẻ (retail_selling)", "Has retail selling"),
        Field("steps_present", "INT", "Số bước có (trên 4)", "Expected steps present (of 4)"),
        Field("completeness", "DOUBLE", "Tỷ lệ đầy đủ của chính lô (0–1)", "The lot's own completeness (0–1)"),
        Field("steps_in_order", "BOOLEAN", "Các bước đúng trình tự thời gian", "Present steps in time order"),
        Field("events", "INT", "Số sự kiện", "Events"),
        Field("first_event_time", "TIMESTAMP", "Sự kiện đầu (UTC)", "First event (UTC)"),
        Field("last_event_time", "TIMESTAMP", "Sự kiện cuối (UTC)", "Last event (UTC)"),
        Field(
            "inputs",
            "INT",
            "Số nguyên liệu (mã) của các sự kiện chế biến ra lô này",
            "Inputs (identifiers) of the transformations that made this lot",
            nullable=False,
        ),
        Field(
            "inputs_traced",
            "INT",
            "Số nguyên liệu có lô đã biết và có sự kiện riêng",
            "Inputs whose lot is known and has events of its own",
            nullable=False,
        ),
        Field(
            "inputs_completeness",
            "DOUBLE",
            "Mức đầy đủ trung bình của nguyên liệu (0 nếu lô không rõ); trống nếu không có nguyên liệu",
            "Mean completeness of the inputs' lots (0 for an input of unknown lot); NULL with no inputs",
        ),
        Field(
            "chain_completeness",
            "DOUBLE",
            "Mức đầy đủ cả chuỗi: nhỏ hơn của lô và của nguyên liệu",
            "Whole-chain completeness: the lesser of the lot's own and its inputs'",
            nullable=False,
        ),
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
    TRACEABILITY_LINEAGE,
    TRACEABILITY_COMPLETENESS,
)
