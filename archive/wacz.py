"""Packaging a collection as a WACZ 1.1.1 file (https://specs.webrecorder.net/wacz/1.1.1/).

The package holds ``archive/`` (the WARC files, stored byte for byte), ``indexes/index.cdxj``
(sorted, the collection's own index format: responses and revisits only, so nothing shadows a
page), ``pages/pages.jsonl`` (one entry per article version, with its text, so ReplayWeb.page
lists and searches the articles), ``datapackage.json`` and ``datapackage-digest.json``
(with an anonymous signature when a key is given: :mod:`archive.signing`).
There is no ``extraPages.jsonl`` for listings: ReplayWeb.page searches the text of that file
instead of ``pages.jsonl`` when there is one, and the articles' text would not be found.

Everything streams, and no WARC byte goes through Python: the kernel copies each file into the
ZIP (:mod:`archive.zipstore`); no WARC is ever held in memory, so the time is linear in the
collection's size and the memory flat. The CRC-32 and SHA-256 of a file are those its writer
recorded as it wrote it (:mod:`archive.fixity`) when the file is still the one recorded (same
size and mtime), so it is copied and not read back; any other file (an older collection, a file
copied in or touched since) is summed from the package's bytes on the other core, as
is every file with ``rehash`` (the sums then derived from the bytes, whatever was recorded).
The index is the collection's own (:mod:`archive.index_reuse`: checked against each file beside
the copy, and only a file it does not cover exactly is read again by the indexer);
lines that are not already sorted are sorted in bounded runs merged from disk. A subset (one
site, a date range) is cut from the WARC files by copying whole gzip members (each record is
one), never by recompressing, and indexed as it is cut.

The package is written to a temporary file beside the target and renamed into place: a
failure never leaves a half-written ``.wacz``. The collection is locked while it is read, so a
crawl cannot change it underneath (and a running crawl makes packaging refuse).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

from archive.atomic import os_reason, replacing
from archive.cdxj import (
    CaptureFields,
    fields_line,
    index_lines,
    record_fields,
    visit_whole_records,
    warc_files,
)
from archive.collection import Collection, CollectionError, not_a_collection, reading
from archive.exchange import WarcLocation
from archive.fixity import Fixity
from archive.fixity import read as read_fixity
from archive.index_reuse import ReusableIndex, reusable_index
from archive.item_lines import Items, NotAnItem, requisites, text_field, warc_location
from archive.reader import ArchiveReadError
from archive.records import item_url
from archive.writer import OPEN_SUFFIX, software_version
from archive.zipstore import EntryInfo, SourceChanged, Stored, StoredZip

if TYPE_CHECKING:  # signing needs cryptography, imported only by those who sign
    from archive.signing import Signer

logger = logging.getLogger(__name__)

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Articles", "hasText": True}
_SORT_RUN = 100_000
"""Index lines sorted in memory at once (some 30 MB); longer indexes are merged from disk."""


class WaczError(CollectionError):
    """A collection that cannot be packaged as asked (no WARC files, nothing selected)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """What of a collection goes into the package: everything, or one host and/or a range
    of capture days (UTC, ISO ``YYYY-MM-DD``, both ends included)."""

    host: str | None = None
    first_day: str | None = None
    last_day: str | None = None

    @property
    def everything(self) -> bool:
        return self.host is None and self.first_day is None and self.last_day is None

    def in_range(self, moment: str) -> bool:
        """Whether an ISO 8601 UTC moment (``WARC-Date``, ``fetched_at``) is in the range."""
        day = moment[:10]
        return (self.first_day is None or day >= self.first_day) and (
            self.last_day is None or day <= self.last_day
        )

    def keeps(self, url: str, moment: str) -> bool:
        host_ok = self.host is None or (urlsplit(url).hostname or "") == self.host
        return host_ok and self.in_range(moment)


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """What ``datapackage.json`` says about the package."""

    title: str
    description: str = ""
    main_page_url: str | None = None
    """The page ReplayWeb.page opens first; by default the crawl's first seed."""
    signer: Signer | None = None
    """Signs ``datapackage-digest.json`` (anonymous WACZ signature) when given."""


