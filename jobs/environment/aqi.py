"""Vietnam Air Quality Index (VN_AQI) per Decision 1459/QĐ-TCMT (12/11/2019), hourly and daily.

The breakpoint and band tables are data, read by both the pure-Python functions (the reference
the tests check by hand) and the Spark column builders the gold tables use, so the two cannot
disagree. Concentrations are µg/m³ (CO too, not mg/m³). Section numbers are the Decision's
guidance (Hướng dẫn kỹ thuật); docs/domain.md "VN_AQI" quotes each rule with its source.

* hourly AQI (2.2.1): O3, CO, SO2, NO2 from their 1 h value; PM10 / PM2.5 from the ``nowcast`` of
  the last 12 h; AQI^h = the largest sub-index, rounded to an integer; no PM → no index (2.1 b).
* daily AQI (2.2.2): PM10 / PM2.5 from the 24 h mean; SO2, NO2, CO from the day's largest 1 h
  value; O3 from the larger of its largest 1 h value (1 h table) and its largest 8 h mean (8 h
  table), the 8 h path dropped above 400 µg/m³; AQI^d = the largest sub-index, rounded.

The Decision sets no minimum number of hours for a 24 h or 8 h mean. This module requires
``MIN_HOURS_24H`` of 24 and ``MIN_HOURS_8H`` of 8 (75 %), the project's rule, so that one hour of
PM never stands for a day; a mean short of it is None and the index says why (``NoIndex``).
The PM breakpoints are the same for NowCast and 24 h means, so they live in the ``"1h"`` table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from pyspark.sql import Column
from pyspark.sql import functions as F

INDEX_LEVELS: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400, 500)
TOP_INDEX = 500.0

# Concentration breakpoints (µg/m³) matching INDEX_LEVELS position by position, keyed by
# (parameter, table). Source: Decision 1459/QĐ-TCMT, section 2.2.1 b, Bảng 2 (docs/domain.md,
# "VN_AQI"). The O3 8 h column stops at 400 µg/m³ = index 300 ("-" above): section 2.2.2 b says
# not to use the 8 h path when the day's largest 8 h mean is above 400 µg/m³ (the 1 h value alone
# rates ozone then), so an 8 h value above 400 has no 8 h sub-index (None).
BREAKPOINTS: dict[tuple[str, str], tuple[float, ...]] = {
    ("O3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("O3", "8h"): (0, 100, 120, 170, 210, 400),
    ("CO", "1h"): (0, 10000, 30000, 45000, 60000, 90000, 120000, 150000),
    ("SO2", "1h"): (0, 125, 350, 550, 800, 1600, 2100, 2630),
    ("NO2", "1h"): (0, 100, 200, 700, 1200, 2350, 3100, 3850),
    ("PM10", "1h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("PM2.5", "1h"): (0, 25, 50, 80, 150, 250, 350, 500),
}
TABLES: tuple[str, ...] = ("1h", "8h")
PM_PARAMETERS: tuple[str, ...] = ("PM10", "PM2.5")


class Band(NamedTuple):
    """One row of Decision 1459's Bảng 1 (range, name, colour), Bảng 4 (health effect) and
    Bảng 5 (recommended activities), section 3."""

    low: int
    high: int
    name: str
    colour: str  # the code's English name of the Decision's colour
    rgb: tuple[int, int, int]
    health_effect: str
    advice_general: str
    advice_sensitive: str

    @property
    def hex(self) -> str:
        """The Decision's RGB as a CSS colour, e.g. ``#00E400``."""
        return "#{:02X}{:02X}{:02X}".format(*self.rgb)


