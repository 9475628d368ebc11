"""Vietnamese-aware text folding for search: the same letters whatever the marks.

A reader types ``thuong truc huyen uy`` for ``Thường trực Huyện uỷ``, and archived pages write
``hoà`` where others write ``hòa`` (the old and new tone placement), in NFC or NFD. Folding
decomposes (NFD), drops the combining marks (tones, breve, circumflex, horn), maps ``đ``/``Đ``
(a letter of its own, with no decomposition) to ``d``, and case-folds: every variant of a word
then folds to the same string, e.g. ``hoà``, ``hòa`` and ``HOÀ`` to ``hoa``.
"""

from __future__ import annotations

import re
import unicodedata

# Letters and digits; "_" is a separator, as it is for SQLite's unicode61 tokenizer.
_WORD = re.compile(r"[^\W_]+")


def fold_char(char: str) -> str:
    """The folded form of one character (usually one character; empty for a lone mark)."""
    decomposed = unicodedata.normalize("NFD", char)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.replace("đ", "d").replace("Đ", "D").casefold()


class _FoldTable(dict[int, str]):
    """``str.translate`` table folding each character, filled as characters are met; notes
    the characters that do not fold to exactly one (lone marks, ``ß``)."""

    uneven: set[str]

    def __missing__(self, code: int) -> str:
        folded = self[code] = fold_char(chr(code))
        if len(folded) != 1:
            self.uneven.add(chr(code))
        return folded


_TABLE = _FoldTable()
_TABLE.uneven = set()


def fold(text: str) -> str:
    """``text`` folded: no marks, ``đ`` as ``d``, case-folded."""
    return text.translate(_TABLE)


class _WordTable(dict[int, str]):
    """``str.translate`` table folding each character and turning every character that is
    not a letter or digit once folded into a space: the words of :func:`words`, in one pass
    in C (the search index folds every article it adds: a regex over the folded text took
    as long again)."""

    def __missing__(self, code: int) -> str:
        mapped = self[code] = "".join(c if c.isalnum() else " " for c in fold_char(chr(code)))
        return mapped


_WORD_TABLE = _WordTable()


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return _WORD.findall(fold(text))


def folded_words(text: str) -> str:
    """``" ".join(words(text))``, faster."""
    return " ".join(text.translate(_WORD_TABLE).split())


def folded_with_positions(text: str) -> tuple[str, list[int] | range]:
    """``text`` folded, and for each folded character the index of the character of ``text``
    it came from: so a match found in the folded text can be shown in the original."""
    folded = text.translate(_TABLE)
    if _TABLE.uneven.isdisjoint(text):
        return folded, range(len(text))  # one character for one: the usual case
    origins: list[int] = []
    for index, char in enumerate(text):
        origins.extend([index] * len(_TABLE[ord(char)]))
    return folded, origins
