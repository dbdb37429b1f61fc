"""Vietnamese text hygiene: NFC, legacy-encoding (TCVN3 / VNI) detection and repair, fold keys.

Why: the "sạch" criterion (docs/domain.md, "The four criteria") asks for Unicode NFC and no legacy
encodings, yet sources still deliver text typed in TCVN3 (ABC) or VNI whose single bytes were
later decoded as cp1252, e.g. ``hép møt tÕt`` (TCVN3) and ``Xin chaøo caùc baïn`` (VNI).
Everything here is a pure function over ``str`` so it can run in tests, on the driver, or inside
a UDF.

Detection is a heuristic. Most mojibake is certain (characters such as ``µ ¸ ¹ ø ñ ö`` next to
letters never occur in Vietnamese), but a short TCVN3 word made only of letters that are also
valid Vietnamese (``hép`` for ``hộp``) cannot be told apart from real text and is left alone.
Text in other Latin-script languages (``Müller``, ``François``) may be flagged, though repair
leaves it unchanged: this module is meant for Vietnamese fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

# ---------------------------------------------------------------------------------------------
# Encoding tables (data, not code).
#
# TCVN3 (TCVN 5712:1993, "ABC", VN3): one byte per letter. Each row: Unicode letters, then the
# matching byte values. Tone order inside a row is TCVN3's own: huyền, hỏi, ngã, sắc, nặng.
# Checked against glibc's TCVN5712-1 converter (`iconv -t TCVN5712-1`), whose lowercase part is
# VN3. VN3 has no code points for uppercase *toned* vowels (upper-case fonts such as .VnTimeH
# draw the lowercase codes as capitals), so those letters are written with the lowercase bytes:
# the round trip through TCVN3 lowercases them ("HÀ NỘI" -> "Hà NộI"); untoned capitals
# Ă Â Ê Ô Ơ Ư Đ have their own bytes and survive.
_TCVN3_TABLE: tuple[tuple[str, str], ...] = (
    ("ăâêôơưđ", "a8 a9 aa ab ac ad ae"),
    ("ĂÂÊÔƠƯĐ", "a1 a2 a3 a4 a5 a6 a7"),
    ("àảãáạ", "b5 b6 b7 b8 b9"),
    ("ằẳẵắặ", "bb bc bd be c6"),
    ("ầẩẫấậ", "c7 c8 c9 ca cb"),
    ("èẻẽéẹ", "cc ce cf d0 d1"),
    ("ềểễếệ", "d2 d3 d4 d5 d6"),
    ("ìỉĩíị", "d7 d8 dc dd de"),
    ("òỏõóọ", "df e1 e2 e3 e4"),
    ("ồổỗốộ", "e5 e6 e7 e8 e9"),
    ("ờởỡớợ", "ea eb ec ed ee"),
    ("ùủũúụ", "ef f1 f2 f3 f4"),
    ("ừửữứự", "f5 f6 f7 f8 f9"),
    ("ỳỷỹýỵ", "fa fb fc fd fe"),
)

# VNI Windows: ASCII base letter + one diacritic byte (or a single byte for ơ ư đ and the toned
# i / ỵ). Each row: Unicode letters (lowercase), then the byte sequence of each, space-separated.
# Tone order per row: none, huyền, hỏi, ngã, sắc, nặng. Uppercase letters use the uppercase
# base letter and the cp1252-uppercase of each diacritic byte (0xF8 ø -> 0xD8 Ø, ...), which is
# how VNI fonts are laid out, so they are derived from this table rather than listed.
_VNI_TABLE: tuple[tuple[str, str], ...] = (
    ("aàảãáạ", "61 61f8 61fb 61f5 61f9 61ef"),
    ("ăằẳẵắặ", "61ea 61e8 61fa 61fc 61e9 61eb"),
    ("âầẩẫấậ", "61e2 61e0 61e5 61e3 61e1 61e4"),
    ("eèẻẽéẹ", "65 65f8 65fb 65f5 65f9 65ef"),
    ("êềểễếệ", "65e2 65e0 65e5 65e3 65e1 65e4"),
    ("iìỉĩíị", "69 ec e6 f3 ed f2"),
    ("oòỏõóọ", "6f 6ff8 6ffb 6ff5 6ff9 6fef"),
    ("ôồổỗốộ", "6fe2 6fe0 6fe5 6fe3 6fe1 6fe4"),
    ("ơờởỡớợ", "f4 f4f8 f4fb f4f5 f4f9 f4ef"),
    ("uùủũúụ", "75 75f8 75fb 75f5 75f9 75ef"),
    ("ưừửữứự", "f6 f6f8 f6fb f6f5 f6f9 f6ef"),
    ("yỳỷỹýỵ", "79 79f8 79fb 79f5 79f9 ee"),
    ("đ", "f1"),
)

# Latin-1 letters that occur in correct Vietnamese NFC text (never a mojibake signal alone).
_VN_LATIN1 = "àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ"

# VNI pairs that are also correct Vietnamese with the old tone placement ("Hoà", "Khoá", "loã"):
# they are decoded once a text is known to be VNI, but never count as evidence on their own.
_VNI_AMBIGUOUS_PAIRS = ("oà", "oá", "oã", "OÀ", "OÁ", "OÃ")

# TCVN3 bytes that read as a Vietnamese letter with a falling tone, which no syllable ending in
# c, ch, p or t can carry: "quốc" -> "quèc", "góc" -> "gãc", "lực" -> "lùc".
_TCVN3_FALLING_BEFORE_STOP = "èìòùãõ"

# TCVN3 phonotactic evidence: a TCVN3 byte that reads as a valid Vietnamese letter, followed by a
# vowel that cannot follow that letter in any Vietnamese syllable. E.g. "hóa" -> "hãa", "hội" ->
# "héi", "với" -> "víi", "người" -> "ng\xadêi", "lũy" -> "lòy". Each row: letters, then vowels.
_TCVN3_BAD_CLUSTERS: tuple[tuple[str, str], ...] = (
    ("áã", "ae"),
    ("â", "aeio"),
    ("èé", "aeiuy"),
    ("ê", "aeioy"),
    ("ìí", "eioy"),
    ("òó", "uy"),
    ("ô", "aeouy"),
    ("õ", "uy"),
)


def _words(text: str) -> list[str]:
    """Split a space-separated data string (keeps long tables readable)."""
    return text.split()


def _cp1252(hex_bytes: str) -> str:
    """The text a UTF-8 file holds after these bytes were decoded as cp1252."""
    return bytes.fromhex(hex_bytes).decode("cp1252")


def _build_tcvn3() -> tuple[dict[str, str], dict[str, str]]:
    """Encode map (letter -> mojibake char) and decode map (mojibake char -> letter)."""
    encode: dict[str, str] = {}
    for letters, hex_bytes in _TCVN3_TABLE:
        encode.update(zip(letters, _cp1252(hex_bytes), strict=True))
    decode = {char: letter for letter, char in encode.items()}
    for letter, char in list(encode.items()):
        encode.setdefault(letter.upper(), char)  # uppercase toned vowels reuse the lowercase byte
    return encode, decode


def _build_vni() -> tuple[dict[str, str], dict[str, str]]:
    """Encode map (letter -> 1-2 mojibake chars) and decode map (the reverse, letters only)."""
    encode: dict[str, str] = {}
    for letters, sequences in _VNI_TABLE:
        for letter, seq in zip(letters, sequences.split(), strict=True):
            encode[letter] = _cp1252(seq)
            encode[letter.upper()] = _cp1252(seq).upper()
    encode = {letter: seq for letter, seq in encode.items() if letter != seq}  # drop plain ASCII
    decode = {seq: letter for letter, seq in encode.items()}
    if len(decode) != len(encode):
        raise ValueError("VNI table maps two letters to the same bytes")
    return encode, decode


_TCVN3_ENCODE, _TCVN3_DECODE = _build_tcvn3()
_VNI_ENCODE, _VNI_DECODE = _build_vni()
_TCVN3_ENCODE_TABLE = str.maketrans(_TCVN3_ENCODE)
_TCVN3_DECODE_TABLE = str.maketrans(_TCVN3_DECODE)
_VNI_ENCODE_TABLE = str.maketrans(_VNI_ENCODE)
_VNI_DECODE_RE = re.compile("|".join(re.escape(s) for s in sorted(_VNI_DECODE, key=len, reverse=True)))


# ---------------------------------------------------------------------------------------------
# The detection regex. Built from the tables above, written with \uXXXX escapes and only
# syntax that Python `re` and java.util.regex share (classes, alternation, literals), so the
# same string works in Spark's `Column.rlike`.


def _cls(chars: Iterable[str]) -> str:
    """A character class; non-ASCII characters escaped as \\uXXXX, consecutive runs as ranges."""
    points = sorted({ord(c) for c in chars})
    runs: list[list[int]] = []
    for p in points:
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])

    def esc(p: int) -> str:
        return chr(p) if chr(p).isascii() and chr(p).isalnum() else f"\\u{p:04X}"

    parts = [esc(a) if a == b else f"{esc(a)}{esc(b)}" if b == a + 1 else f"{esc(a)}-{esc(b)}" for a, b in runs]
    return "[" + "".join(parts) + "]"


def _either_side(chars: Iterable[str], word: str) -> list[str]:
    """Alternatives matching one of ``chars`` with a ``word`` character before or after it."""
    cls = _cls(chars)
    return [f"{word}{cls}", f"{cls}{word}"]


_TCVN3_CHARS = "".join(_TCVN3_DECODE)
_TCVN3_WORD = "[A-Za-z" + _cls(_TCVN3_CHARS)[1:]  # ASCII letters or any TCVN3 character
# Symbols whose legitimate uses (µg/m³, «quotes», Brand®, ©2024) need a stricter context.
_TCVN3_AFTER_WORD_ONLY = "µ"  # à: "hµ" (hà), never "µg"
_TCVN3_BEFORE_WORD_ONLY = "»®©"  # ằ đ â are always followed by more letters: "b»ng", "®i", "c©y"
_TCVN3_GUILLEMET = "«"  # ô: "c«ng", "h«", "«ng" but not «Hà Nội»
_TCVN3_ANY_SIDE = sorted(
    set(_TCVN3_CHARS) - set(_VN_LATIN1) - set(_TCVN3_AFTER_WORD_ONLY + _TCVN3_BEFORE_WORD_ONLY + _TCVN3_GUILLEMET)
)
_TCVN3_UPPER_VN = sorted(set(_TCVN3_CHARS) & (set(_VN_LATIN1) - set(_VN_LATIN1.lower())))

_TCVN3_PATTERNS: list[str] = [
    *_either_side(_TCVN3_ANY_SIDE, _TCVN3_WORD),
    f"{_TCVN3_WORD}{_cls(_TCVN3_AFTER_WORD_ONLY)}",
    f"{_cls(_TCVN3_BEFORE_WORD_ONLY)}{_TCVN3_WORD}",
    f"{_TCVN3_WORD}{_cls(_TCVN3_GUILLEMET)}",
    f"{_cls(_TCVN3_GUILLEMET)}[a-z]",
    # a capital toned vowel inside a lowercase word: "tÕt" (tết), "NguyÔn", "BÕn" (Bến)
    f"[a-z]{_cls(_TCVN3_UPPER_VN)}",
    f"[A-Z]{_cls(_TCVN3_UPPER_VN)}[a-z]",
    # a falling tone (huyền, hỏi, ngã) before a stop consonant: "quèc" (quốc), "gãc" (góc)
    f"{_cls(_TCVN3_FALLING_BEFORE_STOP)}[cpt]",
    *(f"{_cls(first)}{_cls(then)}" for first, then in _TCVN3_BAD_CLUSTERS),
]


def _vni_pair_patterns() -> list[str]:
    """One alternative per base letter: the base followed by any of its VNI diacritic bytes."""
    by_base: dict[str, set[str]] = {}
    for seq in _VNI_DECODE:
        if len(seq) == 2 and seq not in _VNI_AMBIGUOUS_PAIRS:
            by_base.setdefault(seq[0], set()).add(seq[1])
    return [f"{_cls(base)}{_cls(marks)}" for base, marks in sorted(by_base.items())]


# Single VNI bytes that are not Vietnamese letters: ñ (đ), ö (ư), æ (ỉ), î (ỵ) and capitals.
_VNI_SINGLES = sorted(s for s in _VNI_DECODE if len(s) == 1 and s not in _VN_LATIN1)
_VNI_WORD = "[A-Za-z" + _cls(s for s in _VNI_DECODE if len(s) == 1)[1:]
_VNI_PATTERNS: list[str] = [
    *_vni_pair_patterns(),
    *_either_side(_VNI_SINGLES, _VNI_WORD),
    # ĩ / ị are the single bytes ó / ò, and no Vietnamese syllable has o before -nh / -ch:
    # "Tónh" (Tĩnh), "Ñònh" (Định), "Thòch" (Thịch)
    "[\\u00F2\\u00F3](?:nh|ch)",
    "[\\u00D2\\u00D3](?:NH|CH|nh|ch)",
]

LEGACY_PATTERN_REGEX: str = "|".join(_TCVN3_PATTERNS + _VNI_PATTERNS)
"""Matches text holding TCVN3 or VNI mojibake; for Python ``re`` and Spark ``Column.rlike``.

