"""Landing: the payload exactly as the source sent it, one object per batch, never overwritten.

Key: ``landing/<sector>/<dataset>/ingest_date=<interval date>/<batch_id>.<ext>``. The date in
the key is the data interval's (not the wall clock's), so a rerun computes the same key, finds
its batch and lands nothing twice.
"""

from __future__ import annotations

import codecs
import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

from jobs import extract as channels
from jobs import storage
from jobs.errors import DataError
from jobs.extract.file import local_path
from jobs.interval import DataInterval
from jobs.payload import (
    LEGACY_CHARSET,
    STATED_ROWS_META,
    LandedBatch,
    landing_key,
)
from jobs.registry import Channel, Dataset
from jobs.settings import Settings, get_settings

MULTIPART_THRESHOLD = 64 * 1024 * 1024


class LandingConflictError(DataError):
    """The source changed after its batch was landed; landing is never overwritten."""


def source_path(dataset: Dataset, interval: DataInterval, settings: Settings) -> Path:
    """Where the local drop keeps the file for this interval."""
    return local_path(dataset, interval, settings)


def _digest_count_charset(path: Path, has_header: bool) -> tuple[str, int, str]:
    """sha256, data rows (lines, minus the header for CSV) and charset of a payload, in one pass."""
    sha = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    newlines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            sha.update(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    lines = newlines + (0 if last == b"\n" else 1)
    return sha.hexdigest(), max(lines - (1 if has_header else 0), 0), "utf-8" if utf8 else LEGACY_CHARSET


def _from_metadata(dataset: Dataset, batch_id: str, key: str, meta: dict[str, str], fmt: str) -> LandedBatch:
    return LandedBatch(
        dataset.name,
        batch_id,
        key,
        meta.get("source-file", ""),
        meta.get("sha256", ""),
        int(meta.get("data-rows", 0)),
        meta["ingested-at"],
        newly_landed=False,
        stated_rows=int(meta[STATED_ROWS_META]) if meta.get(STATED_ROWS_META) else None,
        format=fmt,
        charset=meta.get("charset", "utf-8"),
        source_version=meta.get("source-version") or None,
    )


def land(dataset: Dataset, interval: DataInterval, settings: Settings | None = None) -> LandedBatch:
    """Extract the interval's payload and land it once; on rerun return the batch already landed.

    A local drop is read again on rerun (cheap) so a changed file is caught; a remote channel is
    not asked again once its batch is in landing, so nothing is fetched or landed twice.
    """
    settings = settings or get_settings()
    assert dataset.source is not None, f"{dataset.name} has no source"
    channel = channels.channel_of(dataset, settings)
    batch_id = interval.batch_id(dataset.name)
    staging = settings.staging_dir / dataset.name / batch_id
    extracted = None
    if channel == Channel.FILE:
        extracted = channels.extract(dataset, interval, settings, staging)
        fmt = extracted.format or dataset.source.format
    else:
        fmt = dataset.source.format
    key = landing_key(dataset, interval, fmt)
    existing = storage.head(key, settings)
    if existing is not None:
        batch = _from_metadata(dataset, batch_id, key, existing.get("Metadata", {}), fmt)
        if extracted is not None:
            sha256 = _digest_count_charset(extracted.path, fmt == "csv")[0]
            if batch.sha256 != sha256:
                raise LandingConflictError(
                    f"{dataset.name}: batch {batch_id} was landed from a different payload (sha256 {batch.sha256}, "
                    f"now {sha256}). Landing is never overwritten. If the source re-sent corrected data, deliver it "
                    "as a new interval or a new source file; to rebuild on purpose, delete the landed object first."
                )
        channels.after_landing(dataset, interval, settings, batch)
        return batch

    if extracted is None:
        extracted = channels.extract(dataset, interval, settings, staging)
        if extracted.format not in (None, fmt):
            raise ValueError(f"{dataset.name}: the {channel} adapter staged {extracted.format}, the source says {fmt}")
    sha256, data_rows, charset = _digest_count_charset(extracted.path, fmt == "csv")
    ingested_at = datetime.now(UTC).isoformat()
    metadata = {
        "sha256": sha256,
        "source-file": extracted.source_name,
        "data-rows": str(data_rows),
        "ingested-at": ingested_at,
        "charset": charset,
    }
    if extracted.stated_rows is not None:
        metadata[STATED_ROWS_META] = str(extracted.stated_rows)
    if extracted.version:
        metadata["source-version"] = extracted.version
    path = extracted.path
    if path.stat().st_size <= MULTIPART_THRESHOLD:
        if not storage.put_if_absent(key, path.read_bytes(), metadata, settings):
            return land(dataset, interval, settings)  # another writer won the race: use its batch
    else:
        storage.s3_client(settings).upload_file(str(path), settings.bucket, key, ExtraArgs={"Metadata": metadata})
    batch = LandedBatch(
        dataset.name,
        batch_id,
        key,
        extracted.source_name,
        sha256,
        data_rows,
        ingested_at,
        newly_landed=True,
        stated_rows=extracted.stated_rows,
        format=fmt,
        charset=charset,
        source_version=extracted.version,
    )
    channels.after_landing(dataset, interval, settings, batch)
    shutil.rmtree(staging, ignore_errors=True)
    return batch
