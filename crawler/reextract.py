"""``portal-archiver extract``: the parsers over archived responses, no network.

Each response record goes through the same ``parse_article`` and ``build_item`` as a
live crawl. What the page cannot tell (the listing's date and section, the item's
version) comes from the item record the crawl wrote beside the response (paired by
``WARC-Concurrent-To``, whatever its target URI), so a re-extraction with the same parser
gives the same items as the live run. The item's key comes from that record too, so a
collection crawled while keys were ``{site}#{asset_id}`` keeps its own keys. Responses without
such a record (WARCs from wget or Browsertrix, or captures a crawl found unchanged) follow the
crawl's rule: an article's capture whose content (``content_digest``) is the same as its
previous one is no new version; one whose content changed is the next version. Such a capture
gets the key the crawl recorded for its article (same site and asset), else the computed one.
As in a live crawl or ``recover``, only pages at article URLs are parsed as articles, of
any generation of the portals (:mod:`crawler.generations`), and keyed as ``recover`` keys
them where no record says otherwise (a recovered capture's record keeps the key of the
history an archived redirect may have joined its old address to).

Captures recovered from web archives (``recover``) say so in the provenance record beside
them (``application/warc-fields``, concurrent to the response): their items come out with
``source: "archive"`` and the ``archive`` object of the recover run, ``fetched_at`` the
capture time it names.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from archive.atomic import os_reason, replacing
from archive.collection import CollectionError, encode_item
from archive.exchange import WarcLocation
from archive.reader import (
    DEFAULT_MAX_BODY,
    ArchivedMetadata,
    ArchivedProvenance,
    ArchivedResponse,
    ArchiveReadError,
    iter_archive,
)
from archive.recovered import item_archive
from crawler.extract import ListingContext, build_item
from crawler.generations import history_key, recover_kind
from crawler.items import ArticleContent
from crawler.parsers.article import parse_article
from crawler.parsers.page import Page
from crawler.urls import UrlKind, well_formed

logger = logging.getLogger(__name__)


class OutputError(CollectionError):
    """The items file cannot be written (a full disk, a WARC that cannot be opened): nothing
    of this run is in it, and it keeps what it held before."""


@dataclass(slots=True)
class ExtractStats:
    responses: int = 0
    """Article pages parsed."""
    articles: int = 0
    """Items written."""
    rejected: int = 0
    """Pages that gave no article (soft 404s, empty pages)."""
    unchanged: int = 0
    """Captures whose content repeats the article's previous capture: no item."""
    too_large: int = 0
    """Bodies over the size limit, not decoded (counted in ``errors`` too)."""
    errors: int = 0


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A parsed article page; kept without its body while its item record may still come."""

    sequence: int
    """Its rank among the parsed pages, in file order: what "previous capture" means."""
    url: str
    date: str
    location: WarcLocation
    content: ArticleContent

    def fields(
        self, recorded: dict[str, Any] | None, archive: dict[str, str] | None
    ) -> dict[str, Any]:
        """The item's JSON object; key and version from the crawl's record, else computed
        (the key) and 1 for now (the version)."""
        recorded = recorded or {}
        from_listing = recorded.get("published_source") == "listing"
        listing = ListingContext(
            date=recorded.get("published") if from_listing else None,
            section=recorded.get("category"),
        )
        item = build_item(
            self.url,
            self.content,
            fetched_at=archive["captured_at"] if archive else _fetched_at(self.date),
            warc=self.location,
            listing=listing,
            version=recorded.get("version", 1),
        )
        key = recorded.get("key")
        item.key = key if isinstance(key, str) else history_key(self.url)
        if archive is not None:
            item.source = "archive"
            item.archive = archive
        return item.to_dict()


class _Capture(NamedTuple):
    sequence: int
    digest: str
    version: int


def _fetched_at(warc_date: str) -> str:
    # WARC-Date carries microseconds; items carry seconds, as the live crawl writes them.
    return warc_date[:19] + "Z"


def _is_article_page(url: str, content_type: str | None) -> bool:
    """The pages a crawl or ``recover`` hands to the article parser: HTML at an article URL
    (of any generation of the portals)."""
    kind = (content_type or "").lower()
    return (
        # Memoised and usually enough to say no: only article URLs are parsed for their port.
        ("html" in kind or not kind) and recover_kind(url) is UrlKind.ARTICLE and well_formed(url)
    )


def parse_response(response: ArchivedResponse) -> ArticleContent | None:
    headers = {name.lower(): value for name, value in reversed(response.headers)}
    result = parse_article(Page(url=response.url, body=response.body, headers=headers))
    return result.content


class _Extraction:
    """One pass over WARC records: parse article pages, pair them with the crawl's records."""

    def __init__(self, sink: TextIO, max_body: int) -> None:
        self.sink = sink
        self.max_body = max_body
        self.stats = ExtractStats()
        # Parsed pages whose item record (written after the response) is still to come.
        self.pending: dict[str, _Parsed] = {}
        # The captures written so far of each article key, in file order.
        self.history: dict[str, list[_Capture]] = {}
        # Provenance of pending pages recovered from web archives, by response record id.
        self.recovered: dict[str, dict[str, str]] = {}
        # The key the crawl recorded for an article, by (site, computed key): older crawls
        # keyed by site, and a capture with no record must join its article's history.
        self.recorded_keys: dict[tuple[str, str], str] = {}
        # Items whose (key, version) an earlier item had.
        self.repeated = 0

    def feed(self, record: ArchivedResponse | ArchivedMetadata | ArchivedProvenance) -> None:
        if isinstance(record, ArchivedProvenance):
            archive = item_archive(dict(record.fields))
            if archive is not None and record.concurrent_to in self.pending:
                self.recovered[record.concurrent_to] = archive
            return
        if isinstance(record, ArchivedMetadata):
            self.recorded(record)
            return
        if record.is_revisit or record.status != 200:
            return
        if record.body_too_large:
            self.too_large(
                record.url,
                f"{record.location.file} at offset {record.location.offset}: the body of",
            )
            return
        self.stats.responses += 1
        content = parse_response(record)
        if content is None:
            self.stats.rejected += 1
            return
        parsed = _Parsed(self.stats.responses, record.url, record.date, record.location, content)
        self.pending[record.record_id] = parsed

    def recorded(self, record: ArchivedMetadata) -> None:
        """Pair an item record with its page; a page whose record is unusable stays pending,
        to be emitted as if nothing was recorded."""
        if isinstance(record.payload, dict):
            parsed = self.pending.pop(record.concurrent_to or "", None)
            if parsed is not None:
                self.emit(parsed, record.payload)
        elif record.payload is None and record.unreadable is None:
            self.too_large(record.target_uri, "an item record for")
        elif record.concurrent_to in self.pending:
            why = record.unreadable or f"a JSON {type(record.payload).__name__}"
            logger.warning(
                "%s: its item record is not a JSON object (%s); the page is extracted as if "
                "nothing were recorded",
                record.target_uri,
                why,
            )

    def too_large(self, url: str, what: str) -> None:
        self.stats.too_large += 1
        self.stats.errors += 1
        logger.error(
            "%s %s decodes to more than the %d bytes allowed; skipped", what, url, self.max_body
        )

    def settle_key(self, fields: dict[str, Any], recorded: bool) -> None:
        """Note the key a record gave; give a page without record its article's recorded key.

        Pages without a record are emitted by :meth:`finish`, after every record was read.
        """
        computed = (fields["site"], history_key(fields["url"]))
        if recorded:
            self.recorded_keys[computed] = fields["key"]
        else:
            fields["key"] = self.recorded_keys.get(computed, fields["key"])

    def finish(self) -> None:
        for parsed in self.pending.values():  # in file order
            self.emit(parsed, None)
        self.pending.clear()
        if self.repeated:
            # Keys and versions are what readers of items join on: two lines with the same
            # pair are two articles to them, or one overwritten by the other.
            logger.warning(
                "%d items repeat the key and version of an item given before: the WARC files "
                "hold the same captures twice (a copy), or come from more than one collection, "
                "each numbering its versions",
                self.repeated,
            )

    def emit(self, parsed: _Parsed, recorded: dict[str, Any] | None) -> None:
        archive = self.recovered.pop(parsed.location.record_id, None)
        fields = parsed.fields(recorded, archive)
        self.settle_key(fields, recorded is not None)
        # The line and the digest from one encoding of the body text, as the crawl does.
        encoded = encode_item(fields)
        digest = encoded.digest
        history = self.history.setdefault(fields["key"], [])
        before = bisect.bisect_left(history, (parsed.sequence,))
        previous = history[before - 1] if before else None
        if recorded is None:
            # No record of the crawl: derive the version as the crawl does, from content.
            if previous is not None and previous.digest == digest:
                self.stats.unchanged += 1
                return
            fields["version"] = previous.version + 1 if previous else 1
        if any(capture.version == fields["version"] for capture in history):
            self.repeated += 1
        history.insert(before, _Capture(parsed.sequence, digest, fields["version"]))
        self.sink.write(encoded.line(fields["version"]) + "\n")
        self.stats.articles += 1


