"""The recover spider: a vanished site's collection rebuilt from web archives.

In phases, each started when the previous one has nothing left in flight (``spider_idle``):

1. discovery: each archive's CDX listing of each site's host, page by page;
2. listings and other pages of the sites, for the dates and sections they show, and the
   redirect captures of article URLs, for where they lead (an archived redirect from one
   article URL to another makes them one history: :mod:`crawler.recover.identity`);
3. articles, each history's captures oldest first (one chain per history, so versions follow
   capture time), each with the images and files it names, looked up in the listings of
   step 1 or with one more CDX query.

Everything fetched from an archive is written as the original response
(:mod:`crawler.recover.pipeline`); the report of the run goes to ``DIR/recover-report.json``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from archive.recovered import (
    CopiedRecord,
    Provenance,
    RecordError,
    SplitHead,
    read_record,
    split_headers,
    unwrap_location,
)
from crawler.extract import ListingContext, build_item, iso_utc, requisite_urls
from crawler.generations import history_key
from crawler.parsers import listing as listing_parser
from crawler.parsers.article import parse_article
from crawler.parsers.page import Page
from crawler.profiles import SiteProfile, resolve_targets, split_arguments
from crawler.recover.cdx import Capture, CdxError, parse_cdx
from crawler.recover.identity import Identities, Redirect, judge, resolve
from crawler.recover.pipeline import ARCHIVE_HEAD_META, CAPTURE_META, recover_pipeline
from crawler.recover.plan import Found, Plan, closest, make_plan, merge_histories, scope_name
from crawler.recover.politeness import ARCHIVE_API_META, is_capture
from crawler.recover.sources import ArchiveSource, Flavour, resolve_archives
from crawler.recover.state import CaptureRead, RecoveryLog
from crawler.spiders.base import ArchivingSpider
from crawler.urls import Scope, canonicalize, in_scope, joined

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from crawler.items import ArticleItem

logger = logging.getLogger(__name__)

REPORT_NAME = "recover-report.json"
_RECOVER_MIDDLEWARES = {
    "crawler.guard.RequestGuardMiddleware": None,
    "crawler.recover.politeness.ArchiveGuardMiddleware": 50,
    # Archives answer raw captures as they are: nothing to ask "has it changed?" about.
    "crawler.middlewares.ConditionalRequestMiddleware": None,
    "crawler.recover.politeness.ArchivePacingMiddleware": 580,
}
_REQUISITE_META = ("requisite", "requisite_of", "wanted", "at", "site", "sources_left")
_CLOSEST_SO_FAR = "closest_so_far"
"""The nearest capture of a lookup's pages read so far (a ``Found``), carried to its next page."""
_CAPTURE_REQUEST_META = {"handle_httpstatus_all": True, "dont_redirect": True}


def _date_stamp(value: str | None, end: bool = False) -> str | None:
    """``2021-03-05`` → ``20210305`` (CDX ``from``/``to``); None stays None."""
    if not value:
        return None
    stamp = datetime.strptime(value, "%Y-%m-%d").strftime("%Y%m%d")
    return stamp + ("235959" if end else "000000")


