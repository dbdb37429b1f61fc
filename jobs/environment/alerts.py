"""Alert episodes from the readings: a QCVN exceedance, a VN_AQI of 'Xấu' or worse, a silent station,
a device in error.

An alert is an episode, not a reading: it opens at the first reading past the limit and closes at
the first later reading back within it (``closed_at``; empty while it is still open), with the
value that opened it, the value furthest past the limit and how many readings were past it.

- ``exceedance``: a 1 h reading over a QCVN 05:2023 (air) or QCVN 40 (wastewater, Cmax × Kq × Kf;
  pH also under its minimum) limit, from :func:`jobs.environment.transforms.readings_against_limits`
  (the exceedance table's own rule, versioned by date). A reading whose device was calibrating or in
  error (``device_status`` other than ``measuring``; such a row reaches silver only when a steward
  accepts it) neither opens nor closes a pollution alert.
- ``aqi``: an hourly VN_AQI (``aqi_hourly``) in the band 'Xấu' or worse (Decision 1459/QĐ-TCMT,
  Bảng 1); an hour without an index neither opens nor closes it.
- ``silent``: no transmission (a reading of any parameter and status: silver's, and those quarantined
  because the device was not measuring) for longer than the dataset's ``reading_interval``: opens
  when the next reading was due, closes when one arrives. At the end of the data (the last day any
  station of the medium reported) a station still silent keeps its alert open.
- ``device``: a station's device reported status ``error`` for a parameter (Circular 10/2021's
  "báo lỗi thiết bị"; such readings are quarantined as ``DEVICE_NOT_MEASURING``, and read back from
  the quarantine tables' ``record``): opens at the first such reading, closes at the first later
  reading of the same parameter that is not in error (a measurement in silver, or ``calibrating``).
  ``open_value`` / ``peak_value`` are what the device sent with the flag. A quarantined row a steward
  released or accepted is not an error (the flag was wrong).

Exactly once: ``alert_id`` is a hash of what the episode is (kind, medium, station, parameter,
limit kind, opening time), so a rebuild finds the same ids, and a day's rows are replaced whole
(``replace_key``). A day's alerts are the episodes that opened on it (Vietnam local day); episodes
are followed ``ALERT_WINDOW_DAYS`` either side, and a gold run rebuilds that many days before each
new day (those whose inputs were all certified: ``jobs.pipeline.plan_gold``), so an alert that
closes within the window gets its close time. An episode still open after the window shows
``closed_at`` empty until its day is rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from jobs import conform
from jobs.environment import aqi
from jobs.environment.datasets import AIR_QUALITY_READING, ALERT_WINDOW_DAYS, WASTEWATER_READING
from jobs.environment.transforms import readings_against_limits
from jobs.registry import quarantine_input

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

AQI_ALERT_BAND = "Xấu"
AQI_ALERT_FROM = next(b.low for b in aqi.BANDS if b.name == AQI_ALERT_BAND)  # 151
AQI_SOURCE = "Decision 1459/QĐ-TCMT (VN_AQI), Bảng 1: 'Xấu' from 151"
DEVICE_SOURCE = "Circular 10/2021/TT-BTNMT: device status 'error' (báo lỗi thiết bị)"
DEVICE_ERROR = "error"
DEVICE_NOT_MEASURING = "DEVICE_NOT_MEASURING"
EPISODE_KEYS = ("kind", "medium", "entity_id", "parameter", "limit_kind")


def _interval_minutes(interval: timedelta | None) -> int:
    if interval is None:
        raise ValueError("a reading dataset needs a reading_interval in the registry to raise 'silent' alerts")
    return int(interval.total_seconds() // 60)


def _episodes(points: DataFrame) -> DataFrame:
    """Runs of consecutive ``over`` points per episode key → one row per run.

    ``points``: the episode keys, ``at``, ``value``, ``over``, ``limit_value``, ``limit_source``,
    ``province_code``. A run closes at the first later point that is not over.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ordered = Window.partitionBy(*EPISODE_KEYS).orderBy("at")
    runs = (
        points.withColumn("_previous_over", F.lag("over").over(ordered))
        .withColumn("_starts", F.col("over") & F.coalesce(~F.col("_previous_over"), F.lit(True)))
        .withColumn("_run", F.sum(F.col("_starts").cast("int")).over(ordered.rowsBetween(Window.unboundedPreceding, 0)))
        .withColumn(
            "_next_within",
            F.min(F.when(~F.col("over"), F.col("at"))).over(ordered.rowsBetween(1, Window.unboundedFollowing)),
        )
        .where("over")
    )
    first = F.struct("at")
    return runs.groupBy(*EPISODE_KEYS, "_run").agg(
        F.min("at").alias("opened_at"),
        F.min("_next_within").alias("closed_at"),
        F.min_by("value", first).alias("open_value"),
        F.when(F.col("limit_kind") == "min", F.min("value")).otherwise(F.max("value")).alias("peak_value"),
        F.min_by("limit_value", first).alias("limit_value"),
        F.min_by("limit_source", first).alias("limit_source"),
        F.min_by("province_code", first).alias("province_code"),
        F.count("*").cast("int").alias("readings_over"),
        F.lit(None).cast("timestamp").alias("last_seen_at"),
    )