Same answer as :func:`looks_legacy_encoded`. In Spark, filter with it first and run the
(Python) :func:`repair_vietnamese` only on the rows it matches.
"""

_LEGACY_RE = re.compile(LEGACY_PATTERN_REGEX)


# ---------------------------------------------------------------------------------------------
# Vietnamese syllable shape: used by the repair to pick TCVN3 or VNI and to refuse a decoding
# that produces impossible words. Not used for detection (the regex must run in Spark).

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng
_FALLING_TONES = "\u0300\u0303\u0309"  # huyền, ngã, hỏi: impossible before a stop consonant
# Onsets are any run of consonants, so that the Latin-script names of ethnic-minority places
# ("Krông", "Đắk", "Dơk", "Păh") count as syllables too; codas include their final h, k, l, r.
_CONSONANTS = frozenset("bcdđfghjklmnpqrstvwxz")
# Vowel nuclei: open ones end in a glide and take no final consonant; some need one; others may.
_OPEN_NUCLEI = frozenset(
    _words("ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu uơ oai oay oao oeo uây uôi uya uyu ươi ươu iêu yêu")
)
_CLOSED_NUCLEI = frozenset(_words("ă â oă uâ iê yê uô ươ uyê oo"))
_FREE_NUCLEI = frozenset(_words("a e ê i o ô ơ u ư y oa oe uê uy"))
_PALATAL_NUCLEI = frozenset(_words("a ê i y oa uê uy"))  # the only ones before -nh / -ch
_NUCLEI = sorted(_OPEN_NUCLEI | _CLOSED_NUCLEI | _FREE_NUCLEI, key=len, reverse=True)
_CODAS = ("ch", "nh", "ng", *"ckmnpt", *"hlr")
_STOPS = ("ch", *"ckpt")
_WORD_RE = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=65536)
def _is_syllable(word: str) -> bool:
    """True when ``word`` can be one Vietnamese syllable: shape, one tone, tone on a vowel that can carry it."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [c for c in decomposed if c in _TONE_MARKS]
    if len(tones) > 1:
        return False
    tone = tones[0] if tones else ""
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    toned_at = -1
    if tone:  # index (in ``base``) of the letter that carries the tone
        marked = unicodedata.normalize("NFC", decomposed)
        toned_at = next(i for i, c in enumerate(marked) if tone in unicodedata.normalize("NFD", c))
    consonants = len(base) - len(base.lstrip("".join(_CONSONANTS)))
    onsets = [base[:consonants]]
    if base.startswith(("qu", "gi"), max(consonants - 1, 0)) and consonants:  # "quý", "giữ": u / i is onset
        onsets.append(base[: consonants + 1])
    for onset in onsets:
        for nucleus in _NUCLEI:
            if not base.startswith(nucleus, len(onset)):
                continue
            start, end = len(onset), len(onset) + len(nucleus)
            coda = base[end:]
            if coda and (coda not in _CODAS or nucleus in _OPEN_NUCLEI):
                continue
            if not coda and nucleus in _CLOSED_NUCLEI:
                continue
            if tone and not start <= toned_at < end:
                continue
            if coda in ("nh", "ch") and nucleus not in _PALATAL_NUCLEI:
                continue
            if tone and tone in _FALLING_TONES and coda in _STOPS:
                continue
            if nucleus in _OPEN_NUCLEI and len(nucleus) > 1 and nucleus != "uơ" and toned_at == end - 1:
                continue  # the tone never sits on the final glide: "ngày", not "ngaỳ"
            return True
    return False


