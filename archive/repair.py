"""Closing WARC files left open by a process that died while writing them.

A ``*.warc.gz.open`` file is read member by member; each gzip member must decompress completely
and hold exactly one well-formed WARC record (headers, ``Content-Length`` bytes of block, CRLF
CRLF). The file is cut right after the last member that passes, fsynced and renamed to its final
name; a file with no good member is deleted.

Fixity (:mod:`archive.fixity`): the SHA-256 and CRC-32 of the part kept are taken while it is
read, each member's bytes summed once it has passed (the bytes that follow the last good member
are never summed), so the part kept is read once, not again after the cut. They are recorded,
with the sealed file's size and mtime, once the rename is durable, as the writer records the
files it seals: the record never names a file that a power cut could turn back into ``.open``,
nor bytes that could still change.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from warcio.statusandheaders import StatusAndHeadersParser

from archive.atomic import fsync_directory
from archive.fixity import RunningSums, record_sealed
from archive.writer import OPEN_SUFFIX

logger = logging.getLogger(__name__)

_FEED = 1 << 16
_CHUNK = 1 << 20
_RECORD_END = b"\r\n\r\n"
_WARC_HEADERS = StatusAndHeadersParser(["WARC/1.1", "WARC/1.0"])


@dataclass(frozen=True, slots=True)
class RepairReport:
    """What repairing one unfinished file did."""

    path: Path
    """The final path (``.warc.gz``), or the ``.open`` path when the file was deleted."""
    original_size: int
    kept_size: int
    records: int
    """Complete records kept."""
    deleted: bool
    problem: str | None
    """Why the tail was cut (None when the file ended cleanly)."""

    @property
    def cut_bytes(self) -> int:
        return self.original_size - self.kept_size


class _Truncated(Exception):
    """The file ends inside a gzip member."""


def repair_directory(directory: Path | str) -> list[RepairReport]:
    """Repair and close every ``*.warc.gz.open`` file in ``directory``."""
    reports = [
        repair_file(path) for path in sorted(Path(directory).glob(f"*.warc.gz{OPEN_SUFFIX}"))
    ]
    if any(report.deleted for report in reports):  # a sealed file's rename is durable already
        fsync_directory(Path(directory))
    return reports


def repair_file(path: Path) -> RepairReport:
    """Cut ``path`` (a ``.open`` file) back to its last complete record, close it and record
    its fixity."""
    original_size = path.stat().st_size
    sums = RunningSums()
    with path.open("rb") as stream:
        kept_size, records, problem = _last_good_end(stream, sums)
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    if kept_size == 0:
        path.unlink()
        report = RepairReport(path, original_size, 0, 0, True, problem)
    else:
        if final.exists():
            raise FileExistsError(f"cannot close {path}: {final} already exists")
        with path.open("r+b") as stream:
            stream.truncate(kept_size)
            os.fsync(stream.fileno())
        os.replace(path, final)
        fsync_directory(final.parent)
        report = RepairReport(final, original_size, kept_size, records, False, problem)
        record_sealed(final, sums)
    _log(report)
    return report


def _log(report: RepairReport) -> None:
    if report.deleted:
        logger.warning("deleted %s: no complete record (%s)", report.path, report.problem)
    elif report.cut_bytes:
        logger.warning(
            "repaired %s: kept %d records (%d bytes), cut %d bytes: %s",
            report.path.name,
            report.records,
            report.kept_size,
            report.cut_bytes,
            report.problem,
        )
    else:
        logger.info("closed %s: %d complete records", report.path.name, report.records)


def _last_good_end(stream: BinaryIO, sums: RunningSums) -> tuple[int, int, str | None]:
    """(end offset of the last good record, good records, what was wrong after it); ``sums``
    takes the bytes up to that end, and no others."""
    good_end = 0
    records = 0
    try:
        for start, end, data, raw in _members(stream):
            problem = _record_problem(data)
            if problem:
                return good_end, records, f"bad record at offset {start}: {problem}"
            for part in raw:
                sums.update(part)
            good_end = end
            records += 1
    except _Truncated as error:
        return good_end, records, str(error)
    except zlib.error as error:
        return good_end, records, f"not gzip data at offset {good_end}: {error}"
    return good_end, records, None


def _members(stream: BinaryIO) -> Iterator[tuple[int, int, bytes, list[bytes]]]:
    """(start, end, decompressed bytes, the member's own bytes in parts) of each complete gzip
    member, in order."""
    buffer = b""
    at = 0  # where the next member's bytes start in ``buffer``
    position = 0
    while True:
        if at == len(buffer):
            buffer, at = stream.read(_CHUNK), 0
            if not buffer:
                return
        start = position
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        parts = []
        raw = []
        while not decompressor.eof:
            if at == len(buffer):
                buffer, at = stream.read(_CHUNK), 0
                if not buffer:
                    raise _Truncated(f"file ends inside the gzip member at offset {start}")
            # Fed in small pieces: zlib copies what follows a member's end into unused_data,
            # and with the whole read buffer fed, a file of small records was copied over and
            # over (a megabyte per record).
            piece = buffer[at : at + _FEED]
            parts.append(decompressor.decompress(piece))
            used = len(piece) - len(decompressor.unused_data) if decompressor.eof else len(piece)
            raw.append(piece[:used] if used < len(piece) else piece)
            at += used
            position += used
        yield start, position, b"".join(parts), raw


def _record_problem(data: bytes) -> str | None:
    """Why ``data`` is not exactly one complete WARC record, or None when it is."""
    stream = BytesIO(data)
    try:
        headers = _WARC_HEADERS.parse(stream)
        length = int(headers.get_header("Content-Length") or "")
    except Exception as error:  # warcio raises several unrelated types for damaged input
        return f"unparsable WARC headers ({error or type(error).__name__})"
    if not headers.get_header("WARC-Type") or not headers.get_header("WARC-Record-ID"):
        return "WARC-Type or WARC-Record-ID missing"
    rest = data[stream.tell() :]
    if len(rest) != length + len(_RECORD_END) or not rest.endswith(_RECORD_END):
        return f"block of {len(rest) - len(_RECORD_END)} bytes, Content-Length says {length}"
    return None
