"""Golden tests over every specimen page, field by field, and the parser's bad-input contract."""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from typing import Any
from urllib.parse import urljoin

import pytest

from crawler.extract import ListingContext, build_item
from crawler.items import ArticleContent, ArticleItem
from crawler.parsers.article import ArticleResult, parse_article
from crawler.parsers.page import Page
from tests.golden import FIELDS, SPECIMENS, actual
from tests.vietnamese import windows_1258

NAMES = sorted(path.stem for path in SPECIMENS.glob("*.json"))
UTF8 = {"content-type": "text/html; charset=UTF-8"}


@cache
def _specimen(name: str) -> tuple[dict[str, Any], bytes]:
    answer = json.loads((SPECIMENS / f"{name}.json").read_text(encoding="utf-8"))
    return answer, (SPECIMENS / f"{name}.html").read_bytes()


@cache
def _parsed(name: str) -> ArticleResult:
    answer, body = _specimen(name)
    return parse_article(Page(answer["url"], body, UTF8))


def _content(name: str) -> ArticleContent:
    result = _parsed(name)
    assert result.content is not None, result.reason
    return result.content


def _expected(field: str, answer: dict[str, Any]) -> Any:
    if field == "images":
        return [(urljoin(answer["url"], i["src"]), i["caption"]) for i in answer["images"]]
    if field == "attachments":
        return [a if isinstance(a, str) else a["title"] for a in answer["attachments"]]
    return answer[field]


def _zoned(answer_time: str) -> str:
    """An answer's ``2022-06-30T16:30`` as the item writes it; a bare date as it is."""
    return f"{answer_time}:00+07:00" if "T" in answer_time else answer_time


def _item(name: str) -> ArticleItem:
    """The item a crawl makes of the page, reached from a listing that shows what the answer
    says the listing shows: its date and section."""
    answer, _ = _specimen(name)
    listing = ListingContext(date=_zoned(answer["published"]), section=answer["category"])
    return build_item(answer["url"], _content(name), fetched_at="", warc=None, listing=listing)


@pytest.mark.parametrize("field", [f for f in FIELDS if f != "category"])
@pytest.mark.parametrize("name", NAMES)
def test_specimen_field(name: str, field: str) -> None:
    answer, _ = _specimen(name)
    assert actual(field, _content(name)) == _expected(field, answer)


@pytest.mark.parametrize("name", NAMES)
def test_specimen_item_category_and_date(name: str) -> None:
    # The page's own breadcrumb or, where it shows none (a03-lr62), the listing's section; the
    # date the page shows or, where it shows none, the listing's.
    answer, _ = _specimen(name)
    item = _item(name)
    assert item.category == answer["category"]
    shown = answer["published_on_page"]
    assert (item.published, item.published_source) == (
        (_zoned(shown), "page") if shown else (_zoned(answer["published"]), "listing")
    )


def test_only_a03_lr62_takes_its_section_from_the_listing() -> None:
    from_listing = [name for name in NAMES if _content(name).category is None]
    assert from_listing == ["a03-lr62"]


def test_date_falls_back_to_first_image_upload_time() -> None:
    content = _content("a01-dtp")  # no date on the page; first photo has t=1656574380000
    assert (content.published, content.published_source) == ("2022-06-30T14:33:00+07:00", "image")


@pytest.mark.parametrize("name", NAMES)
def test_chrome_never_leaks_into_text(name: str) -> None:
    content = _content(name)
    texts = [content.title, content.summary or "", content.byline or "", *content.paragraphs]
    texts += content.captions
    for text in texts:
        assert text.strip() != "null"
        assert "Xuất bản thông tin" not in text
        assert "Các tin khác" not in text
        assert unicodedata.is_normalized("NFC", text)
        assert "  " not in text and "\xa0" not in text


def test_parsing_is_deterministic() -> None:
    answer, body = _specimen("a07-dtp")
    page = Page(answer["url"], body, UTF8)
    assert parse_article(page) == parse_article(Page(answer["url"], body, UTF8))


