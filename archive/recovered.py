"""Captures recovered from web archives: the original response, told apart from the archive's.

A Wayback-style archive serves a raw capture (the ``id_`` replay form) as an HTTP response of
its own: the original status, the original payload, and headers of two kinds mixed together.
Original headers come back either as they were or renamed ``X-Archive-Orig-{Name}``; the
archive adds its own (``Memento-Datetime``, ``Link``, its ``Date``, ``Server``, transfer
headers, ``X-App-Server`` ...). :func:`split_headers` separates them.

The stored response record holds the original status line and headers and the payload as the
archive gave it, with the archive's ``WARC-Date`` of the capture and the original URL. Two
original headers cannot stay as they were, for the same reason as the chunked rule of
:mod:`archive.records`: the archive hands over the payload without its original content and
transfer codings, so ``Content-Encoding`` and ``Transfer-Encoding`` are renamed in place to
``X-Archive-Orig-...`` and ``Content-Length`` becomes the stored payload's length (the original
one renamed likewise). Replay tools then read the record correctly.

Where it came from is said twice: by fields of the response record (``WARC-Source-URI``: the
memento fetched; ``X-Recovered-From``: the archive's name; ``X-Recovered-Date``: when it was
fetched), and by a ``metadata`` record (``application/warc-fields``, concurrent to the
response) holding the same and every header the archive added, so nothing is lost.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive.records import head_headers, head_lines, sha1_digest, warc_date

ORIGINAL_PREFIX = "x-archive-orig-"

# Headers of the hop between the archive and us, never the original response's.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
)
# Headers only archives add (pywb, the Wayback Machine, Common Crawl's index server).
_ARCHIVE_ONLY = frozenset(
    {
        "memento-datetime",
        "link",
        "content-location",
        "server-timing",
        "x-app-server",
        "x-ts",
        "x-tr",
        "x-location",
        "x-rl",
        "x-na",
        "x-nid",
        "x-page-cache",
        "x-cache-key",
        "x-archive-src",
        "x-archive-playback",
        "x-archive-screenname",
        "preference-applied",
    }
)
_ARCHIVE_PREFIXES = ("x-archive-guessed-", "x-archive-wayback-")
# Original headers that no longer describe the stored payload (see the module docstring).
_RENAMED = frozenset({"content-encoding", "transfer-encoding", "content-length"})


@dataclass(frozen=True, slots=True)
class SplitHead:
    """An archive's answer, taken apart."""

    status_line: str
    """The status line as served: the original status code."""
    original: list[tuple[str, str]]
    """The original response's headers, in the order served."""
    added: list[tuple[str, str]]
    """Headers the archive added (kept in the provenance record, never in the response)."""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.original if key.lower() == name), None)


def _is_archive_only(name: str) -> bool:
    lower = name.lower()
    return lower in _ARCHIVE_ONLY or lower.startswith(_ARCHIVE_PREFIXES)


def split_headers(head: bytes) -> SplitHead:
    """Original and archive-added headers of an archive's raw-capture response head."""
    lines = head_lines(head)
    status_line = lines[0].decode("latin-1") if lines else "HTTP/1.1 200 OK"
    fields = head_headers(head)
    renamed = {
        name.lower()[len(ORIGINAL_PREFIX) :]
        for name, _ in fields
        if name.lower().startswith(ORIGINAL_PREFIX)
    }
    original: list[tuple[str, str]] = []
    added: list[tuple[str, str]] = []
    for name, value in fields:
        lower = name.lower()
        if lower.startswith(ORIGINAL_PREFIX):
            original.append((name[len(ORIGINAL_PREFIX) :], value))
        elif lower in renamed or lower in _HOP_HEADERS or _is_archive_only(name):
            added.append((name, value))
        else:
            original.append((name, value))
    return SplitHead(status_line, original, added)


