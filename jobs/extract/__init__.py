"""Extract adapters: fetch an interval's payload from a source over its own channel.

Each channel is one module ``jobs/extract/<channel>.py`` (file, http, ftp, mqtt, gtfs, library)
defining ``extract(dataset, interval, settings, staging) -> Extracted`` and, optionally,
``after_landing(dataset, interval, settings, batch)`` (move the FTP files aside …), which landing
calls after the upload and again on a rerun that finds the batch already landed (so it must be
idempotent). Adapters only read the source and write into ``staging``: a payload is handed to
landing complete or not at all, so a failed extract never leaves a partial batch. ``staging`` is
kept between retries, so an adapter can resume (pages or byte ranges already fetched).

Bad data a retry cannot fix raises :class:`jobs.errors.DataError`; a transient failure (connection
refused, dropped transfer, timeout) raises anything else, and the task retries.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from jobs.interval import DataInterval
from jobs.registry import Channel, Dataset
from jobs.settings import Settings

if TYPE_CHECKING:
    from jobs.payload import LandedBatch


@dataclass(frozen=True)
class Extracted:
    """A complete payload staged locally, ready to land."""

    path: Path
    source_name: str  # lineage: where it came from (URL, FTP directory, topic, file name)
    stated_rows: int | None = None  # the count the source itself states (page total, manifest); checked for đủ
    version: str | None = None  # the source's own version of the payload (ETag, GTFS feed_version)
    format: str | None = None  # what the payload is (csv | jsonl); None = the dataset source's format
    parts: tuple[int, ...] = ()  # data lines of each joined file, in order (FTP): each gets its own charset
    books: dict[str, str] = field(default_factory=dict)  # extra counts for the landing metadata (MQTT late-rows)


READ_LOCALLY_THEMSELVES = frozenset({Channel.GTFS, Channel.LIBRARY})
"""Channels that stay in ``local`` mode: a GTFS dataset's local drop is the feed zip (its adapter
unpacks the member), and a library is local already."""


def channel_of(dataset: Dataset, settings: Settings) -> Channel:
    """The channel this deployment extracts the dataset through (``local`` replays the file drop)."""
    if dataset.source is None:
        raise ValueError(f"{dataset.name} has no source: it is built from other tables, not extracted")
    if settings.extract_from == "local" and dataset.source.channel not in READ_LOCALLY_THEMSELVES:
        return Channel.FILE
    return dataset.source.channel


def adapter(channel: Channel) -> ModuleType:
    return importlib.import_module(f"jobs.extract.{channel.value}")


def extract(dataset: Dataset, interval: DataInterval, settings: Settings, staging: Path) -> Extracted:
    """Fetch the interval's payload through the dataset's channel into ``staging``."""
    staging.mkdir(parents=True, exist_ok=True)
    return adapter(channel_of(dataset, settings)).extract(dataset, interval, settings, staging)  # type: ignore[no-any-return]


def after_landing(dataset: Dataset, interval: DataInterval, settings: Settings, batch: LandedBatch) -> None:
    """Let the channel settle the source once its batch is safely in landing (idempotent)."""
    hook = getattr(adapter(channel_of(dataset, settings)), "after_landing", None)
    if hook is not None:
        hook(dataset, interval, settings, batch)


def formatted(template: str, interval: DataInterval) -> str:
    """A source path/option with the interval's local start date filled in (``{date:%Y%m%d}``)."""
    return template.format(date=interval.local_start_date)