@dataclass(slots=True)
class PackageReport:
    warc_files: int = 0
    captures: int = 0
    pages: int = 0
    bytes: int = 0
    unfinished: list[str] = field(default_factory=list)
    """``.open`` WARC files of a killed crawl, left out (rerun the crawl to finish them)."""
    missing: dict[str, int] = field(default_factory=dict)
    """WARC files that items.jsonl names and the collection lacks (lost, deleted), with the
    article versions left out of the pages for it (see archive.losses)."""
    not_items: int = 0
    """Lines of items.jsonl that are no items, or name no page (logged with their byte
    offsets): left out of the pages, and left as they are in the collection."""
    damage: list[ArchiveReadError] = field(default_factory=list)
    """Damage met in the WARC files read (logged): their whole records are packaged and
    indexed, those after it too; the files themselves are packaged as they are."""
    reindexed: list[str] = field(default_factory=list)
    """WARC files the collection's index does not cover exactly, so indexed by reading them."""
    summed: int = 0
    """WARC files whose CRC-32 and SHA-256 were taken by reading them back."""
    from_manifest: int = 0
    """WARC files whose sums were those recorded when they were written (not read back)."""


def write_wacz(
    directory: Path,
    out: Path,
    info: PackageInfo,
    selection: Selection = Selection(),
    *,
    rehash: bool = False,
) -> PackageReport:
    """Package the collection at ``directory`` into ``out`` (replaced atomically); with
    ``rehash``, sum every file from its bytes instead of taking its recorded sums."""
    directory, out = Path(directory), Path(out)
    collection = Collection(directory)
    if not collection.warc_dir.is_dir():
        raise WaczError(not_a_collection(directory, "no warc/ folder"))
    if out.is_dir():
        raise WaczError(f"{out} is a directory; give the path of the .wacz file to write")
    # Opened first (a killed crawl's WARC file closed, a lost items.jsonl restored), then
    # shared with other readers (extract, another wacz); refused while a crawl, fetch, recover
    # or index holds it.
    held = reading(directory, command="wacz", advice="package it when that has finished")
    with held, ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wacz-")))
        report = PackageReport(
            unfinished=sorted(p.name for p in collection.warc_dir.glob(f"*.warc.gz{OPEN_SUFFIX}"))
        )
        try:
            with replacing(out, suffix=".part") as (fd, temp):
                _write_package(
                    fd, temp, _Package(work, report, rehash), (collection, info, selection)
                )
        except (OSError, SourceChanged) as error:
            raise WaczError(f"{out} was not written: {_reason(error)}") from error
    report.bytes = out.stat().st_size
    logger.info(
        "packaged %d WARC files (%d captures, %d pages) into %s",
        report.warc_files,
        report.captures,
        report.pages,
        out,
    )
    logger.info(
        "WARC sums: %d files read back, %d taken from the fixity manifest",
        report.summed,
        report.from_manifest,
    )
    return report


