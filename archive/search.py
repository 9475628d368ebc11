"""The search index of a collection: SQLite FTS5 over the articles of ``items.jsonl``.

Kept in the collection as ``DIR/search.sqlite`` (beside ``state.sqlite``, not under
``indexes/``, which pywb and packagers treat as CDXJ). It is a cache: everything in it comes
from ``items.jsonl``, so a deleted or stale index is simply rebuilt. :func:`update_search_index`
brings it up to date incrementally: the index remembers how far into ``items.jsonl`` it has
read (and the bytes just before that point, to notice a replaced file), and reads only complete
lines, so a collection being crawled at the same moment is indexed as of its last whole line.

Every version of an article is a row of ``docs``; the full-text table holds the folded title,
lead and body (:mod:`archive.folding`) of every version, without a copy of the text
(``content=''``): only the newest version of each article is searched, and the words shown
(titles, snippets) come from ``items.jsonl`` itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from archive.folding import fold, folded_with_positions, folded_words, words
from archive.item_lines import NotAnItem, item_of

logger = logging.getLogger(__name__)

INDEX_NAME = "search.sqlite"
# Bump with any change to the tables or to archive.folding: the index is then rebuilt (the
# full-text rows of superseded versions are deleted by folding their words again).
_SCHEMA_VERSION = "2"
_TAIL = 256  # bytes before the read offset remembered to notice a replaced items.jsonl
_TITLE_WEIGHT, _LEAD_WEIGHT, _BODY_WEIGHT = 10.0, 3.0, 1.0
MAX_QUERY_CHARS = 500
MAX_QUERY_TERMS = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    latest INTEGER NOT NULL,
    url TEXT,
    title TEXT,
    site TEXT,
    section TEXT,
    published TEXT,
    day TEXT,
    facet INTEGER NOT NULL,
    line_offset INTEGER NOT NULL,
    line_length INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS facets (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    section TEXT NOT NULL,
    year TEXT NOT NULL,
    UNIQUE (site, section, year)
);
CREATE INDEX IF NOT EXISTS docs_key ON docs (key, version);
CREATE INDEX IF NOT EXISTS docs_latest ON docs (latest, day);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title, lead, body, content='', tokenize='unicode61 remove_diacritics 0'
);
"""


class QueryError(ValueError):
    """A search the index cannot run; the message is one sentence for the reader."""


@dataclass(frozen=True)
class Query:
    """A parsed search: folded words and phrases, and the filters."""

    text: str = ""
    site: str | None = None
    section: str | None = None
    date_from: str | None = None
    """First day included, ``YYYY-MM-DD``."""
    date_to: str | None = None
    """Last day included, ``YYYY-MM-DD``."""
    terms: tuple[tuple[str, ...], ...] = field(default=(), init=False)
    """Each a word or a phrase (several words in order), folded."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", parse_terms(self.text))

    def match(self) -> str | None:
        """The FTS5 expression, or None when there are no words (browse by date)."""
        if not self.terms:
            return None
        return " AND ".join('"' + " ".join(term) + '"' for term in self.terms)


def parse_terms(text: str) -> tuple[tuple[str, ...], ...]:
    """Words and ``"quoted phrases"`` of a search, folded; :class:`QueryError` when malformed."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"The search is longer than {MAX_QUERY_CHARS} characters.")
    text = text.replace("“", '"').replace("”", '"')
    if text.count('"') % 2:
        raise QueryError("The search has a quotation mark that is never closed.")
    terms: list[tuple[str, ...]] = []
    for number, part in enumerate(text.split('"')):
        found = words(part)
        if number % 2:  # inside quotes: one phrase
            terms.extend([tuple(found)] if found else [])
        else:
            terms.extend((word,) for word in found)
    if text.strip() and not terms:
        raise QueryError("The search has no letters or digits to look for.")
    if sum(map(len, terms)) > MAX_QUERY_TERMS:
        raise QueryError(f"The search has more than {MAX_QUERY_TERMS} words.")
    return tuple(terms)


