"""Text normalisation shared by the parsers: NFC, folded white space, words kept as written."""

from __future__ import annotations

import re
import unicodedata

# Invisible formatting characters Word and editors leave between letters; they are not spaces.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w")
# Every character ``clean`` would drop or fold: the invisible ones above and every Unicode space
# but the plain one (what str.split() splits on). Text free of them and of double spaces is clean.
_UNCLEAN = re.compile(
    "[\x00-\x1f\x7f\x85\xa0\u00ad\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff]"
)


def clean(text: str) -> str:
    """NFC, invisible characters dropped, white space runs folded to one space, trimmed."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    # Most text is clean already; splitting a long paragraph into words only to rejoin them
    # costs several times the scan that proves there is nothing to fold. Every character
    # ``_UNCLEAN`` names is unprintable, and str.isprintable is the faster scan of the two.
    if "  " not in text and (text.isprintable() or _UNCLEAN.search(text) is None):
        return text.strip(" ")
    text = _INVISIBLE.sub("", text)
    # str.split() splits on every Unicode space: NBSP, en/em spaces, NNBSP, ideographic space.
    return " ".join(text.split())


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only punctuation)."""
    return _WORD.search(text) is not None


def same_text(a: str, b: str) -> bool:
    """Equality that ignores case and trailing punctuation (titles repeated in chrome)."""
    a, b = a.rstrip(" .:"), b.rstrip(" .:")
    # Case folding makes one to three characters of each, never " ", "." or ":": texts this far
    # apart in length never fold equal, so a paragraph compared with a title is not folded.
    if len(a) > 3 * len(b) or len(b) > 3 * len(a):
        return False
    return a.casefold() == b.casefold()
