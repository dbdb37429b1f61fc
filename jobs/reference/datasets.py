"""Registry entries of the reference sector: administrative units as a conformed dimension.

Owner: **Bộ Tài chính** (Ministry of Finance). In reality administrative units are decided by the
National Assembly and kept by the Bộ Nội vụ (Ministry of Home Affairs), which holds no data in
this lakehouse; the codes every table uses are the statistics office's (GSO) codes, and the
statistics office (Cục Thống kê) has sat in the Ministry of Finance since the 2025 restructuring,
so the ministry that publishes the codes owns the dimension. Every table is PUBLIC: every
ministry joins on it.

Tables (silver, ``silver.reference_<name>``):
- ``province``: the 34 provincial units since 2025-07-01 (``vietnam-provinces``), cross-checked by
  name against ``vietnamadminunits`` and by code against the GSO list;
- ``province_legacy``: the 63 provinces valid 2008-08-01 .. 2025-06-30 (``vietnamadminunits``);
- ``province_mapping``: legacy code -> 2025 code, flagging the codes reused for another province
  (24 Bắc Giang -> 24 is Bắc Ninh since 2025-07-01; docs/domain.md, "Administrative units");
- ``commune``: the 3,321 communes, wards and special zones since 2025-07-01 with their province.

Each is landed by the ``library`` channel (jobs/extract/library.py): the installed, pinned library
is the source and its ``name==version`` is the batch's source version. How other sectors check
that a province code exists in the lake's dimension: :mod:`jobs.reference.dimension`.
"""

from __future__ import annotations

from jobs.checks import source_count, text_checks, unique_key
from jobs.reference.exports import (
    COMMUNE_COLUMNS,
    PROVINCE_COLUMNS,
    PROVINCE_LEGACY_COLUMNS,
    PROVINCE_MAPPING_COLUMNS,
)
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
)

SECTOR = "reference"
OWNER = Ministry.FINANCE
C, S = Criterion, Severity

PROVINCES_2025_COUNT = 34  # Resolution 202/2025/QH15: 6 centrally-run cities + 28 provinces
CITIES_2025_COUNT = 6
PROVINCES_LEGACY_COUNT = 63
COMMUNES_2025_COUNT = 3321  # docs/domain.md, "Administrative units": 3,321 communes and wards since 2025-07-01
REUSED_CODES_COUNT = 7  # docs/domain.md, "Administrative units" (reused codes): 15, 24, 44, 52, 80, 82, 91


def _library_source(table: str, export: str, columns: tuple[str, ...]) -> Source:
    """A table exported from an installed library (``path`` is the local-drop copy for replays)."""
    return Source(
        f"reference/{table}.csv",
        columns,
        snapshot=True,
        channel=Channel.LIBRARY,
        options={"export": f"jobs.reference.exports:{export}"},
    )


def _malformed() -> RowRule:
    return RowRule("MALFORMED_LINE", "_parse_error IS NOT NULL", C.CORRECT, "Line cannot be parsed.")


def _count(value: int, what: str) -> Check:
    """đủ: a reference list has exactly the units the law created, no more, no fewer."""
    return Check(
        "expected_row_count",
        C.COMPLETE,
        S.CRITICAL,
        "ExpectTableRowCountToEqual",
        {"value": value},
        f"Exactly {value} {what}.",
    )


def _all_present(column: str, symbol: str, what: str) -> Check:
    """đủ: every code of the official list appears (and nothing else)."""
    return Check(
        f"every_code_present_{column}",
        C.COMPLETE,
        S.CRITICAL,
        "ExpectColumnDistinctValuesToEqualSet",
        {"column": column, "value_set": symbol},
        f"{column} takes every code of {what}, and only those.",
    )


def _in_list(column: str, symbol: str, what: str) -> Check:
    """đúng: each code is in the GSO list (row by row, so the sample names the offender)."""
    return Check(
        f"codes_in_gso_list_{column}",
        C.CORRECT,
        S.CRITICAL,
        "ExpectColumnValuesToBeInSet",
        {"column": column, "value_set": symbol},
        f"{column} is a code of {what}.",
    )


