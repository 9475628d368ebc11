"""Finding the capture of a URL in a collection's CDXJ index, read only.

``DIR/indexes/index.cdxj`` is sorted, so a URL's lines are found by binary search over the file
(no copy of the index in memory, as pywb does it). A crawl running at the same moment keeps the
lines of what it wrote in ``DIR/.index-pending.cdxj`` until it rebuilds the index; that file is
read too (it is small and unsorted). The WARC file a line names must be a plain file name in
``DIR/warc``: nothing in an index reaches outside the collection.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archive.surt import surt
from archive.writer import OPEN_SUFFIX

logger = logging.getLogger(__name__)

INDEX = Path("indexes") / "index.cdxj"
PENDING = Path(".index-pending.cdxj")


@dataclass(frozen=True)
class Capture:
    """A response record of a URL: where it is and what the index says of it."""

    url: str
    timestamp: str
    mime: str
    status: str
    path: Path
    """The WARC file, inside the collection's ``warc/``."""
    offset: int


def find_capture(collection: Path, url: str) -> Capture | None:
    """The newest 200 response (not a revisit) archived for ``url``, or None."""
    key = surt(url)
    lines = _sorted_lines(collection / INDEX, key) + _pending_lines(collection / PENDING, key)
    captures = [c for c in (_capture(collection, line) for line in lines) if c is not None]
    complete = [c for c in captures if c.status == "200" and c.mime != "warc/revisit"]
    return max(complete, key=lambda capture: capture.timestamp, default=None)


def _sorted_lines(index: Path, key: str) -> list[bytes]:
    prefix = key.encode("utf-8") + b" "
    try:
        stream = index.open("rb")
    except FileNotFoundError:
        return []
    with stream:
        stream.seek(_first_line_at_or_after(stream, prefix))
        lines = []
        for line in stream:
            if not line.startswith(prefix):
                break
            lines.append(line)
        return lines


def _first_line_at_or_after(stream: BinaryIO, prefix: bytes) -> int:
    """The offset of the first line not sorting before ``prefix``: the smallest ``x`` whose
    next line start (:func:`_line_start`) holds such a line, by bisection."""
    low, high = 0, stream.seek(0, 2)
    while low < high:
        middle = (low + high) // 2
        _line_start(stream, middle)
        line = stream.readline()
        if not line or line >= prefix:
            high = middle
        else:
            low = middle + 1
    return _line_start(stream, low)


def _line_start(stream: BinaryIO, position: int) -> int:
    """Seek to the first line starting at or after ``position``; its offset."""
    if position:
        stream.seek(position - 1)
        stream.readline()
    else:
        stream.seek(0)
    return stream.tell()


def _pending_lines(pending: Path, key: str) -> list[bytes]:
    prefix = key.encode("utf-8") + b" "
    try:
        with pending.open("rb") as stream:
            return [line for line in stream if line.startswith(prefix) and line.endswith(b"\n")]
    except FileNotFoundError:
        return []


def _capture(collection: Path, line: bytes) -> Capture | None:
    try:
        _, timestamp, text = line.decode("utf-8").split(" ", 2)
        entry = json.loads(text)
        name, offset = str(entry["filename"]), int(entry["offset"])
    except (ValueError, KeyError) as error:
        logger.warning("%s: a CDXJ line that cannot be read (%s)", collection, error)
        return None
    warc_dir = collection / "warc"
    if Path(name).name != name or name in ("", ".", ".."):
        logger.warning("%s: CDXJ line names %r, not a file of warc/", collection, name)
        return None
    path = warc_dir / name
    if not path.exists() and (warc_dir / (name + OPEN_SUFFIX)).exists():
        path = warc_dir / (name + OPEN_SUFFIX)  # still being written by a running crawl
    return Capture(
        url=entry.get("url", ""),
        timestamp=timestamp,
        mime=entry.get("mime", ""),
        status=entry.get("status", ""),
        path=path,
        offset=offset,
    )