def _write_package(
    fd: int, temp: Path, package: _Package, what: tuple[Collection, PackageInfo, Selection]
) -> None:
    """Build the package into ``fd`` (the file ``temp``, read back for the sums)."""
    read_fd = os.open(temp, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        with StoredZip(fd, read_fd) as package.zip:
            package.build(*what)
            package.zip.close()
    finally:
        os.close(read_fd)


def _nothing_closed(directory: Path, unfinished: list[str]) -> str:
    said = f"{directory} holds no closed WARC files to package"
    if not unfinished:
        return said
    # Opening the collection closes them (see reading()): it could not be opened alone.
    return (
        f"{said}: {', '.join(unfinished)} is the unfinished file of a killed crawl, left as it "
        "is while other commands read the collection (or where it cannot be written); once "
        f"they have finished, run portal-archiver index {directory} (or the same crawl again) "
        "to close it"
    )


def _reason(error: OSError | SourceChanged) -> str:
    if isinstance(error, SourceChanged):
        return f"{error} (is something writing to the collection?)"
    return os_reason(error)


class _Package:
    """One WACZ being written: the ZIP and the resources listed so far."""

    zip: StoredZip

    def __init__(self, work: Path, report: PackageReport, rehash: bool = False) -> None:
        self.work = work
        self.report = report
        self.rehash = rehash
        self.resources: list[dict[str, Any]] = []

    def build(self, collection: Collection, info: PackageInfo, selection: Selection) -> None:
        items = _selected_items(collection.items_path, selection, self.report)
        sources = warc_files(collection.warc_dir)
        if not sources:
            raise WaczError(_nothing_closed(collection.directory, self.report.unfinished))
        unsorted = self.work / "index.unsorted"
        with unsorted.open("w", encoding="utf-8") as lines:
            if selection.everything:
                recorded = {} if self.rehash else read_fixity(collection.warc_dir)
                seeds, reused = self._add_whole_warcs(
                    sources, recorded, collection.index_path, lines
                )
            else:
                seeds = self._add_cuts(sources, _Cut.of(selection, items), lines)
                reused = ReusableIndex(collection.index_path, frozenset())
        if not self.report.warc_files:
            raise WaczError("nothing in the collection matches the site and dates asked for")
        self._add_index(reused, unsorted)
        self._add_pages(items, {source.name for source in sources})
        self.finish(info, info.main_page_url or (seeds[0] if seeds else None))

    def _add_whole_warcs(
        self, sources: list[Path], recorded: dict[str, Fixity], index: Path, lines: TextIO
    ) -> tuple[list[str], ReusableIndex]:
        """Add the WARC files as they are (with their ``recorded`` sums where they still hold),
        while the collection's ``index`` is checked against them on the other core; write the
        lines it lacks to ``lines``."""
        seeds: list[str] = []
        with ThreadPoolExecutor(1, thread_name_prefix="wacz-index") as checker:
            checking = checker.submit(reusable_index, index, sources)
            for source in sources:
                seeds += _seeds(source)
                self._add_warc(source.name, source, recorded.get(source.name))
            reused = checking.result()
        for source in sources:
            if source.name not in reused.covered:
                self.report.reindexed.append(source.name)
                lines.writelines(index_lines(source, self.report.damage))
        return seeds, reused

    def _add_cuts(self, sources: list[Path], cut: _Cut, lines: TextIO) -> list[str]:
        """Add the cuts of the WARC files that keep something, indexed while they are cut."""
        seeds: list[str] = []
        for source in sources:
            warc = self._cut(source, cut, lines.write)
            if warc is not None:
                seeds += _seeds(warc)
                self._add_warc(source.name, warc, None)
        return seeds

    def _add_index(self, reused: ReusableIndex, unsorted: Path) -> None:
        """The reused lines (sorted already) merged with the others, sorted."""
        index = self.work / "index.cdxj"
        with index.open("w", encoding="utf-8") as out:
            for line in heapq.merge(reused.lines(), _sorted(unsorted, self.work)):
                out.write(line)
                self.report.captures += 1
        self.add_file("indexes/index.cdxj", index)

    def _add_pages(self, items: list[dict[str, Any]], packaged: set[str]) -> None:
        pages = self.work / "pages.jsonl"
        unfinished = set(self.report.unfinished)  # said on their own
        with pages.open("wb") as out:
            out.write(_json_line(PAGES_HEADER))
            for item in items:
                location = warc_location(item)
                name = location.file if location else None
                if name in packaged:
                    out.write(_json_line(_page(item, location)))
                    self.report.pages += 1
                elif name and name + OPEN_SUFFIX not in unfinished:
                    self.report.missing[name] = self.report.missing.get(name, 0) + 1
        self.add_file("pages/pages.jsonl", pages)

    def _cut(self, source: Path, cut: _Cut, sink: Callable[[str], Any]) -> Path | None:
        """A copy of ``source`` with only the records ``cut`` keeps (whole gzip members), its
        index lines given to ``sink``; or None when none is kept."""
        target = self.work / source.name
        kept = _copy_members(source, target, cut.keeps, sink, self.report.damage)
        if not kept:
            target.unlink()
            return None
        return target

    def _add_warc(self, name: str, path: Path, recorded: Fixity | None) -> None:
        """Store the WARC file ``path`` as ``archive/{name}``, with its ``recorded`` sums if
        they still hold; count it."""
        size = path.stat().st_size
        if recorded is not None and recorded.size != size:
            # A closed WARC file never changes size: another size is damage or a hand's edit
            # (a new modification time alone is a copy or a touch).
            logger.warning(
                "%s is %d bytes, but its writer closed it at %d: it changed since (cut short, "
                "or written to); its sums are taken from its bytes as they are now",
                path,
                size,
                recorded.size,
            )
        if self.add_file(f"archive/{name}", path, recorded).summed:
            self.report.summed += 1
        else:
            self.report.from_manifest += 1
        self.report.warc_files += 1

    def add_file(self, name: str, path: Path, recorded: Fixity | None = None) -> Stored:
        """Store ``path`` as the entry ``name``; list it as a resource with its hash."""
        when = datetime.now(UTC).timetuple()[:6]
        stored = self.zip.add_file(EntryInfo(name, when), path, recorded)
        self.resources.append(
            {
                "name": Path(name).name.lower(),
                "path": name,
                "hash": "sha256:" + stored.sha256,
                "bytes": stored.size,
            }
        )
        return stored

    def finish(self, info: PackageInfo, main_page: str | None) -> None:
        package: dict[str, Any] = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": info.title,
            "description": info.description,
            "software": software_version(),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": self.resources,
        }
        if main_page:
            package["mainPageUrl"] = main_page
        data = json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")
        self._add_bytes("datapackage.json", data)
        digest: dict[str, Any] = {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
        }
        if info.signer:
            # The signature's time is the package's: verifiers (py-wacz) require them equal.
            digest["signedData"] = info.signer.signed_data(
                digest["hash"], package["created"], package["software"]
            )
        self._add_bytes("datapackage-digest.json", json.dumps(digest, indent=2).encode())

    def _add_bytes(self, name: str, data: bytes) -> None:
        when = time.localtime()[:6]  # as zipfile's writestr dates it
        self.zip.add_bytes(EntryInfo(name, when), data)


