"""Vietnamese text of the font-encoding era (before Unicode took over, about 2000–2008).

TCVN3 (ABC) and VNI pages carry Vietnamese as Latin-1 bytes that only their fonts (``.VnTime``,
``VNI-Times``) draw as Vietnamese letters: "ViÖt Nam" in ``.VnTime`` is "Việt Nam". The font
names in the markup give such a page away. TCVN3 is one byte per letter; VNI writes a letter's
base in ASCII and its marks as one more byte ("Vieät" is "Việt"). Both convert to Unicode (NFC)
exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_FONTS = (
    (re.compile(rb"""font-family\s*:\s*["']?\.vn|face\s*=\s*["']?\.vn""", re.I), "TCVN3"),
    (re.compile(rb"""font-family\s*:\s*["']?vni[- ]|face\s*=\s*["']?vni[- ]""", re.I), "VNI"),
)
# Every such font name has one of these spellings: a plain search rules out nearly every page
# before the patterns (case-insensitive, so several times slower) read it. Not ".vn": every
# Vietnamese domain name has it, and TCVN3 fonts are written ".VnTime".
_HINTS = (b".Vn", b".VN", b"VNI", b"Vni", b"vni-")

# TCVN 5712:1993 (VN3), the bytes that differ from Latin-1: the letters with breve, circumflex
# and horn, đ, and every toned vowel in the order huyền, hỏi, ngã, sắc, nặng. Capitals with a
# tone have no codes: ".VnTimeH"-style fonts draw the small letters' codes as capitals.
_TCVN3_LETTERS = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}  # fmt: skip
# From the Latin-1 reading of the bytes (one character per byte) to the letters.
_TCVN3 = str.maketrans({chr(code): letter for code, letter in _TCVN3_LETTERS.items()})


def font_encoding(body: bytes) -> str | None:
    """``TCVN3`` or ``VNI`` when the page sets its text in that family's fonts, else None."""
    if not any(hint in body for hint in _HINTS):
        return None
    for pattern, name in _FONTS:
        if pattern.search(body):
            return name
    return None


def decode_tcvn3(body: bytes) -> str:
    """TCVN3 bytes as Unicode text (markup, being ASCII, is unchanged)."""
    return body.decode("latin-1").translate(_TCVN3)


# VNI-Windows (checked against xvnkb's ``vni.h`` and the VNI column of the "Bảng đối chiếu
# encoding" tables): each row's letters with the tones none, sắc, huyền, hỏi, ngã, nặng, and
# their VNI spellings read as Latin-1. Capitals are the Latin-1 capitals of both: "AÙ" is "Á".
_VNI_ROWS = (
    ("aáàảãạ", "a aù aø aû aõ aï"),
    ("ăắằẳẵặ", "aê aé aè aú aü aë"),
    ("âấầẩẫậ", "aâ aá aà aå aã aä"),
    ("eéèẻẽẹ", "e eù eø eû eõ eï"),
    ("êếềểễệ", "eâ eá eà eå eã eä"),
    ("iíìỉĩị", "i í ì æ ó ò"),
    ("oóòỏõọ", "o où oø oû oõ oï"),
    ("ôốồổỗộ", "oâ oá oà oå oã oä"),
    ("ơớờởỡợ", "ô ôù ôø ôû ôõ ôï"),
    ("uúùủũụ", "u uù uø uû uõ uï"),
    ("ưứừửữự", "ö öù öø öû öõ öï"),
    ("yýỳỷỹỵ", "y yù yø yû yõ î"),
    ("đ", "ñ"),
)
_VNI = {
    spelled: letter
    for letters, spellings in _VNI_ROWS
    for letter, spelled in zip(letters, spellings.split(), strict=True)
    for letter, spelled in ((letter, spelled), (letter.upper(), spelled.upper()))
    if not spelled.isascii()
}
# Longest first: "aâ" must not be read as "a" then a stray "â".
_VNI_SEQUENCE = re.compile("|".join(sorted(_VNI, key=len, reverse=True)))
# Latin-1 letters (not × ÷): in a VNI page each is a VNI spelling's byte.
_LATIN1_LETTER = re.compile("[\xc0-\xd6\xd8-\xf6\xf8-\xff]")
# A page names its fonts, not what its bytes are: a Western page in a VNI font must not be
# "converted". VNI text has every high byte in a VNI spelling, and most of them are marks after
# a letter (only ơ ư đ and the toned i are single bytes); Spanish "año", "información" are
# VNI spellings one by one, never a letter and a mark.
_VNI_EXPLAINED = 0.95
_VNI_PAIRED = 0.5


def decode_vni(body: bytes) -> str | None:
    """VNI bytes as Unicode text (markup, being ASCII, is unchanged); None when the bytes do
    not read as VNI (high bytes that no VNI spelling explains, or no letter-and-mark pairs)."""
    text = body.decode("latin-1")
    found: list[str] = []
    converted = _VNI_SEQUENCE.sub(_collect(found), text)
    explained = sum(len(spelled) - spelled[0].isascii() for spelled in found)
    paired = sum(len(spelled) == 2 for spelled in found)
    if not found or explained < _VNI_EXPLAINED * len(_LATIN1_LETTER.findall(text)):
        return None
    if paired < _VNI_PAIRED * len(found):
        return None
    return converted


def _collect(found: list[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        found.append(match.group())
        return _VNI[match.group()]

    return replace
