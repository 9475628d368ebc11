"""Stopping a crawl within seconds: the first SIGINT/SIGTERM, and the second.

Scrapy's own graceful stop waits for every request in flight: a slow download can take
``DOWNLOAD_TIMEOUT`` per retry, and a request queued in a downloader slot that never frees
waits forever, so ``systemctl stop`` would hang. ``GracefulStop.request_stop`` instead
abandons the downloads in flight and the retries waiting out their backoff (each fails with
``DownloadAbandoned``, which the spiders neither count nor report as a failure: it is owed to
the next run) and closes the spider, so
the pipeline commits, closes the WARC file and writes the index. If that has not happened
within ``PORTAL_STOP_TIMEOUT`` seconds, or a second signal comes, ``force`` stops the reactor
at once: the collection is designed to survive a kill, and the next run repairs and resumes.

Scrapy's stop (``Crawler.stop_async``) stops only an engine that already runs: a signal that
lands while the spider is being opened (the collection repaired, the frontier read: seconds on
a loaded machine) only marks the crawler as no longer crawling. The engine then starts, every
request is abandoned, the spider closes as idle, and nothing would ever stop the engine, so the
reactor ran for ever. ``spider_idle`` stops such an engine, and the deadline forces any stop
whose engine still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.utils.asyncio import is_asyncio_available
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.capture import ArchivingDownloadHandler
from crawler.logs import CONSOLE

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

T = TypeVar("T")


SCRAPY_STOP = "a stop request"
"""What ``stop/signal`` says when Scrapy's own handlers (or its API) started the stop."""


class DownloadAbandoned(IgnoreRequest):
    """A request in flight when the crawl was told to stop: not fetched, owed to the next run."""