def _silences(transmissions: DataFrame, interval_minutes: int) -> DataFrame:
    """Gaps longer than the interval between a station's transmissions (``medium``, ``entity_id``,
    ``at``, ``province_code``, ``data_end``) → one row per silence."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    due = F.col("at") + F.expr(f"INTERVAL {interval_minutes} MINUTES")
    following = F.lead("at").over(Window.partitionBy("medium", "entity_id").orderBy("at"))
    gaps = transmissions.withColumn("_next", following).where(F.coalesce(F.col("_next"), F.col("data_end")) > due)
    return gaps.select(
        F.lit("silent").alias("kind"),
        "medium",
        "entity_id",
        F.lit(None).cast("string").alias("parameter"),
        F.lit("max").alias("limit_kind"),
        due.alias("opened_at"),
        F.col("_next").alias("closed_at"),
        F.lit(None).cast("double").alias("open_value"),
        F.lit(None).cast("double").alias("peak_value"),
        F.lit(float(interval_minutes)).alias("limit_value"),
        F.lit(f"reading_interval of the dataset registry ({interval_minutes} min)").alias("limit_source"),
        "province_code",
        F.lit(None).cast("int").alias("readings_over"),
        F.col("at").alias("last_seen_at"),
    )


def _device_readings(quarantine: DataFrame, medium: str, first: date, last: date) -> DataFrame:
    """The readings of ``first``..``last`` a device flagged (``DEVICE_NOT_MEASURING``, still open), one row
    per station, parameter and time (the batch's quarantine and the live one may both hold it):
    ``medium``, ``station_id``, ``parameter``, ``measured_at``, ``measured_date``, ``value``, ``error``,
    ``province_code``."""
    from pyspark.sql import functions as F

    record = F.col("record")
    at = record["measured_at"].cast("timestamp")
    flagged = quarantine.where(
        (F.col("reason_code") == DEVICE_NOT_MEASURING) & (F.col("status") == "open") & at.isNotNull()
    ).select(
        F.lit(medium).alias("medium"),
        record["station_id"].alias("station_id"),
        record["parameter"].alias("parameter"),
        at.alias("measured_at"),
        _local_day(at).alias("measured_date"),
        record["value"].cast("double").alias("value"),
        (record["device_status"] == DEVICE_ERROR).alias("error"),
        "province_code",
    )
    return flagged.where(
        F.col("station_id").isNotNull()
        & F.col("parameter").isNotNull()
        & F.col("measured_date").between(F.lit(first), F.lit(last))
    ).dropDuplicates(["station_id", "parameter", "measured_at"])


def _device_errors(flagged: DataFrame, readings: DataFrame, medium: str) -> DataFrame:
    """Device-error episodes: runs of ``error`` readings per station and parameter, closed by the next
    reading not in error, whether flagged (``calibrating``) or measured (``readings``, silver's)."""
    from pyspark.sql import functions as F

    in_error = flagged.where("error").select("station_id", "parameter").distinct()
    measured = readings.join(in_error, ["station_id", "parameter"], "left_semi").select(
        "station_id", "parameter", "measured_at", "value", F.lit(False).alias("error"), "province_code"
    )
    points = flagged.select("station_id", "parameter", "measured_at", "value", "error", "province_code")
    return _episodes(
        points.unionByName(measured).select(
            F.lit("device").alias("kind"),
            F.lit(medium).alias("medium"),
            F.col("station_id").alias("entity_id"),
            "parameter",
            F.lit(None).cast("string").alias("limit_kind"),
            F.col("measured_at").alias("at"),
            "value",
            F.col("error").alias("over"),
            F.lit(None).cast("double").alias("limit_value"),
            F.lit(DEVICE_SOURCE).alias("limit_source"),
            "province_code",
        )
    )


def _local_day(ts: Column) -> Column:
    from pyspark.sql import functions as F

    return F.to_date(F.from_utc_timestamp(ts, conform.LOCAL_TZ))


def _transmissions(readings: DataFrame, medium: str, as_of: datetime | None = None) -> DataFrame:
    """One row per station and reading time, with the end of the medium's data: the end of the last
    local day any of its stations reported, or ``as_of`` (the live path's clock) when given."""
    from pyspark.sql import functions as F

    times = readings.groupBy("station_id", "measured_at").agg(F.max("province_code").alias("province_code"))
    if as_of is not None:
        end = readings.sparkSession.range(1).select(
            F.lit(as_of.astimezone(UTC).replace(tzinfo=None)).cast("timestamp").alias("data_end")
        )
    else:
        end = readings.agg(
            F.to_utc_timestamp(F.date_add(F.max("measured_date"), 1).cast("timestamp"), conform.LOCAL_TZ).alias(
                "data_end"
            )
        )
    return times.crossJoin(end).select(
        F.lit(medium).alias("medium"),
        F.col("station_id").alias("entity_id"),
        F.col("measured_at").alias("at"),
        "province_code",
        "data_end",
    )


def _clock(as_of: datetime | Mapping[str, datetime] | None, medium: str) -> datetime | None:
    return as_of.get(medium) if isinstance(as_of, Mapping) else as_of


def alerts(
    inputs: dict[str, DataFrame], dates: list[date], *, as_of: datetime | Mapping[str, datetime] | None = None
) -> DataFrame:
    """The alert episodes that opened on ``dates`` (Vietnam local days); pure, no clock of its own:
    the live path passes ``as_of`` (its clock, one for both media or one per medium: ``air``,
    ``wastewater``) so a silence is judged up to now, not to the day's end."""
    from pyspark.sql import functions as F

    first, last = min(dates) - timedelta(days=ALERT_WINDOW_DAYS), max(dates) + timedelta(days=ALERT_WINDOW_DAYS)
    window = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    in_window = F.col("measured_date").between(F.lit(first), F.lit(last))
    air = inputs["air_quality_reading"].where(in_window)
    water = inputs["wastewater_reading"].where(in_window)

    checked = readings_against_limits(
        {**inputs, "air_quality_reading": air, "wastewater_reading": water}, window
    ).where((F.col("averaging") == "1h") & (F.coalesce(F.col("device_status"), F.lit("measuring")) == "measuring"))
    exceedance = _episodes(
        checked.select(
            F.lit("exceedance").alias("kind"),
            "medium",
            "entity_id",
            "parameter",
            "limit_kind",
            F.col("period_start").alias("at"),
            "value",
            "over",
            "limit_value",
            "limit_source",
            "province_code",
        )
    )
    index = inputs["aqi_hourly"].where(F.col("date").between(F.lit(first), F.lit(last)) & F.col("vn_aqi").isNotNull())
    bad_air = _episodes(
        index.select(
            F.lit("aqi").alias("kind"),
            F.lit("air").alias("medium"),
            F.col("station_id").alias("entity_id"),
            F.lit("VN_AQI").alias("parameter"),
            F.lit("max").alias("limit_kind"),
            F.col("hour_start").alias("at"),
            F.col("vn_aqi").cast("double").alias("value"),
            (F.col("vn_aqi") >= AQI_ALERT_FROM).alias("over"),
            F.lit(float(AQI_ALERT_FROM - 1)).alias("limit_value"),
            F.lit(AQI_SOURCE).alias("limit_source"),
            "province_code",
        )
    )
    flagged = {
        medium: _device_readings(inputs[quarantine_input(dataset.name)], medium, first, last)
        for medium, dataset in (("air", AIR_QUALITY_READING), ("wastewater", WASTEWATER_READING))
    }
    transmitted = ("station_id", "measured_at", "province_code", "measured_date")
    silent = _silences(
        _transmissions(
            air.select(*transmitted).unionByName(flagged["air"].select(*transmitted)), "air", _clock(as_of, "air")
        ),
        _interval_minutes(AIR_QUALITY_READING.reading_interval),
    ).unionByName(
        _silences(
            _transmissions(
                water.select(*transmitted).unionByName(flagged["wastewater"].select(*transmitted)),
                "wastewater",
                _clock(as_of, "wastewater"),
            ),
            _interval_minutes(WASTEWATER_READING.reading_interval),
        )
    )
    device = _device_errors(flagged["air"], air, "air").unionByName(
        _device_errors(flagged["wastewater"], water, "wastewater")
    )

    episodes = (
        exceedance.drop("_run").unionByName(bad_air.drop("_run")).unionByName(silent).unionByName(device.drop("_run"))
    )
    names = (
        air.groupBy("station_id")
        .agg(F.max_by("station_name", "measured_at").alias("entity_name"))
        .select(
            F.lit("air").alias("medium"), "station_id", F.lit(None).cast("string").alias("facility_id"), "entity_name"
        )
        .unionByName(
            water.select("station_id", "facility_id")
            .distinct()
            .join(inputs["wastewater_facility"].select("facility_id", "facility_name"), "facility_id", "left")
            .select(
                F.lit("wastewater").alias("medium"),
                "station_id",
                "facility_id",
                F.col("facility_name").alias("entity_name"),
            )
        )
        .groupBy("medium", F.col("station_id").alias("entity_id"))
        .agg(F.min(F.struct("facility_id", "entity_name")).alias("_name"))
    )
    identity = F.concat_ws(
        "|",
        *[F.coalesce(F.col(k), F.lit("")) for k in EPISODE_KEYS],
        F.unix_timestamp("opened_at").cast("string"),
    )
    return (
        episodes.join(names, ["medium", "entity_id"], "left")
        .withColumn("date", _local_day(F.col("opened_at")))
        .where(F.col("date").isin(*dates))
        .select(
            F.substring(F.sha2(identity, 256), 1, 32).alias("alert_id"),
            "kind",
            "medium",
            "entity_id",
            F.col("_name.facility_id").alias("facility_id"),
            F.col("_name.entity_name").alias("entity_name"),
            "province_code",
            "parameter",
            "opened_at",
            "closed_at",
            F.when(F.col("closed_at").isNull(), "open").otherwise("closed").alias("status"),
            "date",
            "open_value",
            "peak_value",
            "limit_value",
            "limit_kind",
            "limit_source",
            "readings_over",
            "last_seen_at",
        )
    )
