"""Landing: the payload exactly as the source sent it, one object per batch, never overwritten.

Key: ``landing/<sector>/<dataset>/ingest_date=<interval date>/<batch_id>.<ext>``. The date in
the key is the data interval's (not the wall clock's), so a rerun computes the same key, finds
its batch and lands nothing twice.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

from jobs import extract as channels
from jobs import storage
from jobs.errors import DataError
from jobs.extract.file import local_path
from jobs.guards import header_problem
from jobs.interval import DataInterval
from jobs.payload import (
    STATED_ROWS_META,
    LandedBatch,
    landing_key,
)
from jobs.registry import Channel, Dataset
from jobs.settings import Settings, get_settings
from jobs.text import Charset, CharsetEvidence

MULTIPART_THRESHOLD = 64 * 1024 * 1024
PART_SIZE = 32 * 1024 * 1024  # 5 MiB..5 GiB per part; 10,000 parts at most, so up to ~312 GiB per payload


class UnsafeInputError(DataError):
    """A payload no parser should read (see :mod:`jobs.guards`); refused before it is landed."""


class LandingConflictError(DataError):
    """The source changed after its batch was landed; landing is never overwritten."""


def upload_if_absent(key: str, path: Path, metadata: dict[str, str], settings: Settings) -> bool:
    """Land a large payload in a multipart upload that completes only if no object has the key
    (``CompleteMultipartUpload`` with ``If-None-Match: *``), so a second landing of the same batch is
    refused exactly like the one-PUT path below the threshold. Returns False when the key existed.

    Nothing is visible under the key until the upload completes; a failed or refused upload is
    aborted, so no parts are left behind (and none are billed).
    """
    from botocore.exceptions import ClientError

    client = storage.s3_client(settings)
    upload = client.create_multipart_upload(Bucket=settings.bucket, Key=key, Metadata=metadata)["UploadId"]
    try:
        parts = []
        with path.open("rb") as fh:
            number = 1
            while chunk := fh.read(PART_SIZE):
                etag = client.upload_part(
                    Bucket=settings.bucket, Key=key, UploadId=upload, PartNumber=number, Body=chunk
                )["ETag"]
                parts.append({"ETag": etag, "PartNumber": number})
                number += 1
        client.complete_multipart_upload(
            Bucket=settings.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
        )
    except ClientError as err:
        client.abort_multipart_upload(Bucket=settings.bucket, Key=key, UploadId=upload)
        if err.response.get("Error", {}).get("Code") in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
            return False
        raise
    except BaseException:
        client.abort_multipart_upload(Bucket=settings.bucket, Key=key, UploadId=upload)
        raise
    return True


def source_path(dataset: Dataset, interval: DataInterval, settings: Settings) -> Path:
    """Where the local drop keeps the file for this interval."""
    return local_path(dataset, interval, settings)


def _digest_count_charset(
    path: Path, has_header: bool, parts: tuple[int, ...] = ()
) -> tuple[str, int, tuple[tuple[int, Charset], ...]]:
    """sha256, data rows (lines, minus the header for CSV) and charsets of a payload (one pass; two for non-UTF-8).

    ``parts`` are the data line counts of the files the payload joins (an FTP day, one file per
    transmission); each file's charset is decided from its own lines only, so one legacy-encoded
    transmission never decides how the others are read. Returned as runs: (first line, charset),
    1-based payload line numbers, a new run only where the charset changes.
    """
    sha = hashlib.sha256()
    starts = [1]
    for count in parts[:-1]:
        starts.append(starts[-1] + count + (1 if has_header and len(starts) == 1 else 0))
    evidence = [CharsetEvidence() for _ in starts]
    part = 0
    lines = 0
    with path.open("rb") as fh:
        for line in fh:
            lines += 1
            while part + 1 < len(starts) and lines >= starts[part + 1]:
                part += 1
            sha.update(line)
            evidence[part].add(line)
    if any(e.needs_legacy_pass for e in evidence):  # only files that are not UTF-8 are read twice
        part = 0
        with path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                while part + 1 < len(starts) and number >= starts[part + 1]:
                    part += 1
                if evidence[part].needs_legacy_pass:
                    evidence[part].add_legacy(line)
    decided = [(first, e.decision) for first, e in zip(starts, evidence, strict=True)]
    runs = [run for i, run in enumerate(decided) if i == 0 or run[1] != decided[i - 1][1]]
    return sha.hexdigest(), max(lines - (1 if has_header else 0), 0), tuple(runs)


def _refuse_unsafe_header(dataset: Dataset, path: Path, settings: Settings) -> None:
    """Refuse, before it is landed, a CSV whose header no parser should split (10⁶ columns, one huge line)."""
    limit = settings.limits.max_record_chars
    with path.open("rb") as fh:
        header = fh.readline(limit + 1)
    problem = header_problem(header.count(b",") + 1, settings.limits)
    if len(header) > limit:
        problem = f"the header line is longer than {limit} bytes (LAKEHOUSE_MAX_RECORD_CHARS)"
    if problem:
        raise UnsafeInputError(
            f"{dataset.name}: {path.name}: {problem}. Nothing was landed. The registered source has "
            f"{len(dataset.source.columns) if dataset.source else 0} columns: ask the source to resend the file in "
            "the agreed layout."
        )


def _runs_meta(runs: tuple[tuple[int, Charset], ...]) -> str:
    """``utf-8`` for one run, else ``1:utf-8;57:tcvn3;89:utf-8`` (first line: charset)."""
    if len(runs) == 1:
        return runs[0][1]
    text = ";".join(f"{first}:{charset}" for first, charset in runs)
    if len(text) > 1500:  # S3 user metadata is at most 2 KB
        raise DataError(f"{len(runs)} charset changes in one payload do not fit the landing metadata")
    return text


def _runs_from_meta(text: str) -> tuple[tuple[int, str], ...]:
    if ":" not in text:
        return ((1, text),)
    return tuple((int(first), charset) for first, _, charset in (run.partition(":") for run in text.split(";")))


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
        charsets=_runs_from_meta(meta.get("charset", "utf-8")),
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
            sha256 = _digest_count_charset(extracted.path, fmt == "csv", extracted.parts)[0]
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
    if fmt == "csv":
        _refuse_unsafe_header(dataset, extracted.path, settings)
    sha256, data_rows, charsets = _digest_count_charset(extracted.path, fmt == "csv", extracted.parts)
    ingested_at = datetime.now(UTC).isoformat()
    metadata = {
        "sha256": sha256,
        "source-file": extracted.source_name,
        "data-rows": str(data_rows),
        "ingested-at": ingested_at,
        "charset": _runs_meta(charsets),
    }
    if extracted.stated_rows is not None:
        metadata[STATED_ROWS_META] = str(extracted.stated_rows)
    if extracted.version:
        metadata["source-version"] = extracted.version
    metadata |= extracted.books  # e.g. MQTT: late-rows (sent in an earlier interval), clock-ahead-rows
    path = extracted.path
    if path.stat().st_size <= MULTIPART_THRESHOLD:
        landed = storage.put_if_absent(key, path.read_bytes(), metadata, settings)
    else:
        landed = upload_if_absent(key, path, metadata, settings)
    if not landed:
        return land(dataset, interval, settings)  # another writer won the race: use its batch
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
        charsets=charsets,
        source_version=extracted.version,
    )
    channels.after_landing(dataset, interval, settings, batch)
    shutil.rmtree(staging, ignore_errors=True)
    return batch