def stored_head(split: SplitHead, body_length: int) -> bytes:
    """The response head to store: original status and headers, the codings rule applied."""
    lines = [split.status_line]
    for name, value in split.original:
        if name.lower() in _RENAMED:
            lines.append(f"X-Archive-Orig-{name}: {value}")
        else:
            lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {body_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def unwrap_location(location: str, replay_prefix: str) -> str:
    """A redirect target the archive rewrote to one of its mementos, back to the original URL."""
    if not location.startswith(replay_prefix):
        return location
    match = re.match(r"\d{1,14}(?:[a-z]{2}_)?/(.+)", location[len(replay_prefix) :])
    return match.group(1) if match else location


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a recovered capture came from."""

    archive: str
    """The archive's name: ``ia``, ``cc/CC-MAIN-2024-10``, or a collection URL."""
    memento: str
    """What was fetched: the raw memento URL, or the WARC file (with its byte range)."""
    retrieved_at: datetime
    """When it was fetched from the archive."""
    captured_at: datetime
    """When the archive captured it (the record's ``WARC-Date``)."""
    archive_url: str = ""
    """The archive's replay prefix, or Common Crawl's data prefix."""

    def record_fields(self) -> list[tuple[str, str]]:
        """WARC header fields marking a response record as recovered, not live."""
        return [
            ("WARC-Source-URI", self.memento),
            ("X-Recovered-From", self.archive),
            ("X-Recovered-Date", warc_date(self.retrieved_at)),
        ]

    def metadata_block(self, added: Iterable[tuple[str, str]] = ()) -> bytes:
        """``application/warc-fields`` for the provenance metadata record."""
        fields: Sequence[tuple[str, str]] = [
            ("archive", self.archive),
            ("archive-url", self.archive_url),
            ("memento", self.memento),
            ("retrieved-at", warc_date(self.retrieved_at)),
            ("captured-at", warc_date(self.captured_at)),
            *(("archive-header", f"{name}: {value}") for name, value in added),
        ]
        return "".join(f"{name}: {value}\r\n" for name, value in fields).encode("utf-8")

    def item_archive(self) -> dict[str, str]:
        """The item's ``archive`` object."""
        return {
            "name": self.archive,
            "url": self.archive_url,
            "memento": self.memento,
            "captured_at": _iso_seconds(warc_date(self.captured_at)),
        }


def item_archive(fields: Mapping[str, str]) -> dict[str, str] | None:
    """The item's ``archive`` object from a provenance record's fields (``extract``): as the
    recover run made it. None when the fields are no provenance of ours."""
    name, memento = fields.get("archive"), fields.get("memento")
    captured = fields.get("captured-at")
    if not (name and memento and captured):
        return None
    return {
        "name": name,
        "url": fields.get("archive-url") or _archive_url(memento),
        "memento": memento,
        "captured_at": _iso_seconds(captured),
    }


def _archive_url(memento: str) -> str:
    """The archive's prefix of a memento, for records written before ``archive-url`` was."""
    replay = re.match(r"(.*/)\d{1,14}id_/", memento)
    if replay:
        return replay.group(1)
    file = memento.partition("#")[0]  # Common Crawl: {data prefix}{WARC file}#bytes=...
    head, crawl_data, _ = file.partition("crawl-data/")
    return head if crawl_data else file.rpartition("/")[0] + "/"


def _iso_seconds(value: str) -> str:
    """A ``WARC-Date`` in the item's format (``2026-11-26T12:00:00Z``)."""
    return value[:19] + "Z"


class RecordError(ValueError):
    """Bytes that should hold one WARC record (a byte range of an archive's file) do not."""


@dataclass(frozen=True, slots=True)
class CopiedRecord:
    """One WARC record read from another archive's file, to be copied as it is."""

    record_id: str
    url: str
    warc_date: str
    rec_type: str
    status: str
    content_type: str | None
    digest: str
    payload: bytes
    """The HTTP payload, content codings undone (what parsers read)."""
    head: SplitHead
    truncated: bool
    """The archive's crawler cut the payload (``WARC-Truncated``)."""

    @property
    def revisit(self) -> bool:
        return self.rec_type == "revisit"

    @property
    def indexable(self) -> bool:
        return self.rec_type in ("response", "revisit") and self.status != "-"


def read_record(member: bytes) -> CopiedRecord:
    """The first record of a gzip member (a Common Crawl byte range); RecordError if none."""
    try:
        gzip.decompress(member)  # a byte range cut short must not pass for a record
        record = next(iter(ArchiveIterator(BytesIO(member))), None)
        if record is None:
            raise RecordError("no WARC record in the byte range")
        payload = record.content_stream().read()
    except (OSError, EOFError, zlib.error, ArchiveLoadFailed) as error:
        raise RecordError(f"not a complete WARC record: {error}") from None
    headers = record.rec_headers
    http = record.http_headers
    head = (
        SplitHead(f"{http.protocol} {http.statusline}", list(http.headers), [])
        if http is not None
        else SplitHead("HTTP/1.1 200 OK", [], [])
    )
    return CopiedRecord(
        record_id=headers.get_header("WARC-Record-ID") or "",
        url=headers.get_header("WARC-Target-URI") or "",
        warc_date=headers.get_header("WARC-Date") or "",
        rec_type=record.rec_type,
        status=http.get_statuscode() if http is not None else "-",
        content_type=http.get_header("Content-Type") if http is not None else None,
        digest=headers.get_header("WARC-Payload-Digest") or sha1_digest(payload),
        payload=payload,
        head=head,
        truncated=bool(headers.get_header("WARC-Truncated")),
    )
