"""The neutral page object: decoding once, in one order, and a tree for any text."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import lxml.etree
import pytest

from crawler.parsers.page import Page
from tests.golden import SPECIMENS
from tests.vietnamese import windows_1258

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
    """The tree the page's decoded text gives, NULs, comments and processing instructions
    dropped as both paths drop them: what the UTF-8 shortcut must reproduce."""
    text = page.text.replace("\x00", "")
    parser = lxml.etree.HTMLParser(remove_comments=True, remove_pis=True)
    return lxml.etree.tostring(lxml.etree.HTML(text, parser))


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


# --- charsets weighed as evidence (issue 17) ------------------------------------------------


def _legacy_page(meta: str, text: str = TEXT) -> bytes:
    return windows_1258(
        f"<html><head>{meta}<title>{text}</title></head><body><p>{text}</p></body></html>"
    )


@pytest.mark.parametrize(
    "header",
    ["text/html; charset=ISO-8859-1", "text/html; charset=windows-1252", "text/html"],
)
def test_a_server_default_charset_loses_to_the_meta_that_gives_vietnamese(header: str) -> None:
    # IIS and Apache sent a default charset whatever the page was; Latin-1 decodes any byte,
    # so "it decodes" proves nothing: the charset that yields Vietnamese letters wins.
    body = _legacy_page(
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">'
    )
    page = Page("http://x/", body, {"content-type": header})
    assert (page.charset, _title(page)) == ("windows-1258", TEXT)


def test_disagreeing_declarations_are_noted() -> None:
    body = _legacy_page('<meta charset="windows-1258">')
    page = Page("http://x/", body, {"content-type": "text/html; charset=ISO-8859-1"})
    assert page.encoding_note == (
        "HTTP header says iso-8859-1, meta says windows-1258; read as windows-1258"
    )
    agreeing = Page("http://x/", body, {"content-type": "text/html; charset=windows-1258"})
    assert agreeing.encoding_note is None


def test_valid_utf8_wins_over_a_single_byte_declaration() -> None:
    body = f'<html><head><meta charset="windows-1258"><title>{TEXT}</title></head></html>'
    page = Page("http://x/", body.encode(), {"content-type": "text/html; charset=windows-1258"})
    assert (page.charset, _title(page)) == ("utf-8", TEXT)
    assert page.encoding_note == (
        "HTTP header says windows-1258, meta says windows-1258; read as utf-8"
    )


def test_an_ascii_page_keeps_its_declared_charset() -> None:
    body = b'<html><head><meta charset="windows-1258"><title>Tin tuc</title></head></html>'
    page = Page("http://x/", body)
    assert (page.charset, page.encoding_note) == ("windows-1258", None)


def _legacy(font: str, text: str, header: str) -> Page:
    body = f"<html><body><p>{font}{text}</p></body></html>".encode("latin-1")
    return Page("http://x/", body, {"content-type": header})


# The header each test serves the page with, and what the note adds about it.
HEADERS = [
    ("text/html", ""),
    ("text/html; charset=ISO-8859-1", "; HTTP header says iso-8859-1; read as {}"),
    ("text/html; charset=UTF-8", "; HTTP header says utf-8; read as {}"),
]


@pytest.mark.parametrize(("header", "said"), HEADERS)
@pytest.mark.parametrize(
    ("tcvn3", "text"),
    [
        ("§¶ng Céng s¶n ViÖt Nam", "Đảng Cộng sản Việt Nam"),
        ("Th«ng b¸o lÞch tiÕp c«ng d©n", "Thông báo lịch tiếp công dân"),
        ("Tr\xadêng Uû ban nh©n d©n ®· kiÓm tra", "Trường Uỷ ban nhân dân đã kiểm tra"),
    ],
)
def test_tcvn3_pages_are_converted_to_unicode(
    header: str, said: str, tcvn3: str, text: str
) -> None:
    # "ViÖt Nam" in .VnTime is "Việt Nam": the fonts outweigh whatever charset is declared.
    page = _legacy('<font face=".VnTime">', tcvn3, header)
    assert page.tree.findtext(".//font") == text
    assert (page.charset, page.encoding_note) == (
        "TCVN3",
        "text in the TCVN3 font encoding, converted to Unicode" + said.format("TCVN3"),
    )


@pytest.mark.parametrize(("header", "said"), HEADERS)
def test_vni_pages_are_converted_to_unicode(header: str, said: str) -> None:
    # VNI writes a letter and its marks as separate bytes: "Coäng" in VNI-Times is "Cộng".
    page = _legacy("<span style=\"font-family: 'VNI-Times'\">", "Coäng hoøa xaõ hoäi", header)
    assert page.tree.findtext(".//span") == "Cộng hòa xã hội"
    assert (page.charset, page.encoding_note) == (
        "VNI",
        "text in the VNI font encoding, converted to Unicode" + said.format("VNI"),
    )


@pytest.mark.parametrize(("header", "said"), HEADERS)
def test_bytes_in_vni_fonts_that_are_no_vni_text_are_read_byte_for_byte(
    header: str, said: str
) -> None:
    # Latin-1 keeps each byte as one character, so the text can still be converted; a guess by
    # a detector (ISO-8859-15 turns "¸" into "ž") would garble it for good.
    page = _legacy("<span style=\"font-family: 'VNI-Times'\">", "Caf\xe9 cr\xe8me \xb8", header)
    assert page.tree.findtext(".//span") == "Caf\xe9 cr\xe8me \xb8"
    note = "text in the VNI font encoding, kept as read (not converted)"
    if "ISO" in header:
        said = ""  # the header named what the bytes were read as: nothing to add
    assert (page.charset, page.encoding_note) == ("iso-8859-1", note + said.format("iso-8859-1"))


def test_vietnamese_windows_bytes_under_two_utf8_declarations_are_read_as_such() -> None:
    body = windows_1258(f'<html><head><meta charset="utf-8"><title>{TEXT}</title></head></html>')
    page = Page("http://x/", body, {"content-type": "text/html; charset=utf-8"})
    assert (page.charset, _title(page)) == ("windows-1258", TEXT)
    assert page.encoding_note == "HTTP header says utf-8, meta says utf-8; read as windows-1258"


@pytest.mark.parametrize(
    ("body", "stray"),
    [
        ("<div><div><p>x</p></div></div>", False),
        # A stray closer, unmatched at the end of the page or closing a <section> early.
        ("<div><div><p>x</p></div></div></div>", True),
        ("<div><section><p>x</p></div></section>", True),
        # Pasted documents' misplaced <body> tags, more than libxml2 reports (it keeps the
        # first hundred errors): the closer's error after them is dropped.
        ("<div><p>x</p>" + "<body>" * 150 + "</div></div>", True),
    ],
)
def test_stray_end_tags_are_noticed(body: str, stray: bool) -> None:
    for headers in ({"content-type": "text/html; charset=UTF-8"}, {}):
        page = Page("http://x/", f"<html><body>{body}</body></html>".encode(), headers)
        assert page.stray_end_tags is stray


@pytest.mark.parametrize("charset", ["uu", "base64", "zlib", "rot13", "hex"])
@pytest.mark.parametrize("pasted", [False, True], ids=["windows-1258", "utf-8-with-a-paste"])
def test_a_declared_transform_that_is_no_charset_is_an_unknown_one(
    charset: str, pasted: bool
) -> None:
    """Found by fuzzing: Python's codecs know ``uu`` and ``base64``, which are no text
    encodings; a page declaring one raised LookupError out of its decoding (the article lost
    as unparseable). Such a declaration says no charset, as a misspelt one does."""
    text = " ".join([TEXT] * 3)
    if pasted:  # a UTF-8 page with a paragraph pasted from a windows-1258 one
        body = f"<p>{text}</p>".encode() + b"<p>" + windows_1258(TEXT) + b"</p>"
    else:
        body = b"<p>" + windows_1258(text) + b"</p>"
    head = f'<meta charset="{charset}">'.encode()
    page = Page("http://x/", head + body, {"content-type": f"text/html; charset={charset}"})
    assert page.encoding == ("utf-8" if pasted else "cp1258")
    assert unicodedata.normalize("NFC", page.tree.findtext(".//p")) == text
    assert "says an unknown charset" in (page.encoding_note or "")
