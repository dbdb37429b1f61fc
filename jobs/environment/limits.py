"""Regulatory limits for environment readings, kept as versioned reference data.

Limits change by regulation and date (PM2.5 24 h tightens on 2026-01-01; QCVN 40:2011 is
replaced on 2025-09-01), so every value is a row with ``valid_from`` / ``valid_to`` (inclusive;
``None`` = open-ended) and a ``source``. Correcting or adding a regulation means editing the
tables below, never adding a code branch. The ``*_rows()`` functions return plain dicts so a
Spark job can build a small DataFrame (schema: ``AIR_LIMIT_SCHEMA`` / ``WASTEWATER_LIMIT_SCHEMA``)
and join readings on parameter and date (wastewater rows name the QCVN 40 column
``qcvn_column``, as the facility reference data does).

Sources: docs/domain.md, sections "Ambient air limits" (QCVN 05:2023/BTNMT) and "Wastewater limits"
(QCVN 40:2011/BTNMT).
"""

from __future__ import annotations

from datetime import date
from typing import Any

AIR_UNIT = "µg/Nm³"  # micro sign U+00B5, superscript three U+00B3
AIR_PARAMETERS: tuple[str, ...] = ("PM2.5", "PM10", "NO2", "SO2", "CO", "O3", "TSP")
AVERAGING_PERIODS: tuple[str, ...] = ("1h", "8h", "24h", "year")

WASTEWATER_PARAMETERS: tuple[str, ...] = ("pH", "BOD5", "COD", "TSS", "NH4_N", "TN", "TP", "coliform", "temperature")
WASTEWATER_COLUMNS: tuple[str, ...] = ("A", "B")

AIR_LIMIT_SCHEMA = (
    "parameter STRING, averaging STRING, limit_value DOUBLE, unit STRING, valid_from DATE, "
    "valid_to DATE, source STRING, confirmed BOOLEAN"
)
WASTEWATER_LIMIT_SCHEMA = (
    "parameter STRING, qcvn_column STRING, min_value DOUBLE, max_value DOUBLE, unit STRING, "
    "factors_apply BOOLEAN, valid_from DATE, valid_to DATE, source STRING, confirmed BOOLEAN"
)

