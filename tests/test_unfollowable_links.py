"""Hrefs urllib refuses (an unclosed IPv6 host, a port that is no number) pass over that one
link and nothing else: found by fuzzing, where such a link raised out of the listing parser,
the theme's assets and an article's dates, and the rest of the page went with it."""

from __future__ import annotations

import pytest

from crawler.extract import theme_assets
from crawler.parsers.article import parse_article
from crawler.parsers.page import Page
from crawler.urls import joined

URL = "https://lapvo.dongthap.gov.vn/chi-tiet-bai-viet/-/asset_publisher/x/content/id/123"
BAD = ["http://[::1/x", "https://lapvo.dongthap.gov.vn: các xã/x", "//h.vn:99999999999/x"]


@pytest.mark.parametrize("href", BAD)
def test_joined_is_none_for_what_no_browser_could_follow(href: str) -> None:
    assert joined(URL, href) is None


def test_joined_resolves_the_rest() -> None:
    assert joined(URL, "/web/hlv/a.css") == "https://lapvo.dongthap.gov.vn/web/hlv/a.css"


def test_the_theme_keeps_its_other_assets() -> None:
    links = "".join(f'<link rel="stylesheet" href="{href}">' for href in BAD)
    body = f'<html><head>{links}<link rel="stylesheet" href="/o/a.css"></head></html>'
    page = Page(URL, body.encode(), {})
    assert theme_assets(page) == ["https://lapvo.dongthap.gov.vn/o/a.css"]


def test_a_date_inside_such_a_link_costs_no_article() -> None:
    body = f"""<html><head><title>Hội nghị tổng kết công tác năm</title></head><body>
    <article><h1>Hội nghị tổng kết công tác năm</h1>
    <p>Chiều ngày 5/1, Ủy ban nhân dân huyện tổ chức hội nghị tổng kết công tác năm, <a
    href="{BAD[0]}">lịch họp <time datetime="2024-01-05">05/01/2024</time></a>.</p>
    <p>Các đại biểu đã thảo luận và thống nhất nhiệm vụ trọng tâm của năm tới.</p>
    </article></body></html>"""
    result = parse_article(Page(URL, body.encode(), {"content-type": "text/html; charset=utf-8"}))
    assert result.content is not None, result.reason
