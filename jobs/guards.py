"""Guards against hostile input: pure checks that run before a parser, a regex or an unzip sees it.

Each guard either names what is wrong with one record (bronze keeps the record, silver quarantines
it with the matching reason: :data:`GUARD_REASONS`) or refuses a whole file or name with a
:class:`~jobs.errors.DataError` that says what to do, when nothing in it can be read safely (a zip
bomb, a zip entry or an FTP file name that tries to leave its directory). The limits are
:class:`jobs.settings.InputLimits`. No I/O, no Spark: these run inside Spark's Python workers too.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from typing import IO, Any

from jobs.errors import DataError
from jobs.settings import InputLimits

RECORD_TOO_LARGE = "record too large"
TOO_MANY_FIELDS = "too many fields"
NESTING_TOO_DEEP = "nesting too deep"
INVALID_ENCODING = "invalid UTF-8"
NON_FINITE_NUMBER = "non-finite number"

GUARD_REASONS: tuple[tuple[str, str, str], ...] = (
    ("RECORD_TOO_LARGE", RECORD_TOO_LARGE, "The record (e.g. one 10 MB field) is longer than the record limit."),
    ("TOO_MANY_FIELDS", TOO_MANY_FIELDS, "The record has more fields than the field limit."),
    ("NESTING_TOO_DEEP", NESTING_TOO_DEEP, "The JSON record is nested deeper than the depth limit."),
    ("INVALID_ENCODING", INVALID_ENCODING, "The record has bytes that are not UTF-8 in a UTF-8 file."),
    ("NON_FINITE_NUMBER", NON_FINITE_NUMBER, "A JSON record holds a bare NaN or Infinity (not JSON)."),
)
"""(reason code, the ``_parse_error`` prefix the guard writes, description), in the order they are tried."""
RECORD_TOO_LARGE_MESSAGE = f"{RECORD_TOO_LARGE}: %d characters, the limit is %d (LAKEHOUSE_MAX_RECORD_CHARS)"
INVALID_ENCODING_MESSAGE = f"{INVALID_ENCODING}: bytes that are not UTF-8 (at character %d)"
"""printf-style, so Python (``%``) and Spark SQL (``format_string``, bronze's reader) write the same text."""

_MIB = 1024 * 1024


class UnsafeArchiveError(DataError):
    """A zip that cannot be opened safely (bomb, lying sizes, entries that leave the archive)."""


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` in ``text``, brackets inside JSON strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def csv_field_count(line: str) -> int:
    """Fields of one CSV record (quotes respected; commas + 1 if a field is over the csv module's limit)."""
    try:
        return len(next(csv.reader([line]), []))
    except csv.Error:
        return line.count(",") + 1


def record_problem(line: str, fmt: str, limits: InputLimits, utf8_read: bool = False) -> str | None:
    """What makes one landed record unsafe to parse, or None; checked cheapest first.

    ``utf8_read``: the line came through a UTF-8 reader that replaces bad bytes by U+FFFD, so a
    U+FFFD marks bytes that were not UTF-8 (the landed object keeps the original bytes).
    """
    if len(line) > limits.max_record_chars:
        return RECORD_TOO_LARGE_MESSAGE % (len(line), limits.max_record_chars)
    if utf8_read and "\ufffd" in line:
        return INVALID_ENCODING_MESSAGE % (line.index(chr(0xFFFD)) + 1)
    if fmt == "csv":
        if line.count(",") >= limits.max_fields and (n := csv_field_count(line)) > limits.max_fields:
            return f"{TOO_MANY_FIELDS}: {n}, the limit is {limits.max_fields} (LAKEHOUSE_MAX_FIELDS)"
    elif line.count("[") + line.count("{") > limits.max_json_depth:
        depth = json_depth(line)
        if depth > limits.max_json_depth:
            return (
                f"{NESTING_TOO_DEEP}: {depth} levels, the limit is {limits.max_json_depth} (LAKEHOUSE_MAX_JSON_DEPTH)"
            )
    if fmt != "csv" and ("NaN" in line or "Infinity" in line):
        bare = _BARE_NON_FINITE.search(_JSON_STRING.sub('""', line))
        if bare:
            return f"{NON_FINITE_NUMBER}: {bare.group(0)} (JSON has no NaN or Infinity)"
    return None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BARE_NON_FINITE = re.compile(r"[+-]?\b(?:NaN|Infinity)\b")


def header_problem(columns: int, limits: InputLimits) -> str | None:
    """Why a CSV header cannot be the header of a registered source (too many columns), or None."""
    if columns > limits.max_fields:
        return f"the header has {columns} columns, more than the limit of {limits.max_fields} (LAKEHOUSE_MAX_FIELDS)"
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_name(name: str, allow_subdirs: bool = False) -> str | None:
    """Why a remote file or archive entry name may not be used as a local path, or None.

    Refused: empty, NUL or control characters, a backslash, an absolute name (``/x``, ``C:x``),
    any ``..`` component, and (unless ``allow_subdirs``) any ``/``.
    """
    if not name or name in (".", ".."):
        return "empty or a directory reference"
    if _CONTROL.search(name):
        return "contains NUL or control characters"
    if "\\" in name:
        return "contains a backslash"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        return "has a '..' component (path traversal)"
    if not allow_subdirs and len(parts) > 1:
        return "contains '/'"
    return None


def check_zip(zf: zipfile.ZipFile, source: str, limits: InputLimits) -> None:
    """Refuse a zip before extracting anything: unsafe entry names, declared sizes over the limits,
    or a compression ratio no real feed has (a bomb)."""
    total = 0
    for info in zf.infolist():
        why = unsafe_name(info.filename, allow_subdirs=True)
        if why:
            raise UnsafeArchiveError(
                f"{source}: zip entry {info.filename!r} {why}. Nothing was extracted or landed; ask the publisher "
                "for an archive whose entries are plain relative names."
            )
        if info.file_size > limits.max_zip_member_bytes:
            raise UnsafeArchiveError(
                f"{source}: zip entry {info.filename!r} declares {info.file_size} bytes uncompressed, over the "
                f"limit of {limits.max_zip_member_bytes} (LAKEHOUSE_MAX_ZIP_MEMBER_BYTES). "
                "Nothing was extracted or landed."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _MIB and ratio > limits.max_zip_ratio:
            raise UnsafeArchiveError(
                f"{source}: zip entry {info.filename!r} expands {ratio:.0f}:1 ({info.compress_size} → {info.file_size} "
                f"bytes), over the limit of {limits.max_zip_ratio}:1 (LAKEHOUSE_MAX_ZIP_RATIO): a zip bomb. "
                "Nothing was extracted or landed; ask the publisher to resend the feed."
            )
        total += info.file_size
    if total > limits.max_zip_total_bytes:
        raise UnsafeArchiveError(
            f"{source}: the zip declares {total} bytes uncompressed in all, over the limit of "
            f"{limits.max_zip_total_bytes} (LAKEHOUSE_MAX_ZIP_TOTAL_BYTES). Nothing was extracted or landed."
        )


class CappedReader(io.RawIOBase):
    """A binary stream that raises :class:`UnsafeArchiveError` once more than ``cap`` bytes came out
    of it (a zip member whose real size is larger than it declared); wrap it in ``io.BufferedReader``."""

    def __init__(self, raw: IO[bytes], cap: int, what: str) -> None:
        super().__init__()
        self.raw, self.cap, self.what, self.read_bytes = raw, cap, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        self.read_bytes += len(data)
        if self.read_bytes > self.cap:
            raise UnsafeArchiveError(
                f"{self.what}: more than {self.cap} bytes came out of it, more than it declared or the limit allows "
                "(a zip bomb or a corrupt archive). Nothing was landed; ask the publisher to resend it."
            )
        buffer[: len(data)] = data
        return len(data)


def refused_names(names: Iterable[str]) -> dict[str, str]:
    """Of remote file names, those that may not become a local path, with why (an FTP listing)."""
    return {name: why for name in names if (why := unsafe_name(name))}
