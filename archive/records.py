"""Building single WARC records and compressing each into its own gzip member.

Records are rendered uncompressed into memory, to the bytes warcio's ``WARCWriter`` writes,
then deflated here so the writer knows a record's exact size before it touches the file
(rotation, rollback).

The chunked rule
----------------
A response's body is stored de-chunked. Its head keeps every line as received, except that a
``Transfer-Encoding`` header whose codings include ``chunked`` is renamed in place to
``X-Archive-Orig-Transfer-Encoding`` (value untouched), and when the head has no
``Content-Length`` a ``Content-Length: {len(body)}`` line is added after the last header. warcio
and pywb then read the block as a plain, length-delimited message, which it now is.

Compression
-----------
Each record is one gzip member. Bodies that are already compressed (``Content-Encoding`` gzip,
br, deflate, zstd; images, audio, video, archives) are stored with zlib level 0 (stored blocks):
deflating them again gains nothing and costs about 1 ms per 40 KB at any other level (see
``bench/warc_write_speed.py``). Everything else (pages, JSON, PDFs) is deflated at level 3
by ISA-L (``isal``, already what ``extract`` inflates with): on a portal page it stores what
zlib's level 3 stores, in half its time (about a quarter of zlib's default level 6), which is
about 1% of a crawl's CPU. Any gzip reader inflates the members; only their bytes differ from
what zlib would have written.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

from isal import isal_zlib

WARC_VERSION = "WARC/1.1"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
ITEM_TARGET_PREFIX = "urn:portal-archiver:item:"
"""Prefix of the ``WARC-Target-URI`` of an item (metadata) record, before the article's URL.

