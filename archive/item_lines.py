"""Reading items.jsonl: every reader takes a line for an item, or passes over one, alike.

The crawl writes items.jsonl a whole line at a time, and an opening of the collection cuts a
torn last line. But it is a plain text file: an archivist may edit, merge or copy it, and a
disk may damage it. A line that is no item (not JSON, not a JSON object) is said once per
reading, with its byte offset, and passed over: never removed (whoever repairs it by hand
finds it where it was) and never the end of a command that reads the others. Fields are each
reader's to check; :func:`requisites` is the one list of what an item's page needs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from archive.exchange import WarcLocation

logger = logging.getLogger(__name__)


class ItemLine(NamedTuple):
    offset: int
    """Where the line starts in items.jsonl, in bytes."""
    item: dict[str, Any]


class NotAnItem(ValueError):
    """A line of items.jsonl that holds no item; the message says why."""


def item_of(line: bytes | str) -> dict[str, Any]:
    """The item a line holds; raises :class:`NotAnItem` saying why it holds none."""
    if isinstance(line, bytes):
        # Read as UTF-8 here: json.loads would guess UTF-16 from a zero byte, and say so.
        try:
            line = line.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise NotAnItem(f"not UTF-8: {error}") from None
    try:
        value = json.loads(line)
    except ValueError as error:  # JSONDecodeError
        raise NotAnItem(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise NotAnItem(f"not a JSON object but {type(value).__name__}")
    return value


class Items:
    """The items of an items.jsonl from byte ``start`` (a line's start), in file order, each
    time it is iterated. Lines that are no item are logged and passed over, and so are those
    a reader finds unfit for it (:meth:`pass_over`): ``passed_over`` counts both."""

    def __init__(self, path: Path, start: int = 0) -> None:
        self.path = path
        self.start = start
        self.passed_over = 0

    def __iter__(self) -> Iterator[ItemLine]:
        try:
            stream = self.path.open("rb")
        except FileNotFoundError:
            return
        with stream:
            stream.seek(self.start)
            offset = self.start
            for line in stream:
                try:
                    yield ItemLine(offset, item_of(line))
                except NotAnItem as error:
                    self.pass_over(offset, str(error))
                offset += len(line)

    def pass_over(self, offset: int, reason: str) -> None:
        """Say that the line at ``offset`` is not read, and why."""
        self.passed_over += 1
        logger.warning("%s at byte %d: not an item (%s); passed over", self.path, offset, reason)


def warc_location(item: dict[str, Any]) -> WarcLocation | None:
    """Where the item's page is stored; None when it names no place. Raises
    :class:`NotAnItem` when ``warc`` is there but not a file, an offset and a record id."""
    warc = item.get("warc")
    if warc is None or warc == {}:
        return None
    if isinstance(warc, dict):
        file, offset, record_id = warc.get("file"), warc.get("offset"), warc.get("record_id")
        if (
            isinstance(file, str)
            and isinstance(offset, int)
            and not isinstance(offset, bool)
            and isinstance(record_id, str)
        ):
            return WarcLocation(file, offset, record_id)
    raise NotAnItem(f"its warc location is not a file, an offset and a record id: {warc!r}")


def requisites(item: dict[str, Any]) -> list[str]:
    """The URLs of the images and files an item lists, in order; entries that name no URL
    (an item written by hand or by another tool) are passed over."""
    entries = _entries(item.get("images")) + _entries(item.get("attachments"))
    return [url for entry in entries if isinstance(url := entry.get("url"), str) and url]


def capture_key(item: dict[str, Any]) -> tuple[str, int] | None:
    """The (key, version) an item (or its item record) names; None when either is missing
    or of another JSON type (a version ``true`` is no version)."""
    key, version = item.get("key"), item.get("version")
    if isinstance(key, str) and isinstance(version, int) and not isinstance(version, bool):
        return key, version
    return None


def text_field(item: dict[str, Any], name: str) -> str | None:
    """``item[name]`` when it is a string, else None."""
    value = item.get(name)
    return value if isinstance(value, str) else None


def _entries(value: Any) -> list[dict[str, Any]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []
