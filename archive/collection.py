"""A collection directory that successive crawls add to, safe against being killed at any moment.

Layout::

    DIR/warc/               WARC files (``*.warc.gz``; ``*.warc.gz.open`` while written)
    DIR/items.jsonl         one JSON object per article version, append only
    DIR/indexes/index.cdxj  CDXJ index for pywb
    DIR/state.sqlite        per-article state and the open crawl's frontier (WAL mode)
    DIR/jobs/               Scrapy's JOBDIR (request queue on disk, a cache of the frontier)
    DIR/report.json         the last crawl's report
    DIR/.lock               the pid and command of the process holding the collection
    DIR/.index-pending.cdxj index lines of what the running crawl wrote, until the index is built

Protocol for a new or changed article (the order is what makes a kill harmless):

1. write the WARC response (and metadata) records: flushed to the OS by the writer;
2. ``append_item(line)``: the items line, written and flushed;
3. ``record_capture(state)``: fsync the WARC file and items.jsonl (when ``durable``),
   then commit the state row;
4. the page's frontier row (:mod:`archive.frontier`) is settled once the crawler has recorded
   everything the page led to (its images and files, further pages): in the same or a later
   transaction, so that a commit never holds a page done without what it owes.

An unchanged article gets a revisit record and ``touch(key, ...)``: no items line. Commits are
grouped (``commit_every``); every commit makes the WARC and items bytes it names durable first.

``open()`` takes the lock, closes unfinished WARC files (:mod:`archive.repair`), cuts a torn last
line off items.jsonl, then reconciles: items lines appended since the last open whose
(key, version) the state lacks (killed between steps 2 and 3) are registered from the line and
its WARC record (content digest included, and done for the open crawl) instead of being emitted
again, and their images and files are owed (:meth:`Collection.owed`); a line whose WARC record
did not survive (a power cut) is removed. Killed before step 2 completes, the article is
simply not in the state yet and is archived again on the rerun: nothing is emitted twice, nothing
is lost. A failed write (full disk) is rolled back and raised as
:class:`archive.writer.ArchiveWriteError`; the collection stays valid for a rerun.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from archive import fixity, losses
from archive.atomic import full_disk_note, os_reason
from archive.cdxj import build_index, warc_files
from archive.exchange import WarcLocation
from archive.frontier import DONE, OWED, Frontier, FrontierEntry
from archive.frontier import SCHEMA as FRONTIER_SCHEMA
from archive.item_lines import (
    Items,
    NotAnItem,
    capture_key,
    requisites,
    text_field,
    warc_location,
)
from archive.reader import ArchiveReadError, read_response
from archive.records import sha1_digest
from archive.repair import RepairReport, repair_directory
from archive.writer import ArchiveWriteError, ArchiveWriter

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload_digest TEXT,
    etag TEXT,
    last_modified TEXT,
    warc_date TEXT,
    fetched_at TEXT,
    warc_file TEXT,
    warc_offset INTEGER,
    record_id TEXT,
    content_digest TEXT
);
CREATE TABLE IF NOT EXISTS captures (
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload_digest TEXT,
    warc_date TEXT,
    PRIMARY KEY (key, version)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crawl_new (key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS owed (url TEXT PRIMARY KEY, article TEXT NOT NULL);
"""
_ARTICLE_COLUMNS = (
    "key, url, version, payload_digest, etag, last_modified, warc_date, fetched_at, "
    "warc_file, warc_offset, record_id, content_digest"
)
_PLACEHOLDERS = ",".join("?" * len(_ARTICLE_COLUMNS.split(",")))


def collection_holding(path: Path) -> Path | None:
    """The collection whose directory ``path`` lies in (at any depth, ``path`` itself aside):
    a directory with a ``state.sqlite`` and a ``warc/`` folder."""
    for directory in Path(path).resolve().parents:
        if (directory / "state.sqlite").is_file() and (directory / "warc").is_dir():
            return directory
    return None


def not_a_collection(directory: Path, lacking: str) -> str:
    """The sentence for a directory given as a collection that is none (``lacking`` says
    why); one inside a collection (``lapvo/warc`` for ``lapvo``) names that collection. A path
    that is not there, or a file, is said as such: a typo is no folder to look inside."""
    if not directory.exists():
        return f"no such collection folder: {directory}"
    if not directory.is_dir():
        return f"{directory} is a file, not a collection folder"
    said = f"{directory} is not a collection ({lacking})"
    holding = collection_holding(directory)
    return f"{said}; it lies inside the collection {holding}: give that" if holding else said


class CollectionError(RuntimeError):
    """An expected problem with a collection that the user can fix: the command reports its
    message as one sentence and exits 2, with no traceback."""


class CollectionLocked(CollectionError):
    """Another process holds the collection."""


class OpenCrawlConflict(CollectionError):
    """The collection has an unfinished crawl of other targets or options."""


