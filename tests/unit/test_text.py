"""Tests for jobs.text: NFC, TCVN3 / VNI mojibake detection and repair, fold keys, the Spark regex."""

from __future__ import annotations

import re
import unicodedata

import pytest

from jobs.text import (
    LEGACY_PATTERN_REGEX,
    fold_key,
    is_nfc,
    looks_legacy_encoded,
    repair_vietnamese,
    to_nfc,
    to_tcvn3_mojibake,
    to_vni_mojibake,
)

# fmt: off
PROVINCES_34 = [
    "Hà Nội", "Cao Bằng", "Tuyên Quang", "Điện Biên", "Lai Châu", "Sơn La", "Lào Cai", "Thái Nguyên",
    "Lạng Sơn", "Quảng Ninh", "Bắc Ninh", "Phú Thọ", "Hải Phòng", "Hưng Yên", "Ninh Bình", "Thanh Hóa",
    "Nghệ An", "Hà Tĩnh", "Quảng Trị", "Huế", "Đà Nẵng", "Quảng Ngãi", "Gia Lai", "Khánh Hòa", "Đắk Lắk",
    "Lâm Đồng", "Đồng Nai", "TP Hồ Chí Minh", "Tây Ninh", "Đồng Tháp", "Vĩnh Long", "An Giang", "Cần Thơ",
    "Cà Mau",
]
PROVINCES_63_EXTRA = [
    "Hà Giang", "Bắc Kạn", "Yên Bái", "Hòa Bình", "Bắc Giang", "Vĩnh Phúc", "Hải Dương", "Thái Bình", "Hà Nam",
    "Nam Định", "Quảng Bình", "Thừa Thiên Huế", "Quảng Nam", "Bình Định", "Phú Yên", "Ninh Thuận",
    "Bình Thuận", "Kon Tum", "Đắk Nông", "Bình Phước", "Bình Dương", "Bà Rịa - Vũng Tàu", "Long An",
    "Tiền Giang", "Bến Tre", "Trà Vinh", "Kiên Giang", "Hậu Giang", "Sóc Trăng", "Bạc Liêu",
]
# fmt: on
PHRASES = [
    "Trạm quan trắc Nguyễn Văn Cừ",
    "KCN Thăng Long",
    "hộp mứt tết",
    "Xin chào các bạn",
    "Cộng hòa Xã hội Chủ nghĩa Việt Nam",
    "Độc lập - Tự do - Hạnh phúc",
    "Bộ Nông nghiệp và Môi trường",
    "Nhà máy xử lý nước thải",
    "Hợp tác xã Nông nghiệp Đông Xuân",
    "Uỷ ban nhân dân Thành phố Hồ Chí Minh",
    "Thanh Hoá",
    "Khánh Hoà",
    "Quốc lộ 1A",
    "Đặng Thị Ngọc Thịnh",
    "Võ Nguyên Giáp",
    "Trần Hưng Đạo",
    "Lý Thường Kiệt",
    "Điện Biên Phủ",
    "Cửa Lò",
    "Mỹ Tho",
    "Buôn Ma Thuột",
    "Krông Pắc",
    "Xã Ia Dơk",
    "Phường Thủ Dầu Một",
    "Nước mắm Phú Quốc",
    "Vải thiều Lục Ngạn",
    "Thủy lợi",
    "Chất lượng không khí",
    "Trạm Đà Nẵng - Liên Chiểu",
    "Trạm Đông Hà",
    "Trạm Pleiku",
]
SAMPLES = PROVINCES_34 + PROVINCES_63_EXTRA + PHRASES
# Their VNI form is itself valid Vietnamese ("Sôn La", "TP Hoà Chí Minh"), so it cannot be detected.
VNI_AMBIGUOUS = ("Sơn La", "TP Hồ Chí Minh")
VNI_SAMPLES = [s for s in SAMPLES if s not in VNI_AMBIGUOUS]


def _has_uppercase_toned_vowel(text: str) -> bool:
    """Letters TCVN3 cannot write in capitals (it has codes only for Ă Â Ê Ô Ơ Ư Đ)."""
    return any(c.isupper() and not c.isascii() and c not in "ĂÂÊÔƠƯĐ" for c in text)


