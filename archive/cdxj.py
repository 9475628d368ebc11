"""The collection's CDXJ index, line for line as pywb's own indexer (``cdx-indexer -j``) writes it.

One line per response and revisit record: ``{surt} {YYYYMMDDhhmmss} {json}`` with the JSON keys
url, mime, status, digest, length, offset, filename (``metadata`` first when the record has
``WARC-JSON-Metadata``; empty values left out, as pywb does; a
revisit has mime ``warc/revisit`` and no status), lines sorted as strings. Requests, warcinfo and
our JSON metadata records are not indexed: replay looks pages up by URL, and a metadata record
shares its page's URL. The index is written to a temporary file and renamed into place.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.timeutils import iso_date_to_timestamp

from archive import fixity
from archive.atomic import replacing
from archive.index_entries import capture_of
from archive.reader import ANY_RECORD, ArchiveReadError, record_offsets, whole_record_at
from archive.surt import surt

logger = logging.getLogger(__name__)

_MIME_END = re.compile("[; ]")
_WARC_NAMES = ("*.warc.gz", "*.warc")
CaptureFields = tuple[str, str, dict[str, str]]
"""A capture's SURT key, 14-digit timestamp and JSON fields (without where it is)."""


def build_index(
    warc_dir: Path | str,
    out_path: Path | str,
    *,
    reuse: bool = False,
    written: Path | None = None,
    damaged: list[ArchiveReadError] | None = None,
) -> int:
    """Index the WARC files of ``warc_dir`` into ``out_path``; return the line count. The
    damage of the files read is logged, and added to ``damaged`` when given (see
    :func:`index_lines`).

    With ``reuse``, the lines an existing index holds for a file are kept and only files it
    does not name are read: closed WARC files never change, and a collection that grows by
    one crawl a night should not re-read years of archive every night. ``written`` names a
    file of lines (:func:`capture_line`) a writer produced for the files it wrote, which are
    then not read either. A file changed since its fixity record (:mod:`archive.fixity`:
    another size or modification time; rewritten or restored by hand) is always read.
    """
    warc_dir, out_path = Path(warc_dir), Path(out_path)
    files = warc_files(warc_dir)
    names = {path.name for path in files} - _changed(files)
    known = _lines_by_file(out_path, names) if reuse else {}
    if written is not None:
        known = _lines_by_file(written, names - known.keys()) | known
    damaged = [] if damaged is None else damaged
    fresh = [
        line for path in files if path.name not in known for line in index_lines(path, damaged)
    ]
    lines = sorted([line for lines in known.values() for line in lines] + fresh)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        replacing(out_path) as (fd, _),
        open(fd, "w", encoding="utf-8", newline="\n", closefd=False) as out,
    ):
        out.writelines(lines)
    logger.info("indexed %d captures into %s", len(lines), out_path)
    return len(lines)


def _changed(files: list[Path]) -> set[str]:
    """The names of ``files`` that are no longer as their fixity record says (a file without
    one, written before fixity at ingest, is taken as it is)."""
    if not files:
        return set()
    recorded = fixity.read(files[0].parent)
    changed = set()
    for path in files:
        one = recorded.get(path.name)
        if one is not None and not fixity.matches(one, path.stat()):
            logger.info("%s changed since it was written: read again", path)
            changed.add(path.name)
    return changed


def _lines_by_file(index: Path, names: set[str]) -> dict[str, list[str]]:
    """The lines of an existing index, by WARC file, for the files still in ``names``; none
    when a line is no capture line (a disk's damage, an edit): the index is derived from the
    files, and reading them again costs time, where keeping a damaged index would cost
    captures."""
    found: dict[str, list[str]] = {}
    if not index.exists():
        return found
    with index.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            capture = capture_of(line)
            if capture is None:
                logger.warning(
                    "%s: line %d is not a CDXJ capture line: the WARC files are read again",
                    index,
                    number,
                )
                return {}
            if capture.filename in names:
                found.setdefault(capture.filename, []).append(line)
    return found


def warc_files(warc_dir: Path) -> list[Path]:
    """The closed WARC files of ``warc_dir``, by name."""
    return sorted({path for pattern in _WARC_NAMES for path in warc_dir.glob(pattern)})


class RecordVisitor(Protocol):
    """What :func:`visit_whole_records` hands each record to."""

    def visit(self, record: ArcWarcRecord, records: ArchiveIterator) -> None:
        """Take ``record`` (read it to its end with ``records.read_to_end``); read only."""

    def restart(self) -> None:
        """Forget every record visited: the file is visited again, record by record."""


def visit_whole_records(
    path: Path, visitor: RecordVisitor, damaged: list[ArchiveReadError] | None = None
) -> None:
    """Hand every whole record of ``path`` to ``visitor``, in file order; the file's damage,
    logged, is added to ``damaged`` when given.

    warcio reads a damaged file's records up to the damage, with no word of where it is
    beyond its complaints on stderr (one per block it cannot inflate), and of the records
    after it reads none. So a file it does not read to its end without a complaint is visited
    again, record by record at the offsets :func:`archive.reader.record_offsets` finds: every
    whole record, the damage passed over and logged with its offset.
    """
    said = io.StringIO()
    try:
        with path.open("rb") as stream, contextlib.redirect_stderr(said):
            records = ArchiveIterator(stream)
            last, end = None, 0
            for record in records:
                visitor.visit(record, records)
                last = records.get_record_offset()
                end = last + records.get_record_length()
            # warcio drops a gzip member cut before a record's headers without a word, and
            # gives a record cut inside its block as whole: a cut file ends at neither.
            whole = _ends_at(stream, end) and (last is None or whole_record_at(stream, last))
    except Exception:  # warcio's failures on damage are of every kind (AttributeError too)
        whole = False  # where and why is the careful reading's to say
    if whole and not said.getvalue():
        return
    visitor.restart()
    offsets = record_offsets(path, [] if damaged is None else damaged, types=ANY_RECORD)
    _visit_at(path, offsets, visitor)


