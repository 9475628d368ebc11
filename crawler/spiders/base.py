"""What every portal-archiver spider shares: failure bookkeeping for the report and exit status."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Self

import scrapy
from scrapy import Request, Spider, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.extract import THEME_ASSET_META_KEY, theme_css_requests

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

request_failed = object()
"""Signal (``request``, ``kind``, ``failure``): a request failed; the crawl frontier records
the outcome."""


# One vocabulary for every spider (fetch and crawl alike), by exception class name: Scrapy
# wraps Twisted's errors in its own since 2.13, and either may reach an errback.
_KINDS = {
    "DownloadConnectionRefusedError": "connection-refused",
    "ConnectionRefusedError": "connection-refused",
    "CannotResolveHostError": "dns",
    "DNSLookupError": "dns",
    "DownloadTimeoutError": "timeout",
    "TimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "DownloadCancelledError": "too-large",
    "DownloadFailedError": "connection-lost",
    "ConnectionLost": "connection-lost",
    "ConnectionDone": "connection-lost",
    "ResponseNeverReceived": "connection-lost",
    "ResponseFailed": "connection-lost",
    "ResponseDataLossError": "data-loss",
    "UnsupportedURLSchemeError": "unsupported-scheme",
    "NotSupported": "unsupported-scheme",
    "DownloadAbandoned": "abandoned",
    "IgnoreRequest": "ignored",
}


# What Scrapy's own middlewares say when they drop a request (their IgnoreRequest carries
# only a message): a summary line "failed (ignored)" would not say which.
_IGNORED_BECAUSE = (
    ("Filtered offsite request", "off-site"),
    ("Forbidden by robots.txt", "robots-txt"),
    ("max redirections reached", "too-many-redirects"),
)


def _ignored_kind(message: str) -> str | None:
    return next((kind for start, kind in _IGNORED_BECAUSE if message.startswith(start)), None)


def failure_kind(failure: Failure) -> str:
    """A short, stable name for why a request failed: ``http-404``, ``timeout``, ``dns``...

    An error this table does not know is named after its class, in the same style
    (``SomeNewError`` is ``some-new-error``), so kinds never mix two spellings."""
    error = failure.value
    if isinstance(error, HttpError):
        return f"http-{error.response.status}"
    if isinstance(error, IgnoreRequest):
        kind = getattr(error, "kind", None) or _ignored_kind(str(error))
        if kind:
            return kind
    name = type(error).__name__
    return _KINDS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class ArchivingSpider(scrapy.Spider):
    """Base spider: records failed requests so the run can name them and exit 1."""

    requisites: bool
    """ARCHIVE_REQUISITES: an article's images and files are fetched with it."""
    theme_assets: bool
    """ARCHIVE_THEME_ASSETS: what its page needs to render is fetched with it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures: list[dict[str, str]] = []
        self.unconverted: list[dict[str, str]] = []
        """Article pages set in legacy fonts whose bytes do not read as the fonts' encoding: their
        items keep the text as read, and the report names them for an archivist to convert."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.requisites = crawler.settings.getbool("ARCHIVE_REQUISITES")
        spider.theme_assets = crawler.settings.getbool("ARCHIVE_THEME_ASSETS")
        crawler.signals.connect(spider.on_callback_error, signal=signals.spider_error)
        crawler.signals.connect(spider.on_item_error, signal=signals.item_error)
        return spider

    def on_callback_error(self, failure: Failure, response: Response, spider: Spider) -> None:
        """A callback that raised (a bug, or a page no one foresaw): Scrapy logs it and goes
        on, but what the page would have given (its article, its links) is lost, so its URL
        failed and the run says so (exit 1). The page's bytes are archived already, on
        download, for ``extract`` to read again once the parser is fixed."""
        self._fail(response.url, "callback-error")

    def on_item_error(
        self, item: Any, response: Response, spider: Spider, failure: Failure
    ) -> None:
        """An item a pipeline failed on with an exception (not a drop): not stored."""
        self._fail(response.url if response is not None else str(item), "item-error")

    def _fail(self, url: str, kind: str) -> None:
        """Count ``url`` as failed for ``kind``: in the stats, the summary and the exit status."""
        stats = self.crawler.stats
        stats.inc_value("errors/total")
        stats.inc_value(f"errors/kind/{kind}")
        self.failures.append({"url": url, "kind": kind})

    def parse_requisite(self, response: Response) -> Iterator[Request]:
        """Requisites are archived on download; a theme stylesheet names more (fonts, images)."""
        return theme_css_requests(self, response)

    def on_failure(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        kind = failure_kind(failure)
        stats = self.crawler.stats
        if kind == "abandoned":
            # Stopped by a signal before it was fetched: owed to the next run, not a failure.
            stats.inc_value("stop/abandoned")
            return
        if request.meta.get(THEME_ASSET_META_KEY) and kind.startswith("http-"):
            # A theme file the site answers with an error (a stale url() in a stylesheet) is
            # archived as answered, as replay would meet it: not a failure of the run.
            stats.inc_value(f"assets/{kind}")
            logger.info("Theme file answered %s: %s", kind, request.url)
            return
        self._fail(request.url, kind)
        if request.meta.get("requisite"):
            stats.inc_value("errors/requisites")
        self.crawler.signals.send_catch_log(
            request_failed, request=request, kind=kind, failure=failure
        )
        logger.warning("Failed (%s): %s", kind, request.url)
