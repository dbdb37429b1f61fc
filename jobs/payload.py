"""What landing and the extract adapters share: the record of a landed batch, where it lands, the
count a source states, and the error for a source that has nothing yet.

Below both (adapters never import ``jobs.landing``, which calls them): a module of plain data and
pure functions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from jobs.errors import DataError
from jobs.interval import DataInterval
from jobs.registry import Dataset

MANIFEST_SUFFIX = ".manifest.json"
"""A source may state what it sent in ``<file>.manifest.json`` (``{"rows": N}``); the gate checks it."""
STATED_ROWS_META = "stated-rows"


class SourceMissingError(FileNotFoundError):
    """The source has nothing for this interval yet."""


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
    format: str = "csv"  # csv (header line) | jsonl
    # How bronze reads the landed bytes (which stay unchanged): (first payload line, charset) runs,
    # one per stretch of files decided alike (jobs.text.CharsetEvidence); see charset_of_line.
    charsets: tuple[tuple[int, str], ...] = ((1, "utf-8"),)
    source_version: str | None = None  # the source's own version (ETag, GTFS feed_version)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def charset_of_line(self, line_no: int) -> str:
        """The charset of 1-based payload line ``line_no``: that of the last run starting at or before it."""
        found = self.charsets[0][1]
        for first, charset in self.charsets:
            if first > line_no:
                break
            found = charset
        return found


def landing_key(dataset: Dataset, interval: DataInterval, fmt: str | None = None) -> str:
    assert dataset.source is not None
    return (
        f"landing/{dataset.sector}/{dataset.name}/ingest_date={interval.local_start_date:%Y-%m-%d}/"
        f"{interval.batch_id(dataset.name)}.{fmt or dataset.source.extension}"
    )


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


@dataclass(frozen=True)
class LibraryTable:
    """One table exported from a library: its columns, rows (strings) and the count the library states.

    ``stated_rows`` is the library's own count where it has an independent one (the members of its
    code enumeration), so landing checks the export against it (đủ); else the exported row count.
    """

    package: str
    name: str  # what was read, for lineage (e.g. ``Province.iter_all``)
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    stated_rows: int
