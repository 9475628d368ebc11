"""The archive pipeline of ``recover``: recovered captures in, never the archives' own answers.

It is :class:`crawler.archiving.ArchivePipeline` (items, versions, state, index: one history
for live and recovered captures of an article), except for what it writes on download:

* a raw capture fetched from an archive becomes a response record of the ORIGINAL exchange
  (:mod:`archive.recovered`), written when the spider has taken the archive's answer apart;
* the archives' own answers (CDX listings, robots.txt, errors) are not part of any site and
  are not archived;
* an archived capture OLDER than the newest version the collection holds of its article (a
  live crawl came first, or an earlier recovery had a narrower window) joins the history at
  its place in capture time: it is no new version when its article text is that of the
  version stored just before or just after it in time; else it is stored, with the next free
  version number, and the article's state stays its newest capture (see
  :meth:`archive.collection.Collection.next_version`).

It also keeps ``DIR/recover.sqlite`` (:class:`crawler.recover.state.RecoveryLog`) behind the
collection: the captures the spider read are noted (an article capture once its item is
stored, or found already stored) and saved after a collection commit, so that the log never
holds a capture read whose item or records a kill or power cut could still lose.
"""

from __future__ import annotations

import bisect
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from archive.collection import content_digest, encode_item
from archive.exchange import Exchange, WarcLocation
from archive.item_lines import Items, text_field
from archive.records import sha1_digest, warc_date
from archive.recovered import CopiedRecord, Provenance, SplitHead, stored_head
from archive.writer import ArchiveWriteError
from crawler.archiving import ArchivePipeline, _Captured, archive_of
from crawler.capture import CAPTURE_META_KEY
from crawler.extract import iso_utc
from crawler.generations import recover_kind
from crawler.items import ArticleItem
from crawler.recover.state import CaptureRead, RecoveryLog
from crawler.urls import UrlKind

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

CAPTURE_META = "recover_capture"
"""``request.meta`` key of a raw-capture request: ``{"source", "url", "timestamp", ...}``."""
ARCHIVE_HEAD_META = "recover_archive_head"
"""``request.meta`` key of the archive's response head as received (set on download)."""


def recover_pipeline(crawler: Crawler) -> RecoverPipeline:
    pipeline = archive_of(crawler)
    if not isinstance(pipeline, RecoverPipeline):
        raise RuntimeError(
            "recover needs crawler.recover.pipeline.RecoverPipeline in ITEM_PIPELINES"
        )
    return pipeline


