"""Reading responses and metadata back from WARC files written by any tool (ours, wget,
Browsertrix, ...), through warcio.

Bodies come from ``content_stream()``: de-chunked and content-decoded, ready for a parser.
A broken file yields every record before the damage, then raises :class:`ArchiveReadError`
naming the file and offset (or, with ``strict=False``, logs it and goes on with the next file).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypeVar

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

from archive.exchange import WarcLocation
from archive.records import item_url

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ArchiveReadError(ValueError):
    """A WARC file is damaged or not a WARC file at a given offset."""

    def __init__(self, path: Path, offset: int, reason: str) -> None:
        super().__init__(f"{path}: unreadable WARC data at offset {offset}: {reason}")
        self.path = path
        self.offset = offset


@dataclass(frozen=True, slots=True)
class ArchivedResponse:
    """A response (or revisit) record, ready for a parser."""

    url: str
    status: int | None
    """HTTP status code; None when the status line has none."""
    headers: list[tuple[str, str]]
    """HTTP headers in the order stored, repeated ones kept."""
    body: bytes
    """Payload de-chunked and content-decoded; empty for revisits."""
    record_id: str
    date: str
    """``WARC-Date`` as stored (ISO 8601)."""
    location: WarcLocation
    content_type: str | None
    """The HTTP ``Content-Type``."""
    payload_digest: str | None
    """``WARC-Payload-Digest`` as stored (``sha1:...``), over the body before decoding."""
    is_revisit: bool = False
    refers_to_uri: str | None = None
    refers_to_date: str | None = None
    profile: str | None = None
    """``WARC-Profile`` of a revisit."""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)


class ArchivedMetadata(NamedTuple):
    """One of our metadata records."""

    target_uri: str
    concurrent_to: str | None
    payload: Any
    """The JSON payload, decoded."""


def iter_records(paths: Iterable[Path | str], *, strict: bool = True) -> Iterator[ArchivedResponse]:
    """Every response and revisit record of ``paths``, in file order."""
    for path in paths:
        yield from _iter_file(Path(path), strict, _archived_response)


def iter_metadata(
    paths: Iterable[Path | str], *, strict: bool = True
) -> Iterator[ArchivedMetadata]:
    """Every JSON metadata record of ``paths``: (target URI, concurrent-to id, decoded payload)."""
    for path in paths:
        yield from _iter_file(Path(path), strict, _archived_metadata)


BodyFilter = Callable[[str, str | None], bool]
"""Whether a response's body is wanted, from its URL and Content-Type."""


def iter_archive(
    paths: Iterable[Path | str], *, strict: bool = True, bodies: BodyFilter | None = None
) -> Iterator[ArchivedResponse | ArchivedMetadata]:
    """Responses, revisits and JSON metadata records together, in file order: one pass for
    readers that pair a page with what was recorded about it.

    ``bodies`` spares decoding the bodies a reader will not look at (photos, mostly): those
    responses come with an empty ``body``.
    """
    for path in paths:
        yield from _iter_file(Path(path), strict, partial(_archived_any, bodies=bodies))


def _archived_any(
    record: ArcWarcRecord, location: WarcLocation, bodies: BodyFilter | None
) -> ArchivedResponse | ArchivedMetadata | None:
    return _archived_response(record, location, bodies) or _archived_metadata(record, location)


def read_response(path: Path | str, offset: int) -> ArchivedResponse:
    """The response or revisit record at ``offset`` of ``path``."""
    path = Path(path)
    with _open(path) as stream:
        stream.seek(offset)
        try:
            record = next(iter(ArchiveIterator(stream)))
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            response = _archived_response(record, WarcLocation(path.name, offset, record_id))
        except Exception as error:  # warcio raises several unrelated types for damaged input
            raise ArchiveReadError(path, offset, str(error) or type(error).__name__) from error
        if response is None:
            raise ArchiveReadError(path, offset, f"a {record.rec_type} record, not a response")
        return response


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"WARC file not found: {path}") from None


def _iter_file(
    path: Path, strict: bool, convert: Callable[[ArcWarcRecord, WarcLocation], T | None]
) -> Iterator[T]:
    with _open(path) as stream:
        records = ArchiveIterator(stream)
        offset = 0
        try:
            for record in records:
                offset = records.offset  # where the current record starts
                location = WarcLocation(
                    path.name, offset, record.rec_headers.get_header("WARC-Record-ID") or ""
                )
                # Converted inside the try: a damaged body surfaces while it is read.
                converted = convert(record, location)
                if converted is not None:
                    yield converted
                records.read_to_end(record)
                if _truncated(record):
                    raise ValueError("record cut short (the file ends inside it)")
                offset = records.offset
        except Exception as error:  # warcio raises several unrelated types for damaged input
            failure = ArchiveReadError(path, offset, str(error) or type(error).__name__)
            if strict:
                raise failure from error
            logger.error("%s; skipping the rest of the file", failure)


def _truncated(record: ArcWarcRecord) -> bool:
    # warcio stops quietly at the end of a cut file: a record without a length, or whose
    # block reader still expects bytes after reading to the end, was cut.
    return record.length is None or getattr(record.raw_stream, "limit", 0) > 0


def _archived_metadata(record: ArcWarcRecord, _: WarcLocation) -> ArchivedMetadata | None:
    if record.rec_type != "metadata" or "json" not in (record.content_type or ""):
        return None
    headers = record.rec_headers
    return ArchivedMetadata(
        item_url(headers.get_header("WARC-Target-URI")),
        headers.get_header("WARC-Concurrent-To"),
        json.loads(record.content_stream().read()),
    )


def _archived_response(
    record: ArcWarcRecord, location: WarcLocation, bodies: BodyFilter | None = None
) -> ArchivedResponse | None:
    if record.rec_type not in ("response", "revisit"):
        return None
    rec = record.rec_headers
    http = record.http_headers
    revisit = record.rec_type == "revisit"
    status = http.get_statuscode() if http else None
    url = rec.get_header("WARC-Target-URI")
    content_type = http.get_header("Content-Type") if http else None
    wanted = not revisit and (bodies is None or bodies(url, content_type))
    return ArchivedResponse(
        url=url,
        status=int(status) if status and status.isdigit() else None,
        headers=list(http.headers) if http else [],
        body=record.content_stream().read() if wanted else b"",
        record_id=rec.get_header("WARC-Record-ID"),
        date=rec.get_header("WARC-Date"),
        location=location,
        content_type=content_type,
        payload_digest=rec.get_header("WARC-Payload-Digest"),
        is_revisit=revisit,
        refers_to_uri=rec.get_header("WARC-Refers-To-Target-URI"),
        refers_to_date=rec.get_header("WARC-Refers-To-Date"),
        profile=rec.get_header("WARC-Profile"),
    )