def _syllable_counts(text: str) -> tuple[int, int]:
    """Words with non-ASCII letters that are / are not Vietnamese syllables."""
    words = [w for w in _WORD_RE.findall(text) if not w.isascii()]
    valid = sum(1 for w in words if _is_syllable(w))
    return valid, len(words) - valid


def _badness(text: str) -> int:
    """Mojibake evidence plus odd (non-syllable) words: lower is more likely correct Vietnamese."""
    return len(_LEGACY_RE.findall(text)) + _syllable_counts(text)[1]


# ---------------------------------------------------------------------------------------------
# Public API


def to_nfc(text: str | None) -> str | None:
    """NFC form of ``text``: the one form the lakehouse stores, so equal names compare equal."""
    return None if text is None else unicodedata.normalize("NFC", text)


def is_nfc(text: str | None) -> bool:
    """True when ``text`` is already NFC (None counts as NFC: there is nothing to fix)."""
    return text is None or unicodedata.is_normalized("NFC", text)


def to_tcvn3_mojibake(text: str) -> str:
    """What a file holds when ``text`` was typed in TCVN3 and its bytes were decoded as cp1252.

    Used to build test data and sample sources. Uppercase toned vowels have no TCVN3 code and are
    written with the lowercase byte, so their repair comes back lowercase.
    """
    return unicodedata.normalize("NFC", text).translate(_TCVN3_ENCODE_TABLE)


