"""Scenario 5: the store's disk fills up during a publish.

A dedicated MinIO (port 19140, HTTPS with the local certificate like the real store) keeps its data
on a small tmpfs this test mounts. The batch is landed and audited there; then a filler file takes
every free byte of the filesystem, and the publish task (child process) must fail with a
``StoreFullError`` that says to free space and rerun, with no Delta commit visible; after the filler
is deleted the rerun is clean and exact.
"""

from __future__ import annotations

import errno
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from jobs.settings import Settings
from tests.chaos import faults
from tests.chaos.scenario import ScenarioRow, sized
from tests.lakehouse_fixtures import REPO, lake_bucket

# Under a shared machine's load one Spark step can take minutes: more room than the suite's 900 s.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

DAY = date(2026, 11, 23)
PORT = 19140
# MinIO refuses an upload of unknown size (a streamed PUT) unless 1 GiB is free (its
# `diskAssumeUnknownSize`), so a smaller disk is "full" before the test fills it: 1.5 GiB of tmpfs.
FS_SIZE = "1536m"


def _certs_dir(target: Path) -> Path:
    """MinIO's ``--certs-dir`` as infra/store/store.sh makes it: the local servers' certificate
    (127.0.0.1, signed by the local CA of infra/gen_tls.py) and that CA."""
    tls = Settings().tls_ca.parent
    (target / "CAs").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tls / "server.crt", target / "public.crt")
    shutil.copyfile(tls / "server.key", target / "private.key")
    (target / "private.key").chmod(0o600)
    shutil.copyfile(tls / "ca.crt", target / "CAs" / "ca.crt")
    return target


@contextmanager
def small_disk_store(mount: Path) -> Iterator[str]:
    """MinIO on a fresh ``FS_SIZE`` tmpfs at ``mount``, provisioned like ``make store``; yields its URL.
    Stopped and unmounted afterwards, whatever happened."""
    mount.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE}", "tmpfs", str(mount)], check=True)
    url = f"https://127.0.0.1:{PORT}"
    server = None
    try:
        env = {**os.environ, "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"}
        log = (mount.parent / "minio.log").open("wb")
        certs = _certs_dir(mount.parent / f"{mount.name}-certs")  # off the tmpfs the test fills
        address, console = f"127.0.0.1:{PORT}", f"127.0.0.1:{PORT + 1}"
        command = [str(REPO / ".tools" / "bin" / "minio"), "server", "--quiet", "--certs-dir", str(certs)]
        command += ["--address", address, "--console-address", console, str(mount / "data")]
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        tls = ssl.create_default_context(cafile=Settings().tls_ca)  # over TLS like the real store, checked
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/minio/health/live", timeout=2, context=tls)
                break
            except OSError:
                assert server.poll() is None, (mount.parent / "minio.log").read_text()
                time.sleep(0.5)
        boot = {**os.environ, "LAKEHOUSE_S3_ENDPOINT": url, "LAKEHOUSE_S3_PORT": str(PORT)}
        subprocess.run(
            [str(REPO / ".venv" / "bin" / "python"), "infra/store/bootstrap.py"], env=boot, cwd=REPO, check=True
        )
        yield url
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        subprocess.run(["umount", str(mount)], check=False)


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[tuple[Path, Path, faults.Readings]]:
    readings = faults.write_readings(tmp_path / "sources", DAY, sized(2_000, 200_000))
    mount = Path(f"/tmp/lakehouse-diskfull-{uuid.uuid4().hex[:6]}")
    saved = os.environ.get("LAKEHOUSE_S3_ENDPOINT")
    with small_disk_store(mount) as url:
        os.environ["LAKEHOUSE_S3_ENDPOINT"] = url
        try:
            with lake_bucket("diskfull", tmp_path / "sources", tmp_path / "gx"):
                yield tmp_path, mount, readings
        finally:
            if saved is None:
                os.environ.pop("LAKEHOUSE_S3_ENDPOINT", None)
            else:
                os.environ["LAKEHOUSE_S3_ENDPOINT"] = saved
    shutil.rmtree(mount, ignore_errors=True)
    shutil.rmtree(mount.parent / f"{mount.name}-certs", ignore_errors=True)


def _fill(mount: Path) -> Path:
    """A filler file taking every free byte of the filesystem (written until ENOSPC)."""
    filler = mount / "filler.bin"
    with filler.open("wb") as fh:
        chunk = b"\0" * (1 << 16)
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError as err:
            assert err.errno == errno.ENOSPC, err
    assert shutil.disk_usage(mount).free == 0
    return filler


def _wait_until_the_store_sees_space(bucket: str, seconds: float = 90) -> None:
    """MinIO re-reads its drives' free space every few seconds: wait until a write goes through again."""
    from botocore.exceptions import ClientError

    from jobs.storage import s3_client

    deadline = time.monotonic() + seconds
    while True:
        try:
            s3_client().put_object(Bucket=bucket, Key="_probe/space", Body=b"x")
            s3_client().delete_object(Bucket=bucket, Key="_probe/space")
            return
        except ClientError as err:
            if "StorageFull" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_disk_full(lake: tuple[Path, Path, faults.Readings], chaos_row: ScenarioRow) -> None:
    from jobs.pipeline import publish_batch
    from jobs.settings import get_settings

    tmp, mount, readings = lake
    settings = get_settings()
    assert settings.s3_endpoint.endswith(f":{PORT}")
    audited = faults.audited_batch(readings, "chaos-diskfull")
    filler = _fill(mount)
    proc = faults.start_publish(audited, tmp / "publish.log")  # a full store is not waited for: no budget cut
    try:
        proc.wait(timeout=sized(240, 900))
    finally:
        faults.kill_group(proc)
    log = (tmp / "publish.log").read_text(errors="replace")
    assert proc.returncode not in (0, None), log[-3000:]
    assert "StoreFullError: The object store at" in log, log[-3000:]
    assert "out of disk space" in log and "Free space on the store's disk" in log and "rerun the task" in log
    assert "MERGE" not in faults.operations(settings, faults.SILVER_KEY)  # no commit
    assert faults.books(settings, readings) == (0, 0, 0)

    filler.unlink()  # the operator frees space
    _wait_until_the_store_sees_space(settings.bucket)
    rerun = publish_batch(faults.AIR, audited)
    assert rerun["published"]["silver_rows"] == readings.good
    silver, quarantined, duplicated = faults.books(settings, readings)
    chaos_row.count(records_in=readings.total, silver=silver, quarantined=quarantined, duplicated=duplicated)
    chaos_row.detail = f"store on a {FS_SIZE} tmpfs filled: publish failed with StoreFullError, no commit; rerun exact"
    assert faults.operations(settings, faults.SILVER_KEY).count("MERGE") == 1
    assert (silver, quarantined) == (readings.good, readings.bad)
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0
