"""The crawl's frontier kept in the collection, so that no stop loses a discovered request.

Every request the crawl schedules (pages, articles, images, files, theme assets) is recorded as
a row of the collection state (:mod:`archive.frontier`) when the scheduler takes it, and settled
once its outcome is recorded: ``done`` when its response has been archived and everything its
callback produced (the article item, the requests for images, files and further pages) has
been stored or recorded in turn; ``failed`` when it failed for good. The collection commits
these rows in the same transactions as the article rows, after the WARC and items.jsonl bytes
they depend on, so whatever stops the process (SIGKILL, power loss, a full disk, Ctrl-C
abandoning requests in flight), the rows owed at the last commit are exactly what the rerun
must still fetch; the rerun re-seeds the scheduler from them. Scrapy's disk queue (JOBDIR)
only keeps the pending requests out of memory, and is dropped at every start.

Scrapy extension points used, and why these:

* a ``Scheduler`` subclass (``SCHEDULER``): the one place every request passes through, from
  callbacks, start requests, ``engine.crawl``, redirects and retries alike, before the queue;
  its ``open`` is where a resumed crawl's owed requests go back into the queue;
* a spider middleware (``SPIDER_MIDDLEWARES``): the public hook that sees what a callback yields,
  to know when all of it has been handled; Scrapy hands the outputs to the pipeline and the
  scheduler in parallel (``CONCURRENT_ITEMS``), so the end of the callback is not the end of
  the work, and the item signals and the scheduler count the outputs down;
* the ``item_scraped``/``item_dropped``/``item_error`` signals, and ``request_failed`` sent by
  the spiders' errback.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import Request, signals
from scrapy.core.scheduler import Scheduler
from scrapy.exceptions import IgnoreRequest
from twisted.python.failure import Failure

from archive.frontier import DEFERRED, DONE, FAILED, OWED, FrontierEntry
from archive.writer import ArchiveWriteError
from crawler.extract import (
    LISTING_META_KEY,
    REQUISITE_META_KEY,
    RESUMED_META_KEY,
    THEME_ASSET_META_KEY,
)
from crawler.queues import method_name
from crawler.spiders.base import request_failed
from crawler.urls import article_key

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.internet.defer import Deferred

    from archive.collection import Collection

logger = logging.getLogger(__name__)

FRONTIER_KEY = "frontier_key"
"""``request.meta``: the key of the frontier row the request fetches."""
PARENT_KEY = "frontier_parent"
"""``request.meta``: the key of the row whose callback yielded the request."""
REQUISITE_OF_META_KEY = "requisite_of"
"""``request.meta``: the article key an image, file or theme asset belongs to."""
_KEPT_META = (LISTING_META_KEY, REQUISITE_META_KEY, REQUISITE_OF_META_KEY, THEME_ASSET_META_KEY)
"""What a callback needs of a request's meta, stored with its row (JSON)."""
DEFER_META_KEY = "frontier_defer"
"""``request.meta`` flag: record the request as deferred instead of queueing it."""
_PERMANENT_KINDS = frozenset({"too-large", "unsupported-scheme", "http-501"})
_TRANSIENT_HTTP = frozenset({"http-408", "http-429"})
_RETRY_LATER = "retry-later"


def failed_for_good(kind: str, failure: Failure | None) -> bool:
    """Whether another attempt would only fail again: refused before the network (scheme,
    scope, robots.txt, never-request rules), too large, or a 4xx answer. Anything else
    (timeouts, refused connections, 5xx after the retries) stays owed to the next run."""
    if failure is not None and failure.check(IgnoreRequest):
        return True
    return kind in _PERMANENT_KINDS or (kind.startswith("http-4") and kind not in _TRANSIENT_HTTP)


