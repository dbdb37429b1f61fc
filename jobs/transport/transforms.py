"""Pure transforms of the transport sector: bronze → silver rows, silver → gold aggregates.

No I/O and no clock: DataFrames (and the data interval) in, a DataFrame out. The generic silver
layer then applies the registry's row rules to the helper columns added here (``_stop_known``,
``_trip_sequence_broken``, ``_jump`` …) and fills the pseudonym fields (``jobs.privacy``): a
transform never sees the HMAC key and never selects a raw plate or driver id into a silver field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import TYPE_CHECKING

from jobs import conform
from jobs.conform import lineage_columns
from jobs.interval import DataInterval
from jobs.provinces import PROVINCES_2025
from jobs.spark import local_frame
from jobs.transport.datasets import MAX_SPEED_KMH, SPEED_UNITS
from jobs.transport.geo import EARTH_RADIUS_KM, GRID_DEGREES, province_of_points

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

PLATE_PATTERN = r"^[0-9]{2}[A-Z]{1,2}[0-9]{4,5}$"
"""A canonical Vietnamese plate: locality (2 digits), series (1–2 letters), number (4–5 digits)."""
_GTFS_TIME = r"^\s*([0-9]{1,3}):([0-5][0-9]):([0-5][0-9])\s*$"
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# ----------------------------------------------------------------------------- plain-Python rules


def canonical_plate(raw: str | None) -> str | None:
    """``29A-123.45``, ``29A12345``, ``29a 123.45`` → ``29A12345``; None when not a plate.

    The same canonical form :func:`jobs.privacy.normalize_identifier` hashes, plus the format check.
    """
    if raw is None:
        return None
    text = re.sub(r"[\s.\-]", "", unicodedata.normalize("NFC", raw)).upper()
    return text if re.fullmatch(PLATE_PATTERN, text) else None


def speed_to_kmh(value: float | None, unit: str | None) -> float | None:
    """A speed in km/h from the device's value and unit (m/s × 3.6); None for an unknown unit."""
    if value is None or unit is None:
        return None
    factor = SPEED_UNITS.get(re.sub(r"\s+", "", unit).lower())
    return None if factor is None else value * factor


def gtfs_time_seconds(text: str | None) -> int | None:
    """Seconds after the service day's start for a GTFS time; hours may pass 24 (``25:10:00``)."""
    if text is None:
        return None
    m = re.fullmatch(_GTFS_TIME, text)
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) if m else None


def seconds_to_gtfs_time(seconds: int) -> str:
    """The inverse of :func:`gtfs_time_seconds` (``90600`` → ``25:10:00``)."""
    h, rest = divmod(int(seconds), 3600)
    return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"


# ----------------------------------------------------------------------------------- Spark helpers


def _text(column: str) -> Column:
    """A source string trimmed, empty → NULL."""
    from pyspark.sql import functions as F

    return F.nullif(F.trim(F.col(column)), F.lit(""))


def _int(column: str) -> Column:
    from pyspark.sql import functions as F

    text = F.trim(F.col(column))
    return F.when(text.rlike(r"^[+-]?[0-9]{1,9}$"), text.cast("int"))


def _gtfs_date(column: str) -> Column:
    from pyspark.sql import functions as F

    text = F.trim(F.col(column))
    return F.when(text.rlike(r"^[0-9]{8}$"), F.to_date(text, "yyyyMMdd"))


def gtfs_seconds(raw: Column) -> Column:
    """Spark version of :func:`gtfs_time_seconds` (NULL for an empty or malformed time)."""
    from pyspark.sql import functions as F

    ok = raw.rlike(_GTFS_TIME)
    part = [F.regexp_extract(raw, _GTFS_TIME, i).cast("int") for i in (1, 2, 3)]
    return F.when(ok, part[0] * 3600 + part[1] * 60 + part[2])


def gtfs_time_text(seconds: Column) -> Column:
    """Seconds → ``HH:MM:SS`` (hours past 24 kept)."""
    from pyspark.sql import functions as F

    return F.format_string("%02d:%02d:%02d", F.floor(seconds / 3600), F.floor(seconds % 3600 / 60), seconds % 60)


def _feed_version() -> Column:
    return _text("feed_version").alias("feed_version")


# ------------------------------------------------------------------------------------ GTFS → silver