_DAY = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def parse_day(text: str, *, end: bool) -> str:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as the first (or, with ``end``, last) day it
    covers; :class:`QueryError` otherwise."""
    matched = _DAY.fullmatch(text.strip())
    try:
        # A day that no month has (2025-02-30) is no date either.
        if matched:
            date(int(matched[1]), int(matched[2] or 1), int(matched[3] or 1))
    except ValueError:
        matched = None
    if not matched:
        raise QueryError(f"{text!r} is not a date: write YYYY, YYYY-MM or YYYY-MM-DD.")
    year = matched[1]
    if end:
        return f"{year}-{matched[2] or '12'}-{matched[3] or '31'}"
    return f"{year}-{matched[2] or '01'}-{matched[3] or '01'}"


@dataclass
class Hit:
    """One article found: its newest version's row and where its line is."""

    key: str
    version: int
    url: str
    title: str
    site: str
    section: str | None
    published: str | None
    line_offset: int
    line_length: int


@dataclass
class Results:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]]
    """``site``, ``section`` and ``year``: (value, articles), most first."""


def index_path(collection: Path) -> Path:
    return Path(collection) / INDEX_NAME


def update_search_index(collection_dir: Path | str) -> int:
    """Bring ``collection_dir``'s search index up to date; return the item lines added.

    For a hook after each crawl: no Scrapy, no lock on the collection (the index is the
    reader's cache, and only complete lines are read).
    """
    with SearchIndex(Path(collection_dir)) as index:
        return index.update()


