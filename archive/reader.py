"""Reading responses and metadata back from WARC files written by any tool (ours, wget,
Browsertrix, ...).

Records are found with FastWARC: it walks gzip members and record headers in native code,
and a record nobody asked for (a photo, a request) is skipped without a Python object per
line of its headers. That walk was two thirds of ``extract``'s time with warcio. Bodies are
then decoded exactly as warcio's ``content_stream()`` decodes them (de-chunked and
content-decoded, through warcio's own readers), so a parser sees the same bytes as before.

A body is never decoded past ``max_body`` bytes (64 MB by default): a decompression bomb in a
WARC comes back as a response with ``body_too_large`` set and an empty body, not as gigabytes
in memory. A damaged file yields every whole record: past the damage (a gzip member a disk
damaged, garbage, a cut), reading goes on from the next whole record, found by its gzip
header (or, in a plain file, its ``WARC/`` line) and read to its end before it is trusted. Then
it raises :class:`ArchiveReadError` naming the file and the damage's offset, and where reading
went on (or, with ``strict=False``, logs each damage and goes on with the next file).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol, TypeVar

from fastwarc.warc import ArchiveIterator, HeaderMap, WarcHeader, WarcRecord, WarcRecordType
from isal import isal_zlib
from warcio.archiveiterator import ArchiveIterator as WarcioIterator
from warcio.bufferedreaders import BufferedReader, ChunkedDataReader

from archive.exchange import WarcLocation
from archive.records import item_url
from archive.skipping import SkippingReader, skippable_ranges

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_BODY = 64 * 1024 * 1024
"""Bytes a body may decode to (``DOWNLOAD_MAXSIZE``'s default): beyond, it is not read."""

_RESPONSES = WarcRecordType.response | WarcRecordType.revisit
ANY_RECORD = WarcRecordType.any_type
_ITEMS = WarcRecordType.metadata | WarcRecordType.resource  # JSON item records, by type
_PROVENANCE_TYPE = "application/warc-fields"
_PROVENANCE_MAX = 1 << 16  # a few header lines: more is no provenance record of ours
_STEP = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b\x08"
_DECOMPRESSORS = frozenset(BufferedReader.get_supported_decompressors())


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
    """Payload de-chunked and content-decoded; empty for revisits, for headers-only reads
    and for bodies over the size limit."""
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
    body_too_large: bool = False
    """The body decodes to more than the reader's ``max_body``: it was not kept."""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return _first(self.headers, name)


class ArchivedMetadata(NamedTuple):
    """One of our item records: a JSON ``metadata`` (or ``resource``) record."""

    target_uri: str
    concurrent_to: str | None
    """The response it belongs to: ``WARC-Concurrent-To``, else ``WARC-Refers-To``."""
    payload: Any
    """The JSON payload, decoded; None when it is over the reader's ``max_body``, or when
    it is no JSON (``unreadable`` then says why)."""
    unreadable: str | None = None
    """Why the payload could not be decoded (a whole record, damaged or of another tool):
    the record costs only itself, never the records after it."""


class ArchivedProvenance(NamedTuple):
    """A provenance record of ``recover`` (``application/warc-fields``, concurrent to a
    recovered response): where the capture came from. Every recovered capture has one,
    Common Crawl records copied as they are included (their own headers say nothing of it)."""

    target_uri: str
    concurrent_to: str | None
    fields: list[tuple[str, str]]
    """``archive``, ``memento``, ``retrieved-at``, ``captured-at``, ``archive-header``..."""

    def field(self, name: str) -> str | None:
        return _first(self.fields, name)


ResponseFilter = Callable[[str, str | None], bool]
"""Whether a response is wanted, from its URL and HTTP Content-Type."""


class _Convert(Protocol[T]):
    def __call__(self, record: WarcRecord, file: str, offset: int) -> T | None: ...


def iter_records(
    paths: Iterable[Path | str], *, strict: bool = True, max_body: int = DEFAULT_MAX_BODY
) -> Iterator[ArchivedResponse]:
    """Every response and revisit record of ``paths``, in file order."""
    convert = partial(_archived_response, body=True, max_body=max_body)
    for path in paths:
        yield from _iter_file(Path(path), strict, _RESPONSES, convert)


def iter_archive(
    paths: Iterable[Path | str],
    *,
    strict: bool = True,
    responses: ResponseFilter | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Iterator[ArchivedResponse | ArchivedMetadata | ArchivedProvenance]:
    """Responses, revisits, JSON item records and provenance records together, in file
    order: one pass for readers that pair a page with what was recorded about it.

    ``responses`` names the responses and revisits a reader wants: the others (photos,
    mostly) are skipped without decoding their headers or bodies.
    """
    convert = partial(_archived_any, wanted=responses, max_body=max_body)
    for path in paths:
        yield from _iter_file(Path(path), strict, _RESPONSES | _ITEMS, convert, skip=responses)


def record_offsets(
    path: Path | str, failures: list[ArchiveReadError], *, types: WarcRecordType = _RESPONSES
) -> list[int]:
    """Where each whole record of ``types`` starts in ``path`` (responses and revisits by
    default), in file order. Damage is passed over, logged and added to ``failures``."""
    return list(_iter_file(Path(path), False, types, _offset, failures=failures))


def _offset(record: WarcRecord, file: str, offset: int) -> int:
    return offset


def read_response(
    path: Path | str, offset: int, *, body: bool = True, max_body: int = DEFAULT_MAX_BODY
) -> ArchivedResponse:
    """The response or revisit record at ``offset`` of ``path`` (``body=False``: headers only)."""
    path = Path(path)
    with _open(path) as stream:
        stream.seek(offset)
        try:
            record = next(iter(ArchiveIterator(stream, parse_http=False)))
            response = _archived_response(record, path.name, offset, body=body, max_body=max_body)
        except Exception as error:  # FastWARC and warcio raise OSError, ValueError, ...
            raise ArchiveReadError(path, offset, str(error) or type(error).__name__) from error
        if response is None:
            raise ArchiveReadError(path, offset, f"a {record.record_type} record, not a response")
        return response


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"WARC file not found: {path}") from None


def _iter_file(
    path: Path,
    strict: bool,
    types: WarcRecordType,
    convert: _Convert[T],
    skip: ResponseFilter | None = None,
    failures: list[ArchiveReadError] | None = None,
) -> Iterator[T]:
    """The records of one file. Past damage, reading goes on from the next whole record (a
    damaged gzip member costs its record, not the rest of the file); each damage is logged,
    or, when ``strict``, the first is raised once every readable record was yielded. Each is
    added to ``failures`` too, when given."""
    # Photos ``skip`` refuses are stepped over where the collection's index locates them.
    ranges = skippable_ranges(path, skip) if skip is not None else []
    failures = [] if failures is None else failures
    found_before = len(failures)
    start: int | None = 0
    with _open(path) as stream:
        while start is not None:
            damage = yield from _iter_from(stream, path, start, ranges, (types, convert))
            if damage is None:
                break
            offset, reason = damage
            start = _next_record_start(stream, offset)
            if start is None:
                reason += "; nothing whole after it"
            else:
                reason += f"; read on from offset {start}, the next whole record"
            failures.append(ArchiveReadError(path, offset, reason))
            if not strict or len(failures) > found_before + 1:
                logger.error("%s", failures[-1])
    if strict and len(failures) > found_before:
        raise failures[found_before]


def _iter_from(
    stream: BinaryIO,
    path: Path,
    start: int,
    ranges: list[tuple[int, int]],
    wanted: tuple[WarcRecordType, _Convert[T]],
) -> Generator[T, None, tuple[int, str] | None]:
    """The records of ``stream`` from ``start`` (a record's), until its end (then None) or
    damage (then where the damaged data starts, and why)."""
    types, convert = wanted
    stream.seek(start)
    skipping = SkippingReader(stream, ranges) if ranges else None
    offset = start
    last_complete: int | None = None  # where the last record read to its end starts
    try:
        # Every record, not only ``types``: FastWARC skips the others without checking
        # that they are whole, and a file cut inside one must not pass for complete.
        for record in ArchiveIterator(skipping or stream, parse_http=False):
            offset = record.stream_pos
            if skipping is not None:
                offset = skipping.real_offset(offset)
            # Converted inside the try: a damaged body surfaces while it is read.
            converted = convert(record, path.name, offset) if record.record_type & types else None
            record.consume()
            if _cut_short(record):
                raise ValueError("record cut short (the file ends inside it)")
            last_complete = offset
            # Only a whole record is given: damage past what the conversion read (a gzip
            # member's end) makes it none.
            if converted is not None:
                yield converted
    except Exception as error:  # FastWARC and warcio raise OSError, ValueError, ...
        if last_complete is not None and last_complete == offset:
            # The damage is past the last good record: report where that record ends.
            offset = _end_of_record(path, last_complete) or last_complete
        return offset, str(error) or type(error).__name__
    # FastWARC ends quietly where a gzip member is cut before a record's headers could be
    # read (a file cut a few bytes into a record): the last whole record must end the file.
    left = _left_after(stream, path, (start, last_complete), ranges)
    if left is not None:
        return left, "the file ends inside a record (cut short), or holds data that is no record"
    return None


def _left_after(
    stream: BinaryIO, path: Path, read: tuple[int, int | None], ranges: list[tuple[int, int]]
) -> int | None:
    """Where bytes no whole record holds start, after the last whole record of those read
    from a start (``read``: the start, and that record's offset or None) and the ``ranges``
    stepped over after it; None when they end the file."""
    start, last_complete = read
    end = start if last_complete is None else _end_of_record(path, last_complete)
    if end is None:
        return None  # warcio cannot say where that record ends: nothing to say either
    # Photos the index stepped over may end the file (a WARC ending with a photo's response).
    following = dict(ranges)
    while end in following:
        end = following[end]
    return end if end < os.fstat(stream.fileno()).st_size else None


def _next_record_start(stream: BinaryIO, damaged: int) -> int | None:
    """The first offset of ``stream`` (a WARC file) past ``damaged`` where a whole record
    starts (its own gzip member in a compressed file, after a blank line in a plain one);
    None when there is none."""
    stream.seek(0)
    compressed = stream.read(2) == _GZIP_MAGIC[:2]
    marker, skip = (_GZIP_MAGIC, 0) if compressed else (b"\r\n\r\nWARC/", 4)
    position = damaged + 1
    while (found := _find(stream, marker, position)) is not None:
        if whole_record_at(stream, found + skip):
            return found + skip
        position = found + 1
    return None


def _find(stream: BinaryIO, marker: bytes, position: int) -> int | None:
    """The first offset from ``position`` where ``marker`` occurs in ``stream``."""
    while True:
        stream.seek(position)
        chunk = stream.read(_STEP)
        found = chunk.find(marker)
        if found >= 0:
            return position + found
        if len(chunk) < _STEP:
            return None
        position += len(chunk) - len(marker) + 1


def whole_record_at(stream: BinaryIO, offset: int) -> bool:
    """Whether a record starts at ``offset`` of ``stream`` (a WARC file) and is whole: its
    block as long as its ``Content-Length`` says (warcio does not check that)."""
    stream.seek(offset)
    try:
        record = next(iter(ArchiveIterator(stream, parse_http=False)), None)
        if record is None or record.stream_pos != offset:
            return False
        record.consume()
        return not _cut_short(record)
    except Exception:  # a false start is any failure FastWARC may raise: not a record
        return False


def _cut_short(record: WarcRecord) -> bool:
    # FastWARC stops quietly at the end of a cut file: a record without a length (cut in its
    # headers), or whose block holds fewer bytes than its length says, was cut.
    length = record.headers.get_bytes(WarcHeader.CONTENT_LENGTH)
    return length is None or record.reader.tell() != record.content_length


def _end_of_record(path: Path, start: int) -> int | None:
    """Where the record starting at ``start`` ends (only on damage, so warcio's slower walk
    is fine: FastWARC does not say where a gzip member ends); None where warcio cannot say.

    The record is one FastWARC read whole, but warcio may still fail on it (fuzzing found a
    response without a target URI, records it finds nowhere or in no format it knows), and
    it prints its doubts to stderr: this only sharpens a report, which must never fail.
    """
    try:
        with path.open("rb") as stream, contextlib.redirect_stderr(io.StringIO()):
            stream.seek(start)
            records = WarcioIterator(stream)
            records.read_to_end(next(iter(records)))
            end = records.offset  # from the file's position: absolute
    except Exception:  # warcio's failures are of every kind: the record's start is said instead
        return None
    # warcio's count goes wrong on some damage (below the start, even below zero): no answer.
    return end if end > start else None


def _text(raw: bytes) -> str:
    # As warcio decodes header lines: UTF-8 when it is, else ISO-8859-1.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")


def _warc_header(record: WarcRecord, name: WarcHeader) -> str | None:
    # FastWARC's lookup takes its enum at once, and a name in bytes only after failing to
    # read it as the enum (an exception built and dropped): a fifth of the cost per header.
    raw = record.headers.get_bytes(name)
    return None if raw is None else _text(raw)


def _first(headers: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def _target_uri(record: WarcRecord) -> str | None:
    uri = _warc_header(record, WarcHeader.WARC_TARGET_URI)
    # WARC 1.0's grammar put the URI in angle brackets, and wget still writes them.
    if uri is not None and uri.startswith("<") and uri.endswith(">"):
        return uri[1:-1]
    return uri


def _archived_any(
    record: WarcRecord, file: str, offset: int, wanted: ResponseFilter | None, max_body: int
) -> ArchivedResponse | ArchivedMetadata | ArchivedProvenance | None:
    if not record.record_type & _RESPONSES:
        if record.record_type == WarcRecordType.metadata:
            content_type = _warc_header(record, WarcHeader.CONTENT_TYPE) or ""
            if content_type.startswith(_PROVENANCE_TYPE):
                return _archived_provenance(record)
        return _archived_metadata(record, file, offset, max_body)
    url = _target_uri(record) or ""
    if wanted is not None:
        http = _http_headers(record, url)
        content_type = http.get_bytes(WarcHeader.CONTENT_TYPE) if http else None
        if not wanted(url, None if content_type is None else _text(content_type)):
            return None
    return _archived_response(record, file, offset, body=True, max_body=max_body, url=url)


def _archived_metadata(
    record: WarcRecord, file: str, offset: int, max_body: int
) -> ArchivedMetadata | None:
    if "json" not in (_warc_header(record, WarcHeader.CONTENT_TYPE) or ""):
        return None
    response = _warc_header(record, WarcHeader.WARC_CONCURRENT_TO)
    payload = _read_bounded(record.reader, max_body)
    decoded, unreadable = None, None
    if payload is not None:
        try:
            decoded = json.loads(payload)
        except ValueError as error:  # UnicodeDecodeError too
            unreadable = f"not JSON: {error}"
    return ArchivedMetadata(
        item_url(_target_uri(record) or ""),
        response or _warc_header(record, WarcHeader.WARC_REFERS_TO),
        decoded,
        unreadable,
    )


def _archived_provenance(record: WarcRecord) -> ArchivedProvenance | None:
    block = _read_bounded(record.reader, _PROVENANCE_MAX)
    if block is None:
        return None
    fields = []
    for line in _text(block).splitlines():
        name, colon, value = line.partition(":")
        if colon:
            fields.append((name.strip(), value.strip()))
    return ArchivedProvenance(
        _target_uri(record) or "", _warc_header(record, WarcHeader.WARC_CONCURRENT_TO), fields
    )


def _http_headers(record: WarcRecord, url: str) -> HeaderMap | None:
    """The HTTP status line and headers, when the record holds an HTTP message (as warcio
    decides: an http(s) target and a non-empty block)."""
    if not record.is_http_parsed:
        if record.content_length == 0 or not url.startswith(("http:", "https:")):
            return None
        record.parse_http()
    return record.http_headers


def _archived_response(
    record: WarcRecord, file: str, offset: int, body: bool, max_body: int, url: str | None = None
) -> ArchivedResponse | None:
    if not record.record_type & _RESPONSES:
        return None
    if url is None:
        url = _target_uri(record) or ""
    record_id = _warc_header(record, WarcHeader.WARC_RECORD_ID) or ""
    revisit = record.record_type == WarcRecordType.revisit
    http = _http_headers(record, url)
    headers = [(_text(name), _text(value)) for name, value in http.items_bytes()] if http else []
    decoded: bytes | None = b""
    if body and not revisit:
        stream = _content_stream(record, headers if http else None)
        decoded = _read_bounded(stream, max_body)
        failure = getattr(getattr(stream, "decompressor", None), "failure", None)
        if failure:
            logger.warning(
                "%s at offset %d: the body of %s does not decode to its end (%s); read as far "
                "as it does, as warcio reads it",
                file,
                offset,
                url,
                failure,
            )
    return ArchivedResponse(
        url=url,
        status=http.status_code if http else None,
        headers=headers,
        body=decoded or b"",
        record_id=record_id,
        date=_warc_header(record, WarcHeader.WARC_DATE) or "",
        location=WarcLocation(file, offset, record_id),
        content_type=_first(headers, "Content-Type"),
        payload_digest=_warc_header(record, WarcHeader.WARC_PAYLOAD_DIGEST),
        is_revisit=revisit,
        refers_to_uri=_warc_header(record, WarcHeader.WARC_REFERS_TO_TARGET_URI),
        refers_to_date=_warc_header(record, WarcHeader.WARC_REFERS_TO_DATE),
        profile=_warc_header(record, WarcHeader.WARC_PROFILE),
        body_too_large=decoded is None,
    )


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def _isal_gzip() -> Any:
    return isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)


class _Noting:
    """A decompressor that keeps a failure past its first block instead of raising it.

    warcio reads a body whose first block fails to decompress as sent plain (it raises
    there: warcio handles it); a later failure ends the body where it broke, and warcio
    writes the error to stderr, naming nothing. This returns nothing more from then on,
    so the bytes are warcio's, and keeps the error for the reader to say which record.
    """

    def __init__(self, make: Callable[[], Any]) -> None:
        self._inner = make()
        self._started = False
        self.failure: str | None = None

    def decompress(self, data: bytes) -> bytes:
        if self.failure is not None:
            return b""
        try:
            out = self._inner.decompress(data)
        except Exception as error:  # zlib.error, isal_zlib.error: what warcio would print
            if not self._started:
                raise
            self.failure = str(error)
            return b""
        self._started = True
        return out

    def __getattr__(self, name: str) -> Any:  # unused_data, eof, flush: the inner object's
        return getattr(self._inner, name)


def _noting(make: Callable[[], Any]) -> Callable[[], _Noting]:
    return lambda: _Noting(make)


# warcio's readers, inflating gzip with ISA-L: the same bytes, in half zlib's time (pages
# come gzip-encoded, and inflating them was a tenth of extract's CPU besides the parse).
_FAST_DECOMPRESSORS = {
    name: _noting(make)
    for name, make in {**BufferedReader.DECOMPRESSORS, "gzip": _isal_gzip}.items()
}


class _Decoding(BufferedReader):
    DECOMPRESSORS = _FAST_DECOMPRESSORS


class _DeChunking(ChunkedDataReader):
    DECOMPRESSORS = _FAST_DECOMPRESSORS


def _content_stream(record: WarcRecord, headers: list[tuple[str, str]] | None) -> _Readable:
    """The payload as warcio's ``ArcWarcRecord.content_stream()`` gives it, with its readers."""
    raw = record.reader
    if headers is None:
        return raw
    encoding = (_first(headers, "Content-Encoding") or "").lower() or None
    if encoding not in _DECOMPRESSORS:
        encoding = None
    if _first(headers, "Transfer-Encoding") == "chunked":
        return _DeChunking(raw, decomp_type=encoding)
    if encoding:
        return _Decoding(raw, decomp_type=encoding)
    return raw


def _read_bounded(stream: _Readable, limit: int) -> bytes | None:
    """All of ``stream``, or None when it holds more than ``limit`` bytes (read no further)."""
    chunks: list[bytes] = []
    size = 0
    # In steps: a reader may allocate the whole size asked for, however short the body.
    while chunk := stream.read(min(_STEP, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(chunks)
