"""Whole-file charset decisions and decoding, on bytes made independently of ``jobs.text``.

TCVN3 bytes come from glibc's ``iconv -t TCVN5712-1``, CP1258 from ``iconv -t CP1258``, VNI from
the table typed from a published VNI chart in ``sample_sources.legacy_text``, UTF-8 mojibake from
Python's own cp1252 codec. Expected text is the Unicode the bytes were made from.
"""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import pytest

from jobs.bronze import _decoded_lines
from jobs.landing import _digest_count_charset
from jobs.text import LEGACY_PATTERN_REGEX, CharsetEvidence, decide_charset, decode_as
from sample_sources.legacy_text import utf8_mojibake_bytes, vni_bytes

# Province and place names, capitals with tones included ("Ấp", "Ủy"), one per line as in a list.
TEXT = (
    "Hồ Chí Minh,Sơn La,Hà Nội,Đà Nẵng,Thừa Thiên Huế\n"
    "Ủy ban nhân dân,Ấp Bình Hòa,Quận Ba Đình,ĐỒNG THÁP,Hoà Bình\n"
    "Cà phê,Hồ tiêu,Đông Xuân,Hè Thu,Chính thức\n"
)


def _iconv(text: str, charset: str) -> bytes:
    return subprocess.run(
        ["iconv", "-f", "UTF-8", "-t", charset], input=text.encode(), capture_output=True, check=True
    ).stdout


ENCODED = {
    "utf-8": TEXT.encode("utf-8"),
    "tcvn3": _iconv(TEXT, "TCVN5712-1"),
    "vni": vni_bytes(TEXT),
    "utf-8-via-cp1252": utf8_mojibake_bytes(TEXT),
    "cp1258": _iconv(TEXT, "CP1258"),
}


@pytest.mark.parametrize("charset", sorted(ENCODED))
def test_each_file_encoding_is_decided_and_decoded_exactly(charset: str) -> None:
    lines = ENCODED[charset].splitlines(keepends=True)
    assert decide_charset(lines) == charset
    assert "".join(decode_as(line, charset) or "" for line in lines) == TEXT


def test_vni_names_valid_on_their_own_follow_their_file() -> None:
    """'Sôn La' and 'Hoà Chí Minh' are valid Vietnamese alone; in a VNI file they are Sơn La and Hồ Chí Minh."""
    raw = vni_bytes("Sơn La\nTP Hồ Chí Minh\n")
    assert raw.decode("cp1252") == "Sôn La\nTP Hoà Chí Minh\n"
    lines = raw.splitlines(keepends=True)
    assert decide_charset(lines) == "vni"
    assert [decode_as(line, "vni") for line in lines] == ["Sơn La\n", "TP Hồ Chí Minh\n"]


def test_tcvn3_byte_table_equals_glibc_for_every_byte() -> None:
    for b in range(256):
        done = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=bytes([b]), capture_output=True)
        if done.returncode == 0:
            assert decode_as(bytes([b]), "tcvn3") == unicodedata.normalize("NFC", done.stdout.decode()), hex(b)


def test_utf8_d_with_stroke_read_as_cp1252_does_not_raise() -> None:
    """'Đ' is C4 90 in UTF-8; 0x90 has no cp1252 character, and Windows shows it as a C1 control."""
    assert utf8_mojibake_bytes("Đ") == "Ä\x90".encode()
    assert decode_as(utf8_mojibake_bytes("Đồng Tháp"), "utf-8-via-cp1252") == "Đồng Tháp"
    assert decide_charset([utf8_mojibake_bytes("Đồng Tháp\n")]) == "utf-8-via-cp1252"


def test_plain_utf8_is_never_taken_for_mojibake() -> None:
    assert decide_charset([TEXT.encode()]) == "utf-8"
    assert decide_charset(["Café ñandu, Müller\n".encode()]) == "utf-8"  # Latin-1 letters in real UTF-8
    assert CharsetEvidence().decision == "utf-8"  # ASCII or empty


HEADER = b"station_id,station_name\n"
UTF8_DAY = "S1,Trạm Đồng Tháp\nS2,Trạm Hà Nội\n"
TCVN3_DAY = "S3,Trạm Sơn La\nS4,Trạm Hồ Chí Minh\n"