def _digits(column: str, width: int) -> Check:
    return Check(
        f"{width}_digit_code_{column}",
        C.CORRECT,
        S.CRITICAL,
        "ExpectColumnValuesToMatchRegex",
        {"column": column, "regex": f"^[0-9]{{{width}}}$"},
        f"{column} is a {width}-digit GSO code (zero-padded text, never a number).",
    )


def _common_checks(key: str, text: tuple[str, ...]) -> tuple[Check, ...]:
    """sạch + line checks every reference table shares: unique key, NFC names without mojibake,
    landed = the library's stated count, and no line rejected (a reference list is taken whole)."""
    return (
        unique_key((key,), f"{key} values are unique."),
        *text_checks(text, S.CRITICAL),
        source_count("The batch has exactly the rows the library states (its code enumeration)."),
        Check(
            "no_rejected_lines",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "rejected_for", "value_set": ["none"]},
            "Every line of the library's table reached silver (a reference list is taken whole or not at all).",
            frame="lines",
        ),
    )


def _name_fields(what_vi: str, what_en: str) -> tuple[Field, ...]:
    return (
        Field(
            "province_name",
            "STRING",
            f"Tên {what_vi} (NFC, không tiền tố)",
            f"{what_en} name (NFC, no prefix)",
            nullable=False,
        ),
        Field(
            "province_full_name", "STRING", f"Tên đầy đủ ({what_vi})", f"Official full name ({what_en})", nullable=False
        ),
        Field("ascii_name", "STRING", "Tên không dấu", "Name without diacritics (ASCII)", nullable=False),
        Field("division_type", "STRING", "Loại đơn vị: city | province", "Unit type: city | province", nullable=False),
    )


PROVINCE = Dataset(
    name="province",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Danh mục đơn vị hành chính cấp tỉnh (34 tỉnh, thành phố từ 01/07/2025)",
    title_en="Provincial units (34 since 2025-07-01)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("province_code", "STRING", "Mã tỉnh (GSO, 2025)", "Province code (GSO, 2025)", nullable=False),
        *_name_fields("tỉnh/thành phố", "Province"),
        Field("codename", "STRING", "Mã tên (thư viện)", "Code name (library)"),
        Field("phone_code", "INT", "Mã vùng điện thoại", "Telephone area code"),
        Field("valid_from", "DATE", "Hiệu lực từ ngày", "Valid from", nullable=False),
        Field("valid_to", "DATE", "Hiệu lực đến ngày (trống: còn hiệu lực)", "Valid to (empty: still valid)"),
    ),
    natural_key=("province_code",),
    transform="jobs.reference.transforms:province_to_silver",
    source=_library_source("province", "provinces_2025", PROVINCE_COLUMNS),
    row_rules=(
        _malformed(),
        RowRule("INVALID_CODE", "province_code IS NULL", C.CORRECT, "Code is not a number 1..99."),
        RowRule(
            "UNKNOWN_DIVISION_TYPE",
            "division_type IS NULL",
            C.CORRECT,
            "Division type is neither 'thành phố trung ương' nor 'tỉnh'.",
        ),
        RowRule(
            "NAME_DISAGREES_WITH_GSO",
            "NOT _name_matches_gso",
            C.CORRECT,
            "The name vietnam-provinces gives the code is not the name vietnamadminunits gives the same GSO "
            "code (the two libraries disagree).",
        ),
    ),
    checks=(
        _count(PROVINCES_2025_COUNT, "provincial units since 2025-07-01"),
        _all_present("province_code", "__PROVINCES_2025__", "the 2025 GSO list (Công văn 915/CTK-CSCL)"),
        _digits("province_code", 2),
        _in_list("province_code", "__PROVINCES_2025__", "the 2025 GSO list"),
        Check(
            "division_types",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "division_type", "value_set": ["city", "province"]},
            "Each unit is a centrally-run city or a province.",
        ),
        Check(
            "six_cities",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_cities", "value_set": [CITIES_2025_COUNT]},
            f"{CITIES_2025_COUNT} centrally-run cities (Hà Nội, Hải Phòng, Huế, Đà Nẵng, TP Hồ Chí Minh, Cần Thơ).",
            derive=(("_cities", "CAST(count_if(division_type = 'city') OVER () AS INT)"),),
        ),
        *_common_checks("province_code", ("province_name", "province_full_name")),
    ),
)