class RecoverSpider(ArchivingSpider):
    """Arguments: ``targets`` (URLs or profile names), ``archives`` (``ia``, ``cc``, collection
    URLs; comma or space separated), ``since``/``until`` (YYYY-MM-DD), ``cc_crawls``,
    ``profiles_file``."""

    name = "recover"
    custom_settings: ClassVar[dict[str, Any]] = {
        "ITEM_PIPELINES": {"crawler.recover.pipeline.RecoverPipeline": 300},
        # Archives are shared public services: one connection, a request every 4 s per
        # archive host (the Wayback CDX API tolerates about 15-60 a minute), more retries.
        "DOWNLOAD_DELAY": 4.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": False,
        "RETRY_TIMES": 5,
        # The archives publish their CDX and raw-capture APIs for programs like this one; their
        # robots.txt speaks to crawlers of their replay pages. Their request-rate limits are
        # kept instead (above, and the pauses).
        "ROBOTSTXT_OBEY": False,
        "ARCHIVE_WARC_PREFIX": "recovered",
        # Mementos of one article share the archive's path shapes: the spider dedups itself.
        "DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter",
        "REQUEST_FINGERPRINTER_CLASS": "scrapy.utils.request.RequestFingerprinter",
    }

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # Added to the project's middlewares: a custom_settings dict would replace them all.
        middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
        middlewares.update(_RECOVER_MIDDLEWARES)
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")
        # No request queue on disk, and no crawl frontier re-seeding requests: every run plans
        # afresh from the CDX listings and DIR/recover.sqlite, so requests kept by a stopped
        # run would only repeat captures and break each article's chain of captures.
        settings.set("JOBDIR", None, priority="cmdline")
        settings.set("SCHEDULER", "scrapy.core.scheduler.Scheduler", priority="spider")
        spider_middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
        spider_middlewares["crawler.frontier.FrontierMiddleware"] = None
        settings.set("SPIDER_MIDDLEWARES", spider_middlewares, priority="spider")

    def __init__(
        self,
        targets: str | list[str] | None = None,
        archives: str | list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        cc_crawls: str | list[str] | None = None,
        profiles_file: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sites: list[SiteProfile] = resolve_targets(targets, profiles_file)
        self.scopes: list[Scope] = [site.scope for site in self.sites]
        self.archive_specs = split_arguments(archives)
        self.cc_crawls = split_arguments(cc_crawls)
        self.since, self.until = _date_stamp(since), _date_stamp(until, end=True)
        self.sources: dict[str, ArchiveSource] = {}
        self.found: list[Found] = []
        self.plan = Plan()
        self.phase = "discovery"
        self.listed: dict[str, ListingContext] = {}
        """Article key → date and section an archived listing shows for it."""
        self.listed_urls: dict[str, str] = {}
        self.requisites_asked: set[str] = set()
        self.missing_requisites: dict[str, set[str]] = defaultdict(set)
        self.versions: Counter[str] = Counter()
        self.recovered_keys: dict[str, set[str]] = defaultdict(set)
        self.log: RecoveryLog | None = None
        self.redirects: list[Redirect] = []
        """Redirect captures of article URLs: this run's and those earlier runs read."""
        self.identities = Identities()
        """Which article keys are one history (known once the redirects are read)."""
        self.known_digests: Callable[[str], set[str]] = lambda key: set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        sources = resolve_archives(
            spider.archive_specs,
            ia_url=settings.get("PORTAL_RECOVER_IA_URL"),
            cc_index=settings.get("PORTAL_RECOVER_CC_INDEX_URL"),
            cc_data=settings.get("PORTAL_RECOVER_CC_DATA_URL"),
            cc_crawls=spider.cc_crawls or settings.getlist("PORTAL_RECOVER_CC_CRAWLS"),
        )
        spider.sources = {source.name: source for source in sources}
        spider.page_size = settings.getint("PORTAL_RECOVER_CDX_PAGE_SIZE")
        directory = settings.get("ARCHIVE_DIR")
        if directory:
            spider.log = RecoveryLog(Path(directory) / "recover.sqlite")
            spider.report_path = Path(directory) / REPORT_NAME
        else:
            spider.report_path = None
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.on_item, signal=signals.item_scraped)
        crawler.signals.connect(spider.on_closed, signal=signals.spider_closed)
        return spider

    @property
    def seed_urls(self) -> list[str]:
        return [site.site_root for site in self.sites]

    # Phase 1: discovery ----------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources.values():
            for host in dict.fromkeys(scope.host for scope in self.scopes):
                yield self._cdx_request(source, f"{host}/", "prefix", self.parse_cdx)

    def _cdx_request(
        self,
        source: ArchiveSource,
        url: str,
        match: str,
        callback: Any,
        resume_key: str | None = None,
        page: int | None = None,
        **meta: Any,
    ) -> scrapy.Request:
        query = source.cdx_url(
            url,
            match=match,
            resume_key=resume_key,
            page=page,
            # One image or file: only its readable captures matter (a site listing keeps the
            # others, to count them).
            readable_only=match == "exact",
            since=self.since,
            until=self.until,
            page_size=self.page_size,
        )
        return scrapy.Request(
            query,
            callback=callback,
            errback=self.on_failure,
            meta={
                ARCHIVE_API_META: True,
                "source": source.name,
                "query": (url, match),
                "then": callback.__name__,
                **meta,
            },
            dont_filter=True,
        )

    def _cdx_page(self, response: Response) -> tuple[ArchiveSource, list[Capture], list[Any]]:
        """The captures of a CDX answer, and the request for its next page if there is one."""
        source = self.sources[response.meta["source"]]
        stats = self.crawler.stats
        try:
            page = parse_cdx(response.body)
        except CdxError as error:
            self._fail(response.url, "cdx-unreadable")
            logger.error("Unreadable CDX answer from %s: %s", source.name, error)
            return source, [], []
        url, match = response.meta["query"]
        callback = getattr(self, response.meta["then"])
        # What the query's callback needs goes on to its next pages (a lookup's wanted URL and
        # time); a page request without it fails in the callback, and the lookup is lost.
        meta = {k: v for k, v in response.meta.items() if k in _REQUISITE_META}
        if page.pages is not None:
            return (
                source,
                [],
                [
                    self._cdx_request(source, url, match, callback, page=number, **meta)
                    for number in range(page.pages)
                ],
            )
        stats.inc_value("recover/cdx_pages")
        stats.inc_value("recover/captures_listed", len(page.captures))
        if page.skipped:
            # Rows of a time, URL or status no capture can be made of: said, not dropped unsaid.
            stats.inc_value("recover/quirks/cdx-row-unreadable", page.skipped)
            logger.warning(
                "%d row(s) of a CDX answer from %s name no capture (%s): passed over",
                page.skipped,
                source.name,
                response.url,
            )
        captures = page.captures
        if source.flavour is Flavour.COMMON_CRAWL:
            captures = [c for c in captures if c.offset is not None and c.length is not None]
            stats.inc_value("recover/quirks/no-byte-range", len(page.captures) - len(captures))
        if not page.resume_key:
            return source, captures, []
        following = self._cdx_request(source, url, match, callback, page.resume_key, **meta)
        return source, captures, [following]

    def parse_cdx(self, response: Response) -> Iterator[scrapy.Request]:
        source, captures, following = self._cdx_page(response)
        self.found += [Found(source.name, capture) for capture in captures]
        yield from following

    # Phases 2 and 3 ----------------------------------------------------------------------

    def on_idle(self) -> None:
        requests = self._next_phase()
        if requests is None:
            return
        for request in requests:
            self.crawler.engine.crawl(request)
        raise DontCloseSpider

    def _next_phase(self) -> list[scrapy.Request] | None:
        if self.phase == "discovery":
            self.phase = "pages"
            self.known_digests = self._known_digests()
            self.plan = make_plan(
                self.found,
                self.scopes,
                done=self.log.done() if self.log else set(),
                known_digests=self.known_digests,
                window=(self.since, self.until),
            )
            self.redirects = self.log.redirects() if self.log else []
            self.found = []
            stats = self.crawler.stats
            for reason, count in self.plan.quirks.items():
                stats.set_value(f"recover/captures_skipped/{reason}", count)
            # What the progress line counts as found.
            stats.set_value("portal/articles_scheduled", len(self.plan.articles))
            pages = [self._capture_request(item, self.parse_page) for item in self.plan.pages]
            redirects = [self._capture_request(r, self.parse_redirect) for r in self.plan.redirects]
            return pages + redirects
        if self.phase == "pages":
            self.phase = "articles"
            self._merge_histories()
            requests = [
                self._capture_request(chain[0], self.parse_article, chain=(key, 0))
                for key, chain in self.plan.articles.items()
            ]
            return requests + list(self._owed_requests())
        return None

    def _merge_histories(self) -> None:
        """One chain of captures per article history, by the archived redirects."""
        self.identities = resolve(self.redirects, self.scopes)
        merge_histories(self.plan, self.identities, self.known_digests)
        stats = self.crawler.stats
        stats.set_value("recover/redirects/merged", len(self.identities.merges))
        for reason, count in self.identities.ignored.items():
            stats.set_value(f"recover/redirects/not_evidence/{reason}", count)
        stats.set_value("portal/articles_scheduled", len(self.plan.articles))

    def _known_digests(self) -> Callable[[str], set[str]]:
        """Payload digests of an article already in the collection: read by an earlier
        recovery, or the last capture's (a live crawl's too)."""
        read = self.log.digests() if self.log else {}
        collection = recover_pipeline(self.crawler).collection

        def known(key: str) -> set[str]:
            digests = set(read.get(key, ()))
            state = collection.get(key)
            if state is not None and state.payload_digest:
                digests.add(state.payload_digest.removeprefix("sha1:"))
            return digests

        return known

    def _capture_request(self, item: Found, callback: Any, **meta: Any) -> scrapy.Request:
        source = self.sources[item.source]
        capture = item.capture
        headers = {}
        if source.flavour is Flavour.COMMON_CRAWL:
            # _cdx_page keeps only Common Crawl rows that have a byte range
            assert capture.offset is not None and capture.length is not None
            end = capture.offset + capture.length - 1
            headers["Range"] = f"bytes={capture.offset}-{end}"
        return scrapy.Request(
            source.capture_url(capture),
            headers=headers,
            callback=callback,
            errback=self.on_capture_failure,
            meta={
                **_CAPTURE_REQUEST_META,
                CAPTURE_META: {
                    "source": item.source,
                    "url": capture.url,
                    "timestamp": capture.timestamp,
                    "digest": capture.digest,
                },
                **meta,
            },
            dont_filter=True,
            priority=-10 if meta.get("requisite") else 0,
        )

    # Reading a capture -------------------------------------------------------------------

    def _read_capture(self, response: Response) -> Read | None:
        """Write the capture an archive's answer holds; what it holds, or None when it holds
        none (or the archive cannot be written)."""
        unpacked = self._unpack(response)
        if unpacked is None:
            return None
        read, provenance = unpacked
        return read if self._store(response, read, provenance) else None

    def _unpack(self, response: Response) -> tuple[Read, Provenance] | None:
        """The capture an archive's answer holds, and where it came from; None when the
        archive answered for itself (see :meth:`_archive_problem`) or with no record."""
        info = response.meta[CAPTURE_META]
        source = self.sources[info["source"]]
        if not is_capture(response):
            self._archive_problem(response, source)
            return None
        memento = response.url
        if source.flavour is Flavour.COMMON_CRAWL:
            memento += f"#{response.request.headers.get('Range', b'').decode()}"
        provenance = Provenance(
            archive=source.name,
            memento=memento,
            retrieved_at=datetime.now(UTC),
            captured_at=_memento_datetime(response)
            or Capture(info["url"], info["timestamp"]).captured_at,
            archive_url=source.base,
        )
        if source.flavour is Flavour.COMMON_CRAWL:
            read = self._copied(response)
            return None if read is None else (read, provenance)
        head = response.meta.get(ARCHIVE_HEAD_META) or _head_of(response)
        return Read(info["url"], _unwrapped(split_headers(head), source), response.body), provenance

    def _store(self, response: Response, read: Read, provenance: Provenance) -> bool:
        """Write a capture and its provenance; False when the archive cannot be written."""
        requisite = bool(response.meta.get("requisite"))
        pipeline = recover_pipeline(self.crawler)
        if read.copied is not None:
            location = pipeline.copy_recovered(
                response.body, read.copied, provenance, requisite=requisite
            )
        else:
            location = pipeline.archive_recovered(
                read.url, read.head, read.body, provenance, requisite=requisite
            )
        if location is None:
            return False
        response.meta["recover_location"] = location
        response.meta["recover_provenance"] = provenance
        stats = self.crawler.stats
        stats.inc_value("recover/captures_read")
        if read.status >= 300:
            stats.inc_value(
                f"recover/quirks/{'redirect' if read.status < 400 else f'http-{read.status}'}"
            )
        return True

    def _copied(self, response: Response) -> Read | None:
        """A Common Crawl record: read from its byte range, to be copied as it is."""
        try:
            copied = read_record(response.body)
        except RecordError as error:
            self.crawler.stats.inc_value("recover/quirks/bad-record")
            self._fail(response.url, "bad-record")
            logger.warning("Byte range of %s is no record: %s", response.url, error)
            return None
        return Read(copied.url, copied.head, copied.payload, copied)

    def _archive_problem(self, response: Response, source: ArchiveSource) -> None:
        """The archive answered for itself (not found, overloaded, a redirect to its nearest
        capture of the URL, which is followed): counted, named in the report if fatal."""
        location = response.headers.get(b"Location")
        hops = response.meta.get("archive_redirects", 0)
        target = joined(response.url, location.decode("latin-1")) if location else None
        if 300 <= response.status < 400 and target and hops < 3:
            self.crawler.stats.inc_value("recover/quirks/archive-redirect")
            self.crawler.engine.crawl(
                response.request.replace(url=target, meta={
                    **response.meta, "archive_redirects": hops + 1,
                })
            )  # fmt: skip
            response.meta["recover_followed"] = True
            return
        kind = "not-in-archive" if response.status == 404 else f"archive-http-{response.status}"
        self.crawler.stats.inc_value(f"recover/quirks/{kind}")
        if response.status == 404:
            self._mark(response, kind)  # listed but gone: not asked for again
        else:
            self._fail(response.url, kind)
        logger.info("No capture (%s) at %s", kind, response.url)

    def _mark(self, response: Response, outcome: str, target: str | None = None) -> None:
        """Note a capture read whose records are written (saved in recover.sqlite only once
        the collection has committed them, see :class:`RecoverPipeline`)."""
        recover_pipeline(self.crawler).note_read(_capture_read(response, outcome, target))

    def on_capture_failure(self, failure: Failure) -> Iterator[scrapy.Request]:
        self.on_failure(failure)
        request = failure.request  # type: ignore[attr-defined]
        yield from self._continue_chain(request.meta)

    # Pages -------------------------------------------------------------------------------

    def parse_page(self, response: Response) -> None:
        read = self._read_capture(response)
        if read is None:
            return
        self._mark(response, "page")
        if read.status != 200:
            return
        page = Page(url=read.url, body=read.body, headers=_lower(read.head))
        listing = listing_parser.parse_listing(page)
        for entry in listing.entries:
            key = history_key(entry.url)
            if not any(in_scope(entry.url, scope) for scope in self.scopes):
                continue
            self.listed_urls.setdefault(key, entry.url)
            known = self.listed.get(key, ListingContext())
            self.listed[key] = ListingContext(
                date=known.date or entry.date, section=known.section or listing.section
            )
        self.crawler.stats.inc_value("recover/listing_pages")

    def parse_redirect(self, response: Response) -> None:
        """Where a redirect capture of an article URL led: evidence of which articles are one
        history. Its record is kept when it may be that evidence, so that the collection
        shows why two addresses are one article; others are only counted, as in the plan."""
        unpacked = self._unpack(response)
        if unpacked is None:
            return
        read, provenance = unpacked
        target = read.head.header("Location")
        if not 300 <= read.status < 400 or not target:
            self.crawler.stats.inc_value("recover/quirks/redirect-without-location")
            self._mark(response, f"http-{read.status}")
            return
        redirect = Redirect(read.url, target, response.meta[CAPTURE_META]["timestamp"])
        self.redirects.append(redirect)
        if judge(redirect, self.scopes) is None and not self._store(response, read, provenance):
            return  # the archive cannot be written: read again by the rerun
        self._mark(response, "redirect", target)

    # Articles ----------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Any]:
        read = self._read_capture(response)
        if read is not None:
            outcome = _capture_read(response, f"http-{read.status}")
            item = self._article(response, read) if read.status == 200 else None
            if item is None:
                recover_pipeline(self.crawler).note_read(outcome)
            else:
                # Not before the item is stored: this generator runs ahead of the pipeline,
                # and a capture saved as read is never read again.
                recover_pipeline(self.crawler).note_read_when_stored(item, outcome)
                yield item
                if self.requisites:
                    yield from self._requisites(item, response.meta[CAPTURE_META]["timestamp"])
        if not response.meta.get("recover_followed"):  # else the followed request continues
            yield from self._continue_chain(response.meta)

    def _article(self, response: Response, read: Read) -> ArticleItem | None:
        stats = self.crawler.stats
        if read.truncated:
            stats.inc_value("recover/quirks/truncated")
            logger.info("Truncated capture, no item: %s", response.url)
            return None
        url = read.url
        result = parse_article(Page(url=url, body=read.body, headers=_lower(read.head)))
        if result.content is None:
            stats.inc_value(f"articles/rejected/{result.reason}")
            stats.inc_value(f"recover/quirks/{result.reason}")
            logger.info("Not an article (%s): %s", result.reason, response.url)
            return None
        provenance: Provenance = response.meta["recover_provenance"]
        item = build_item(
            url,
            result.content,
            fetched_at=iso_utc(provenance.captured_at),
            warc=response.meta["recover_location"],
            listing=self.listed.get(history_key(url), ListingContext()),
        )
        item.key = self.identities.key(url)
        item.source = "archive"
        item.archive = provenance.item_archive()
        return item

    def _continue_chain(self, meta: dict[str, Any]) -> Iterator[scrapy.Request]:
        chain = meta.get("chain")
        if chain is None:
            return
        key, index = chain
        captures = self.plan.articles.get(key, [])
        if index + 1 < len(captures):
            yield self._capture_request(
                captures[index + 1], self.parse_article, chain=(key, index + 1)
            )

    # Images and files --------------------------------------------------------------------

    def _requisites(self, item: ArticleItem, timestamp: str) -> Iterator[scrapy.Request]:
        for url in requisite_urls(item):
            yield from self._requisite(url, item.key, item.site, timestamp)

    def _requisite(
        self, url: str, article: str, site: str, timestamp: str
    ) -> Iterator[scrapy.Request]:
        canonical = canonicalize(url)
        if canonical in self.requisites_asked:
            return
        self.requisites_asked.add(canonical)
        if self.log is not None:
            self.log.want(url, article=article, site=site, timestamp=timestamp)
        meta = {"requisite": True, "requisite_of": article, "wanted": url, "at": timestamp}
        meta["site"] = site
        found = closest(self.plan.by_url.get(canonical, []), timestamp)
        if found is not None:
            yield self._capture_request(found, self.parse_requisite, **meta)
            return
        # Not in the sites' listings (another host, or beyond them): ask the archives in turn.
        yield from self._ask_for_requisite(list(self.sources), meta)

    def _ask_for_requisite(self, sources: list[str], meta: dict[str, Any]) -> Iterator[Any]:
        if not sources:
            self.crawler.stats.inc_value("recover/requisites_missing")
            self.missing_requisites[meta["site"]].add(meta["wanted"])
            if self.log is not None:
                self.log.settle(meta["wanted"])  # reported missing: not asked for again
            return
        source, *rest = sources
        yield self._cdx_request(
            self.sources[source], meta["wanted"], "exact", self.parse_requisite_cdx,
            **meta, sources_left=rest,
        )  # fmt: skip

    def _owed_requests(self) -> Iterator[scrapy.Request]:
        """What earlier runs asked for and did not get (stopped, or the archive failed)."""
        for url, article, site, timestamp in self.log.wanted() if self.log else []:
            yield from self._requisite(url, article, site, timestamp)

    def parse_requisite_cdx(self, response: Response) -> Iterator[scrapy.Request]:
        source, captures, following = self._cdx_page(response)
        usable = [Found(source.name, c) for c in captures if c.status == "200" or c.is_revisit]
        earlier = response.meta.get(_CLOSEST_SO_FAR)
        found = closest(usable + ([earlier] if earlier else []), response.meta["at"])
        if following:
            # Common Crawl first says how many pages (one URL's captures fit in the first);
            # Wayback goes on with a resume key: the nearest capture of the pages read so far
            # goes along, and the last page decides.
            request = following[0]
            yield request.replace(meta={**request.meta, _CLOSEST_SO_FAR: found})
            return
        meta = {k: response.meta[k] for k in _REQUISITE_META}
        if found is not None:
            yield self._capture_request(found, self.parse_requisite, **meta)
        else:
            yield from self._ask_for_requisite(response.meta["sources_left"], meta)

    def parse_requisite(self, response: Response) -> None:
        read = self._read_capture(response)
        if read is not None:
            self._mark(response, "requisite")
            if self.log is not None:
                self.log.settle(response.meta["wanted"])
            self.crawler.stats.inc_value("recover/requisites_recovered")

    # Report ------------------------------------------------------------------------------

    def on_item(self, item: Any, response: Response, spider: scrapy.Spider) -> None:
        if getattr(item, "source", None) != "archive":
            return
        # Counted under each target holding it, as the report reads them: a host's target
        # holds the items of all its /web/CODE sites, whose own site names differ from it.
        for scope in self.scopes:
            if in_scope(item.url, scope):
                name = scope_name(scope)
                self.versions[name] += 1
                self.recovered_keys[name].add(item.key)

    def report(self) -> dict[str, Any]:
        captured = set(self.plan.articles) | {
            self.identities.key(f.capture.url) for items in self.plan.by_url.values() for f in items
        }
        sites = {scope_name(scope): self._site_report(scope, captured) for scope in self.scopes}
        stats = self.crawler.stats.get_stats()
        quirks = {
            name.removeprefix("recover/quirks/").replace("recover/captures_skipped/", "skipped/"): n
            for name, n in sorted(stats.items())
            if name.startswith(("recover/quirks/", "recover/captures_skipped/"))
        }
        quirks.update(
            (f"redirect-not-evidence/{reason}", count)
            for reason, count in sorted(self.identities.ignored.items())
        )
        politeness = {
            "refusals": stats.get("recover/archive_refusals", 0),
            "pauses": stats.get("recover/pauses", 0),
            "retry_backoff_seconds": round(stats.get("retry/backoff_seconds", 0.0), 3),
        }
        return {
            "archives": sorted(self.sources),
            "sites": sites,
            "quirks": quirks,
            "politeness": politeness,
        }

    def _site_report(self, scope: Scope, captured: set[str]) -> dict[str, Any]:
        """One site's part of the report (``captured``: the keys of the histories that any
        archive captured)."""
        name = scope_name(scope)
        never = sorted(
            url
            for url in self.listed_urls.values()
            if self.identities.key(url) not in captured and in_scope(url, scope)
        )
        return {
            "captures_found": self.plan.found_by_site.get(name, 0),
            "articles_recovered": len(self.recovered_keys.get(name, ())),
            "versions": self.versions.get(name, 0),
            "listed_never_captured": never,
            "merged_by_redirect": [
                {"from": m.url, "to": m.target, "captured_at": _iso(m.timestamp), "key": m.key}
                for m in self.identities.merges
                if in_scope(m.url, scope)
            ],
            "requisites_missing": sorted(self.missing_requisites.get(name, ())),
        }

    def on_closed(self, spider: scrapy.Spider, reason: str) -> None:
        report = self.report()
        for name, site in report["sites"].items():
            stats = self.crawler.stats
            stats.set_value(f"recover/sites/{name}/articles", site["articles_recovered"])
            stats.set_value(
                f"recover/sites/{name}/never_captured", len(site["listed_never_captured"])
            )
        if self.report_path is not None:
            tmp = self.report_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.replace(self.report_path)
        if self.log is not None:
            self.log.close()


