"""What every portal-archiver spider shares: failure bookkeeping for the report and exit status."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy import Request
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.extract import theme_css_requests

logger = logging.getLogger(__name__)


def failure_kind(failure: Failure) -> str:
    """A short, stable name for why a request failed: ``http-404``, ``timeout``, ``dns``..."""
    error = failure.value
    if isinstance(error, HttpError):
        return f"http-{error.response.status}"
    name = type(error).__name__
    kinds = {
        "DownloadConnectionRefusedError": "connection-refused",
        "CannotResolveHostError": "dns",
        "DownloadTimeoutError": "timeout",
        "DownloadCancelledError": "too-large",
        "DownloadFailedError": "connection-lost",
        "ResponseDataLossError": "data-loss",
        "UnsupportedURLSchemeError": "unsupported-scheme",
        "IgnoreRequest": "ignored",
    }
    return kinds.get(name, name)


class ArchivingSpider(scrapy.Spider):
    """Base spider: records failed requests so the run can name them and exit 1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures: list[dict[str, str]] = []

    def parse_requisite(self, response: Response) -> Iterator[Request]:
        """Requisites are archived on download; a theme stylesheet names more (fonts, images)."""
        return theme_css_requests(self, response)

    def on_failure(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        kind = failure_kind(failure)
        stats = self.crawler.stats
        stats.inc_value("errors/total")
        stats.inc_value(f"errors/kind/{kind}")
        if request.meta.get("requisite"):
            stats.inc_value("errors/requisites")
        self.failures.append({"url": request.url, "kind": kind})
        logger.warning("Failed (%s): %s", kind, request.url)