_STAY_INDOORS = (
    "Mọi người nên ở trong nhà, đóng cửa ra vào và cửa sổ. Nếu cần thiết phải ra ngoài, hãy đeo khẩu trang "
    "đạt tiêu chuẩn."
)
# Decision 1459/QĐ-TCMT, section 1.4 Bảng 1 (ranges, names, colours) and section 3 Bảng 4 (health
# effects) and Bảng 5 (advice for the general public and for sensitive groups); docs/domain.md "VN_AQI".
BANDS: tuple[Band, ...] = (
    Band(
        0,
        50,
        "Tốt",
        "green",
        (0, 228, 0),
        "Chất lượng không khí tốt, không ảnh hưởng tới sức khỏe",
        "Tự do thực hiện các hoạt động ngoài trời",
        "Tự do thực hiện các hoạt động ngoài trời",
    ),
    Band(
        51,
        100,
        "Trung bình",
        "yellow",
        (255, 255, 0),
        "Chất lượng không khí ở mức chấp nhận được. Tuy nhiên, đối với những người nhạy cảm (người già, trẻ em, "
        "người mắc các bệnh hô hấp, tim mạch…) có thể chịu những tác động nhất định tới sức khỏe.",
        "Tự do thực hiện các hoạt động ngoài trời",
        "Nên theo dõi các triệu chứng như ho hoặc khó thở, nhưng vẫn có thể hoạt động bên ngoài.",
    ),
    Band(
        101,
        150,
        "Kém",
        "orange",
        (255, 126, 0),
        "Những người nhạy cảm gặp phải các vấn đề về sức khỏe, những người bình thường ít ảnh hưởng.",
        "Những người thấy có triệu chứng đau mắt, ho hoặc đau họng… nên cân nhắc giảm các hoạt động ngoài trời. "
        "Đối với học sinh, có thể hoạt động bên ngoài, nhưng nên giảm bớt việc tập thể dục kéo dài.",
        "Nên giảm các hoạt động mạnh và giảm thời gian hoạt động ngoài trời. Những người mắc bệnh hen suyễn có "
        "thể cần sử dụng thuốc thường xuyên hơn.",
    ),
    Band(
        151,
        200,
        "Xấu",
        "red",
        (255, 0, 0),
        "Những người bình thường bắt đầu có các ảnh hưởng tới sức khỏe, nhóm người nhạy cảm có thể gặp những vấn "
        "đề sức khỏe nghiêm trọng hơn.",
        "Mọi người nên giảm các hoạt động mạnh khi ở ngoài trời, tránh tập thể dục kéo dài và nghỉ ngơi nhiều hơn "
        "trong nhà.",
        "Nên ở trong nhà và giảm hoạt động mạnh. Nếu cần thiết phải ra ngoài, hãy đeo khẩu trang đạt tiêu chuẩn.",
    ),
    Band(
        201,
        300,
        "Rất xấu",
        "purple",
        (143, 63, 151),
        "Cảnh báo hưởng tới sức khỏe: mọi người bị ảnh hưởng tới sức khỏe nghiêm trọng hơn.",
        "Mọi người hạn chế tối đa các hoạt động ngoài trời và chuyển tất cả các hoạt động vào trong nhà. Nếu cần "
        "thiết phải ra ngoài, hãy đeo khẩu trang đạt tiêu chuẩn.",
        "Nên ở trong nhà và giảm hoạt động mạnh.",
    ),
    Band(
        301,
        500,
        "Nguy hại",
        "maroon",
        (126, 0, 35),
        "Cảnh báo khẩn cấp về sức khỏe: Toàn bộ dân số bị ảnh hưởng tới sức khỏe tới mức nghiêm trọng.",
        _STAY_INDOORS,
        _STAY_INDOORS,
    ),
)

NOWCAST_HOURS = 12
HOURLY_PARAMETERS: tuple[str, ...] = ("PM2.5", "PM10", "O3", "CO", "SO2", "NO2")
MIN_HOURS_24H = 18  # project rule (75 %): the Decision sets no minimum for a 24 h mean
MIN_HOURS_8H = 6  # project rule (75 %): the Decision sets no minimum for an 8 h mean


