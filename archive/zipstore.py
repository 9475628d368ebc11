"""A ZIP writer of stored (uncompressed) entries whose file data the kernel copies.

A WACZ stores its WARC files as they are, so writing one is copying bytes plus a ZIP's few
headers (APPNOTE.TXT 4.3: each entry's local header and data, then the central directory and
the end records). :mod:`zipfile` would pass every byte through Python to take its CRC-32; here
the data of a file goes from the source to the package with ``copy_file_range`` (falling back
to ``sendfile``, then to a read-write loop, where a file system or kernel does not support it,
e.g. across file systems), and the CRC-32 (ISA-L's, several times faster than zlib's) and the
SHA-256 the WACZ lists are taken on another core from the package's own bytes, read back from
the page cache the copy has just filled. So the sums are of what the package holds, never of
what it was meant to hold. Each copied range is handed to the disk at once (Linux's
``sync_file_range``), so the disk writes while the CPU sums, and the caller's fsync is short.

A file whose sums were recorded when it was written (fixity at ingest, :mod:`archive.fixity`)
and which is still the file recorded (same size and mtime, checked on the descriptor copied from)
is not read back: its local header gets the recorded CRC-32 and the kernel's copy is all the work.
Its size and mtime are checked again after the copy, so a file changed meanwhile is
:class:`SourceChanged` as well.

The local header goes first with its CRC-32 left at zero and is patched once the data is
summed (a ``pwrite`` of four bytes): the copy and the sums then overlap, which computing the
CRC first would not allow, and the size, which decides the header's length, is the source's
size, checked again after the copy. A source that changes size while it is copied is an error
(:class:`SourceChanged`), and the caller throws the package away.

The bytes are those :mod:`zipfile` writes for the same entries (``ZIP_STORED``, sizes known up
front, a seekable file), ZIP64 included: the local header carries a ZIP64 extra field when the
size is within 5% of the limit, the central record when the size or the header's offset passes
it, and the ZIP64 end records are written when the central directory's offset or size passes it
or there are more than 65,535 entries. The limit is zipfile's (2 GiB - 1, for readers that take
the fields as signed) and can be lowered to test the ZIP64 paths with small files.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import hashlib
import logging
import os
import struct
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from isal import isal_zlib

from archive.fixity import Fixity, matches

logger = logging.getLogger(__name__)

ZIP64_LIMIT = (1 << 31) - 1
"""Sizes and offsets above this get ZIP64 fields (zipfile's ``ZIP64_LIMIT``)."""
_COUNT_LIMIT = (1 << 16) - 1
_VERSION = 20
_ZIP64_VERSION = 45
_UNIX = 3
_UTF8_NAME = 0x800
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")
_CRC_AT = 14
"""Where the CRC-32 is in a local header."""
_COPY_CHUNK = 16 << 20
"""Bytes the kernel copies per call: the sums of one chunk run while the next is copied."""
_HASH_READ = 1 << 20
"""Bytes read back per sum update: small enough to stay in the CPU's cache for both sums."""
_UNSUPPORTED = frozenset(
    {errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.ETXTBSY, errno.EPERM}
)
"""What ``copy_file_range`` or ``sendfile`` answer where they cannot copy these files."""

DateTime = tuple[int, ...]
"""Year, month, day, hour, minute, second (as ``time.struct_time[:6]``)."""


class SourceChanged(Exception):
    """A file changed size while it was being stored: its entry would not be the file."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What was stored: the entry's size and the SHA-256 (hex) of its bytes."""

    size: int
    sha256: str
    summed: bool = True
    """False when the sums are the ones recorded for the file, taken without reading it back."""


@dataclass(frozen=True, slots=True)
class _Entry:
    name: bytes
    flags: int
    date_time: DateTime
    external_attr: int
    header_offset: int
    size: int
    crc: int
    local_zip64: bool


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """An entry's name, time and Unix mode bits (``external_attr``), as zipfile's ZipInfo."""

    name: str
    date_time: DateTime
    external_attr: int = 0o600 << 16
    """``rw-------``: what zipfile gives an entry written without a mode."""


class KernelCopy:
    """Copies byte ranges between files without passing them through Python: with
    ``copy_file_range``, else ``sendfile``, else (only then) ``pread``/``pwrite``. A method
    that answers "not supported here" is dropped for the rest of the package."""

    def __init__(self) -> None:
        self.methods: list[Callable[[int, int, int, int, int], int]] = [
            _copy_file_range,
            _sendfile,
            _read_write,
        ]

    def copy(self, source: int, target: int, source_at: int, target_at: int, count: int) -> int:
        """Copy up to ``count`` bytes; the number copied (0 at the source's end)."""
        while True:
            method = self.methods[0]
            try:
                return method(source, target, source_at, target_at, count)
            except OSError as error:
                if error.errno not in _UNSUPPORTED or len(self.methods) == 1:
                    raise
                logger.info("%s cannot copy here (%s): falling back", method.__name__, error)
                self.methods.pop(0)


def _copy_file_range(source: int, target: int, source_at: int, target_at: int, count: int) -> int:
    if not hasattr(os, "copy_file_range"):
        raise OSError(errno.ENOSYS, "copy_file_range is not available")
    return os.copy_file_range(source, target, count, source_at, target_at)


def _sendfile(source: int, target: int, source_at: int, target_at: int, count: int) -> int:
    os.lseek(target, target_at, os.SEEK_SET)  # sendfile writes at the target's position
    return os.sendfile(target, source, source_at, count)


def _read_write(source: int, target: int, source_at: int, target_at: int, count: int) -> int:
    data = os.pread(source, min(count, _COPY_CHUNK), source_at)
    written = 0
    while written < len(data):
        written += os.pwrite(target, memoryview(data)[written:], target_at + written)
    return written


def _libc_sync_file_range() -> Callable[..., int] | None:
    """Linux's ``sync_file_range``, which :mod:`os` does not wrap; None elsewhere (where the
    final fsync alone writes the package out)."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return function


_SYNC_FILE_RANGE = _libc_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2


def write_behind(fd: int, offset: int, count: int) -> None:
    """Start writing a range of ``fd`` to the disk, without waiting: the disk works while the
    rest is copied and summed, and the final fsync finds little left to write."""
    if _SYNC_FILE_RANGE is None:
        return
    if _SYNC_FILE_RANGE(fd, offset, count, _SYNC_FILE_RANGE_WRITE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


class _Sums:
    """CRC-32 and SHA-256 of ranges of a file read back in order, on a thread of their own
    (hashlib and ISA-L let go of the GIL on large buffers, so the other core does it)."""

    def __init__(self, fd: int, worker: ThreadPoolExecutor) -> None:
        self.fd = fd
        self.worker = worker
        self.crc = 0
        self.sha256 = hashlib.sha256()
        self.buffer = memoryview(bytearray(_HASH_READ))
        self.pending: list[Future[None]] = []

    def add(self, offset: int, count: int) -> None:
        self.pending.append(self.worker.submit(self._sum, offset, count))

    def _sum(self, offset: int, count: int) -> None:
        end = offset + count
        while offset < end:
            size = os.preadv(self.fd, [self.buffer[: min(_HASH_READ, end - offset)]], offset)
            if size <= 0:
                raise OSError(errno.EIO, f"the package ends at {offset}, before its entry does")
            chunk = self.buffer[:size]
            self.crc = isal_zlib.crc32(chunk, self.crc)
            self.sha256.update(chunk)
            offset += size

    def wait(self) -> None:
        """Wait for every range (each is summed even if one fails, so none outlives this)."""
        errors = [future.exception() for future in self.pending]
        self.pending.clear()
        for error in errors:
            if error is not None:
                raise error

    def abandon(self) -> None:
        """Drop the ranges not summed yet and wait for the one being summed: the sums of an
        entry that failed are never used, and no range is read after this returns."""
        for future in self.pending:
            future.cancel()
        futures.wait(self.pending)
        self.pending.clear()


class StoredZip:
    """A ZIP being written to ``fd`` (``read_fd`` reads the same file back for the sums);
    :meth:`close` writes the central directory. Used as a context manager, which stops the
    summing thread; the caller fsyncs and renames."""

    def __init__(
        self,
        fd: int,
        read_fd: int,
        zip64_limit: int | None = None,
        copier: KernelCopy | None = None,
    ) -> None:
        self.fd, self.read_fd = fd, read_fd
        self.zip64_limit = ZIP64_LIMIT if zip64_limit is None else zip64_limit
        self.copier = copier or KernelCopy()
        self.position = 0
        self.entries: list[_Entry] = []
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="zip-sums")

    def add_file(
        self, info: EntryInfo, path: os.PathLike[str] | str, recorded: Fixity | None = None
    ) -> Stored:
        """Store the file at ``path``: the kernel copies it while its bytes in the package
        are summed; or, when ``recorded`` holds the sums of the file as it still is, with
        those sums and without reading it back."""
        source = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            before = os.fstat(source)
            if recorded is not None and matches(recorded, before):
                return self._add_recorded(info, source, path, before, recorded)
            size = before.st_size
            entry = self._start(info, size)
            sums = _Sums(self.read_fd, self.worker)
            try:
                self._copy(source, path, size, sums)
            except BaseException:
                sums.abandon()  # the copy's error is the one to report, and soon
                raise
            sums.wait()
            if os.fstat(source).st_size != size:
                raise SourceChanged(f"{path} changed size while it was packaged")
        finally:
            os.close(source)
        return self._finish(entry, sums)

    def _add_recorded(
        self,
        info: EntryInfo,
        source: int,
        path: os.PathLike[str] | str,
        before: os.stat_result,
        recorded: Fixity,
    ) -> Stored:
        size = before.st_size
        entry = self._start(info, size, recorded.crc32)
        self._copy(source, path, size, None)
        after = os.fstat(source)
        if after.st_size != size:
            raise SourceChanged(f"{path} changed size while it was packaged")
        if after.st_mtime_ns != before.st_mtime_ns:
            raise SourceChanged(f"{path} was written to while it was packaged")
        self.entries.append(entry)
        return Stored(size, recorded.sha256, summed=False)

    def add_bytes(self, info: EntryInfo, data: bytes) -> Stored:
        entry = self._start(info, len(data))
        self._write(data)
        sums = _Sums(self.read_fd, self.worker)
        sums.add(self.position - len(data), len(data))
        sums.wait()
        return self._finish(entry, sums)

    def _start(self, info: EntryInfo, size: int, crc: int = 0) -> _Entry:
        """Write the local header of an entry of ``size`` bytes (its CRC-32 zero for now
        when it is not known yet)."""
        try:
            name, flags = info.name.encode("ascii"), 0
        except UnicodeEncodeError:
            name, flags = info.name.encode("utf-8"), _UTF8_NAME
        # zipfile's rule: ZIP64 fields in the local header when the size is near the limit.
        local_zip64 = size * 1.05 > self.zip64_limit
        crc &= 0xFFFFFFFF
        entry = _Entry(
            name, flags, info.date_time, info.external_attr, self.position, size, crc, local_zip64
        )
        self._write(_local_header(entry))
        return entry

    def _copy(self, source: int, path: object, size: int, sums: _Sums | None) -> None:
        copied = 0
        while copied < size:
            count = self.copier.copy(
                source, self.fd, copied, self.position, min(_COPY_CHUNK, size - copied)
            )
            if count == 0:
                raise SourceChanged(f"{path} changed size while it was packaged")
            if sums is not None:
                sums.add(self.position, count)
            write_behind(self.fd, self.position, count)
            self.position += count
            copied += count

    def _finish(self, entry: _Entry, sums: _Sums) -> Stored:
        crc = sums.crc & 0xFFFFFFFF
        os.pwrite(self.fd, struct.pack("<L", crc), entry.header_offset + _CRC_AT)
        self.entries.append(dataclasses.replace(entry, crc=crc))
        return Stored(entry.size, sums.sha256.hexdigest())

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, self.position)
            view = view[written:]
            self.position += written

    def __enter__(self) -> StoredZip:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.worker.shutdown(cancel_futures=True)

    def close(self) -> None:
        """Write the central directory and the end records (ZIP64 ones where needed)."""
        start = self.position
        for entry in self.entries:
            self._write(self._central_record(entry))
        self._write(self._end_records(start, self.position - start))

    def _central_record(self, entry: _Entry) -> bytes:
        limit = self.zip64_limit
        extra: list[int] = []
        size = entry.size
        if entry.size > limit:
            extra += [entry.size, entry.size]
            size = 0xFFFFFFFF
        offset = entry.header_offset
        if offset > limit:
            extra.append(offset)
            offset = 0xFFFFFFFF
        fields = struct.pack(f"<HH{len(extra)}Q", 1, 8 * len(extra), *extra) if extra else b""
        version = _ZIP64_VERSION if extra or entry.local_zip64 else _VERSION
        time, date = _dos(entry.date_time)
        record = _CENTRAL.pack(
            *(b"PK\x01\x02", version, _UNIX, version, 0, entry.flags, 0, time, date),
            *(entry.crc, size, size, len(entry.name), len(fields), 0, 0, 0),
            *(entry.external_attr, offset),
        )
        return record + entry.name + fields

    def _end_records(self, start: int, size: int) -> bytes:
        count = len(self.entries)
        limit = self.zip64_limit
        records = b""
        if count > _COUNT_LIMIT or start > limit or size > limit:
            end64_at = start + size
            records += _END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start)
            records += _LOCATOR64.pack(b"PK\x06\x07", 0, end64_at, 1)
            count, size, start = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(start, 0xFFFFFFFF)
        return records + _END.pack(b"PK\x05\x06", 0, 0, count, count, size, start, 0)


def _local_header(entry: _Entry) -> bytes:
    size, extra, version = entry.size, b"", _VERSION
    if entry.local_zip64:
        extra = struct.pack("<HHQQ", 1, 16, entry.size, entry.size)
        size, version = 0xFFFFFFFF, _ZIP64_VERSION
    time, date = _dos(entry.date_time)
    header = _LOCAL.pack(
        *(b"PK\x03\x04", version, 0, entry.flags, 0, time, date, entry.crc, size, size),
        *(len(entry.name), len(extra)),
    )
    return header + entry.name + extra


def _dos(moment: DateTime) -> tuple[int, int]:
    year, month, day, hour, minute, second = moment
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day
