"""Closing WARC files left open by a process that died while writing them.

A ``*.warc.gz.open`` file is read member by member; each gzip member must decompress completely
and hold exactly one well-formed WARC record (headers, ``Content-Length`` bytes of block, CRLF
CRLF). The file is cut right after the last member that passes, fsynced and renamed to its final
name; a file with no good member is deleted.
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

from archive.writer import fsync_directory

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
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
    reports = [repair_file(path) for path in sorted(Path(directory).glob("*.warc.gz.open"))]
    if reports:
        fsync_directory(Path(directory))
    return reports


def repair_file(path: Path) -> RepairReport:
    """Cut ``path`` (a ``.open`` file) back to its last complete record and close it."""
    original_size = path.stat().st_size
    with path.open("rb") as stream:
        kept_size, records, problem = _last_good_end(stream)
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
        report = RepairReport(final, original_size, kept_size, records, False, problem)
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


def _last_good_end(stream: BinaryIO) -> tuple[int, int, str | None]:
    """(end offset of the last good record, good records, what was wrong after it)."""
    good_end = 0
    records = 0
    try:
        for start, end, data in _members(stream):
            problem = _record_problem(data)
            if problem:
                return good_end, records, f"bad record at offset {start}: {problem}"
            good_end = end
            records += 1
    except _Truncated as error:
        return good_end, records, str(error)
    except zlib.error as error:
        return good_end, records, f"not gzip data at offset {good_end}: {error}"
    return good_end, records, None


def _members(stream: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, decompressed bytes) of each complete gzip member, in order."""
    pending = b""
    position = 0
    while True:
        if not pending:
            pending = stream.read(_CHUNK)
            if not pending:
                return
        start = position
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        parts = []
        while not decompressor.eof:
            if not pending:
                pending = stream.read(_CHUNK)
                if not pending:
                    raise _Truncated(f"file ends inside the gzip member at offset {start}")
            parts.append(decompressor.decompress(pending))
            leftover = decompressor.unused_data if decompressor.eof else b""
            position += len(pending) - len(leftover)
            pending = leftover
        yield start, position, b"".join(parts)


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