PROVINCE_LEGACY = Dataset(
    name="province_legacy",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Danh mục 63 tỉnh, thành phố (đến 30/06/2025)",
    title_en="The 63 provinces valid until 2025-06-30",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field(
            "legacy_code", "STRING", "Mã tỉnh cũ (GSO, 63 tỉnh)", "Legacy province code (GSO, 63 units)", nullable=False
        ),
        *_name_fields("tỉnh/thành phố (cũ)", "Legacy province"),
        Field(
            "valid_from",
            "DATE",
            "Hiệu lực từ ngày (danh sách 63 tỉnh)",
            "Valid from (the 63-unit list)",
            nullable=False,
        ),
        Field("valid_to", "DATE", "Hiệu lực đến ngày", "Valid to", nullable=False),
    ),
    natural_key=("legacy_code",),
    transform="jobs.reference.transforms:province_legacy_to_silver",
    source=_library_source("province_legacy", "provinces_legacy", PROVINCE_LEGACY_COLUMNS),
    row_rules=(
        _malformed(),
        RowRule("INVALID_CODE", "legacy_code IS NULL", C.CORRECT, "Code is not a number 1..99."),
        RowRule(
            "UNKNOWN_DIVISION_TYPE",
            "division_type IS NULL",
            C.CORRECT,
            "The full name starts with neither 'Thành phố' nor 'Tỉnh'.",
        ),
    ),
    checks=(
        _count(PROVINCES_LEGACY_COUNT, "provinces valid until 2025-06-30"),
        _all_present("legacy_code", "__PROVINCES_LEGACY__", "the 63-province GSO list"),
        _digits("legacy_code", 2),
        _in_list("legacy_code", "__PROVINCES_LEGACY__", "the 63-province GSO list"),
        *_common_checks("legacy_code", ("province_name", "province_full_name")),
    ),
)

PROVINCE_MAPPING = Dataset(
    name="province_mapping",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Chuyển đổi mã tỉnh cũ (63) sang mã tỉnh mới (34)",
    title_en="Legacy (63) to 2025 (34) province codes",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("legacy_code", "STRING", "Mã tỉnh cũ", "Legacy province code", nullable=False),
        Field("legacy_name", "STRING", "Tên tỉnh cũ", "Legacy province name", nullable=False),
        Field("province_code", "STRING", "Mã tỉnh từ 01/07/2025", "Province code since 2025-07-01", nullable=False),
        Field("province_name", "STRING", "Tên tỉnh từ 01/07/2025", "Province name since 2025-07-01", nullable=False),
        Field("valid_from", "DATE", "Mã cũ hiệu lực từ ngày", "Legacy code valid from", nullable=False),
        Field("valid_to", "DATE", "Mã cũ hiệu lực đến ngày", "Legacy code valid to", nullable=False),
        Field(
            "code_reused",
            "BOOLEAN",
            "Mã cũ được dùng lại cho tỉnh khác từ 01/07/2025 (vd. 24: Bắc Giang → Bắc Ninh)",
            "The legacy code names another province since 2025-07-01 (e.g. 24: Bắc Giang -> Bắc Ninh): "
            "resolve a bare code by the record's date",
            nullable=False,
        ),
    ),
    natural_key=("legacy_code",),
    transform="jobs.reference.transforms:province_mapping_to_silver",
    source=_library_source("province_mapping", "province_mapping", PROVINCE_MAPPING_COLUMNS),
    inputs=("province", "province_legacy"),
    row_rules=(
        _malformed(),
        RowRule(
            "UNKNOWN_LEGACY_CODE",
            "NOT _legacy_known",
            C.CORRECT,
            "The legacy code is not in silver.reference_province_legacy (referential integrity).",
        ),
        RowRule(
            "UNMAPPABLE_PROVINCE",
            "NOT _province_known",
            C.CORRECT,
            "The 2025 code is not in silver.reference_province (referential integrity).",
        ),
    ),
    checks=(
        _count(PROVINCES_LEGACY_COUNT, "legacy codes, each mapped once"),
        _all_present("legacy_code", "__PROVINCES_LEGACY__", "the 63-province GSO list (every legacy code mapped)"),
        _all_present("province_code", "__PROVINCES_2025__", "the 2025 GSO list (every 2025 unit has a predecessor)"),
        _in_list("province_code", "__PROVINCES_2025__", "the 2025 GSO list"),
        _digits("legacy_code", 2),
        _digits("province_code", 2),
        Check(
            "reused_codes",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "_reused", "value_set": [REUSED_CODES_COUNT]},
            f"{REUSED_CODES_COUNT} legacy codes now name another province (15, 24, 44, 52, 80, 82, 91; "
            'docs/domain.md, "Administrative units").',
            derive=(("_reused", "CAST(count_if(code_reused) OVER () AS INT)"),),
        ),
        *_common_checks("legacy_code", ("legacy_name", "province_name")),
    ),
)