# --- the docs/domain.md ("Vietnamese text") examples and well-known real-world mojibake --------


def test_domain_md_tcvn3_example() -> None:
    assert to_tcvn3_mojibake("hộp mứt tết") == "hép møt tÕt"
    assert repair_vietnamese("hép møt tÕt") == "hộp mứt tết"


def test_domain_md_vni_example() -> None:
    assert to_vni_mojibake("Xin chào các bạn") == "Xin chaøo caùc baïn"
    assert repair_vietnamese("Xin chaøo caùc baïn") == "Xin chào các bạn"


@pytest.mark.parametrize(
    ("unicode_text", "tcvn3"),
    [
        ("Cộng hoà xã hội chủ nghĩa Việt Nam", "Céng hoµ x· héi chñ nghÜa ViÖt Nam"),
        ("Độc lập - Tự do - Hạnh phúc", "§éc lËp - Tù do - H¹nh phóc"),
        ("Thành phố Hồ Chí Minh", "Thµnh phè Hå ChÝ Minh"),
        ("Tiếng Việt", "TiÕng ViÖt"),
        ("Đà Nẵng", "§µ N½ng"),
        ("Trường", "Tr\u00adêng"),
    ],
)
def test_tcvn3_matches_real_world_mojibake(unicode_text: str, tcvn3: str) -> None:
    assert to_tcvn3_mojibake(unicode_text) == tcvn3
    assert repair_vietnamese(tcvn3) == unicode_text


@pytest.mark.parametrize(
    ("unicode_text", "vni"),
    [
        ("Cộng hoà xã hội chủ nghĩa Việt Nam", "Coäng hoaø xaõ hoäi chuû nghóa Vieät Nam"),
        ("Độc lập - Tự do - Hạnh phúc", "Ñoäc laäp - Töï do - Haïnh phuùc"),
        ("Thành phố Hồ Chí Minh", "Thaønh phoá Hoà Chí Minh"),
        ("Tiếng Việt", "Tieáng Vieät"),
        ("Đà Nẵng", "Ñaø Naüng"),
        ("Trường", "Tröôøng"),
        ("VIỆT NAM", "VIEÄT NAM"),
        ("ĐÀ NẴNG", "ÑAØ NAÜNG"),
    ],
)
def test_vni_matches_real_world_mojibake(unicode_text: str, vni: str) -> None:
    assert to_vni_mojibake(unicode_text) == vni
    assert repair_vietnamese(vni) == unicode_text


# TCVN3 byte of each lowercase letter, as produced by glibc's converter: iconv -t TCVN5712-1.
GLIBC_TCVN3 = {
    "àảãáạ": "b5 b6 b7 b8 b9",
    "ằẳẵắặ": "bb bc bd be c6",
    "ầẩẫấậ": "c7 c8 c9 ca cb",
    "èẻẽéẹ": "cc ce cf d0 d1",
    "ềểễếệ": "d2 d3 d4 d5 d6",
    "ìỉĩíị": "d7 d8 dc dd de",
    "òỏõóọ": "df e1 e2 e3 e4",
    "ồổỗốộ": "e5 e6 e7 e8 e9",
    "ờởỡớợ": "ea eb ec ed ee",
    "ùủũúụ": "ef f1 f2 f3 f4",
    "ừửữứự": "f5 f6 f7 f8 f9",
    "ỳỷỹýỵ": "fa fb fc fd fe",
    "ăâêôơưđĂÂÊÔƠƯĐ": "a8 a9 aa ab ac ad ae a1 a2 a3 a4 a5 a6 a7",
}


@pytest.mark.parametrize(("letters", "hex_bytes"), GLIBC_TCVN3.items())
def test_tcvn3_table_matches_glibc(letters: str, hex_bytes: str) -> None:
    assert to_tcvn3_mojibake(letters) == bytes.fromhex(hex_bytes).decode("cp1252")


