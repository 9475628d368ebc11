"""Typed records that leave the crawler: the article item and its parts.

Plain dataclasses (Scrapy accepts them as items) so that parsers, the archive
and the CLI can share them without importing Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archive.exchange import WarcLocation

__all__ = ["ArticleContent", "ArticleItem", "Attachment", "ImageRef", "WarcLocation"]


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A photo in an article body."""

    url: str
    """Absolute URL of the image, as linked from the page."""
    caption: str | None = None
    """The photo's caption (NFC, folded white space), or None when it has none."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an article (PDF, DOC, ...)."""

    url: str
    """Absolute URL of the file."""
    title: str
    """The link text or file title shown on the page (NFC, folded white space)."""


@dataclass(slots=True)
class ArticleContent:
    """What a parser reads from one article page: a pure function of the page."""

    title: str
    """The article's title."""
    summary: str | None = None
    """The lead ("sapo"), or None; never repeated in ``paragraphs``."""
    paragraphs: list[str] = field(default_factory=list)
    """Body blocks in order: paragraphs, sub-headings, list items."""
    captions: list[str] = field(default_factory=list)
    """Photo captions in order."""
    images: list[ImageRef] = field(default_factory=list)
    """Body images with their captions."""
    byline: str | None = None
    """Author/source line as written (``Đăng Khoa``), without template labels; or None."""
    published: str | None = None
    """ISO 8601 date on the page: ``2022-06-30T16:30:00+07:00`` or ``2022-06-30``; else None."""
    published_source: str | None = None
    """Where ``published`` came from: ``page``, ``metadata`` (the page's structured data, when it
    shows no date), ``image`` (upload time of a body image), or None."""
    category: str | None = None
    """Section name shown by the page (last breadcrumb), or None."""
    breadcrumbs: list[str] = field(default_factory=list)
    """Breadcrumb trail as shown, ``["Trang chủ", "Tin tức"]``."""
    attachments: list[Attachment] = field(default_factory=list)
    """Attached files."""
    charset: str | None = None
    """The charset the page's bytes were read in (``windows-1258``, ``utf-8``)."""
    encoding_note: str | None = None
    """What to know about the page's encoding (declarations that disagree, a legacy font
    encoding such as TCVN3 or VNI, converted or kept as read), or None."""


@dataclass(slots=True)
class ArticleItem:
    """One article as written to ``items.jsonl`` (one JSON object per line)."""

    url: str
    """The URL as requested."""
    canonical_url: str
    """Canonical form of the URL: tracking and session parameters dropped."""
    site: str
    """Host, plus ``/web/{code}`` when the URL has one: ``lapvo.dongthap.gov.vn/web/hlv``."""
    asset_id: str | None
    """Liferay asset entry id as a string when the URL carries one, else None."""
    key: str
    """The article's identity (:func:`crawler.urls.article_key`): ``{host}#{asset_id}`` or the
    canonical URL."""
    version: int
    """1 for the first capture of this key in the collection, then 2, 3, ... for edits."""
    title: str
    """The article's title."""
    summary: str | None
    """The lead ("sapo"), or None."""
    paragraphs: list[str]
    """Body blocks in order."""
    captions: list[str]
    """Photo captions in order."""
    images: list[ImageRef]
    """Body images: ``{url, caption}``."""
    byline: str | None
    """Author/source line as written, or None."""
    published: str | None
    """ISO 8601 publication date or date-time (``+07:00``), or None."""
    published_source: str | None
    """``page``, ``metadata``, ``listing``, ``image`` or None."""
    category: str | None
    """Section name, or None."""
    breadcrumbs: list[str]
    """Breadcrumb trail as shown."""
    attachments: list[Attachment]
    """Attached files: ``{url, title}``."""
    fetched_at: str
    """ISO 8601 UTC time of the fetch: ``2026-11-26T12:00:00Z``."""
    warc: WarcLocation | None
    """The response record holding the page."""
    charset: str | None = None
    """The charset the page's bytes were read in."""
    encoding_note: str | None = None
    """What to know about the page's encoding, or None."""
    source: str = "live"
    """``live`` (fetched from the site) or ``archive`` (recovered from a web archive)."""
    archive: dict[str, str] | None = None
    """For recovered captures: ``{name, url, memento, captured_at}`` (see ``crawler.recover``)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``items.jsonl``, field order as declared."""
        # Shallow on purpose: dataclasses.asdict deep-copies every list, which cost more
        # than the rest of storing an item.
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["images"] = [{"url": i.url, "caption": i.caption} for i in self.images]
        data["attachments"] = [{"url": a.url, "title": a.title} for a in self.attachments]
        if self.warc is not None:
            data["warc"] = {
                "file": self.warc.file,
                "offset": self.warc.offset,
                "record_id": self.warc.record_id,
            }
        return data
