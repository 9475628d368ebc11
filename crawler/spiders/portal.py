"""The crawl spider: whole portal sites through their listings, each article fetched once.

Order of discovery matters for dates: listing pages go first (higher priority) and
their entries carry the listing's date and section to the article. Articles seen only
in menus, home blocks or sidebars have no listing context, so they wait until the
crawl is otherwise idle: by then any listing that holds them has claimed them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawler.extract import (
    LISTING_META_KEY,
    UNCHANGED_META_KEY,
    items_for_response,
    page_from_response,
)
from crawler.frontier import frontier_of
from crawler.items import ArticleItem
from crawler.parsers import listing as listing_parser
from crawler.profiles import SiteProfile, resolve_targets
from crawler.spiders.base import ArchivingSpider
from crawler.urls import (
    Scope,
    UrlKind,
    article_key,
    canonicalize,
    classify,
    clean,
    in_scope,
    page_number,
    site_of,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from crawler.parsers.page import Page

logger = logging.getLogger(__name__)

LISTING_PRIORITY = 20
ARTICLE_PRIORITY = 0
_TRUE = frozenset({"1", "true", "yes", "on"})


def _parse_since(since: str | None) -> str | None:
    if not since:
        return None
    try:
        return date.fromisoformat(since).isoformat()
    except ValueError:
        raise ValueError(f"since must be a date YYYY-MM-DD, not {since!r}") from None


def _listing_id(url: str) -> str:
    """One id for all pages of a listing: its host and path."""
    parts = urlsplit(canonicalize(url))
    return parts.netloc + parts.path


def _next_pages(listing: listing_parser.Listing) -> list[str]:
    """The next page's link; failing that, every later page's (dedup keeps it cheap)."""
    current = listing.page or 1
    numbered = [(page_number(url) or 1, url) for url in listing.pages]
    following = [url for number, url in numbered if number == current + 1]
    return following or [url for number, url in numbered if number > current]


class PortalSpider(ArchivingSpider):
    """Crawl portal sites: home, listings and paging, every article once.

    Arguments (strings, as with ``-a``): ``targets`` (URLs or profile names, comma or
    space separated), ``profiles_file`` (TOML), ``max_articles``, ``since``
    (YYYY-MM-DD), ``new_only`` ("1"/"true").
    """

    name = "portal"

    def __init__(
        self,
        targets: str | list[str] | None = None,
        profiles_file: str | None = None,
        max_articles: str | int | None = None,
        since: str | None = None,
        new_only: str | bool | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sites: list[SiteProfile] = resolve_targets(targets, profiles_file)
        self.scopes: list[Scope] = [site.scope for site in self.sites]
        self.max_articles = int(max_articles) if max_articles not in (None, "") else None
        self.since = _parse_since(since)
        self.new_only = str(new_only).lower() in _TRUE
        self.scheduled: set[str] = set()
        """Keys of the articles requested so far."""
        self.deferred: dict[str, str] = {}
        """Articles found outside listings, by key, waiting for the crawl to go idle."""
        self.listing_keys: dict[str, set[str]] = {}
        """Article keys each listing has shown so far."""
        self.sites_seen: set[str] = {site_of(site.start_url) for site in self.sites}
        """Sites (`site_of`) whose home has been requested."""
        self.rejected: set[str] = set()
        """Keys of scheduled pages that turned out not to be articles (soft 404s)."""
        self.held: dict[str, tuple[str, dict[str, Any]]] = {}
        """Articles met after --max-articles was reached: a soft 404 frees a place for one."""
        self.held_pages: list[str] = []
        """Listing pages not followed because --max-articles was reached."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.on_opened, signal=signals.spider_opened)
        return spider

    @property
    def crawl_identity(self) -> dict[str, Any]:
        """What makes a rerun the same crawl (see ``Collection.begin_crawl``)."""
        return {
            "spider": self.name,
            "targets": [site.start_url for site in self.sites],
            "listings": [url for site in self.sites for url in site.listing_urls()],
            "since": self.since,
            "max_articles": self.max_articles,
            "new_only": self.new_only,
        }

    # Hooks -------------------------------------------------------------------------

    @property
    def seed_urls(self) -> list[str]:
        """Where the crawl starts (recorded in each WARC file's warcinfo)."""
        return [site.start_url for site in self.sites]

    def is_known(self, key: str) -> bool:
        """Whether the collection already holds this article (False without a collection)."""
        from crawler.archiving import archive_of

        archive = archive_of(self.crawler)
        return archive is not None and archive.is_known(key)

    def article_items(
        self, response: Response, page: Page
    ) -> Iterator[ArticleItem | scrapy.Request]:
        """The article item and its requisite requests."""
        yield from items_for_response(self, response, page)

    # Start -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for site in self.sites:
            for request in self.site_requests(site):
                yield request

    def site_requests(self, site: SiteProfile) -> Iterator[scrapy.Request]:
        """The start page of a site and its known listings."""
        start = clean(site.start_url)
        kind = classify(start)
        if kind is UrlKind.ARTICLE:
            yield from self._article_request(start, {})
        else:
            callback = self.parse_listing if kind is UrlKind.LISTING else self.parse_home
            yield self._page_request(start, callback)
        for url in site.listing_urls():
            yield self._page_request(clean(url), self.parse_listing)

    # Callbacks ---------------------------------------------------------------------

    def parse_home(self, response: Response) -> Iterator[Any]:
        """Listings from the menus; the page's own articles wait for idle time."""
        page = page_from_response(response)
        listings = [url for url in listing_parser.navigation_links(page) if self._allowed(url)]
        for url in listings:
            yield self._page_request(url, self.parse_listing)
        if not listings:
            # A start page without menus of its own: perhaps it is the listing.
            yield from self.parse_listing(response)
            return
        yield from self._found_articles(listing_parser.article_links(page), response.url)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """Entries become article requests carrying the listing's context; then paging."""
        page = page_from_response(response)
        listing = listing_parser.parse_listing(page)
        if not listing.pages and classify(response.url) is UrlKind.PAGE:
            # A menu page that is no listing: its articles get no listing context.
            self.crawler.stats.inc_value("portal/other_pages")
            yield from self._found_articles(listing.articles, response.url)
            return
        self.crawler.stats.inc_value("portal/listing_pages")
        shown = self.listing_keys.setdefault(_listing_id(response.url), set())
        keys = [article_key(entry.url) for entry in listing.entries]
        new = [key for key in keys if key not in shown]
        shown.update(keys)
        for entry in listing.entries:
            yield from self._entry_request(entry, listing, response.url)
        following = [url for url in _next_pages(listing) if self._allowed(url)]
        stop = self._paging_stop(listing, new, keys) if following else None
        if stop == "max_articles":
            self.held_pages += following
        elif following and stop is None:
            for url in following:
                yield self._page_request(url, self.parse_listing)
        yield from self._found_articles(listing.articles, response.url)

    def parse_article(self, response: Response) -> Iterator[Any]:
        page = page_from_response(response)
        article = response.meta.get(UNCHANGED_META_KEY, False)
        for output in self.article_items(response, page):
            article = article or isinstance(output, ArticleItem)
            yield output
        if not article:
            # A soft 404 or another page that is no article: not one of --max-articles.
            first = (response.meta.get("redirect_urls") or [response.url])[0]
            self.rejected.add(article_key(first))
        links = listing_parser.article_links(page)
        yield from self._found_articles(links, response.url)

    def on_opened(self, spider: scrapy.Spider) -> None:
        """A resumed crawl counts the articles its earlier runs scheduled."""
        frontier = frontier_of(self.crawler)
        if frontier is not None:
            self.scheduled |= frontier.keys_with_callback("parse_article")

    def on_idle(self) -> None:
        """Schedule the articles found outside listings, and those held back by
        --max-articles when soft 404s freed places; keep the spider open for them."""
        released = self._release_held()
        for request in released:
            self.crawler.engine.crawl(request)
        deferred, self.deferred = self.deferred, {}
        frontier = frontier_of(self.crawler)
        if frontier is not None:
            # Those an interrupted run found, too.
            for entry in frontier.deferred():
                deferred.setdefault(entry.key, entry.url)
        requests = [
            request for url in deferred.values() for request in self._article_request(url, {})
        ]
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            self.crawler.stats.inc_value("portal/articles_outside_listings", len(requests))
        if requests or released:
            raise DontCloseSpider

    def _release_held(self) -> list[scrapy.Request]:
        released: list[scrapy.Request] = []
        while self.held and not self._max_reached():
            key = next(iter(self.held))
            url, meta = self.held.pop(key)
            released += self._article_request(url, meta)
        if self.held_pages and not self._max_reached():
            pages, self.held_pages = self.held_pages, []
            released += [self._page_request(url, self.parse_listing) for url in pages]
        return released

    # Decisions ---------------------------------------------------------------------

    def _paging_stop(
        self, listing: listing_parser.Listing, new: list[str], keys: list[str]
    ) -> str | None:
        """Why paging this listing stops here, or None to go on (the reason goes to stats)."""
        reason = None
        dated = [entry.date for entry in listing.entries if entry.date]
        if not new:
            # Out-of-range pages repeat the last one: nothing new means the end.
            reason = "exhausted"
        elif self.since and dated and dated[-1][:10] < self.since:
            reason = "since"
        elif self.new_only and all(self.is_known(key) for key in keys):
            reason = "known"
        elif self._max_reached():
            reason = "max_articles"
        if reason:
            self.crawler.stats.inc_value(f"portal/stopped_{reason}")
        return reason

    def _max_reached(self) -> bool:
        counted = len(self.scheduled) - len(self.rejected & self.scheduled)
        return self.max_articles is not None and counted >= self.max_articles

    def _allowed(self, url: str) -> bool:
        """In scope of some target; counts the rest."""
        if any(in_scope(url, scope) for scope in self.scopes):
            return True
        self.crawler.stats.inc_value("portal/out_of_scope")
        return False

    def _entry_request(
        self, entry: listing_parser.ListingEntry, listing: listing_parser.Listing, page_url: str
    ) -> Iterator[scrapy.Request]:
        if self.since and entry.date and entry.date[:10] < self.since:
            self.crawler.stats.inc_value("portal/skipped_before_since")
            return
        if not self._allowed(entry.url):
            return
        context = {"url": page_url, "date": entry.date, "section": listing.section}
        yield from self._article_request(entry.url, {LISTING_META_KEY: context})

    def _found_articles(self, urls: list[str], page_url: str) -> Iterator[scrapy.Request]:
        """Articles seen outside listings wait for idle time; their sites' homes do not."""
        in_scope = [url for url in urls if self._allowed(url)]
        yield from self._site_homes(in_scope, page_url)
        # An undated article cannot be placed before or after --since: a since crawl
        # takes only what its listings date.
        if self.since:
            return
        frontier = frontier_of(self.crawler)
        for url in in_scope:
            key = article_key(url)
            if key not in self.scheduled and key not in self.deferred:
                self.deferred[key] = url
                if frontier is not None:
                    # Recorded with the page that found it, so a kill cannot lose it.
                    frontier.defer(self._plain_article_request(url), self)

    def _site_homes(self, urls: list[str], page_url: str) -> Iterator[scrapy.Request]:
        """Homes of in-scope sites met for the first time (a host-wide scope holds many)."""
        scheme = urlsplit(page_url).scheme
        for url in urls:
            site = site_of(url)
            if site not in self.sites_seen:
                self.sites_seen.add(site)
                self.crawler.stats.inc_value("portal/sites_discovered")
                yield self._page_request(f"{scheme}://{site}", self.parse_home)

    # Requests ----------------------------------------------------------------------

    def _article_request(self, url: str, meta: dict[str, Any]) -> Iterator[scrapy.Request]:
        key = article_key(url)
        if key in self.scheduled:
            return
        # A capped crawl takes the next N articles the collection lacks: run again, it goes
        # on where the last one stopped instead of fetching the same N again.
        if (self.new_only or self.max_articles is not None) and self.is_known(key):
            self.crawler.stats.inc_value("portal/skipped_known")
            frontier = frontier_of(self.crawler)
            if frontier is not None:
                frontier.skip(url)
            return
        if self._max_reached():
            self.held.setdefault(key, (url, meta))
            return
        self.held.pop(key, None)
        self.scheduled.add(key)
        self.deferred.pop(key, None)
        self.crawler.stats.inc_value("portal/articles_scheduled")
        if self._max_reached():
            logger.info("Scheduled the maximum of %d articles", self.max_articles)
        request = self._plain_article_request(url)
        request.meta.update(meta)
        yield request

    def _plain_article_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(
            url, callback=self.parse_article, errback=self.on_failure, priority=ARTICLE_PRIORITY
        )

    def _page_request(self, url: str, callback: Any) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=self.on_failure, priority=LISTING_PRIORITY
        )