def test_tcvn3_uppercase_toned_vowels_use_lowercase_bytes_and_come_back_lowercase() -> None:
    assert to_tcvn3_mojibake("HÀ NỘI") == "Hµ NéI"
    assert to_tcvn3_mojibake("Ấ") == to_tcvn3_mojibake("ấ") == "Ê"
    assert repair_vietnamese(to_tcvn3_mojibake("HÀ NỘI")) == "Hà NộI"
    assert repair_vietnamese(to_tcvn3_mojibake("ĐỒNG THÁP")) == "ĐồNG THáP"  # Đ has its own code


def test_vni_uppercase_uses_uppercase_diacritic_bytes() -> None:
    assert to_vni_mojibake("Ư Ơ Đ Ỉ Ỵ") == "Ö Ô Ñ Æ Î"
    assert to_vni_mojibake("ẶẮẰẲẴ") == "AËAÉAÈAÚAÜ"


def test_every_vietnamese_letter_round_trips_through_both_encodings_in_a_word() -> None:
    # Each letter sits inside a word next to "Nguyễn", which is always detectable, so this checks
    # that every letter of both tables decodes back; đ / Đ are tried as onsets.
    for letter in "àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵăâêôơư":
        for word in (f"Tr{letter}m Nguyễn", f"TR{letter.upper()}M NGUYỄN"):
            assert repair_vietnamese(to_vni_mojibake(word)) == word, word
        word = f"tr{letter}m nguyễn"
        assert repair_vietnamese(to_tcvn3_mojibake(word)) == word, word
    assert repair_vietnamese(to_tcvn3_mojibake("Đường đi")) == "Đường đi"
    assert repair_vietnamese(to_vni_mojibake("Đường đi")) == "Đường đi"


# --- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", SAMPLES)
def test_correct_unicode_is_not_flagged_in_nfc_nfd_or_ascii(text: str) -> None:
    for form in ("NFC", "NFD"):
        assert not looks_legacy_encoded(unicodedata.normalize(form, text))
        assert re.search(LEGACY_PATTERN_REGEX, unicodedata.normalize(form, text)) is None
    assert not looks_legacy_encoded(fold_key(text))
    assert not looks_legacy_encoded(text.upper())


@pytest.mark.parametrize(
    "text",
    ["µg/m³", "PM2.5 – 50 µg/Nm³", "25°C", "©2024 Sở TN&MT", "Coca-Cola®", "«Hà Nội»", "3×4 m", "½ kg", "§ 3", "", "A"],
)
def test_symbols_with_legitimate_uses_are_not_flagged(text: str) -> None:
    assert not looks_legacy_encoded(text)
    assert repair_vietnamese(text) == text


def test_none_is_not_legacy_encoded() -> None:
    assert looks_legacy_encoded(None) is False


@pytest.mark.parametrize("text", [s for s in VNI_SAMPLES if to_vni_mojibake(s) != s])
def test_vni_mojibake_is_flagged(text: str) -> None:
    assert looks_legacy_encoded(to_vni_mojibake(text))
    assert re.search(LEGACY_PATTERN_REGEX, to_vni_mojibake(text))


@pytest.mark.parametrize("text", [s.lower() for s in SAMPLES if to_tcvn3_mojibake(s.lower()) != s.lower()])
def test_tcvn3_mojibake_is_flagged(text: str) -> None:
    assert looks_legacy_encoded(to_tcvn3_mojibake(text))
    assert re.search(LEGACY_PATTERN_REGEX, to_tcvn3_mojibake(text))


def test_legacy_regex_is_plain_ascii_in_syntax_shared_by_python_and_java() -> None:
    assert LEGACY_PATTERN_REGEX.isascii()  # every non-ASCII character written as \uXXXX
    for construct in ("(?<", "(?P", "(?=", "(?!", "\\p{", "\\x", "*+", "++", "?+", "\\b", "\\w", "\\d", "\\s"):
        assert construct not in LEGACY_PATTERN_REGEX
    assert re.fullmatch(r"[A-Za-z0-9\\\-\[\]|():?]+", LEGACY_PATTERN_REGEX)  # no . * + { } ^ $


