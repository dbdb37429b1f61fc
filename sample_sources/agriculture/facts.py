"""Agriculture reference facts the generator writes, typed from their public sources.

Why: the generator must not take them from the pipeline (``jobs.agriculture``); both follow
docs/domain.md ("Agriculture"), and ``tests/unit/sample_sources/test_independence.py`` checks that
the two copies agree.
"""

from __future__ import annotations

from datetime import date

CROPS = {"LUA": "Lúa", "NGO": "Ngô", "CA_PHE": "Cà phê", "CAO_SU": "Cao su", "HO_TIEU": "Hồ tiêu"}
"""Crop code → name as the statistical yearbook writes it."""
SEASONS = {"DONG_XUAN": "Đông Xuân", "HE_THU": "Hè Thu", "THU_DONG": "Thu Đông", "MUA": "Mùa", "CA_NAM": "Cả năm"}
SEASON_END = {"DONG_XUAN": (5, 31), "HE_THU": (8, 31), "THU_DONG": (11, 30), "MUA": (12, 31), "CA_NAM": (12, 31)}
"""(month, day) each season's harvest ends: the record's date."""
OCOP_GROUPS = {
    "THUC_PHAM": "Thực phẩm",
    "DO_UONG": "Đồ uống",
    "THAO_DUOC": "Thảo dược",
    "THU_CONG_MY_NGHE": "Thủ công mỹ nghệ",
    "SINH_VAT_CANH": "Sinh vật cảnh",
    "DU_LICH": "Dịch vụ du lịch cộng đồng và điểm du lịch",
}
"""The six OCOP product groups (Decision 148/QĐ-TTg, 2023)."""
PRODUCER_TYPES = {
    "DOANH_NGHIEP": "Doanh nghiệp",
    "HOP_TAC_XA": "Hợp tác xã",
    "TO_HOP_TAC": "Tổ hợp tác",
    "HO_KINH_DOANH": "Hộ kinh doanh",
}
STAR_SCORE_BANDS = {3: (50, 69), 4: (70, 89), 5: (90, 100)}
"""OCOP stars by evaluation score (Decision 148/QĐ-TTg)."""
EXPECTED_STEPS = ("commissioning", "shipping", "receiving", "retail_selling")
"""CBV 2.0 bizStep names of a traceable lot, in order."""
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


def season_end(season_code: str, year: int) -> date:
    month, day = SEASON_END[season_code]
    return date(year, month, day)


def gtin13_check_digit(body: str) -> int:
    """GS1 check digit of a 12-digit body: from the rightmost digit, weights 3, 1, 3, 1 …; the digit
    brings the weighted sum up to a multiple of 10 (GS1 General Specifications, 7.9.1)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return -total % 10
