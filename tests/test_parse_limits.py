"""Pages past libxml2's default limits (issue 12): deep nesting, huge text nodes, big bodies.

Such pages are real (Word pastes nest unclosed ``<font>`` tags hundreds deep; templates inline
data; editors leave huge comments) and, within the download size limit, still give their item.
"""

from __future__ import annotations

import pytest

from crawler.items import ArticleContent
from crawler.parsers.article import MAX_BYTES, parse_article
from crawler.parsers.page import Page
from tests.golden import SPECIMENS

URL = "https://lapvo.dongthap.gov.vn/web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"
UTF8 = {"content-type": "text/html; charset=UTF-8"}
HTML = (SPECIMENS / "a01-dtp.html").read_bytes()
BYLINE = b'<p style="text-align: right;">'


def _content(body: bytes) -> ArticleContent:
    result = parse_article(Page(URL, body, UTF8))
    assert result.content is not None, result.reason
    return result.content


EXPECTED = _content(HTML)


@pytest.mark.parametrize(
    "filler",
    [
        b"<!--" + b"x" * 11_000_000 + b"-->",
        b"<script>var data='" + b"A" * 11_000_000 + b"';</script>",
        b'<input type="hidden" value="' + b"B" * 11_000_000 + b'">',
    ],
    ids=["comment", "inline-script", "viewstate"],
)
def test_a_ten_megabyte_text_node_keeps_the_article(filler: bytes) -> None:
    # Ahead of the article: libxml2's limit stops the parse where it is hit.
    body = HTML.replace(b"</head>", b"</head>" + filler, 1)
    assert len(body) > 10_000_000
    assert _content(body) == EXPECTED


FIRST = b'<p style="text-align: justify;">Chi'


@pytest.mark.parametrize("depth", [300, 2000])
def test_unclosed_inline_tags_deeper_than_256_are_read(depth: int) -> None:
    # Unclosed <font> tags, as Word pastes leave them: the paragraph's end closes them all.
    body = HTML.replace(FIRST, FIRST[:-3] + b"<font>" * depth + b"Chi", 1)
    assert _content(body) == EXPECTED


def _nested(depth: int) -> bytes:
    start = HTML.index(FIRST)
    end = HTML.index(b"</p>", start) + 4
    return HTML[:start] + b"<div>" * depth + HTML[start:end] + b"</div>" * depth + HTML[end:]


@pytest.mark.parametrize("depth", [300, 2000])
def test_blocks_nested_deeper_than_256_are_read(depth: int) -> None:
    assert _content(_nested(depth)) == EXPECTED


@pytest.mark.parametrize("body", [_nested(3000), HTML.replace(FIRST, b"<b>" * 5000 + FIRST, 1)])
def test_past_libxml2s_nesting_limit_the_page_is_refused_as_too_deep(body: bytes) -> None:
    # libxml2 stops building the tree at 2,048 levels even with huge_tree: the rest of the page
    # is missing, so the parse says so rather than give a part of the article or a soft 404.
    result = parse_article(Page(URL, body, UTF8))
    assert (result.content, result.reason) == (None, "too-deep")


def test_ten_megabytes_of_paragraphs_after_the_page_still_give_the_article() -> None:
    filler = b"<p>" + "Văn bản lặp lại rất dài. ".encode() * 40 + b"</p>\n"
    big = HTML.replace(b"</footer>", b"</footer>" + filler * (10_000_000 // len(filler)), 1)
    content = _content(big)
    assert (content.title, content.paragraphs) == (EXPECTED.title, EXPECTED.paragraphs)


def test_a_body_over_the_limit_is_refused() -> None:
    big = HTML.replace(b"</footer>", b"</footer><!--" + b"x" * MAX_BYTES + b"-->", 1)
    result = parse_article(Page(URL, big, UTF8))
    assert (result.content, result.reason) == (None, "too-large")
