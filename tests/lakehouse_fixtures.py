"""Helpers shared by integration and DAG tests: throw-away buckets and source folders.

Tests never touch the real lake bucket: each module works in its own ``<bucket>-test-*``
bucket on the real store, created here and emptied afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.interval import DataInterval
    from jobs.settings import Settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "sample_sources" / "fixtures"
FIXTURE_DAY = date(2026, 11, 26)


def fixture_report() -> dict[str, Any]:
    return json.loads((FIXTURES / "environment" / "_generation_report.json").read_text())


def expected_for(dataset: str) -> dict[str, Any]:
    """The generator's own account of what it injected into a dataset's fixture file."""
    for entry in fixture_report()["files"].values():
        if entry["dataset"] == dataset:
            return entry  # type: ignore[no-any-return]
    raise KeyError(dataset)


def _reset_caches() -> None:
    from jobs.settings import get_settings
    from jobs.storage import s3_client

    get_settings.cache_clear()
    s3_client.cache_clear()


@contextmanager
def lake_bucket(name: str, source_root: Path, gx_root: Path, extract_from: str = "local") -> Iterator[str]:
    """Point settings at a fresh test bucket and source folder; delete the bucket after.

    Sources are read from the local drop under ``source_root`` unless ``extract_from="channel"``
    (the channel tests start their own HTTP / FTP / MQTT servers)."""
    if not os.environ.get("LAKEHOUSE_S3_ACCESS_KEY"):
        raise RuntimeError("integration tests need the store: run them through `make test`")
    base = os.environ.get("LAKEHOUSE_BUCKET", "lakehouse")
    bucket = f"{base}-test-{name}-{uuid.uuid4().hex[:6]}"
    names = ("LAKEHOUSE_BUCKET", "LAKEHOUSE_SOURCE_ROOT", "LAKEHOUSE_GX_ROOT", "LAKEHOUSE_EXTRACT_FROM")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(
        LAKEHOUSE_BUCKET=bucket,
        LAKEHOUSE_SOURCE_ROOT=str(source_root),
        LAKEHOUSE_GX_ROOT=str(gx_root),
        LAKEHOUSE_EXTRACT_FROM=extract_from,
    )
    _reset_caches()
    from jobs.storage import s3_client

    client = s3_client()
    client.create_bucket(Bucket=bucket)
    try:
        yield bucket
    finally:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        client.delete_bucket(Bucket=bucket)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reset_caches()


@contextmanager
def ministry_identities(bucket: str) -> Iterator[dict[str, Settings]]:
    """Each ministry's own read-only store identity for a test bucket, provisioned exactly as
    ``make store`` does for the real lake (policies from the registry); removed afterwards.
    Yields settings by ministry code, with the ministry's keys."""
    import dataclasses

    from infra.store.bootstrap import admin_client, provision_ministries, remove_ministries
    from jobs.settings import get_settings

    writer = get_settings()
    admin = admin_client(writer, os.environ["MINIO_ROOT_USER"], os.environ["MINIO_ROOT_PASSWORD"])
    suffix = "-" + uuid.uuid4().hex[:6]
    credentials = provision_ministries(admin, bucket, writer.opendata_bucket, user_suffix=suffix)
    try:
        yield {
            m.code: dataclasses.replace(writer, s3_access_key=key, s3_secret_key=secret)
            for m, (key, secret) in credentials.items()
        }
    finally:
        remove_ministries(admin, bucket, user_suffix=suffix)


def copy_fixture_sources(target: Path) -> Path:
    shutil.copytree(FIXTURES, target, dirs_exist_ok=True)
    return target


