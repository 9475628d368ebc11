"""Reusing a collection's CDXJ index for the WARC files it covers, after checking it against them.

``wacz`` packages WARC files with the index of their captures. The collection keeps one
(``indexes/index.cdxj``, :mod:`archive.cdxj`), so reading every record again with warcio is
work done twice; but an index can be wrong for a file: a killed crawl whose last file was never
indexed, a file copied in by hand, a truncated, reordered or edited index. A file's lines are
used only when they are exactly its captures:

- the index as a whole parses and is sorted (as :func:`archive.cdxj.build_index` writes it);
- each of the file's lines names a gzip member of the file that holds a response or revisit
  record of the line's URL and time (the record's WARC headers are inflated, not its payload),
  and whose trailer (ISIZE) says it inflates to that record's size, where the line's length
  ends;
- the members between the indexed ones (warcinfo, requests, metadata) are walked, and none is
  a response or revisit;
- the members tile the file up to its last byte.

The check reads the head of each record and the small records between the captures: a small
part of the bytes (photo payloads are stepped over), without warcio's parsing. A file that
fails it is indexed by reading it, as before; the index is never taken on trust.
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.index_entries import capture_of

logger = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b\x08"
_GZIP_WBITS = 31
_HEAD_READ = 1024
_HEAD_LIMIT = 1 << 16
"""A record whose WARC headers do not end within this many bytes is not ours to trust."""
_WALK_READ = 1 << 16
_FIELDS = re.compile(
    rb"\r\n(WARC-Type|WARC-Target-URI|WARC-Date|Content-Length)[ \t]*:([^\r\n]*)", re.IGNORECASE
)
_NOT_DIGITS = str.maketrans("", "", "-:T")
_CAPTURE_TYPES = frozenset({"response", "revisit"})

Span = tuple[int, int, int]
"""Where a capture is (offset, length) and the hash of its (URL, timestamp)."""


class IndexMismatch(Exception):
    """The index does not describe a file (or any file) exactly."""


@dataclass(frozen=True, slots=True)
class ReusableIndex:
    """The lines of an index that are checked to be exactly the captures of ``covered``."""

    path: Path
    covered: frozenset[str]
    whole: bool = False
    """Every line of the index is of a covered file (the usual case): no line is parsed again."""

    def lines(self) -> Iterator[str]:
        """The index's lines for the covered files, in the index's (sorted) order."""
        if not self.covered:
            return
        with self.path.open(encoding="utf-8") as lines:
            if self.whole:
                yield from lines
                return
            for line in lines:
                capture = capture_of(line)  # every line was read once: none is None now
                if capture is not None and capture.filename in self.covered:
                    yield line


def reusable_index(index: Path, files: Iterable[Path]) -> ReusableIndex:
    """The part of the index at ``index`` that may stand for reading ``files`` again."""
    paths = {path.name: path for path in files}
    try:
        spans, named = _spans_by_file(index, paths.keys())
    except (OSError, UnicodeDecodeError, IndexMismatch) as error:
        logger.info("the collection's index is not reused: %s", error)
        return ReusableIndex(index, frozenset())
    covered = frozenset(name for name, path in paths.items() if _covers(path, spans.get(name, [])))
    return ReusableIndex(index, covered, whole=named <= covered)


def _spans_by_file(index: Path, names: Iterable[str]) -> tuple[dict[str, list[Span]], set[str]]:
    """The spans of the files ``names`` in the index, and the names of every file it names."""
    wanted = set(names)
    spans: dict[str, list[Span]] = {}
    named: set[str] = set()
    previous = ""
    with index.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line < previous or not line.endswith("\n"):
                raise IndexMismatch(f"{index}: line {number} is out of order or cut short")
            previous = line
            name, span = _parse(line, f"{index}: line {number}")
            named.add(name)
            if name in wanted:
                spans.setdefault(name, []).append(span)
    return spans, named


def _parse(line: str, where: str) -> tuple[str, Span]:
    capture = capture_of(line)
    if capture is None:
        raise IndexMismatch(f"{where} is not a CDXJ capture line")
    key = hash((capture.url, capture.timestamp))
    return capture.filename, (capture.offset, capture.length, key)


def _covers(path: Path, spans: list[Span]) -> bool:
    """Whether ``spans`` are exactly the captures of the WARC file at ``path``."""
    try:
        with path.open("rb") as stream:
            _check_file(stream.fileno(), sorted(spans))
    except IndexMismatch as error:
        logger.info("%s is indexed again: %s", path.name, error)
        return False
    return True


def _check_file(fd: int, spans: list[Span]) -> None:
    size = os.fstat(fd).st_size
    position = 0
    for offset, length, key in spans:
        if offset < position:
            raise IndexMismatch(f"captures overlap at offset {offset}")
        _walk_others(fd, position, offset)
        head = _Member(fd, offset, size).head()
        if head.type not in _CAPTURE_TYPES or hash((head.url, _timestamp(head.date))) != key:
            raise IndexMismatch(f"the record at offset {offset} is not the capture indexed")
        position = offset + length
        # A gzip member ends with the size of what it inflates to (ISIZE, modulo 2**32): so
        # the length is checked without inflating the payload.
        if _isize(fd, position) != head.size % 2**32:
            raise IndexMismatch(f"the capture at offset {offset} is not {length} bytes long")
    if position > size:
        raise IndexMismatch(f"a capture ends at {position}, after the end of the file ({size})")
    _walk_others(fd, position, size)


def _walk_others(fd: int, start: int, end: int) -> None:
    """Check that the gzip members from ``start`` to ``end`` hold no capture."""
    while start < end:
        member = _Member(fd, start, end)
        head = member.head()
        if head.type in _CAPTURE_TYPES:
            raise IndexMismatch(f"the {head.type} of {head.url} at offset {start} is not indexed")
        start = member.finish()


class _Member:
    """The gzip member at ``start`` of a WARC file, which must end by ``end``: inflated only
    as far as needed, and never held whole (photos are megabytes)."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        self.fd, self.start, self.end = fd, start, end
        self.unread = start
        self.inflater = zlib.decompressobj(_GZIP_WBITS)

    def head(self) -> _Head:
        block = self._read(_HEAD_READ)
        if not block.startswith(_GZIP_MAGIC):
            raise IndexMismatch(f"no gzip member starts at offset {self.start}")
        head = b""
        try:
            while block:
                head += self.inflater.decompress(block, _HEAD_LIMIT - len(head))
                if b"\r\n\r\n" in head or self.inflater.eof or len(head) >= _HEAD_LIMIT:
                    break
                block = self.inflater.unconsumed_tail or self._read(_HEAD_READ)
        except zlib.error as error:
            raise IndexMismatch(f"a broken gzip member at offset {self.start}: {error}") from error
        return _Head.parse(head, self.start)

    def finish(self) -> int:
        """Inflate the rest of the member (the output dropped); where it ends."""
        try:
            while not self.inflater.eof:
                block = self.inflater.unconsumed_tail or self._read(_WALK_READ)
                if not block:
                    raise IndexMismatch(f"the gzip member at {self.start} runs past {self.end}")
                self.inflater.decompress(block, _WALK_READ)
        except zlib.error as error:
            raise IndexMismatch(f"a broken gzip member at offset {self.start}: {error}") from error
        return self.unread - len(self.inflater.unused_data)

    def _read(self, size: int) -> bytes:
        block = os.pread(self.fd, min(size, self.end - self.unread), self.unread)
        self.unread += len(block)
        return block


