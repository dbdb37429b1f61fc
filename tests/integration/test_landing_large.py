"""Landing above the 64 MiB multipart threshold is as conditional as the one-PUT path (issue 13).

A real >64 MiB payload (the fixture's air readings repeated, generated here, never committed) is
landed through ``jobs.landing.land``; a second landing, and a second upload of other bytes under the
same key, change nothing; two uploads racing for one key leave exactly one winner's bytes; no
unfinished multipart upload is left behind. Expected values are computed here from the bytes written.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, lake_bucket

AIR = "air_quality_reading"
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
MIB = 1024 * 1024


def _grow(path: Path, at_least: int) -> int:
    """Repeat the file's data lines until it is larger than ``at_least`` bytes; returns its data rows."""
    header, *lines = path.read_bytes().splitlines(keepends=True)
    block = b"".join(lines)
    copies = at_least // len(block) + 1
    path.write_bytes(header + block * copies)
    return len(lines) * copies


def _sha(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 * MIB):
            sha.update(chunk)
    return sha.hexdigest()


def test_large_landing_is_conditional(tmp_path: Path) -> None:
    from jobs.landing import MULTIPART_THRESHOLD, land, upload_if_absent
    from jobs.settings import get_settings
    from jobs.storage import s3_client

    with lake_bucket("landbig", copy_fixture_sources(tmp_path / "sources"), tmp_path / "gx"):
        settings = get_settings()
        client = s3_client(settings)
        source = tmp_path / "sources" / "environment" / "air_quality" / "readings_20261126.csv"
        rows = _grow(source, MULTIPART_THRESHOLD + 6 * MIB)
        size, sha = source.stat().st_size, _sha(source)
        assert size > 64 * MIB

        first = land(REGISTRY[AIR], INTERVAL)
        assert first.newly_landed and first.sha256 == sha and first.data_rows == rows
        head = client.head_object(Bucket=settings.bucket, Key=first.key)
        assert head["ContentLength"] == size
        assert "-" in head["ETag"]  # a multipart object: the large path was taken

        again = land(REGISTRY[AIR], INTERVAL)  # a rerun lands nothing
        assert not again.newly_landed and again.sha256 == sha and again.ingested_at == first.ingested_at

        # a second writer that got past the existence check (the race) is refused at completion
        other = tmp_path / "other.csv"
        other.write_bytes(b"x" * (MULTIPART_THRESHOLD + MIB))
        assert upload_if_absent(first.key, other, {"sha256": "other"}, settings) is False
        after = client.head_object(Bucket=settings.bucket, Key=first.key)
        assert (after["ETag"], after["ContentLength"], after["Metadata"]["sha256"]) == (head["ETag"], size, sha)

        # two uploads racing for a fresh key: exactly one wins, and the object is the winner's bytes
        key = "landing/race/big.csv"
        won: dict[str, bool] = {}

        def upload(name: str, path: Path) -> None:
            won[name] = upload_if_absent(key, path, {"who": name}, settings)

        threads = [
            threading.Thread(target=upload, args=("source", source)),
            threading.Thread(target=upload, args=("other", other)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(won.values()) == [False, True]
        winner = next(n for n, w in won.items() if w)
        landed = client.head_object(Bucket=settings.bucket, Key=key)
        assert landed["Metadata"]["who"] == winner
        assert landed["ContentLength"] == (size if winner == "source" else other.stat().st_size)
        assert client.list_multipart_uploads(Bucket=settings.bucket).get("Uploads", []) == []
