"""Pure transforms of the environment sector: bronze → silver rows, silver → gold aggregates.

Each function takes DataFrames (and the data interval) and returns a DataFrame: no I/O, no
clock. The generic silver layer (:mod:`jobs.silver`) then applies the registry's row rules to
the helper columns these transforms add (``_entity_known``, ``_physical_max`` …).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from jobs import conform
from jobs.conform import lineage_columns
from jobs.environment import aqi, limits
from jobs.environment.datasets import (
    AIR_PHYSICAL_RANGE,
    AQI_COLUMN_PREFIX,
    WASTEWATER_PARAMETER_UNIT,
    WASTEWATER_PHYSICAL_RANGE,
)
from jobs.interval import DataInterval
from jobs.provinces import PROVINCES_2025
from jobs.spark import local_frame

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Canonical parameter names by normalized spelling (sources vary case and punctuation).
AIR_PARAMETER_ALIASES = {
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
WASTEWATER_PARAMETER_ALIASES = {
    "ph": "pH",
    "cod": "COD",
    "bod5": "BOD5",
    "bod": "BOD5",
    "tss": "TSS",
    "nh4_n": "NH4_N",
    "nh4+-n": "NH4_N",
    "amoni": "NH4_N",
    "tn": "TN",
    "tp": "TP",
    "coliform": "coliform",
    "temperature": "temperature",
    "nhietdo": "temperature",
    "flow": "flow",
    "luuluong": "flow",
}

# Unit spelling (after conform.unit_key) -> (canonical unit, factor to multiply the value by).
AIR_UNITS = {
    "µg/nm3": ("µg/Nm³", 1.0),
    "ug/nm3": ("µg/Nm³", 1.0),
    "µg/m3": ("µg/Nm³", 1.0),
    "ug/m3": ("µg/Nm³", 1.0),
    "mg/nm3": ("µg/Nm³", 1000.0),
    "mg/m3": ("µg/Nm³", 1000.0),
}
WASTEWATER_UNITS = {
    "mg/l": ("mg/L", 1.0),
    "g/m3": ("mg/L", 1.0),
    "-": ("pH", 1.0),
    "": ("pH", 1.0),
    "ph": ("pH", 1.0),
    "°c": ("°C", 1.0),
    "oc": ("°C", 1.0),
    "c": ("°C", 1.0),
    "m3/h": ("m³/h", 1.0),
    "mpn/100ml": ("MPN/100 mL", 1.0),
}
# Canonical unit per wastewater parameter and physical ranges live in the registry entries (the
# gate checks the same facts on silver).


def _canonical_parameter(raw: Column, aliases: dict[str, str]) -> Column:
    from pyspark.sql import functions as F

    key = F.lower(F.regexp_replace(F.trim(raw), r"\s+", ""))
    return conform.literal_map(aliases)[key]


def _range_columns(parameter: Column, ranges: dict[str, tuple[float, float]]) -> tuple[Column, Column]:
    low = conform.literal_map({k: v[0] for k, v in ranges.items()})[parameter]
    high = conform.literal_map({k: v[1] for k, v in ranges.items()})[parameter]
    return low, high


def air_readings_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Type and conform air-quality readings (QCVN 05:2023 units, 2025 provinces, NFC names)."""
    from pyspark.sql import functions as F

    stations = inputs["air_station"].select(
        F.col("station_id").alias("_ref_station_id"), F.col("province_code").alias("_entity_province")
    )
    measured_at, offset = conform.parse_event_time(F.col("measured_at"))
    parameter = _canonical_parameter(F.col("parameter"), AIR_PARAMETER_ALIASES)
    unit_key = conform.unit_key(F.col("unit"))
    unit = conform.literal_map({k: v[0] for k, v in AIR_UNITS.items()})[unit_key]
    factor = conform.literal_map({k: v[1] for k, v in AIR_UNITS.items()})[unit_key]
    low, high = _range_columns(parameter, AIR_PHYSICAL_RANGE)
    typed = bronze.select(
        F.trim("station_id").alias("station_id"),
        F.col("station_name"),
        F.col("province_code").alias("_province_raw"),
        parameter.alias("parameter"),
        (conform.parse_decimal(F.col("value")) * F.coalesce(factor, F.lit(1.0))).alias("value"),
        unit.alias("unit"),
        measured_at.alias("measured_at"),
        offset.alias("source_utc_offset"),
        F.lower(F.trim("device_status")).alias("device_status"),
        low.alias("_physical_min"),
        high.alias("_physical_max"),
        *lineage_columns(interval),
    ).withColumn("measured_date", conform.local_date(F.col("measured_at")))
    typed = typed.withColumn(
        "province_code", conform.province_code_2025(F.col("_province_raw"), F.col("measured_date"))
    )
    typed = conform.repaired_text(typed, "station_name")
    joined = typed.join(F.broadcast(stations), typed["station_id"] == stations["_ref_station_id"], "left")
    return joined.withColumn("_entity_known", F.col("_ref_station_id").isNotNull()).drop("_ref_station_id")


