"""The ``file`` channel: a file dropped under the source root (and every dataset's replay path).

Nothing is copied: the dropped file is complete when it is there (sources drop atomically), so
landing reads it in place. Its format follows its suffix (``.jsonl`` or CSV), so a dataset whose
channel lands JSON lines can still be replayed from a CSV export.
"""

from __future__ import annotations

from pathlib import Path

from jobs.extract import Extracted, formatted
from jobs.interval import DataInterval
from jobs.payload import SourceMissingError, stated_rows
from jobs.registry import Dataset
from jobs.settings import Settings


def local_path(dataset: Dataset, interval: DataInterval, settings: Settings) -> Path:
    """Where the local drop keeps the file for this interval."""
    if dataset.source is None:
        raise ValueError(f"{dataset.name} has no source: it is built from other tables, not landed")
    return settings.source_root / formatted(dataset.source.path, interval)


def extract(dataset: Dataset, interval: DataInterval, settings: Settings, staging: Path) -> Extracted:

    path = local_path(dataset, interval, settings)
    if not path.is_file():
        raise SourceMissingError(
            f"{dataset.name}: no source file {path} for data interval {interval.start:%Y-%m-%d %H:%M} UTC. "
            "Generate the sample sources (`make sample`) or set LAKEHOUSE_SOURCE_ROOT to where the source drops files; "
            "the task retries, so a late file is picked up on the next try."
        )
    fmt = "jsonl" if path.suffix in (".jsonl", ".ndjson") else "csv"
    return Extracted(path=path, source_name=path.name, stated_rows=stated_rows(path), format=fmt)
