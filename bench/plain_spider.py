"""The baseline of the benchmark: a plain Scrapy spider over the same portal links.

It walks what ``portal-archiver crawl`` walks (site homes, their menu pages, listings and
their "next" paging, every article once, and the homes of the sites those articles belong
to) with the usual Scrapy idioms, but extracts nothing, archives nothing and fetches no
images or files. Its counts go to a JSON file so the benchmark can divide CPU by pages.

Usage: ``python bench/plain_spider.py BASE_URL --stats FILE [-s NAME=VALUE ...]``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from w3lib.url import url_query_cleaner

ARTICLE_LINKS = 'a[href*="/chi-tiet-bai-viet/-/asset_publisher/"]::attr(href)'
LISTING_SLUGS = ("/tin-tuc", "/thong-bao")
# The calendar steps through days forever; the portal-archiver guard skips it too.
SKIPPED_MENU_SLUGS = ("/lich-cong-tac",)
_ASSET = re.compile(r"^(?P<site>(?:/web/[^/;?]+)?)/chi-tiet-bai-viet/.*?/content/id/(?P<id>\d+)")
_JSESSION = re.compile(r";jsessionid=[^/?#]*", re.I)

LOOPBACK_SETTINGS: dict[str, Any] = {
    "ROBOTSTXT_OBEY": True,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": False,
}


def article_key(url: str) -> str | None:
    """``/web/hlv#4961961`` for an :func:`article_url`, None for other URLs."""
    match = _ASSET.match(urlsplit(url).path)
    return f"{match['site']}#{match['id']}" if match else None


def article_url(url: str) -> str:
    """The article URL without session ids, ``redirect=`` chains or print modes.

    Sidebars link articles with a ``redirect=`` of the current page, which nests on every
    hop until Scrapy's URL length limit drops the request.
    """
    return url_query_cleaner(_JSESSION.sub("", url), ["plidlayout"])


def site_home(url: str) -> str:
    """The home of the site an article URL belongs to: ``http://host/web/hlv`` or ``http://host/``."""
    parts = urlsplit(url)
    match = _ASSET.match(parts.path)
    prefix = match["site"] if match else ""
    return f"{parts.scheme}://{parts.netloc}{prefix or '/'}"


class PlainSpider(scrapy.Spider):
    """Home → menu pages and listings → paging → articles; nothing parsed beyond links."""

    name = "plain"

    def __init__(self, start_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url = start_url
        self.articles_seen: set[str] = set()
        self.counts = {"article": 0, "listing": 0, "page": 0}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.start_url, callback=self.parse_page)

    def parse_page(self, response: Response) -> Iterator[scrapy.Request]:
        """A site home or menu page: its menu, then the articles it shows."""
        self.counts["page"] += 1
        for href in response.css("#navigation a::attr(href)").getall():
            path = urlsplit(href).path
            if path.endswith(LISTING_SLUGS):
                yield response.follow(href, callback=self.parse_listing)
            elif not path.endswith(SKIPPED_MENU_SLUGS):
                yield response.follow(href, callback=self.parse_page)
        yield from self._articles(response)

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        self.counts["listing"] += 1
        yield from self._articles(response)
        pager = response.css("ul.lfr-pagination-buttons li:not(.disabled)")
        for href in pager.xpath("a[normalize-space()='Tiếp theo']/@href").getall():
            yield response.follow(href, callback=self.parse_listing)

    def parse_article(self, response: Response) -> Iterator[scrapy.Request]:
        self.counts["article"] += 1
        yield from self._articles(response)

    def _articles(self, response: Response) -> Iterator[scrapy.Request]:
        """Each article once (the portal links one article under many URLs), and its site."""
        for href in response.css(ARTICLE_LINKS).getall():
            url = article_url(response.urljoin(href))
            key = article_key(url)
            if key is None or key in self.articles_seen:
                continue
            self.articles_seen.add(key)
            yield scrapy.Request(url, callback=self.parse_article)
            yield scrapy.Request(site_home(url), callback=self.parse_page)


def run(start_url: str, stats_path: Path, overrides: dict[str, str]) -> None:
    process = CrawlerProcess({**LOOPBACK_SETTINGS, **overrides})
    crawler = process.create_crawler(PlainSpider)
    process.crawl(crawler, start_url=start_url)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    spider: PlainSpider = crawler.spider
    report = {
        "requests": stats.get("downloader/request_count", 0),
        "responses_by_status": {
            key.rsplit("/", 1)[-1]: value
            for key, value in stats.items()
            if key.startswith("downloader/response_status_count/")
        },
        "requests_by_kind": spider.counts,
        "response_bytes": stats.get("downloader/response_bytes", 0),
        "finish_reason": stats.get("finish_reason"),
        "concurrent_items": crawler.settings.getint("CONCURRENT_ITEMS"),
        # Set only when the GC-tuning extension ran (the benchmark's (a') baseline).
        "gc_collections": {
            key.rsplit("/", 1)[-1]: value
            for key, value in stats.items()
            if key.startswith("gc/collections/")
        },
    }
    stats_path.write_text(json.dumps(report, indent=1), encoding="utf-8")


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("start_url", metavar="BASE_URL")
    parser.add_argument("--stats", type=Path, required=True, metavar="FILE")
    parser.add_argument("-s", dest="settings", type=_setting, action="append", default=[])
    args = parser.parse_args()
    run(args.start_url, args.stats, dict(args.settings))


if __name__ == "__main__":
    main()