def make_all_negative(source_root: Path, day: date) -> Path:
    """Sources for ``day``: fixture air readings with every value out of range (negative), and the
    fixture wastewater readings moved to that day unchanged."""
    import csv

    water_src = FIXTURES / "environment" / "wastewater" / f"readings_{FIXTURE_DAY:%Y%m%d}.csv"
    water_dst = source_root / "environment" / "wastewater" / f"readings_{day:%Y%m%d}.csv"
    water_dst.parent.mkdir(parents=True, exist_ok=True)
    water_dst.write_text(
        water_src.read_text(encoding="utf-8")
        .replace(f"{FIXTURE_DAY:%Y-%m-%d}", f"{day:%Y-%m-%d}")
        .replace(f"{FIXTURE_DAY:%d/%m/%Y}", f"{day:%d/%m/%Y}"),
        encoding="utf-8",
    )
    src = FIXTURES / "environment" / "air_quality" / f"readings_{FIXTURE_DAY:%Y%m%d}.csv"
    dst = source_root / "environment" / "air_quality" / f"readings_{day:%Y%m%d}.csv"
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open(newline="", encoding="utf-8") as fin, dst.open("w", newline="", encoding="utf-8") as fout:
        reader, writer = csv.reader(fin), csv.writer(fout, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        value_at, time_at, status_at = header.index("value"), header.index("measured_at"), header.index("device_status")
        for row in reader:
            if len(row) != len(header):
                continue
            row[value_at] = "-5"
            row[status_at] = "measuring"
            row[time_at] = (
                row[time_at]
                .replace(f"{FIXTURE_DAY:%Y-%m-%d}", f"{day:%Y-%m-%d}")
                .replace(f"{FIXTURE_DAY:%d/%m/%Y}", f"{day:%d/%m/%Y}")
            )
            writer.writerow(row)
    return dst


def books(refined: dict[str, Any]) -> dict[str, Any]:
    """A silver step's result without its staging version (a rerun stages anew, with a higher one)."""
    return {k: v for k, v in refined.items() if k != "staged_version"}


def assert_same_books_staged_anew(first: dict[str, Any], second: dict[str, Any]) -> None:
    """A rerun's silver step counted exactly what the first run did, and staged the batch again."""
    assert books(second) == books(first)
    assert second["staged_version"] > first["staged_version"]


def run_sector(sector: str, interval: DataInterval, run_id: str) -> dict[str, Any]:
    """Every silver dataset of a sector for one interval (land → gate, registry order), then its gold
    for the days the batches touched; results by dataset name."""
    from jobs.pipeline import publish_gold, run_dataset
    from jobs.registry import REGISTRY, Layer

    start, end = interval.as_strings()
    out: dict[str, Any] = {}
    dates: set[str] = set()
    for ds in REGISTRY.by_sector(sector, Layer.SILVER):
        out[ds.name] = run_dataset(ds.name, start, end, run_id=run_id)
        dates |= set(out[ds.name]["dates"])
    for ds in REGISTRY.by_sector(sector, Layer.GOLD):
        out[ds.name] = publish_gold(ds.name, sorted(dates))
    return out


TIGHTENED_REASON = "TIGHTENED_FOR_TEST"


def rerun_under_tightened_rule(sector: str, interval: DataInterval) -> dict[str, dict[str, Any]]:
    """Rerun every silver dataset of a sector for ``interval`` under one more row rule (every third
    line silver holds from the batch is rejected) and publish the result as a steward's release would
    (no gate: the point is what publishing does to silver and quarantine). Returns per dataset the
    lines before and after.

    ``both`` are the lines a ministry would see in silver while they are open in quarantine: the
    invariant is that there are none. ``dropped`` are the lines the new rule took out of silver.
    """
    import dataclasses

    from pyspark.sql import functions as F

    from jobs.bronze import read_bronze_batch
    from jobs.gold import read_table
    from jobs.publish import publish
    from jobs.registry import REGISTRY, Criterion, Layer, RowRule
    from jobs.settings import get_settings
    from jobs.silver import refine
    from jobs.spark import get_spark
    from jobs.tables import quarantine_uri, table_uri

    spark, settings = get_spark(), get_settings()
    out: dict[str, dict[str, Any]] = {}
    for ds in REGISTRY.by_sector(sector, Layer.SILVER):
        if ds.source is None:
            continue
        batch = interval.batch_id(ds.name)

        def lines(uri: str, where: Any = None, batch: str = batch) -> set[int]:
            rows = spark.read.format("delta").load(uri).where(F.col("_batch_id") == batch)
            rows = rows if where is None else rows.where(where)
            return {r[0] for r in rows.select("_source_line").collect()}

        before = lines(table_uri(ds, settings))
        picked = sorted(before)[::3]  # every third line silver holds from the batch (at least one)
        when = f"_source_line IN ({', '.join(map(str, picked))})" if picked else "false"
        rule = RowRule(TIGHTENED_REASON, when, Criterion.CLEAN, "A rule tightened after the first run.")
        tightened = dataclasses.replace(ds, row_rules=(rule, *ds.row_rules))
        bronze = read_bronze_batch(spark, ds, batch, settings)
        inputs = {name: read_table(spark, REGISTRY[name], settings) for name in ds.inputs}
        refined = refine(spark, tightened, bronze, inputs, {"interval": interval}, settings)
        publish(spark, tightened, batch, refined.staged_version, interval.local_start_date, settings)
        after = lines(table_uri(ds, settings))
        open_lines = lines(quarantine_uri(ds, settings), F.col("status") == "open")
        tightened_lines = lines(quarantine_uri(ds, settings), F.col("reason_code") == TIGHTENED_REASON)
        out[ds.name] = {
            "before": before,
            "after": after,
            "both": after & open_lines,
            "dropped": before & tightened_lines,
            "silver_rows": refined.silver_rows,
        }
    return out


def assert_no_line_in_both(drill: dict[str, dict[str, Any]]) -> None:
    """The rules-change invariant, for every dataset of a drill: no line in silver and open in
    quarantine; the lines the new rule rejects left silver in the same publish; silver holds exactly
    the rerun's good rows."""
    for name, d in drill.items():
        assert d["both"] == set(), f"{name}: lines in silver and open in quarantine: {sorted(d['both'])[:10]}"
        assert d["dropped"], f"{name}: the tightened rule took no line out of silver (the drill proves nothing)"
        assert not d["dropped"] & d["after"], name
        assert len(d["after"]) == d["silver_rows"], name


def write_registry_table(
    dataset: str, rows: list[dict[str, Any]], partition_by: list[str] | None = None, key: str | None = None
) -> None:
    """Hand-made rows as a registered dataset's Delta table (its registry columns; a missing value is
    null), written with delta-rs into the current test bucket: for readers that need no pipeline run.
    ``key``: another table with the dataset's columns (the live stream's), instead of the dataset's own."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.registry import REGISTRY
    from jobs.settings import get_settings

    types = {
        "STRING": pa.string(),
        "DOUBLE": pa.float64(),
        "INT": pa.int32(),
        "LONG": pa.int64(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    }
    settings = get_settings()
    ds = REGISTRY[dataset]
    schema = pa.schema([(f.name, types[f.type]) for f in ds.fields])
    write_deltalake(
        settings.s3_uri(key or ds.table_path),
        pa.Table.from_pylist(rows, schema=schema),
        mode="overwrite",
        partition_by=partition_by,
        storage_options=settings.delta_rs_storage_options(),
    )


# Stamped by the run itself, not derived from the data.
RUN_TIME_COLUMNS = frozenset({"_ingested_at", "released_at"})
# Three silver datasets that cover the slice's kinds: a reference list, readings with the fixture's mess
# (quarantined lines, duplicates), personal data (pseudonyms, the restricted table).
SMALL_SLICE = ("air_station", "air_quality_reading", "vehicle_position")


def lake_contents(names: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every table the named silver datasets wrote (silver, quarantine, restricted), rows sorted."""
    from delta.tables import DeltaTable

    from jobs.registry import REGISTRY
    from jobs.settings import get_settings
    from jobs.spark import get_spark
    from jobs.tables import quarantine_uri, restricted_uri, table_uri

    spark, settings = get_spark(), get_settings()
    uris = {}
    for name in names:
        dataset = REGISTRY[name]
        uris[name] = table_uri(dataset, settings)
        uris[f"{name} quarantine"] = quarantine_uri(dataset, settings)
        if dataset.personal is not None:
            uris[f"{name} restricted"] = restricted_uri(dataset, settings)
    out = {}
    for label, uri in uris.items():
        assert DeltaTable.isDeltaTable(spark, uri), f"{label}: no table at {uri}"
        df = spark.read.format("delta").load(uri)
        kept = sorted(c for c in df.columns if c not in RUN_TIME_COLUMNS)
        out[label] = sorted(tuple(repr(v) for v in row) for row in df.select(*kept).collect())
    return out