# --- repair ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", VNI_SAMPLES)
def test_repair_round_trips_vni(text: str) -> None:
    assert repair_vietnamese(to_vni_mojibake(text)) == text


@pytest.mark.parametrize("text", SAMPLES)
def test_repair_round_trips_tcvn3(text: str) -> None:
    assert repair_vietnamese(to_tcvn3_mojibake(text.lower())) == text.lower()
    if not _has_uppercase_toned_vowel(text):
        assert repair_vietnamese(to_tcvn3_mojibake(text)) == text


@pytest.mark.parametrize("text", SAMPLES)
def test_repair_turns_nfd_into_nfc(text: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert repair_vietnamese(nfd) == text
    assert is_nfc(repair_vietnamese(nfd))


def test_repair_keeps_none_and_clean_text() -> None:
    assert repair_vietnamese(None) is None
    assert repair_vietnamese("Hanoi 2025") == "Hanoi 2025"
    assert repair_vietnamese("Hoà Bình") == "Hoà Bình"  # old-style tone placement is not VNI "Hồ Bình"


@pytest.mark.parametrize(
    ("mojibake", "left_as"),
    [
        (to_vni_mojibake("Sơn La"), "Sôn La"),  # VNI "ơ" is the byte of the valid "ô"
        (to_vni_mojibake("TP Hồ Chí Minh"), "TP Hoà Chí Minh"),  # VNI "Hồ" reads as the valid "Hoà"
        (to_tcvn3_mojibake("hộp"), "hép"),  # a lone TCVN3 word made of valid letters
    ],
)
def test_mojibake_that_is_also_valid_vietnamese_is_left_alone(mojibake: str, left_as: str) -> None:
    assert not looks_legacy_encoded(mojibake)
    assert repair_vietnamese(mojibake) == left_as


@pytest.mark.parametrize("text", ["Müller", "Citroën", "François", "Ørsted", "Nhà máy Müller"])
def test_foreign_names_may_be_flagged_but_are_not_rewritten(text: str) -> None:
    assert repair_vietnamese(text) == text


def test_repair_prefers_the_encoding_that_gives_real_syllables() -> None:
    # "uû" is VNI for "ủ" and TCVN3 for "uỷ"; the rest of each text decides.
    assert repair_vietnamese("Thuûy lôïi") == "Thủy lợi"  # VNI
    assert repair_vietnamese("Uû ban nh©n d©n") == "Uỷ ban nhân dân"  # TCVN3


def test_repair_on_real_ward_names_from_vietnamadminunits() -> None:
    from vietnamadminunits.database import get_data

    names = sorted({r["ward"] for r in get_data(["ward"], table="admin_units")})
    assert len(names) > 2900
    for name in names:
        assert not looks_legacy_encoded(name), name
        assert not looks_legacy_encoded(unicodedata.normalize("NFD", name)), name
        assert repair_vietnamese(to_vni_mojibake(name)) == name, name
        assert repair_vietnamese(to_tcvn3_mojibake(name.lower())) == name.lower(), name


# --- NFC and fold keys -------------------------------------------------------------------------


def test_to_nfc_and_is_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn")
    assert nfd != "Nguyễn"
    assert to_nfc(nfd) == "Nguyễn"
    assert to_nfc(None) is None
    assert is_nfc("Nguyễn") is True
    assert is_nfc(nfd) is False
    assert is_nfc(None) is True


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Hoà Bình", "hoa binh"),
        ("Hòa  Bình ", "hoa binh"),
        (unicodedata.normalize("NFD", "HÒA BÌNH"), "hoa binh"),
        ("Đắk Lắk", "dak lak"),
        ("đường Trường Sơn", "duong truong son"),
        ("Bà Rịa - Vũng Tàu", "ba ria - vung tau"),
        ("Thừa\tThiên\nHuế", "thua thien hue"),
        ("", ""),
    ],
)
def test_fold_key(text: str, key: str) -> None:
    assert fold_key(text) == key


def test_fold_key_none() -> None:
    assert fold_key(None) is None