def _mixed_day(tmp_path: Path) -> tuple[Path, tuple[int, ...]]:
    """An FTP day joined as the adapter joins it: one header, then each transmission's data lines."""
    parts = [UTF8_DAY.encode(), _iconv(TCVN3_DAY, "TCVN5712-1"), UTF8_DAY.encode()]
    payload = tmp_path / "day.csv"
    payload.write_bytes(HEADER + b"".join(parts))
    return payload, tuple(p.count(b"\n") for p in parts)


def test_mixed_ftp_day_decodes_only_the_legacy_transmission_as_legacy(tmp_path: Path) -> None:
    payload, parts = _mixed_day(tmp_path)
    _, rows, runs = _digest_count_charset(payload, True, parts)
    assert rows == 6
    assert runs == ((1, "utf-8"), (4, "tcvn3"), (6, "utf-8"))  # payload line numbers, header = 1
    lines = _decoded_lines(payload.read_bytes(), runs)
    expected = ["station_id,station_name", *UTF8_DAY.splitlines(), *TCVN3_DAY.splitlines(), *UTF8_DAY.splitlines()]
    assert [text for text, _, _ in lines] == expected
    assert [charset for _, charset, _ in lines] == ["utf-8"] * 3 + ["tcvn3"] * 2 + ["utf-8"] * 2
    assert all(error is None for _, _, error in lines)


def test_the_same_day_decided_as_one_object_cannot_read_its_legacy_lines(tmp_path: Path) -> None:
    """Without per-transmission parts the day is one file, decided by most of its lines (UTF-8 here):
    its TCVN3 lines are then bytes that are not UTF-8 (quarantined, not read), hence the parts."""
    payload, _ = _mixed_day(tmp_path)
    _, _, runs = _digest_count_charset(payload, True)
    assert runs == ((1, "utf-8"),)
    lines = _decoded_lines(payload.read_bytes(), runs)
    assert [error is not None for _, _, error in lines] == [False] * 3 + [True] * 2 + [False] * 2


def test_a_line_invalid_in_its_files_charset_is_an_error_not_mojibake() -> None:
    lines = _decoded_lines(b"a,b\n" + utf8_mojibake_bytes("Hà Nội") + b"\n\xff\xfe\n", ((1, "utf-8-via-cp1252"),))
    assert lines[1][0] == "Hà Nội" and lines[1][2] is None
    assert lines[2][2] is not None and "utf-8-via-cp1252" in lines[2][2]


def test_decoded_files_carry_no_legacy_signature() -> None:
    import re

    for charset, raw in ENCODED.items():
        text = "".join(decode_as(line, charset) or "" for line in raw.splitlines(keepends=True))
        assert re.search(LEGACY_PATTERN_REGEX, text) is None, charset


LEGACY_DIR = Path(__file__).resolve().parents[1] / "data" / "legacy"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("redsalamander_cp1258.txt", ["01: Vietnamese: Tôi ăn phở bò.", "05: Vietnamese: Trường học ở Việt Nam."]),
        (
            "uchardet_vi_windows-1258.txt",
            ["Chữ Quốc ngữ là hệ chữ viết thống nhất chính thức hiện nay của tiếng Việt, sử"],
        ),
    ],
)
def test_real_cp1258_files_from_public_sources(name: str, expected: list[str]) -> None:
    """Bytes from other people's tools (tests/data/legacy/SOURCES.md); expected lines typed from them."""
    lines = (LEGACY_DIR / name).read_bytes().splitlines()
    assert decide_charset(lines) == "cp1258"
    decoded = [decode_as(line, "cp1258") for line in lines]
    assert set(expected) <= set(decoded)


def test_charset_runs_survive_the_xcom_round_trip() -> None:
    """Airflow passes the landed batch as JSON (tuples come back as lists); line lookups still work."""
    import json

    from jobs.payload import LandedBatch

    batch = LandedBatch("d", "b", "k", "s", "x", 6, "t", newly_landed=True, charsets=((1, "utf-8"), (4, "tcvn3")))
    again = LandedBatch(**json.loads(json.dumps(batch.to_dict())))
    assert [again.charset_of_line(n) for n in (1, 3, 4, 9)] == ["utf-8", "utf-8", "tcvn3", "tcvn3"]
