"""``fetch``: capture specific article URLs, nothing else (besides their images and files)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extract import items_for_response
from crawler.spiders.base import ArchivingSpider
from crawler.urls import Scope


class FetchSpider(ArchivingSpider):
    name = "fetch"

    def __init__(self, urls: str | list[str] = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.urls = re.split(r"[\s,]+", urls.strip()) if isinstance(urls, str) else list(urls)
        self.urls = [url for url in self.urls if url]
        if not self.urls:
            raise ValueError("fetch needs at least one URL (-a urls=URL[,URL...])")
        # The hosts of the URLs given: a redirect elsewhere is not followed.
        self.scopes = list(dict.fromkeys(Scope(Scope.from_url(url).host) for url in self.urls))

    @property
    def crawl_identity(self) -> dict[str, Any]:
        """What makes a rerun the same fetch (see ``Collection.begin_crawl``)."""
        return {"spider": self.name, "urls": sorted(self.urls)}

    async def start(self) -> Any:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse_article, errback=self.on_failure)

    def parse_article(self, response: Response) -> Iterator[Any]:
        yield from items_for_response(self, response)
