"""The ``library`` channel: a well-kept Python library's reference table, exported as a CSV payload.

Why: for administrative units the library *is* the source (``vietnam-provinces`` ships the 34
provinces, ``vietnamadminunits`` the 63 legacy ones and the old -> new mapping), so landing its
table keeps the lakehouse's usual guarantees: the payload is kept as landed, silver conforms it,
the gate checks it, and a library upgrade shows up as a new ``source-version`` in landing metadata
(``vietnam-provinces==2025.10.1``) rather than as silently different rows.

The dataset's ``Source.options`` name the export: ``{"export": "module:function"}``, a function
returning :class:`jobs.payload.LibraryTable`. Nothing is downloaded: the library is
an installed, pinned dependency.
"""

from __future__ import annotations

import csv
import importlib
import os
from importlib import metadata
from pathlib import Path

from jobs.errors import DataError
from jobs.extract import Extracted
from jobs.interval import DataInterval
from jobs.payload import LibraryTable
from jobs.registry import Dataset
from jobs.settings import Settings


def load_export(dataset: Dataset) -> LibraryTable:
    """Run the export the dataset's source names (``options["export"] = "module:function"``)."""
    assert dataset.source is not None
    spec = dataset.source.options.get("export")
    if not isinstance(spec, str) or ":" not in spec:
        raise DataError(
            f"{dataset.name}: a library source needs options={{'export': 'module:function'}} naming a function "
            f"that returns a LibraryTable (see jobs/reference/exports.py); got {spec!r}."
        )
    module_name, _, attr = spec.partition(":")
    table: LibraryTable = getattr(importlib.import_module(module_name), attr)()
    if table.columns != dataset.source.columns:
        raise DataError(
            f"{dataset.name}: the export {spec} gives columns {list(table.columns)}, the registry declares "
            f"{list(dataset.source.columns)}. If the library changed its layout, update Source.columns and the "
            "transform together."
        )
    return table


def library_version(package: str) -> str:
    """``name==version`` of the installed distribution: the source's own version of its tables."""
    try:
        return f"{package}=={metadata.version(package)}"
    except metadata.PackageNotFoundError as err:
        raise DataError(
            f"the reference library {package} is not installed; install the pinned requirements "
            "(`make venv`) and rerun."
        ) from err


def write_csv(table: LibraryTable, path: Path) -> None:
    """Write header + rows as UTF-8 CSV, complete or not at all (temporary file, then rename)."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows(table.rows)
    os.replace(partial, path)


def extract(dataset: Dataset, interval: DataInterval, settings: Settings, staging: Path) -> Extracted:
    """Export the library table into ``staging`` as CSV; its version and stated count go to landing."""
    table = load_export(dataset)
    version = library_version(table.package)
    path = staging / f"{dataset.name}.csv"
    write_csv(table, path)
    return Extracted(
        path=path,
        source_name=f"library:{version}/{table.name}",
        stated_rows=table.stated_rows,
        version=version,
        format="csv",
    )
