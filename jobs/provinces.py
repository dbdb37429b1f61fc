"""Vietnam's provinces before and after the 1 July 2025 reform (63 -> 34), and conforming raw codes
and names to the 2025 codes.

Why: every sector's data carries a province code or name, and series from before the reform use
the 63 legacy codes, some of which now belong to a different province (24 was Bắc Giang and is
now Bắc Ninh; docs/domain.md, "Administrative units"). Silver tables store 2025 codes only; a value
that cannot be conformed comes back as None so the caller can quarantine the row.

The tables come from the ``vietnamadminunits`` package (pinned in requirements.in), which ships
the 63 legacy and 34 current provinces with GSO codes and the old -> new province mapping. They
are loaded on first use, not at import (the package takes about a second to import), and the
tests cross-check them against docs/domain.md, "Administrative units". ``PROVINCES_2025``,
``PROVINCES_LEGACY`` and ``LEGACY_TO_2025`` are module attributes served by ``__getattr__``: each
access returns a fresh copy, so callers cannot corrupt the shared tables.

Names are short names as docs/domain.md, "Administrative units" writes them ("Hà Nội", "Huế",
"TP Hồ Chí Minh"); the legacy 46 is "Thừa Thiên Huế", its name until the end of 2024.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from functools import cache

from jobs.text import fold_key

REFORM_DATE: datetime.date = datetime.date(2025, 7, 1)
"""From this day the 34 provincial units operate (docs/domain.md, "Administrative units"): it splits
records into two eras."""

# Served lazily by __getattr__ (declared here for type checkers and readers).
PROVINCES_2025: dict[str, str]  # 2025 code -> name, 34 entries
PROVINCES_LEGACY: dict[str, str]  # pre-reform code -> name, 63 entries
LEGACY_TO_2025: dict[str, str]  # pre-reform code -> 2025 code, 63 entries

_LAZY_TABLES = ("PROVINCES_2025", "PROVINCES_LEGACY", "LEGACY_TO_2025")

# Where our display names differ from the library's short names (docs/domain.md, "Administrative units").
_NAME_OVERRIDES_2025: dict[str, str] = {"79": "TP Hồ Chí Minh"}
_NAME_OVERRIDES_LEGACY: dict[str, str] = {"46": "Thừa Thiên Huế", "79": "TP Hồ Chí Minh"}

# Spellings seen in real data beyond the library's names and keywords, by legacy code. Tone-mark
# placement, case, "Thành phố"/"TP."/"Tỉnh" prefixes, "City"/"Province" suffixes, hyphens and
# missing diacritics are handled by the key itself and need no entry.
_NAME_VARIANTS: dict[str, tuple[str, ...]] = {
    "01": ("Hà Tây",),  # merged into Hà Nội in 2008; still found in old series (docs/domain.md)
    "06": ("Bắc Cạn",),
    "66": ("Đắc Lắc",),
    "79": ("Sài Gòn", "HCMC"),
}
_PREFIX_RE = re.compile(r"^(?:thanhpho|thudo|tinh|tp)")
_SUFFIX_RE = re.compile(r"(?:city|province)$")


@dataclass(frozen=True)
class _Tables:
    """Everything loaded from the library, built and checked once."""

    provinces_2025: dict[str, str]
    provinces_legacy: dict[str, str]
    legacy_to_2025: dict[str, str]
    by_name: dict[str, str]  # name key -> 2025 code


def _name_keys(name: str) -> list[str]:
    """Lookup keys for a name: folded, letters and digits only, with and without type prefix/suffix."""
    compact = re.sub(r"[^0-9a-z]", "", fold_key(name) or "")
    stripped = _SUFFIX_RE.sub("", _PREFIX_RE.sub("", compact))
    return [k for k in dict.fromkeys((compact, stripped)) if k]


@cache
def _tables() -> _Tables:
    """Load and check the province tables from vietnamadminunits, once per process."""
    from vietnamadminunits.converter.converter_2025 import DICT_PROVINCE as new_key_to_old_keys
    from vietnamadminunits.database import get_data

    fields = ["provinceCode", "provinceKey", "province", "provinceShort", "provinceKeywords"]
    legacy_rows = get_data(fields, table="admin_units_legacy")
    rows_2025 = get_data(fields, table="admin_units")
    if len(legacy_rows) != 63 or len(rows_2025) != 34:
        raise ValueError(
            f"vietnamadminunits: expected 63 and 34 provinces, got {len(legacy_rows)} and {len(rows_2025)}"
        )

    legacy = {r["provinceCode"]: _NAME_OVERRIDES_LEGACY.get(r["provinceCode"], r["provinceShort"]) for r in legacy_rows}
    current = {r["provinceCode"]: _NAME_OVERRIDES_2025.get(r["provinceCode"], r["provinceShort"]) for r in rows_2025}
    legacy, current = dict(sorted(legacy.items())), dict(sorted(current.items()))
    legacy_code_by_key = {r["provinceKey"]: r["provinceCode"] for r in legacy_rows}
    code_2025_by_key = {r["provinceKey"]: r["provinceCode"] for r in rows_2025}
    mapping = dict(
        sorted(
            (legacy_code_by_key[old_key], code_2025_by_key[new_key])
            for new_key, old_keys in new_key_to_old_keys.items()
            for old_key in old_keys
        )
    )
    if list(mapping) != list(legacy) or set(mapping.values()) != set(current):
        raise ValueError("vietnamadminunits: the old -> new mapping does not cover every province")

    by_name: dict[str, str] = {}

    def add(name: str, code_2025: str) -> None:
        for key in _name_keys(name):
            if by_name.setdefault(key, code_2025) != code_2025:
                raise ValueError(f"province name key {key!r} is ambiguous")

    for rows, to_2025 in ((legacy_rows, mapping), (rows_2025, {c: c for c in current})):
        for r in rows:
            code = to_2025[r["provinceCode"]]
            for name in (r["province"], r["provinceShort"], *json.loads(r["provinceKeywords"] or "[]")):
                add(name, code)
    for old, name in legacy.items():
        add(name, mapping[old])
    for code, name in current.items():
        add(name, code)
    for old, variants in _NAME_VARIANTS.items():
        for name in variants:
            add(name, mapping[old])
    return _Tables(current, legacy, mapping, by_name)


def __getattr__(name: str) -> dict[str, str]:
    """Serve the lazily loaded tables as module attributes (a copy on every access)."""
    if name in _LAZY_TABLES:
        tables = _tables()
        source = {
            "PROVINCES_2025": tables.provinces_2025,
            "PROVINCES_LEGACY": tables.provinces_legacy,
            "LEGACY_TO_2025": tables.legacy_to_2025,
        }[name]
        return dict(source)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the lazy tables alongside the ordinary module attributes."""
    return sorted([*globals(), *_LAZY_TABLES])


