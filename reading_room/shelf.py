"""One collection as the reading room sees it: read only, its search index kept fresh.

The collection is never locked and never written, except for its search index
(``DIR/search.sqlite``, a cache rebuilt from ``items.jsonl``). When the collection cannot be
written (a read-only copy, a mount, a full disk), the index is kept in a temporary directory
instead.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.atomic import full_disk_note, os_reason
from archive.collection import CollectionError
from archive.search import SearchIndex, index_path, read_line

logger = logging.getLogger(__name__)

_NAME = re.compile(r"[^A-Za-z0-9_-]+")


class SearchIndexError(CollectionError):
    """The search index can be written neither in the collection nor in a temporary folder."""

    def __init__(self, directory: Path, error: sqlite3.Error | OSError) -> None:
        reason = os_reason(error) if isinstance(error, OSError) else str(error)
        reason += full_disk_note(directory)
        super().__init__(f"the search index of {directory} cannot be written: {reason}")


class Shelf:
    """A collection directory, its name in URLs, and its search index."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.items_path = directory / "items.jsonl"
        self.index_path = _writable_index_path(directory)
        self._local = threading.local()
        self._update_lock = threading.Lock()
        self._seen: tuple[int, int] | None = None

    def refresh(self) -> int:
        """Index what items.jsonl gained since the last look; the lines added.

        A ``stat`` per request: a collection crawled while it is served is searched as of
        its last complete line.
        """
        try:
            status = self.items_path.stat()
            seen = (status.st_size, status.st_mtime_ns)
        except FileNotFoundError:
            seen = (0, 0)
        if seen == self._seen:
            return 0
        with self._update_lock:
            try:
                added = self._update()
            except SearchIndexError as error:
                if self._seen is None:
                    raise  # never indexed: nothing to search
                logger.error("%s; searched as of its last update", error)
                added = 0  # tried again once items.jsonl changes again
            self._seen = seen
        return added

    def _update(self) -> int:
        """Bring the index up to date; where the collection cannot hold it (a full disk),
        keep it in a temporary folder from then on, as for a read-only collection."""
        try:
            return self._update_at(self.index_path)
        except (sqlite3.Error, OSError) as error:
            if self.index_path.parent != self.directory:
                raise SearchIndexError(self.directory, error) from error
            why = f"cannot be written ({error})"
        fallback: Path | None = None
        try:
            fallback = _temporary_index_path(self.directory)
            added = self._update_at(fallback)
        except (sqlite3.Error, OSError) as error:
            if fallback is not None:
                shutil.rmtree(fallback.parent, ignore_errors=True)
            raise SearchIndexError(self.directory, error) from error
        # Only a complete index replaces the one searched so far.
        _kept_elsewhere(self.directory, why, fallback)
        self.index_path = fallback
        return added

    def _update_at(self, path: Path) -> int:
        with SearchIndex(self.directory, path) as index:
            return index.update()

    def index(self) -> SearchIndex:
        """This thread's connection to the search index (a new one once the index moved)."""
        index = getattr(self._local, "index", None)
        if index is None or index.path != self.index_path:
            if index is not None:
                index.close()
            index = self._local.index = SearchIndex(self.directory, self.index_path)
        return index

    def versions(self, key: str) -> list[dict[str, Any]]:
        """Every version of article ``key`` as stored in items.jsonl, oldest first."""
        return [
            read_line(self.items_path, offset, length)
            for _, offset, length in self.index().versions(key)
        ]

    def reports(self) -> list[dict[str, Any]]:
        """The crawl history: a report per run (``reports/*.json``, see crawler/progress.py),
        each with ``_file`` and ``_when`` (its time, or the file's), oldest first.
        ``report.json`` is the last run's report, already in the history unless a run wrote it
        before the history was kept."""
        paths = sorted(self.directory.glob("reports/*.json"))
        reports = [report for path in paths if (report := _read_report(path)) is not None]
        last = _read_report(self.directory / "report.json")
        runs = {report.get("started_at") for report in reports}
        if last is not None and (last.get("started_at") is None or last["started_at"] not in runs):
            reports.append(last)
        return sorted(reports, key=lambda report: report["_when"])


def shelves(directories: list[Path]) -> list[Shelf]:
    """A shelf per collection, named after its directory (made unique); a collection given
    again (``lapvo lapvo/``, a link) is served once."""
    result: list[Shelf] = []
    for directory in directories:
        resolved = directory.resolve()
        same = next((s for s in result if s.directory == resolved), None)
        if same is not None:
            logger.warning("%s is %s, given before: served once", directory, same.directory)
            continue
        base = _NAME.sub("-", resolved.name).strip("-") or "collection"
        name, number = base, 1
        while any(shelf.name == name for shelf in result):
            number += 1
            name = f"{base}-{number}"
        result.append(Shelf(resolved, name))
    return result


def _writable_index_path(directory: Path) -> Path:
    path = index_path(directory)
    if os.access(path if path.exists() else directory, os.W_OK):
        return path
    fallback = _temporary_index_path(directory)
    _kept_elsewhere(directory, "cannot be written", fallback)
    return fallback


def _temporary_index_path(directory: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix="reading-room-")) / index_path(directory).name


def _kept_elsewhere(directory: Path, why: str, path: Path) -> None:
    logger.warning("%s %s: its search index is kept in %s", directory, why, path)


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        moment = path.stat().st_mtime
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("%s: not a readable report (%s)", path, error)
        return {"_file": path.name, "_when": "", "_unreadable": str(error)}
    if not isinstance(report, dict):
        logger.warning("%s: not a report (a JSON %s)", path, type(report).__name__)
        return {"_file": path.name, "_when": "", "_unreadable": "not a JSON object"}
    when = report.get("finished_at") or report.get("started_at")
    if not isinstance(when, str):
        when = datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")
    return {**report, "_file": path.name, "_when": when}