def to_vni_mojibake(text: str) -> str:
    """What a file holds when ``text`` was typed in VNI Windows and decoded as cp1252."""
    return unicodedata.normalize("NFC", text).translate(_VNI_ENCODE_TABLE)


def looks_legacy_encoded(text: str | None) -> bool:
    """True when ``text`` holds TCVN3 or VNI mojibake, so a rule can quarantine or repair it."""
    return text is not None and _LEGACY_RE.search(text) is not None


def _decode_tcvn3(text: str) -> str:
    return text.translate(_TCVN3_DECODE_TABLE)


def _decode_vni(text: str) -> str:
    return _VNI_DECODE_RE.sub(lambda m: _VNI_DECODE[m.group(0)], text)


def repair_vietnamese(text: str | None) -> str | None:
    """Decode TCVN3 / VNI mojibake back to Unicode and return NFC; other text is only normalised.

    Both decodings are tried (many bytes mean a letter in each encoding) and the one that leaves
    the least mojibake and the fewest impossible syllables wins, TCVN3 on a tie. The winner is
    kept only if it is better than the input and yields at least as many new Vietnamese syllables
    as it leaves odd words, so a foreign name ("Müller" would become "Mỹller") is left alone.
    """
    if text is None:
        return None
    nfc = unicodedata.normalize("NFC", text)
    if not looks_legacy_encoded(nfc):
        return nfc
    best = min((_decode_tcvn3(nfc), _decode_vni(nfc)), key=_badness)
    (valid_before, _), (valid_after, odd_after) = _syllable_counts(nfc), _syllable_counts(best)
    if _badness(best) < _badness(nfc) and valid_after - valid_before >= odd_after:
        return unicodedata.normalize("NFC", best)
    return nfc


