"""Reading a collection's WARC file without inflating the records a reader does not want.

Photos are most of a collection's bytes, stored in gzip members of their own. A reader walking
the file must inflate each one only to find where the next record starts (gzip does not say),
which was most of what walking the WARCs cost ``extract``. The collection's CDXJ index says
where each capture's member starts and how long it is, so those of unwanted photos can be
stepped over: :class:`SkippingReader` is the file as the WARC reader sees it, without them.

The index is evidence, not trusted: a range is skipped only when it lies inside the file, a
gzip member starts at both of its ends, and the record at its start is the capture the index
names (its ``WARC-Type`` and ``WARC-Target-URI``). Any doubt and the range is read as usual.
"""

from __future__ import annotations

import logging
import os
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib

from archive.index_entries import capture_of

logger = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
# Enough of a member to inflate the WARC and HTTP headers of a photo's record (about 750
# bytes in this project's WARCs); a longer one is read as usual.
_HEADER_PEEK = 1536
# Only the index's definite types of what readers skip: a missing or odd type is read.
_SKIPPED_MIME = "image/"
_IMAGE_MARK = '"mime": "image/'

Wanted = Callable[[str, str | None], bool]


def _index_of(warc: Path) -> Path | None:
    """The built CDXJ index of the collection holding ``warc`` (in its ``warc/`` folder)."""
    if warc.parent.name != "warc":
        return None
    index = warc.parent.parent / "indexes" / "index.cdxj"
    return index if index.is_file() else None


def skippable_ranges(warc: Path, wanted: Wanted) -> list[tuple[int, int]]:
    """(start, end) of the members of ``warc`` holding captures ``wanted`` refuses, checked
    against the file; sorted, and empty when there is no index or nothing to skip."""
    index = _index_of(warc)
    if index is None:
        return []
    name = warc.name
    candidates: list[tuple[int, int, str]] = []
    with index.open(encoding="utf-8") as lines:
        for line in lines:
            # Most lines are pages and photos of other files: a substring test before JSON.
            if _IMAGE_MARK not in line or name not in line:
                continue
            capture = capture_of(line)
            if capture is None or capture.filename != name:
                continue  # a damaged line is no evidence: what it names is read
            url, mime = capture.url, capture.fields.get("mime")
            if not isinstance(mime, str) or not mime.startswith(_SKIPPED_MIME) or wanted(url, mime):
                continue
            candidates.append((capture.offset, capture.offset + capture.length, url))
    candidates.sort()
    return _checked(warc, candidates)


def _checked(warc: Path, candidates: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    with warc.open("rb") as stream:
        fd = stream.fileno()
        size = os.fstat(fd).st_size
        previous_end = 0
        for start, end, url in candidates:
            if start < previous_end or end > size or not _holds(fd, start, end, size, url):
                logger.debug("%s: index disagrees at offset %d; read as usual", warc, start)
                continue
            ranges.append((start, end))
            previous_end = end
    return ranges


def _holds(fd: int, start: int, end: int, size: int, url: str) -> bool:
    """Whether a gzip member holding the response for ``url``, a photo, starts at ``start``
    and another member (or the end of the file) at ``end``."""
    if end < size and os.pread(fd, 2, end) != _GZIP_MAGIC:
        return False
    head = os.pread(fd, min(_HEADER_PEEK, end - start), start)
    if not head.startswith(_GZIP_MAGIC):
        return False
    try:
        # ISA-L: the same bytes as zlib, in a third of its time on these short reads.
        text = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS).decompress(head, _HEADER_PEEK)
    except isal_zlib.error:
        return False
    header, found, rest = text.partition(b"\r\n\r\n")
    if not found or not header.startswith(b"WARC/"):
        return False
    # The HTTP headers must say what the index says: a photo, whatever the index was built from.
    http, found, _ = rest.partition(b"\r\n\r\n")
    if not found or b"\r\ncontent-type: image/" not in http.lower():
        return False
    # As this project's writer and warcio write them; any other spelling is read as usual.
    target = url.encode("utf-8")
    return b"\r\nWARC-Type: response\r\n" in header and (
        b"\r\nWARC-Target-URI: " + target + b"\r\n" in header + b"\r\n"
        or b"\r\nWARC-Target-URI: <" + target + b">\r\n" in header + b"\r\n"
    )


class SkippingReader:
    """A binary file read without the byte ranges given, sorted and not overlapping.

    The WARC reader sees a file without them; :meth:`real_offset` maps its positions back.
    """

    def __init__(self, raw: BinaryIO, ranges: list[tuple[int, int]]) -> None:
        self._raw = raw
        self._ranges = ranges
        self._next = 0  # the next range to step over
        self._position = raw.tell()
        # Positions as the reader sees them where a range was stepped over, and the bytes
        # stepped over before each: a record starting at or after one lies that much further.
        self._jumps: list[int] = []
        self._skipped: list[int] = []

    def tell(self) -> int:
        return self._position - (self._skipped[-1] if self._skipped else 0)

    def read(self, size: int = -1) -> bytes:
        ranges = self._ranges
        while self._next < len(ranges) and ranges[self._next][0] <= self._position:
            start, end = ranges[self._next]
            self._next += 1
            if start < self._position:
                continue  # already past it (a range before where reading began)
            self._jumps.append(self.tell())
            self._skipped.append((self._skipped[-1] if self._skipped else 0) + end - start)
            self._raw.seek(end)
            self._position = end
        if self._next < len(ranges):
            room = ranges[self._next][0] - self._position
            size = room if size is None or size < 0 else min(size, room)
        data = self._raw.read(size)
        self._position += len(data)
        return data

    def real_offset(self, position: int) -> int:
        """Where ``position`` of what the reader sees lies in the file."""
        jumps = bisect_right(self._jumps, position)
        return position + (self._skipped[jumps - 1] if jumps else 0)