class CrawlFrontier:
    """The frontier of the open crawl of a collection (see the module docstring)."""

    def __init__(
        self,
        crawler: Crawler,
        collection: Collection,
        *,
        requisites: bool,
        on_write_error: Callable[[ArchiveWriteError], None],
    ) -> None:
        self.crawler = crawler
        self.collection = collection
        self.requisites = requisites
        # Settling a row commits the state; that may fail inside Scrapy's scheduler or a
        # signal handler, where no one would stop the crawl: the archive is told instead.
        self._on_write_error = on_write_error
        self.states: dict[str, str] = {}
        self.closed = False
        """Set when the collection closes: what arrives later stays owed to the next run."""
        self._outstanding: dict[str, int] = {}
        self._item_parents: dict[int, str] = {}
        for signal in (signals.item_scraped, signals.item_dropped):
            crawler.signals.connect(self._item_handled, signal=signal)
        crawler.signals.connect(self._item_failed, signal=signals.item_error)
        crawler.signals.connect(self._request_failed, signal=request_failed)

    # -- resuming --------------------------------------------------------------------------

    def resume(self, spider: Spider) -> list[Request]:
        """Load the frontier; the owed requests to queue again (none for a new crawl)."""
        if self.requisites:
            self.collection.take_owed(requisite_entry)
        self.states = self.collection.frontier.states()
        return [self._request(entry, spider) for entry in self.collection.frontier.entries(OWED)]

    def _request(self, entry: FrontierEntry, spider: Spider) -> Request:
        callback = getattr(spider, entry.callback) if entry.callback else None
        errback = getattr(spider, entry.errback) if entry.errback else None
        return Request(
            entry.url,
            callback=callback,
            errback=errback,
            priority=entry.priority,
            meta={**entry.meta, FRONTIER_KEY: entry.key, RESUMED_META_KEY: True},
            dont_filter=True,  # the frontier has it already
        )

    def deferred(self) -> list[FrontierEntry]:
        return list(self.collection.frontier.entries(DEFERRED))

    def keys_with_callback(self, callback: str) -> set[str]:
        """Keys of the rows (deferred ones aside) that are fetched with ``callback``."""
        return {
            entry.key
            for entry in self.collection.frontier.entries(OWED, DONE, FAILED)
            if entry.callback == callback
        }

    # -- admission -------------------------------------------------------------------------

    def admit(self, request: Request, spider: Spider) -> bool:
        """Record a request the scheduler is given; False when it must not be queued (done,
        owed already, or deferred until idle)."""
        if self.closed:
            return False
        key = article_key(request.url)
        previous = request.meta.get(FRONTIER_KEY)
        if previous == key:
            # Its own row: a re-seeded request, a retry, or a redirect to the same page
            # (https, ;jsessionid, plidlayout dropped) that must not be taken for a duplicate.
            return True
        state = self.states.get(key)
        deferring = bool(request.meta.get(DEFER_META_KEY))
        admitted = state is None or (state == DEFERRED and not deferring)
        if admitted:
            entry = _entry(request, key, spider, DEFERRED if deferring else OWED)
            self.collection.frontier.discover(entry)
            self.states[key] = entry.state
            request.meta[FRONTIER_KEY] = key
        if previous is not None:
            # A redirect to another page: the target's row (recorded above, or already known)
            # carries the outcome from now on.
            self._settle(previous, DONE)
        return admitted and not deferring

    def defer(self, request: Request, spider: Spider) -> None:
        """Record an article to fetch when the crawl is otherwise idle (unless known)."""
        request.meta[DEFER_META_KEY] = True
        self.admit(request, spider)

    def skip(self, url: str) -> None:
        """The spider decided not to fetch a deferred article (``--new-only``: known)."""
        key = article_key(url)
        if self.states.get(key) == DEFERRED and not self.closed:
            self.states[key] = DONE
            self.collection.frontier.settle(key, DONE)

    # -- outcomes --------------------------------------------------------------------------

    def callback_started(self, key: str) -> None:
        self._outstanding[key] = self._outstanding.get(key, 0) + 1

    def callback_failed(self, key: str) -> None:
        """``key``'s callback raised: what it would have yielded after the error is missing,
        so the request is not done. Owed to the next run (the spider names the URL failed),
        which fetches it again, with the parser fixed if a bug was the cause."""
        self.owe(key)

    def owe(self, key: str) -> None:
        """``key`` stays owed to the next run, whatever its callback yields from now on: its
        response, or an item it gave, could not be archived (the disk filled)."""
        if self.states.get(key) not in (DONE, FAILED):
            self.states[key] = _RETRY_LATER

    def owe_item(self, item: Any) -> None:
        """The request that gave ``item`` stays owed: the item could not be stored."""
        parent = self._item_parents.get(id(item))
        if parent is not None:
            self.owe(parent)

    def expect(self, key: str, output: Any) -> None:
        """``output`` of ``key``'s callback is on its way to the scheduler or the pipeline."""
        if isinstance(output, Request):
            output.meta[PARENT_KEY] = key
        elif output is not None:
            self._item_parents[id(output)] = key
        else:
            return
        self._outstanding[key] += 1

    def request_handled(self, request: Request) -> None:
        """The scheduler has recorded (or refused) a request a callback yielded."""
        parent = request.meta.pop(PARENT_KEY, None)
        if parent is not None:
            self.release(parent)

    def _item_handled(self, item: Any, **kwargs: Any) -> None:
        parent = self._item_parents.pop(id(item), None)
        if parent is not None:
            self.release(parent)

    def _item_failed(self, item: Any, **kwargs: Any) -> None:
        """A pipeline raised on an item (a drop is an outcome; this is not): not stored, so
        the request that gave it is owed to the next run."""
        self.owe_item(item)
        self._item_handled(item)

    def release(self, key: str) -> None:
        """One output of ``key``'s callback (or the callback itself) is handled."""
        left = self._outstanding[key] - 1
        if left:
            self._outstanding[key] = left
            return
        del self._outstanding[key]
        if self.states.get(key) == OWED:
            self._settle(key, DONE)

    def _request_failed(
        self, request: Request, kind: str, failure: Failure | None = None, **kwargs: Any
    ) -> None:
        key = request.meta.get(FRONTIER_KEY)
        if key is None:
            return
        if failed_for_good(kind, failure):
            self._settle(key, FAILED)
            self.crawler.stats.inc_value("frontier/failed_for_good")
        else:
            # Owed to the next run; not done whatever the errback's output.
            self.states[key] = _RETRY_LATER

    def _settle(self, key: str, state: str) -> None:
        if self.closed or self.states.get(key) in (DONE, FAILED):
            return
        self.states[key] = state
        try:
            self.collection.frontier.settle(key, state)
        except ArchiveWriteError as error:
            self._on_write_error(error)

    def remaining(self) -> int:
        return self.collection.frontier.remaining()


