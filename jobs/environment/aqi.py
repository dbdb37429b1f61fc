"""Vietnam Air Quality Index (VN_AQI) per Decision 1459/QĐ-TCMT (12/11/2019).

The breakpoint table is data, read by both the pure-Python functions (used in tests, small
batches and UDF-free checks) and the Spark column builders, so the two can never disagree.
Concentrations are µg/m³ (CO too, not mg/m³).

Which inputs to pass (Decision 1459, as summarised in docs/domain.md, "VN_AQI"):

* hourly AQI: 1 h values of O3, CO, SO2, NO2; ``nowcast`` of the last 12 h for PM10 / PM2.5;
* daily AQI: PM10 / PM2.5 24 h means; the other sub-indices come from the day's 1 h (and O3 8 h)
  values; the AQI is the largest sub-index and needs PM10 or PM2.5.

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
# (parameter, table). Source: Decision 1459/QĐ-TCMT, Table 1 (copied in docs/domain.md, "VN_AQI").
# The O3 8 h table stops at 400 µg/m³ = index 300: above that the Decision rates ozone with the
# 1 h table and the 1 h concentration, which the 8 h value cannot stand in for (the 1 h table
# would give 400 µg/m³ only index 200, lower than the 8 h table's 300). So an 8 h value above 400
# has no 8 h sub-index (None): the caller's O3 1 h sub-index carries the day.
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

# (lowest AQI, highest AQI, Vietnamese name, colour). Decision 1459, section 1.4.
BANDS: tuple[tuple[int, int, str, str], ...] = (
    (0, 50, "Tốt", "green"),
    (51, 100, "Trung bình", "yellow"),
    (101, 150, "Kém", "orange"),
    (151, 200, "Xấu", "red"),
    (201, 300, "Rất xấu", "purple"),
    (301, 500, "Nguy hại", "maroon"),
)

NOWCAST_HOURS = 12


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
    """Sub-index for concentrations above the top breakpoint: 500 (cap), or None for a table
    that stops short of index 500 (O3 8 h), where the Decision switches to the 1 h table."""
    return TOP_INDEX if len(BREAKPOINTS[(parameter, table)]) == len(INDEX_LEVELS) else None


def sub_index(parameter: str, concentration: float | None, table: str = "1h") -> float | None:
    """VN_AQI sub-index of one concentration, by linear interpolation between breakpoints.

    I = (I_hi − I_lo) / (BP_hi − BP_lo) × (C − BP_lo) + I_lo with BP_lo ≤ C < BP_hi; the curve
    is continuous, so a value exactly on a breakpoint gets that breakpoint's index. Returns None
    for a missing, NaN or negative concentration (not a valid measurement), for a parameter
    without a table (e.g. TSP, or anything but O3 under ``table="8h"``) and for O3 8 h above
    400 µg/m³ (see ``BREAKPOINTS``). Above the top breakpoint the index is capped at 500: the
    scale ends there and anything beyond is already "Nguy hại".
    """
    _check_table(table)
    if concentration is None or math.isnan(concentration) or concentration < 0:
        return None
    segments = _segments(parameter, table)
    if not segments:
        return None
    for seg in segments:
        if concentration < seg.bp_hi:
            return seg.slope * (concentration - seg.bp_lo) + seg.i_lo
    if concentration == segments[-1].bp_hi:
        return float(INDEX_LEVELS[len(segments)])
    return _above_top(parameter, table)


def nowcast(hourly: Sequence[float | None]) -> float | None:
    """12-hour NowCast of PM10 / PM2.5 hourly means, so the hourly AQI follows fast changes.

    ``hourly`` is newest first; only the first 12 entries are used. None, NaN and negative
    values are missing hours. At least 2 of the 3 most recent hours must be present, else None.
    With Cmin / Cmax over the present hours, w = max(Cmin / Cmax, 0.5) and

        NowCast = Σ w^(i−1) · c_i / Σ w^(i−1)   (sums over present hours i = 1..12)

    for every w, including w = 0.5. Decision 1459, like US EPA, writes the w = 0.5 case as
    Σ (1/2)^i · c_i, i.e. the formula above times (1 − 2^−12) when all 12 hours are present and
    biased low when hours are missing, so the normalised form is used.
    Hours that are all zero give 0.0.
    """
    window: list[float | None] = [
        None if c is None or math.isnan(c) or c < 0 else float(c) for c in list(hourly)[:NOWCAST_HOURS]
    ]
    if sum(c is not None for c in window[:3]) < 2:
        return None
    present = [(i, c) for i, c in enumerate(window) if c is not None]
    c_max = max(c for _, c in present)
    c_min = min(c for _, c in present)
    if c_max == 0:
        return 0.0
    w = max(c_min / c_max, 0.5)
    numerator = sum(w**i * c for i, c in present)
    denominator = sum(w**i for i, _ in present)
    return numerator / denominator


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def daily_aqi(sub_indices: Mapping[str, float | None]) -> int | None:
    """AQI = largest sub-index, rounded half up (74.5 → 75, not Python's banker's 74).

    Keys are parameter names (any extra keys such as "O3_8h" also count); returns None unless a
    "PM10" or "PM2.5" sub-index is present, because the Decision requires one of them. The same
    rule makes the hourly AQI when given hourly sub-indices (NowCast for PM).
    """
    present = {k: v for k, v in sub_indices.items() if v is not None and not math.isnan(v)}
    if not any(p in present for p in PM_PARAMETERS):
        return None
    return _round_half_up(max(present.values()))


def band(aqi: int | None) -> tuple[str, str] | None:
    """(Vietnamese category, colour) for an AQI value; None for None or negative.

    Values above 500 (not produced by ``sub_index``, which caps) still read "Nguy hại".
    """
    if aqi is None or aqi < 0:
        return None
    for _low, high, name, colour in BANDS:
        if aqi <= high:
            return (name, colour)
    return (BANDS[-1][2], BANDS[-1][3])


def sub_index_column(parameter_col: Column, value_col: Column, table: str = "1h") -> Column:
    """Spark twin of ``sub_index``: one ``F.when`` chain over the same breakpoint data.

    Null, NaN or negative values and parameters without a table give null, as in Python.
    """
    _check_table(table)
    value = value_col.cast("double")
    null = F.lit(None).cast("double")
    expr = F.when(value.isNull() | F.isnan(value) | (value < F.lit(0.0)), null)
    for (parameter, param_table), bps in BREAKPOINTS.items():
        if param_table != table:
            continue
        is_param = parameter_col == F.lit(parameter)
        segments = _segments(parameter, table)
        for seg in segments:
            expr = expr.when(
                is_param & (value < F.lit(seg.bp_hi)),
                F.lit(seg.slope) * (value - F.lit(seg.bp_lo)) + F.lit(seg.i_lo),
            )
        top_index = float(INDEX_LEVELS[len(segments)])
        expr = expr.when(is_param & (value == F.lit(float(bps[-1]))), F.lit(top_index))
        above = _above_top(parameter, table)
        expr = expr.when(is_param, null if above is None else F.lit(above))
    return expr.otherwise(null)


def band_name_column(aqi_col: Column) -> Column:
    """Spark twin of ``band(...)[0]``: Vietnamese category name, null for null or negative."""
    expr = F.when(aqi_col.isNull() | (aqi_col < F.lit(0)), F.lit(None).cast("string"))
    for _low, high, name, _colour in BANDS:
        expr = expr.when(aqi_col <= F.lit(high), F.lit(name))
    return expr.otherwise(F.lit(BANDS[-1][2]))
