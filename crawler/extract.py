"""From a fetched page to an ``ArticleItem``: the one path shared by live crawls,
``fetch`` and ``extract`` (re-parsing WARCs), so the same bytes give the same item.

``build_item`` is pure; ``items_for_response`` is the thin Scrapy adapter spiders call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.items import ArticleContent, ArticleItem, WarcLocation
from crawler.parsers.article import parse_article
from crawler.parsers.page import Page
from crawler.urls import article_key, asset_id, canonicalize, joined, site_of

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.http import Response

    from crawler.spiders.base import ArchivingSpider

logger = logging.getLogger(__name__)

LISTING_META_KEY = "listing"
"""``request.meta`` key of the listing context: ``{"url", "date", "section"}`` (the url is
the listing page's, for the log and debugging)."""
FETCHED_AT_META_KEY = "archive_fetched_at"
"""``request.meta`` key of the fetch time (ISO 8601 UTC), set by the archive."""
WARC_META_KEY = "archive_location"
"""``request.meta`` key of the response record's ``WarcLocation``, set by the archive."""
UNCHANGED_META_KEY = "archive_unchanged"
"""``request.meta`` flag: the collection already holds this exact payload."""
RESUMED_META_KEY = "frontier_resumed"
"""``request.meta`` flag: owed by a stopped run of the crawl, and queued again by this one."""
REQUISITE_META_KEY = "requisite"
"""``request.meta`` flag on image/attachment requests."""
THEME_ASSET_META_KEY = "theme_asset"
"""``request.meta`` flag on requests for what pages need to render: stylesheets, scripts,
fonts, icons, the chrome's images (``ARCHIVE_THEME_ASSETS``)."""


@dataclass(frozen=True, slots=True)
class ListingContext:
    """What the listing that linked an article says about it."""

    date: str | None = None
    """The date the listing shows beside the article (ISO 8601)."""
    section: str | None = None
    """The listing's section name."""

    @classmethod
    def from_meta(cls, value: Mapping[str, Any] | None) -> ListingContext:
        value = value or {}
        return cls(date=value.get("date"), section=value.get("section"))


def iso_utc(moment: datetime) -> str:
    """``2026-11-26T12:00:00Z``: the item's ``fetched_at`` format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_item(
    url: str,
    content: ArticleContent,
    *,
    fetched_at: str,
    warc: WarcLocation | None,
    listing: ListingContext = ListingContext(),
    version: int = 1,
) -> ArticleItem:
    """Combine what the page says with what the crawl knows about it."""
    published, source = content.published, content.published_source
    # The page's own date beats the listing's; the listing beats an image upload time.
    if source != "page" and listing.date:
        published, source = listing.date, "listing"
    return ArticleItem(
        url=url,
        canonical_url=canonicalize(url),
        site=site_of(url),
        asset_id=asset_id(url),
        key=article_key(url),
        version=version,
        title=content.title,
        summary=content.summary,
        paragraphs=content.paragraphs,
        captions=content.captions,
        images=content.images,
        byline=content.byline,
        published=published,
        published_source=source,
        category=content.category or listing.section,
        breadcrumbs=content.breadcrumbs,
        attachments=content.attachments,
        fetched_at=fetched_at,
        warc=warc,
        charset=content.charset,
        encoding_note=content.encoding_note,
    )


def page_from_response(response: Response) -> Page:
    """The neutral page of a (content-decoded) Scrapy response."""
    headers = {
        key.decode("latin-1").lower(): values[0].decode("latin-1")
        for key, values in response.headers.items()
        if values
    }
    return Page(url=response.url, body=response.body, headers=headers)


UNCONVERTED_NOTE = "(not converted)"
"""How the page's ``encoding_note`` says its legacy font text was kept as read."""


def items_for_response(
    spider: ArchivingSpider, response: Response, page: Page | None = None
) -> Iterator[ArticleItem | Request]:
    """The article item of a page (if it is one) and requests for its images and files.

    ``page`` is the response's page when the caller already made it (decoding it once).
    """
    stats = spider.crawler.stats
    unchanged = bool(response.meta.get(UNCHANGED_META_KEY))
    if unchanged:
        stats.inc_value("articles/unchanged")
        # Its images and files were asked for when it was stored; but a run stopped (killed,
        # a full disk) after committing the item may have lost the requests for them.
        if not response.meta.get(RESUMED_META_KEY):
            return
    page = page or page_from_response(response)
    item = _article_item(spider, response, page)
    if item is None:
        return
    if not unchanged:
        yield item
        if item.encoding_note and UNCONVERTED_NOTE in item.encoding_note:
            stats.inc_value("articles/encoding_not_converted")
            spider.unconverted.append({"url": item.url, "note": item.encoding_note})
    if spider.requisites:
        yield from requisite_requests(spider, item)
    if spider.theme_assets:
        yield from theme_requests(spider, page)


def _article_item(spider: ArchivingSpider, response: Response, page: Page) -> ArticleItem | None:
    result = parse_article(page)
    if result.content is None:
        spider.crawler.stats.inc_value(f"articles/rejected/{result.reason}")
        logger.info("Not an article (%s): %s", result.reason, response.url)
        return None
    fetched_at = response.meta.get(FETCHED_AT_META_KEY) or iso_utc(datetime.now(UTC))
    return build_item(
        response.url,
        result.content,
        fetched_at=fetched_at,
        warc=response.meta.get(WARC_META_KEY),
        listing=ListingContext.from_meta(response.meta.get(LISTING_META_KEY)),
    )


_THEME_LINKS = (
    "//link[contains(concat(' ', normalize-space(@rel), ' '), ' stylesheet ')"
    " or contains(concat(' ', normalize-space(@rel), ' '), ' icon ')]/@href"
    " | //script/@src"
)
# Images of the site's chrome: outside the article's body, and not inside a link to an
# article (those are previews of other articles, content rather than chrome).
_CHROME_IMAGES = (
    "//img[not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '),"
    " ' journal-content-article ')])][not(ancestor::a[contains(@href, '/content/')])]/@src"
)
# url(...) and @import "..." in a stylesheet, comments left out.
_CSS_COMMENT = re.compile(rb"/\*.*?\*/", re.S)
_CSS_URL = re.compile(rb"""url\(\s*(['"]?)([^'")]*?)\1\s*\)|@import\s+(['"])([^'"]+)\3""")


def _same_host_urls(base: str, found: Iterable[str]) -> list[str]:
    """``found`` made absolute against ``base``, on its host only, once each, in order."""
    host = urlsplit(base).netloc
    urls = (joined(base, url.strip()) for url in found if not url.strip().startswith("data:"))
    return list(dict.fromkeys(url for url in urls if url and urlsplit(url).netloc == host))


def theme_assets(page: Page) -> list[str]:
    """What a page needs to render beside its article, on its own host: stylesheets,
    scripts, icons and the images of the chrome (logo, banners). Absolute URLs, page order."""
    found = page.tree.xpath(_THEME_LINKS) + page.tree.xpath(_CHROME_IMAGES)
    return _same_host_urls(page.url, (str(url) for url in found))


def theme_css_urls(url: str, body: bytes) -> list[str]:
    """What the stylesheet at ``url`` loads on its host: imported stylesheets, fonts,
    background images (resolved against the stylesheet, as browsers do)."""
    found = (
        (match.group(2) or match.group(4)).decode("utf-8", "replace")
        for match in _CSS_URL.finditer(_CSS_COMMENT.sub(b"", body))
    )
    return _same_host_urls(url, found)


def theme_requests(spider: Spider, page: Page) -> Iterator[Request]:
    """Requests for the page's theme assets: the crawl's duplicate filter lets each through
    once, however many pages name it."""
    for url in theme_assets(page):
        yield theme_request(spider, url, article_key(page.url))


def theme_css_requests(spider: Spider, response: Response) -> Iterator[Request]:
    """Requests for what a fetched theme stylesheet loads (fonts, images, imports)."""
    content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    if not response.meta.get(THEME_ASSET_META_KEY) or "css" not in content_type:
        return
    for url in theme_css_urls(response.url, response.body):
        yield theme_request(spider, url, response.meta.get("requisite_of", ""))


def theme_request(spider: Spider, url: str, article: str) -> Request:
    request = requisite_request(spider, url, article)
    request.meta[THEME_ASSET_META_KEY] = True
    return request


def requisite_urls(item: ArticleItem) -> list[str]:
    """The article's body images and attached files, once each, in page order."""
    urls = [image.url for image in item.images] + [file.url for file in item.attachments]
    return list(dict.fromkeys(urls))


def requisite_requests(spider: Spider, item: ArticleItem) -> Iterator[Request]:
    """Body images and attached files: archived with the article, never parsed."""
    for url in requisite_urls(item):
        yield requisite_request(spider, url, item.key)


def requisite_request(spider: Spider, url: str, article: str) -> Request:
    from scrapy import Request

    # Spider methods as callbacks: the request must survive a trip through the disk queue.
    return Request(
        url,
        callback=spider.parse_requisite,  # type: ignore[attr-defined]
        errback=spider.on_failure,  # type: ignore[attr-defined]
        meta={REQUISITE_META_KEY: True, "requisite_of": article},
        priority=-10,
    )