def fold_key(text: str | None) -> str | None:
    """Diacritic- and case-insensitive key (đ -> d, whitespace collapsed) for matching names.

    Keys are for comparison only: keep the original text for display.
    """
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("đ", "d").replace("Đ", "D")
    return " ".join(stripped.casefold().split())


# ---------------------------------------------------------------------------------------------
# Whole-file decoding. A legacy font or a mis-saved export is a property of a file (one
# transmission, one page), not of a field: "Sôn La" and "Hoà Chí Minh" are valid Vietnamese
# when read alone, and VNI bytes for "Sơn La" and "Hồ Chí Minh" when the rest of the file is VNI.
# So the charset is decided once from all of a file's lines and every line is decoded with it.

Charset = Literal["utf-8", "utf-8-via-cp1252", "tcvn3", "vni", "cp1258"]
"""How a file's bytes are read: UTF-8; UTF-8 saved once more after being read as cp1252
(``HÃ  Ná»™i``); TCVN3 (TCVN 5712, glibc's ``TCVN5712-1``); VNI Windows; Windows-1258."""

CHARSETS: tuple[Charset, ...] = ("utf-8", "utf-8-via-cp1252", "tcvn3", "vni", "cp1258")
_LEGACY: tuple[Charset, ...] = ("tcvn3", "vni", "cp1258")  # tie order when evidence is equal