_WRITER = "crawl"
# The commands that hold the lock alone only to open the collection (its repairs), then share
# it (:func:`reading`): a reader meeting one waits this long for it (a big collection opens in
# seconds).
_OPENERS = frozenset({"extract", "wacz"})
_OPENING_WAIT = 60.0
# How long a taker waits before reading the holder's name again.
_RECHECK = 0.05
_LOCKED_ADVICE = "wait for it to finish or stop it first"


def take_lock(
    directory: Path,
    lock_path: Path,
    *,
    advice: str,
    command: str = _WRITER,
    shared: bool = False,
    read_only: bool = False,
) -> int:
    """Take the collection's lock (an flock on ``DIR/.lock``, which names the holder's pid and
    command) for every command that writes or reads the collection; return its descriptor,
    whose closing releases it. A command that writes (crawl, fetch, recover, index) holds it
    alone; one that only reads (wacz, extract, once the collection is open) takes it
    ``shared``, beside other readers, and waits for an extract or a wacz that holds it alone
    only while it opens the collection (:func:`reading`). ``advice`` ends the
    :class:`CollectionLocked` message. A reader of a collection it cannot write takes it
    ``read_only`` (the file must be there): flock needs no write access, and a writer working
    on the same files through a writable mount still keeps it out."""
    flags = os.O_RDONLY if read_only else os.O_RDWR | os.O_CREAT
    fd = os.open(lock_path, flags, 0o644)
    deadline = time.monotonic() + _OPENING_WAIT
    seen: str | None = None
    while True:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if shared:  # one process holds it alone, and its file names it
                holder, opening = _named_holder(fd)
            else:
                holder, opening = _holder(fd), False
            # A holder names itself an instant after taking the lock: until then the file is
            # empty, or names the one before. Only a name read twice is the holder's.
            if holder != seen or (opening and time.monotonic() < deadline):
                seen = holder
                time.sleep(_RECHECK)
                continue
            os.close(fd)
            raise CollectionLocked(
                f"collection {directory} is in use by {holder}; {advice}"
            ) from None
    if not shared:
        _name_holder(fd, command)
    return fd


@contextlib.contextmanager
def reading_lock(
    directory: Path, lock_path: Path, *, advice: str, command: str, read_only: bool = False
) -> Iterator[None]:
    """Hold the collection's lock shared, beside other readers, for the block (see
    :func:`take_lock`)."""
    fd = take_lock(
        directory, lock_path, advice=advice, command=command, shared=True, read_only=read_only
    )
    try:
        yield
    finally:
        os.close(fd)  # releases the flock


@contextlib.contextmanager
def reading(directory: Path, *, command: str, advice: str) -> Iterator[Collection | None]:
    """Hold a collection while a command only reads it: a writer (crawl, fetch, recover, index)
    refuses it, and none starts; other readers read beside it.

    A collection of this project's (one with a state) is opened alone first, as any command
    opens it: that closes the unfinished WARC files of a killed crawl and restores what
    items.jsonl lost, so the reader sees what was captured. Then it is shared, and given. When
    other readers hold it already, or it is no collection of ours (WARC files and items from
    elsewhere: a reader adds no state to it), it is read as it is: None. So is one that cannot
    be written (a read-only mount, a snapshot): nothing can be repaired there.
    """
    collection = Collection(directory, checked=False, command=command)
    read_only = not os.access(directory, os.W_OK)
    if read_only:
        logger.warning(
            "%s cannot be written: read as it is, without the repairs an opening makes (a "
            "killed crawl's unfinished file is not closed, a lost items.jsonl not restored)",
            directory,
        )
        if not collection.lock_path.exists():  # never locked: no crawl of ours wrote it
            yield None
            return
    elif collection.state_path.exists():
        try:
            collection.open()
        except CollectionLocked:
            pass  # other readers: read beside them
        else:
            try:
                collection.share()
                yield collection
            finally:
                collection.close()
            return
    with reading_lock(
        directory, collection.lock_path, advice=advice, command=command, read_only=read_only
    ):
        yield None


def share_lock(fd: int, directory: Path, *, advice: str) -> None:
    """Let readers in beside the holder of ``fd`` (its lock taken alone), from now on a reader.

    flock turns an exclusive lock into a shared one by dropping it and taking the new one: a
    writer that took it in between is reported, and ``fd`` then holds no lock."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise CollectionLocked(
            f"collection {directory} is in use by {_holder(fd)}; {advice}"
        ) from None


def _name_holder(fd: int, command: str) -> None:
    # Only a holder alone names itself: readers together would each name a different one,
    # and the last to write might be long gone.
    # Written over the last name, then what is left of that cut: never an empty file between.
    name = f"{os.getpid()} {command}\n".encode("ascii", "replace")
    os.pwrite(fd, name, 0)
    os.ftruncate(fd, len(name))


def _holder(fd: int) -> str:
    """Who holds the lock on ``fd``'s file: the process its file names when one holds it alone,
    else the readers. Takes a shared lock on ``fd`` when readers hold it; closing ``fd``
    releases that."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _named_holder(fd)[0]
    return "commands reading it (portal-archiver extract or wacz)"