CODE_PATTERN: str = r"^[ \t]*0*([1-9][0-9]?)(?:\.0+)?[ \t]*$"
"""A raw province code: 1–99 with any leading zeros, blanks around it, and a spreadsheet's ".0"
("1", " 01 ", "001", "1.0"). Group 1 is the number. Python (``re``) and Spark (Java regex) read
it alike, so :func:`normalise_code` and ``jobs.conform.province_code_2025`` are one rule."""
_CODE_RE = re.compile(CODE_PATTERN)


def normalise_code(code: str | int | None) -> str | None:
    """Two-digit code from "1", " 01 ", "001", "1.0" or 1; None for anything that is not a code in 1..99."""
    if isinstance(code, bool) or code is None:
        return None
    match = _CODE_RE.match(str(code)) if isinstance(code, (str, int)) else None
    return f"{int(match.group(1)):02d}" if match else None


def _as_date(on: datetime.date) -> datetime.date:
    """A datetime counts by its own calendar day (pass local Vietnam time, UTC+7)."""
    return on.date() if isinstance(on, datetime.datetime) else on


def conform_province_code(code: str | int | None, on: datetime.date | None) -> str | None:
    """The 2025 province code for a raw code on a record dated ``on``, or None (quarantine it).

    Before REFORM_DATE the code is read as a legacy code and mapped; from REFORM_DATE on a 2025
    code stays and a code that exists only in the legacy list (stale source) is mapped. Without a
    date the code is accepted only where both readings agree. Today they always agree on the
    result (each 2025 province kept the code of one of its predecessors), but the reading
    differs: "24" before the reform is Bắc Giang, after it Bắc Ninh.
    """
    normalised = normalise_code(code)
    if normalised is None:
        return None
    tables = _tables()
    as_legacy = tables.legacy_to_2025.get(normalised)
    as_2025 = normalised if normalised in tables.provinces_2025 else as_legacy
    if on is None:
        return as_legacy if as_legacy == as_2025 else None
    return as_legacy if _as_date(on) < REFORM_DATE else as_2025


