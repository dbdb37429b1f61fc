"""Vietnamese text in the legacy encodings the sources deliver, made without the project's repair.

Why: test data must not be produced by the code it tests. TCVN3 bytes come from glibc's converter
(``iconv -t TCVN5712-1``, TCVN 5712:1993 VN1, which has the toned capitals too); VNI bytes from
the table below, typed from a published VNI Windows chart (Dao Hai Lam, xvnkb ``vni.h``, 2002:
https://github.com/lamdao/xvnkb/blob/master/vni.h); UTF-8 mojibake is UTF-8 read as cp1252 and
saved again as UTF-8 (Windows shows cp1252's five unassigned bytes as C1 controls). Nothing here
decodes: the generators write these bytes and report what they wrote.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404  # runs glibc's iconv, argv list, no shell
import unicodedata
from functools import cache

# VNI Windows, one row per base vowel as in the chart: the letter without tone, then with sắc,
# huyền, hỏi, ngã, nặng; each as the bytes the VNI fonts use (hex). Capitals: same rows with the
# capital base letter and the capital form of each mark byte (chart's upper half), listed apart.
_VNI_LOWER: tuple[tuple[str, str], ...] = (
    ("aáàảãạ", "61 61f9 61f8 61fb 61f5 61ef"),
    ("âấầẩẫậ", "61e2 61e1 61e0 61e5 61e3 61e4"),
    ("ăắằẳẵặ", "61ea 61e9 61e8 61fa 61fc 61eb"),
    ("eéèẻẽẹ", "65 65f9 65f8 65fb 65f5 65ef"),
    ("êếềểễệ", "65e2 65e1 65e0 65e5 65e3 65e4"),
    ("oóòỏõọ", "6f 6ff9 6ff8 6ffb 6ff5 6fef"),
    ("ôốồổỗộ", "6fe2 6fe1 6fe0 6fe5 6fe3 6fe4"),
    ("ơớờởỡợ", "f4 f4f9 f4f8 f4fb f4f5 f4ef"),
    ("uúùủũụ", "75 75f9 75f8 75fb 75f5 75ef"),
    ("ưứừửữự", "f6 f6f9 f6f8 f6fb f6f5 f6ef"),
    ("iíìỉĩị", "69 ed ec e6 f3 f2"),
    ("yýỳỷỹỵ", "79 79f9 79f8 79fb 79f5 ee"),
    ("đ", "f1"),
)
_VNI_UPPER: tuple[tuple[str, str], ...] = (
    ("AÁÀẢÃẠ", "41 41d9 41d8 41db 41d5 41cf"),
    ("ÂẤẦẨẪẬ", "41c2 41c1 41c0 41c5 41c3 41c4"),
    ("ĂẮẰẲẴẶ", "41ca 41c9 41c8 41da 41dc 41cb"),
    ("EÉÈẺẼẸ", "45 45d9 45d8 45db 45d5 45cf"),
    ("ÊẾỀỂỄỆ", "45c2 45c1 45c0 45c5 45c3 45c4"),
    ("OÓÒỎÕỌ", "4f 4fd9 4fd8 4fdb 4fd5 4fcf"),
    ("ÔỐỒỔỖỘ", "4fc2 4fc1 4fc0 4fc5 4fc3 4fc4"),
    ("ƠỚỜỞỠỢ", "d4 d4d9 d4d8 d4db d4d5 d4cf"),
    ("UÚÙỦŨỤ", "55 55d9 55d8 55db 55d5 55cf"),
    ("ƯỨỪỬỮỰ", "d6 d6d9 d6d8 d6db d6d5 d6cf"),
    ("IÍÌỈĨỊ", "49 cd cc c6 d3 d2"),
    ("YÝỲỶỸỴ", "59 59d9 59d8 59db 59d5 ce"),
    ("Đ", "d1"),
)


@cache
def vni_table() -> dict[str, bytes]:
    """Letter → VNI bytes, from the typed chart rows."""
    table: dict[str, bytes] = {}
    for letters, codes in _VNI_LOWER + _VNI_UPPER:
        for letter, code in zip(letters, codes.split(), strict=True):
            table[letter] = bytes.fromhex(code)
    return table


def vni_bytes(text: str) -> bytes:
    """``text`` as a VNI Windows file holds it; ASCII passes through, anything else must be in the chart."""
    table = vni_table()
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        if char.isascii():
            out += char.encode("ascii")
        elif char in table:
            out += table[char]
        else:
            raise ValueError(f"{char!r} has no VNI code")
    return bytes(out)


def tcvn3_bytes(text: str) -> bytes:
    """``text`` as a TCVN3 (TCVN 5712) file holds it, converted by glibc's iconv."""
    iconv = shutil.which("iconv")
    if iconv is None:
        raise RuntimeError("iconv (glibc) is needed to write TCVN3 sample files")
    return subprocess.run(  # nosec B603  # fixed argv, no shell, no caller input
        [iconv, "-f", "UTF-8", "-t", "TCVN5712-1"],
        input=unicodedata.normalize("NFC", text).encode("utf-8"),
        capture_output=True,
        check=True,
    ).stdout


def cp1252_text(raw: bytes) -> str:
    """What a program shows for ``raw`` read as cp1252 (its unassigned bytes as C1 controls)."""
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in raw)


def utf8_mojibake_bytes(text: str) -> bytes:
    """UTF-8 ``text`` read as cp1252 by mistake and saved again as UTF-8 (``HÃ  Ná»™i``)."""
    return cp1252_text(unicodedata.normalize("NFC", text).encode("utf-8")).encode("utf-8")


ENCODERS = {"tcvn3": tcvn3_bytes, "vni": vni_bytes, "utf-8-via-cp1252": utf8_mojibake_bytes}
"""The legacy file encodings the generators write, by the name the pipeline records in ``_charset``."""


def ascii_fold(text: str) -> str:
    """``text`` without diacritics (đ → d): how a name typed without Vietnamese input looks."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D")