def _named_holder(fd: int) -> tuple[str, bool]:
    """The process the lock file names (``another crawl (pid 12)``), and whether it holds the
    lock alone only to open the collection before reading it (an extract or a wacz)."""
    first = os.pread(fd, 64, 0).split(b"\n", 1)[0]
    pid, _, command = first.decode("ascii", "replace").partition(" ")
    command = command.strip() or _WRITER  # earlier versions wrote the pid alone, for crawls
    who = "another crawl" if command == _WRITER else f"portal-archiver {command}"
    return f"{who} (pid {pid.strip() or 'unknown'})", command in _OPENERS


@dataclass(frozen=True, slots=True)
class Resumed:
    """What a crawl took over from the interrupted runs before it (zeros for a new crawl)."""

    articles_done: int
    """Articles earlier runs of this crawl already stored or found unchanged."""
    requisites_owed: int
    """Images, files and assets that articles already archived still wait for."""
    warc_files_repaired: int = 0
    """Unfinished WARC files closed since the last crawl began (by any opening)."""
    items_registered: int = 0
    """items.jsonl lines registered since the last crawl began (by any opening)."""
    items_dropped: int = 0
    """items.jsonl lines removed since the last crawl began because their WARC record did not
    survive a power loss (their articles are archived again)."""


_CONTENT_FIELDS = ("title", "summary", "paragraphs", "captions", "images", "byline", "attachments")
_JSON = json.JSONEncoder(ensure_ascii=False)
_SORTED_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def content_digest(item: Mapping[str, Any]) -> str:
    """Digest of what an archivist reads of an item: the page may change (counters, session
    ids) while the article does not."""
    content = {k: item.get(k) for k in _CONTENT_FIELDS}
    return sha1_digest(_SORTED_JSON.encode(content).encode())


@dataclass(frozen=True, slots=True)
class EncodedItem:
    """An item ready to store: its fields (a copy, so the line is of the item as encoded) and
    its :func:`content_digest`. Only :func:`encode_item` makes one, so a store cannot be handed
    fields without their digest."""

    fields: Mapping[str, Any]
    digest: str

    def line(self, version: int) -> str:
        """The items.jsonl line (``json.dumps``'s bytes) of the item as ``version``."""
        # One pass of the C encoder over the whole item: encoding field by field to share the
        # body text's encoding with the digest cost more in Python calls than it saved.
        return _JSON.encode({**self.fields, "version": version})


def encode_item(item: Mapping[str, Any]) -> EncodedItem:
    """``item`` encoded (see :class:`EncodedItem`)."""
    return EncodedItem(dict(item), content_digest(item))


@dataclass(frozen=True, slots=True)
class ArticleState:
    """What the collection knows about one article key."""

    key: str
    url: str
    version: int
    payload_digest: str | None
    etag: str | None
    last_modified: str | None
    warc_date: str | None
    """``WARC-Date`` of the stored response (what a revisit refers to)."""
    fetched_at: str | None
    """Last time the article was fetched (ISO 8601), whatever the outcome."""
    location: WarcLocation | None
    content_digest: str | None = None
    """Digest of the extracted article (what readers see), when the crawler gave one: pages
    whose bytes change (visitor counters, session ids) while the article does not are unchanged."""


def _iso(moment: datetime | str) -> str:
    return moment if isinstance(moment, str) else moment.isoformat()


def _open_append(path: Path) -> BinaryIO:
    return open(path, "ab", buffering=0)


