"""Shared builders for the archive tests (no tests here): fixed ids and clocks, exchanges,
warcio checks, a file that runs out of space."""

from __future__ import annotations

import errno
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from warcio.cli import main as warcio_main

from archive.exchange import Exchange
from archive.reader import iter_records
from archive.writer import ArchiveWriter

FETCHED = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)
STARTED = datetime(2026, 11, 26, 11, 59, 0, tzinfo=UTC)
URL = "https://dongthap.gov.vn/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/24950000?plidlayout=123"
REQUEST = (
    b"GET /chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/24950000?plidlayout=123"
    b" HTTP/1.1\r\nHost: dongthap.gov.vn\r\nAccept-Encoding: gzip\r\n\r\n"
)


def record_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>"


def make_writer(directory: Path, **kwargs: object) -> ArchiveWriter:
    kwargs.setdefault("record_ids", record_ids())
    kwargs.setdefault("clock", lambda: STARTED)
    return ArchiveWriter(directory, **kwargs)  # type: ignore[arg-type]


def exchange(
    head: bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
    body: bytes = b"<p>Xin ch\xc3\xa0o</p>",
    url: str = URL,
) -> Exchange:
    return Exchange(url, REQUEST, head, body, FETCHED, "127.0.0.1")


def warcio_check(*paths: Path) -> None:
    """Fail unless ``warcio check`` passes (digests verified) on every path."""
    try:
        warcio_main(["check", *map(str, paths)])
    except SystemExit as exit_:
        assert exit_.code in (0, None), f"warcio check failed on {paths}"


class FailingFile:
    """A real append-mode file whose writes fail with ENOSPC once ``budget`` bytes are used."""

    def __init__(self, path: Path, budget: int) -> None:
        self._file: BinaryIO = open(path, "ab", buffering=0)  # noqa: SIM115
        self.budget = budget

    def write(self, data: bytes | memoryview) -> int:
        if self.budget <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = self._file.write(bytes(data[: self.budget]))
        self.budget -= written
        return written

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()


class FailingFiles:
    """A writer's ``opener``: every file it opens is a :class:`FailingFile` with ``budget``,
    kept in ``files`` for the test to change its budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.files: list[FailingFile] = []

    def __call__(self, path: Path) -> FailingFile:
        self.files.append(FailingFile(path, self.budget))
        return self.files[-1]


def five_pages_one_damaged(directory: Path, damage: bool = True) -> tuple[Path, list[int], int]:
    """A WARC file of five exchanges whose third response's gzip member is damaged in its
    middle (bytes a disk lost); the responses' offsets, and where the damaged one's member ends.
    ``damage=False``: the same file, whole."""
    writer = make_writer(directory)
    for n in range(5):
        body = " ".join(f"đoạn {n}-{i} của bài" for i in range(300)).encode()
        writer.write_exchange(exchange(body=body, url=f"{URL}?n={n}"))
    writer.close()
    (path,) = directory.glob("*.warc.gz")
    offsets = [record.location.offset for record in iter_records([path])]
    data = bytearray(path.read_bytes())
    member_end = data.index(b"\x1f\x8b\x08", offsets[2] + 3)
    middle = (offsets[2] + member_end) // 2
    if damage:
        data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))
    return path, offsets, member_end
