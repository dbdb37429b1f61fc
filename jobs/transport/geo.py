"""Which 2025 province a coordinate lies in: the province of the nearest 2025 ward (commune) centre.

Why this rule: GTFS stops and GPS pings carry coordinates, not provinces, and the lakehouse ships
no boundary polygons. ``vietnamadminunits`` (already pinned for the province tables) gives the
centre of each of the 3,321 wards and communes of the 2025 scheme; wards average ~100 km², so the
nearest ward centre names the right province except within a few hundred metres of a provincial
border. A point farther than :data:`MAX_WARD_DISTANCE_KM` from every ward centre is not in Vietnam
(or at sea) and gets no province (the caller quarantines it).

Distances are equirectangular (exact enough at these ranges) and computed with numpy, once per
distinct grid cell in Spark (:func:`province_of_points`), so 10 million pings cost a few thousand
lookups.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd  # at module level: Spark resolves pandas UDF type hints from these globals

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

MAX_WARD_DISTANCE_KM = 40.0
GRID_DEGREES = 0.01
"""Pings are looked up by their cell on a 0.01° grid (≈1.1 km): a cell centre stands for its pings."""
EARTH_RADIUS_KM = 6371.0088


@cache
def _wards() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, 2025 province code) of every ward centre, from vietnamadminunits."""
    from vietnamadminunits.database import get_data

    rows = get_data(["provinceCode", "wardLat", "wardLon"], table="admin_units")
    lat = np.array([float(r["wardLat"]) for r in rows])
    lon = np.array([float(r["wardLon"]) for r in rows])
    code = np.array([str(r["provinceCode"]).zfill(2) for r in rows])
    return lat, lon, code


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (used for GPS jump detection and its tests)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def nearest_provinces(lats: np.ndarray, lons: np.ndarray) -> list[str | None]:
    """The 2025 province code of the nearest ward centre for each point (None: too far / missing)."""
    w_lat, w_lon, w_code = _wards()
    out: list[str | None] = []
    for start in range(0, len(lats), 2048):
        la = np.asarray(lats[start : start + 2048], dtype=float)[:, None]
        lo = np.asarray(lons[start : start + 2048], dtype=float)[:, None]
        x = np.radians(w_lon[None, :] - lo) * np.cos(np.radians((w_lat[None, :] + la) / 2))
        y = np.radians(w_lat[None, :] - la)
        d2 = x * x + y * y
        best = np.nanargmin(np.where(np.isnan(d2), np.inf, d2), axis=1)
        dist = np.sqrt(d2[np.arange(len(best)), best]) * EARTH_RADIUS_KM
        for i, j in enumerate(best):
            ok = not (math.isnan(float(la[i, 0])) or math.isnan(float(lo[i, 0]))) and dist[i] <= MAX_WARD_DISTANCE_KM
            out.append(str(w_code[j]) if ok else None)
    return out


def province_of(lat: float | None, lon: float | None) -> str | None:
    """One point's 2025 province code (plain Python; tests and the generator)."""
    if lat is None or lon is None:
        return None
    return nearest_provinces(np.array([lat]), np.array([lon]))[0]


def _province_series(lat: pd.Series, lon: pd.Series) -> pd.Series:
    return pd.Series(
        nearest_provinces(lat.astype("float64").to_numpy(), lon.astype("float64").to_numpy()), dtype="object"
    )


def province_of_points(df: DataFrame, lat: str, lon: str, out: str, grid: float | None = None) -> DataFrame:
    """Add column ``out``: the 2025 province of each row's (lat, lon), NULL when unknown.

    Python runs once per distinct point (``grid`` degrees: once per grid cell, its centre standing
    for its points), then joins back by broadcast.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    def key(c: str) -> Column:
        return F.round(F.floor(F.col(c) / grid) * grid + grid / 2, 6) if grid else F.col(c)

    lookup = pandas_udf(_province_series, "string")  # type: ignore[call-overload]
    cells = (
        df.select(key(lat).alias("_g_lat"), key(lon).alias("_g_lon"))
        .where(F.col("_g_lat").isNotNull() & F.col("_g_lon").isNotNull())
        .distinct()
    )
    cells = cells.withColumn(out, lookup("_g_lat", "_g_lon"))
    keyed = df.withColumn("_k_lat", key(lat)).withColumn("_k_lon", key(lon))
    joined = keyed.join(
        F.broadcast(cells),
        (keyed["_k_lat"] == cells["_g_lat"]) & (keyed["_k_lon"] == cells["_g_lon"]),
        "left",
    )
    return joined.drop("_k_lat", "_k_lon", "_g_lat", "_g_lon")