class NoIndex:
    """Why an hour or a day has no VN_AQI: the codes the gold tables' ``no_index_reason`` holds."""

    NO_PM_NOWCAST = (
        "NO_PM_NOWCAST: neither PM2.5 nor PM10 has a NowCast (fewer than 2 of the 3 latest hours measured; "
        "Decision 1459, 2.2.1 a and 2.1 b)"
    )
    PM_24H_INCOMPLETE = (
        f"PM_24H_INCOMPLETE: neither PM2.5 nor PM10 has {MIN_HOURS_24H} of 24 hourly values for a 24 h mean "
        "(project rule; PM is required by Decision 1459, 2.1 b)"
    )


class _Segment(NamedTuple):
    bp_lo: float
    bp_hi: float
    i_lo: float
    slope: float  # (I_hi - I_lo) / (BP_hi - BP_lo)


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise ValueError(f"unknown VN_AQI table {table!r}; expected one of {TABLES}")


def _segments(parameter: str, table: str) -> list[_Segment]:
    """Interpolation segments of one parameter's table, lowest first; [] if it has none."""
    bps = BREAKPOINTS.get((parameter, table), ())
    return [
        _Segment(
            bp_lo=float(bps[k]),
            bp_hi=float(bps[k + 1]),
            i_lo=float(INDEX_LEVELS[k]),
            slope=(INDEX_LEVELS[k + 1] - INDEX_LEVELS[k]) / (bps[k + 1] - bps[k]),
        )
        for k in range(len(bps) - 1)
    ]


def _above_top(parameter: str, table: str) -> float | None:
    """Sub-index for concentrations above the top breakpoint: 500 (the table's "≥" row), or None
    for the O3 8 h column, which section 2.2.2 b drops above 400 µg/m³."""
    return TOP_INDEX if len(BREAKPOINTS[(parameter, table)]) == len(INDEX_LEVELS) else None


def _valid(value: float | None) -> float | None:
    """A measurement, or None for missing, NaN or negative (not a valid concentration)."""
    return None if value is None or math.isnan(value) or value < 0 else float(value)


def sub_index(parameter: str, concentration: float | None, table: str = "1h") -> float | None:
    """VN_AQI sub-index of one concentration, by linear interpolation between breakpoints.

    Decision 1459, 2.2.1 b "Công thức 1": AQIx = (I_i+1 − I_i) / (BP_i+1 − BP_i) × (Cx − BP_i) + I_i,
    BP_i ≤ Cx < BP_i+1; the curve is continuous, so a value exactly on a breakpoint gets that
    breakpoint's index. Returns None for a missing, NaN or negative concentration, for a parameter
    without a table (e.g. TSP, or anything but O3 under ``table="8h"``) and for O3 8 h above
    400 µg/m³ (see ``BREAKPOINTS``). At or above the top breakpoint (the "≥" row) the index is 500.
    """
    _check_table(table)
    concentration = _valid(concentration)
    segments = _segments(parameter, table)
    if concentration is None or not segments:
        return None
    for seg in segments:
        if concentration < seg.bp_hi:
            return seg.slope * (concentration - seg.bp_lo) + seg.i_lo
    if concentration == segments[-1].bp_hi:
        return float(INDEX_LEVELS[len(segments)])
    return _above_top(parameter, table)


def nowcast(hourly: Sequence[float | None]) -> float | None:
    """NowCast of PM10 / PM2.5, as Decision 1459 section 2.2.1 a writes it.

    ``hourly`` is c1, c2, … newest first (c1 = the current hour); only c1..c12 are used. None, NaN
    and negative values are missing hours, whose weight is 0. Needs at least 2 of c1, c2, c3, else
    None ("không có dữ liệu"). w* = Cmin / Cmax over the hours present; w = w* if w* > 1/2, else
    w = 1/2, and

        w > 1/2:  NowCast = Σ w^(i−1) · c_i / Σ w^(i−1)
        w = 1/2:  NowCast = Σ (1/2)^i · c_i          (not divided by the weights: the Decision's text)

    With all 12 hours present the two agree to within 2^−12; with hours missing the w = 1/2 form
    is lower, as the Decision prescribes. Hours that are all zero give 0.0.
    """
    window = [_valid(c) for c in list(hourly)[:NOWCAST_HOURS]]
    if sum(c is not None for c in window[:3]) < 2:
        return None
    present = [(i, c) for i, c in enumerate(window) if c is not None]  # i = 0 for c1
    c_max = max(c for _, c in present)
    if c_max == 0:
        return 0.0
    w_star = min(c for _, c in present) / c_max
    if w_star <= 0.5:
        return sum(0.5 ** (i + 1) * c for i, c in present)
    return sum(w_star**i * c for i, c in present) / sum(w_star**i for i, _ in present)