def conform_province_name(name: str | None, on: datetime.date | None) -> str | None:
    """The 2025 province code for a legacy or current province name, or None (quarantine it).

    Accepts the variants docs/domain.md, "Administrative units" lists (Hoà/Hòa, "Thành phố"/"TP."/
    "TP", ASCII copies, "TP HCM", "Ho Chi Minh City", Bắc Cạn). ``on`` is taken for symmetry with
    conform_province_code: no province name was ever reused for another province, so the answer
    does not depend on it.
    """
    if name is None:
        return None
    by_name = _tables().by_name
    for key in _name_keys(name):
        if key in by_name:
            return by_name[key]
    return None


def legacy_code_to_2025_pairs() -> list[tuple[str, str]]:
    """(legacy code, 2025 code) pairs, sorted, for building a Spark map literal.

    Every 2025 code is also a legacy code that maps to itself, so one map conforms codes of
    either era (see conform_province_code for why the date still matters for meaning).
    """
    return sorted(_tables().legacy_to_2025.items())


def name_keys(name: str) -> list[str]:
    """Every lookup key of a name (with and without its "Tỉnh"/"Thành phố" prefix or "City" suffix)."""
    return _name_keys(name)


def legacy_code_of_name(name: str) -> str | None:
    """The legacy (63) code a province name meant before the reform, or None.

    Only legacy names count: "Bắc Giang" is 24, "Bắc Ninh" 27 (not the 2025 Bắc Ninh's 24)."""
    by_key = _legacy_name_keys()
    return next((by_key[k] for k in _name_keys(name) if k in by_key), None)


def is_legacy_only_name(name: str) -> bool:
    """True for a province that no longer exists under that name (Nam Định, Bắc Giang …)."""
    return bool(set(_name_keys(name)) & _legacy_only_name_keys())


@cache
def _legacy_name_keys() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, name in _tables().provinces_legacy.items():
        for key in _name_keys(name):
            out.setdefault(key, code)
    return out


@cache
def _legacy_only_name_keys() -> frozenset[str]:
    tables = _tables()
    current = {k for name in tables.provinces_2025.values() for k in _name_keys(name)}
    return frozenset(k for name in tables.provinces_legacy.values() for k in _name_keys(name)) - current


def name_key(name: str) -> str:
    """The lookup key of a name without its type prefix/suffix: "Thành phố Hồ Chí Minh" -> "hochiminh".

    Spark computes the same key with ``jobs.reference.transforms.name_key`` (same folding and
    :data:`NAME_KEY_PREFIX` / :data:`NAME_KEY_SUFFIX`), so one rule serves both sides."""
    keys = _name_keys(name)
    return keys[-1] if keys else ""


NAME_KEY_PREFIX: str = _PREFIX_RE.pattern
NAME_KEY_SUFFIX: str = _SUFFIX_RE.pattern


def name_keys_to_2025_code() -> dict[str, str]:
    """Every known spelling key of a legacy or 2025 province name -> its 2025 code (a copy), for
    Spark map literals (the same table :func:`conform_province_name` reads)."""
    return dict(_tables().by_name)
