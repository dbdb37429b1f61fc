"""The lean baseline of ``make bench``: air readings landing → silver → daily VN_AQI with polars and delta-rs.

Why: issue 16 asks how far the Spark pipeline is from one process doing the same rules on the same
input. The rules are written here again from what the registry entries (``jobs/environment/datasets.py``),
``docs/domain.md`` ("VN_AQI") and the bronze / silver docstrings state, not imported from the
pipeline's transforms (an import-linter contract forbids ``jobs.environment``, ``jobs.silver``,
``jobs.conform``, ``jobs.bronze``, ``jobs.gold`` here), so the side-by-side correctness check compares
two implementations. Shared with the pipeline, as reference data or a library of its own: the province
tables (``jobs.provinces``) and the legacy-font repair of names (``jobs.text``).

Run by ``bench.side_by_side`` in a child process (its memory is then its own, no JVM): ``python -m
bench.lean --sources DIR --date 2026-11-26`` prints one JSON object, stage → seconds and the counts.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

LOCAL_TZ = "Asia/Ho_Chi_Minh"
LOCAL_OFFSET = timedelta(hours=7)  # Vietnam keeps no summer time
COLUMNS = ("station_id", "station_name", "province_code", "parameter", "value", "unit", "measured_at", "device_status")
STATION_COLUMNS = ("station_id", "station_name", "province_code", "latitude", "longitude", "active_since")

PARAMETER_ALIASES = {
    "pm2.5": "PM2.5",
    "pm25": "PM2.5",
    "pm2,5": "PM2.5",
    "pm10": "PM10",
    "no2": "NO2",
    "so2": "SO2",
    "co": "CO",
    "o3": "O3",
    "tsp": "TSP",
}
CANONICAL_UNIT = "µg/Nm³"
UNIT_FACTORS = {"µg/nm3": 1.0, "ug/nm3": 1.0, "µg/m3": 1.0, "ug/m3": 1.0, "mg/nm3": 1000.0, "mg/m3": 1000.0}
PHYSICAL_RANGE = {
    "PM2.5": (0.0, 2000.0),
    "PM10": (0.0, 3000.0),
    "NO2": (0.0, 5000.0),
    "SO2": (0.0, 5000.0),
    "CO": (0.0, 200000.0),
    "O3": (0.0, 2000.0),
    "TSP": (0.0, 5000.0),
}
MAX_RECORD_CHARS = 4 * 1024 * 1024
MAX_FIELDS = 1000

# VN_AQI, Decision 1459/QĐ-TCMT, Bảng 2 as docs/domain.md quotes it.
INDEX_LEVELS = (0, 50, 100, 150, 200, 300, 400, 500)
BREAKPOINTS: dict[tuple[str, str], tuple[float, ...]] = {
    ("O3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("O3", "8h"): (0, 100, 120, 170, 210, 400),
    ("CO", "1h"): (0, 10000, 30000, 45000, 60000, 90000, 120000, 150000),
    ("SO2", "1h"): (0, 125, 350, 550, 800, 1600, 2100, 2630),
    ("NO2", "1h"): (0, 100, 200, 700, 1200, 2350, 3100, 3850),
    ("PM10", "1h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("PM2.5", "1h"): (0, 25, 50, 80, 150, 250, 350, 500),
}
AQI_PARAMETERS = {"PM2.5": "pm25", "PM10": "pm10", "O3": "o3", "CO": "co", "SO2": "so2", "NO2": "no2"}
BANDS = (  # Bảng 1: the highest index of each band, its name and the Decision's colour
    (50, "Tốt", "#00E400"),
    (100, "Trung bình", "#FFFF00"),
    (150, "Kém", "#FF7E00"),
    (200, "Xấu", "#FF0000"),
    (300, "Rất xấu", "#8F3F97"),
    (500, "Nguy hại", "#7E0023"),
)
MIN_HOURS_24H = 18  # the project's rule (docs/domain.md): 18 of 24 hours for a 24 h mean
MIN_HOURS_8H = 6  # and 6 of 8 for an 8 h mean
HOUR_US = 3_600_000_000

_QUOTED = r'"[^"]*(?:""[^"]*)*"'
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_NON_FINITE = r"(?i)^[+-]?(nan|inf|infinity)$"
_SPACE = r"[ \t\n\x0B\f\r]+"
_TRIM = " "


# ------------------------------------------------------------------------------------- pure rules


def split_lines(lines: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """``(line, line_no)`` → the declared columns as strings plus ``_parse_error`` (bronze's rules:
    guards first, then an empty line, an odd number of quotes, a field count other than declared).
    Empty fields are NULL, as a CSV reader with an empty null value reads them."""
    line = pl.col("line")
    fields = line.str.replace_all(_QUOTED, "").str.count_matches(",", literal=True) + 1
    error = (
        pl.when(line.str.len_chars() > MAX_RECORD_CHARS)
        .then(pl.lit("record too large: the line is longer than the limit"))
        .when(line.str.contains("\ufffd", literal=True))
        .then(pl.lit("invalid UTF-8: bytes that are not UTF-8"))
        .when(line.str.count_matches(",", literal=True) >= MAX_FIELDS)
        .then(pl.lit("too many fields"))
        .when(line.str.strip_chars(_TRIM) == "")
        .then(pl.lit("empty line"))
        .when(line.str.count_matches('"', literal=True) % 2 == 1)
        .then(pl.lit("unclosed quote"))
        .when(fields != len(columns))
        .then(pl.lit(f"expected {len(columns)} fields, found ") + fields.cast(pl.String))
    )
    framed = lines.with_columns(error.alias("_parse_error"))
    plain = framed.filter(pl.col("_parse_error").is_null() & ~line.str.contains('"', literal=True))
    parts = plain.select(
        "line_no", line.str.split_exact(",", len(columns) - 1).struct.rename_fields(list(columns)).alias("_f")
    ).unnest("_f")
    quoted = framed.filter(pl.col("_parse_error").is_null() & line.str.contains('"', literal=True))
    rows = [(no, *next(csv.reader([text]))) for no, text in quoted.select("line_no", "line").iter_rows()]
    schema = {"line_no": pl.Int64, **dict.fromkeys(columns, pl.String)}
    parsed = pl.concat([parts, pl.DataFrame(rows, schema=schema, orient="row")])
    parsed = parsed.with_columns([pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in columns])
    return framed.join(parsed, on="line_no", how="left").rename({"line": "_raw_line"})


def province_2025(raw: pl.Expr, day: pl.Expr, legacy: dict[str, str], current: set[str], reform: date) -> pl.Expr:
    """A raw province code as its 2025 code on the record's day, NULL when it cannot be mapped.

    Before the reform the code is read in the old scheme; from it on a 2025 code stays and an old-only
    code is mapped; undated, only where both readings agree."""
    code = raw.str.extract(r"^[ \t]*0*([1-9][0-9]?)(?:\.0+)?[ \t]*$", 1).str.zfill(2)
    mapped = code.replace_strict(legacy, default=None, return_dtype=pl.String)
    as_2025 = pl.coalesce(pl.when(code.is_in(sorted(current))).then(code), mapped)
    return (
        pl.when(code.is_null())
        .then(pl.lit(None, pl.String))
        .when(day.is_null())
        .then(pl.when(mapped == as_2025).then(mapped))
        .when(day < pl.lit(reform))
        .then(mapped)
        .otherwise(as_2025)
    )


def _key(raw: pl.Expr) -> pl.Expr:
    return raw.str.strip_chars(_TRIM).str.replace_all(_SPACE, "").str.to_lowercase()


def _parse_number(raw: pl.Expr) -> pl.Expr:
    text = raw.str.strip_chars(_TRIM)
    ok = text.str.contains(_NUMBER) | text.str.contains(_NON_FINITE)
    return pl.when(ok).then(text.str.replace(r"(?i)infinity$", "inf").cast(pl.Float64, strict=False))


def _event_time(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(UTC time, source offset): ISO 8601 with offset, or ``dd/mm/yyyy HH:mm`` read as Vietnam time."""
    text = raw.str.strip_chars(_TRIM)
    iso = text.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%S%:z", strict=False)
    local = text.str.strptime(pl.Datetime("us"), "%d/%m/%Y %H:%M", strict=False) - pl.duration(hours=7)
    utc = pl.coalesce(iso, local.dt.replace_time_zone("UTC"))
    offset = pl.when(iso.is_not_null()).then(text.str.extract(r"([+-]\d\d:\d\d|Z)$", 1))
    return utc, offset.when(local.is_not_null()).then(pl.lit("+07:00"))