def wastewater_readings_to_silver(
    bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval
) -> DataFrame:
    """Type and conform wastewater readings (Circular 10/2021: value, unit, time, device status)."""
    from pyspark.sql import functions as F

    facilities = inputs["wastewater_facility"].select(
        F.col("facility_id").alias("_ref_facility_id"), F.col("province_code").alias("province_code")
    )
    measured_at, offset = conform.parse_event_time(F.col("measured_at"))
    parameter = _canonical_parameter(F.col("parameter"), WASTEWATER_PARAMETER_ALIASES)
    unit_key = conform.unit_key(F.coalesce(F.col("unit"), F.lit("")))
    unit = conform.literal_map({k: v[0] for k, v in WASTEWATER_UNITS.items()})[unit_key]
    factor = conform.literal_map({k: v[1] for k, v in WASTEWATER_UNITS.items()})[unit_key]
    expected_unit = conform.literal_map(WASTEWATER_PARAMETER_UNIT)[parameter]
    low, high = _range_columns(parameter, WASTEWATER_PHYSICAL_RANGE)
    typed = bronze.select(
        F.trim("facility_id").alias("facility_id"),
        F.trim("station_id").alias("station_id"),
        parameter.alias("parameter"),
        (conform.parse_decimal(F.col("value")) * F.coalesce(factor, F.lit(1.0))).alias("value"),
        F.when(unit == expected_unit, unit).alias("unit"),
        measured_at.alias("measured_at"),
        offset.alias("source_utc_offset"),
        F.lower(F.trim("device_status")).alias("device_status"),
        low.alias("_physical_min"),
        high.alias("_physical_max"),
        *lineage_columns(interval),
    ).withColumn("measured_date", conform.local_date(F.col("measured_at")))
    joined = typed.join(F.broadcast(facilities), typed["facility_id"] == facilities["_ref_facility_id"], "left")
    return joined.withColumn("_entity_known", F.col("_ref_facility_id").isNotNull()).drop("_ref_facility_id")


def air_station_to_silver(bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval) -> DataFrame:
    """Station reference list: typed coordinates, 2025 province codes, NFC names."""
    from pyspark.sql import functions as F

    as_of = F.lit(interval.local_start_date.isoformat()).cast("date")
    typed = bronze.select(
        F.trim("station_id").alias("station_id"),
        F.col("station_name"),
        conform.province_code_2025(F.col("province_code"), as_of).alias("province_code"),
        conform.parse_decimal(F.col("latitude")).alias("latitude"),
        conform.parse_decimal(F.col("longitude")).alias("longitude"),
        F.to_date(F.trim("active_since"), "yyyy-MM-dd").alias("active_since"),
        *lineage_columns(interval),
    )
    return conform.repaired_text(typed, "station_name")


def wastewater_facility_to_silver(
    bronze: DataFrame, inputs: dict[str, DataFrame], *, interval: DataInterval
) -> DataFrame:
    """Facility reference list: QCVN 40 column and Kq/Kf factors, 2025 province codes."""
    from pyspark.sql import functions as F

    as_of = F.lit(interval.local_start_date.isoformat()).cast("date")
    typed = bronze.select(
        F.trim("facility_id").alias("facility_id"),
        F.col("facility_name"),
        F.col("industrial_park"),
        conform.province_code_2025(F.col("province_code"), as_of).alias("province_code"),
        F.upper(F.trim("qcvn_column")).alias("qcvn_column"),
        conform.parse_decimal(F.col("kq")).alias("kq"),
        conform.parse_decimal(F.col("kf")).alias("kf"),
        # Filled by the silver layer (jobs.privacy: keyed HMAC of contact_phone); the raw contact
        # columns are never selected here.
        F.lit(None).cast("string").alias("contact_id"),
        *lineage_columns(interval),
    )
    return conform.repaired_text(conform.repaired_text(typed, "facility_name"), "industrial_park")