class SearchIndex:
    """The search index of one collection (one SQLite connection: one per thread)."""

    def __init__(self, collection: Path, path: Path | None = None) -> None:
        self.collection = Path(collection)
        self.items_path = self.collection / "items.jsonl"
        self.path = path or index_path(self.collection)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- keeping it up to date ------------------------------------------------------------

    def update(self) -> int:
        """Index the complete lines appended to items.jsonl since the last update (all of it
        when the file was replaced or the index is new); return the lines added."""
        if not self.items_path.exists():
            return 0
        self._check_schema()
        with self.items_path.open("rb") as items:
            # Several updaters may run at once (a crawl's, after its run, and the reading
            # room's): each reads how far the index has got under the write lock, so no line
            # is added twice. One transaction: the offset moves with the rows it covers.
            self.db.execute("BEGIN IMMEDIATE")
            with self.db:
                offset = self._resume_offset(items)
                if offset == 0:
                    self._clear()
                added = 0
                for line_offset, line in _complete_lines(items, offset):
                    added += self._add_line(line_offset, line)
                    offset = line_offset + len(line)
                self._set_meta("items_offset", str(offset))
                self._set_meta("items_tail", _tail_digest(items, offset))
        if added:
            logger.info("search index of %s: %d item lines added", self.collection, added)
        return added

    def _check_schema(self) -> None:
        """An index of another schema is dropped and made anew (then rebuilt from offset 0)."""
        if self._meta("schema") == _SCHEMA_VERSION:
            return
        with self.db:
            for table in ("meta", "docs", "facets", "fts"):
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
        self.db.executescript(_SCHEMA)
        with self.db:
            self._set_meta("schema", _SCHEMA_VERSION)

    def _resume_offset(self, items: Any) -> int:
        stored = self._meta("items_offset")
        if stored is None:  # a new index
            return 0
        offset = int(stored)
        size = items.seek(0, 2)
        if offset > size or self._meta("items_tail") != _tail_digest(items, offset):
            logger.warning("%s was replaced: rebuilding its search index", self.items_path)
            return 0
        return offset

    def _clear(self) -> None:
        self.db.execute("DELETE FROM docs")
        self.db.execute("DELETE FROM facets")
        self.db.execute("INSERT INTO fts(fts) VALUES ('delete-all')")

    def _add_line(self, offset: int, line: bytes) -> int:
        try:
            item = item_of(line)
            key, version = str(item["key"]), int(item.get("version") or 1)
        except (NotAnItem, KeyError, TypeError, ValueError) as error:
            reason = f"no {error}" if isinstance(error, KeyError) else str(error)
            logger.warning("items.jsonl at byte %d: not an item (%s); not indexed", offset, reason)
            return 0
        previous = self.db.execute(
            # Without INDEXED BY, SQLite may walk every newest version (docs_latest) instead.
            "SELECT id, version, line_offset, line_length FROM docs INDEXED BY docs_key"
            " WHERE key = ? AND latest = 1",
            (key,),
        ).fetchone()
        latest = previous is None or version >= previous[1]
        if latest and previous is not None:
            self._supersede(*previous)
        published = _text(item.get("published"))
        site, section, day = (
            _text(item.get("site")) or "",
            _text(item.get("category")),
            _day(published),
        )
        cursor = self.db.execute(
            "INSERT INTO docs (key, version, latest, url, title, site, section, published,"
            " day, facet, line_offset, line_length) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                key,
                version,
                int(latest),
                _text(item.get("url")) or "",
                _text(item.get("title")) or "",
                site,
                section,
                published,
                day,
                self._facet_id(site, section or "", day[:4] if day else ""),
                offset,
                len(line),
            ),
        )
        if latest:  # only the newest version of an article is in the full-text index
            self.db.execute(
                "INSERT INTO fts (rowid, title, lead, body) VALUES (?,?,?,?)",
                (cursor.lastrowid, *_folded_fields(item)),
            )
        return 1

    def _supersede(self, row_id: int, version: int, line_offset: int, line_length: int) -> None:
        # A contentless full-text table forgets a row given the words it was indexed with:
        # they are folded again from the version's own line.
        old = read_line(self.items_path, line_offset, line_length)
        self.db.execute(
            "INSERT INTO fts (fts, rowid, title, lead, body) VALUES ('delete', ?, ?, ?, ?)",
            (row_id, *_folded_fields(old)),
        )
        self.db.execute("UPDATE docs SET latest = 0 WHERE id = ?", (row_id,))

    def _facet_id(self, site: str, section: str, year: str) -> int:
        """The row of ``facets`` for this site, section and year (made when new): counting
        matches by one small integer is much cheaper than by three texts."""
        values = (site, section, year)
        self.db.execute("INSERT OR IGNORE INTO facets (site, section, year) VALUES (?,?,?)", values)
        return self.db.execute(
            "SELECT id FROM facets WHERE site = ? AND section = ? AND year = ?", values
        ).fetchone()[0]

    def _meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    # -- reading --------------------------------------------------------------------------

    def search(
        self, query: Query, *, limit: int = 20, offset: int = 0, facets: bool = True
    ) -> Results:
        """Articles matching ``query``: title matches first, then the others, each group by
        relevance (newest first when there are no words); with the total, and the facets
        unless ``facets`` is false (counting them is a pass over every match)."""
        where, params = self._filters(query)
        match = query.match()
        if match is None:
            where = ["docs.latest = 1", *where]
        else:
            where, params = ["fts MATCH ?", *where], [match, *params]
        # Unfiltered, the full-text table counts and ranks its matches without a join.
        source = "docs" if match is None else _MATCHES if len(where) > 1 else "fts"
        try:
            if facets:
                total, counts = self._tally(_MATCHES if match else "docs", where, params)
            else:
                total, counts = self._count(source, where, params), {}
            if match is None:
                ids = self._ids(source, where, params, _NEWEST, limit, offset)
            else:
                ids = self._ranked(source, match, where[1:], params[1:], limit, offset)
            rows = self._rows(ids)
        except sqlite3.OperationalError as error:
            # The expression is built from words only, so this is unexpected: say what failed.
            raise QueryError(f"The search could not be run ({error}).") from error
        return Results(total, [Hit(*rows[id_]) for id_ in ids], counts)

    def _count(self, source: str, where: list[str], params: list[Any]) -> int:
        sql = f"SELECT count(*) FROM {source} WHERE {' AND '.join(where)}"
        return self.db.execute(sql, params).fetchone()[0]

    def _ranked(
        self,
        source: str,
        match: str,
        where: list[str],
        params: list[Any],
        limit: int,
        offset: int,
    ) -> list[int]:
        # Ranking every match by bm25 is most of a search's time when a word is in half the
        # collection; the title matches are usually few and fill the first pages alone.
        in_title = "{title} : (" + match + ")"
        titled = ["fts MATCH ?", *where], [in_title, *params]
        ids = self._ids(source, *titled, _RELEVANCE, limit, offset)
        if len(ids) < limit:
            ids += self._ids(
                source,
                ["fts MATCH ?", *where, f"fts.rowid NOT IN ({_TITLE_ROWIDS})"],
                [match, *params, in_title],
                _RELEVANCE,
                limit - len(ids),
                max(0, offset - self._count(source, *titled)),
            )
        return ids

    def _ids(
        self, source: str, where: list[str], params: list[Any], order: str, limit: int, offset: int
    ) -> list[int]:
        column = "fts.rowid" if source == "fts" else "docs.id"
        rows = self.db.execute(
            f"SELECT {column} FROM {source} WHERE {' AND '.join(where)}"
            f" ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [id_ for (id_,) in rows]

    def _rows(self, ids: list[int]) -> dict[int, tuple[Any, ...]]:
        rows = self.db.execute(
            "SELECT id, key, version, url, title, site, section, published, line_offset,"
            f" line_length FROM docs WHERE id IN ({','.join('?' * len(ids))})",
            ids,
        )
        return {row[0]: row[1:] for row in rows}

    def _tally(
        self, source: str, where: list[str], params: list[Any]
    ) -> tuple[int, dict[str, list[tuple[str, int]]]]:
        """The number of matches and the facets, from one pass over the matches."""
        counts: dict[str, dict[str, int]] = {name: {} for name in _FACETS}
        total = 0
        for *values, count in self.db.execute(
            "SELECT facets.site, facets.section, facets.year, n FROM"
            f" (SELECT docs.facet AS facet, count(*) AS n FROM {source}"
            f" WHERE {' AND '.join(where)} GROUP BY docs.facet)"
            " JOIN facets ON facets.id = facet",
            params,
        ):
            total += count
            for name, value in zip(_FACETS, values, strict=True):
                if value:
                    counts[name][value] = counts[name].get(value, 0) + count
        facets = {
            name: sorted(values.items(), key=lambda pair: (-pair[1], pair[0]))
            for name, values in counts.items()
        }
        return total, facets

    def _filters(self, query: Query) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("site", query.site), ("section", query.section)):
            if value:
                where.append(f"docs.{column} = ?")
                params.append(value)
        if query.date_from:
            where.append("docs.day >= ?")
            params.append(query.date_from)
        if query.date_to:
            where.append("docs.day <= ?")
            params.append(query.date_to)
        return where, params

    def versions(self, key: str) -> list[tuple[int, int, int]]:
        """(version, line offset, line length) of every version of article ``key``."""
        return self.db.execute(
            "SELECT version, line_offset, line_length FROM docs WHERE key = ? ORDER BY version",
            (key,),
        ).fetchall()

    def coverage(self) -> dict[str, dict[str, int]]:
        """Articles (newest versions) per site and month of publication; undated left out."""
        sites: dict[str, dict[str, int]] = {}
        for site, month, count in self.db.execute(
            "SELECT site, substr(day, 1, 7) AS month, count(*) FROM docs"
            " WHERE latest = 1 AND day IS NOT NULL GROUP BY site, month ORDER BY site, month"
        ):
            sites.setdefault(site, {})[month] = count
        return sites

    def undated(self) -> dict[str, int]:
        """Articles without a publication date, per site."""
        rows = self.db.execute(
            "SELECT site, count(*) FROM docs WHERE latest = 1 AND day IS NULL GROUP BY site"
        )
        return dict(rows.fetchall())


