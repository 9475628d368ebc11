"""The last line before the network: never-request rules and article-aware deduplication."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from scrapy.exceptions import IgnoreRequest

from crawler.extract import REQUISITE_META_KEY, THEME_ASSET_META_KEY
from crawler.urls import Scope, article_key, forbidden_reason, in_scope

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class Forbidden(IgnoreRequest):
    """A request the never-request rules drop; ``kind`` names the rule for the summary."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"forbidden ({reason}): {url[:200]}")
        self.kind = f"never-requested-{reason}"


_SCHEMES = frozenset({"http", "https"})


class RequestGuardMiddleware:
    """Downloader middleware dropping every request that is not http(s), is out of the crawl's
    scope, or that :func:`forbidden_reason` objects to.

    Spiders should not make such requests at all; this catches whatever slips through
    (links followed by other code, an ``<img src="file:///...">``; redirects are re-checked
    as new requests). Scrapy has download handlers for ``file:``, ``ftp:``, ``s3:`` and
    ``data:`` URLs: a crawler of web portals must never read local files or buckets.
    """

    def __init__(self, crawler: Crawler, max_length: int) -> None:
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.max_length = max_length
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.settings.getint("PORTAL_MAX_URL_LENGTH", 2000))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        reason = self._reason(request)
        if reason is None:
            return
        self.stats.inc_value(f"guard/dropped/{reason}")
        if reason not in self._logged:
            # Once per reason: a trap can offer thousands of such links.
            self._logged.add(reason)
            logger.info("Never requesting %s URLs (first: %s)", reason, request.url[:200])
        raise Forbidden(reason, request.url)

    def _reason(self, request: Request) -> str | None:
        if urlsplit(request.url).scheme.lower() not in _SCHEMES:
            return "scheme"
        reason = forbidden_reason(request.url, self.max_length)
        if reason == "technical" and request.meta.get(THEME_ASSET_META_KEY):
            # Theme files live under /o/ and /combo: requested only as assets of a page.
            return None
        if reason is None and not self._in_scope(request):
            return "out-of-scope"
        return reason

    def _in_scope(self, request: Request) -> bool:
        """The spider's targets, robots.txt files, and the images and files articles link to
        (a requisite's redirect may stay on its own host or go to a target)."""
        scopes: list[Scope] | None = getattr(self.crawler.spider, "scopes", None)
        if scopes is None or urlsplit(request.url).path == "/robots.txt":
            return True
        if any(in_scope(request.url, scope) for scope in scopes):
            return True
        if not request.meta.get(REQUISITE_META_KEY):
            return False
        origin = (request.meta.get("redirect_urls") or [request.url])[0]
        return Scope.from_url(origin).host == Scope.from_url(request.url).host


class ArticleFingerprinter:
    """REQUEST_FINGERPRINTER_CLASS: one fingerprint per article, however it is linked.

    Articles hash their key (site + asset id), other URLs their canonical form;
    non-GET requests add method and body.
    """

    def __init__(self) -> None:
        self._cache: WeakKeyDictionary[Request, bytes] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        cached = self._cache.get(request)
        if cached is None:
            cached = self._cache[request] = _fingerprint(request)
        return cached


def _fingerprint(request: Request) -> bytes:
    # article_key is the canonical URL for anything without an asset id, articles included.
    digest = hashlib.sha1(article_key(request.url).encode("utf-8"))
    if request.method != "GET":
        digest.update(b"\0" + request.method.encode("ascii") + b"\0" + (request.body or b""))
    return digest.digest()
