"""Reading the collection's CDXJ index back: one rule for every reader.

The index is derived from the WARC files, and a line of it may still be damaged (a disk, an
edit). A line that is no capture line is no evidence: each reader passes it over, or reads
the files again, rather than trust a part of it.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class IndexedCapture(NamedTuple):
    """What an index line says of a capture, read back."""

    key: str
    timestamp: str
    url: str
    filename: str
    offset: int
    length: int
    fields: dict[str, Any]
    """Every field of its JSON part (``mime``, ``status``, ``digest``, ...)."""


def capture_of(line: str) -> IndexedCapture | None:
    """The capture an index line names; None when it is no capture line (not ``key timestamp
    {json}``, or without a URL, a file, an offset and a length): every reader passes such a
    line over rather than trust a part of it."""
    key, _, rest = line.partition(" ")
    timestamp, _, entry = rest.partition(" ")
    if not (key and timestamp and entry):
        return None
    try:
        fields = json.loads(entry)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    url, filename = fields.get("url"), fields.get("filename")
    offset, length = _whole(fields.get("offset")), _whole(fields.get("length"))
    if not (isinstance(url, str) and isinstance(filename, str) and filename):
        return None
    if offset is None or length is None or offset < 0 or length <= 0:
        return None
    return IndexedCapture(key, timestamp, url, filename, offset, length, fields)


def _whole(value: Any) -> int | None:
    """A number written as the index writes it (a string of digits), or as an int."""
    if isinstance(value, str) and value.isdecimal() and value.isascii():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