class GracefulStop:
    """Extension: the stop that the command line's signal handlers ask for.

    Under ``scrapy crawl`` and Scrapyd, Scrapy's own signal handlers start its graceful stop,
    which waits for every request in flight; the extension notices that stop (the crawler is
    no longer crawling while its spider is open) and makes it abandon them too."""

    def __init__(self, crawler: Crawler, timeout: float) -> None:
        self.crawler = crawler
        self.timeout = timeout
        self.signal_name: str | None = None
        self.forced = False
        self.inflight: set[asyncio.Future[Any]] = set()
        """Downloads under way and retries waiting (see :meth:`abandonable`)."""
        self._watch: task.LoopingCall | None = None
        self._engine_stop_asked = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls(crawler, crawler.settings.getfloat("PORTAL_STOP_TIMEOUT"))
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        return extension

    def engine_started(self) -> None:
        self._watch = task.LoopingCall(self._notice_stop)
        self._watch.start(0.5, now=False)

    def _notice_stop(self) -> None:
        if not self.crawler.crawling and not self.stopping:
            self.request_stop(SCRAPY_STOP)

    def spider_closed(self) -> None:
        # From here on the crawler stops because the spider has closed, not to close it.
        if self._watch is not None and self._watch.running:
            self._watch.stop()

    def spider_idle(self) -> None:
        """Stop an engine that the stop did not reach: it was asked for before the engine ran
        (see the module's docstring), so the engine runs on though the crawler has stopped
        crawling. The spider is closed by the engine's stop ("shutdown"), not as finished."""
        engine = self.crawler.engine
        # Scrapy's stop turns both off in one step; the crawler's alone means it missed.
        if not self.stopping or self.crawler.crawling or engine is None or not engine.running:
            return
        if not self._engine_stop_asked:
            self._engine_stop_asked = True
            deferred_from_coro(self._stop_engine()).addErrback(self._stop_failed)
        raise DontCloseSpider

    async def _stop_engine(self) -> None:
        engine = self.crawler.engine
        if engine is not None and engine.running:  # not stopped meanwhile
            await engine.stop_async()

    @property
    def stopping(self) -> bool:
        return self.signal_name is not None

    async def abandonable(self, work: Awaitable[T], request: Request) -> T:
        """``work`` done for ``request`` (its download, its retry's backoff), unless the stop
        begins first: it then fails with ``DownloadAbandoned``, and the request is owed."""
        if self.stopping:
            _close(work)
            raise DownloadAbandoned(f"abandoned: {request.url}")
        if not is_asyncio_available():  # a task per request is only possible under asyncio
            return await work
        running = asyncio.ensure_future(work)
        self.inflight.add(running)
        try:
            return await running
        except asyncio.CancelledError:
            if self.stopping and running.cancelled():
                raise DownloadAbandoned(f"abandoned: {request.url}") from None
            raise
        finally:
            self.inflight.discard(running)

    def request_stop(self, signal_name: str) -> None:
        """Abandon what is in flight and close the spider (call it in the reactor thread)."""
        if self.stopping:
            return
        from twisted.internet import reactor

        self.signal_name = signal_name
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("stop/signal", signal_name)
        again = "" if signal_name == SCRAPY_STOP else f" (send {signal_name} again to stop at once)"
        _tell(
            logging.INFO,
            f"Received {signal_name}: stopping; requests in flight are abandoned and owed to "
            f"the next run{again}",
        )
        for download in list(self.inflight):
            download.cancel()
        self._drain_download_queues()
        stopped = deferred_from_coro(self.crawler.stop_async())
        stopped.addErrback(self._stop_failed)
        reactor.callLater(self.timeout, self._deadline)

    def _drain_download_queues(self) -> None:
        """Fail the requests that wait in the downloader's slots (for a delay or a free
        connection). Scrapy has no public way to cancel them, so this reads the slots'
        queues, the attribute Scrapy's own downloader works from."""
        engine = self.crawler.engine
        if engine is None:
            return
        for slot in engine.downloader.slots.values():
            while slot.queue:
                request, waiting = slot.queue.popleft()
                waiting.errback(Failure(DownloadAbandoned(f"abandoned: {request.url}")))

    def _stop_failed(self, failure: Failure) -> None:
        _tell(logging.ERROR, f"The crawl could not be closed cleanly ({failure.value}); stopping")
        self.force(self.signal_name or "error")

    def _deadline(self) -> None:
        # Not only "the spider is open": a spider closed with its engine still running (a stop
        # that came before the engine ran) would leave the reactor running for ever. An engine
        # whose stop has begun is not running: its engine_stopped handlers (the search index)
        # may take their time.
        engine = self.crawler.engine
        if self.crawler.crawling or (engine is not None and (engine.spider or engine.running)):
            _tell(logging.ERROR, f"The crawl did not stop within {self.timeout:g} s; stopping now")
            self.force(self.signal_name or "timeout")

    def force(self, signal_name: str) -> None:
        """Stop the reactor now: what is not committed is redone by the next run."""
        from twisted.internet import reactor

        if self.signal_name is None:
            self.signal_name = signal_name
        self.forced = True
        stats = self.crawler.stats
        if stats is not None:
            stats.set_value("stop/signal", self.signal_name)
            stats.set_value("stop/forced", True)
        with contextlib.suppress(RuntimeError):  # already stopping
            reactor.stop()


def _tell(level: int, message: str) -> None:
    """Log, and show on the console: the user who sent the signal is waiting for an answer."""
    logger.log(level, message, extra={"on_console": CONSOLE.active})
    if CONSOLE.active:
        CONSOLE.message(f"portal-archiver: {message}")


class StoppableDownloadHandler(ArchivingDownloadHandler):
    """The capturing handler, with its downloads abandoned when the crawl is stopped."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._stop = crawler.get_extension(GracefulStop)

    async def download_request(self, request: Request) -> Response:
        if self._stop is None:
            return await super().download_request(request)
        return await self._stop.abandonable(super().download_request(request), request)


def _close(work: Awaitable[Any]) -> None:
    """A coroutine never awaited is closed, so Python does not warn about it."""
    if asyncio.iscoroutine(work):
        work.close()