# --- Ambient air: QCVN 05:2023/BTNMT, in force 2023-09-12 ------------------------------------
# (parameter, averaging, limit µg/Nm³, valid_from, valid_to, source). No row = no limit for that
# averaging period; readings before 2023-09-12 find no row (QCVN 05:2013 is not loaded).
_QCVN_05_2023 = "QCVN 05:2023/BTNMT"
_QCVN_05_2023_FROM = date(2023, 9, 12)
_AIR_LIMITS: tuple[tuple[str, str, float, date, date | None, str], ...] = (
    ("SO2", "1h", 350, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("SO2", "24h", 125, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("SO2", "year", 50, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("CO", "1h", 30000, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("CO", "8h", 10000, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("NO2", "1h", 200, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("NO2", "24h", 100, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("NO2", "year", 40, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("O3", "1h", 200, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("O3", "8h", 120, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("TSP", "1h", 300, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("TSP", "24h", 200, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("TSP", "year", 100, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("PM10", "24h", 100, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("PM10", "year", 50, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
    ("PM2.5", "24h", 50, _QCVN_05_2023_FROM, date(2025, 12, 31), _QCVN_05_2023),
    ("PM2.5", "24h", 45, date(2026, 1, 1), None, _QCVN_05_2023),
    ("PM2.5", "year", 25, _QCVN_05_2023_FROM, None, _QCVN_05_2023),
)

# --- Industrial wastewater ------------------------------------------------------------------
# Limit values per regulation text: parameter -> (unit, C×Kq×Kf applies, {column: (min, max)}).
# Per QCVN 40:2011 §2.1, pH, temperature and coliform use Cmax = C (no Kq, Kf).
_WastewaterValues = dict[str, tuple[str, bool, dict[str, tuple[float | None, float | None]]]]
_QCVN_40_2011_VALUES: _WastewaterValues = {
    "pH": ("pH", False, {"A": (6.0, 9.0), "B": (5.5, 9.0)}),
    "BOD5": ("mg/L", True, {"A": (None, 30.0), "B": (None, 50.0)}),
    "COD": ("mg/L", True, {"A": (None, 75.0), "B": (None, 150.0)}),
    "TSS": ("mg/L", True, {"A": (None, 50.0), "B": (None, 100.0)}),
    "NH4_N": ("mg/L", True, {"A": (None, 5.0), "B": (None, 10.0)}),
    "TN": ("mg/L", True, {"A": (None, 20.0), "B": (None, 40.0)}),
    "TP": ("mg/L", True, {"A": (None, 4.0), "B": (None, 6.0)}),
    "coliform": ("MPN/100mL", False, {"A": (None, 3000.0), "B": (None, 5000.0)}),
    "temperature": ("°C", False, {"A": (None, 40.0), "B": (None, 40.0)}),
}

# Versions: (source, valid_from, valid_to, confirmed, values). QCVN 40:2011 came into force with
# Circular 47/2011/TT-BTNMT on 2012-02-15. QCVN 40:2025 replaces it from 2025-09-01 but its limits
# are unconfirmed here, so the 40:2011 values are carried over and flagged confirmed=False; when
# the new limits are confirmed, give that row its own values table and set confirmed=True.
_WASTEWATER_VERSIONS: tuple[tuple[str, date, date | None, bool, _WastewaterValues], ...] = (
    ("QCVN 40:2011/BTNMT", date(2012, 2, 15), date(2025, 8, 31), True, _QCVN_40_2011_VALUES),
    (
        "QCVN 40:2025/BTNMT (limits unconfirmed; 40:2011 values carried over)",
        date(2025, 9, 1),
        None,
        False,
        _QCVN_40_2011_VALUES,
    ),
)


def _in_force(row: dict[str, Any], on: date) -> bool:
    valid_to = row["valid_to"]
    return row["valid_from"] <= on and (valid_to is None or on <= valid_to)


def air_limit_rows() -> list[dict[str, Any]]:
    """All air limit rows as plain dicts, so Spark can join readings to them by date."""
    return [
        {
            "parameter": parameter,
            "averaging": averaging,
            "limit_value": float(value),
            "unit": AIR_UNIT,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "source": source,
            "confirmed": True,
        }
        for parameter, averaging, value, valid_from, valid_to, source in _AIR_LIMITS
    ]


def wastewater_limit_rows() -> list[dict[str, Any]]:
    """All wastewater limit rows (one per version × parameter × column) as plain dicts.

    ``min_value`` / ``max_value`` are the table values C; ``factors_apply`` says whether the
    effective maximum is C × Kq × Kf, which depends on the discharge and is applied at lookup.
    """
    rows: list[dict[str, Any]] = []
    for source, valid_from, valid_to, confirmed, values in _WASTEWATER_VERSIONS:
        for parameter, (unit, factors_apply, by_column) in values.items():
            for column, (low, high) in by_column.items():
                rows.append(
                    {
                        "parameter": parameter,
                        "qcvn_column": column,
                        "min_value": None if low is None else float(low),
                        "max_value": None if high is None else float(high),
                        "unit": unit,
                        "factors_apply": factors_apply,
                        "valid_from": valid_from,
                        "valid_to": valid_to,
                        "source": source,
                        "confirmed": confirmed,
                    }
                )
    return rows


def air_limit_row(parameter: str, averaging: str, on: date) -> dict[str, Any] | None:
    """The air limit row in force on a date, or None; callers need its source for reports."""
    for row in air_limit_rows():
        if row["parameter"] == parameter and row["averaging"] == averaging and _in_force(row, on):
            return row
    return None


def air_limit(parameter: str, averaging: str, on: date) -> float | None:
    """QCVN 05 limit (µg/Nm³) in force on ``on``; None when no limit exists for that period."""
    row = air_limit_row(parameter, averaging, on)
    return None if row is None else row["limit_value"]


def wastewater_limit_row(parameter: str, column: str, on: date) -> dict[str, Any] | None:
    """The wastewater limit row in force on a date, or None; carries ``source`` and ``confirmed``."""
    for row in wastewater_limit_rows():
        if row["parameter"] == parameter and row["qcvn_column"] == column and _in_force(row, on):
            return row
    return None


def wastewater_limit(
    parameter: str, column: str, on: date, kq: float = 1.0, kf: float = 1.0
) -> tuple[float | None, float | None]:
    """Allowed (min, max) on ``on`` for QCVN 40 column "A" or "B"; (None, None) if no row.

    The max is C × Kq × Kf (receiving-water and flow factors of the discharge) for concentration
    parameters, and plain C for pH, temperature and coliform, as QCVN 40:2011 §2.1 requires.
    The min (pH only) is never scaled.
    """
    if kq <= 0 or kf <= 0:
        raise ValueError(f"Kq and Kf must be positive, got kq={kq}, kf={kf}")
    row = wastewater_limit_row(parameter, column, on)
    if row is None:
        return (None, None)
    high = row["max_value"]
    if high is not None and row["factors_apply"]:
        high = high * kq * kf
    return (row["min_value"], high)
