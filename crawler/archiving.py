"""The Scrapy glue of the archive: exchanges to WARC, articles to JSON Lines.

``ArchivePipeline`` is both an item pipeline and a ``response_downloaded`` listener:

* every download (pages, listings, images, files, redirects, 404s, 5xx, robots.txt)
  becomes a request + response record, from the wire bytes ``crawler.capture`` kept;
  a payload the collection already holds becomes a ``revisit`` record instead;
* every article item becomes a ``metadata`` record (concurrent to its response), a
  line in ``items.jsonl`` and a row in the collection state, in that order, so that a
  crash at any point loses nothing and emits nothing twice (see ``archive.collection``).

All the WARC and state logic lives in ``archive/``; this module only translates.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured

from archive.collection import ArticleState, Collection, EncodedItem, Resumed, encode_item
from archive.exchange import Exchange, WarcLocation
from archive.records import NOT_MODIFIED_PROFILE, sha1_digest, warc_date
from archive.writer import ArchiveWriteError, ArchiveWriter
from crawler.capture import CAPTURE_META_KEY, WireCapture, ip_of
from crawler.counts import Counts
from crawler.extract import (
    FETCHED_AT_META_KEY,
    THEME_ASSET_META_KEY,
    UNCHANGED_META_KEY,
    WARC_META_KEY,
    iso_utc,
)
from crawler.frontier import FRONTIER_KEY, CrawlFrontier
from crawler.items import ArticleItem
from crawler.middlewares import user_agent
from crawler.urls import UrlKind, article_key, classify

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

_ARCHIVES: weakref.WeakKeyDictionary[Any, ArchivePipeline] = weakref.WeakKeyDictionary()


def archive_of(crawler: Crawler) -> ArchivePipeline | None:
    """The crawler's archive, for components that consult the collection (dedup, validators)."""
    return _ARCHIVES.get(crawler)


# The portal-archiver command each spider runs as, where it is not ``crawl``.
_COMMANDS = {"fetch": "fetch", "recover": "recover"}


def crawl_identity(crawler: Crawler) -> dict[str, Any]:
    """What makes two runs the same crawl: the spider's targets and options, and the settings
    that change what is fetched."""
    spider = crawler.spider
    identity: dict[str, Any] = dict(getattr(spider, "crawl_identity", None) or {})
    identity.setdefault("spider", getattr(spider, "name", None))
    settings = crawler.settings
    identity["requisites"] = settings.getbool("ARCHIVE_REQUISITES")
    identity["theme_assets"] = settings.getbool("ARCHIVE_THEME_ASSETS")
    return identity


@dataclass(frozen=True, slots=True)
class _Captured:
    """What the state row of an article needs from its capture, kept until its item arrives."""

    payload_digest: str
    etag: str | None
    last_modified: str | None
    warc_date: str


