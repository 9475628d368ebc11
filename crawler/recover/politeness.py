"""Downloader middlewares for talking to web archives, which are shared public services.

* :class:`ArchiveGuardMiddleware`: ``crawl``'s never-request rules apply to the ORIGINAL URL
  of a capture, not to the archive's URL (the Wayback CDX path ``/cdx/search/cdx`` would
  look like a search page to them).
* :class:`ArchivePacingMiddleware`: a capture the archive serves (it says so with
  ``Memento-Datetime``, or a byte range of a WARC file) is never retried, whatever its
  original status (a 503 the site gave in 2019 stays a 503); the archive's own 429s and
  refused connections, when they keep coming, pause the whole run, for longer each time
  (the Wayback Machine blocks an address for an hour, doubling, that keeps going after 429s).
  Retries and ``Retry-After`` are ``BackoffRetryMiddleware``'s.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import IgnoreRequest

from crawler.guard import RequestGuardMiddleware
from crawler.recover.pipeline import CAPTURE_META
from crawler.urls import forbidden_reason

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

ARCHIVE_API_META = "recover_archive_api"
"""``request.meta`` flag of requests to an archive's own API (CDX listings)."""


class ArchiveGuardMiddleware(RequestGuardMiddleware):
    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if request.meta.get(ARCHIVE_API_META):
            return
        capture = request.meta.get(CAPTURE_META)
        if capture is None:
            super().process_request(request, spider)
            return
        reason = forbidden_reason(capture["url"], self.max_length)
        if reason is not None:
            self.stats.inc_value(f"guard/dropped/{reason}")
            raise IgnoreRequest(f"forbidden ({reason}): {capture['url'][:200]}")


def is_capture(response: Response) -> bool:
    """Whether the archive answered with a capture rather than with a problem of its own."""
    return b"Memento-Datetime" in response.headers or response.status == 206


class ArchivePacingMiddleware:
    """Ordered after (numerically above) the retry middleware, so it sees responses first."""

    def __init__(self, crawler: Crawler, pause_after: int, pause_seconds: float) -> None:
        self.crawler = crawler
        self.pause_after = pause_after
        self.pause_seconds = pause_seconds
        self.refusals = 0
        self.pauses = 0
        self.paused = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        return cls(
            crawler,
            settings.getint("PORTAL_RECOVER_PAUSE_AFTER"),
            settings.getfloat("PORTAL_RECOVER_PAUSE_SECONDS"),
        )

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if CAPTURE_META in request.meta and is_capture(response):
            request.meta["dont_retry"] = True
        if response.status == 429:
            self._refused(f"429 from {request.url[:120]}")
        elif response.status < 500:
            self.refusals = 0
        return response

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> None:
        if "ConnectionRefused" in type(exception).__name__:
            self._refused(f"connection refused by {request.url[:120]}")

    def _refused(self, what: str) -> None:
        self.refusals += 1
        self.crawler.stats.inc_value("recover/archive_refusals")
        if self.refusals < self.pause_after or self.paused or self.pause_seconds <= 0:
            return
        delay = self.pause_seconds * 2**self.pauses
        self.pauses += 1
        self.paused = True
        self.crawler.stats.inc_value("recover/pauses")
        logger.warning(
            "The archive keeps refusing (%d in a row, last: %s): pausing the run for %.0f s",
            self.refusals,
            what,
            delay,
        )
        # Imported here: importing the reactor at module level would install the default one
        # before Scrapy installs the asyncio reactor its settings ask for.
        from twisted.internet import reactor

        self.crawler.engine.pause()
        reactor.callLater(delay, self._resume)  # type: ignore[attr-defined]

    def _resume(self) -> None:
        self.paused = False
        self.refusals = 0
        self.crawler.engine.unpause()
        logger.info("Resuming after the pause")
