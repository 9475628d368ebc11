"""Keeps the collection's search index (``DIR/search.sqlite``) up to date after every run.

Whichever way a crawl, recover or fetch runs (``portal-archiver``, ``scrapy crawl``, Scrapyd),
its new articles are searchable in the reading room without waiting for ``serve``. The update
runs on ``engine_stopped``: after ``spider_closed``, where the archive pipeline commits and
closes the collection, so ``items.jsonl`` holds every line of the run. The index is a cache
that ``serve`` rebuilds anyway, so a failure to update it is logged, never fails the run.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured

from archive.search import update_search_index

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class SearchIndexUpdate:
    """Extension: the search index brought up to date when the engine has stopped."""

    def __init__(self, crawler: Crawler, directory: Path) -> None:
        self.crawler = crawler
        self.directory = directory

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("ARCHIVE_SEARCH_INDEX"):
            raise NotConfigured("ARCHIVE_SEARCH_INDEX is off")
        directory = settings.get("ARCHIVE_DIR")
        if not directory:
            raise NotConfigured("no collection to index")
        extension = cls(crawler, Path(directory))
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_stopped(self) -> None:
        if not (self.directory / "items.jsonl").exists():
            return
        try:
            added = update_search_index(self.directory)
        except (OSError, sqlite3.Error) as error:
            logger.error(
                "The search index of %s was not brought up to date (%s); "
                "`portal-archiver serve` rebuilds it",
                self.directory,
                error,
            )
            return
        logger.info("Search index of %s up to date (%d item lines added)", self.directory, added)
