"""The neutral description of one HTTP fetch, and where a record landed in the archive.

Nothing here knows about Scrapy: the capture layer builds an ``Exchange`` from what crossed
the wire and hands it to :class:`archive.writer.ArchiveWriter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP fetch as it crossed the wire."""

    url: str
    """The target URI, full, with query."""
    request: bytes
    """The raw request as sent: request line, headers (Host included), CRLF CRLF, body."""
    response_head: bytes
    """Status line and header lines exactly as received, ending with CRLF CRLF."""
    body: bytes
    """The payload: de-chunked, NOT content-decoded (still gzip if sent gzip)."""
    fetched_at: datetime
    """When the response arrived: UTC, timezone-aware."""
    ip_address: str | None = None
    """The server's IP address, when known."""


@dataclass(frozen=True, slots=True)
class WarcLocation:
    """Where a record lives in the collection's WARC files."""

    file: str
    """File name inside the WARC directory (the final ``.warc.gz`` name, never ``.open``)."""
    offset: int
    """Byte offset of the record (its gzip member) in that file."""
    record_id: str
    """The record's ``WARC-Record-ID``, ``<urn:uuid:...>``."""
