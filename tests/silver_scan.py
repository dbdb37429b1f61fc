"""The scan every sector's integration test runs over the silver and gold tables it built.

What "sạch" and the personal-data rules promise for every stored value: each province code is a
2025 code, every text is NFC, no TCVN3/VNI mojibake is left, and no raw personal value (plate,
driver id, phone) appears anywhere. ``problems_in`` is pure (unit-tested on crafted rows);
``sector_tables`` reads a sector's tables from the current test bucket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.registry import Dataset


def problems_in(tables: Mapping[str, Iterable[Mapping[str, Any]]], forbidden: Iterable[str] = ()) -> list[str]:
    """Every value breaking a promise, as ``table.column: why: value`` (empty when clean)."""
    from jobs.provinces import PROVINCES_2025
    from jobs.text import is_nfc, looks_legacy_encoded

    codes_2025 = set(PROVINCES_2025)
    secrets = [s for s in forbidden if s]
    found: list[str] = []
    for table, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                if not isinstance(value, str):
                    continue
                where = f"{table}.{column}"
                if column.endswith("province_code") and value not in codes_2025:
                    found.append(f"{where}: not a 2025 province code: {value!r}")
                if not is_nfc(value):
                    found.append(f"{where}: not NFC: {value!r}")
                if looks_legacy_encoded(value):
                    found.append(f"{where}: TCVN3/VNI bytes: {value!r}")
                if any(s in value for s in secrets):
                    found.append(f"{where}: holds a raw personal value")
    return found


def sector_tables(sector: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every silver and gold table of ``sector`` in the current lake (fixtures are small)."""
    from jobs.registry import REGISTRY, Layer
    from jobs.settings import get_settings
    from jobs.spark import get_spark

    spark, settings = get_spark(), get_settings()
    out: dict[str, list[dict[str, Any]]] = {}
    for ds in REGISTRY.by_sector(sector):
        if ds.layer in (Layer.SILVER, Layer.GOLD):
            frame = spark.read.format("delta").load(settings.s3a_uri(ds.table_path))
            out[ds.qualified_name] = [r.asDict() for r in frame.collect()]
    return out


def raw_personal_values(dataset: Dataset, rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """The raw values of a dataset's personal source columns, as sent and as normalized, to search for."""
    from jobs.privacy import NORMALIZERS

    assert dataset.personal is not None, f"{dataset.name} declares no personal data"
    values: set[str] = set()
    for row in rows:
        for column, kind in dataset.personal.columns.items():
            raw = row.get(column)
            if isinstance(raw, str) and raw.strip():
                values |= {raw, NORMALIZERS[kind](raw) or ""}
    values.discard("")
    return values
