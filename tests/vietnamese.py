"""Vietnamese text as old pages wrote it, for the charset tests."""

from __future__ import annotations

import unicodedata

_TONES = "\u0300\u0301\u0303\u0309\u0323"


def windows_1258(text: str) -> bytes:
    """Encode as Vietnamese Windows does: base letters precomposed, tone marks combining."""
    out = []
    for char in text:
        try:
            out.append(char.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
            out.append((base + "".join(c for c in parts if c in _TONES)).encode("cp1258"))
    return b"".join(out)


# VNI-Windows, written from the rules of the VNI table (not from the converter's table, which
# the round-trips check): a letter's base in ASCII, then one Latin-1 byte the VNI fonts draw as
# its marks; ơ, ư, đ, the toned i and ỵ are single bytes. The capitals' bytes are the Latin-1
# capitals of the small letters' bytes.
_VNI_SINGLE_BASES = {"\u01a1": "ô", "\u01b0": "ö", "đ": "ñ"}  # ơ ư đ
_VNI_MARKS = {  # shape (none, breve, circumflex) -> tone (none, sắc, huyền, hỏi, ngã, nặng)
    "": ["", "ù", "ø", "û", "õ", "ï"],
    "\u0306": ["ê", "é", "è", "ú", "ü", "ë"],
    "\u0302": ["â", "á", "à", "å", "ã", "ä"],
}
_VNI_I = ["i", "í", "ì", "æ", "ó", "ò"]
VNI_TONES = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]
"""Combining tone marks in VNI's order: none, sắc, huyền, hỏi, ngã, nặng."""


def _vni_letter(char: str) -> str:
    lower = char.lower()
    parts = unicodedata.normalize("NFD", lower)
    tone = next((VNI_TONES.index(c) for c in parts if c in VNI_TONES[1:]), 0)
    shape = "".join(c for c in parts if c in "\u0302\u0306\u031b")
    base = parts[0]
    if lower in _VNI_SINGLE_BASES:
        spelled = _VNI_SINGLE_BASES[lower]
    elif shape == "\u031b":  # the horn: ơ, ư are single bytes, then the tone's byte
        spelled = _VNI_SINGLE_BASES[unicodedata.normalize("NFC", base + shape)]
        spelled += _VNI_MARKS[""][tone]
    elif base == "i":
        spelled = _VNI_I[tone]
    elif base == "y" and tone == 5:
        spelled = "î"
    else:
        spelled = base + _VNI_MARKS[shape][tone]
    return spelled.upper() if char != lower else spelled


def vni(text: str) -> bytes:
    """Encode as the VNI-Windows fonts expect; anything not Vietnamese must be ASCII."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char.isascii():
            out.append(char)
        else:
            out.append(_vni_letter(char))
    return "".join(out).encode("latin-1")


def vietnamese_letters() -> list[str]:
    """The 134 letters of Vietnamese beyond ASCII: 12 vowels with 6 tones, less the 6 plain
    ASCII vowels, and đ; small and capital."""
    vowels = ["a", "a\u0306", "a\u0302", "e", "e\u0302", "i", "o", "o\u0302", "o\u031b"]
    vowels += ["u", "u\u031b", "y"]
    small = [
        unicodedata.normalize("NFC", vowel + tone)
        for vowel in vowels
        for tone in VNI_TONES
        if not (vowel + tone).isascii()
    ]
    small.append("đ")
    return small + [letter.upper() for letter in small]
