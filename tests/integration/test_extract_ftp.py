"""The FTP channel against the real sample FTP server (pyftpdlib) and the real store.

The committed wastewater fixture (179 data lines, one facility) is split into its per-transmission
files (26: one facility's 24 hours, its late hour of the day before, an unknown facility) exactly as `make sample`
does, served by ``sample_sources.servers.ftp_server`` in-process on a free port, and landed through
``jobs.landing.land`` into a throw-away bucket. Expected payloads are built here from the files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from jobs.errors import DataError
from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from sample_sources.environment.transmissions import split_day
from sample_sources.servers.ftp_server import RunningFTP, serve_in_thread
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, lake_bucket

INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
DATASET = next(d for d in REGISTRY if d.name == "wastewater_reading")
DAY_DIR = "environment/wastewater/2026-11-26"
DAILY = "environment/wastewater/readings_20261126.csv"
ROWS = 179  # data lines of the fixture's daily file and its manifest
PASSWORD = "test-only-ftp-password"


@dataclass
class Env:
    root: Path
    ftp: RunningFTP
    staging: Path

    @property
    def day(self) -> Path:
        return self.root / DAY_DIR

    def transmissions(self) -> list[Path]:
        return sorted(self.day.glob("*.csv"))

    def landed(self, key: str) -> bytes:
        from jobs.settings import get_settings
        from jobs.storage import s3_client

        return s3_client().get_object(Bucket=get_settings().bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]

    def landing_keys(self) -> list[str]:
        from jobs.storage import list_keys

        return list_keys(f"landing/{DATASET.sector}/{DATASET.name}/")

    def land(self, interval: DataInterval = INTERVAL, **changes: Any) -> Any:
        from jobs.landing import land
        from jobs.settings import get_settings

        return land(DATASET, interval, replace(get_settings(), ftp_port=self.ftp.port, **changes))


def concatenation(files: list[Path]) -> bytes:
    """What the adapter must land: the first header once, then every file's data lines in name order."""
    header = files[0].read_bytes().split(b"\n", 1)[0] + b"\n"
    return header + b"".join(f.read_bytes().split(b"\n", 1)[1] for f in files)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    root = copy_fixture_sources(tmp_path / "sources")
    split_day(root, FIXTURE_DAY)
    ftp = serve_in_thread(root, password=PASSWORD)
    monkeypatch.setenv("LAKEHOUSE_FTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path / "state"))
    try:
        with lake_bucket("ftp", root, tmp_path / "gx", extract_from="channel") as bucket:
            yield Env(root, ftp, tmp_path / "state" / "staging" / bucket)
            assert ftp.faults.pending == 0, "a fault armed by the test never fired"
    finally:
        ftp.faults.clear()
        ftp.stop()


def test_the_days_transmissions_land_once_and_move_to_processed(env: Env) -> None:
    files = env.transmissions()
    # 24 hours of facility WW-75-0001, its late hour 11 of 2026-11-25, and the unknown facility WW-75-0194
    assert len(files) == 26
    expected = concatenation(files)
    daily = (env.root / DAILY).read_bytes().splitlines(keepends=True)

    batch = env.land()

    payload = env.landed(batch.key)
    assert payload == expected
    lines = payload.splitlines(keepends=True)
    assert lines[0] == daily[0] and sorted(lines[1:]) == sorted(daily[1:])  # every daily row, once
    assert (batch.data_rows, batch.stated_rows) == (ROWS, ROWS)
    assert batch.source_file == f"ftp://127.0.0.1:{env.ftp.port}/{DAY_DIR}/"
    assert batch.source_version is not None and batch.source_version.startswith("26 files")
    assert sorted(p.name for p in env.day.iterdir()) == ["_manifest.json", "processed"]
    assert sorted(p.name for p in (env.day / "processed").iterdir()) == [f.name for f in files]
    assert len(env.ftp.faults.retrievals) == 27  # 26 files + the manifest, each once

    again = env.land()
    assert not again.newly_landed and (again.key, again.sha256) == (batch.key, batch.sha256)
    assert len(env.ftp.faults.retrievals) == 27  # nothing fetched for a landed batch
    assert env.landing_keys() == [batch.key]


def test_a_drop_mid_transfer_then_a_restarted_server_lands_exactly_what_the_source_had(env: Env) -> None:
    files = env.transmissions()
    expected = concatenation(files)
    cut = files[5]
    assert cut.stat().st_size > 100
    env.ftp.faults.drop_after(f"/{DAY_DIR}/{cut.name}", 100)

    with pytest.raises(ConnectionError, match="failed after 1 attempts"):
        env.land(http_attempts=1)
    assert env.landing_keys() == []
    assert [f.name for f in env.transmissions()] == [f.name for f in files]  # nothing moved
    staged = env.staging / DATASET.name / INTERVAL.batch_id(DATASET.name) / "files"
    assert sorted(p.name for p in staged.iterdir()) == [f.name for f in files[:5]] + [cut.name + ".part"]
    assert (staged / (cut.name + ".part")).read_bytes() == cut.read_bytes()[:100]

    env.ftp.stop()  # the server goes down and comes back (on another port)
    env.ftp = serve_in_thread(env.root, password=PASSWORD)
    batch = env.land()

    assert batch.newly_landed and env.landed(batch.key) == expected
    assert batch.data_rows == ROWS
    retrieved = [(p.rsplit("/", 1)[1], rest) for p, rest in env.ftp.faults.retrievals]
    assert retrieved[0] == (cut.name, 100)  # resumed with REST at the byte where it was cut
    assert {name for name, _ in retrieved}.isdisjoint(f.name for f in files[:5])  # complete ones kept
    assert env.transmissions() == [] and len(list((env.day / "processed").iterdir())) == 26
    assert env.landing_keys() == [batch.key]


def test_only_files_not_yet_processed_are_taken_and_late_ones_wait(env: Env) -> None:
    files = env.transmissions()
    (env.day / "processed").mkdir()
    for f in files[:3]:  # collected by an earlier batch
        f.rename(env.day / "processed" / f.name)
    expected = concatenation(files[3:])

    batch = env.land()
    assert env.landed(batch.key) == expected
    assert batch.data_rows == expected.count(b"\n") - 1 and batch.data_rows < ROWS
    assert batch.stated_rows == ROWS  # the day's manifest; the gate compares the two

    late = env.day / "WW-75-0001_WW-75-0001-S1_20261126230000-resend.csv"
    late.write_bytes((env.root / DAILY).read_bytes().split(b"\n", 1)[0] + b"\n")
    again = env.land()
    assert not again.newly_landed and again.sha256 == batch.sha256
    assert late.is_file()  # not landed with this batch, so not moved either


def test_a_transmission_with_another_header_is_refused_naming_the_file(env: Env) -> None:
    files = env.transmissions()
    bad = files[7]
    header, rest = bad.read_bytes().split(b"\n", 1)
    bad.write_bytes(header.replace(b"value,unit", b"unit,value") + b"\n" + rest)

    with pytest.raises(DataError, match=rf"{bad.name}: header .*unit,value.* differs from {files[0].name}"):
        env.land()
    assert env.landing_keys() == []
    assert env.transmissions() == files  # nothing moved


def test_a_day_nobody_pushed_yet_is_source_missing(env: Env) -> None:
    from jobs.payload import SourceMissingError

    with pytest.raises(SourceMissingError, match="2026-11-27/ does not exist yet"):
        env.land(DataInterval.for_local_day(date(2026, 11, 27)))
    assert env.landing_keys() == []


def test_a_tcvn3_transmission_among_utf8_ones_is_decoded_on_its_own(env: Env) -> None:
    """One station sends TCVN3 (bytes from glibc's iconv), the next UTF-8 with "Đ" (C4 90, which a
    cp1252 reading of the whole day could not even decode): landing keeps the bytes and decides each
    transmission's charset from its own lines; bronze reads each line in its file's charset."""
    import subprocess

    from jobs.bronze import load_bronze, read_bronze_batch
    from jobs.spark import get_spark

    files = env.transmissions()
    legacy, utf8 = files[5], files[6]
    measuring = [f.read_bytes().count(b",measuring") for f in (legacy, utf8)]
    assert min(measuring) > 0
    for path in (legacy, utf8):
        path.write_bytes(path.read_bytes().replace(b",measuring", ",Đang đo".encode()))
    # TCVN3 has no ° or ³: the station writes the unit as the old export tools did
    legacy.write_bytes(legacy.read_bytes().replace("°C".encode(), b"oC").replace("m³".encode(), b"m3"))
    legacy.write_bytes(
        subprocess.run(
            ["iconv", "-f", "UTF-8", "-t", "TCVN5712-1"], input=legacy.read_bytes(), capture_output=True, check=True
        ).stdout
    )
    assert b"\xa7ang \xae" in legacy.read_bytes()  # TCVN3 Đ (A7) and đ (AE)
    data_lines = [len(f.read_bytes().splitlines()) - 1 for f in files]
    first = [2 + sum(data_lines[:i]) for i in range(len(files))]
    expected = concatenation(files)

    batch = env.land()

    assert env.landed(batch.key) == expected  # landing stays raw
    assert batch.charsets == ((1, "utf-8"), (first[5], "tcvn3"), (first[6], "utf-8"))
    load_bronze(get_spark(), DATASET, batch)
    rows = read_bronze_batch(get_spark(), DATASET, batch.batch_id).collect()
    assert len(rows) == ROWS and not any("charset" in (r["_parse_error"] or "") for r in rows)
    in_legacy = range(first[5], first[6])
    assert {r["_charset"] for r in rows if r["_source_line"] in in_legacy} == {"tcvn3"}
    assert {r["_charset"] for r in rows if r["_source_line"] not in in_legacy} == {"utf-8"}
    status = [r["device_status"] for r in rows]
    assert status.count("Đang đo") == sum(measuring)  # both files, read right
    assert not any(s and ("\xa7" in s or "Ä" in s) for s in status)  # no byte read in the wrong charset
