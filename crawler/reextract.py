"""``portal-archiver extract``: the parsers over archived responses, no network.

Each response record goes through the same ``parse_article`` and ``build_item`` as a
live crawl. What the page cannot tell (the listing's date and section, the item's
version) comes from the metadata record the crawl wrote beside the response, so a
re-extraction with the same parser gives the same items as the live run. Responses
without such a record (WARCs from wget or Browsertrix) are extracted from the page alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.reader import ArchivedMetadata, ArchivedResponse, ArchiveReadError, iter_archive
from crawler.extract import ListingContext, build_item
from crawler.items import ArticleContent, ArticleItem
from crawler.parsers.article import parse_article
from crawler.parsers.page import Page

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


def _is_html(response: ArchivedResponse) -> bool:
    content_type = (response.content_type or "").lower()
    return "html" in content_type or not content_type


def parse_response(response: ArchivedResponse) -> ArticleContent | None:
    headers = {name.lower(): value for name, value in reversed(response.headers)}
    result = parse_article(Page(url=response.url, body=response.body, headers=headers))
    return result.content


def extract_items(warcs: Iterable[Path], out: Path) -> ExtractStats:
    """Write the articles of ``warcs`` to ``out`` (JSON Lines); return counts."""
    stats = ExtractStats()
    pending: dict[str, _Parsed] = {}
    with out.open("w", encoding="utf-8") as sink:

        def emit(item: ArticleItem) -> None:
            sink.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
            stats.articles += 1

        for path in warcs:
            try:
                for record in iter_archive([path]):
                    if isinstance(record, ArchivedMetadata):
                        parsed = pending.pop(record.concurrent_to or "", None)
                        if parsed is not None and isinstance(record.payload, dict):
                            emit(parsed.item(record.payload))
                    elif not record.is_revisit and record.status == 200 and _is_html(record):
                        stats.responses += 1
                        content = parse_response(record)
                        if content is None:
                            stats.rejected += 1
                        else:
                            pending[record.record_id] = _Parsed(record, content)
            except ArchiveReadError as error:
                stats.errors += 1
                logger.error("%s", error)
        for parsed in pending.values():
            emit(parsed.item(None))
    return stats