COMMUNE = Dataset(
    name="commune",
    sector=SECTOR,
    layer=Layer.SILVER,
    title_vi="Danh mục đơn vị hành chính cấp xã (từ 01/07/2025)",
    title_en="Communes, wards and special zones (since 2025-07-01)",
    owner=OWNER,
    classification=Classification.PUBLIC,
    fields=(
        Field("commune_code", "STRING", "Mã xã (GSO, 5 chữ số)", "Commune code (GSO, 5 digits)", nullable=False),
        Field("commune_name", "STRING", "Tên xã/phường/đặc khu (NFC)", "Commune name (NFC)", nullable=False),
        Field("ascii_name", "STRING", "Tên không dấu", "Name without diacritics (ASCII)", nullable=False),
        Field(
            "division_type",
            "STRING",
            "Loại: commune (xã) | ward (phường) | special_zone (đặc khu)",
            "Type: commune | ward | special_zone",
            nullable=False,
        ),
        Field("codename", "STRING", "Mã tên (thư viện)", "Code name (library)"),
        Field("province_code", "STRING", "Mã tỉnh (2025)", "Province code (2025)", nullable=False),
        Field("valid_from", "DATE", "Hiệu lực từ ngày", "Valid from", nullable=False),
    ),
    natural_key=("commune_code",),
    transform="jobs.reference.transforms:commune_to_silver",
    source=_library_source("commune", "communes_2025", COMMUNE_COLUMNS),
    inputs=("province",),
    row_rules=(
        _malformed(),
        RowRule("INVALID_CODE", "commune_code IS NULL", C.CORRECT, "Code is not a number 1..99999."),
        RowRule(
            "UNKNOWN_DIVISION_TYPE",
            "division_type IS NULL",
            C.CORRECT,
            "Division type is not xã, phường or đặc khu.",
        ),
        RowRule(
            "UNMAPPABLE_PROVINCE",
            "NOT _province_known",
            C.CORRECT,
            "The province code is not in silver.reference_province (referential integrity).",
        ),
    ),
    checks=(
        _count(COMMUNES_2025_COUNT, "communes, wards and special zones since 2025-07-01"),
        _all_present("province_code", "__PROVINCES_2025__", "the 2025 GSO list (every province has communes)"),
        _in_list("province_code", "__PROVINCES_2025__", "the 2025 GSO list"),
        _digits("commune_code", 5),
        Check(
            "division_types",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeInSet",
            {"column": "division_type", "value_set": ["commune", "ward", "special_zone"]},
            "Each unit is a commune (xã), a ward (phường) or a special zone (đặc khu).",
        ),
        *_common_checks("commune_code", ("commune_name",)),
    ),
)

# Order matters: a dataset's inputs come first (the DAG runs them before it).
DATASETS: tuple[Dataset, ...] = (PROVINCE, PROVINCE_LEGACY, PROVINCE_MAPPING, COMMUNE)
