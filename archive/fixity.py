"""Fixity at ingest: each WARC file's SHA-256 (and CRC-32, size, mtime), taken as it is written.

:class:`archive.writer.ArchiveWriter` sums every byte it writes (after the write succeeded, so
a roll-back leaves the sums right) and, once a file is sealed (fsynced, renamed from ``.open``,
the rename made durable), records it here (:func:`record_sealed`); so does :mod:`archive.repair`
for the ``.open`` file of a killed crawl that it cuts back and seals at the next start, with
the sums of the part it keeps, taken as it reads that part to find the last good record. No
code writes to a WARC file once it is sealed. ``wacz`` needs a SHA-256 of every file it packages
(``datapackage.json``) and a CRC-32 (the ZIP's); reading a collection back to take them costs
more than copying it, so it takes the recorded sums of each file still as it was when recorded
and reads back only the others (:mod:`archive.wacz`).

Two append-only files beside the WARC files, one line per sealed file. No code removes a line
(none deletes or renames a sealed WARC file either): the manifest is the history of what was
sealed, and ``sha256sum -c`` reports a file gone since as ``FAILED open or read`` (a loss, or a
removal on purpose: ``--ignore-missing`` passes over those; README, "Fixity at ingest").

- ``manifest-sha256.txt``: ``<sha256 hex>  <file name>``, the line of ``sha256sum`` and of
  BagIt's payload manifests, so the archivist checks the files with the standard tools and no
  code of ours: ``cd DIR/warc && sha256sum -c manifest-sha256.txt``.
- ``fixity.jsonl``: ``{"name", "size", "mtime_ns", "sha256", "crc32"}`` (CRC-32 as eight hex
  digits): the whole record, with what the manifest cannot hold: the size and modification time
  (ns) the file had when it was sealed, by which a reader knows it is still the file summed, and
  the CRC-32 a ZIP entry needs. JSON lines, so ``jq`` reads it too.

A file's record is trusted (:func:`matches`) only when both files name it with the same SHA-256
and its size and ``mtime_ns`` are still those recorded: a file copied in, touched or rewritten
since, a record one of the two files lacks (a crash between the two appends), a file without a
record (written before fixity at ingest, or a crash between sealing it and recording it), all
fall back to summing. Each line is appended with one ``write`` and fsynced; a torn last line (a
crash mid-write) is ignored on reading and cut off before the next append, and a name recorded
twice takes its last line. Names are those the writer makes (no newline, no backslash), so no line
needs ``sha256sum``'s escapes. Neither file matches a WARC glob (``*.warc.gz``, ``*.warc``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from isal import isal_zlib

from archive.atomic import fsync_directory

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest-sha256.txt"
RECORDS_NAME = "fixity.jsonl"
_MANIFEST_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")
_TAIL_READ = 4096


@dataclass(frozen=True, slots=True)
class Fixity:
    """What was recorded of one sealed file."""

    name: str
    size: int
    mtime_ns: int
    sha256: str
    """Hex, lower case."""
    crc32: int


class RunningSums:
    """SHA-256, CRC-32 (ISA-L's, as the ZIP's) and size of bytes as they are written."""

    __slots__ = ("crc32", "sha256", "size")

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.crc32 = 0
        self.size = 0

    def update(self, data: bytes) -> None:
        self.sha256.update(data)
        self.crc32 = isal_zlib.crc32(data, self.crc32)
        self.size += len(data)


def record(directory: Path, fixity: Fixity) -> None:
    """Append ``fixity`` to both files of ``directory``, durably (after the file it names has
    been sealed: a record must never name bytes that could still change)."""
    if any(char in fixity.name for char in "\n\r\\/") or not fixity.name:
        raise ValueError(f"{fixity.name!r} is not a name the manifest can hold")
    line = {
        "name": fixity.name,
        "size": fixity.size,
        "mtime_ns": fixity.mtime_ns,
        "sha256": fixity.sha256,
        "crc32": f"{fixity.crc32 & 0xFFFFFFFF:08x}",
    }
    created = _append(directory / MANIFEST_NAME, f"{fixity.sha256}  {fixity.name}\n")
    created |= _append(directory / RECORDS_NAME, json.dumps(line) + "\n")
    if created:
        fsync_directory(directory)


def record_sealed(path: Path, sums: RunningSums) -> Fixity | None:
    """Record ``sums`` as those of ``path``, a WARC file just sealed (fsynced, renamed to its
    final name, the rename made durable), with its size and mtime as they are now; the record,
    or None. Nothing is recorded when the file holds more or fewer bytes than were summed (a
    cut back that failed): those sums are not its own. A record that cannot be written (a full
    disk) is only a warning: the file is sealed, and a file without a record is summed when
    packaged."""
    try:
        stat = path.stat()
        if stat.st_size != sums.size:
            logger.warning(
                "%s holds %d bytes, %d were summed: no fixity record",
                path.name,
                stat.st_size,
                sums.size,
            )
            return None
        one = Fixity(path.name, stat.st_size, stat.st_mtime_ns, sums.sha256.hexdigest(), sums.crc32)
        record(path.parent, one)
    except (OSError, ValueError) as error:
        logger.warning("%s: its fixity could not be recorded (%s)", path.name, error)
        return None
    return one


def read(directory: Path) -> dict[str, Fixity]:
    """The records of ``directory`` by file name (last line wins; torn or unreadable lines and
    names the two files disagree on are left out)."""
    sums: dict[str, str] = {}
    for text in _lines(directory / MANIFEST_NAME):
        found = _MANIFEST_LINE.fullmatch(text)
        if found:
            sums[found[2]] = found[1].lower()
    records: dict[str, Fixity] = {}
    for text in _lines(directory / RECORDS_NAME):
        try:
            fields = json.loads(text)
            one = Fixity(
                str(fields["name"]),
                int(fields["size"]),
                int(fields["mtime_ns"]),
                str(fields["sha256"]).lower(),
                int(str(fields["crc32"]), 16),
            )
        except (ValueError, KeyError, TypeError):
            logger.debug("%s: a line that is not a record: %r", directory / RECORDS_NAME, text)
            continue
        records[one.name] = one
    return {name: one for name, one in records.items() if sums.get(name) == one.sha256}


def matches(one: Fixity, stat: os.stat_result) -> bool:
    """Whether the file whose ``stat`` this is (of the descriptor that will be read) is still
    the one ``one`` records: same size, same modification time to the nanosecond."""
    return one.size == stat.st_size and one.mtime_ns == stat.st_mtime_ns


def _lines(path: Path) -> list[str]:
    """The complete lines of ``path`` (a last line without its newline is torn: left out)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")[:-1]  # what follows the last newline is torn (or nothing)
    return [line.decode("utf-8", "replace").rstrip("\r") for line in lines if line.strip()]


def _append(path: Path, line: str) -> bool:
    """Append one line with one write, fsynced; cut a torn last line off first. Return whether
    the file was created."""
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    existed = path.exists()
    fd = os.open(path, flags, 0o666)
    try:
        _cut_torn_tail(fd)
        data = line.encode("utf-8")
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}")
        os.fsync(fd)
    finally:
        os.close(fd)
    return not existed


def _cut_torn_tail(fd: int) -> None:
    """Truncate a last line that has no newline (a write cut short) back to the line before."""
    end = os.fstat(fd).st_size
    if end == 0 or os.pread(fd, 1, end - 1) == b"\n":
        return
    keep = 0
    at = end
    while at > 0:
        start = max(0, at - _TAIL_READ)
        newline = os.pread(fd, at - start, start).rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        at = start
    logger.warning("cutting a torn line (%d bytes) off the fixity manifest", end - keep)
    os.ftruncate(fd, keep)
