"""The cookie middleware: Scrapy's cookie handling without fetching the Public Suffix List."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import scrapy.downloadermiddlewares.cookies as scrapy_cookies
import tldextract.tldextract
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.middlewares import OfflineCookiesMiddleware

PORTAL = "https://dongthap.gov.vn/web/hlv/tin-tuc"


@dataclass
class SuffixListLoads:
    """Where each TLDExtract that was asked for the first time looked for its list."""

    sources: list[tuple[tuple[str, ...], bool]] = field(default_factory=list)


@pytest.fixture
def suffix_list_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[SuffixListLoads]:
    loads = SuffixListLoads()
    real = tldextract.tldextract.get_suffix_lists

    def spy(cache: Any, urls: tuple[str, ...], **kwargs: Any) -> Any:
        loads.sources.append((tuple(urls), cache.enabled))
        return real(cache=cache, urls=urls, **kwargs)

    monkeypatch.setattr(tldextract.tldextract, "get_suffix_lists", spy)
    yield loads


def _exchange(middleware: OfflineCookiesMiddleware, *set_cookies: str) -> Request:
    """A page setting cookies, then the next request to the same site."""
    first = Request(PORTAL)
    middleware.process_request(first)
    middleware.process_response(first, Response(PORTAL, headers={"Set-Cookie": list(set_cookies)}))
    second = Request(PORTAL + "?page=2")
    middleware.process_request(second)
    return second


def _middleware() -> OfflineCookiesMiddleware:
    return OfflineCookiesMiddleware.from_crawler(get_crawler())


def test_cookies_use_the_bundled_suffix_list_only(suffix_list_loads: SuffixListLoads) -> None:
    sent = _exchange(_middleware(), "JSESSIONID=abc; Path=/")

    assert sent.headers.get(b"Cookie") == b"JSESSIONID=abc"
    # No URL to fetch, no cache in the user's home: the snapshot tldextract ships.
    assert suffix_list_loads.sources == [((), False)]


def test_a_cookie_for_a_public_suffix_is_still_refused() -> None:
    sent = _exchange(_middleware(), "tracker=1; Domain=.gov.vn; Path=/", "JSESSIONID=abc; Path=/")

    assert sent.headers.get(b"Cookie") == b"JSESSIONID=abc"


def test_scrapys_own_middleware_is_left_as_it_was() -> None:
    # Another crawler in the same process (a library user's own) keeps Scrapy's splitter.
    scrapys = scrapy_cookies._split_domain
    _exchange(_middleware(), "JSESSIONID=abc; Path=/")

    assert scrapy_cookies._split_domain is scrapys