# TCVN3 capitals with a tone (TCVN 5712:1993 VN1, as glibc's TCVN5712-1 has them; VN3 fonts
# reuse the lowercase codes instead). Same row layout as _TCVN3_TABLE.
_TCVN3_UPPER_TABLE: tuple[tuple[str, str], ...] = (
    ("ÀẢÃÁẠ", "80 81 82 83 84"),
    ("ẰẲẴẮẶ", "af ba bf c0 85"),
    ("ẦẨẪẤẬ", "c1 c2 c3 c4 86"),
    ("ÈẺẼÉẸ", "87 88 89 8a 8b"),
    ("ỀỂỄẾỆ", "c5 cd d9 da 8c"),
    ("ÌỈĨÍỊ", "8d 8e 8f 90 91"),
    ("ÒỎÕÓỌ", "92 93 94 95 96"),
    ("ỒỔỖỐỘ", "db e0 f0 ff 97"),
    ("ỜỞỠỚỢ", "98 99 9a 9b 9c"),
    ("ÙỦŨÚỤ", "9d 9e 9f 01 02"),
    ("ỪỬỮỨỰ", "04 05 06 11 12"),
    ("ỲỶỸÝỴ", "13 14 15 16 17"),
    ("\u0300\u0309\u0303\u0301\u0323", "b0 b1 b2 b3 b4"),  # combining tone marks
)


def _byte_table(rows: Iterable[tuple[str, str]]) -> str:
    """256 characters, one per byte value: the rows' letters, every other byte as Latin-1."""
    table = [chr(b) for b in range(256)]
    for letters, hex_bytes in rows:
        for letter, byte in zip(letters, _words(hex_bytes), strict=True):
            table[int(byte, 16)] = letter
    return "".join(table)


_TCVN3_BYTES = _byte_table(_TCVN3_TABLE + _TCVN3_UPPER_TABLE)
# cp1252 with its five unassigned bytes (81 8D 8F 90 9D) kept as the C1 controls Windows shows for
# them, so every byte string has a view and "Đ" (C4 90) read as cp1252 is "Ä\x90", not an error.
_CP1252_BYTES = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))
_CP1252_BACK = {ord(c): b for b, c in enumerate(_CP1252_BYTES)}