def _copy_members(
    source: Path,
    target: Path,
    keeps: Callable[[str, str], bool],
    sink: Callable[[str], Any],
    damaged: list[ArchiveReadError],
) -> int:
    """Copy the warcinfo and the whole records ``keeps(url, warc_date)`` accepts from
    ``source`` to ``target``, member by member; an item record goes with the response it
    refers to. The index line of each capture copied (at its offset in ``target``) goes to
    ``sink``; the damage of ``source`` (its whole records are copied, those after it too) to
    ``damaged``. Return how many records other than warcinfo were kept."""
    members = _Members(keeps)
    visit_whole_records(source, members, damaged)
    count = 0
    with source.open("rb") as copy, target.open("wb") as out:
        for offset, length, fields, warcinfo in members.kept:
            count += not warcinfo
            if fields is not None:
                sink(fields_line(fields, length, out.tell(), target.name))
            copy.seek(offset)
            out.write(copy.read(length))
    return count


class _Members:
    """The members of a WARC file a cut keeps, as they are visited: (offset, length, index
    fields or None, whether it is the warcinfo)."""

    def __init__(self, keeps: Callable[[str, str], bool]) -> None:
        self.keeps = keeps
        self.kept: list[tuple[int, int, CaptureFields | None, bool]] = []
        self.kept_ids: set[str] = set()

    def restart(self) -> None:
        self.kept.clear()
        self.kept_ids.clear()

    def visit(self, record: ArcWarcRecord, records: ArchiveIterator) -> None:
        headers = record.rec_headers
        url = item_url(headers.get_header("WARC-Target-URI") or "")
        if record.rec_type == "warcinfo":
            keep = True
        elif record.rec_type == "metadata":
            keep = headers.get_header("WARC-Concurrent-To") in self.kept_ids
        else:
            keep = self.keeps(url, headers.get_header("WARC-Date") or "")
        fields = record_fields(record) if keep else None
        records.read_to_end(record)
        if not keep:
            return
        if record.rec_type != "warcinfo":
            self.kept_ids.add(headers.get_header("WARC-Record-ID"))
        length, offset = records.get_record_length(), records.get_record_offset()
        self.kept.append((offset, length, fields, record.rec_type == "warcinfo"))