class Collection:
    """The collection at ``directory``: ``with Collection(d) as c:``, or open() and close()."""

    def __init__(
        self,
        directory: Path | str,
        *,
        durable: bool = True,
        opener: Callable[[Path], BinaryIO] | None = None,
        commit_every: int = 1,
        checked: bool = True,
        command: str = _WRITER,
    ) -> None:
        """``checked``: read state.sqlite whole at the opening (:func:`check_whole`), as a run
        that relies on it must (crawl, fetch, recover). A command that only needs the lock and
        the repairs (extract, index), or opens the collection again at once, passes False:
        the check costs a fraction of a second per thousand articles, and a damaged page
        still fails the queries that reach it. ``command`` names the holder in the lock file
        (what a refused command says holds the collection)."""
        self.directory = Path(directory)
        self._checked = checked
        self._command = command
        self.warc_dir = self.directory / "warc"
        self.items_path = self.directory / "items.jsonl"
        self.index_path = self.directory / "indexes" / "index.cdxj"
        # Not in indexes/: pywb loads every index file it finds there.
        self.written_index_path = self.directory / ".index-pending.cdxj"
        self.state_path = self.directory / "state.sqlite"
        self.jobs_dir = self.directory / "jobs"
        self.report_path = self.directory / "report.json"
        self.lock_path = self.directory / ".lock"
        self.repair_reports: list[RepairReport] = []
        self._durable = durable
        self._opener = opener or _open_append
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        self._items: BinaryIO | None = None
        self._items_dirty = False
        self._items_grown = False
        self._writer: ArchiveWriter | None = None
        self._pending_index: TextIO | None = None
        self._crawl_open = False
        self.frontier = Frontier(lambda: self._conn, self._written, self._pending)
        self.items_registered = 0
        """Items lines that open() registered from a killed run (the state lacked them)."""
        self.items_dropped = 0
        """Items lines that open() removed: their WARC record did not survive (power loss)."""
        # Group commit: each commit costs two fsyncs, and a kill loses nothing either way
        # (open() registers items lines the state lacks); a batch bounds the rework.
        self._commit_every = max(1, commit_every)
        self._uncommitted = 0
        self._dirty = False
        self._lost: frozenset[str] = frozenset()
        """WARC files gone from warc/ that the state or the index still counted on."""
        self._indexed: frozenset[str] | None = None
        self.index_damage: list[ArchiveReadError] = []
        """Damage the last :meth:`build_index` met in the files it read (logged): their whole
        records are indexed, those after the damage too."""

    def __enter__(self) -> Collection:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self) -> Collection:
        """Lock, repair and reconcile the collection (see the module docstring).

        Raises :class:`CollectionError` when its files cannot be made, read or written (a full
        disk, a read-only one, a damaged state database). The collection stays valid: a failed
        open gets no further than the repairs every open makes.
        """
        try:
            self._open()
        except (OSError, sqlite3.Error) as error:
            reason = self._failure(error) + full_disk_note(self.directory)
            raise CollectionError(
                f"cannot open the collection {self.directory}: {reason}"
            ) from error
        return self

    def _failure(self, error: OSError | sqlite3.Error) -> str:
        if isinstance(error, OSError):
            return os_reason(error)
        said = f"{self.state_path}: {error}"
        if type(error) is sqlite3.DatabaseError:  # damaged: not a full disk, not a lock
            # Everything the state holds can be read back from items.jsonl and the WARC files
            # (see _reconcile): the archivist needs only the way out.
            aside = self.state_path.with_name(self.state_path.name + ".damaged")
            said += (
                f". Move it aside (mv {self.state_path} {aside}) and run the command again: "
                "the state is built anew from items.jsonl and the WARC files, and nothing "
                "archived is lost (an unfinished crawl starts over)"
            )
        return said

    def _open(self) -> None:
        for folder in (self.directory, self.warc_dir, self.index_path.parent, self.jobs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self.repair_reports = repair_directory(self.warc_dir)
            # Lines a killed run wrote may name records repair just cut: its files are read.
            self.written_index_path.unlink(missing_ok=True)
            self._repair_items()
            self._db = self._connect()
            self._items = self._opener(self.items_path)
            self._reconcile()
            self._lost = self._account_for_losses()
            self._count_recovery("recovered_warc_files", len(self.repair_reports))
            self._count_recovery("recovered_items", self.items_registered)
            self._count_recovery("dropped_items", self.items_dropped)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Commit, close the WARC writer, items.jsonl and the state, then release the lock."""
        try:
            if self._db is not None:
                self.commit()
        finally:
            self._release()

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._pending_index is not None:
            self._pending_index.close()
            self._pending_index = None
        if self._items is not None:
            if self._durable:
                os.fsync(self._items.fileno())
            self._items.close()
            self._items = None
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def open_writer(
        self, *, prefix: str = "portal", max_size: int = 1_000_000_000, info: Mapping[str, str] = {}
    ) -> ArchiveWriter:
        """The WARC writer of this collection (closed with it; synced before each state commit).

        It hands the index line of every capture to ``.index-pending.cdxj``, so that
        :meth:`build_index` does not read back what this run wrote.
        """
        if self._writer is None:
            self._writer = ArchiveWriter(
                self.warc_dir,
                prefix=prefix,
                max_size=max_size,
                info=info,
                opener=self._opener,
                index_sink=self._index_written,
            )
        return self._writer

    def _index_written(self, line: str) -> None:
        # Opened on the first line: a build removes the file, a later capture starts it again.
        if self._pending_index is None:
            self._pending_index = self.written_index_path.open("a", encoding="utf-8")
        self._pending_index.write(line)

    def get(self, key: str) -> ArticleState | None:
        """The state of article ``key``, or None when the collection does not hold it: never
        stored, or stored in a WARC file that is gone (see :mod:`archive.losses`)."""
        row = self._conn.execute(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        state = _article(row)
        if state.location is not None and state.location.file in self._lost:
            return None
        return state

    def next_version(self, key: str) -> int:
        """The version a new capture of ``key`` gets: 1, or one more than the highest stored
        (which is not the state's when an older capture was recovered after it, see _store)."""
        row = self._conn.execute("SELECT MAX(version) FROM captures WHERE key = ?", (key,))
        highest = row.fetchone()[0]
        return 1 if highest is None else highest + 1

    def append_item(self, json_line: str) -> None:
        """Append one JSON object (no newline inside) to items.jsonl and flush it to the OS."""
        if "\n" in json_line:
            raise ValueError("an items.jsonl line must not contain a newline")
        items = self._items_file
        start = self.items_path.stat().st_size
        data = memoryview((json_line + "\n").encode("utf-8"))
        try:
            while data:
                data = data[items.write(data) :]
        except OSError as error:
            os.truncate(self.items_path, start)
            raise ArchiveWriteError(
                error.errno, f"writing {self.items_path} failed ({error}); line rolled back"
            ) from error
        self._items_dirty = True
        self._items_grown = True

    def record_capture(self, state: ArticleState) -> ArticleState:
        """Commit a stored capture of ``state.key`` (a new version, or the same one
        re-registered).

        The transaction commits at once, or with the next ones when ``commit_every`` > 1; the
        page's frontier row is settled by the crawler once everything the page led to is
        recorded (images and files included), so a kill in between cannot lose them.
        """
        self._store(state, new_in_crawl=self._crawl_open)
        self._written()
        return state

    def commit(self) -> None:
        """Make the WARC records and items lines durable, then commit the state that names them.

        Raises :class:`ArchiveWriteError` when either cannot be written (a full disk): the
        transaction is rolled back, so the state names nothing that is not on disk.
        """
        if self._uncommitted or self._dirty:
            try:
                self._make_durable()
                if self._items_grown:
                    # Synced above: the file holds at least this much from now on, and an
                    # opening that finds it shorter knows lines were lost (see _reconcile).
                    # Not items_checked: a line whose commit was rolled back is not registered.
                    self._set_meta("items_committed", str(self.items_path.stat().st_size))
                self._conn.commit()
            except (OSError, sqlite3.Error) as error:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.rollback()
                raise ArchiveWriteError(
                    getattr(error, "errno", None) or errno.EIO,
                    f"committing the state of {self.directory} failed ({error})",
                ) from error
            self._uncommitted = 0
            self._dirty = False
            self._items_grown = False

    def _pending(self) -> None:
        """A change that rides with the next commit without counting toward one (a frontier
        row discovered: cheap to discover again)."""
        self._dirty = True

    def _written(self) -> None:
        self._uncommitted += 1
        if self._uncommitted >= self._commit_every:
            self.commit()

    def owed(self) -> list[tuple[str, str]]:
        """Requisites (url, article key) of items registered at open, not yet in a frontier."""
        return self._conn.execute("SELECT url, article FROM owed ORDER BY rowid").fetchall()

    def take_owed(self, entry_for: Callable[[str, str], FrontierEntry]) -> int:
        """Move the owed requisites into the frontier (one transaction); return how many."""
        owed = self.owed()
        with self._conn:
            for url, article in owed:
                self.frontier.discover(entry_for(url, article))
            self._conn.execute("DELETE FROM owed")
        return len(owed)

    def touch(self, key: str, fetched_at: datetime | str) -> None:
        """Note that ``key`` was fetched again and found unchanged."""
        self._conn.execute(
            "UPDATE articles SET fetched_at = ? WHERE key = ?", (_iso(fetched_at), key)
        )
        self._written()

    def begin_crawl(self, identity: Mapping[str, Any], *, discard: bool = False) -> Resumed:
        """Start the crawl ``identity`` names, or continue it when a killed process left it open.

        An open crawl belongs to its identity (spider, targets, options that change what is
        crawled): another one raises :class:`OpenCrawlConflict` rather than continuing or
        closing it, unless ``discard`` says to drop its frontier. Whatever is discarded, the
        images and files owed to archived articles stay owed.
        """
        self.commit()
        wanted = json.dumps(identity, ensure_ascii=False, sort_keys=True)
        with self._conn:
            started = self._meta("crawl_open")
            current = self._meta("crawl_identity")
            if started is not None and current not in (None, wanted):
                if not discard:
                    raise OpenCrawlConflict(_conflict_message(self.directory, current, started))
                logger.warning("Discarding the unfinished crawl %s of %s", current, started)
                started = None
            if started is None:
                self._conn.execute(
                    "DELETE FROM frontier WHERE requisite_of IS NULL OR state != ?", (OWED,)
                )
                self._conn.execute("DELETE FROM crawl_new")
                self._set_meta("crawl_open", datetime.now(UTC).isoformat())
            self._set_meta("crawl_identity", wanted)
        self._crawl_open = True
        done = self._conn.execute(
            "SELECT COUNT(*) FROM frontier JOIN articles USING (key) WHERE state = ?", (DONE,)
        ).fetchone()[0]
        owed = self._conn.execute(
            "SELECT COUNT(*) FROM frontier WHERE requisite_of IS NOT NULL AND state = ?", (OWED,)
        ).fetchone()[0]
        with self._conn:
            repaired = int(self._meta("recovered_warc_files") or 0)
            registered = int(self._meta("recovered_items") or 0)
            dropped = int(self._meta("dropped_items") or 0)
            self._conn.execute(
                "DELETE FROM meta WHERE name IN "
                "('recovered_warc_files', 'recovered_items', 'dropped_items')"
            )
        return Resumed(int(done), int(owed) + len(self.owed()), repaired, registered, dropped)

    def end_crawl(self, *, finished: bool) -> None:
        """A finished crawl closes; an interrupted one stays open for the rerun to continue."""
        self.commit()
        if finished:
            with self._conn:
                self._conn.execute(
                    "DELETE FROM meta WHERE name IN ('crawl_open', 'crawl_identity')"
                )
        self._crawl_open = False

    def known_before_crawl(self, key: str) -> bool:
        """Whether the collection held ``key`` before the open crawl began (an article that
        an interrupted run of this crawl stored is new to it, as it was to that run)."""
        if self.get(key) is None:
            return False
        row = self._conn.execute("SELECT 1 FROM crawl_new WHERE key = ?", (key,)).fetchone()
        return row is None

    def build_index(self) -> int:
        """Close the current WARC file and rebuild ``indexes/index.cdxj``; return its line count."""
        if self._writer is not None:
            self._writer.close()
        if self._pending_index is not None:
            self._pending_index.flush()
        self.index_damage = []
        count = build_index(
            self.warc_dir,
            self.index_path,
            reuse=True,
            written=self.written_index_path,
            damaged=self.index_damage,
        )
        # Its lines are in the index now: nothing is left behind for readers to merge.
        if self._pending_index is not None:
            self._pending_index.close()
            self._pending_index = None
        self.written_index_path.unlink(missing_ok=True)
        return count

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"collection {self.directory} is not open")
        return self._db

    @property
    def _items_file(self) -> BinaryIO:
        if self._items is None:
            raise RuntimeError(f"collection {self.directory} is not open")
        return self._items

    def _lock(self) -> None:
        self._lock_fd = take_lock(
            self.directory, self.lock_path, advice=_LOCKED_ADVICE, command=self._command
        )

    def share(self) -> None:
        """From now on only read: let other readers (extract, wacz) in beside this one, and
        keep writers out. Opening repaired the collection alone; what it wrote is committed."""
        if self._lock_fd is None:
            raise RuntimeError(f"collection {self.directory} is not open")
        self.commit()
        share_lock(self._lock_fd, self.directory, advice=_LOCKED_ADVICE)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.state_path, isolation_level=None)
        try:
            # A page a disk lost would otherwise be found halfway through a crawl, or not at all.
            if self._checked:
                check_whole(db)
        except sqlite3.Error:
            db.close()
            raise
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
        db.executescript(_SCHEMA + FRONTIER_SCHEMA)
        # Explicit transactions through ``with db:`` need the default isolation.
        db.isolation_level = ""
        _migrate_keys(db)
        return db

    def _repair_items(self) -> None:
        if not self.items_path.exists():
            return
        with self.items_path.open("r+b") as items:
            size = items.seek(0, os.SEEK_END)
            keep = _complete_lines_end(items, size)
            if keep < size:
                logger.warning(
                    "items.jsonl: cut a torn last line (%d bytes at offset %d)", size - keep, keep
                )
                items.truncate(keep)
                os.fsync(items.fileno())

    def _make_durable(self) -> None:
        if not self._durable:
            return
        if self._writer is not None:
            self._writer.sync()
        if self._items_dirty:
            os.fsync(self._items_file.fileno())
            self._items_dirty = False

    def _store(self, state: ArticleState, *, new_in_crawl: bool) -> None:
        location = state.location
        self._conn.execute(
            "INSERT OR REPLACE INTO captures (key, version, payload_digest, warc_date) "
            "VALUES (?, ?, ?, ?)",
            (state.key, state.version, state.payload_digest, state.warc_date),
        )
        current = self._conn.execute(
            "SELECT fetched_at, version FROM articles WHERE key = ?", (state.key,)
        ).fetchone()
        # The article's state is its newest capture in time, what the next fetch is compared
        # with: a version recovered from a web archive may be older than one already stored.
        if current and (current[0] or "", current[1]) > (state.fetched_at or "", state.version):
            return
        if current is None and new_in_crawl:
            self._conn.execute("INSERT OR IGNORE INTO crawl_new (key) VALUES (?)", (state.key,))
        self._conn.execute(
            f"INSERT OR REPLACE INTO articles ({_ARTICLE_COLUMNS}) VALUES ({_PLACEHOLDERS})",
            (
                state.key,
                state.url,
                state.version,
                state.payload_digest,
                state.etag,
                state.last_modified,
                state.warc_date,
                state.fetched_at,
                location.file if location else None,
                location.offset if location else None,
                location.record_id if location else None,
                state.content_digest,
            ),
        )

    def _reconcile(self) -> None:
        checked = int(self._meta("items_checked") or 0)
        size = self.items_path.stat().st_size
        replaced = max(checked, int(self._meta("items_committed") or 0)) > size
        if replaced:  # items.jsonl was replaced or cut back: check it all
            checked = 0
        crawl_open = self._meta("crawl_open") is not None
        dangling: list[int] = []
        with self._conn:
            # A line that is no item is said and kept: the others still count.
            lines = Items(self.items_path, checked)
            for line in lines:
                try:
                    outcome = self._register_if_missing(line.item, crawl_open=crawl_open)
                except NotAnItem as error:
                    lines.pass_over(line.offset, str(error))
                    continue
                if outcome is None:
                    dangling.append(line.offset)
                self.items_registered += bool(outcome)
            if dangling:
                size = self._drop_lines(dangling)
            if replaced:
                size = self._restore_items()
                # As whole as it can be: lines whose item records were lost too are not looked
                # for again at every opening.
                self._set_meta("items_committed", str(size))
            self._set_meta("items_checked", str(size))
        if self.items_registered:
            logger.warning(
                "registered %d items.jsonl lines the state lacked", self.items_registered
            )

    def _restore_items(self) -> int:
        """Append the lines of the captures the state holds and items.jsonl lacks, from their
        item records (see archive.losses); return the file's size."""
        held = set(self._conn.execute("SELECT key, version FROM captures").fetchall())
        lacking = held - losses.item_versions(self.items_path)
        if lacking:
            restored = 0
            for payload in losses.recorded_items(warc_files(self.warc_dir), lacking):
                self._items_file.write(_JSON.encode(payload).encode() + b"\n")
                restored += 1
            self._items_file.flush()
            os.fsync(self._items_file.fileno())
            logger.warning(
                "items.jsonl lacked %d lines of captures the collection holds: restored %d "
                "from the item records in its WARC files",
                len(lacking),
                restored,
            )
        return self.items_path.stat().st_size

    def _drop_lines(self, offsets: list[int]) -> int:
        """Remove the items lines at ``offsets`` (all in the unchecked tail); return the size.

        Their WARC records were cut by repair (the power failed before they reached the disk):
        an item must not point at nothing, and the rerun archives the article again.
        """
        drop = set(offsets)
        with self.items_path.open("r+b") as items:
            items.seek(offsets[0])
            kept = []
            position = offsets[0]
            for line in items:
                if position not in drop:
                    kept.append(line)
                position += len(line)
            items.seek(offsets[0])
            items.truncate()
            items.writelines(kept)
            items.flush()
            os.fsync(items.fileno())
            size = items.tell()
        self.items_dropped = len(drop)
        logger.warning(
            "items.jsonl: removed %d lines whose WARC records did not survive", len(drop)
        )
        return size

    def _register_if_missing(self, item: dict[str, Any], *, crawl_open: bool) -> bool | None:
        """Register a line the state lacks: True when registered, False when known or keyless,
        None when its WARC record is gone (the line must go too). Raises NotAnItem when the
        line names its record in a way that cannot be read."""
        capture = capture_key(item)
        if capture is None:
            return False
        key, version = capture
        known = self._conn.execute(
            "SELECT 1 FROM captures WHERE key = ? AND version = ?", (key, version)
        ).fetchone()
        if known:
            return False
        state = self._state_from_item(item)
        if state is None:
            return None
        self._store(state, new_in_crawl=crawl_open)
        if crawl_open:
            # Its page is done for the open crawl: the rerun must not fetch it again (and,
            # the page bytes having changed, store the same article as version 2).
            self._conn.execute(
                "INSERT INTO frontier (key, url, state) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state",
                (key, text_field(item, "url") or "", DONE),
            )
        # Whether its images and files were archived before the kill is unknown, unless the
        # index shows them (built from sealed files only: never a killed run's, which repair
        # may have cut): owe the others again (a few records more at worst, never one
        # missing); a crawl takes them over when it archives requisites (see take_owed).
        urls = requisites(item)
        held = self._indexed_urls()
        self._conn.executemany(
            "INSERT OR IGNORE INTO owed (url, article) VALUES (?, ?)",
            [(url, key) for url in urls if url not in held],
        )
        return True

    def _indexed_urls(self) -> frozenset[str]:
        """The URLs of index.cdxj, read once per opening and only when lines are registered
        (after a kill, or into a state built anew: then every image is in it)."""
        if self._indexed is None:
            self._indexed = losses.indexed_url_set(self.index_path, self.warc_dir)
        return self._indexed

    def _state_from_item(self, item: dict[str, Any]) -> ArticleState | None:
        """The state an items line stands for, read back from its WARC record; None when the
        record is missing or another one."""
        location = warc_location(item)
        digest = etag = last_modified = warc_date = None
        if location is not None:
            try:
                response = read_response(self.warc_dir / location.file, location.offset, body=False)
            except (OSError, ArchiveReadError) as error:
                logger.error("item %s: its WARC record is gone: %s", item["key"], error)
                return None
            if response.location.record_id != location.record_id:
                logger.error("item %s: another record is at its WARC offset", item["key"])
                return None
            digest, warc_date = response.payload_digest, response.date
            etag, last_modified = response.header("ETag"), response.header("Last-Modified")
        return ArticleState(
            item["key"],
            text_field(item, "url") or "",
            item["version"],
            digest,
            etag,
            last_modified,
            warc_date,
            text_field(item, "fetched_at"),
            location,
            content_digest(item),
        )

    def _account_for_losses(self) -> frozenset[str]:
        """The WARC files gone from warc/ that the state or the index counts on; the images
        and files the index placed in them are owed to the next crawl (see archive.losses)."""
        stored = self._conn.execute(
            "SELECT warc_file, COUNT(*) FROM articles WHERE warc_file IS NOT NULL "
            "GROUP BY warc_file"
        ).fetchall()
        articles: dict[str, int] = dict(stored)
        gone = losses.missing(self.warc_dir, {*articles, *fixity.read(self.warc_dir)})
        if not gone:
            return frozenset()
        urls = losses.indexed_urls(self.index_path, gone)
        counted = {name for name in gone if articles.get(name) or urls[name]}
        owed = losses.requisite_owners(self.items_path, set().union(*urls.values()))
        with self._conn:
            self._conn.executemany("INSERT OR IGNORE INTO owed (url, article) VALUES (?, ?)", owed)
        owed_urls = {url for url, _ in owed}
        for name in sorted(counted):
            logger.error(
                "%s is missing: the captures of %d articles and %d of their images and files "
                "were in it; the next crawl captures them again where the site still has them",
                self.warc_dir / name,
                articles.get(name, 0),
                len(urls[name] & owed_urls),
            )
        return frozenset(counted)

    def _count_recovery(self, name: str, count: int) -> None:
        """Add to what the next crawl reports it took over: whoever opens the collection
        first after a kill (a command's check, the crawl itself) does the repairs."""
        if count:
            with self._conn:
                self._set_meta(name, str(int(self._meta(name) or 0) + count))

    def _set_meta(self, name: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def _meta(self, name: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None


_SITE_KEY = re.compile(r"^([^/#]+)/web/[^/#]+#(\d+)$")
_KEY_TABLES = ("articles", "captures", "crawl_new", "frontier")


def _host_key(key: str) -> str:
    return _SITE_KEY.sub(r"\1#\2", key)


def _migrate_keys(db: sqlite3.Connection) -> None:
    """Article keys were ``{host}/web/{code}#{id}``; they are ``{host}#{id}`` (one article at the
    host root and under its site). A key both forms name keeps the row already in the new form."""
    if db.execute("SELECT 1 FROM meta WHERE name = 'key_scheme'").fetchone():
        return
    db.create_function("host_key", 1, _host_key, deterministic=True)
    with db:
        for table in _KEY_TABLES:
            db.execute(
                f"UPDATE OR IGNORE {table} SET key = host_key(key) WHERE key LIKE '%/web/%#%'"
            )
        db.execute("UPDATE owed SET article = host_key(article)")
        db.execute("INSERT INTO meta (name, value) VALUES ('key_scheme', 'host')")


_OPTION_WORDS = {
    "new_only": lambda value: "--new-only" if value else "",
    "since": lambda value: f"--since {value}" if value else "",
    "max_articles": lambda value: f"--max-articles {value}" if value else "",
    "requisites": lambda value: "" if value else "-s ARCHIVE_REQUISITES=False",
    "theme_assets": lambda value: "-s ARCHIVE_THEME_ASSETS=True" if value else "",
}


def describe_crawl(identity: Mapping[str, Any]) -> str:
    """A crawl identity as the command that runs it: ``crawl https://... --new-only``."""
    spider = str(identity.get("spider") or "portal")
    words = [{"portal": "crawl"}.get(spider, spider)]
    words += [str(url) for url in identity.get("targets") or identity.get("urls") or []]
    words += [show(identity[name]) for name, show in _OPTION_WORDS.items() if name in identity]
    return " ".join(word for word in words if word)


def _conflict_message(directory: Path, identity: str, started: str) -> str:
    return (
        f"collection {directory} has an unfinished crawl ({describe_crawl(json.loads(identity))}, "
        f"started {started[:19]}Z): run that command again to finish it, or add "
        "-s ARCHIVE_DISCARD_OPEN_CRAWL=True to discard it (what it archived stays)"
    )


def _complete_lines_end(items: BinaryIO, size: int) -> int:
    """End offset of the last complete, parsable line of items.jsonl."""
    end = size
    while end > 0:
        start = _line_start(items, end)
        items.seek(start)
        line = items.read(end - start)
        if line.endswith(b"\n") and _parses(line):
            return end
        end = start
    return 0


def check_whole(db: sqlite3.Connection) -> None:
    """Raise ``sqlite3.DatabaseError`` (the type a damaged file raises) when any page of
    ``db`` is damaged. It reads the whole file: a fraction of a second for years of crawls."""
    problem = db.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise sqlite3.DatabaseError(f"damaged ({problem.splitlines()[-1]})")


def _line_start(items: BinaryIO, end: int) -> int:
    """Offset where the line ending at ``end`` (exclusive, newline included) begins."""
    position = end - 1  # skip the line's own newline
    while position > 0:
        step = min(position, 65536)
        items.seek(position - step)
        chunk = items.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return position - step + newline + 1
        position -= step
    return 0


def _parses(line: bytes) -> bool:
    with contextlib.suppress(ValueError):
        json.loads(line)
        return True
    return False


def _article(row: tuple[Any, ...]) -> ArticleState:
    (
        key,
        url,
        version,
        digest,
        etag,
        last_modified,
        warc_date,
        fetched_at,
        file,
        offset,
        rid,
        content,
    ) = row
    location = WarcLocation(file, offset, rid) if file is not None else None
    return ArticleState(
        key, url, version, digest, etag, last_modified, warc_date, fetched_at, location, content
    )
