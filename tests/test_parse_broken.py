"""Broken markup still gives the article (tests/data/broken/ and the replica's broken page).

Each ``NAME.html`` is the ``a01-dtp`` specimen broken one way a CMS editor, a Word paste or a
cut connection breaks pages (tests/data/broken/README.md); ``NAME.json`` holds what a browser
still shows of the article, field by field. Where the breakage itself loses text (a page cut
short, a comment never closed), the answer keeps what is there and nothing more.
"""

from __future__ import annotations

import json
import logging
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from crawler.items import ArticleContent
from crawler.parsers.article import ArticleResult, parse_article
from crawler.parsers.page import Page
from replica.catalog import Catalog
from replica.render import CUR, Renderer
from tests.golden import FIELDS, SPECIMENS, actual

DATA = Path(__file__).parent / "data" / "broken"
ANSWERS = {path.stem: json.loads(path.read_text("utf-8")) for path in DATA.glob("*.json")}
ARTICLES = sorted(name for name, answer in ANSWERS.items() if "reason" not in answer)
UNREAD = sorted(name for name, answer in ANSWERS.items() if "reason" in answer)
UTF8 = {"content-type": "text/html; charset=UTF-8"}
BASE = "http://127.0.0.1:8000"
REPLICA_FIELDS = (*FIELDS, "published", "breadcrumbs", "charset")


@cache
def _parsed(name: str) -> ArticleResult:
    body = (DATA / f"{name}.html").read_bytes()
    return parse_article(Page(ANSWERS[name]["url"], body, UTF8))


def _content(result: ArticleResult) -> ArticleContent:
    assert result.content is not None, result.reason
    return result.content


def _expected(field: str, answer: dict[str, Any]) -> Any:
    if field == "images":
        return [(urljoin(answer["url"], i["src"]), i["caption"]) for i in answer["images"]]
    return answer[field]


def test_every_breakage_has_its_page() -> None:
    assert len(ARTICLES) >= 12 and UNREAD
    assert all((DATA / f"{name}.html").exists() for name in ANSWERS)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("name", ARTICLES)
def test_broken_page_field(name: str, field: str) -> None:
    assert actual(field, _content(_parsed(name))) == _expected(field, ANSWERS[name])


@pytest.mark.parametrize("name", UNREAD)
def test_a_body_that_cannot_be_read_is_said_so(name: str, caplog: pytest.LogCaptureFixture) -> None:
    # Not an article without a body, nor a soft 404: the report counts it, the log warns.
    _parsed.cache_clear()
    with caplog.at_level(logging.WARNING, logger="crawler.parsers.article"):
        result = _parsed(name)
    assert (result.content, result.reason) == (None, ANSWERS[name]["reason"])
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


@cache
def _replica_pair() -> tuple[ArticleResult, ArticleResult]:
    """The replica's ``--broken-html`` article parsed as served broken, and as served whole."""
    catalog = Catalog(20, broken_html=True)
    article = next(a for a in catalog.articles.values() if a.broken)
    renderer = Renderer(catalog, BASE)
    url = BASE + article.path

    def parse(html: str) -> ArticleResult:
        # What the server does per request: the current URL in the page's redirect= links.
        return parse_article(Page(url, html.replace(CUR, "x").encode(), UTF8))

    return parse(renderer.broken(article)), parse(renderer.article(article))


@pytest.mark.parametrize("field", REPLICA_FIELDS)
def test_replica_broken_article_gives_the_whole_articles_field(field: str) -> None:
    broken, whole = (_content(result) for result in _replica_pair())
    assert whole.paragraphs and whole.captions
    assert actual(field, broken) == actual(field, whole)


_CATALOG = Catalog(60)
_GENERATED = sorted(a.asset_id for a in _CATALOG.articles.values() if not a.specimen)


@pytest.mark.parametrize("asset_id", _GENERATED)
def test_every_replica_article_broken_gives_it_whole(asset_id: int) -> None:
    # The replica's breakage on each of its articles, both themes (figures, caption lines).
    article = _CATALOG.articles[asset_id]
    renderer = Renderer(_CATALOG, BASE)
    url = BASE + article.path
    broken, whole = (
        parse_article(Page(url, html.replace(CUR, "x").encode(), UTF8))
        for html in (renderer.broken(article), renderer.article(article))
    )
    assert whole.content is not None
    assert broken.content == whole.content


def _break_table(html: str) -> str:
    """The replica's breakage (``Renderer.broken``) on a page of the portal's own theme."""
    html = html.replace("</p>", "").replace(_BODY, _BODY + "<table><tr><td><b>", 1)
    html = html.replace("</section>\n<footer", "</td></tr></span>\n<footer", 1)
    return html.removesuffix("</body>\n</html>\n")


def _break_tools(html: str) -> str:
    """The tools box above the body loses its ``</div>``."""
    start = html.index('<div class="tools-detail">')
    end = html.index("</div>", start)
    return html[:end] + html[end + len("</div>") :]


