"""Scenario 11 (secrets): no secret on any process's command line.

Every local user can read ``/proc/<pid>/cmdline`` of every process, so a key passed as an argument
is a key handed to the whole machine. With the real store up (``make test`` starts it), the real
source servers (HTTP, FTP, mosquitto) started here through ``infra/sources/sources.sh`` and a real
Spark session that wrote and read back a Delta table on the store, every process's command line is
read and searched for every secret value in the environment (``LAKEHOUSE_*KEY*``,
``LAKEHOUSE_*PASSWORD``, ``MINIO_ROOT_PASSWORD``, 8 characters or more). The commands ``make run``,
``make airflow``, ``make store`` … would run (``make -n``) are searched too.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.scenario import ScenarioRow, sized
from tests.lakehouse_fixtures import REPO, lake_bucket

SOURCES_SH = REPO / "infra" / "sources" / "sources.sh"
# This scenario's own ports (the helper range 19110-19119), so it never meets `make run`'s servers.
# Every server on its own port (the MQTT devices' listener is the broker's + 1: 19113), so a developer's
# `make run` servers (8780, 2121, 1884/1885, 8025) do not make this test fail.
PORTS = {
    "LAKEHOUSE_HTTP_SOURCE_PORT": "19110",
    "LAKEHOUSE_FTP_PORT": "19111",
    "LAKEHOUSE_MQTT_PORT": "19112",
    "LAKEHOUSE_SMTP_PORT": "19114",
}
SECRET_NAME = re.compile(r"^(LAKEHOUSE_\w*KEY\w*|LAKEHOUSE_\w*PASSWORD|MINIO_ROOT_PASSWORD)$")


def secrets_in_environment() -> dict[str, str]:
    """Name -> value of every secret this process was given (short values would match by chance)."""
    return {k: v for k, v in os.environ.items() if SECRET_NAME.match(k) and len(v) >= 8}


def command_lines() -> dict[int, str]:
    """Every readable process's command line, arguments joined by spaces."""
    lines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:  # the process ended while we listed /proc
            continue
        lines[int(entry.name)] = raw.replace(b"\0", b" ").decode("utf-8", "replace")
    return lines


def leaks(texts: dict[int, str] | dict[str, str], secrets: dict[str, str]) -> list[str]:
    """Where each secret appears (by name and process; the value itself is never printed)."""
    found = []
    for where, text in texts.items():
        found += [
            f"{name} on the command line of {where}: {text.split(' ', 1)[0]}"
            for name, v in secrets.items()
            if v in text
        ]
    return found


@pytest.fixture
def source_servers(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The real HTTP, FTP and MQTT source servers, started as `make sources` does, on private ports."""
    env = {
        **os.environ,
        **PORTS,
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
        "LAKEHOUSE_SOURCE_ROOT": str(tmp_path / "sources"),
        "LAKEHOUSE_MQTT_DIR": str(tmp_path / "mqtt"),
    }
    try:
        subprocess.run([str(SOURCES_SH), "start"], env=env, check=True, capture_output=True, timeout=90)
        yield env
    finally:
        subprocess.run([str(SOURCES_SH), "stop"], env=env, check=False, capture_output=True, timeout=60)


def test_no_secret_on_command_line(chaos_row: ScenarioRow, source_servers: dict[str, str], tmp_path: Path) -> None:
    secrets = secrets_in_environment()
    # Without the secrets the scan proves nothing: make test must have given them to this process.
    assert {"LAKEHOUSE_S3_SECRET_KEY", "MINIO_ROOT_PASSWORD", "LAKEHOUSE_FTP_PASSWORD"} <= secrets.keys(), (
        secrets.keys()
    )
    rows = sized(1_000, 100_000)

    from jobs.settings import get_settings
    from jobs.spark import get_spark

    with lake_bucket("secrets", tmp_path / "src", tmp_path / "gx") as bucket:
        spark = get_spark()
        uri = get_settings().s3a_uri("chaos/secrets/numbers")
        spark.range(rows).selectExpr("id", "id * 2 AS twice").write.format("delta").mode("overwrite").save(uri)
        back = spark.read.format("delta").load(uri)
        read_rows = back.count()
        distinct = back.select("id").distinct().count()
        assert bucket in uri

        processes = command_lines()
        own = {pid: line for pid, line in processes.items() if "java" in line and "pyspark-shell" in line}
        assert own, "no Spark JVM found in /proc: the scan would not have covered Spark"
        servers = [m for m in ("http_api", "ftp_server", "mosquitto") if any(m in line for line in processes.values())]
        assert len(servers) == 3, f"source servers not all running: {servers}"
        assert any("minio" in line and " server " in line for line in processes.values()), "the store is not running"
        found = leaks(processes, secrets)

    # What `make` would run for the pipeline, the UI, the store and the benchmarks: no secret expanded into it.
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", "airflow", "store", "sources", "bench", "bench-query"],
        cwd=REPO,
        env={**os.environ, "S3_PORT": "19113"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found += leaks({"make -n": dry.stdout}, secrets)

    chaos_row.count(records_in=rows, silver=read_rows, quarantined=0, duplicated=read_rows - distinct)
    chaos_row.detail = (
        f"{len(processes)} command lines (Spark JVM, MinIO, HTTP/FTP/MQTT servers) and `make -n run …` "
        f"searched for {len(secrets)} secrets: {len(found)} found"
    )
    assert not found, "secrets on command lines:\n" + "\n".join(found)
    assert read_rows == rows and distinct == rows