def gtfs_stop_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Stops: typed coordinates, NFC names, the 2025 province of the nearest ward centre."""
    typed = bronze.select(
        _feed_version(),
        _text("stop_id").alias("stop_id"),
        _text("stop_code").alias("stop_code"),
        _text("stop_name").alias("stop_name"),
        conform.parse_decimal(_text("stop_lat")).alias("latitude"),
        conform.parse_decimal(_text("stop_lon")).alias("longitude"),
        _int("location_type").alias("location_type"),
        *lineage_columns(interval),
    )
    typed = province_of_points(typed, "latitude", "longitude", "province_code")
    return conform.repaired_text(typed, "stop_name")


def gtfs_route_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    typed = bronze.select(
        _feed_version(),
        _text("route_id").alias("route_id"),
        _text("agency_id").alias("agency_id"),
        _text("route_short_name").alias("route_short_name"),
        _text("route_long_name").alias("route_long_name"),
        _int("route_type").alias("route_type"),
        *lineage_columns(interval),
    )
    return conform.repaired_text(typed, "route_long_name")


def gtfs_calendar_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    from pyspark.sql import functions as F

    def flag(day: str) -> Column:
        text = F.trim(F.col(day))
        return F.when(text == "1", F.lit(True)).when(text == "0", F.lit(False)).alias(day)

    return bronze.select(
        _feed_version(),
        _text("service_id").alias("service_id"),
        *[flag(d) for d in _DAYS],
        _gtfs_date("start_date").alias("start_date"),
        _gtfs_date("end_date").alias("end_date"),
        *lineage_columns(interval),
    )


def gtfs_calendar_date_to_silver(
    bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval
) -> DataFrame:
    return bronze.select(
        _feed_version(),
        _text("service_id").alias("service_id"),
        _gtfs_date("date").alias("date"),
        _int("exception_type").alias("exception_type"),
        *lineage_columns(interval),
    )


def sequence_broken(rows: DataFrame, *, trip: tuple[str, ...] = ("feed_version", "trip_id")) -> DataFrame:
    """Add ``_trip_sequence_broken``: some non-duplicate line of the trip has a ``stop_sequence`` not
    above the previous line's (file order). Gaps (1, 2, 5) are fine; a step back or a repeat is not."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    considered = ~F.col("_is_duplicate") & F.col("stop_sequence").isNotNull()
    order = Window.partitionBy(*trip).orderBy("_source_line")
    previous = F.last(F.when(considered, F.col("stop_sequence")), ignorenulls=True).over(
        order.rowsBetween(Window.unboundedPreceding, -1)
    )
    step_back = considered & previous.isNotNull() & (F.col("stop_sequence") <= previous)
    marked = rows.withColumn("_step_back", step_back)
    broken = F.max(F.col("_step_back").cast("int")).over(Window.partitionBy(*trip)) == 1
    return marked.withColumn("_trip_sequence_broken", broken).drop("_step_back")


def gtfs_stop_time_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Stop times: seconds after the service day's start (past 24:00 kept), stops checked against the
    same feed version, trips whose stop order goes back flagged whole."""
    from pyspark.sql import functions as F

    stops = (
        inputs["gtfs_stop"].select(F.col("feed_version").alias("_s_feed"), F.col("stop_id").alias("_s_stop")).distinct()
    )
    arrival, departure = _text("arrival_time"), _text("departure_time")
    typed = bronze.select(
        _feed_version(),
        _text("trip_id").alias("trip_id"),
        _text("stop_sequence").alias("_stop_sequence_raw"),
        _int("stop_sequence").alias("stop_sequence"),
        _text("stop_id").alias("stop_id"),
        arrival.alias("arrival_time"),
        departure.alias("departure_time"),
        gtfs_seconds(arrival).alias("arrival_seconds"),
        gtfs_seconds(departure).alias("departure_seconds"),
        *lineage_columns(interval),
    )
    typed = sequence_broken(typed)
    joined = typed.join(
        F.broadcast(stops),
        (typed["feed_version"] == stops["_s_feed"]) & (typed["stop_id"] == stops["_s_stop"]),
        "left",
    )
    return joined.withColumn("_stop_known", F.col("_s_stop").isNotNull()).drop("_s_feed", "_s_stop")


def gtfs_trip_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Trips: route checked against the same feed version; a trip without valid stop times flagged."""
    from pyspark.sql import functions as F

    routes = inputs["gtfs_route"].select(F.col("feed_version").alias("_r_feed"), F.col("route_id").alias("_r_route"))
    timed = (
        inputs["gtfs_stop_time"]
        .select(F.col("feed_version").alias("_t_feed"), F.col("trip_id").alias("_t_trip"))
        .distinct()
    )
    typed = bronze.select(
        _feed_version(),
        _text("trip_id").alias("trip_id"),
        _text("route_id").alias("route_id"),
        _text("service_id").alias("service_id"),
        _text("trip_headsign").alias("trip_headsign"),
        _int("direction_id").alias("direction_id"),
        *lineage_columns(interval),
    )
    typed = typed.join(
        F.broadcast(routes.distinct()),
        (typed["feed_version"] == routes["_r_feed"]) & (typed["route_id"] == routes["_r_route"]),
        "left",
    )
    typed = typed.join(
        timed, (typed["feed_version"] == timed["_t_feed"]) & (typed["trip_id"] == timed["_t_trip"]), "left"
    )
    return (
        typed.withColumn("_route_known", F.col("_r_route").isNotNull())
        .withColumn("_has_stop_times", F.col("_t_trip").isNotNull())
        .drop("_r_feed", "_r_route", "_t_feed", "_t_trip")
    )