# An uncompressed WARC file's last record is followed by its two blank lines, which warcio
# leaves out of the record's length.
_BLANK_TAIL = 8


def _ends_at(stream: BinaryIO, end: int) -> bool:
    """Whether nothing but the blank lines that close a record follows ``end``."""
    size = os.fstat(stream.fileno()).st_size
    if size - end > _BLANK_TAIL:
        return False
    stream.seek(end)
    return not stream.read().strip(b"\r\n")


def _visit_at(path: Path, offsets: Iterable[int], visitor: RecordVisitor) -> None:
    """Visit the records starting at ``offsets`` (whole ones), each read on its own."""
    said = io.StringIO()
    with path.open("rb") as stream, contextlib.redirect_stderr(said):
        for offset in offsets:
            stream.seek(offset)
            records = ArchiveIterator(stream)
            try:
                visitor.visit(next(records), records)
            except Exception as error:  # as above; FastWARC found the record whole
                logger.error(
                    "%s: the record at offset %d is whole but warcio cannot read it (%r); "
                    "passed over",
                    path,
                    offset,
                    error,
                )
    if said.getvalue():
        logger.warning("%s: warcio said, of records read whole: %s", path, said.getvalue()[:500])


def index_lines(path: Path, damaged: list[ArchiveReadError] | None = None) -> list[str]:
    """The CDXJ lines (newline-terminated, unsorted) of one WARC file's whole records; its
    damage, logged, is added to ``damaged`` when given (see :func:`visit_whole_records`)."""
    lines = _Lines(path.name)
    visit_whole_records(path, lines, damaged)
    return lines.lines


class _Lines:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: list[str] = []

    def visit(self, record: ArcWarcRecord, records: ArchiveIterator) -> None:
        fields = record_fields(record)
        records.read_to_end(record)
        if fields is not None:
            length, offset = records.get_record_length(), records.get_record_offset()
            self.lines.append(fields_line(fields, length, offset, self.filename))

    def restart(self) -> None:
        self.lines.clear()


def fields_line(fields: CaptureFields, length: int, offset: int, filename: str) -> str:
    """The index line of a record whose :func:`record_fields` are ``fields``, found at
    ``offset`` in ``filename`` (``length`` bytes): so a copier indexes what it copies."""
    key, timestamp, entry = fields
    return _line(key, timestamp, dict(entry), length, offset, filename)


def capture_line(
    *,
    url: str,
    warc_date: str,
    revisit: bool,
    status: str,
    content_type: str | None,
    digest: str,
    length: int,
    offset: int,
    filename: str,
) -> str:
    """The line :func:`index_lines` gives a response or revisit record, from what its
    writer knows: so a crawl can index as it writes instead of reading its files again."""
    entry = {"url": url}
    if revisit:
        entry["mime"] = "warc/revisit"
    else:
        entry["mime"] = _MIME_END.split(content_type, maxsplit=1)[0] if content_type else "unk"
        entry["status"] = status
    entry["digest"] = digest.removeprefix("sha1:")
    entry = {key: value for key, value in entry.items() if value}
    return _line(surt(url), iso_date_to_timestamp(warc_date), entry, length, offset, filename)


def _line(
    key: str, timestamp: str, entry: dict[str, str], length: int, offset: int, filename: str
) -> str:
    entry |= {"length": str(length), "offset": str(offset), "filename": filename}
    return f"{key} {timestamp} {json.dumps(entry)}\n"


def record_fields(record: ArcWarcRecord) -> CaptureFields | None:
    """What the index line of ``record`` says, or None for a record it leaves out; read
    before the record is read to its end (it may hash the payload)."""
    if record.rec_type not in ("response", "revisit"):
        return None
    http = record.http_headers
    status = http.get_statuscode() if http is not None else "-"
    url = record.rec_headers.get_header("WARC-Target-URI")
    # pywb skips responses without a usable status line (and captures without a URL); a
    # revisit with no block (a 304's server-not-modified revisit) is a capture all the same.
    if not url or (status == "-" and record.rec_type != "revisit"):
        return None
    entry: dict[str, str] = {}
    # pywb puts a capture's WARC-JSON-Metadata (Browsertrix writes it) first.
    entry["metadata"] = record.rec_headers.get_header("WARC-JSON-Metadata") or ""
    entry["url"] = url
    if record.rec_type == "revisit":
        entry["mime"] = "warc/revisit"
    else:
        content_type = http.get_header("Content-Type") if http else None
        entry["mime"] = _MIME_END.split(content_type, maxsplit=1)[0] if content_type else "unk"
        entry["status"] = status
    digest = record.rec_headers.get_header("WARC-Payload-Digest") or _payload_digest(record)
    if digest and digest != "-":
        entry["digest"] = digest.removeprefix("sha1:")
    timestamp = iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date"))
    return surt(url), timestamp, {key: value for key, value in entry.items() if value}


def _payload_digest(record: ArcWarcRecord) -> str | None:
    # Like pywb, a response without a stored digest gets one computed from its payload.
    if record.rec_type != "response":
        return None
    digest = hashlib.sha1()
    while chunk := record.raw_stream.read(1 << 16):
        digest.update(chunk)
    return base64.b32encode(digest.digest()).decode("ascii")
