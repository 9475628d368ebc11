"""One collection as the reading room sees it: read only, its search index kept fresh.

The collection is never locked and never written, except for its search index
(``DIR/search.sqlite``, a cache rebuilt from ``items.jsonl``). When the collection cannot be
written (a read-only copy, a mount), the index is kept in a temporary directory instead.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.search import SearchIndex, index_path, read_line

logger = logging.getLogger(__name__)

_NAME = re.compile(r"[^A-Za-z0-9_-]+")


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
        with self._update_lock, SearchIndex(self.directory, self.index_path) as index:
            added = index.update()
            self._seen = seen
        return added

    def index(self) -> SearchIndex:
        """This thread's connection to the search index."""
        index = getattr(self._local, "index", None)
        if index is None:
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
    """A shelf per collection, named after its directory (made unique)."""
    result: list[Shelf] = []
    for directory in directories:
        base = _NAME.sub("-", directory.resolve().name).strip("-") or "collection"
        name, number = base, 1
        while any(shelf.name == name for shelf in result):
            number += 1
            name = f"{base}-{number}"
        result.append(Shelf(directory.resolve(), name))
    return result


def _writable_index_path(directory: Path) -> Path:
    path = index_path(directory)
    if os.access(path if path.exists() else directory, os.W_OK):
        return path
    fallback = Path(tempfile.mkdtemp(prefix="reading-room-")) / path.name
    logger.warning("%s cannot be written: its search index is kept in %s", directory, fallback)
    return fallback


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