@dataclass(frozen=True, slots=True)
class Read:
    """What one capture holds, as the original server sent it."""

    url: str
    head: SplitHead
    body: bytes
    """The payload, content codings undone."""
    copied: CopiedRecord | None = None
    """The record itself, for captures copied as they are (Common Crawl)."""

    @property
    def status(self) -> int:
        parts = self.head.status_line.split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdecimal() else 200

    @property
    def truncated(self) -> bool:
        """The archive's crawler lost the end of an HTML page."""
        if self.copied is not None and self.copied.truncated:
            return True
        mime = (self.head.header("Content-Type") or "").lower()
        return "html" in mime and b"</html" not in self.body[-4096:].lower()


def _capture_read(response: Response, outcome: str, target: str | None = None) -> CaptureRead:
    info = response.meta[CAPTURE_META]
    # The URL's own key, not its history's: which histories are one may change with the
    # redirects later runs find, and the known payloads of a history are its members'.
    key = history_key(info["url"])
    return CaptureRead(
        info["source"], info["url"], info["timestamp"], key, info["digest"], outcome, target
    )


def _iso(timestamp: str) -> str:
    return iso_utc(Capture("", timestamp).captured_at)


def _head_of(response: Response) -> bytes:
    """The archive's response head as Scrapy kept it, when no wire capture was made (another
    download handler): header order and case are lost, the rest holds."""
    lines = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}".encode()]
    for name, values in response.headers.items():
        lines += [name + b": " + value for value in values]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _memento_datetime(response: Response) -> datetime | None:
    """The capture time the archive states (it may serve the capture nearest the one asked)."""
    value = response.headers.get(b"Memento-Datetime")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value.decode("latin-1")).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _unwrapped(split: SplitHead, source: ArchiveSource) -> SplitHead:
    """A redirect's ``Location`` the archive rewrote to its own memento, back to the original."""
    original = [
        (name, unwrap_location(value, source.base) if name.lower() == "location" else value)
        for name, value in split.original
    ]
    return SplitHead(split.status_line, original, split.added)


def _lower(split: SplitHead) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in split.original:
        headers.setdefault(name.lower(), value)
    return headers
