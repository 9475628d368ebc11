"""Bylines and captions: the short lines around the body that are not paragraphs."""

from __future__ import annotations

import re

from crawler.parsers.blocks import Block, Role

# A template's own label, not the author's words ("Tác giả: Minh Thư" → "Minh Thư").
_TEMPLATE_LABEL = re.compile(
    r"^(?:tác\s+giả|người\s+viết|bài\s+viết\s+bởi|viết\s+bởi|author|posted\s+by|by)\s*[:：]\s*",
    re.IGNORECASE,
)
_AUTHOR_LABEL = re.compile(r"^(?:tác\s+giả|người\s+viết|author)\s*[:：]", re.IGNORECASE)
_SOURCE_LABEL = re.compile(r"^nguồn\s*[:：]", re.IGNORECASE)
_BYLINE_HINT = re.compile(
    r"^(?:tin|bài|ảnh|hình|bt|tin,?\s*ảnh|bài,?\s*ảnh|bài\s+và\s+ảnh|nguồn|theo|tác\s+giả"
    r"|thực\s+hiện|ctv|pv|phóng\s+viên|người\s+viết)\s*[:,+\-]"
    r"|^theo\s+\S|\(\s*tổng\s+hợp\s*\)$|\s-\s*tổng\s+hợp$|\(\s*theo\s+[^)]+\)$",
    re.IGNORECASE,
)
_BYLINE_MAX = 90
_BYLINE_WORDS = 14
_SENTENCE_END = (".", "!", "?", ";", ":", "…", "”", '"')
_QUOTE_START = ("“", '"', "‘", "'", "«", "-", "–", "•")
_CAPTION_PREFIX = re.compile(r"^\(?\s*ảnh(?:\s+minh\s+họa)?\s*:", re.IGNORECASE)
_CAPTION_SUFFIX = re.compile(r"\(\s*(?:ảnh|nguồn\s+ảnh|ảnh\s+minh\s+họa)\s*:?[^()]*\)$", re.I)
_PROSE_START = re.compile(r"^ảnh\s+hưởng", re.IGNORECASE)
_CAPTION_MAX = 300
_PLAIN_CAPTION_MAX = 160
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def strip_template_label(text: str) -> str:
    """``Tác giả: Minh Thư`` → ``Minh Thư``; ``Nguồn: …`` and the author's own words stay."""
    return _TEMPLATE_LABEL.sub("", text).strip()


def is_labelled_author(text: str) -> bool:
    return bool(_AUTHOR_LABEL.match(text)) and len(text) <= _BYLINE_MAX


def is_source_line(text: str) -> bool:
    return bool(_SOURCE_LABEL.match(text)) and len(text) <= _BYLINE_MAX


def _name_like(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= 6 and all(w[0].isupper() or not w[0].isalpha() for w in words)


def looks_like_byline(block: Block) -> bool:
    """A short trailing line that names the author or source."""
    text = block.text
    if block.role is not Role.TEXT and block.role is not Role.AUTHOR:
        return False
    if len(text) > _BYLINE_MAX or len(text.split()) > _BYLINE_WORDS or block.tag in _HEADING_TAGS:
        return False
    if _BYLINE_HINT.search(text) or _AUTHOR_LABEL.match(text):
        return True
    if text.endswith(_SENTENCE_END) or text.startswith(_QUOTE_START):
        return False
    return block.align == "right" or block.bold or block.italic or _name_like(text)


def looks_like_caption(block: Block) -> bool:
    """A line right after a photo that describes it."""
    text = block.text
    if block.role is Role.CAPTION:
        return True
    if block.role is not Role.TEXT or block.align == "right" or len(text) > _CAPTION_MAX:
        return False
    if _PROSE_START.match(text) or block.tag in _HEADING_TAGS:
        return False
    if _CAPTION_PREFIX.match(text) or _CAPTION_SUFFIX.search(text):
        return True
    if block.align == "center" or block.italic:
        return True
    # An unstyled short line: a caption unless it reads as a sentence, a quote or a heading.
    return (
        block.align not in ("justify", "both")
        and not block.bold
        and len(text) <= _PLAIN_CAPTION_MAX
        and not text.endswith(_SENTENCE_END)
        and not text.startswith(_QUOTE_START)
    )