def _break_font(html: str) -> str:
    """Every text paragraph opens a ``<font>`` that is never closed, and no ``</p>``."""
    opening = '<p style="text-align: justify;">'
    return html.replace(opening, opening + '<font size="3">').replace("</p>", "")


def _closers_after(html: str, paragraph: str, count: int) -> str:
    """``count`` stray ``</div>`` typed after the body's first or last paragraph."""
    start = html.index(_BODY)
    if paragraph == "first":
        end = html.index("</p>", start) + len("</p>")
    else:
        end = html.index("</p>\n</div>", start) + len("</p>")
    return html[:end] + "</div>" * count + html[end:]


# Stray closers after the first paragraph: two close the body early, four its root too,
# eight the widget, eleven the page's column and row, sixteen every container up to <body>
# (the rest go unmatched).
_CLOSER_COUNTS = (2, 4, 8, 11, 16)
_BODY = '<div class="content-detail">'
_BREAKS = {
    "table": _break_table,
    "tools": _break_tools,
    "font": _break_font,
    **{
        f"closers-{count}": partial(_closers_after, paragraph="first", count=count)
        for count in _CLOSER_COUNTS[1:]
    },
}
_THEMED = sorted(path.stem for path in SPECIMENS.glob("*.html") if _BODY in path.read_text("utf-8"))


@pytest.mark.parametrize("breakage", sorted(_BREAKS))
@pytest.mark.parametrize("name", _THEMED)
def test_every_specimen_broken_gives_it_whole(name: str, breakage: str) -> None:
    url = json.loads((SPECIMENS / f"{name}.json").read_text("utf-8"))["url"]
    html = (SPECIMENS / f"{name}.html").read_text("utf-8")
    whole = parse_article(Page(url, html.encode(), UTF8)).content
    broken = parse_article(Page(url, _BREAKS[breakage](html).encode(), UTF8)).content
    assert whole is not None and broken is not None
    # The date too: closers that close the widget early push the date line at its foot (the
    # 7.0/7.1 pages') out of it, where it is still the article's.
    assert broken == whole


@pytest.mark.parametrize("count", _CLOSER_COUNTS)
@pytest.mark.parametrize("paragraph", ["first", "last"])
@pytest.mark.parametrize("name", ["c01-next-widget", "c02-next-widget-dated"])
def test_stray_closers_give_the_article_and_leave_the_next_widget(
    name: str, paragraph: str, count: int
) -> None:
    # The seed page with another widget after the article in its column (its own paragraphs
    # and date line), once with the article's date line at the foot of its widget: however
    # far the closers reach, the article is the whole page's, and the next widget's
    # paragraphs and date stay out of it.
    html = (DATA / f"{name}.html").read_text("utf-8")
    url = ANSWERS[name]["url"]
    whole = parse_article(Page(url, html.encode(), UTF8)).content
    broken = parse_article(Page(url, _closers_after(html, paragraph, count).encode(), UTF8))
    assert whole is not None and _content(broken) == whole
    assert actual("published_on_page", whole) == ANSWERS[name]["published_on_page"]


def test_text_pasted_in_another_charset_is_read_in_it_and_noted() -> None:
    content = _content(_parsed("b11-mixed-encoding"))
    assert content.charset == "utf-8"
    # The text of the second paragraph, whole: 1,321 bytes in windows-1258.
    assert content.encoding_note == (
        "1321 bytes of text not valid UTF-8 (pasted in another charset), read as windows-1258"
    )


def test_pasted_text_is_read_in_windows_1258_whatever_default_the_server_declares() -> None:
    body = (DATA / "b11-mixed-encoding.html").read_bytes()
    latin1 = {"content-type": "text/html; charset=ISO-8859-1"}
    content = _content(parse_article(Page(ANSWERS["b11-mixed-encoding"]["url"], body, latin1)))
    assert content.paragraphs == ANSWERS["b11-mixed-encoding"]["paragraphs"]


def _a01_with_first_paragraph(opening: str, closing: str) -> ArticleContent:
    """The whole ``a01-dtp`` page (b-pages' source) with its first paragraph re-marked."""
    html = (SPECIMENS / "a01-dtp.html").read_text("utf-8")
    start = html.index('<p style="text-align: justify;">Chiều')
    end = html.index("</p>", start) + len("</p>")
    text = html[start:end].removeprefix('<p style="text-align: justify;">').removesuffix("</p>")
    html = html[:start] + opening + text + closing + html[end:]
    return _content(parse_article(Page(ANSWERS["b01-unclosed-table"]["url"], html.encode(), UTF8)))


def test_bold_around_a_paragraph_is_bold_inside_it() -> None:
    # A browser draws both alike; the lead is the bold first paragraph either way.
    inside = _a01_with_first_paragraph("<p><strong>", "</strong></p>")
    around = _a01_with_first_paragraph("<strong><p>", "</p></strong>")
    assert inside.summary is not None and inside.summary.startswith("Chiều ngày 30")
    assert around == inside
