"""Golden tests over pages of portal themes beyond the specimens (tests/data/themes/).

Each ``NAME.html`` has a ``NAME.json``: either the article's fields (same form as the specimens,
plus ``breadcrumbs``) or ``{"reason": ...}`` for a page that is no article. The charset is left
for the parser to find (no HTTP charset), as on portals that send none.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from crawler.items import ArticleContent
from crawler.parsers.article import ArticleResult, parse_article
from crawler.parsers.page import Page
from tests.golden import FIELDS, actual

THEMES = Path(__file__).parent / "data" / "themes"
ANSWERS = {path.stem: json.loads(path.read_text("utf-8")) for path in THEMES.glob("*.json")}
ARTICLES = sorted(name for name, answer in ANSWERS.items() if "reason" not in answer)
REFUSED = sorted(name for name, answer in ANSWERS.items() if "reason" in answer)
THEME_FIELDS = (*FIELDS, "breadcrumbs")  # theme answers also give the breadcrumb trail


@cache
def _parsed(name: str) -> ArticleResult:
    body = (THEMES / f"{name}.html").read_bytes()
    return parse_article(Page(ANSWERS[name]["url"], body, {"content-type": "text/html"}))


def _expected(field: str, answer: dict[str, Any]) -> Any:
    if field == "images":
        return [(urljoin(answer["url"], i["src"]), i["caption"]) for i in answer["images"]]
    if field == "attachments":
        return [(urljoin(answer["url"], a["href"]), a["title"]) for a in answer["attachments"]]
    return answer[field]


def _actual(field: str, content: ArticleContent) -> Any:
    if field == "attachments":  # the file's address too: it is what the crawl fetches
        return [(a.url, a.title) for a in content.attachments]
    return actual(field, content)


def _content(name: str) -> ArticleContent:
    result = _parsed(name)
    assert result.content is not None, result.reason
    return result.content


@pytest.mark.parametrize("field", THEME_FIELDS)
@pytest.mark.parametrize("name", ARTICLES)
def test_theme_field(name: str, field: str) -> None:
    assert _actual(field, _content(name)) == _expected(field, ANSWERS[name])


@pytest.mark.parametrize("name", REFUSED)
def test_non_articles_give_their_reason(name: str) -> None:
    result = _parsed(name)
    assert (result.content, result.reason) == (None, ANSWERS[name]["reason"])
