"""Downloader middlewares: who we are, how we back off, and asking "has it changed?"."""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Self

import scrapy.downloadermiddlewares.cookies as scrapy_cookies
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from tldextract import TLDExtract

from crawler import __version__
from crawler.extract import RESUMED_META_KEY
from crawler.stopping import GracefulStop
from crawler.urls import UrlKind, classify

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


class OfflineCookiesMiddleware(CookiesMiddleware):
    """Scrapy's cookie handling, minus a network call nobody asked for.

    Scrapy's middleware refuses cookies set for a public suffix (``Domain=.gov.vn``), asking
    a ``TLDExtract`` that downloads the Public Suffix List from the internet on first use
    and caches it in the user's home. A crawler must only talk to the hosts it was told to,
    and nothing of a crawl is written outside its collection: here the list tldextract
    ships answers instead, and nothing is cached.

    Scrapy has no public hook for that lookup: its private ``_process_cookies`` calls the
    module's private ``_split_domain``, built once at import. So ours stands in for it only
    while Scrapy's code runs for this middleware, and Scrapy's is put back after: another
    crawler in the same process keeps Scrapy's behaviour. Both methods are synchronous and
    run on the reactor thread, so no other code runs while ours is in place.
    """

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        self.split_domain = TLDExtract(
            suffix_list_urls=(), include_psl_private_domains=True, cache_dir=None
        )

    def process_request(
        self, request: Request, spider: Spider | None = None
    ) -> Request | Response | None:
        with self._offline_suffixes():
            return super().process_request(request)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        with self._offline_suffixes():
            return super().process_response(request, response)

    @contextmanager
    def _offline_suffixes(self) -> Iterator[None]:
        scrapys = scrapy_cookies._split_domain
        scrapy_cookies._split_domain = self.split_domain
        try:
            yield
        finally:
            scrapy_cookies._split_domain = scrapys


def ascii_text(text: str) -> str:
    """Header values are ASCII: Vietnamese letters lose their marks (``Lưu trữ`` → ``Luu tru``)."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return (
        "".join(c for c in plain if not unicodedata.combining(c))
        .encode("ascii", "replace")
        .decode()
    )


def user_agent(settings: BaseSettings) -> str:
    """The User-Agent sent: an explicit ``USER_AGENT`` setting, or one naming the tool,
    its version and ``ARCHIVE_OPERATOR`` (so ``-s ARCHIVE_OPERATOR=...`` reaches the header)."""
    explicit = settings.get("USER_AGENT")
    if explicit and settings.getpriority("USER_AGENT") > settings.getpriority("BOT_NAME"):
        return ascii_text(explicit)
    return ascii_text(f"portal-archiver/{__version__} (+{settings.get('ARCHIVE_OPERATOR')})")


class OperatorUserAgentMiddleware:
    """Sets :func:`user_agent` on every request that has none."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(user_agent(crawler.settings))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        request.headers.setdefault(b"User-Agent", self.user_agent)


def retry_after_seconds(response: Response) -> float | None:
    """The delay a ``Retry-After`` header asks for (seconds or an HTTP date), if any."""
    value = response.headers.get(b"Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdecimal():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    date = response.headers.get(b"Date")
    now = parsedate_to_datetime(date.decode("latin-1")) if date else None
    return max(0.0, (when - now).total_seconds()) if now else None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, with exponential backoff and ``Retry-After`` honoured.

    The wait happens before the retry request is handed back, so the server gets
    breathing room instead of an immediate second hit. A stop abandons the wait (see
    crawler/stopping.py): the request is then owed to the next run, not retried.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("PORTAL_RETRY_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("PORTAL_RETRY_BACKOFF_MAX")
        self.stop: GracefulStop | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        middleware.stop = crawler.get_extension(GracefulStop)
        return middleware

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        result = super().process_response(request, response)
        if result is not response:
            await self._wait(request, retry_after_seconds(response))
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if result is not None:
            await self._wait(request, None)
        return result

    async def _wait(self, request: Request, asked: float | None) -> None:
        attempt = request.meta.get("retry_times", 0)
        delay = self.backoff_base * (2**attempt) if self.backoff_base > 0 else 0.0
        if asked is not None:
            delay = max(delay, asked)
        delay = min(delay, self.backoff_max)
        if delay > 0:
            self.crawler.stats.inc_value("retry/backoff_seconds", delay)
            if self.stop is None:
                await asyncio.sleep(delay)
            else:
                await self.stop.abandonable(asyncio.sleep(delay), request)


class ConditionalRequestMiddleware:
    """Adds ``If-None-Match`` / ``If-Modified-Since`` for articles the collection already holds.

    The validators come from the collection state through the archive pipeline; without
    a collection this is switched off. Not for an article owed by a stopped run: its page is
    read again whole, for the images and files whose requests the stop may have lost (a 304
    has no page to find them in).
    """

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.get("ARCHIVE_DIR"):
            raise NotConfigured("no collection, nothing to compare with")
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        from crawler.archiving import archive_of

        archive = archive_of(self.crawler)
        if archive is None or classify(request.url) is not UrlKind.ARTICLE:
            return
        if request.meta.get(RESUMED_META_KEY):
            return
        etag, last_modified = archive.validators(request.url)
        if etag:
            request.headers.setdefault(b"If-None-Match", etag)
        if last_modified:
            request.headers.setdefault(b"If-Modified-Since", last_modified)
        self.crawler.stats.inc_value("archive/conditional_requests")
