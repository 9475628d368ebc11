"""Text normalisation: NFC, folded white space, the words exactly as written."""

from __future__ import annotations

import unicodedata

import pytest

from crawler.parsers.text import clean, has_words, same_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Thường trực\n\tHuyện uỷ  ", "Thường trực Huyện uỷ"),
        ("Lớp học\xa0\xa0 do Sở", "Lớp học do Sở"),
        ("a\u2003b\u202fc\u3000d", "a b c d"),
        ("Thu\u200bhoạch\u00ad xoài", "Thuhoạch xoài"),
        ("tab\x0bvertical\x0cfeed", "tabverticalfeed"),
        ("", ""),
    ],
    ids=["spaces", "nbsp", "unicode-spaces", "invisible", "controls", "empty"],
)
def test_clean_folds_white_space(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_composes_nfd() -> None:
    nfd = unicodedata.normalize("NFD", "Huyện uỷ Lấp Vò")
    assert nfd != "Huyện uỷ Lấp Vò"
    assert clean(nfd) == "Huyện uỷ Lấp Vò"


@pytest.mark.parametrize(
    "words",
    ["Huyện uỷ hoà thuận", "Huyện ủy hòa thuận", "sự cố gắn và đóp góp", "Covid-19 ./."],
    ids=["old-tones", "new-tones", "typos", "punctuation"],
)
def test_clean_keeps_words_as_written(words: str) -> None:
    assert clean(words) == words


def test_has_words() -> None:
    assert has_words("Ảnh")
    assert has_words("2022")
    assert not has_words(" | › / ")


def test_same_text_ignores_case_and_trailing_dots() -> None:
    assert same_text("Xoài Cao Lãnh vào vụ.", "xoài cao lãnh vào vụ")
    assert not same_text("Xoài Cao Lãnh", "Xoài Cao Lãnh vào vụ")