@dataclass(frozen=True, slots=True)
class _Cut:
    """Which records a cut keeps: the selected ones, and the images and files of the selected
    articles captured in the date range, wherever they are (a site's photos are often on the
    province's host)."""

    selection: Selection
    wanted: frozenset[str]

    @classmethod
    def of(cls, selection: Selection, items: list[dict[str, Any]]) -> _Cut:
        return cls(selection, frozenset(url for item in items for url in requisites(item)))

    def keeps(self, url: str, date: str) -> bool:
        selection = self.selection
        return selection.keeps(url, date) or (url in self.wanted and selection.in_range(date))


def _selected_items(
    path: Path, selection: Selection, report: PackageReport
) -> list[dict[str, Any]]:
    """The items ``selection`` keeps, in file order; the lines that are no items (or name
    no page, or no readable place for it) are said and counted in ``report``."""
    lines = Items(path)
    selected = []
    for line in lines:
        item = line.item
        url = text_field(item, "url")
        try:
            warc_location(item)
        except NotAnItem as error:
            lines.pass_over(line.offset, str(error))
            continue
        if not url:
            lines.pass_over(line.offset, "it names no page URL")
        elif selection.keeps(url, text_field(item, "fetched_at") or ""):
            selected.append(item)
    report.not_items = lines.passed_over
    return selected


def _page(item: dict[str, Any], location: WarcLocation | None) -> dict[str, Any]:
    """The pages.jsonl entry of an article version stored at ``location``: ReplayWeb.page
    lists the title and searches the text (lead and body)."""
    paragraphs = item.get("paragraphs")
    body = [p for p in paragraphs if isinstance(p, str)] if isinstance(paragraphs, list) else []
    summary = text_field(item, "summary")
    record_id = location.record_id if location else ""
    return {
        "id": record_id.removeprefix("<urn:uuid:").removesuffix(">"),
        "url": item["url"],
        "ts": text_field(item, "fetched_at") or "",
        "title": text_field(item, "title") or "",
        "text": "\n".join([summary, *body] if summary else body),
    }


def _seeds(warc: Path) -> list[str]:
    """The seeds the warcinfo record at the start of ``warc`` names."""
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "warcinfo":
                return []
            for line in record.content_stream().read().decode("utf-8", "replace").splitlines():
                name, _, value = line.partition(":")
                if name.strip() == "seeds":
                    return value.split()
            return []
    return []


def _json_line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")


def _sorted(path: Path, work: Path) -> Iterator[str]:
    """The lines of ``path`` in order, sorting runs of :data:`_SORT_RUN` lines in memory and
    merging the runs from disk."""
    runs: list[Path] = []
    with path.open(encoding="utf-8") as lines:
        while True:
            run = [line for _, line in zip(range(_SORT_RUN), lines, strict=False)]
            if not run:
                break
            run.sort()
            runs.append(work / f"run-{len(runs)}")
            runs[-1].write_text("".join(run), encoding="utf-8")
    with ExitStack() as stack:
        files = [stack.enter_context(run.open(encoding="utf-8")) for run in runs]
        yield from heapq.merge(*files)
