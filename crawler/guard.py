"""The last line before the network: never-request rules and article-aware deduplication."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Self
from weakref import WeakKeyDictionary

from scrapy.exceptions import IgnoreRequest

from crawler.extract import THEME_ASSET_META_KEY
from crawler.urls import article_key, forbidden_reason

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class RequestGuardMiddleware:
    """Downloader middleware dropping every request :func:`forbidden_reason` objects to.

    Spiders should not make such requests at all; this catches whatever slips through
    (links followed by other code, redirects are re-checked as new requests).
    """

    def __init__(self, stats: StatsCollector, max_length: int) -> None:
        self.stats = stats
        self.max_length = max_length
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, crawler.settings.getint("PORTAL_MAX_URL_LENGTH", 2000))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        reason = forbidden_reason(request.url, self.max_length)
        if reason == "technical" and request.meta.get(THEME_ASSET_META_KEY):
            # Theme files live under /o/ and /combo: requested only as assets of a page.
            return
        if reason is None:
            return
        self.stats.inc_value(f"guard/dropped/{reason}")
        if reason not in self._logged:
            # Once per reason: a trap can offer thousands of such links.
            self._logged.add(reason)
            logger.info("Never requesting %s URLs (first: %s)", reason, request.url[:200])
        raise IgnoreRequest(f"forbidden ({reason}): {request.url[:200]}")


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