# ----------------------------------------------------------------------------------------- gold


def _exact_mean(column: str | Column) -> Column:
    """Mean computed in decimal arithmetic: a double sum depends on the order Spark adds rows in,
    which would make reruns differ in the last digit; a decimal sum does not."""
    from pyspark.sql import functions as F

    value = F.col(column) if isinstance(column, str) else column
    return F.avg(value.cast("decimal(24,6)")).cast("double")


_LOCAL_TZ = "Asia/Ho_Chi_Minh"
_HOUR = 3600


def _band_columns(vn_aqi: Column) -> list[Column]:
    """The band's name, the Decision's colour and its health advice (Bảng 1, 4, 5) beside an index."""
    return [
        aqi.band_column(vn_aqi, "name").alias("band"),
        aqi.band_column(vn_aqi, "hex").alias("colour"),
        aqi.band_column(vn_aqi, "health_effect").alias("health_effect"),
        aqi.band_column(vn_aqi, "advice_general").alias("advice_general"),
        aqi.band_column(vn_aqi, "advice_sensitive").alias("advice_sensitive"),
    ]


def _combined(sub_cols: dict[str, str]) -> tuple[Column, Column]:
    """(VN_AQI, dominant parameter): the largest sub-index rounded half up, only with a PM one."""
    from pyspark.sql import functions as F

    top = F.greatest(*[F.col(c) for c in sub_cols.values()])
    has_pm = F.col(sub_cols["PM2.5"]).isNotNull() | F.col(sub_cols["PM10"]).isNotNull()
    vn_aqi = F.when(has_pm, F.floor(top + F.lit(0.5))).cast("int")
    dominant = F.coalesce(*[F.when(F.col(c) == top, F.lit(p)) for p, c in sub_cols.items()])
    return vn_aqi, F.when(has_pm, dominant)