def requisite_entry(url: str, article: str) -> FrontierEntry:
    """The row of an image or file owed to ``article`` (as ``requisite_request`` makes it)."""
    return FrontierEntry(
        article_key(url),
        url,
        "parse_requisite",
        "on_failure",
        priority=-10,
        meta={REQUISITE_META_KEY: True, REQUISITE_OF_META_KEY: article},
        requisite_of=article,
    )


def _entry(request: Request, key: str, spider: Spider, state: str) -> FrontierEntry:
    meta = {name: request.meta[name] for name in _KEPT_META if name in request.meta}
    return FrontierEntry(
        key,
        request.url,
        method_name(spider, request.callback) if callable(request.callback) else None,
        method_name(spider, request.errback) if callable(request.errback) else None,
        request.priority,
        meta,
        state,
        meta.get(REQUISITE_OF_META_KEY),
    )


def frontier_of(crawler: Crawler) -> CrawlFrontier | None:
    """The crawl's frontier (None without a collection)."""
    from crawler.archiving import archive_of

    archive = archive_of(crawler)
    return archive.frontier if archive is not None else None


class FrontierScheduler(Scheduler):
    """Scrapy's scheduler, admitting requests through the frontier and re-seeded from it."""

    def _frontier(self) -> CrawlFrontier | None:
        return frontier_of(self.crawler) if self.crawler is not None else None

    def open(self, spider: Spider) -> Deferred[None] | None:
        frontier = self._frontier()
        if frontier is not None and self.dqdir:
            # The frontier is the truth; a queue left on disk may be torn or stale. The folder
            # itself must stay: Scrapy writes the queue's state into it when it closes.
            shutil.rmtree(Path(self.dqdir), ignore_errors=True)
            Path(self.dqdir).mkdir(parents=True, exist_ok=True)
        result = super().open(spider)
        if frontier is not None:
            owed = frontier.resume(spider)
            if owed:
                logger.info("Resuming the crawl: %d requests owed", len(owed))
            for request in owed:
                super().enqueue_request(request)
        return result

    def enqueue_request(self, request: Request) -> bool:
        frontier = self._frontier()
        if frontier is None:
            return super().enqueue_request(request)
        admitted = frontier.admit(request, self.spider)
        frontier.request_handled(request)
        if not admitted:
            frontier.crawler.stats.inc_value("frontier/not_queued")
            return False
        return super().enqueue_request(request)


class FrontierMiddleware:
    """Spider middleware counting each callback's outputs, so that its request is settled
    only once every item and request it yielded has been stored or recorded."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterator[Any]:
        frontier, key = self._tracking(response)
        if frontier is None or key is None:
            yield from result
            return
        frontier.callback_started(key)
        try:
            for output in result:
                frontier.expect(key, output)
                yield output
        except Exception:
            frontier.callback_failed(key)
            raise
        finally:
            frontier.release(key)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        frontier, key = self._tracking(response)
        if frontier is None or key is None:
            async for output in result:
                yield output
            return
        frontier.callback_started(key)
        try:
            async for output in result:
                frontier.expect(key, output)
                yield output
        except Exception:
            frontier.callback_failed(key)
            raise
        finally:
            frontier.release(key)

    def _tracking(self, response: Response) -> tuple[CrawlFrontier | None, str | None]:
        request = response.request
        key = request.meta.get(FRONTIER_KEY) if request is not None else None
        return frontier_of(self.crawler), key
