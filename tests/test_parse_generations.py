"""Golden tests over article pages of every generation of the portals (tests/data/generations/).

DotNetNuke table layouts of 2008–2014 (windows-1258 with combining tone marks, charsets that
disagree), SharePoint 2010/2013, Liferay 6.x, and the post-2025 provincial portal. Each
``NAME.html`` has a ``NAME.json``: the URL and HTTP headers it was served with, and every
field a perfect extractor reads from it; or ``{"reason": ...}`` for a page that is no article
(the listings and home pages of the same generations).
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

DATA = Path(__file__).parent / "data" / "generations"
ANSWERS = {path.stem: json.loads(path.read_text("utf-8")) for path in DATA.glob("*.json")}
ARTICLES = sorted(name for name, answer in ANSWERS.items() if "reason" not in answer)
REFUSED = sorted(name for name, answer in ANSWERS.items() if "reason" in answer)
GENERATION_FIELDS = (*FIELDS, "breadcrumbs", "published", "charset", "encoding_note")


@cache
def _parsed(name: str) -> ArticleResult:
    answer = ANSWERS[name]
    body = (DATA / f"{name}.html").read_bytes()
    return parse_article(Page(answer["url"], body, answer.get("headers", {})))


def _content(name: str) -> ArticleContent:
    result = _parsed(name)
    assert result.content is not None, result.reason
    return result.content


def _expected(field: str, answer: dict[str, Any]) -> Any:
    if field == "images":
        return [(urljoin(answer["url"], i["src"]), i["caption"]) for i in answer["images"]]
    if field == "attachments":
        return [(urljoin(answer["url"], a["href"]), a["title"]) for a in answer["attachments"]]
    if field == "published":
        # Where the page shows no date: the structured data's, else the first photo's upload.
        return answer.get("published", answer["published_on_page"])
    if field == "encoding_note":
        return answer.get("encoding_note")
    return answer[field]


def _actual(field: str, content: ArticleContent) -> Any:
    if field == "attachments":
        return [(a.url, a.title) for a in content.attachments]
    if field == "published":
        published = content.published
        return published[:16] if published and "T" in published else published
    return actual(field, content)


def test_every_generation_is_covered() -> None:
    generations = {name.split("-")[1] for name in ANSWERS}
    assert {
        "dnn2004",
        "dnn2008",
        "dnn2010",
        "dnn2012",
        "dnn2013",
        "sp2010",
        "sp2013",
        "lr61",
    } <= generations
    assert {"lr62", "joomla2012", "wordpress2019", "vendor2015", "postmerger"} <= generations


@pytest.mark.parametrize("field", GENERATION_FIELDS)
@pytest.mark.parametrize("name", ARTICLES)
def test_generation_field(name: str, field: str) -> None:
    assert _actual(field, _content(name)) == _expected(field, ANSWERS[name])


@pytest.mark.parametrize("name", REFUSED)
def test_non_articles_of_every_generation_give_their_reason(name: str) -> None:
    result = _parsed(name)
    assert (result.content, result.reason) == (None, ANSWERS[name]["reason"])