def mean_if_complete(hourly: Sequence[float | None], minimum: int) -> float | None:
    """Mean of the valid hourly values, or None when fewer than ``minimum`` are valid.

    ``MIN_HOURS_24H`` for a 24 h mean (section 2.2.2 a: hours 01:00 … 00:00 next day, i.e. the
    local day's 24 hour-beginning hours), ``MIN_HOURS_8H`` for an 8 h mean (8 consecutive hours
    ending at the hour). The minimums are the project's: the Decision gives none.
    """
    values = [v for v in (_valid(c) for c in hourly) if v is not None]
    return sum(values) / len(values) if len(values) >= minimum and values else None


def round_index(value: float) -> int:
    """The Decision rounds AQI^h and AQI^d to integers ("làm tròn thành số nguyên"): half up,
    74.5 → 75, not Python's banker's 74."""
    return math.floor(value + 0.5)


def combined_aqi(sub_indices: Mapping[str, float | None]) -> int | None:
    """AQI = the largest parameter sub-index, rounded (sections 2.2.1 c, 2.2.2 c).

    Keys are parameter names; None unless a "PM10" or "PM2.5" sub-index is present (section 2.1 b:
    at least one of them is required).
    """
    present = {k: v for k, v in sub_indices.items() if v is not None and not math.isnan(v)}
    if not any(p in present for p in PM_PARAMETERS):
        return None
    return round_index(max(present.values()))


def hourly_sub_indices(
    one_hour: Mapping[str, float | None], pm_nowcast: Mapping[str, float | None]
) -> dict[str, float | None]:
    """Sub-indices of one hour (section 2.2.1 b): O3, CO, SO2, NO2 from ``one_hour`` (1 h values,
    O3 on the 1 h table), PM2.5 / PM10 from ``pm_nowcast`` ("Công thức 2")."""
    subs = {p: sub_index(p, one_hour.get(p)) for p in HOURLY_PARAMETERS if p not in PM_PARAMETERS}
    subs.update({p: sub_index(p, pm_nowcast.get(p)) for p in PM_PARAMETERS})
    return subs


def daily_sub_indices(
    pm_24h: Mapping[str, float | None],
    max_1h: Mapping[str, float | None],
    o3_8h_max: float | None,
) -> dict[str, float | None]:
    """Sub-indices of one day (section 2.2.2 b).

    PM2.5 / PM10: the 24 h mean (``mean_if_complete``); SO2, NO2, CO: the day's largest 1 h value;
    O3: the larger of the 1 h table's index of the largest 1 h value and the 8 h table's index of
    the largest 8 h mean, the 8 h path dropped above 400 µg/m³ (the worked example in 2.3 c rates
    the two O3 values on their own tables: 89.3 µg/m³ 8 h → 45, 114.6 µg/m³ 1 h → 36).
    """
    subs: dict[str, float | None] = {p: sub_index(p, pm_24h.get(p)) for p in PM_PARAMETERS}
    subs.update({p: sub_index(p, max_1h.get(p)) for p in ("CO", "SO2", "NO2")})
    o3 = [s for s in (sub_index("O3", max_1h.get("O3"), "1h"), sub_index("O3", o3_8h_max, "8h")) if s is not None]
    subs["O3"] = max(o3) if o3 else None
    return subs


