"""The neutral page object every parser works on: (url, body bytes, headers).

Text is decoded once, here, in one order: byte-order mark, the HTTP charset,
the page's own declaration, then detection; it is parsed once too, and every parser
(article, listing, links) reads that one tree. Nothing here fetches or imports Scrapy.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import lxml.etree

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.I)
# lxml's default HTML parser but for the index of id attributes, which nothing here looks up
# (its upkeep is a tenth of the parse). lxml locks a parser while it runs: sharing one is safe.
_HTML_PARSER = lxml.etree.HTMLParser(collect_ids=False)
# The same for bytes known to be valid UTF-8: libxml2 reads them as they are, where text
# would first be re-encoded for it (about an eighth of the parse of a portal page).
_UTF8_PARSER = lxml.etree.HTMLParser(collect_ids=False, encoding="utf-8")
# Anything before the first tag, then a declaration: such bodies keep the text path.
_XML_DECLARATION_BYTES = re.compile(rb"^[^<]*<\?xml", re.I)

Element = lxml.etree._Element


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decode(body: bytes, encoding: str) -> str | None:
    """The body decoded, or None when its bytes are not valid in that encoding."""
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class Page:
    """One HTTP response as parsers see it.

    ``headers`` maps lower-case header names to their (first) value; ``body`` is the
    payload after content decoding (gzip already undone).
    """

    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def encoding(self) -> str:
        """The charset the body is decoded with (a Python codec name)."""
        return self._decoded[0]

    @cached_property
    def _decoded(self) -> tuple[str, str | None]:
        """The encoding, and the body decoded with it when the check already did that."""
        for bom, name in _BOMS:
            if self.body.startswith(bom):
                return name, None
        declared = [
            _codec(m.group(1))
            for m in [_HTTP_CHARSET.search(self.headers.get("content-type", ""))]
            if m
        ]
        meta = _META_CHARSET.search(self.body[:4096])
        if meta:
            declared.append(_codec(meta.group(1).decode("ascii", "replace")))
        # A declaration is trusted only when the bytes agree with it: some portals
        # declare one charset and send another.
        for name in [*declared, "utf-8"]:
            text = _decode(self.body, name) if name else None
            if text is not None:
                return name, text
        from charset_normalizer import from_bytes  # slow path, only for liars

        best = from_bytes(self.body[:65536]).best()
        return _codec(best.encoding if best else None) or "windows-1258", None

    @cached_property
    def text(self) -> str:
        """The body as text, BOM stripped, undecodable bytes replaced."""
        encoding, text = self._decoded
        if text is None:
            text = self.body.decode(encoding, errors="replace")
        return text.removeprefix("\ufeff")

    @cached_property
    def document(self) -> Element | None:
        """The parsed text, or None when lxml finds no document in it.

        Plain ``lxml.etree`` elements, not ``lxml.html``'s: those cost a class lookup on
        every node a parser visits. Links are left as written.
        """
        encoding, decoded = self._decoded
        try:
            if (
                encoding == "utf-8"
                and decoded is not None
                and not _XML_DECLARATION_BYTES.match(self.body)
            ):
                return lxml.etree.HTML(self.body, _UTF8_PARSER)
            # lxml refuses text that still declares a byte encoding; the text is decoded already.
            text = _XML_DECLARATION.sub("", self.text, count=1)
            return lxml.etree.HTML(text, _HTML_PARSER)
        except (ValueError, lxml.etree.LxmlError):
            return None

    @cached_property
    def tree(self) -> Element:
        """``document``, or an empty ``<html>`` for text without one: never None."""
        document = self.document
        return document if document is not None else lxml.etree.Element("html")
