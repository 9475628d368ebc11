"""The crawl frontier as rows of the collection's state: what a crawl discovered and has not done.

A row describes one request (URL, the spider method names to call back, priority, the meta the
callback needs) under its key, the one identity of what it fetches (an article's key, or the
canonical URL). Rows live in ``state.sqlite`` beside the article rows and are written in the
same transactions, so a commit that marks a page done also holds everything the page led to:
a rerun re-seeds its queue from the owed rows, whatever stopped the earlier process.

States: ``owed`` (to fetch), ``deferred`` (found outside listings; scheduled when the crawl is
otherwise idle), ``done`` (its outcome is committed), ``failed`` (failed for good: never again in
this crawl).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

OWED = "owed"
DEFERRED = "deferred"
DONE = "done"
FAILED = "failed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS frontier (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    callback TEXT,
    errback TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    meta TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    requisite_of TEXT
);
"""


@dataclass(frozen=True, slots=True)
class FrontierEntry:
    """One request of the frontier, as stored."""

    key: str
    url: str
    callback: str | None = None
    errback: str | None = None
    priority: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    state: str = OWED
    requisite_of: str | None = None
    """The article key when this is an image, file or theme asset of an article."""


_COLUMNS = "key, url, callback, errback, priority, meta, state, requisite_of"
_NO_META = "{}"
"""Most rows (pages, articles) keep no meta: their JSON needs no encoder."""


def _entry(row: tuple[Any, ...]) -> FrontierEntry:
    key, url, callback, errback, priority, meta, state, requisite_of = row
    return FrontierEntry(
        key, url, callback, errback, priority, json.loads(meta), state, requisite_of
    )


class Frontier:
    """The frontier rows of a collection, written through its connection and commit policy."""

    def __init__(
        self,
        connection: Callable[[], sqlite3.Connection],
        written: Callable[[], None],
        pending: Callable[[], None],
    ) -> None:
        self._connection = connection
        self._written = written
        """Counts a change toward the next group commit."""
        self._pending = pending
        """Marks a change that rides with the next commit."""

    def states(self) -> dict[str, str]:
        """Every key of the frontier and its state."""
        return dict(self._connection().execute("SELECT key, state FROM frontier"))

    def entries(self, *states: str) -> Iterator[FrontierEntry]:
        """Rows in the given states, in the order they were discovered."""
        marks = ",".join("?" * len(states))
        query = f"SELECT {_COLUMNS} FROM frontier WHERE state IN ({marks}) ORDER BY rowid"
        for row in self._connection().execute(query, states):
            yield _entry(row)

    def discover(self, entry: FrontierEntry) -> None:
        """Add a row; a deferred row takes the request that is now scheduled for it."""
        self._connection().execute(
            f"INSERT INTO frontier ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET url = excluded.url, callback = excluded.callback, "
            "errback = excluded.errback, priority = excluded.priority, meta = excluded.meta, "
            "state = excluded.state WHERE frontier.state = 'deferred'",
            (
                entry.key,
                entry.url,
                entry.callback,
                entry.errback,
                entry.priority,
                json.dumps(entry.meta, ensure_ascii=False) if entry.meta else _NO_META,
                entry.state,
                entry.requisite_of,
            ),
        )
        self._pending()

    def settle(self, key: str, state: str) -> None:
        """Record the outcome of ``key`` (``done`` or ``failed``)."""
        self._connection().execute("UPDATE frontier SET state = ? WHERE key = ?", (state, key))
        self._written()

    def count(self, *states: str) -> int:
        marks = ",".join("?" * len(states))
        query = f"SELECT COUNT(*) FROM frontier WHERE state IN ({marks})"
        return int(self._connection().execute(query, states).fetchone()[0])

    def remaining(self) -> int:
        """Requests discovered and not yet done (0: the crawl is complete)."""
        return self.count(OWED, DEFERRED)
