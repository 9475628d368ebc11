"""The neutral page object every parser works on: (url, body bytes, headers).

Text is decoded once, here: a byte-order mark wins; otherwise the HTTP charset and the page's
own declaration are evidence weighed against the bytes (``Page._decoded``), and detection is the
last resort. It is parsed once too, and every parser (article, listing, links) reads that one
tree. Nothing here fetches or imports Scrapy.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import lxml.etree

from crawler.parsers.legacy import decode_tcvn3, decode_vni, font_encoding

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
# huge_tree lifts libxml2's limits (256 levels of nesting, 10 MB text nodes), which otherwise cut
# the tree short without an error: Word pastes nest unclosed <font> tags hundreds deep, and a
# page may carry a huge comment or inline data. It costs nothing measurable on ordinary pages
# (0.09 ms either way on a specimen), and the download size limit bounds what it may build.
# No comments or processing instructions in the tree: nothing reads them, and every walk
# over the tree stepped over them (about a twentieth of a portal page's parse).
_HTML_PARSER = lxml.etree.HTMLParser(
    collect_ids=False, huge_tree=True, remove_comments=True, remove_pis=True
)
# The same for bytes known to be valid UTF-8: libxml2 reads them as they are, where text
# would first be re-encoded for it (about an eighth of the parse of a portal page).
_UTF8_PARSER = lxml.etree.HTMLParser(
    collect_ids=False, encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True
)
# Anything before the first tag, then a declaration: such bodies keep the text path.
_XML_DECLARATION_BYTES = re.compile(rb"^[^<]*<\?xml", re.I)

Element = lxml.etree._Element
# The names ``encoding`` gives TCVN3 and VNI pages: no Python codec, the text is converted here.
_TCVN3 = "tcvn3"
_VNI = "vni"
_CONVERTED = {_TCVN3: "TCVN3", _VNI: "VNI"}
_RESOURCE_LIMIT = lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT
# "Unexpected end tag : div", "Opening and ending tag mismatch: section and div".
_TAG_MISMATCH = lxml.etree.ErrorTypes.ERR_TAG_NAME_MISMATCH
# libxml2 reports the first hundred errors of a parse and drops the rest.
_ERRORS_REPORTED = 100

# Letters only Vietnamese text has (ă â đ ê ô ơ ư, the precomposed toned vowels, combining tone
# marks): what a wrong single-byte charset (Latin-1 for windows-1258) never produces.
_VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u1ea0-\u1ef9\u0300\u0301\u0303\u0309\u0323]")
# Pages with this many characters of valid multi-byte UTF-8 at least, and more of them than
# bytes that are not UTF-8, are UTF-8 pages with text pasted from another charset.
_MIXED_MIN = 16
# A tag, or the text between two tags (the chunks a UTF-8 page with pasted text is read in).
_BETWEEN_TAGS = re.compile(rb"<[^<>]*>?|[^<]+")
_IANA = {
    "cp1250": "windows-1250",
    "cp1252": "windows-1252",
    "cp1258": "windows-1258",
    **_CONVERTED,
}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # Python's codecs also know transforms (base64, uu, zlib, rot13) that decode no text:
    # bytes.decode refuses them with LookupError (not for b"", which it never looks up). A
    # page declaring one declares no charset.
    try:
        b"a".decode(codec)
    except LookupError:
        return None
    except UnicodeDecodeError:
        pass  # a charset all the same (UTF-16 wants two bytes)
    return codec


def iana_name(codec: str) -> str:
    """A Python codec name as pages declare it: ``cp1258`` → ``windows-1258``."""
    if codec in _IANA:
        return _IANA[codec]
    return codec.replace("iso8859", "iso-8859").replace("_", "-")


def _vietnamese_letters(text: str) -> int:
    return len(_VIETNAMESE.findall(text))


def _decode(body: bytes, encoding: str) -> str | None:
    """The body decoded, or None when its bytes are not valid in that encoding."""
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return None


class _Mixed(NamedTuple):
    text: str
    """The page's text: UTF-8 but for the pasted texts."""
    fallback: str
    """The single-byte charset the runs of bytes not valid UTF-8 were read in."""
    count: int
    """How many bytes the texts in that charset hold."""


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

    @property
    def charset(self) -> str:
        """``encoding`` by its IANA name, as pages declare it: ``windows-1258``, ``utf-8``."""
        return iana_name(self.encoding)

    @cached_property
    def encoding_note(self) -> str | None:
        """What a reader of the text should know about its encoding, or None.

        Said when the declarations disagree with each other or with the bytes, and for pages of
        the legacy font encodings (converted, or left as read when the bytes do not read as the
        fonts' encoding).
        """
        declared = self._declared
        notes = []
        # Legacy font text is high-bit Latin-1 letters: never valid UTF-8, never read as it.
        legacy = None if self.encoding == "utf-8" else font_encoding(self.body)
        if legacy and _CONVERTED.get(self.encoding) == legacy:
            notes.append(f"text in the {legacy} font encoding, converted to Unicode")
        elif legacy:
            notes.append(f"text in the {legacy} font encoding, kept as read (not converted)")
        mixed = self._mixed if self.encoding == "utf-8" else None
        if mixed is not None:
            notes.append(
                f"{mixed.count} bytes of text not valid UTF-8 (pasted in another charset), "
                f"read as {iana_name(mixed.fallback)}"
            )
        named = {iana_name(name) for name in declared if name}
        if declared and (len(named) > 1 or self.charset not in named):
            said = ", ".join(
                f"{where} says {iana_name(name) if name else 'an unknown charset'}"
                for where, name in self._declarations
            )
            notes.append(f"{said}; read as {self.charset}")
        return "; ".join(notes) or None

    @cached_property
    def _declarations(self) -> list[tuple[str, str | None]]:
        """(where, codec) of each charset the page declares: the HTTP header, then the meta."""
        found = []
        header = _HTTP_CHARSET.search(self.headers.get("content-type", ""))
        if header:
            found.append(("HTTP header", _codec(header.group(1))))
        meta = _META_CHARSET.search(self.body[:4096])
        if meta:
            found.append(("meta", _codec(meta.group(1).decode("ascii", "replace"))))
        return found

    @property
    def _declared(self) -> list[str | None]:
        return [name for _, name in self._declarations]

    @cached_property
    def _decoded(self) -> tuple[str, str | None]:
        """The encoding, and the body decoded with it when the check already did that.

        Declarations are evidence, weighed against the bytes: servers send a default charset
        (ISO-8859-1, UTF-8) whatever the page is, and pages copied between sites keep their old
        meta. Valid UTF-8 with non-ASCII in it is UTF-8 (single-byte Vietnamese text never forms
        its sequences by chance), and mostly valid UTF-8 with text pasted in another charset is
        read as both (``_mixed``); otherwise, of the declared charsets that decode the bytes,
        the one giving the most Vietnamese letters wins, the header first among equals. Pages
        set in the TCVN3 or VNI fonts are converted from them; a VNI-font page whose bytes do
        not read as VNI is read byte for byte.
        """
        for bom, name in _BOMS:
            if self.body.startswith(bom):
                return name, None
        declared = [name for name in dict.fromkeys(self._declared) if name]
        if self.body.isascii():
            name = declared[0] if declared else "utf-8"
            return name, self.body.decode("ascii")
        text = self._strict_utf8
        if text is not None:
            return "utf-8", text
        # The fonts outweigh any declaration: such pages said ISO-8859-1 or nothing at all.
        legacy = font_encoding(self.body)
        if legacy == "TCVN3":
            return _TCVN3, decode_tcvn3(self.body)
        if legacy:
            converted = decode_vni(self.body)
            if converted is not None:
                return _VNI, converted
            # Bytes for a font that are not VNI: Latin-1 keeps each byte as one character, so
            # the text can still be converted later; a guessed charset would garble it for good.
            return "iso8859-1", self.body.decode("latin-1")
        if self._mixed is not None:
            return "utf-8", self._mixed.text
        decoded = [(name, text) for name in declared if (text := _decode(self.body, name))]
        if decoded:
            return max(decoded, key=lambda pair: _vietnamese_letters(pair[1]))
        # Nothing declared fits: Vietnamese Windows was these portals' own charset for a decade.
        text = _decode(self.body, "cp1258")
        if text is not None and _vietnamese_letters(text):
            return "cp1258", text
        from charset_normalizer import from_bytes  # slow path, only for liars

        best = from_bytes(self.body[:65536]).best()
        return _codec(best.encoding if best else None) or "windows-1258", None

    @cached_property
    def _strict_utf8(self) -> str | None:
        """The body read as UTF-8, or None where it is not valid UTF-8."""
        return _decode(self.body, "utf-8")

    @cached_property
    def _mixed(self) -> _Mixed | None:
        """A UTF-8 page with text in a single-byte charset (a paragraph pasted from an older
        page), read as UTF-8 but for that text; None for any other page.

        Mostly UTF-8 means more characters decoded from valid multi-byte sequences than bytes
        that are not: single-byte Vietnamese text forms those sequences hardly ever by chance.
        A paste begins and ends at a tag, so each text between tags is read whole in one
        charset: a chance sequence inside pasted text (``a`` + tilde + no-break space) is
        read as the rest of it.
        """
        if self._strict_utf8 is not None:
            return None
        text = self.body.decode("utf-8", "surrogateescape")
        # Encoding drops the escapes ("ignore"): counted in C, with no pass of a pattern.
        escaped = len(self.body) - len(text.encode("utf-8", "ignore"))
        multibyte = len(text) - len(text.encode("ascii", "ignore")) - escaped
        if multibyte < _MIXED_MIN or multibyte < escaped:
            return None
        chunks = [(chunk, _decode(chunk, "utf-8")) for chunk in _BETWEEN_TAGS.findall(self.body)]
        pasted = b"".join(chunk for chunk, decoded in chunks if decoded is None)
        fallback = self._paste_charset(pasted)
        text = "".join(
            decoded if decoded is not None else chunk.decode(fallback, "replace")
            for chunk, decoded in chunks
        )
        return _Mixed(text, fallback, len(pasted))

    def _paste_charset(self, pasted: bytes) -> str:
        """Of the single-byte charsets declared and windows-1258 (the portals' own before
        UTF-8), the one that reads the most Vietnamese letters in the pasted bytes: servers
        declare ISO-8859-1 by default, whatever the page holds."""
        names = [name for name in self._declared if name and name != "utf-8"]
        names = list(dict.fromkeys([*names, "cp1258"]))
        return max(names, key=lambda name: _vietnamese_letters(pasted.decode(name, "replace")))

    @cached_property
    def text(self) -> str:
        """The body as text, BOM stripped, undecodable bytes replaced."""
        encoding, text = self._decoded
        if text is None:
            text = self.body.decode(encoding, errors="replace")
        return text.removeprefix("\ufeff")

    @property
    def document(self) -> Element | None:
        """The parsed text, or None when lxml finds no document in it.

        Plain ``lxml.etree`` elements, not ``lxml.html``'s: those cost a class lookup on
        every node a parser visits. Links are left as written.
        """
        return self._parsed[0]

    @property
    def cut_short(self) -> bool:
        """True when libxml2 stopped building the tree at its nesting limit (2,048 levels even
        with huge_tree): what follows that point is missing from ``document``."""
        return self._parsed[1]

    @property
    def stray_end_tags(self) -> bool:
        """True when libxml2 met end tags that did not close the element open at that point:
        stray closers (``</div>`` typed into a body) close the elements around them early, and
        the page's own closers then find theirs closed already. Where they closed the article's
        widget, the rest of the article lies after it (``layout.cut_off``)."""
        return self._parsed[2]

    @cached_property
    def _parsed(self) -> tuple[Element | None, bool, bool, list[Element]]:
        # NUL characters are dropped, as browsers drop them from text: libxml2 would make each
        # a U+FFFD in the middle of a word.
        encoding, decoded = self._decoded
        try:
            if (
                encoding == "utf-8"
                and decoded is not None
                and self._mixed is None
                and not _XML_DECLARATION_BYTES.match(self.body)
            ):
                parser = _UTF8_PARSER
                # In UTF-8 a zero byte is a NUL character and nothing else.
                body = self.body.replace(b"\x00", b"") if b"\x00" in self.body else self.body
                document = lxml.etree.HTML(body, parser)
            else:
                # lxml refuses text that still declares a byte encoding; it is decoded already.
                parser = _HTML_PARSER
                text = _XML_DECLARATION.sub("", self.text, count=1).replace("\x00", "")
                document = lxml.etree.HTML(text, parser)
        except (ValueError, lxml.etree.LxmlError):
            return None, False, False, []
        log = parser.error_log
        errors = {error.type for error in log}
        # A page with more errors than are reported may hide a stray closer's among the rest.
        stray = _TAG_MISMATCH in errors or len(log) >= _ERRORS_REPORTED
        # lxml makes a Python object for a node each time a walk meets it anew (and frees it
        # when the walk moves on): the parsers walk a page some five times, so every element's
        # object is made once here and kept as long as the page.
        elements = list(document.iter()) if document is not None else []
        return document, _RESOURCE_LIMIT in errors, stray, elements

    @cached_property
    def tree(self) -> Element:
        """``document``, or an empty ``<html>`` for text without one: never None."""
        document = self.document
        return document if document is not None else lxml.etree.Element("html")