def _local_date(ts: pl.Expr) -> pl.Expr:
    return (ts + pl.duration(hours=7)).dt.date()


def first_reason(rules: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The first rule that holds names the reason; a rule that is NULL (unknown) does not hold."""
    expr: Any = pl.lit(None, pl.String)
    for reason, hit in reversed(rules):
        expr = pl.when(hit.fill_null(False)).then(pl.lit(reason)).otherwise(expr)
    return expr


def outcomes(judged: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """``_outcome`` per line: an exact repeat of an earlier line is a duplicate, a rejected line is
    quarantined, a good line a later good line of the same key replaces is superseded, else silver."""
    candidate = ~pl.col("_is_duplicate") & pl.col("_reject_reason").is_null()
    last = pl.when(candidate).then(pl.col("_source_line")).max().over(key)
    outcome = (
        pl.when(pl.col("_is_duplicate"))
        .then(pl.lit("duplicate"))
        .when(pl.col("_reject_reason").is_not_null())
        .then(pl.lit("quarantined"))
        .when(pl.col("_source_line") != last)
        .then(pl.lit("superseded"))
        .otherwise(pl.lit("silver"))
    )
    return judged.with_columns(outcome.alias("_outcome"))


def stations_to_silver(bronze: pl.DataFrame, as_of: date, provinces: ProvinceTables, repair: Repair) -> pl.DataFrame:
    """The station list's silver rows (id, 2025 province) after its rules; the last line of an id wins."""
    typed = bronze.with_columns(
        pl.col("station_id").str.strip_chars(_TRIM),
        provinces.conform(pl.col("province_code"), pl.lit(as_of)).alias("province_code"),
        _parse_number(pl.col("latitude")).alias("latitude"),
        _parse_number(pl.col("longitude")).alias("longitude"),
    )
    typed = repair.apply(typed, "station_name")
    lat, lon = pl.col("latitude"), pl.col("longitude")
    rules = [
        *_guard_rules(["latitude", "longitude"]),
        ("MALFORMED_LINE", pl.col("_parse_error").is_not_null()),
        ("UNDECIDABLE_TEXT", pl.col("_text_undecidable").is_not_null()),
        ("UNMAPPABLE_PROVINCE", pl.col("province_code").is_null()),
        ("OUT_OF_PHYSICAL_RANGE", ~(lat.is_between(8.0, 23.5) & lon.is_between(102.0, 117.5))),
    ]
    judged = typed.with_columns(
        first_reason(rules).alias("_reject_reason"),
        (pl.col("_source_line") != pl.col("_source_line").min().over("_raw_line")).alias("_is_duplicate"),
    )
    split = outcomes(judged, ["station_id"])
    return split.filter(pl.col("_outcome") == "silver").select("station_id", "station_name", "province_code")


def _guard_rules(doubles: list[str]) -> list[tuple[str, pl.Expr]]:
    error = pl.col("_parse_error")
    non_finite: pl.Expr = error.str.starts_with("non-finite number:")
    for c in doubles:
        non_finite = non_finite | pl.col(c).is_nan() | (pl.col(c).abs() == float("inf"))
    return [
        ("RECORD_TOO_LARGE", error.str.starts_with("record too large:")),
        ("TOO_MANY_FIELDS", error.str.starts_with("too many fields:")),
        ("NESTING_TOO_DEEP", error.str.starts_with("nesting too deep:")),
        ("INVALID_ENCODING", error.str.starts_with("invalid UTF-8:")),
        ("NON_FINITE_NUMBER", non_finite),
    ]


def readings_to_silver(
    bronze: pl.DataFrame,
    stations: pl.DataFrame,
    interval_end: datetime,
    provinces: ProvinceTables,
    repair: Repair,
) -> pl.DataFrame:
    """Every landed reading line with its ``_outcome`` and, when quarantined, ``_reject_reason``.

    Typed and conformed as the registry's air_quality_reading entry says (canonical parameter and unit,
    mg → µg, ISO or local time, Vietnam-local day, 2025 province on the reading's day, repaired NFC
    name), then judged by its row rules in their order."""
    parameter = _key(pl.col("parameter")).replace_strict(PARAMETER_ALIASES, default=None, return_dtype=pl.String)
    unit_key = _key(pl.col("unit")).str.replace_all("\u03bc", "\u00b5").str.replace_all("\u00b3", "3")
    unit_key = unit_key.str.replace_all("\u00b2", "2")
    factor = unit_key.replace_strict(UNIT_FACTORS, default=None, return_dtype=pl.Float64)
    measured_at, offset = _event_time(pl.col("measured_at"))
    ref = stations.select(
        pl.col("station_id").alias("_ref_id"), pl.col("province_code").alias("_entity_province")
    ).unique("_ref_id", keep="last")
    typed = bronze.with_columns(
        pl.col("station_id").str.strip_chars(_TRIM),
        pl.col("province_code").alias("_province_raw"),
        parameter.alias("parameter"),
        (_parse_number(pl.col("value")) * factor.fill_null(1.0)).alias("value"),
        pl.when(factor.is_not_null()).then(pl.lit(CANONICAL_UNIT)).alias("unit"),
        measured_at.alias("measured_at"),
        offset.alias("source_utc_offset"),
        pl.col("device_status").str.strip_chars(_TRIM).str.to_lowercase(),
    ).with_columns(
        _local_date(pl.col("measured_at")).alias("measured_date"),
        parameter.replace_strict({k: v[0] for k, v in PHYSICAL_RANGE.items()}, default=None).alias("_min"),
        parameter.replace_strict({k: v[1] for k, v in PHYSICAL_RANGE.items()}, default=None).alias("_max"),
    )
    typed = typed.with_columns(
        provinces.conform(pl.col("_province_raw"), pl.col("measured_date")).alias("province_code")
    )
    typed = repair.apply(typed, "station_name")
    typed = typed.join(ref, left_on="station_id", right_on="_ref_id", how="left", maintain_order="left")
    typed = typed.with_columns(
        pl.col("_entity_province").is_not_null().alias("_entity_known"),
        (pl.col("_source_line") != pl.col("_source_line").min().over("_raw_line")).alias("_is_duplicate"),
    )
    value = pl.col("value")
    end = pl.lit(interval_end.replace(tzinfo=UTC)).dt.cast_time_unit("us")
    rules = [
        *_guard_rules(["value"]),
        ("MALFORMED_LINE", pl.col("_parse_error").is_not_null()),
        ("UNKNOWN_STATION", ~pl.col("_entity_known")),
        ("INVALID_TIMESTAMP", pl.col("measured_at").is_null()),
        ("INVALID_NUMBER", value.is_null()),
        ("UNKNOWN_PARAMETER", pl.col("parameter").is_null()),
        ("UNKNOWN_UNIT", pl.col("unit").is_null()),
        ("DEVICE_NOT_MEASURING", pl.col("device_status") != "measuring"),
        ("NEGATIVE_VALUE", value < 0),
        ("OUT_OF_PHYSICAL_RANGE", (value < pl.col("_min")) | (value > pl.col("_max"))),
        ("FUTURE_TIMESTAMP", pl.col("measured_at") >= end),
        ("UNDECIDABLE_TEXT", pl.col("_text_undecidable").is_not_null()),
        ("UNMAPPABLE_PROVINCE", pl.col("province_code").is_null()),
        ("PROVINCE_MISMATCH", pl.col("province_code") != pl.col("_entity_province")),
    ]
    judged = typed.with_columns(first_reason(rules).alias("_reject_reason"))
    return outcomes(judged, ["station_id", "parameter", "measured_at"])


def decimal_double(units: pl.Expr, decimals: int) -> pl.Expr:
    """The double nearest to the decimal ``units`` × 10^-``decimals`` (``units`` an integer), as a
    decimal number's conversion to double gives it (Spark's decimal → double, its ``round``).

    Not ``units / 10**decimals``: polars divides by a constant as a multiplication by its reciprocal,
    which is one unit in the last place off for many values (55742 × 0.001 = 55.742000000000004);
    the decimal's text, parsed, is correctly rounded."""
    return pl.format("{}e-{}", units, pl.lit(decimals)).cast(pl.Float64)


def round_half_up(x: pl.Expr, decimals: int) -> pl.Expr:
    """Round a non-negative double as Spark's ``round`` does: half up on the shortest decimal that
    prints it (12.3125 → 12.313), without a string: compare with the double nearest the half
    (the shortest decimal of x is at or above the half exactly when x is at or above that double)."""
    low = (x * 10.0**decimals).floor().cast(pl.Int64)  # one below at worst: the comparison corrects it
    half = decimal_double(10 * low + 5, decimals + 1)
    return (
        pl.when(x.is_null())
        .then(pl.lit(None, pl.Float64))
        .otherwise(decimal_double(pl.when(x >= half).then(low + 1).otherwise(low), decimals))
    )


def half_up_div(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator rounded half up to an integer, exactly (non-negative integers)."""
    return (2 * numerator + denominator) // (2 * denominator)


MEAN_DECIMALS = 10  # a decimal(24, 6) mean has 10 decimals: the average of scale s keeps s + 4


def exact_mean(total: pl.Expr, n: pl.Expr, scale: int) -> pl.Expr:
    """The mean of n decimals of ``scale`` places summing to ``total`` (in units of 10^-scale), as a
    decimal average gives it: rounded half up to ``MEAN_DECIMALS`` places, in units of 10^-10."""
    return half_up_div(total * 10 ** (MEAN_DECIMALS - scale), n)


def to_thousandths(units: pl.Expr) -> pl.Expr:
    """A non-negative decimal in units of 10^-10 rounded half up to 0.001, in thousandths."""
    return half_up_div(units, pl.lit(10 ** (MEAN_DECIMALS - 3)))


def sub_index(parameter: str, value: pl.Expr, table: str = "1h") -> pl.Expr:
    """VN_AQI sub-index: linear between the breakpoints, 500 at or above the last "≥" one, none
    for a missing or negative value or above the O3 8 h column's end."""
    bps = BREAKPOINTS[(parameter, table)]
    expr: Any = pl.when(value.is_null() | value.is_nan() | (value < 0.0)).then(pl.lit(None, pl.Float64))
    for k in range(len(bps) - 1):
        slope = (INDEX_LEVELS[k + 1] - INDEX_LEVELS[k]) / (bps[k + 1] - bps[k])
        expr = expr.when(value < float(bps[k + 1])).then(
            pl.lit(slope) * (value - float(bps[k])) + float(INDEX_LEVELS[k])
        )
    expr = expr.when(value == float(bps[-1])).then(pl.lit(float(INDEX_LEVELS[len(bps) - 1])))
    top = 500.0 if len(bps) == len(INDEX_LEVELS) else None
    return expr.otherwise(pl.lit(top, pl.Float64))


def daily_aqi(silver: pl.DataFrame, dates: list[date]) -> pl.DataFrame:
    """Daily VN_AQI per station heard (any AQI parameter, from the day before the first date) and date.

    PM: 24 h mean of 18+ hourly means; CO, SO2, NO2: the day's largest hourly mean; O3: the larger of
    the 1 h index of its largest hourly mean and the 8 h index of its largest 8 h mean (6+ of 8 hours
    ending at each hour, previous day included).

    Rounding, as the project's hourly and daily tables have it: an hour's mean is the decimal mean of
    its readings (6 places each), kept to 10 places (half up); the hourly value is that rounded half
    up to 0.001, and the daily figures (24 h means, 1 h maxima) come from those rounded hourly
    values; the 8 h mean averages the 10-place hourly means as doubles, in time order, and is then
    rounded half up to 0.001; a 24 h mean is again a 10-place decimal mean rounded to 0.001; each
    sub-index is rounded half up to 0.001. Every figure is the double nearest its decimal."""
    first = min(dates) - timedelta(days=1)
    readings = silver.filter(
        pl.col("measured_date").is_between(first, max(dates)) & pl.col("parameter").is_in(list(AQI_PARAMETERS))
    )
    micro = (pl.col("value") * 1_000_000).round(0, mode="half_away_from_zero").cast(pl.Int64)
    hour = pl.col("measured_at").dt.truncate("1h")
    hourly = readings.group_by("station_id", hour.alias("hour_start"), "parameter").agg(
        micro.sum().alias("s"), pl.len().alias("n")
    )
    mean = exact_mean(pl.col("s"), pl.col("n"), 6)  # units of 10^-10
    hourly = hourly.with_columns(to_thousandths(mean).alias("t"), decimal_double(mean, MEAN_DECIMALS).alias("mean"))
    wide = hourly.pivot(on="parameter", index=["station_id", "hour_start"], values=["t", "mean"])
    for p in AQI_PARAMETERS:
        for v in ("t", "mean"):
            if f"{v}_{p}" not in wide.columns:
                wide = wide.with_columns(pl.lit(None, pl.Float64 if v == "mean" else pl.Int64).alias(f"{v}_{p}"))
    stations = readings.group_by("station_id").agg(pl.col("province_code").max())
    start = datetime.combine(first, datetime.min.time(), UTC) - LOCAL_OFFSET
    end = datetime.combine(max(dates), datetime.min.time(), UTC) - LOCAL_OFFSET + timedelta(hours=23)
    hours = pl.DataFrame({"hour_start": pl.datetime_range(start, end, "1h", eager=True, time_unit="us")})
    grid = stations.join(hours, how="cross").join(wide, on=["station_id", "hour_start"], how="left")
    grid = grid.sort("station_id", "hour_start")
    o3 = pl.col("mean_O3")
    total: pl.Expr = pl.lit(0.0)
    for lag in range(7, -1, -1):  # the window's sum in time order, as a sequential double sum gives it
        total = total + o3.shift(lag).over("station_id").fill_null(0.0)
    count = pl.sum_horizontal([o3.shift(lag).over("station_id").is_not_null() for lag in range(8)])
    grid = grid.with_columns(
        round_half_up(pl.when(count >= MIN_HOURS_8H).then(total / count), 3).alias("o3_8h"),
        _local_date(pl.col("hour_start")).alias("date"),
    ).filter(pl.col("date").is_in(dates))
    t = {c: pl.col(f"t_{p}") for p, c in AQI_PARAMETERS.items()}
    day = grid.group_by("station_id", "date").agg(
        pl.col("province_code").drop_nulls().first(),
        *[
            pl.when(t[c].count() >= MIN_HOURS_24H)
            .then(decimal_double(to_thousandths(exact_mean(t[c].sum(), t[c].count(), 3)), 3))
            .alias(f"{c}_24h")
            for c in ("pm25", "pm10")
        ],
        *[decimal_double(t[c].max(), 3).alias(f"{c}_1h_max") for c in ("o3", "co", "so2", "no2")],
        pl.col("o3_8h").max().alias("o3_8h_max"),
        *[t[c].count().cast(pl.Int32).alias(f"{c}_hours") for c in ("pm25", "pm10")],
    )
    o3_index = pl.max_horizontal(sub_index("O3", pl.col("o3_1h_max")), sub_index("O3", pl.col("o3_8h_max"), "8h"))
    values = {
        "PM2.5": sub_index("PM2.5", pl.col("pm25_24h")),
        "PM10": sub_index("PM10", pl.col("pm10_24h")),
        "O3": o3_index,
        "CO": sub_index("CO", pl.col("co_1h_max")),
        "SO2": sub_index("SO2", pl.col("so2_1h_max")),
        "NO2": sub_index("NO2", pl.col("no2_1h_max")),
    }
    day = day.with_columns([round_half_up(v, 3).alias(f"aqi_{AQI_PARAMETERS[p]}") for p, v in values.items()])
    subs = [pl.col(f"aqi_{c}") for c in AQI_PARAMETERS.values()]
    top = pl.max_horizontal(subs)
    has_pm = pl.col("aqi_pm25").is_not_null() | pl.col("aqi_pm10").is_not_null()
    vn_aqi = pl.when(has_pm).then((top + 0.5).floor()).cast(pl.Int32)
    dominant: Any = pl.lit(None, pl.String)
    for p, c in reversed(AQI_PARAMETERS.items()):
        dominant = pl.when(pl.col(f"aqi_{c}") == top).then(pl.lit(p)).otherwise(dominant)
    day = day.with_columns(vn_aqi.alias("vn_aqi"), pl.when(has_pm).then(dominant).alias("dominant_parameter"))
    band: Any = pl.when(pl.col("vn_aqi").is_null() | (pl.col("vn_aqi") < 0)).then(pl.lit(None, pl.String))
    colour: Any = pl.when(pl.col("vn_aqi").is_null() | (pl.col("vn_aqi") < 0)).then(pl.lit(None, pl.String))
    for high, name, hex_ in BANDS:
        band = band.when(pl.col("vn_aqi") <= high).then(pl.lit(name))
        colour = colour.when(pl.col("vn_aqi") <= high).then(pl.lit(hex_))
    return day.with_columns(
        band.otherwise(pl.lit(BANDS[-1][1])).alias("band"), colour.otherwise(pl.lit(BANDS[-1][2])).alias("colour")
    ).sort("station_id", "date")


# ------------------------------------------------------------------------------ reference helpers


class ProvinceTables:
    """The province code tables (reference data: 2025 codes, old → 2025) and the reform day."""

    def __init__(self) -> None:
        from jobs.provinces import LEGACY_TO_2025, PROVINCES_2025, REFORM_DATE

        self.legacy, self.current, self.reform = dict(LEGACY_TO_2025), set(PROVINCES_2025), REFORM_DATE

    def conform(self, raw: pl.Expr, day: pl.Expr) -> pl.Expr:
        return province_2025(raw, day, self.legacy, self.current, self.reform)


class Repair:
    """Legacy-font repair of a name column, once per distinct value (names repeat, spellings are few)."""

    def __init__(self, fix: Callable[[str], str | None] | None = None, legacy: str | None = None) -> None:
        if fix is None or legacy is None:
            from jobs.text import LEGACY_PATTERN_REGEX, repair_vietnamese

            fix, legacy = fix or repair_vietnamese, legacy or LEGACY_PATTERN_REGEX
        self.fix, self.legacy = fix, re.compile(legacy)

    def apply(self, frame: pl.DataFrame, column: str) -> pl.DataFrame:
        distinct = frame.get_column(column).drop_nulls().unique().to_list()
        fixed = {v: self.fix(v) for v in distinct}
        undecided = [v for v, f in fixed.items() if f is not None and self.legacy.search(f)]
        original = pl.col(column)
        return frame.with_columns(
            original.replace_strict(fixed, default=None, return_dtype=pl.String).alias(column),
            pl.when(original.is_in(undecided)).then(pl.lit(column)).alias("_text_undecidable"),
        )


# ------------------------------------------------------------------------------------------ I/O


def read_lines(payload: bytes) -> tuple[str, pl.DataFrame]:
    """Header and numbered data lines (the header is line 1) of a UTF-8 text payload; bad bytes
    become U+FFFD, as a UTF-8 line reader leaves them."""
    frame = pl.read_csv(
        payload,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        new_columns=["line"],
        schema_overrides={"line": pl.String},
        encoding="utf8-lossy",
        empty_string_is_null=False,
        infer_schema=False,
    )
    frame = frame.with_columns(pl.col("line").fill_null(""), (pl.int_range(pl.len()) + 1).alias("line_no"))
    header = str(frame.item(0, "line")).lstrip("\ufeff")
    return header, frame.slice(1)


@contextmanager
def _timed(stages: dict[str, float], name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    stages[name] = stages.get(name, 0.0) + time.perf_counter() - t0


def run(sources: Path, day: date) -> dict[str, Any]:
    """Land the station list and the day's readings in the store, make silver, quarantine and daily
    VN_AQI Delta tables under the lake bucket of the environment (``LAKEHOUSE_BUCKET``); return the
    time of each stage and what it counted."""
    import boto3
    from botocore.config import Config
    from deltalake import write_deltalake

    from jobs.settings import get_settings

    settings = get_settings()
    options = settings.delta_rs_storage_options()
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        verify=settings.s3_verify,
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket, stages = settings.bucket, dict[str, float]()
    uri = f"s3://{bucket}/lean"
    interval_end = datetime.combine(day + timedelta(days=1), datetime.min.time()) - LOCAL_OFFSET
    provinces, repair = ProvinceTables(), Repair()

    def land(local: Path, key: str) -> tuple[str, pl.DataFrame]:
        s3.put_object(Bucket=bucket, Key=key, Body=local.read_bytes(), IfNoneMatch="*")
        header, lines = read_lines(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return header, lines

    with _timed(stages, "stations"):
        header, lines = land(sources / "environment/reference/air_stations.csv", "lean/landing/air_stations.csv")
        if tuple(h.strip().strip('"') for h in header.split(",")) != STATION_COLUMNS:
            raise ValueError(f"station list header {header!r} is not {STATION_COLUMNS}")
        bronze = split_lines(lines, STATION_COLUMNS).rename({"line_no": "_source_line"})
        stations = stations_to_silver(bronze, day, provinces, repair)
        write_deltalake(f"{uri}/silver/air_station", stations, mode="overwrite", storage_options=options)
    with _timed(stages, "land"):
        readings = sources / f"environment/air_quality/readings_{day:%Y%m%d}.csv"
        header, lines = land(readings, f"lean/landing/readings_{day:%Y%m%d}.csv")
        if tuple(h.strip().strip('"') for h in header.split(",")) != COLUMNS:
            raise ValueError(f"readings header {header!r} is not {COLUMNS}")
    with _timed(stages, "parse"):
        bronze = split_lines(lines, COLUMNS).rename({"line_no": "_source_line"})
    with _timed(stages, "silver"):
        split = readings_to_silver(bronze, stations, interval_end, provinces, repair)
        silver_cols = [*COLUMNS[:6], "measured_at", "source_utc_offset", "measured_date", "device_status"]
        good = split.filter(pl.col("_outcome") == "silver").select(*silver_cols, "_source_line")
        rejected = split.filter(pl.col("_outcome") == "quarantined").select(
            "_source_line",
            pl.col("_raw_line").alias("raw_line"),
            pl.col("_reject_reason").alias("reason_code"),
            pl.coalesce(pl.col("province_code"), pl.col("_province_raw")).alias("province_code"),
        )
        counts = dict(split.group_by("_outcome").len().iter_rows())
        if sum(counts.values()) != lines.height:
            raise AssertionError(f"books do not balance: {counts} against {lines.height} lines")
    with _timed(stages, "write silver"):
        write_deltalake(
            f"{uri}/silver/air_quality_reading",
            good,
            mode="overwrite",
            partition_by=["measured_date"],
            storage_options=options,
        )
        write_deltalake(f"{uri}/quarantine/air_quality_reading", rejected, mode="overwrite", storage_options=options)
    with _timed(stages, "gold"):
        dates = sorted(good.get_column("measured_date").unique().to_list())
        daily = daily_aqi(good, dates)
        write_deltalake(f"{uri}/gold/aqi_daily", daily, mode="overwrite", storage_options=options)
    return {
        "stages": stages,
        "landed_rows": lines.height,
        "silver_rows": counts.get("silver", 0),
        "quarantined_rows": counts.get("quarantined", 0),
        "duplicates": counts.get("duplicate", 0) + counts.get("superseded", 0),
        "gold_rows": daily.height,
        "dates": [d.isoformat() for d in dates],
        "tables": {
            "silver": f"{uri}/silver/air_quality_reading",
            "quarantine": f"{uri}/quarantine/air_quality_reading",
            "gold": f"{uri}/gold/aqi_daily",
        },
    }


def read_floor(sources: Path, day: date) -> dict[str, Any]:
    """The floor: pyarrow reads the day's readings file into Arrow, one byte string per line, and
    nothing else. Not split into fields: the file has lines with an unclosed quote (the malformed
    lines bronze quarantines), which put pyarrow's CSV parser out of step with its chunker; skipping
    them with a Python ``invalid_row_handler`` lost 56 % of the rows and now and then aborted the
    process ("terminate called without an active exception")."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    path = sources / f"environment/air_quality/readings_{day:%Y%m%d}.csv"
    t0 = time.perf_counter()
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=["line"]),
        parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={"line": pa.binary()}),
    )
    return {"stages": {"read": time.perf_counter() - t0}, "landed_rows": table.num_rows - 1}  # less the header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=Path, required=True)
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    parser.add_argument("--floor", action="store_true", help="only the read floor (pyarrow reads the file)")
    args = parser.parse_args()
    print(json.dumps(read_floor(args.sources, args.date) if args.floor else run(args.sources, args.date)))


if __name__ == "__main__":
    main()
