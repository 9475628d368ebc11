"""What ``recover`` has done in a collection: ``DIR/recover.sqlite``.

* the archived captures already read;
* the images and files recovered articles still want (asked for, not yet recovered nor
  known missing from every archive): a rerun asks for them again.

A rerun of ``recover`` (after a kill, or later to pick up new captures) fetches only the
captures this log lacks. A capture is entered once its records are written and its item
handed on; a kill in between makes the rerun read it again, which writes its record again
(harmless) and finds its content unchanged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    key TEXT NOT NULL,
    digest TEXT,
    outcome TEXT NOT NULL,
    PRIMARY KEY (source, url, timestamp)
);
CREATE TABLE IF NOT EXISTS wanted (
    url TEXT PRIMARY KEY,
    article TEXT NOT NULL,
    site TEXT NOT NULL,
    timestamp TEXT NOT NULL
)
"""


class RecoveryLog:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        # No fsync per capture (it was a third of a recovery's time): a kill loses nothing
        # committed in WAL mode, and a power loss at worst the last entries, whose captures
        # a rerun reads again (see above); the collection's own commits keep its durability.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def done(self) -> set[tuple[str, str, str]]:
        rows = self._db.execute("SELECT source, url, timestamp FROM captures")
        return {(source, url, timestamp) for source, url, timestamp in rows}

    def digests(self) -> dict[str, set[str]]:
        """Payload digests read so far, per article key."""
        found: dict[str, set[str]] = {}
        rows = self._db.execute("SELECT key, digest FROM captures WHERE digest IS NOT NULL")
        for key, digest in rows:
            found.setdefault(key, set()).add(digest)
        return found

    def add(
        self, source: str, url: str, timestamp: str, *, key: str, digest: str | None, outcome: str
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO captures VALUES (?, ?, ?, ?, ?, ?)",
                (source, url, timestamp, key, digest, outcome),
            )

    def want(self, url: str, *, article: str, site: str, timestamp: str) -> None:
        """An image or file an article names (``timestamp``: the article's capture)."""
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO wanted VALUES (?, ?, ?, ?)", (url, article, site, timestamp)
            )

    def settle(self, url: str) -> None:
        """Recovered, or missing from every archive: not asked for again."""
        with self._db:
            self._db.execute("DELETE FROM wanted WHERE url = ?", (url,))

    def wanted(self) -> list[tuple[str, str, str, str]]:
        """(url, article, site, timestamp) of what earlier runs asked for and did not get."""
        return self._db.execute("SELECT url, article, site, timestamp FROM wanted").fetchall()

    def close(self) -> None:
        self._db.close()
