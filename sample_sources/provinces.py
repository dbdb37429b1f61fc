"""Province codes and names for the generators, read from ``vietnamadminunits`` directly.

Why: the generators must not use the pipeline's province module (``jobs.provinces``) to make the
data that module later conforms. The same library is the public source both read;
``tests/unit/sample_sources/test_independence.py`` checks that the tables agree.
"""

from __future__ import annotations

import datetime
from functools import cache

REFORM_DATE = datetime.date(2025, 7, 1)
"""Resolution 202/2025/QH15: 34 provinces from 2025-07-01 (63 before)."""

# Display names where the sources write a longer form than the library's short name.
_DISPLAY_2025 = {"79": "TP Hồ Chí Minh"}
_DISPLAY_LEGACY = {"46": "Thừa Thiên Huế", "79": "TP Hồ Chí Minh"}


@cache
def tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(2025 code → name, pre-2025 code → name, pre-2025 code → 2025 code)."""
    from vietnamadminunits.converter.converter_2025 import DICT_PROVINCE
    from vietnamadminunits.database import get_data

    fields = ["provinceCode", "provinceKey", "provinceShort"]
    legacy_rows = get_data(fields, table="admin_units_legacy")
    rows_2025 = get_data(fields, table="admin_units")
    legacy = {r["provinceCode"]: _DISPLAY_LEGACY.get(r["provinceCode"], r["provinceShort"]) for r in legacy_rows}
    current = {r["provinceCode"]: _DISPLAY_2025.get(r["provinceCode"], r["provinceShort"]) for r in rows_2025}
    old_code = {r["provinceKey"]: r["provinceCode"] for r in legacy_rows}
    new_code = {r["provinceKey"]: r["provinceCode"] for r in rows_2025}
    mapping = {old_code[old]: new_code[new] for new, olds in DICT_PROVINCE.items() for old in olds}
    return dict(sorted(current.items())), dict(sorted(legacy.items())), dict(sorted(mapping.items()))


def provinces_2025() -> dict[str, str]:
    return tables()[0]


def provinces_legacy() -> dict[str, str]:
    return tables()[1]


def legacy_to_2025() -> dict[str, str]:
    return tables()[2]