# --------------------------------------------------------------------------- vehicle pings → silver


def canonical_plate_column(raw: Column) -> Column:
    """Spark version of :func:`canonical_plate` without the format check (upper case, no separators)."""
    from pyspark.sql import functions as F

    return F.upper(F.regexp_replace(raw, r"[\s.\-]", ""))


def speed_kmh_column(value: Column, unit: Column) -> Column:
    """Speed in km/h (m/s × 3.6); NULL when the value is not a number or the unit is unknown."""
    from pyspark.sql import functions as F

    key = F.lower(F.regexp_replace(F.trim(unit), r"\s+", ""))
    factor = conform.literal_map(SPEED_UNITS)[key]
    return F.round(conform.parse_decimal(value) * factor, 3)


def haversine_km_column(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    from pyspark.sql import functions as F

    p1, p2 = F.radians(lat1), F.radians(lat2)
    a = F.pow(F.sin((p2 - p1) / 2), 2) + F.cos(p1) * F.cos(p2) * F.pow(F.sin(F.radians(lon2 - lon1) / 2), 2)
    return F.lit(2 * EARTH_RADIUS_KM) * F.asin(F.sqrt(F.least(F.lit(1.0), a)))


def flag_jumps(
    rows: DataFrame,
    *,
    key: str,
    ts: str,
    candidate: str,
    lat: str = "latitude",
    lon: str = "longitude",
    max_kmh: float = MAX_SPEED_KMH,
) -> DataFrame:
    """Add ``_jump``: a candidate fix that implies more than ``max_kmh`` both from the vehicle's
    previous candidate fix and to its next one (a spike A → B → C flags B only).

    A vehicle's first fix is a jump when the leg to the next fix is too fast but the leg after it is
    not (the next fix agrees with the one after, so the first is the odd one out); the last fix
    likewise backwards. Fixes at the same instant as a neighbour imply no speed. Non-candidates
    (duplicates, fixes without a valid position or time) are neither judged nor used as neighbours.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(key).orderBy(ts, "_source_line")
    t = F.col(ts).cast("double")
    hours = (t - F.lag(t).over(w)) / 3600.0
    km = haversine_km_column(F.col(lat), F.col(lon), F.lag(lat).over(w), F.lag(lon).over(w))
    legs = (
        rows.where(F.col(candidate))
        .select("_source_line", key, ts, F.when(hours > 0, km / hours).alias("_leg"))
        .withColumn("_fast", F.col("_leg") > max_kmh)  # the leg arriving at this fix; NULL: no leg
    )
    fast_in, fast_out = F.col("_fast"), F.lead("_fast").over(w)
    before_in, after_out = F.lag("_fast").over(w), F.lead("_fast", 2).over(w)
    first, last = F.lag("_source_line").over(w).isNull(), F.lead("_source_line").over(w).isNull()
    jump = (
        F.when(first, fast_out & ~F.coalesce(after_out, F.lit(False)))
        .when(last, fast_in & ~F.coalesce(before_in, F.lit(False)))
        .otherwise(fast_in & fast_out)
    )
    flags = legs.select(F.col("_source_line").alias("_j_line"), F.coalesce(jump, F.lit(False)).alias("_jump"))
    out = rows.join(flags, rows["_source_line"] == flags["_j_line"], "left").drop("_j_line")
    return out.withColumn("_jump", F.coalesce(F.col("_jump"), F.lit(False)))


def vehicle_positions_to_silver(
    bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval
) -> DataFrame:
    """GPS pings: UTC time and local day, km/h speeds, 2025 province from the position, glitches flagged.

    ``vehicle_id`` / ``driver_key`` stay NULL here: silver fills them with the keyed HMAC of the
    canonical plate / licence number (``jobs.privacy``). ``_plate_key`` (the canonical plate) only
    groups a vehicle's fixes for jump detection and is never written.
    """
    from pyspark.sql import functions as F

    recorded_at, offset = conform.parse_event_time(F.col("recorded_at"))
    plate_key = canonical_plate_column(F.col("plate"))
    typed = bronze.select(
        F.lit(None).cast("string").alias("vehicle_id"),
        F.lit(None).cast("string").alias("driver_key"),
        plate_key.alias("_plate_key"),
        F.coalesce(plate_key.rlike(PLATE_PATTERN), F.lit(False)).alias("_plate_valid"),
        recorded_at.alias("recorded_at"),
        offset.alias("source_utc_offset"),
        conform.parse_decimal(_text("lat")).alias("latitude"),
        conform.parse_decimal(_text("lon")).alias("longitude"),
        _text("speed").alias("_speed_raw"),
        speed_kmh_column(_text("speed"), F.col("speed_unit")).alias("speed_kmh"),
        conform.parse_decimal(_text("heading")).alias("heading"),
        *lineage_columns(interval),
    ).withColumn("measured_date", conform.local_date(F.col("recorded_at")))
    typed = province_of_points(typed, "latitude", "longitude", "province_code", grid=GRID_DEGREES)
    position_ok = (
        F.col("latitude").isNotNull()
        & F.col("longitude").isNotNull()
        & ~((F.col("latitude") == 0) & (F.col("longitude") == 0))
        & F.col("latitude").between(8.0, 23.5)
        & F.col("longitude").between(102.0, 117.5)
    )
    typed = typed.withColumn(
        "_jump_candidate",
        ~F.col("_is_duplicate") & F.col("_plate_valid") & F.col("recorded_at").isNotNull() & position_ok,
    )
    return flag_jumps(typed, key="_plate_key", ts="recorded_at", candidate="_jump_candidate")


# -------------------------------------------------------------------------------------------- gold


def _days_frame(spark: object, dates: list[date]) -> DataFrame:
    """One row per service day with its weekday column name (``monday`` …)."""
    from pyspark.sql import SparkSession

    assert isinstance(spark, SparkSession)
    return local_frame(spark, [(d, _DAYS[d.weekday()]) for d in dates], "service_date DATE, weekday STRING")


def active_services(calendar: DataFrame, calendar_dates: DataFrame, days: DataFrame) -> DataFrame:
    """(service_date, feed_version, service_id) running on each day: the weekly calendar within its
    date range, plus days added (exception 1), minus days removed (exception 2) (GTFS reference)."""
    from pyspark.sql import functions as F

    runs_that_weekday = F.coalesce(*[F.when(F.col("weekday") == d, F.col(d)) for d in _DAYS])
    weekly = (
        calendar.crossJoin(days)
        .where(F.col("service_date").between(F.col("start_date"), F.col("end_date")) & runs_that_weekday)
        .select("service_date", "feed_version", "service_id")
    )
    exceptions = calendar_dates.join(days, calendar_dates["date"] == days["service_date"]).select(
        "service_date", "feed_version", "service_id", "exception_type"
    )
    added = exceptions.where("exception_type = 1").drop("exception_type")
    removed = exceptions.where("exception_type = 2").drop("exception_type")
    return (
        weekly.unionByName(added).distinct().join(removed, ["service_date", "feed_version", "service_id"], "left_anti")
    )


def route_service_daily(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Scheduled trips and vehicle-hours per route and service day.

    A trip counts on the service day its ``service_id`` runs, whatever its clock times: a trip
    leaving at 24:40:00 belongs to the day before the calendar day it runs in. Its duration is its
    last arrival minus its first departure. Per day, the feed used is the most recently ingested
    feed version with service that day (a new feed supersedes the old one from its first load).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    trips, stop_times = inputs["gtfs_trip"], inputs["gtfs_stop_time"]
    days = _days_frame(trips.sparkSession, dates)
    services = active_services(inputs["gtfs_calendar"], inputs["gtfs_calendar_date"], days)
    loaded = trips.groupBy("feed_version").agg(F.max("_ingested_at").alias("_loaded_at"))
    ranked = services.select("service_date", "feed_version").distinct().join(loaded, "feed_version")
    newest = Window.partitionBy("service_date").orderBy(F.col("_loaded_at").desc(), F.col("feed_version").desc())
    chosen = ranked.withColumn("_rank", F.row_number().over(newest)).where("_rank = 1").drop("_rank", "_loaded_at")
    spans = stop_times.groupBy("feed_version", "trip_id").agg(
        F.min(F.coalesce("departure_seconds", "arrival_seconds")).alias("_start"),
        F.max(F.coalesce("arrival_seconds", "departure_seconds")).alias("_end"),
    )
    running = (
        services.join(chosen, ["service_date", "feed_version"])
        .join(trips.select("feed_version", "trip_id", "route_id", "service_id"), ["feed_version", "service_id"])
        .join(spans, ["feed_version", "trip_id"])
    )
    per_route = running.groupBy("service_date", "feed_version", "route_id").agg(
        F.count("*").cast("int").alias("trips"),
        F.sum(F.col("_end") - F.col("_start")).alias("_seconds"),
        F.min("_start").alias("_first"),
        F.max("_end").alias("_last"),
    )
    routes = inputs["gtfs_route"].select("feed_version", "route_id", "route_short_name", "route_long_name")
    return per_route.join(routes, ["feed_version", "route_id"], "left").select(
        "service_date",
        "route_id",
        "feed_version",
        "route_short_name",
        "route_long_name",
        "trips",
        F.round(F.col("_seconds") / 3600.0, 4).alias("service_hours"),
        gtfs_time_text(F.col("_first")).alias("first_departure"),
        gtfs_time_text(F.col("_last")).alias("last_arrival"),
    )


def stops_by_province(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Stops per 2025 province and feed version, and how many routes call at them (every feed version)."""
    from pyspark.sql import functions as F

    stops = inputs["gtfs_stop"].select("feed_version", "stop_id", "province_code")
    calls = (
        inputs["gtfs_stop_time"]
        .select("feed_version", "trip_id", "stop_id")
        .join(inputs["gtfs_trip"].select("feed_version", "trip_id", "route_id"), ["feed_version", "trip_id"])
        .join(stops, ["feed_version", "stop_id"])
        .groupBy("feed_version", "province_code")
        .agg(F.countDistinct("route_id").cast("int").alias("routes"))
    )
    counted = stops.groupBy("feed_version", "province_code").agg(F.countDistinct("stop_id").cast("int").alias("stops"))
    names = conform.literal_map(PROVINCES_2025)
    return counted.join(calls, ["feed_version", "province_code"], "left").select(
        "feed_version",
        "province_code",
        names[F.col("province_code")].alias("province_name"),
        "stops",
        F.coalesce(F.col("routes"), F.lit(0)).alias("routes"),
    )


def vehicle_activity_hourly(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Vehicles with a fix and fixes per 2025 province and local hour: counts of distinct pseudonyms,
    never the pseudonyms (gold carries no personal data)."""
    from pyspark.sql import functions as F

    pings = inputs["vehicle_position"].where(F.col("measured_date").isin(*dates))
    local = F.from_utc_timestamp(F.col("recorded_at"), conform.LOCAL_TZ)
    return (
        pings.withColumn("hour", F.hour(local))
        .groupBy(F.col("measured_date").alias("date"), "hour", "province_code")
        .agg(
            F.countDistinct("vehicle_id").cast("int").alias("active_vehicles"),
            F.count("*").alias("pings"),
            # decimal mean: a double sum depends on the order rows are added in (reruns must agree)
            F.round(F.avg(F.col("speed_kmh").cast("decimal(18,3)")), 2).cast("double").alias("mean_speed_kmh"),
        )
    )