def _same_payload(previous: ArticleState | None, status: int, digest: str) -> bool:
    """Whether a 200 response repeats the stored capture it could refer to."""
    return (
        previous is not None
        and status == 200
        and previous.payload_digest == digest
        and previous.warc_date is not None
    )


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class ArchivePipeline:
    def __init__(self, crawler: Crawler, collection: Collection, writer: ArchiveWriter) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.collection = collection
        self.writer = writer
        # What the archive counts per page; the progress line and the report read them.
        self.counts = Counts(
            self.stats, values=lambda: {"archive/bytes_written": self.writer.bytes_written}
        )
        self.frontier = CrawlFrontier(
            crawler,
            collection,
            requisites=crawler.settings.getbool("ARCHIVE_REQUISITES"),
            on_write_error=lambda error: self._stop(error),
        )
        # Captured articles waiting for their item; bounded, since a page may turn
        # out not to be an article (soft 404) and never produce one.
        self._pending: OrderedDict[str, _Captured] = OrderedDict()
        self.failure: ArchiveWriteError | None = None
        self._closing: asyncio.Future[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        directory = settings.get("ARCHIVE_DIR")
        if not directory:
            raise NotConfigured("ARCHIVE_DIR is not set")
        collection = Collection(
            Path(directory),
            durable=settings.getbool("ARCHIVE_DURABLE"),
            commit_every=settings.getint("ARCHIVE_COMMIT_EVERY"),
            # Named in the lock file: a command refused meanwhile says which one holds it.
            command=_COMMANDS.get(crawler.spidercls.name, "crawl"),
        ).open()
        try:
            # Before the scheduler opens: it re-seeds its queue from the crawl's frontier.
            resumed = collection.begin_crawl(
                crawl_identity(crawler), discard=settings.getbool("ARCHIVE_DISCARD_OPEN_CRAWL")
            )
        except BaseException:
            collection.close()
            raise
        _resume_stats(crawler, resumed)
        info = {
            "operator": settings.get("ARCHIVE_OPERATOR"),
            # What the crawl did, never a label that could say otherwise.
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": user_agent(settings),
            "isPartOf": Path(directory).resolve().name,
        }
        writer = collection.open_writer(
            prefix=settings.get("ARCHIVE_WARC_PREFIX"),
            max_size=settings.getint("ARCHIVE_WARC_MAX_SIZE"),
            info=info,
        )
        pipeline = cls(crawler, collection, writer)
        crawler.signals.connect(pipeline.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(pipeline.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        _ARCHIVES[crawler] = pipeline
        return pipeline

    # -- state the other components consult ------------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None]:
        state = self.collection.get(article_key(url))
        return (state.etag, state.last_modified) if state else (None, None)

    def is_known(self, key: str) -> bool:
        """Whether the collection held the article before the open crawl began."""
        return self.collection.known_before_crawl(key)

    # -- signals -------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        seeds = getattr(spider, "seed_urls", None) or getattr(spider, "urls", [])
        self.writer.add_info(
            {"seeds": " ".join(seeds), "crawl-started": iso_utc(datetime.now(UTC))}
        )

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        capture: WireCapture | None = request.meta.pop(CAPTURE_META_KEY, None)
        if self.failure is not None:
            # In flight when the disk filled: its callback still runs while the crawl closes,
            # but the response is not archived, so the request is the next run's to fetch.
            self._owe(request)
            return
        if capture is None:
            self.stats.inc_value("archive/not_captured")
            logger.warning("No wire capture for %s; not archived", request.url)
            return
        exchange = Exchange(
            url=request.url,
            request=capture.request,
            response_head=capture.response_head,
            body=response.body,
            fetched_at=capture.started_at,
            ip_address=ip_of(response),
        )
        request.meta[FETCHED_AT_META_KEY] = iso_utc(capture.started_at)
        try:
            request.meta[WARC_META_KEY] = self._write(exchange, response, request)
        except ArchiveWriteError as error:
            self._owe(request)
            self._stop(error)
            return
        self.counts.inc("archive/records_written", 2)  # the request and its response
        self.counts.inc(f"archive/requests/{self._kind(request)}")

    def _owe(self, request: Request) -> None:
        key = request.meta.get(FRONTIER_KEY)
        if key is not None:
            self.frontier.owe(key)

    def _stop(self, error: ArchiveWriteError) -> None:
        """A write failed (disk full, I/O error): what is archived stays valid; stop cleanly."""
        if self.failure is not None:
            return  # stopping already
        self.failure = error
        self.stats.inc_value("archive/write_errors")
        logger.error(
            "Stopping the crawl: the archive cannot be written (%s). Everything archived so far "
            "is intact; free some space and run the same command again to continue.",
            error,
        )
        self._closing = asyncio.ensure_future(
            self.crawler.engine.close_spider_async(reason="archive_write_error")
        )

    def _write(self, exchange: Exchange, response: Response, request: Request) -> WarcLocation:
        """Archive one exchange: in full, or as a revisit when the collection holds its payload."""
        key = article_key(request.url)
        digest = sha1_digest(exchange.body)
        previous = self.collection.get(key)
        if response.status == 304 or _same_payload(previous, response.status, digest):
            request.meta[UNCHANGED_META_KEY] = True
            self.collection.touch(key, iso_utc(exchange.fetched_at))
            if response.status == 304:
                return self._write_not_modified(exchange, previous, digest)
            assert previous is not None and previous.warc_date is not None
            self.counts.inc("archive/revisits")
            return self.writer.write_revisit(
                exchange,
                refers_to_uri=previous.url,
                refers_to_date=previous.warc_date,
                payload_digest=digest,
            )
        location = self.writer.write_exchange(exchange, payload_digest=digest)
        # Only articles get state rows: listings change on every crawl, and the images and
        # files of an unchanged article are not fetched again.
        if classify(request.url) is UrlKind.ARTICLE:
            self._remember(
                location.record_id,
                _Captured(
                    digest,
                    _header(response, "ETag"),
                    _header(response, "Last-Modified"),
                    warc_date(exchange.fetched_at),  # what a revisit's WARC-Refers-To-Date names
                ),
            )
        return location

    def _write_not_modified(
        self, exchange: Exchange, previous: ArticleState | None, digest: str
    ) -> WarcLocation:
        """A 304 is a revisit of the stored capture (WARC 1.1 server-not-modified) so that
        replay shows that capture, not an empty 304; with no capture to name it stays as sent."""
        if previous is None or previous.warc_date is None or previous.payload_digest is None:
            return self.writer.write_exchange(exchange, payload_digest=digest)
        self.counts.inc("archive/revisits")
        return self.writer.write_revisit(
            exchange,
            refers_to_uri=previous.url,
            refers_to_date=previous.warc_date,
            refers_to_record=previous.location.record_id if previous.location else None,
            payload_digest=previous.payload_digest,
            profile=NOT_MODIFIED_PROFILE,
        )

    def _remember(self, record_id: str, captured: _Captured) -> None:
        self._pending[record_id] = captured
        while len(self._pending) > 10_000:
            self._pending.popitem(last=False)

    @staticmethod
    def _kind(request: Request) -> str:
        if request.meta.get(THEME_ASSET_META_KEY):
            return "asset"
        if request.meta.get("requisite"):
            return "requisite"
        return classify(request.url).name.lower()

    # -- items ---------------------------------------------------------------------------

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        if self.failure is not None:
            self.frontier.owe_item(item)  # its page is archived; the item is the rerun's
            raise DropItem(f"not archived: {item.url}", log_level="DEBUG")
        if item.warc is None:
            raise DropItem(f"not archived: {item.url}", log_level="DEBUG")
        try:
            return self._store_item(item)
        except ArchiveWriteError as error:
            self.frontier.owe_item(item)
            self._stop(error)
            raise DropItem(f"not archived: {item.url}", log_level="DEBUG") from error

    def _store_item(self, item: ArticleItem) -> ArticleItem:
        assert item.warc is not None
        captured = self._pending.pop(item.warc.record_id, None)
        encoded = encode_item(item.to_dict())
        previous = self.collection.get(item.key)
        if previous is not None and previous.content_digest == encoded.digest:
            self.collection.touch(item.key, item.fetched_at)
            self.counts.inc("articles/unchanged")
            raise DropItem(f"unchanged since {previous.fetched_at}: {item.url}", log_level="DEBUG")
        return self._store_version(item, encoded, captured)

    def _store_version(
        self, item: ArticleItem, encoded: EncodedItem, captured: _Captured | None
    ) -> ArticleItem:
        """Store ``item`` as the next version of its article."""
        assert item.warc is not None
        item.version = self.collection.next_version(item.key)
        line = encoded.line(item.version)
        self.writer.write_metadata(
            target_uri=item.url, concurrent_to=item.warc.record_id, payload=line.encode()
        )
        self.counts.inc("archive/records_written")
        self.collection.append_item(line)
        self.collection.record_capture(
            ArticleState(
                item.key,
                item.url,
                item.version,
                payload_digest=captured.payload_digest if captured else None,
                etag=captured.etag if captured else None,
                last_modified=captured.last_modified if captured else None,
                warc_date=captured.warc_date if captured else None,
                fetched_at=item.fetched_at,
                location=item.warc,
                content_digest=encoded.digest,
            )
        )
        self.counts.inc("articles/archived")
        if item.version > 1:
            self.counts.inc("articles/changed")
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        """Before ``spider_closed``, whose listeners (the report) read the stats."""
        self.counts.publish()
        self.stats.set_value("frontier/remaining", self.frontier.remaining())

    def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            self.collection.end_crawl(finished=reason == "finished")
            count = self.collection.build_index()
            logger.info("Indexed %d records in %s", count, self.collection.index_path)
        except OSError as error:
            logger.error(
                "The index was not rebuilt (%s); run `portal-archiver index %s` later",
                error,
                self.collection.directory,
            )
        finally:
            self.counts.publish()  # the final size, once the index closed the WARC file
            self.frontier.closed = True
            self.collection.close()


def _resume_stats(crawler: Crawler, resumed: Resumed) -> None:
    """What this run takes over from interrupted ones (the summary shows it)."""
    values = {
        "resume/articles_done": resumed.articles_done,
        "resume/requisites_owed": resumed.requisites_owed,
        "resume/warc_files_repaired": resumed.warc_files_repaired,
        "resume/items_registered": resumed.items_registered,
        "resume/items_dropped": resumed.items_dropped,
    }
    for name, value in values.items():
        crawler.stats.set_value(name, value)