def band_of(aqi: int | None) -> Band | None:
    """The band an AQI value falls in; None for None or negative (above 500 still "Nguy hại")."""
    if aqi is None or aqi < 0:
        return None
    return next((b for b in BANDS if aqi <= b.high), BANDS[-1])


def band(aqi: int | None) -> tuple[str, str] | None:
    """(Vietnamese category, colour) for an AQI value; None for None or negative."""
    found = band_of(aqi)
    return None if found is None else (found.name, found.colour)


# ----------------------------------------------------------------------------------------- Spark


def sub_index_column(parameter: Column | str, value_col: Column, table: str = "1h") -> Column:
    """Spark twin of ``sub_index``: one ``F.when`` chain over the same breakpoint data.

    ``parameter`` is a column (every parameter's segments in the chain) or a parameter name (only
    its segments: a short expression for the gold tables' fixed columns). Null, NaN or negative
    values and parameters without a table give null, as in Python.
    """
    _check_table(table)
    value = value_col.cast("double")
    null = F.lit(None).cast("double")
    expr = F.when(value.isNull() | F.isnan(value) | (value < F.lit(0.0)), null)
    for (name, param_table), bps in BREAKPOINTS.items():
        if param_table != table or (isinstance(parameter, str) and name != parameter):
            continue
        is_param = F.lit(True) if isinstance(parameter, str) else parameter == F.lit(name)
        segments = _segments(name, table)
        for seg in segments:
            expr = expr.when(
                is_param & (value < F.lit(seg.bp_hi)),
                F.lit(seg.slope) * (value - F.lit(seg.bp_lo)) + F.lit(seg.i_lo),
            )
        top_index = float(INDEX_LEVELS[len(segments)])
        expr = expr.when(is_param & (value == F.lit(float(bps[-1]))), F.lit(top_index))
        above = _above_top(name, table)
        expr = expr.when(is_param, null if above is None else F.lit(above))
    return expr.otherwise(null)


def band_column(aqi_col: Column, attribute: str = "name") -> Column:
    """Spark twin of ``band_of(aqi).<attribute>`` (``name``, ``hex``, ``health_effect``,
    ``advice_general``, ``advice_sensitive``): null for null or negative."""
    expr = F.when(aqi_col.isNull() | (aqi_col < F.lit(0)), F.lit(None).cast("string"))
    for b in BANDS:
        expr = expr.when(aqi_col <= F.lit(b.high), F.lit(getattr(b, attribute)))
    return expr.otherwise(F.lit(getattr(BANDS[-1], attribute)))


def band_name_column(aqi_col: Column) -> Column:
    """Spark twin of ``band(...)[0]``: Vietnamese category name, null for null or negative."""
    return band_column(aqi_col, "name")


def nowcast_column(history: Column, current_epoch: Column) -> Column:
    """Spark twin of ``nowcast``, UDF-free: ``history`` is an array of struct(epoch, c) of one
    parameter's valid hourly values within the 12 hours ending at ``current_epoch`` (seconds)."""
    lag = lambda x: ((current_epoch - x["epoch"]) / F.lit(3600)).cast("int")  # noqa: E731 - i − 1
    values = F.transform(history, lambda x: x["c"])
    c_max, c_min = F.array_max(values), F.array_min(values)
    recent = F.size(F.filter(history, lambda x: lag(x) < F.lit(3)))
    w_star = c_min / c_max
    half = F.aggregate(history, F.lit(0.0), lambda acc, x: acc + F.pow(F.lit(0.5), lag(x) + 1) * x["c"])
    weighted = F.aggregate(history, F.lit(0.0), lambda acc, x: acc + F.pow(w_star, lag(x)) * x["c"])
    weights = F.aggregate(history, F.lit(0.0), lambda acc, x: acc + F.pow(w_star, lag(x)))
    return (
        F.when(recent < F.lit(2), F.lit(None).cast("double"))
        .when(c_max == F.lit(0.0), F.lit(0.0))
        .when(w_star <= F.lit(0.5), half)
        .otherwise(weighted / weights)
    )
