"""The neutral page object: decoding once, in one order, and a tree for any text."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import lxml.etree
import pytest

from crawler.parsers.page import Page
from tests.golden import SPECIMENS

TEXT = "Thường trực Huyện uỷ Lấp Vò"


def test_bom_wins_over_declarations() -> None:
    body = codecs.BOM_UTF8 + f"<p>{TEXT}</p>".encode()
    page = Page("http://x/", body, {"content-type": "text/html; charset=windows-1258"})
    assert page.encoding == "utf-8"
    assert page.text == f"<p>{TEXT}</p>"


def _windows_1258_page() -> bytes:
    # A Word-pasted Liferay 6.2 page that declares windows-1258 in a meta tag.
    return (Path(__file__).parent / "data" / "themes" / "t04-lr62-word.html").read_bytes()


def _title(page: Page) -> str:
    return unicodedata.normalize("NFC", page.tree.findtext(".//title"))


def test_meta_charset_is_used_when_http_says_nothing() -> None:
    page = Page("http://x/", _windows_1258_page())
    assert page.encoding == "cp1258"
    assert _title(page).startswith("Thanh Bình tập huấn chuyển đổi số")


def test_a_declared_charset_the_bytes_contradict_is_not_trusted() -> None:
    page = Page("http://x/", _windows_1258_page(), {"content-type": "text/html; charset=UTF-8"})
    assert page.encoding == "cp1258"
    assert _title(page).startswith("Thanh Bình tập huấn chuyển đổi số")


def test_tree_accepts_an_xml_declaration_and_empty_bodies() -> None:
    body = f'<?xml version="1.0" encoding="utf-8"?><html><body><p>{TEXT}</p></body></html>'
    assert Page("http://x/", body.encode()).tree.findtext(".//p") == TEXT
    assert Page("http://x/", b"").tree.tag == "html"


def _text_tree(page: Page) -> bytes:
    """The tree the page's decoded text gives: what the UTF-8 shortcut must reproduce."""
    return lxml.etree.tostring(lxml.etree.HTML(page.text, lxml.etree.HTMLParser()))


def test_utf8_bytes_parse_to_the_same_tree_as_their_text() -> None:
    tricky = (
        f"<html><body>\r\n<p>{TEXT}\r\nx\x00y\x0bz &nbsp;&#0;&#xD800; \U0001f600</p>"
        "<script>if (a<b && c>d) {}</script><!-- note --><p title='Đ'>&amp;</p>"
    )
    for body in (tricky.encode(), (SPECIMENS / "a01-dtp.html").read_bytes()):
        page = Page("http://x/", body, {"content-type": "text/html; charset=UTF-8"})
        tree = lxml.etree.tostring(page.tree)
        assert "text" not in page.__dict__  # parsed from the bytes: the text was never needed
        assert tree == _text_tree(page)


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="windows-1258">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">',
    ],
)
def test_utf8_bytes_ignore_a_meta_charset_they_contradict(meta: str) -> None:
    body = f"<html><head>{meta}<title>{TEXT}</title></head></html>".encode()
    page = Page("http://x/", body, {"content-type": "text/html; charset=UTF-8"})
    assert _title(page) == TEXT
    assert "text" not in page.__dict__


@pytest.mark.parametrize("start", ["", " \n", "\u00a0", "junk "])
def test_an_xml_declaration_anywhere_before_the_first_tag_takes_the_text_path(
    start: str,
) -> None:
    body = f'{start}<?xml version="1.0" encoding="utf-8"?><html><p>{TEXT}</p></html>'.encode()
    page = Page("http://x/", body)
    assert page.tree.findtext(".//p") == TEXT
    assert "text" in page.__dict__
