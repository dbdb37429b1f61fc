"""The silver scan catches each kind of broken promise (so the sector tests that use it can fail)."""

from __future__ import annotations

import unicodedata

from jobs.registry import REGISTRY
from jobs.text import to_tcvn3_mojibake
from tests.silver_scan import problems_in, raw_personal_values


def test_clean_rows_have_no_problems() -> None:
    rows = {"silver.x": [{"province_code": "24", "name": "Bắc Ninh", "n": 3, "empty": None}]}
    assert problems_in(rows, forbidden=["29A12345"]) == []


def test_each_broken_promise_is_named() -> None:
    rows = {
        "silver.x": [
            {"province_code": "27"},  # Bắc Ninh's legacy code: not a 2025 code
            {"name": unicodedata.normalize("NFD", "Hà Nội")},
            {"name": to_tcvn3_mojibake("Hộp mứt tết")},
            {"note": "seen 29A12345 at noon"},
        ]
    }
    found = problems_in(rows, forbidden=["29A12345"])
    assert [f.split(":")[0] + ":" + f.split(":")[1] for f in found] == [
        "silver.x.province_code: not a 2025 province code",
        "silver.x.name: not NFC",
        "silver.x.name: TCVN3/VNI bytes",
        "silver.x.note: holds a raw personal value",
    ]


def test_raw_personal_values_include_the_normalized_forms() -> None:
    vehicle = REGISTRY["vehicle_position"]
    rows = [{"plate": "29a 123.45", "driver_id": "0123 456"}, {"plate": "", "driver_id": None}]
    assert raw_personal_values(vehicle, rows) >= {"29a 123.45", "29A12345", "0123 456", "0123456"}
