"""What a collection counts on that is gone: WARC files, and lines of items.jsonl.

**WARC files.**
A file deleted by hand, or lost with a disk, takes its captures with it while the state still
says its articles are archived: the next crawl would find them unchanged (a 304, the same
payload) and write revisits that refer to records nobody holds any more. So every opening of a
collection compares the files it knows of (the fixity manifest's, and those the article states
point into) with the folder: cheap, one listing and one query. Where one is gone and still
counted on, :class:`archive.collection.Collection` stops counting on it: its articles are no
longer held (the next crawl captures them again, in full, as their next version), and the
images and files the index placed in it are owed to the next crawl, for the articles listing
them. Each such file is named in an error at every opening until that is done.

A file removed whose captures were taken again since, and no longer in the rebuilt index, is
counted on no more: nothing is said of it. ``sha256sum -c manifest-sha256.txt`` still reports
it (README, "Fixity at ingest").

**Lines of items.jsonl.** The file deleted, emptied or cut back by hand (or an older copy put
back): the state still holds the articles, so no crawl would write their lines again. An
opening that finds the file shorter than it last checked restores the lines of every capture
the state holds and the file lacks from the item records the crawl wrote beside each page
(their payload is the line itself), in the order they were written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from archive.index_entries import capture_of
from archive.item_lines import Items, capture_key, requisites
from archive.reader import ArchivedMetadata, iter_archive

logger = logging.getLogger(__name__)


def missing(warc_dir: Path, names: Iterable[str]) -> set[str]:
    """Of the file ``names``, those not in ``warc_dir``."""
    return {name for name in names if not (warc_dir / name).is_file()}


def indexed_urls(index_path: Path, files: set[str]) -> dict[str, set[str]]:
    """The URLs the CDXJ index places in each of ``files`` (read only when a file is gone)."""
    found: dict[str, set[str]] = {name: set() for name in files}
    # Most lines are of other files: a substring test before JSON.
    for name, url in _index_entries(index_path, lambda line: any(n in line for n in files)):
        if name in found:
            found[name].add(url)
    return found


def indexed_url_set(index_path: Path, warc_dir: Path) -> frozenset[str]:
    """The URLs the CDXJ index places in WARC files that are there."""
    present: dict[str, bool] = {}
    found: set[str] = set()
    for name, url in _index_entries(index_path, lambda line: True):
        if name not in present:
            present[name] = (warc_dir / name).is_file()
        if present[name]:
            found.add(url)
    return frozenset(found)


def _index_entries(index_path: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[str, str]]:
    """(file name, URL) of the index lines ``wanted`` keeps; a damaged line is passed over."""
    if not index_path.is_file():
        return
    with index_path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            capture = capture_of(line) if wanted(line) else None
            if capture is not None:
                yield capture.filename, capture.url


def requisite_owners(items_path: Path, urls: set[str]) -> list[tuple[str, str]]:
    """(url, article key) of each of ``urls`` that an item lists as an image or a file: the
    article a crawl owes it to (the last item listing it)."""
    owners: dict[str, str] = {}
    if not urls:
        return []
    for line in Items(items_path):
        key = line.item.get("key")
        for url in requisites(line.item):
            if url in urls and isinstance(key, str):
                owners[url] = key
    return sorted(owners.items())


def item_versions(items_path: Path) -> set[tuple[str, int]]:
    """(key, version) of each item of items.jsonl that names both."""
    captures = (capture_key(line.item) for line in Items(items_path))
    return {capture for capture in captures if capture is not None}


def recorded_items(warcs: Iterable[Path], wanted: set[tuple[str, int]]) -> Iterator[dict[str, Any]]:
    """The item records of ``wanted`` (key, version) captures in ``warcs``, in file order,
    each once. A damaged file gives what precedes the damage (logged)."""
    left = set(wanted)
    records = iter_archive(warcs, strict=False, responses=lambda url, content_type: False)
    for record in records:
        if not left:
            return
        if isinstance(record, ArchivedMetadata) and isinstance(record.payload, dict):
            capture = capture_key(record.payload)
            if capture is not None and capture in left:
                left.discard(capture)
                yield record.payload
