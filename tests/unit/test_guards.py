"""The pure hostile-input guards (jobs/guards.py): each input built here, verdicts checked by hand."""

from __future__ import annotations

import io
import zipfile

import pytest

from jobs.guards import (
    CappedReader,
    UnsafeArchiveError,
    check_zip,
    csv_field_count,
    json_depth,
    record_problem,
    refused_names,
    unsafe_name,
)
from jobs.settings import InputLimits
from jobs.text import CharsetEvidence

LIMITS = InputLimits(
    max_record_chars=1000,
    max_fields=10,
    max_json_depth=5,
    max_zip_member_bytes=10 * 1024 * 1024,
    max_zip_total_bytes=20 * 1024 * 1024,
    max_zip_ratio=100,
)


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth('{"a": [1, {"b": 2}]}') == 3
    assert json_depth('{"a": "[[[[[[[[[[{{{{"}') == 1
    assert json_depth('{"a": "\\"[[[["}') == 1  # an escaped quote does not end the string
    assert json_depth("[" * 1000 + "]" * 1000) == 1000
    assert json_depth("plain") == 0


def test_record_problem_names_each_hostile_record_and_passes_good_ones() -> None:
    assert record_problem("a,b,c", "csv", LIMITS) is None
    assert record_problem('{"a": [1, 2]}', "jsonl", LIMITS) is None
    assert (record_problem("x" * 1001, "csv", LIMITS) or "").startswith("record too large: 1001 characters")
    assert (record_problem("," * 10, "csv", LIMITS) or "").startswith("too many fields: 11")
    assert record_problem('"' + "," * 20 + '",b', "csv", LIMITS) is None  # commas inside quotes are one field
    assert (record_problem('{"a": ' + "[" * 6 + "]" * 6 + "}", "jsonl", LIMITS) or "").startswith(
        "nesting too deep: 7 levels"
    )
    assert record_problem('{"a": "[[[[[[[["}', "jsonl", LIMITS) is None
    assert (record_problem("ok \ufffd", "csv", LIMITS, utf8_read=True) or "").startswith("invalid UTF-8")
    assert record_problem("ok \ufffd", "csv", LIMITS) is None  # decoded strictly elsewhere: a real U+FFFD


def test_csv_field_count_survives_a_field_over_the_csv_module_limit() -> None:
    assert csv_field_count('a,"b,c",d') == 3
    assert csv_field_count('"' + "x" * 200_000 + ",y") == 2  # unclosed quote over 128 KiB: counted by commas


@pytest.mark.parametrize(
    "name",
    [
        "../x.csv",
        "a/../../etc/passwd",
        "/etc/passwd",
        "sub/x.csv",
        "a\x00b.csv",
        "a\nb.csv",
        "a\\b.csv",
        "C:x",
        "..",
        "",
    ],
)
def test_unsafe_remote_names_are_refused(name: str) -> None:
    assert unsafe_name(name) is not None


def test_plain_names_pass_and_archive_subdirectories_are_allowed() -> None:
    assert unsafe_name("readings_2026-11-26T0700.csv") is None
    assert unsafe_name("..hidden.csv") is None  # not a '..' component
    assert unsafe_name("feed/stops.txt", allow_subdirs=True) is None
    assert unsafe_name("feed/../../stops.txt", allow_subdirs=True) is not None
    assert refused_names(["ok.csv", "../x.csv"]) == {"../x.csv": "has a '..' component (path traversal)"}


def _zip(entries: dict[str, bytes]) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return zipfile.ZipFile(io.BytesIO(buf.getvalue()))


def test_check_zip_refuses_bombs_traversal_and_oversize_before_extracting() -> None:
    check_zip(_zip({"stops.txt": b"stop_id\nS1\n"}), "feed", LIMITS)
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        check_zip(_zip({"stops.txt": b"0" * (5 * 1024 * 1024)}), "feed", LIMITS)  # ~5000:1
    with pytest.raises(UnsafeArchiveError, match=r"'\.\.' component"):
        check_zip(_zip({"../../evil.txt": b"x"}), "feed", LIMITS)
    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        check_zip(_zip({"/etc/cron.d/x": b"x"}), "feed", LIMITS)
    with pytest.raises(UnsafeArchiveError, match="LAKEHOUSE_MAX_ZIP_MEMBER_BYTES"):
        check_zip(_zip({"big.txt": b"0" * (11 * 1024 * 1024)}), "feed", InputLimits(10 * 1024, 10, 5, 10 * 1024 * 1024))


def test_capped_reader_stops_a_member_that_inflates_past_the_cap() -> None:
    reader = io.BufferedReader(CappedReader(io.BytesIO(b"x" * 5000), 4096, "feed: stops.txt"))
    with pytest.raises(UnsafeArchiveError, match="more than 4096 bytes"):
        reader.read()
    assert io.BufferedReader(CappedReader(io.BytesIO(b"x" * 100), 4096, "f")).read() == b"x" * 100


def test_a_few_bad_bytes_do_not_turn_a_utf8_file_legacy() -> None:
    evidence = CharsetEvidence()
    for line in ["Hà Nội\n".encode(), "Hồ Chí Minh\n".encode(), b"bad \xff\xfe bytes\n"]:
        evidence.add(line)
    assert evidence.decision == "utf-8"
    legacy = CharsetEvidence()
    for line in [b"H\xb5 N\xe9i\n", b"H\xe5 Ch\xd6 Minh\n"]:  # TCVN3: no line is UTF-8
        legacy.add(line)
    assert legacy.needs_legacy_pass