class RecoverPipeline(ArchivePipeline):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The images and files of recovered articles are the recover spider's to track
        # (DIR/recover.sqlite): never owed to a live crawl by this run.
        self.requisites = False
        self._timelines: dict[str, list[tuple[str, str]]] | None = None
        """Article key → (fetched_at, content digest) of each stored version, in time; read
        from items.jsonl when the first capture older than its article's state comes."""
        self.log: RecoveryLog | None = None
        """The spider's DIR/recover.sqlite, taken when it opens."""
        self._unstored: dict[str, CaptureRead] = {}
        """WARC record id of an article capture → its entry, until its item is stored."""
        # A save costs at most one commit more per the collection's own batch.
        self._save_every = max(1, self.crawler.settings.getint("ARCHIVE_COMMIT_EVERY"))
        self._durable = self.crawler.settings.getbool("ARCHIVE_DURABLE")

    def process_item(self, item: Any) -> Any:
        read = None
        if isinstance(item, ArticleItem) and item.warc is not None:
            read = self._unstored.pop(item.warc.record_id, None)
        try:
            stored = super().process_item(item)
        except DropItem:
            if read is not None and self.failure is None:
                self.note_read(read)  # its content is already stored
            raise
        if read is not None:
            self.note_read(read)
        return stored

    def note_read_when_stored(self, item: ArticleItem, read: CaptureRead) -> None:
        """Note ``read`` once ``item``, the article it gave, is stored (see process_item)."""
        assert item.warc is not None
        self._unstored[item.warc.record_id] = read

    def note_read(self, read: CaptureRead) -> None:
        """Note a capture whose records (and item) the collection holds."""
        if self.log is None:
            return
        self.log.add(read)
        if self.log.unsaved >= self._save_every:
            self.save_log()

    def save_log(self) -> None:
        """Commit the collection, then save the log's notes: never the other way round."""
        if self.log is None or self.failure is not None:
            return  # unsaved captures are read again by the rerun
        self.collection.commit()
        if self._durable:
            # Records that no item names (listings, images) are not synced by the commit.
            self.writer.sync()
        self.log.save()

    def close_spider(self, spider: Spider | None = None) -> None:
        super().close_spider(spider)
        self.save_log()

    def _store_item(self, item: ArticleItem) -> ArticleItem:
        current = self.collection.get(item.key)
        if current is None or (current.fetched_at or "") <= item.fetched_at:
            stored = super()._store_item(item)
            self._note(stored.key, stored.fetched_at, content_digest(stored.to_dict()))
            return stored
        assert item.warc is not None
        encoded = encode_item(item.to_dict())
        timeline = self._timeline(item.key)
        place = bisect.bisect_right(timeline, (item.fetched_at, "\uffff"))
        neighbours = {entry[1] for entry in timeline[max(place - 1, 0) : place + 1]}
        if encoded.digest in neighbours:
            self.stats.inc_value("recover/versions/known_earlier")
            raise DropItem(f"an earlier capture of a stored version: {item.url}", log_level="DEBUG")
        self.stats.inc_value("recover/versions/earlier")
        captured = self._pending.pop(item.warc.record_id, None)
        stored = self._store_version(item, encoded, captured)
        self._note(stored.key, stored.fetched_at, encoded.digest)
        return stored

    def _timeline(self, key: str) -> list[tuple[str, str]]:
        if self._timelines is None:
            self._timelines = {}
            lines = Items(self.collection.items_path)
            for line in lines:
                stored = line.item
                stored_key, fetched_at = text_field(stored, "key"), text_field(stored, "fetched_at")
                if stored_key is None or fetched_at is None:
                    lines.pass_over(line.offset, "no key or no fetched_at")
                    continue
                self._note(stored_key, fetched_at, content_digest(stored))
        return self._timelines.get(key, [])

    def _note(self, key: str, fetched_at: str, digest: str) -> None:
        if self._timelines is not None:
            bisect.insort(self._timelines.setdefault(key, []), (fetched_at, digest))

    def spider_opened(self, spider: Spider) -> None:
        self.log = getattr(spider, "log", None)
        seeds = getattr(spider, "seed_urls", [])
        self.writer.add_info(
            {
                "seeds": " ".join(seeds),
                "crawl-started": iso_utc(datetime.now().astimezone()),
                "description": "captures recovered from web archives (portal-archiver recover)",
            }
        )

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        capture = request.meta.pop(CAPTURE_META_KEY, None)
        if capture is not None and CAPTURE_META in request.meta:
            request.meta[ARCHIVE_HEAD_META] = capture.response_head
        else:
            self.stats.inc_value("recover/archive_api_responses")

    def archive_recovered(
        self,
        url: str,
        split: SplitHead,
        body: bytes,
        provenance: Provenance,
        *,
        requisite: bool = False,
    ) -> WarcLocation | None:
        """Write a recovered capture and its provenance; None when the archive cannot be written
        (the run is then stopping, see ``ArchivePipeline._stop``)."""
        if self.failure is not None:
            return None
        exchange = Exchange(
            url=url,
            request=b"",
            response_head=stored_head(split, len(body)),
            body=body,
            fetched_at=provenance.captured_at,
        )
        digest = sha1_digest(body)
        try:
            location = self.writer.write_recovered(
                exchange, fields=provenance.record_fields(), payload_digest=digest
            )
            self._provenance(url, location, provenance, split.added)
        except ArchiveWriteError as error:
            self._stop(error)
            return None
        if recover_kind(url) is UrlKind.ARTICLE:
            self._remember(
                location.record_id,
                _Captured(
                    digest,
                    split.header("ETag"),
                    split.header("Last-Modified"),
                    warc_date(provenance.captured_at),
                ),
            )
        self._count(url, requisite)
        return location

    def copy_recovered(
        self,
        member: bytes,
        record: CopiedRecord,
        provenance: Provenance,
        *,
        requisite: bool = False,
    ) -> WarcLocation | None:
        """Copy a record of another archive's WARC file as it is, with a provenance record."""
        if self.failure is not None:
            return None
        try:
            location = self.writer.copy_record(member, record)
            self._provenance(record.url, location, provenance, [])
        except ArchiveWriteError as error:
            self._stop(error)
            return None
        if recover_kind(record.url) is UrlKind.ARTICLE and record.rec_type == "response":
            self._remember(
                location.record_id,
                _Captured(
                    record.digest,
                    record.head.header("ETag"),
                    record.head.header("Last-Modified"),
                    record.warc_date,
                ),
            )
        self._count(record.url, requisite)
        return location

    def _provenance(
        self,
        url: str,
        location: WarcLocation,
        provenance: Provenance,
        added: list[tuple[str, str]],
    ) -> None:
        self.writer.write_metadata(
            target_uri=url,
            concurrent_to=location.record_id,
            payload=provenance.metadata_block(added),
            content_type="application/warc-fields",
        )

    def _count(self, url: str, requisite: bool) -> None:
        self.stats.inc_value("archive/records_written", 2)  # the capture and its provenance
        kind = "requisite" if requisite else recover_kind(url)
        self.stats.inc_value(f"archive/requests/{kind}")
        self.stats.set_value("archive/bytes_written", self.writer.bytes_written)