# --- bad input: any bytes in, a result out -------------------------------------------------


def _a01(body: bytes | None = None, headers: dict[str, str] | None = None) -> ArticleResult:
    answer, html = _specimen("a01-dtp")
    return parse_article(Page(answer["url"], html if body is None else body, headers or {}))


def _title_a01() -> str:
    return _specimen("a01-dtp")[0]["title"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty-body"),
        (b" \r\n\t ", "empty-body"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "binary"),
        (bytes(range(256)) * 8, "binary"),
        (b"<html><body></body></html>", "empty-body"),
        (
            b"<html><body><nav><a href='/'>Trang ch\xe1\xbb\xa7</a></nav></body></html>",
            "not-article",
        ),
        (b"<<<<>>>> r\xc3\xa1c &&&&;;;;", "not-article"),
    ],
    ids=["empty", "spaces", "png", "pdf", "noise", "no-text", "nav-only", "garbage"],
)
def test_bad_bodies_give_a_reason(body: bytes, reason: str) -> None:
    result = _a01(body)
    assert (result.content, result.reason) == (None, reason)


def test_truncated_html_keeps_what_arrived() -> None:
    html = _specimen("a01-dtp")[1]
    cut = html[: html.index(b"Trong 06 th")]
    content = _a01(cut).content
    assert content is not None
    assert content.title == _title_a01()
    assert content.paragraphs[0].startswith("Chiều ngày 30 tháng 6 năm 2022")
    assert content.images[0].caption == "Các đại biểu tham dự tại Hội nghị"


def test_nfd_input_comes_out_nfc() -> None:
    html = _specimen("a01-dtp")[1].decode("utf-8")
    content = _a01(unicodedata.normalize("NFD", html).encode("utf-8"), UTF8).content
    assert content == _content("a01-dtp")


def test_xml_declaration_is_accepted() -> None:
    html = _specimen("a01-dtp")[1]
    content = _a01(b'<?xml version="1.0" encoding="UTF-8"?>\n' + html).content
    assert content is not None and content.title == _title_a01()


def test_inline_base64_photos_do_not_make_a_page_too_large() -> None:
    html = _specimen("a01-dtp")[1]
    photo = b'<p><img src="data:image/png;base64,' + b"iVBORw0KGgo" * 900_000 + b'" /></p>'
    big = html.replace(b'<p style="text-align: right;">', photo + b'<p style="text-align: right;">')
    content = _a01(big).content
    assert content is not None
    assert content.byline == "Đăng Khoa" and len(content.images) == 2


# --- charsets --------------------------------------------------------------------------------


def _a01_text() -> str:
    return _specimen("a01-dtp")[1].decode("utf-8")


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (windows_1258(_a01_text()), UTF8),  # says UTF-8 in header and meta, sends 1258
        (windows_1258(_a01_text().replace("charset=UTF-8", "charset=windows-1258")), {}),
        (windows_1258(_a01_text().replace("; charset=UTF-8", "")), {"content-type": "text/html"}),
        (_a01_text().encode("utf-8"), {"content-type": "text/html; charset=windows-1258"}),
        (
            b"\xef\xbb\xbf" + _a01_text().encode("utf-8"),
            {"content-type": "text/html; charset=latin-1"},
        ),
        (_a01_text().replace("; charset=UTF-8", "").encode("utf-8"), {}),
    ],
    ids=[
        "declared-utf8-sent-1258",
        "1258",
        "no-charset-1258",
        "declared-1258-sent-utf8",
        "bom",
        "none",
    ],
)
def test_charsets_decode_to_the_same_article(body: bytes, headers: dict[str, str]) -> None:
    content = _a01(body, headers).content
    expected = _content("a01-dtp")
    assert content is not None
    assert (content.title, content.paragraphs, content.captions, content.byline) == (
        expected.title,
        expected.paragraphs,
        expected.captions,
        expected.byline,
    )
