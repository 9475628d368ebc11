"""Reusing a collection's CDXJ index for the WARC files it covers, after checking it against them.

``wacz`` packages WARC files with the index of their captures. The collection keeps one
(``indexes/index.cdxj``, :mod:`archive.cdxj`), so reading every record again with warcio is
work done twice; but an index can be wrong for a file: a killed crawl whose last file was never
indexed, a file copied in by hand, a truncated, reordered or edited index. A file's lines are
used only when they are exactly its captures:

- the index as a whole parses and is sorted (as :func:`archive.cdxj.build_index` writes it);
- each of the file's lines names a gzip member of the file that holds a response or revisit
  record of the line's URL and time (the record's WARC headers are inflated, not its payload);
- the members between the indexed ones (warcinfo, requests, metadata) are walked, and none is
  a response or revisit;
- the members tile the file up to its last byte.

The check reads the head of each record and the small records between the captures: a small
part of the bytes (photo payloads are stepped over), without warcio's parsing. A file that
fails it is indexed by reading it, as before; the index is never taken on trust.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.timeutils import iso_date_to_timestamp

logger = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b\x08"
_GZIP_WBITS = 31
_HEAD_READ = 4096
_HEAD_LIMIT = 1 << 16
"""A record whose WARC headers do not end within this many bytes is not ours to trust."""
_WALK_READ = 1 << 16
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

    def lines(self) -> Iterator[str]:
        """The index's lines for the covered files, in the index's (sorted) order."""
        if not self.covered:
            return
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                if json.loads(line.split(" ", 2)[2])["filename"] in self.covered:
                    yield line


def reusable_index(index: Path, files: Iterable[Path]) -> ReusableIndex:
    """The part of the index at ``index`` that may stand for reading ``files`` again."""
    paths = {path.name: path for path in files}
    try:
        spans = _spans_by_file(index, paths.keys())
    except (OSError, IndexMismatch) as error:
        logger.info("the collection's index is not reused: %s", error)
        return ReusableIndex(index, frozenset())
    covered = frozenset(name for name, path in paths.items() if _covers(path, spans.get(name, [])))
    return ReusableIndex(index, covered)


def _spans_by_file(index: Path, names: Iterable[str]) -> dict[str, list[Span]]:
    wanted = set(names)
    spans: dict[str, list[Span]] = {}
    previous = ""
    with index.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line < previous or not line.endswith("\n"):
                raise IndexMismatch(f"{index}: line {number} is out of order or cut short")
            previous = line
            name, span = _parse(line, f"{index}: line {number}")
            if name in wanted:
                spans.setdefault(name, []).append(span)
    return spans


def _parse(line: str, where: str) -> tuple[str, Span]:
    try:
        _, timestamp, entry = line.split(" ", 2)
        fields = json.loads(entry)
        span = (int(fields["offset"]), int(fields["length"]), hash((fields["url"], timestamp)))
        return fields["filename"], span
    except (ValueError, KeyError, TypeError) as error:
        raise IndexMismatch(f"{where} is not a CDXJ capture line ({error!r})") from error


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
    position = 0
    for offset, length, key in spans:
        if offset < position:
            raise IndexMismatch(f"captures overlap at offset {offset}")
        _walk_others(fd, position, offset)
        record_type, url, date = _head(fd, offset)
        if record_type not in _CAPTURE_TYPES or hash((url, iso_date_to_timestamp(date))) != key:
            raise IndexMismatch(f"the record at offset {offset} is not the capture indexed")
        position = offset + length
    size = os.fstat(fd).st_size
    if position > size:
        raise IndexMismatch(f"a capture ends at {position}, after the end of the file ({size})")
    _walk_others(fd, position, size)


def _walk_others(fd: int, start: int, end: int) -> None:
    """Check that the gzip members from ``start`` to ``end`` hold no capture."""
    while start < end:
        record_type, url, _ = _head(fd, start)
        if record_type in _CAPTURE_TYPES:
            raise IndexMismatch(f"the {record_type} of {url} at offset {start} is not indexed")
        start = _member_end(fd, start, end)


def _head(fd: int, offset: int) -> tuple[str, str, str]:
    """WARC-Type, WARC-Target-URI and WARC-Date of the record in the member at ``offset``."""
    block = os.pread(fd, _HEAD_READ, offset)
    if not block.startswith(_GZIP_MAGIC):
        raise IndexMismatch(f"no gzip member starts at offset {offset}")
    inflater = zlib.decompressobj(_GZIP_WBITS)
    head, unread = b"", offset + len(block)
    try:
        while block and b"\r\n\r\n" not in head and len(head) < _HEAD_LIMIT:
            head += inflater.decompress(block, _HEAD_LIMIT - len(head))
            if inflater.eof:
                break
            block = inflater.unconsumed_tail or os.pread(fd, _HEAD_READ, unread)
            unread += 0 if inflater.unconsumed_tail else len(block)
    except zlib.error as error:
        raise IndexMismatch(f"a broken gzip member at offset {offset}: {error}") from error
    fields = _header_fields(head.partition(b"\r\n\r\n")[0])
    return (
        fields.get("warc-type", ""),
        fields.get("warc-target-uri", ""),
        fields.get("warc-date", ""),
    )


def _header_fields(head: bytes) -> dict[str, str]:
    lines = head.decode("utf-8", "replace").split("\r\n")
    if not lines[0].startswith("WARC/"):
        raise IndexMismatch("a gzip member that does not hold a WARC record")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields


def _member_end(fd: int, start: int, end: int) -> int:
    """Where the gzip member at ``start`` ends; an error unless it ends by ``end``."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    position = start
    try:
        while not inflater.eof and position < end:
            block = os.pread(fd, min(_WALK_READ, end - position), position)
            position += len(block)
            while block and not inflater.eof:
                inflater.decompress(block, _WALK_READ)  # output not needed: bounded, dropped
                block = inflater.unconsumed_tail
    except zlib.error as error:
        raise IndexMismatch(f"a broken gzip member at offset {start}: {error}") from error
    if not inflater.eof:
        raise IndexMismatch(f"the gzip member at offset {start} runs past offset {end}")
    return position - len(inflater.unused_data)