_FACETS = ("site", "section", "year")
_DOCS = "docs"
# CROSS JOIN keeps the full-text match the outer loop: SQLite's planner would otherwise walk
# every article and probe the full-text index for each.
_MATCHES = "fts CROSS JOIN docs ON docs.id = fts.rowid"
_TITLE_ROWIDS = "SELECT rowid FROM fts WHERE fts MATCH ?"
_NEWEST = "docs.day DESC, docs.id DESC"  # undated (NULL) last
_RELEVANCE = f"bm25(fts, {_TITLE_WEIGHT}, {_LEAD_WEIGHT}, {_BODY_WEIGHT})"


def read_line(items_path: Path, offset: int, length: int) -> dict[str, Any]:
    """The item stored at ``offset`` of items.jsonl."""
    with items_path.open("rb") as items:
        items.seek(offset)
        return json.loads(items.read(length))


def snippet(item: dict[str, Any], query: Query, *, width: int = 220) -> list[tuple[str, bool]]:
    """A passage of the article around its first matched word, as (text, matched) parts: the
    caller escapes and highlights. The lead or the first paragraph when nothing matches."""
    blocks = [_text(item.get("summary")) or "", *map(_text, item.get("paragraphs") or [])]
    blocks = [block for block in blocks if block]
    wanted = {" ".join(term) for term in query.terms}
    for block in blocks:
        parts = _highlight(block, wanted, width)
        if parts is not None:
            return parts
    first = blocks[0] if blocks else ""
    return [(first[:width] + ("…" if len(first) > width else ""), False)]


