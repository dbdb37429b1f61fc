"""Landing: the payload exactly as the source sent it, one object per batch, never overwritten.

Key: ``landing/<sector>/<dataset>/ingest_date=<interval date>/<batch_id>.<ext>``. The date in
the key is the data interval's (not the wall clock's), so a rerun computes the same key, finds
its batch and lands nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from jobs import storage
from jobs.errors import DataError
from jobs.interval import DataInterval
from jobs.registry import Dataset
from jobs.settings import Settings, get_settings

MULTIPART_THRESHOLD = 64 * 1024 * 1024
MANIFEST_SUFFIX = ".manifest.json"
"""A source may state what it sent in ``<file>.manifest.json`` (``{"rows": N}``); the gate checks it."""
STATED_ROWS_META = "stated-rows"


class SourceMissingError(FileNotFoundError):
    """The source has nothing for this interval yet."""


class LandingConflictError(DataError):
    """The source changed after its batch was landed; landing is never overwritten."""


@dataclass(frozen=True)
class LandedBatch:
    dataset: str
    batch_id: str
    key: str
    source_file: str
    sha256: str
    data_rows: int
    ingested_at: str
    newly_landed: bool
    stated_rows: int | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def landing_key(dataset: Dataset, interval: DataInterval) -> str:
    assert dataset.source is not None
    return (
        f"landing/{dataset.sector}/{dataset.name}/ingest_date={interval.local_start_date:%Y-%m-%d}/"
        f"{interval.batch_id(dataset.name)}.{dataset.source.extension}"
    )


def source_path(dataset: Dataset, interval: DataInterval, settings: Settings) -> Path:
    """Where the (local drop) source keeps the file for this interval."""
    if dataset.source is None:
        raise ValueError(f"{dataset.name} has no source: it is built from other tables, not landed")
    return settings.source_root / dataset.source.path.format(date=interval.local_start_date)


def stated_rows(path: Path) -> int | None:
    """The data row count the source states next to its file, or None when it states none."""
    manifest = path.with_name(path.name + MANIFEST_SUFFIX)
    if not manifest.is_file():
        return None
    try:
        rows = json.loads(manifest.read_text(encoding="utf-8"))["rows"]
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(
            f'{manifest}: not a valid manifest ({err}); expected JSON like {{"rows": 1234}}. '
            "Fix or remove the manifest and rerun the task."
        ) from err
    if not isinstance(rows, int) or rows < 0:
        raise DataError(f'{manifest}: "rows" must be a non-negative integer, got {rows!r}.')
    return rows


def _digest_and_count(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    newlines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            sha.update(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    lines = newlines + (0 if last == b"\n" else 1)
    return sha.hexdigest(), max(lines - 1, 0)  # minus the header line


def land(dataset: Dataset, interval: DataInterval, settings: Settings | None = None) -> LandedBatch:
    """Copy the interval's source payload into landing once; on rerun return the existing batch."""
    settings = settings or get_settings()
    path = source_path(dataset, interval, settings)
    if not path.is_file():
        raise SourceMissingError(
            f"{dataset.name}: no source file {path} for data interval {interval.start:%Y-%m-%d %H:%M} UTC. "
            "Generate the sample sources (`make sample`) or set LAKEHOUSE_SOURCE_ROOT to where the source drops files; "
            "the task retries, so a late file is picked up on the next try."
        )
    sha256, data_rows = _digest_and_count(path)
    key = landing_key(dataset, interval)
    batch_id = interval.batch_id(dataset.name)
    existing = storage.head(key, settings)
    if existing is not None:
        meta = existing.get("Metadata", {})
        if meta.get("sha256") != sha256:
            raise LandingConflictError(
                f"{dataset.name}: batch {batch_id} was landed from a different payload (sha256 {meta.get('sha256')}, "
                f"now {sha256}). Landing is never overwritten. If the source re-sent corrected data, deliver it as "
                "a new interval or a new source file; to rebuild on purpose, delete the landed object first."
            )
        return LandedBatch(
            dataset.name,
            batch_id,
            key,
            meta.get("source-file", str(path)),
            sha256,
            int(meta.get("data-rows", data_rows)),
            meta["ingested-at"],
            newly_landed=False,
            stated_rows=int(meta[STATED_ROWS_META]) if meta.get(STATED_ROWS_META) else None,
        )

    ingested_at = datetime.now(UTC).isoformat()
    metadata = {"sha256": sha256, "source-file": path.name, "data-rows": str(data_rows), "ingested-at": ingested_at}
    stated = stated_rows(path)
    if stated is not None:
        metadata[STATED_ROWS_META] = str(stated)
    if path.stat().st_size <= MULTIPART_THRESHOLD:
        if not storage.put_if_absent(key, path.read_bytes(), metadata, settings):
            return land(dataset, interval, settings)  # another writer won the race: use its batch
    else:
        storage.s3_client(settings).upload_file(str(path), settings.bucket, key, ExtraArgs={"Metadata": metadata})
    return LandedBatch(
        dataset.name, batch_id, key, path.name, sha256, data_rows, ingested_at, newly_landed=True, stated_rows=stated
    )