def aqi_hourly(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Hourly VN_AQI per station and local hour (Decision 1459/QĐ-TCMT, section 2.2.1).

    Every station heard in the window gets all 24 hours of each day, so an hour without an index
    is there and says why. PM2.5 / PM10 use the NowCast of the 12 hours ending at the hour (the
    previous day's last 11 hours included); O3, CO, SO2, NO2 their 1 h value (mean of the hour's
    readings). ``o3_8h`` (8 h mean ending at the hour, ``MIN_HOURS_8H`` of 8) is carried for the
    daily index. An hour is the hour-beginning local hour ``hour`` (0–23) of ``date``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    first_day = min(dates) - timedelta(days=1)  # the NowCast and 8 h windows reach back 11 / 7 hours
    readings = inputs["air_quality_reading"].where(
        (F.col("measured_date") >= F.lit(first_day)) & (F.col("measured_date") <= F.lit(max(dates)))
    )
    readings = readings.where(F.col("parameter").isin(*AQI_COLUMN_PREFIX))
    hour_start = F.date_trunc("hour", F.col("measured_at"))
    wide = readings.groupBy("station_id", hour_start.alias("hour_start")).agg(
        *[
            _exact_mean(F.when(F.col("parameter") == p, F.col("value"))).alias(f"{c}_1h")
            for p, c in AQI_COLUMN_PREFIX.items()
        ],
    )
    stations = readings.groupBy("station_id").agg(F.max("province_code").alias("province_code"))
    days = stations.crossJoin(local_frame(readings.sparkSession, [(d,) for d in dates], "date DATE"))
    local_midnight = F.to_utc_timestamp(F.col("date").cast("timestamp"), _LOCAL_TZ)
    grid = days.withColumn("hour", F.explode(F.sequence(F.lit(0), F.lit(23)))).withColumn(
        "hour_start", F.timestamp_seconds(F.unix_timestamp(local_midnight) + F.col("hour") * F.lit(_HOUR))
    )
    frame = grid.join(wide, ["station_id", "hour_start"], "full_outer").withColumn(
        "_epoch", F.unix_timestamp("hour_start")
    )
    by_station = Window.partitionBy("station_id").orderBy("_epoch")
    last_12h = by_station.rangeBetween(-(aqi.NOWCAST_HOURS - 1) * _HOUR, 0)
    last_8h = by_station.rangeBetween(-7 * _HOUR, 0)
    for p in aqi.PM_PARAMETERS:
        c = AQI_COLUMN_PREFIX[p]
        point = F.when(
            F.col(f"{c}_1h").isNotNull(), F.struct(F.col("_epoch").alias("epoch"), F.col(f"{c}_1h").alias("c"))
        )
        frame = frame.withColumn(f"_{c}_history", F.collect_list(point).over(last_12h))
    o3_8h = F.when(F.count("o3_1h").over(last_8h) >= F.lit(aqi.MIN_HOURS_8H), F.avg("o3_1h").over(last_8h))
    frame = frame.withColumn("o3_8h", F.round(o3_8h, 3)).where(F.col("hour").isNotNull())
    for p in aqi.PM_PARAMETERS:
        c = AQI_COLUMN_PREFIX[p]
        frame = frame.withColumn(
            f"{c}_nowcast", F.round(aqi.nowcast_column(F.col(f"_{c}_history"), F.col("_epoch")), 3)
        )
    sub_cols = {p: f"aqi_{c}" for p, c in AQI_COLUMN_PREFIX.items()}
    for p, c in AQI_COLUMN_PREFIX.items():
        value = F.col(f"{c}_nowcast") if p in aqi.PM_PARAMETERS else F.col(f"{c}_1h")
        frame = frame.withColumn(sub_cols[p], F.round(aqi.sub_index_column(p, value, "1h"), 3))
    vn_aqi, dominant = _combined(sub_cols)
    return frame.select(
        "station_id",
        "province_code",
        "date",
        F.col("hour").cast("int").alias("hour"),
        "hour_start",
        *[F.round(f"{c}_1h", 3).alias(f"{c}_1h") for c in AQI_COLUMN_PREFIX.values()],
        "pm25_nowcast",
        "pm10_nowcast",
        "o3_8h",
        *sub_cols.values(),
        vn_aqi.alias("vn_aqi"),
        dominant.alias("dominant_parameter"),
        *_band_columns(vn_aqi),
        F.when(vn_aqi.isNull(), F.lit(aqi.NoIndex.NO_PM_NOWCAST)).alias("no_index_reason"),
    )


def aqi_daily(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Daily VN_AQI per station (Decision 1459/QĐ-TCMT, section 2.2.2), from the hourly table.

    PM2.5 / PM10: 24 h mean of the day's hourly values when ``MIN_HOURS_24H`` of them exist; SO2,
    NO2, CO: the largest 1 h value; O3: the larger of the 1 h table's index of its largest 1 h value
    and the 8 h table's index of its largest 8 h mean (none above 400 µg/m³). VN_AQI is the largest
    sub-index, rounded half up, and exists only when a PM sub-index does; else the reason says why.
    """
    from pyspark.sql import functions as F

    hourly = inputs["aqi_hourly"].where(F.col("date").isin(*dates))
    pm_hours = {c: F.count(f"{c}_1h") for c in ("pm25", "pm10")}
    day = hourly.groupBy("station_id", "date").agg(
        F.first("province_code", ignorenulls=True).alias("province_code"),
        *[
            F.when(n >= F.lit(aqi.MIN_HOURS_24H), F.round(_exact_mean(F.col(f"{c}_1h")), 3)).alias(f"{c}_24h")
            for c, n in pm_hours.items()
        ],
        *[n.cast("int").alias(f"{c}_hours") for c, n in pm_hours.items()],
        *[F.max(f"{c}_1h").alias(f"{c}_1h_max") for c in ("o3", "co", "so2", "no2")],
        F.max("o3_8h").alias("o3_8h_max"),
    )
    sub_cols = {p: f"aqi_{c}" for p, c in AQI_COLUMN_PREFIX.items()}
    o3 = F.greatest(
        aqi.sub_index_column("O3", F.col("o3_1h_max"), "1h"),
        aqi.sub_index_column("O3", F.col("o3_8h_max"), "8h"),
    )
    for p, c in AQI_COLUMN_PREFIX.items():
        if p == "O3":
            value = o3
        elif p in aqi.PM_PARAMETERS:
            value = aqi.sub_index_column(p, F.col(f"{c}_24h"), "1h")
        else:
            value = aqi.sub_index_column(p, F.col(f"{c}_1h_max"), "1h")
        day = day.withColumn(sub_cols[p], F.round(value, 3))
    vn_aqi, dominant = _combined(sub_cols)
    return day.select(
        "station_id",
        "province_code",
        "date",
        "pm25_24h",
        "pm10_24h",
        "o3_1h_max",
        "o3_8h_max",
        "co_1h_max",
        "so2_1h_max",
        "no2_1h_max",
        *sub_cols.values(),
        vn_aqi.alias("vn_aqi"),
        dominant.alias("dominant_parameter"),
        *_band_columns(vn_aqi),
        "pm25_hours",
        "pm10_hours",
        F.when(vn_aqi.isNull(), F.lit(aqi.NoIndex.PM_24H_INCOMPLETE)).alias("no_index_reason"),
    )


def aqi_province_daily(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Per province and day: the worst station's VN_AQI (what the public is warned by) and the mean."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    daily = inputs["aqi_daily"].where(F.col("date").isin(*dates) & F.col("vn_aqi").isNotNull())
    worst = Window.partitionBy("province_code", "date").orderBy(F.col("vn_aqi").desc(), F.col("station_id"))
    ranked = daily.withColumn("_rank", F.row_number().over(worst))
    agg = daily.groupBy("province_code", "date").agg(
        F.count("*").cast("int").alias("stations"),
        F.max("vn_aqi").alias("vn_aqi_max"),
        F.round(F.avg("vn_aqi"), 1).alias("vn_aqi_mean"),
    )
    worst_station = ranked.where("_rank = 1").select(
        "province_code", "date", F.col("station_id").alias("worst_station_id")
    )
    names = conform.literal_map(PROVINCES_2025)
    return agg.join(worst_station, ["province_code", "date"]).select(
        "province_code",
        names[F.col("province_code")].alias("province_name"),
        "date",
        "stations",
        "vn_aqi_max",
        "vn_aqi_mean",
        aqi.band_name_column(F.col("vn_aqi_max")).alias("band"),
        "worst_station_id",
    )


def readings_against_limits(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Every reading (1 h) and daily mean (24 h) that has a QCVN limit, with that limit and ``over``.

    Air: QCVN 05:2023; wastewater: QCVN 40 (Cmax scaled by the facility's Kq × Kf where the
    regulation says so; a 'min' limit such as pH 6 gives its own row). Limits are versioned
    reference data (:mod:`jobs.environment.limits`), joined on the day the reading was taken, so a
    limit change (PM2.5 24 h: 50 → 45 on 2026-01-01) applies by date. One source of the rule for
    the exceedance table and the alerts (:mod:`jobs.environment.alerts`).
    """
    from pyspark.sql import functions as F

    spark = inputs["air_quality_reading"].sparkSession
    day = F.col("measured_date")
    air = inputs["air_quality_reading"].where(day.isin(*dates))
    air_limits = local_frame(
        spark,
        [
            {k: r[k] for k in ("parameter", "averaging", "limit_value", "valid_from", "valid_to", "source")}
            for r in limits.air_limit_rows()
        ],
        "parameter STRING, averaging STRING, limit_value DOUBLE, valid_from DATE, valid_to DATE, source STRING",
    )
    valid_on = (F.col("date") >= F.col("valid_from")) & (
        F.col("valid_to").isNull() | (F.col("date") <= F.col("valid_to"))
    )
    status = F.col("device_status") if "device_status" in air.columns else F.lit(None).cast("string")

    air_hourly = air.select(
        F.lit("air").alias("medium"),
        F.col("station_id").alias("entity_id"),
        "province_code",
        "parameter",
        F.lit("1h").alias("averaging"),
        F.col("measured_at").alias("period_start"),
        day.alias("date"),
        "value",
        status.alias("device_status"),
    )
    air_daily = (
        air.groupBy("station_id", "province_code", "parameter", "measured_date")
        .agg(F.round(_exact_mean("value"), 3).alias("value"), F.min("measured_at").alias("period_start"))
        .select(
            F.lit("air").alias("medium"),
            F.col("station_id").alias("entity_id"),
            "province_code",
            "parameter",
            F.lit("24h").alias("averaging"),
            F.to_utc_timestamp(F.col("measured_date").cast("timestamp"), conform.LOCAL_TZ).alias("period_start"),
            F.col("measured_date").alias("date"),
            "value",
            F.lit(None).cast("string").alias("device_status"),
        )
    )
    air_checked = (
        air_hourly.unionByName(air_daily)
        .join(air_limits, ["parameter", "averaging"])
        .where(valid_on)
        .withColumn("limit_kind", F.lit("max"))
        .withColumn("over", F.col("value") > F.col("limit_value"))
        .withColumnRenamed("source", "limit_source")
    )

    water = inputs["wastewater_reading"].where(day.isin(*dates))
    water_status = F.col("device_status") if "device_status" in water.columns else F.lit(None).cast("string")
    facilities = inputs["wastewater_facility"].select("facility_id", "qcvn_column", "kq", "kf")
    wl = local_frame(
        spark,
        [
            (
                r["parameter"],
                r["qcvn_column"],
                r["min_value"],
                r["max_value"],
                r["factors_apply"],
                r["valid_from"],
                r["valid_to"],
                r["source"],
            )
            for r in limits.wastewater_limit_rows()
        ],
        "parameter STRING, qcvn_column STRING, limit_min DOUBLE, limit_max DOUBLE, scaled BOOLEAN, valid_from DATE, "
        "valid_to DATE, source STRING",
    )
    w = (
        water.join(facilities, "facility_id")
        .select(
            F.lit("wastewater").alias("medium"),
            F.col("station_id").alias("entity_id"),
            "province_code",
            "parameter",
            F.lit("1h").alias("averaging"),
            F.col("measured_at").alias("period_start"),
            day.alias("date"),
            "value",
            water_status.alias("device_status"),
            "qcvn_column",
            "kq",
            "kf",
        )
        .join(wl, ["parameter", "qcvn_column"])
        .where(valid_on)
    )
    effective_max = F.when(F.col("scaled"), F.col("limit_max") * F.col("kq") * F.col("kf")).otherwise(
        F.col("limit_max")
    )
    max_checked = (
        w.where(F.col("limit_max").isNotNull())
        .withColumn("limit_value", effective_max)
        .withColumn("limit_kind", F.lit("max"))
        .withColumn("over", F.col("value") > F.col("limit_value"))
    )
    min_checked = (
        w.where(F.col("limit_min").isNotNull())
        .withColumn("limit_value", F.col("limit_min"))
        .withColumn("limit_kind", F.lit("min"))
        .withColumn("over", F.col("value") < F.col("limit_value"))
    )
    water_checked = max_checked.unionByName(min_checked).withColumnRenamed("source", "limit_source")

    columns = [
        "medium",
        "entity_id",
        "province_code",
        "parameter",
        "averaging",
        "period_start",
        "date",
        "value",
        "limit_value",
        "limit_kind",
        "limit_source",
        "device_status",
        "over",
    ]
    return air_checked.select(*columns).unionByName(water_checked.select(*columns))


def exceedances(inputs: dict[str, DataFrame], dates: list[date]) -> DataFrame:
    """Readings and daily means over their QCVN limits (air: QCVN 05:2023; wastewater: QCVN 40);
    see :func:`readings_against_limits`."""
    from pyspark.sql import functions as F

    ratio = F.round(F.col("value") / F.col("limit_value"), 4).alias("exceedance_ratio")
    columns = ["medium", "entity_id", "province_code", "parameter", "averaging", "period_start", "date", "value"]
    columns += ["limit_value", "limit_kind", "limit_source"]
    return readings_against_limits(inputs, dates).where("over").select(*columns, ratio)
