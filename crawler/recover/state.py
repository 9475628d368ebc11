"""What ``recover`` has done in a collection: ``DIR/recover.sqlite``.

* the archived captures already read;
* the images and files recovered articles still want (asked for, not yet recovered nor
  known missing from every archive): a rerun asks for them again;
* where each redirect capture of an article URL led: a rerun does not read those captures
  again, but still needs them as evidence of which articles are one history.

A rerun of ``recover`` (after a kill, or later to pick up new captures) fetches only the
captures this log lacks, so a capture must never be saved here as read before what it gave
the collection is: an article capture is noted once the pipeline has stored its item (or
found it already stored), and what is noted is saved (:meth:`RecoveryLog.save`) only after
the collection has committed, WARC records and items lines made durable. A kill before the
save makes the rerun read those captures again, which writes their records again (harmless)
and finds their content unchanged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

from archive.collection import CollectionError, check_whole
from crawler.recover.identity import Redirect

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
);
CREATE TABLE IF NOT EXISTS redirects (
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (source, url, timestamp)
)
"""


class CaptureRead(NamedTuple):
    """One archived capture read, and what came of it (``page``, ``http-200``, ...)."""

    source: str
    url: str
    timestamp: str
    key: str
    digest: str | None
    outcome: str
    target: str | None = None
    """Where a redirect capture led (its ``Location``), for ``outcome`` ``redirect``."""


class RecoveryLogError(CollectionError):
    """``DIR/recover.sqlite`` cannot be opened, or is damaged: the message says what to do."""


class RecoveryLog:
    def __init__(self, path: Path) -> None:
        """Open (or create) the log at ``path``; raises :class:`RecoveryLogError`."""
        try:
            self._db = _open(path)
        except sqlite3.Error as error:
            raise RecoveryLogError(_failure(path, error)) from error
        self._unsaved: list[CaptureRead] = []
        self._unsaved_settled: list[str] = []

    @property
    def unsaved(self) -> int:
        """Entries noted and not yet saved."""
        return len(self._unsaved) + len(self._unsaved_settled)

    def done(self) -> set[tuple[str, str, str]]:
        rows = self._db.execute("SELECT source, url, timestamp FROM captures").fetchall()
        rows += [(read.source, read.url, read.timestamp) for read in self._unsaved]
        return {(source, url, timestamp) for source, url, timestamp in rows}

    def digests(self) -> dict[str, set[str]]:
        """Payload digests read so far, per article key."""
        found: dict[str, set[str]] = {}
        rows = self._db.execute("SELECT key, digest FROM captures WHERE digest IS NOT NULL")
        for key, digest in [*rows, *((read.key, read.digest) for read in self._unsaved)]:
            if digest is not None:
                found.setdefault(key, set()).add(digest)
        return found

    def redirects(self) -> list[Redirect]:
        """Every redirect capture of an article URL read so far, and where it led."""
        rows = self._db.execute("SELECT url, target, timestamp FROM redirects").fetchall()
        rows += [(r.url, r.target, r.timestamp) for r in self._unsaved if r.target is not None]
        return [Redirect(url, target, timestamp) for url, target, timestamp in rows]

    def add(self, read: CaptureRead) -> None:
        """Note a capture read; saved by the next :meth:`save`."""
        self._unsaved.append(read)

    def want(self, url: str, *, article: str, site: str, timestamp: str) -> None:
        """An image or file an article names (``timestamp``: the article's capture); saved at
        once, before the capture that names it: owing too much is harmless."""
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO wanted VALUES (?, ?, ?, ?)", (url, article, site, timestamp)
            )

    def settle(self, url: str) -> None:
        """Recovered, or missing from every archive: not asked for again after the next
        :meth:`save`."""
        self._unsaved_settled.append(url)

    def save(self) -> None:
        """Save what was noted: call it once the collection has made it durable."""
        if not self.unsaved:
            return
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO captures VALUES (?, ?, ?, ?, ?, ?)",
                [read[:6] for read in self._unsaved],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO redirects VALUES (?, ?, ?, ?)",
                [(*read[:3], read.target) for read in self._unsaved if read.target is not None],
            )
            self._db.executemany(
                "DELETE FROM wanted WHERE url = ?", [(url,) for url in self._unsaved_settled]
            )
        self._unsaved.clear()
        self._unsaved_settled.clear()

    def wanted(self) -> list[tuple[str, str, str, str]]:
        """(url, article, site, timestamp) of what earlier runs asked for and did not get."""
        return self._db.execute("SELECT url, article, site, timestamp FROM wanted").fetchall()

    def close(self) -> None:
        """Close without saving: what is unsaved was not made durable (the run failed)."""
        self._db.close()


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    try:
        # Before the run relies on it: damage found halfway through a run would end it there,
        # with captures read and not noted.
        check_whole(db)
        db.execute("PRAGMA journal_mode=WAL")
        # No fsync per save: a power loss loses at worst the last saves, whose captures a
        # rerun reads again (see above); the collection's own commits keep its durability.
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.commit()
    except sqlite3.Error:
        db.close()
        raise
    return db


def _failure(path: Path, error: sqlite3.Error) -> str:
    said = f"{path}: {error}"
    if type(error) is sqlite3.DatabaseError:  # damaged: not a lock, not a full disk
        # Nothing in it is the only copy of anything: it says what was read already.
        said += (
            f". Move it aside (mv {path} {path}.damaged) and run the command again: the "
            "archives' captures are read again, and those the collection holds already make "
            "no new versions"
        )
    return said
