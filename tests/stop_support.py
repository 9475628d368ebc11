"""A Scrapy component for the stop tests, enabled with ``-s EXTENSIONS=...``."""

from __future__ import annotations

import asyncio
import os
import signal
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


class SignalWhileOpening:
    """SIGTERM lands while the spider is being opened, before Scrapy's engine runs (where the
    collection is repaired and the frontier read: seconds on a loaded machine): the
    ``spider_opened`` handler sends it to its own process, then takes a second more."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> SignalWhileOpening:
        extension = cls()
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    async def spider_opened(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(1.0)


class SignalWhileStarting:
    """SIGTERM lands while the engine is starting (its ``engine_started`` handlers run, the
    stop extension's among them), before the engine runs."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> SignalWhileStarting:
        extension = cls()
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        return extension

    async def engine_started(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(1.0)