def extract_items(
    warcs: Iterable[Path], out: Path, *, max_body: int = DEFAULT_MAX_BODY
) -> ExtractStats:
    """Write the articles of ``warcs`` to ``out`` (JSON Lines); return counts.

    A damaged file is reported and counted; its whole records count, those after the damage too.
    A body that decodes to more than ``max_body`` bytes is skipped and counted as an error.
    ``out`` is replaced once complete: until then (a full disk, an interruption) it keeps its
    previous content. Raises :class:`OutputError` when it cannot be written.
    """
    try:
        with (
            replacing(out, suffix=".part") as (fd, _),
            open(fd, "w", encoding="utf-8", closefd=False) as sink,
        ):
            return extract_to(warcs, sink, max_body=max_body)
    except OSError as error:
        raise OutputError(f"{out} was not written: {os_reason(error)}") from error


def extract_to(
    warcs: Iterable[Path], sink: TextIO, *, max_body: int = DEFAULT_MAX_BODY
) -> ExtractStats:
    """Write the articles of ``warcs`` to ``sink`` as they come (a pipe: ``--out -``); return
    counts. As :func:`extract_items`, but what was written stays written."""
    extraction = _Extraction(sink, max_body)
    for path in _distinct(warcs):
        _extract_file(extraction, path, max_body)
    extraction.finish()
    return extraction.stats


def _distinct(warcs: Iterable[Path]) -> Iterator[Path]:
    """Each file once, in the order first named: a shell's two globs, or a link beside its
    file, would give every capture of it a second item."""
    seen: dict[tuple[int, int], Path] = {}
    for path in warcs:
        try:
            status = path.stat()
        except OSError:
            yield path  # reading it says what is wrong
            continue
        identity = (status.st_dev, status.st_ino)
        if identity in seen:
            logger.warning("%s is %s, named before: read once", path, seen[identity])
            continue
        seen[identity] = path
        yield path


def _extract_file(extraction: _Extraction, path: Path, max_body: int) -> None:
    # Zero bytes where a WARC file was meant to be (a copy onto a full disk) is data lost:
    # a reader finds no damage in it, and the run would end with "errors: 0".
    if path.is_file() and path.stat().st_size == 0:
        extraction.stats.errors += 1
        logger.error("%s: the file is empty (0 bytes): no WARC record in it", path)
        return
    try:
        records = iter_archive([path], responses=_is_article_page, max_body=max_body)
        for record in records:
            extraction.feed(record)
    except ArchiveReadError as error:
        extraction.stats.errors += 1
        logger.error("%s", error)
