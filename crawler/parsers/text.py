"""Text normalisation shared by the parsers: NFC, folded white space, words kept as written."""

from __future__ import annotations

import re
import unicodedata

# Invisible formatting characters Word and editors leave between letters; they are not spaces.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w")


def clean(text: str) -> str:
    """NFC, invisible characters dropped, white space runs folded to one space, trimmed."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    # str.split() splits on every Unicode space: NBSP, en/em spaces, NNBSP, ideographic space.
    return " ".join(text.split())


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only punctuation)."""
    return _WORD.search(text) is not None


def same_text(a: str, b: str) -> bool:
    """Equality that ignores case and trailing punctuation (titles repeated in chrome)."""
    return a.casefold().rstrip(" .:") == b.casefold().rstrip(" .:")