def cp1252_view(raw: bytes) -> str:
    """``raw`` read as cp1252, byte for byte; never fails (the unassigned bytes stay C1 controls)."""
    return raw.decode("latin-1").translate(dict(enumerate(_CP1252_BYTES)))


def _cp1252_bytes(text: str) -> bytes | None:
    """The bytes whose cp1252 view is ``text``, or None when ``text`` has a character cp1252 lacks."""
    try:
        return text.translate(_CP1252_BACK).encode("latin-1")
    except UnicodeEncodeError:
        return None


def decode_as(raw: bytes, charset: Charset) -> str | None:
    """``raw`` (one line or field) decoded as ``charset`` and NFC, or None when it cannot be."""
    try:
        if charset == "utf-8":
            text = raw.decode("utf-8")
        elif charset == "utf-8-via-cp1252":
            inner = _cp1252_bytes(raw.decode("utf-8"))
            if inner is None:
                return None
            text = inner.decode("utf-8")
        elif charset == "tcvn3":
            text = raw.decode("latin-1").translate(dict(enumerate(_TCVN3_BYTES)))
        elif charset == "vni":
            text = _decode_vni(cp1252_view(raw))
        else:
            text = raw.decode("cp1258")
    except UnicodeDecodeError:
        return None
    return unicodedata.normalize("NFC", text)


class CharsetEvidence:
    """Evidence from every line of one file; :attr:`decision` is the charset to read it with.

    UTF-8 unless most non-ASCII lines are not UTF-8. A UTF-8 file whose every non-ASCII line is again UTF-8
    once written back as cp1252 was saved through a cp1252 reader (real Vietnamese such as "ộ" has
    no cp1252 byte, so this never holds for it). Bytes that are not UTF-8 are read in each legacy
    charset, and the one whose text has the least mojibake and fewest impossible syllables wins.
    Two passes, so a large UTF-8 file costs one cheap check per line: :meth:`add` every line, then,
    only when :attr:`needs_legacy_pass`, :meth:`add_legacy` every line again.
    """

    def __init__(self) -> None:
        self.utf8_lines = 0  # non-ASCII lines that are valid UTF-8
        self.bad_lines = 0  # lines that are not
        self.via_cp1252: bool | None = None  # None: no non-ASCII line seen yet
        self.badness: dict[Charset, float] = dict.fromkeys(_LEGACY, 0.0)

    def add(self, line: bytes) -> None:
        """First pass: take one line (any line ending); ASCII lines say nothing."""
        if line.isascii():
            return
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            self.bad_lines += 1
            return
        self.utf8_lines += 1
        if self.via_cp1252 is not False:
            inner = _cp1252_bytes(text)
            self.via_cp1252 = inner is not None and decode_as(inner, "utf-8") is not None

    @property
    def utf8(self) -> bool:
        """UTF-8 when most non-ASCII lines are: a few bad lines in a UTF-8 file (hostile or damaged bytes)
        are those lines' problem (bronze quarantines them as INVALID_ENCODING), never a reason to read
        every good line of the file in a legacy charset."""
        return self.bad_lines == 0 or self.utf8_lines > self.bad_lines

    @property
    def needs_legacy_pass(self) -> bool:
        return not self.utf8

    def add_legacy(self, line: bytes) -> None:
        """Second pass (bytes that are not UTF-8): score the line in each legacy charset."""
        if line.isascii():
            return
        for charset in _LEGACY:
            text = decode_as(line, charset)
            self.badness[charset] += float("inf") if text is None else _badness(text)

    @property
    def decision(self) -> Charset:
        if self.utf8:
            return "utf-8-via-cp1252" if self.via_cp1252 else "utf-8"
        return min(_LEGACY, key=lambda c: self.badness[c])


def decide_charset(lines: Sequence[bytes]) -> Charset:
    """The charset of a whole file, from all of its lines (see :class:`CharsetEvidence`)."""
    evidence = CharsetEvidence()
    for line in lines:
        evidence.add(line)
    if evidence.needs_legacy_pass:
        for line in lines:
            evidence.add_legacy(line)
    return evidence.decision
