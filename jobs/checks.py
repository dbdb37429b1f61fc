"""Gate checks every sector's registry entries share: same criterion, same GX expectation, same meaning.

Each builds :class:`jobs.registry.Check` values (no Spark, no GX at import); a sector composes them
with its own checks in its ``datasets.py``.
"""

from __future__ import annotations

from jobs.registry import Check, Criterion, Severity

C, S = Criterion, Severity


def not_empty(description: str) -> Check:
    """đủ: a batch with no valid row at all is a broken delivery, not a quiet day."""
    return Check(
        "batch_not_empty", C.COMPLETE, S.CRITICAL, "ExpectTableRowCountToBeBetween", {"min_value": 1}, description
    )


# A GX suite parameter the gate fills with the row count the source states in its manifest
# (expectations.gate.STATED_ROWS); without a manifest the check is not run.
STATED_ROWS = "stated_rows"


def unique_key(columns: tuple[str, ...] | list[str], description: str) -> Check:
    """sạch: one row per natural key (a single column or a compound key)."""
    if len(columns) == 1:
        return Check(
            "unique_natural_key",
            C.CLEAN,
            S.CRITICAL,
            "ExpectColumnValuesToBeUnique",
            {"column": columns[0]},
            description,
        )
    return Check(
        "unique_natural_key",
        C.CLEAN,
        S.CRITICAL,
        "ExpectCompoundColumnsToBeUnique",
        {"column_list": list(columns)},
        description,
    )


def source_count(description: str) -> Check:
    """đủ: the batch has exactly the rows the source states (manifest, page total, library list)."""
    return Check(
        "landed_matches_source_count",
        C.COMPLETE,
        S.CRITICAL,
        "ExpectTableRowCountToEqual",
        {"value": {"$PARAMETER": STATED_ROWS}},
        description,
        frame="lines",
    )


def line_checks() -> tuple[Check, ...]:
    """Checks on every landed line of a batch (``lines`` frame): counts, rejection shares, duplicates."""
    return (
        source_count("The batch has exactly the rows the source says it sent (its manifest): nothing lost or padded."),
        Check(
            "correct_share",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToNotBeInSet",
            {"column": "rejected_for", "value_set": [C.CORRECT.value], "mostly": 0.5},
            "At most half of a batch may be rejected as incorrect; more means the source is broken.",
            frame="lines",
        ),
        Check(
            "correct_rows",
            C.CORRECT,
            S.WARNING,
            "ExpectColumnValuesToNotBeInSet",
            {"column": "rejected_for", "value_set": [C.CORRECT.value]},
            "Rows rejected as incorrect (any share lowers the score).",
            frame="lines",
        ),
        Check(
            "clean_rows",
            C.CLEAN,
            S.WARNING,
            "ExpectColumnValuesToNotBeInSet",
            {"column": "rejected_for", "value_set": [C.CLEAN.value]},
            "Rows rejected as unclean (e.g. units that cannot be converted).",
            frame="lines",
        ),
        Check(
            "no_duplicates_delivered",
            C.CLEAN,
            S.WARNING,
            "ExpectColumnValuesToBeInSet",
            {"column": "_is_duplicate", "value_set": [False]},
            "The source sent each line once (duplicates are removed, but lower the score).",
            frame="lines",
        ),
    )


NO_LEGACY_ENCODING_FLAG = "_no_legacy_encoding_"
"""Prefix of the gate's per-column mojibake flag (``_no_legacy_encoding_station_name``): True when the
name holds no TCVN3/VNI pattern, NULL for a NULL name (as GX skips NULLs in a regex check). The
pattern is judged once per distinct name, not matched per row by the check (≈ 3 s at 10⁶ readings)."""


def text_checks(columns: tuple[str, ...], severity: Severity = S.WARNING) -> tuple[Check, ...]:
    """sạch: names are NFC and hold no TCVN3/VNI mojibake (the silver repair must have caught it).

    A warning for data; critical for reference lists, which are taken whole or not at all."""
    return (
        Check(
            "text_is_nfc",
            C.CLEAN,
            severity,
            "ExpectColumnValuesToBeInSet",
            {"column": "_text_is_nfc", "value_set": [True]},
            f"{', '.join(columns)} are Unicode NFC.",
        ),
        *(
            Check(
                f"no_legacy_encoding_{column}",
                C.CLEAN,
                severity,
                "ExpectColumnValuesToBeInSet",
                {"column": f"{NO_LEGACY_ENCODING_FLAG}{column}", "value_set": [True]},
                f"{column} holds no TCVN3 or VNI (legacy 8-bit Vietnamese) mojibake.",
            )
            for column in columns
        ),
    )


def province_codes_2025() -> Check:
    return Check(
        "province_codes_2025",
        C.CORRECT,
        S.CRITICAL,
        "ExpectColumnValuesToBeInSet",
        {"column": "province_code", "value_set": "__PROVINCES_2025__"},
        "Province codes exist in the province dimension (2025 codes, 34 units).",
    )


def in_vietnam() -> tuple[Check, ...]:
    """đúng: ``latitude`` / ``longitude`` lie within Vietnam's bounding box (mainland and islands)."""
    return (
        Check(
            "latitude_in_vietnam",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "latitude", "min_value": 8.0, "max_value": 23.5},
            "Latitude lies within Vietnam (8.0–23.5° N).",
        ),
        Check(
            "longitude_in_vietnam",
            C.CORRECT,
            S.CRITICAL,
            "ExpectColumnValuesToBeBetween",
            {"column": "longitude", "min_value": 102.0, "max_value": 117.5},
            "Longitude lies within Vietnam (102.0–117.5° E).",
        ),
    )