def _highlight(text: str, wanted: set[str], width: int) -> list[tuple[str, bool]] | None:
    if not wanted:
        return None
    folded, origins = folded_with_positions(text)
    pattern = "|".join(
        r"(?<![^\W_])" + r"[\W_]+".join(map(re.escape, phrase.split())) + r"(?![^\W_])"
        for phrase in sorted(wanted, key=len, reverse=True)
    )
    spans = [(origins[m.start()], origins[m.end() - 1] + 1) for m in re.finditer(pattern, folded)]
    if not spans:
        return None
    start = max(0, spans[0][0] - width // 3)
    end = min(len(text), start + width)
    parts: list[tuple[str, bool]] = [("…", False)] if start else []
    position = start
    for span_start, span_end in spans:
        if span_start < position or span_end > end:
            continue
        parts += [(text[position:span_start], False), (text[span_start:span_end], True)]
        position = span_end
    parts.append((text[position:end] + ("…" if end < len(text) else ""), False))
    return [part for part in parts if part[0]]


def _complete_lines(items: Any, offset: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of each newline-terminated line from ``offset``; a last line still
    being written (no newline yet) is left for the next update."""
    items.seek(offset)
    for line in items:
        if not line.endswith(b"\n"):
            return
        if line.strip():
            yield offset, line
        offset += len(line)


def _tail_digest(items: Any, offset: int) -> str:
    start = max(0, offset - _TAIL)
    items.seek(start)
    return hashlib.sha1(items.read(offset - start)).hexdigest()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _day(published: str | None) -> str | None:
    if published and re.match(r"\d{4}-\d{2}-\d{2}", published):
        return published[:10]
    return None


def _folded_fields(item: dict[str, Any]) -> tuple[str, str, str]:
    paragraphs = [p for p in item.get("paragraphs") or [] if isinstance(p, str)]
    captions = [c for c in item.get("captions") or [] if isinstance(c, str)]
    return (
        folded_words(_text(item.get("title")) or ""),
        folded_words(_text(item.get("summary")) or ""),
        folded_words(" ".join(paragraphs + captions)),
    )


__all__ = ["Query", "QueryError", "Results", "SearchIndex", "fold", "update_search_index"]
