"""A Scrapy component for the stop tests, enabled with ``-s EXTENSIONS=...``."""

from __future__ import annotations

from typing import Any

from scrapy import signals
from twisted.internet.defer import Deferred


class StuckClose:
    """Closing the spider never ends: its ``spider_closed`` handler waits for ever, as a
    component stuck on a hung disk or lock would. Nothing the stop abandons reaches it."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> StuckClose:
        extension = cls()
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self) -> Deferred[None]:
        return Deferred()
