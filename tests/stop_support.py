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


class _SignalDuring:
    """SIGTERM sent to its own process from a handler of ``during``, which then takes a second
    more: the signal lands in the middle of that step."""

    during: Any

    @classmethod
    def from_crawler(cls, crawler: Any) -> _SignalDuring:
        extension = cls()
        crawler.signals.connect(extension.send, signal=cls.during)
        return extension

    async def send(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(1.0)


class SignalWhileOpening(_SignalDuring):
    """While the spider is being opened, before Scrapy's engine runs (where the collection is
    repaired and the frontier read: seconds on a loaded machine)."""

    during = signals.spider_opened


class SignalWhileStarting(_SignalDuring):
    """While the engine is starting (its ``engine_started`` handlers run, the stop
    extension's among them), before it runs."""

    during = signals.engine_started
