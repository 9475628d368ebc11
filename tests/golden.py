"""Reading a parse result the way the golden answers write it (specimens and theme pages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import replica
from crawler.items import ArticleContent

SPECIMENS = Path(replica.__file__).parent / "data"
"""The specimen pages (the portal's own and related themes) with the answers a perfect
extractor gives: the replica serves them, the golden tests parse them."""


FIELDS = (
    "title",
    "summary",
    "paragraphs",
    "captions",
    "images",
    "byline",
    "published_on_page",
    "category",
    "attachments",
)
"""The answer fields every golden page is checked on, one test each."""


def actual(field: str, content: ArticleContent) -> Any:
    """``field`` of ``content`` in the answers' form: images as (url, caption), attachments
    by title, the page's own date as ``2021-09-15T18:40`` (minutes, no zone)."""
    if field == "images":
        return [(image.url, image.caption) for image in content.images]
    if field == "attachments":
        return [attachment.title for attachment in content.attachments]
    if field == "published_on_page":
        if content.published_source != "page" or content.published is None:
            return None
        return content.published[:16] if "T" in content.published else content.published
    return getattr(content, field)