@dataclass(frozen=True, slots=True)
class _Head:
    """What the check needs of a record's WARC headers."""

    type: str
    url: str
    date: str
    size: int
    """The whole record's size, uncompressed: headers, block and the closing CRLF CRLF."""

    @classmethod
    def parse(cls, head: bytes, offset: int) -> _Head:
        if not head.startswith(b"WARC/") or b"\r\n\r\n" not in head:
            raise IndexMismatch(f"the gzip member at offset {offset} holds no WARC record")
        headers_end = head.index(b"\r\n\r\n") + 4
        found = {
            name.lower(): value.strip() for name, value in _FIELDS.findall(head, 0, headers_end)
        }
        block = found.get(b"content-length", b"")
        return cls(
            type=found.get(b"warc-type", b"").decode("ascii", "replace"),
            url=found.get(b"warc-target-uri", b"").decode("utf-8", "replace"),
            date=found.get(b"warc-date", b"").decode("ascii", "replace"),
            size=headers_end + int(block) + 4 if block.isdigit() else -1,  # bytes: ASCII
        )


def _isize(fd: int, end: int) -> int:
    """The ISIZE field of the gzip member that ends at ``end``."""
    trailer = os.pread(fd, 4, end - 4) if end >= 4 else b""
    if len(trailer) != 4:
        raise IndexMismatch(f"no gzip member ends at offset {end}")
    return int.from_bytes(trailer, "little")


def _timestamp(date: str) -> str:
    """The 14 digits of a ``WARC-Date`` (``2026-11-01T08:00:00Z`` or finer), as in the index.
    A date in another form gives something else, and the file is indexed again."""
    return date[:19].translate(_NOT_DIGITS)
