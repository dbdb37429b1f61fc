"""The administrative-unit tables as two well-kept libraries ship them (what the ``library`` channel lands).

Why: the province lists are reference data a person should never type; ``vietnam-provinces``
(the 34 provinces since 2025-07-01 and their 3,321 communes and wards) and ``vietnamadminunits``
(the 63 legacy provinces and the old -> new conversion) are maintained against the official
decisions, so the lakehouse lands their tables as they are and silver conforms them. Each export
keeps the library's own values (codes as the library writes them, e.g. ``1`` for Hà Nội); typing,
padding and cross-checks are silver's job. Pure Python, no I/O beyond importing the library.
"""

from __future__ import annotations

from jobs.payload import LibraryTable
from jobs.provinces import legacy_code_to_2025_pairs

VIETNAM_PROVINCES = "vietnam-provinces"
VIETNAMADMINUNITS = "vietnamadminunits"


PROVINCE_COLUMNS = ("code", "name", "division_type", "codename", "phone_code")
COMMUNE_COLUMNS = ("code", "name", "division_type", "codename", "province_code")
PROVINCE_LEGACY_COLUMNS = ("provinceCode", "province", "provinceShort")
PROVINCE_MAPPING_COLUMNS = ("legacy_code", "code_2025")


def provinces_2025() -> LibraryTable:
    """The 34 provincial units since 2025-07-01 (``vietnam-provinces``: code, name, type, codename)."""
    from vietnam_provinces import Province, ProvinceCode

    rows = tuple(
        (str(int(p.code)), p.name, p.division_type.value, p.codename, str(p.phone_code))
        for p in sorted(Province.iter_all(), key=lambda p: int(p.code))
    )
    return LibraryTable(VIETNAM_PROVINCES, "Province.iter_all", PROVINCE_COLUMNS, rows, len(ProvinceCode))


def communes_2025() -> LibraryTable:
    """The 3,321 communes, wards and special zones since 2025-07-01 (``vietnam-provinces``)."""
    from vietnam_provinces import Ward, WardCode

    rows = tuple(
        (str(int(w.code)), w.name, w.division_type.value, w.codename, str(int(w.province_code)))
        for w in sorted(Ward.iter_all(), key=lambda w: int(w.code))
    )
    return LibraryTable(VIETNAM_PROVINCES, "Ward.iter_all", COMMUNE_COLUMNS, rows, len(WardCode))


def provinces_legacy() -> LibraryTable:
    """The 63 provinces valid until 2025-06-30 (``vietnamadminunits`` table ``admin_units_legacy``)."""
    from vietnamadminunits.database import get_data

    found = get_data(list(PROVINCE_LEGACY_COLUMNS), table="admin_units_legacy")
    rows = tuple(sorted(tuple(str(r[c]) for c in PROVINCE_LEGACY_COLUMNS) for r in found))
    return LibraryTable(VIETNAMADMINUNITS, "admin_units_legacy", PROVINCE_LEGACY_COLUMNS, rows, len(rows))


def province_mapping() -> LibraryTable:
    """Legacy province code -> 2025 province code (``vietnamadminunits``' converter, keys resolved to
    GSO codes and checked for full coverage by :mod:`jobs.provinces`)."""

    rows = tuple(legacy_code_to_2025_pairs())
    return LibraryTable(VIETNAMADMINUNITS, "converter_2025.DICT_PROVINCE", PROVINCE_MAPPING_COLUMNS, rows, len(rows))
