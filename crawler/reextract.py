"""``portal-archiver extract``: the parsers over archived responses, no network.

Each response record goes through the same ``parse_article`` and ``build_item`` as a
live crawl. What the page cannot tell (the listing's date and section, the item's
version) comes from the metadata record the crawl wrote beside the response, so a
re-extraction with the same parser gives the same items as the live run. Responses
without such a record (WARCs from wget or Browsertrix) are extracted from the page alone.
As in a live crawl, only pages at article URLs are parsed as articles.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from archive.reader import ArchivedMetadata, ArchivedResponse, ArchiveReadError, iter_archive
from crawler.extract import ListingContext, build_item
from crawler.items import ArticleContent, ArticleItem
from crawler.parsers.article import parse_article
from crawler.parsers.page import Page
from crawler.urls import UrlKind, classify

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ExtractStats:
    responses: int = 0
    articles: int = 0
    rejected: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class _Parsed:
    response: ArchivedResponse
    content: ArticleContent

    def item(self, recorded: dict[str, Any] | None) -> ArticleItem:
        recorded = recorded or {}
        from_listing = recorded.get("published_source") == "listing"
        listing = ListingContext(
            date=recorded.get("published") if from_listing else None,
            section=recorded.get("category"),
        )
        return build_item(
            self.response.url,
            self.content,
            fetched_at=_fetched_at(self.response.date),
            warc=self.response.location,
            listing=listing,
            version=recorded.get("version", 1),
        )


def _fetched_at(warc_date: str) -> str:
    # WARC-Date carries microseconds; items carry seconds, as the live crawl writes them.
    return warc_date[:19] + "Z"


def _is_article_page(url: str, content_type: str | None) -> bool:
    """The pages a live crawl hands to the article parser: HTML at an article URL."""
    kind = (content_type or "").lower()
    return ("html" in kind or not kind) and classify(url) is UrlKind.ARTICLE


def parse_response(response: ArchivedResponse) -> ArticleContent | None:
    headers = {name.lower(): value for name, value in reversed(response.headers)}
    result = parse_article(Page(url=response.url, body=response.body, headers=headers))
    return result.content


class _Extraction:
    """One pass over WARC records: parse article pages, pair them with the crawl's records."""

    def __init__(self, sink: TextIO) -> None:
        self.sink = sink
        self.stats = ExtractStats()
        # Parsed pages whose metadata record (written after the response) is still to come.
        self.pending: dict[str, _Parsed] = {}

    def feed(self, record: ArchivedResponse | ArchivedMetadata) -> None:
        if isinstance(record, ArchivedMetadata):
            parsed = self.pending.pop(record.concurrent_to or "", None)
            if parsed is not None and isinstance(record.payload, dict):
                self.emit(parsed.item(record.payload))
            return
        if record.is_revisit or record.status != 200:
            return
        if not _is_article_page(record.url, record.content_type):
            return
        self.stats.responses += 1
        content = parse_response(record)
        if content is None:
            self.stats.rejected += 1
        else:
            self.pending[record.record_id] = _Parsed(record, content)

    def finish(self) -> None:
        for parsed in self.pending.values():
            self.emit(parsed.item(None))
        self.pending.clear()

    def emit(self, item: ArticleItem) -> None:
        self.sink.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
        self.stats.articles += 1


def extract_items(warcs: Iterable[Path], out: Path) -> ExtractStats:
    """Write the articles of ``warcs`` to ``out`` (JSON Lines); return counts.

    A damaged file is reported and counted; the records before the damage still count.
    """
    with out.open("w", encoding="utf-8") as sink:
        extraction = _Extraction(sink)
        for path in warcs:
            try:
                for record in iter_archive([path], bodies=_is_article_page):
                    extraction.feed(record)
            except ArchiveReadError as error:
                extraction.stats.errors += 1
                logger.error("%s", error)
        extraction.finish()
    return extraction.stats