Indexers (pywb's ``wb-manager add``, cdxj-indexer, py-wacz) index metadata records under
their target, and warcio gives them a made-up ``200 OK``: one addressed at the page's own URL
would be replayed instead of the page. Browsertrix addresses its per-page JSON the same way
(``urn:pageinfo:{url}``), so the item sorts under a key of its own and never shadows the page.
"""
STORED_LEVEL = 0
DEFAULT_LEVEL = 3

_HEADER_LINE = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*(.*?)[ \t]*$")
_COMPRESSED_ENCODINGS = frozenset({"gzip", "x-gzip", "br", "deflate", "zstd", "compress"})
_COMPRESSED_TYPES = ("image/", "audio/", "video/", "font/woff")
_COMPRESSED_SUBTYPES = frozenset(
    {
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
    }
)
# Images that are plain text or raw pixels: these do compress.
_COMPRESSIBLE_IMAGES = frozenset({"image/svg+xml", "image/bmp", "image/x-ms-bmp", "image/tiff"})


def item_target(url: str) -> str:
    """The ``WARC-Target-URI`` of the item record of the article at ``url``."""
    return ITEM_TARGET_PREFIX + url


def item_url(target: str) -> str:
    """The article URL of an item record's target; records written before the prefix
    existed carry the URL itself."""
    return target.removeprefix(ITEM_TARGET_PREFIX)


def warc_date(moment: datetime) -> str:
    """``WARC-Date`` with microseconds, as WARC/1.1 allows: ``2026-11-26T12:00:00.000123Z``."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha1_digest(data: bytes) -> str:
    """A WARC digest value: ``sha1:`` and the base32 SHA-1."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def head_lines(head: bytes) -> list[bytes]:
    """The head's lines without their line ends (status line first, no final empty line)."""
    lines = head.split(b"\n")
    while lines and lines[-1].strip(b"\r") == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def head_headers(head: bytes) -> list[tuple[str, str]]:
    """The head's header fields in order, every repeated one kept (latin-1 decoded)."""
    fields = []
    for line in head_lines(head)[1:]:
        match = _HEADER_LINE.match(line)
        if match:
            fields.append((match.group(1).decode("latin-1"), match.group(2).decode("latin-1")))
    return fields


def header_value(fields: Sequence[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (any case) among ``head_headers`` fields."""
    name = name.lower()
    return next((value for key, value in fields if key.lower() == name), None)


def _is_chunked(value: str) -> bool:
    return "chunked" in (coding.strip().lower() for coding in value.split(","))


_CREDENTIALS = frozenset({b"authorization", b"proxy-authorization"})


def archived_request(request: bytes) -> bytes:
    """The request as written to the socket, less the operator's credentials.

    ``Proxy-Authorization`` (a proxy with a password) and ``Authorization`` (HTTP auth
    settings) are the operator's secrets, not part of what the site served: their lines are
    dropped, every other byte is kept.
    """
    head, sep, body = request.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    kept = [
        line
        for line in lines
        if (match := _HEADER_LINE.match(line)) is None or match.group(1).lower() not in _CREDENTIALS
    ]
    if len(kept) == len(lines):
        return request
    return b"\r\n".join(kept) + sep + body


def stored_response_head(head: bytes, body_length: int) -> bytes:
    """Apply the chunked rule (module docstring) to a response head; other heads pass unchanged."""
    lines = head_lines(head)
    chunked = False
    has_length = False
    for index, line in enumerate(lines[1:], start=1):
        match = _HEADER_LINE.match(line)
        if not match:
            continue
        name = match.group(1).lower()
        if name == b"transfer-encoding" and _is_chunked(match.group(2).decode("latin-1")):
            lines[index] = b"X-Archive-Orig-" + line
            chunked = True
        elif name == b"content-length":
            has_length = True
    if not chunked:
        return head
    if not has_length:
        lines.append(b"Content-Length: %d" % body_length)
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


def compression_level(fields: Sequence[tuple[str, str]]) -> int:
    """Level 0 for payloads that are already compressed, else the default level.

    ``fields`` are the response head's (:func:`head_headers`).
    """
    encoding = (header_value(fields, "content-encoding") or "").strip().lower()
    if encoding in _COMPRESSED_ENCODINGS:
        return STORED_LEVEL
    mime = (header_value(fields, "content-type") or "").split(";")[0].strip().lower()
    if mime in _COMPRESSIBLE_IMAGES:
        return DEFAULT_LEVEL
    if mime.startswith(_COMPRESSED_TYPES) or mime in _COMPRESSED_SUBTYPES:
        return STORED_LEVEL
    return DEFAULT_LEVEL


def gzip_member(data: bytes, level: int) -> bytes:
    """``data`` as one complete gzip member."""
    if level == STORED_LEVEL:
        # zlib's level 0 writes stored blocks; ISA-L's level 0 still compresses.
        compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    else:
        level = min(level, isal_zlib.ISAL_BEST_COMPRESSION)
        compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS + 16)
    return compressor.compress(data) + compressor.flush()


_NO_PAYLOAD_DIGEST = frozenset({"warcinfo", "revisit"})


def _replaced(headers: list[tuple[str, str]], name: str, value: str) -> None:
    """Set the last ``name`` header (any case) to ``value`` in place, else append it."""
    lowered = name.lower()
    for index in range(len(headers) - 1, -1, -1):
        if headers[index][0].lower() == lowered:
            headers[index] = (headers[index][0], value)
            return
    headers.append((name, value))


def render_record(
    rec_type: str,
    headers: Sequence[tuple[str, str]],
    block: bytes,
    content_type: str,
) -> bytes:
    """One uncompressed WARC record: ``headers`` in order, then the payload digest (but for
    warcinfo and revisit records) and block digest unless given, ``Content-Type`` and
    ``Content-Length``; the block is written verbatim.

    These are the bytes warcio's ``WARCWriter`` writes for such a record (a test holds them
    to it), built here directly: warcio's objects, stream copies and header searches cost
    more than the record's digest (the writer renders three records per page).
    """
    fields = list(headers)
    names = {name.lower() for name, _ in fields}
    wants_payload = "warc-payload-digest" not in names and rec_type not in _NO_PAYLOAD_DIGEST
    wants_block = "warc-block-digest" not in names
    if wants_payload or wants_block:
        # Without HTTP headers apart, a record's payload is its whole block.
        digest = sha1_digest(block)
        if wants_payload:
            fields.append(("WARC-Payload-Digest", digest))
        if wants_block:
            fields.append(("WARC-Block-Digest", digest))
    _replaced(fields, "Content-Type", content_type)
    _replaced(fields, "Content-Length", str(len(block)))
    head = "".join(f"{name}: {value}\r\n" for name, value in fields)
    return b"".join((f"{WARC_VERSION}\r\n{head}\r\n".encode(), block, b"\r\n\r\n"))
