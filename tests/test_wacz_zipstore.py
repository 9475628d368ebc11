"""The stored-entry ZIP writer behind ``wacz`` (archive/zipstore.py): the bytes zipfile writes for
the same entries, ZIP64 included; CRC-32 and SHA-256 of what the package holds; the kernel's
copy falling back where it is not supported; a source that changes size is an error."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import itertools
import os
import subprocess
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

import archive.zipstore
from archive.fixity import Fixity
from archive.zipstore import EntryInfo, KernelCopy, SourceChanged, Stored, StoredZip
from tests.conftest import require_tool

WHEN = (2026, 12, 7, 6, 1, 2)
SLOW = os.environ.get("PORTAL_SLOW_TESTS", "") == "1"


def _files(directory: Path) -> list[tuple[str, Path]]:
    """A WARC-sized file (many copy chunks), a tiny one, an empty one, a non-ASCII name, and
    one within 5% of a limit of 1,000 (zipfile gives its local header ZIP64 fields)."""
    directory.mkdir(exist_ok=True)
    contents = {"near.bin": os.urandom(980), "big.warc.gz": os.urandom(300_000)}
    contents |= {"tiny.txt": b"hello", "empty": b""}
    contents["Lấp Vò.json"] = b"{}"
    for name, data in contents.items():
        (directory / name).write_bytes(data)
    return [(f"archive/{name}", directory / name) for name in contents]


def _ours(
    target: Path,
    files: list[tuple[str, Path]],
    limit: int | None = None,
    copier=None,
    recorded: dict[Path, Fixity] | None = None,
) -> list[Stored]:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    read_fd = os.open(target, os.O_RDONLY)
    recorded = recorded or {}
    try:
        with StoredZip(fd, read_fd, limit, copier) as package:
            stored = [
                package.add_file(EntryInfo(name, WHEN), path, recorded.get(path))
                for name, path in files
            ]
            stored.append(package.add_bytes(EntryInfo("datapackage.json", WHEN), b'{"a": 1}'))
            package.close()
    finally:
        os.close(fd)
        os.close(read_fd)
    return stored


def _zipfiles(files: list[tuple[str, Path]]) -> bytes:
    """What main's wacz wrote with zipfile for the same entries."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as package:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=WHEN)
            info.file_size = path.stat().st_size
            with package.open(info, "w") as entry:
                entry.write(path.read_bytes())
        package.writestr(zipfile.ZipInfo("datapackage.json", date_time=WHEN), b'{"a": 1}')
    return out.getvalue()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copy and sum in small pieces, so a small file takes many of each."""
    monkeypatch.setattr(archive.zipstore, "_COPY_CHUNK", 64 << 10)
    monkeypatch.setattr(archive.zipstore, "_HASH_READ", 10_000)


def _check(package: Path, files: list[tuple[str, Path]], stored: list[Stored]) -> None:
    """Python's zipfile checks every CRC and finds every entry's bytes; the sums are theirs."""
    with zipfile.ZipFile(package) as wacz:
        assert wacz.testzip() is None
        for (name, path), one in zip(files, stored, strict=False):
            data = wacz.read(name)
            assert data == path.read_bytes()
            assert one == Stored(len(data), hashlib.sha256(data).hexdigest())


@pytest.mark.usefixtures("small_chunks")
def test_the_bytes_are_zipfiles(tmp_path: Path) -> None:
    files = _files(tmp_path / "in")
    stored = _ours(tmp_path / "ours.zip", files)
    assert (tmp_path / "ours.zip").read_bytes() == _zipfiles(files)
    _check(tmp_path / "ours.zip", files, stored)


@pytest.mark.usefixtures("small_chunks")
def test_zip64_fields_and_end_records_are_zipfiles_at_the_same_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the limit lowered, sizes and offsets pass it: the ZIP64 extra fields (local and
    central) and the ZIP64 end records are written, byte for byte as zipfile writes them."""
    files = _files(tmp_path / "in")
    stored = _ours(tmp_path / "ours.zip", files, limit=1000)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    expected = _zipfiles(files)
    monkeypatch.undo()
    ours = (tmp_path / "ours.zip").read_bytes()
    assert b"PK\x06\x06" in ours and b"PK\x06\x07" in ours
    assert ours == expected
    _check(tmp_path / "ours.zip", files, stored)


def test_unzip_accepts_a_zip64_package(tmp_path: Path) -> None:
    unzip = require_tool("unzip")
    files = _files(tmp_path / "in")
    _ours(tmp_path / "ours.zip", files, limit=1000)
    result = subprocess.run([unzip, "-t", str(tmp_path / "ours.zip")], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert b"No errors detected" in result.stdout


def _refusing(
    monkeypatch: pytest.MonkeyPatch, name: str, code: int, refused: list[str] | None = None
) -> list[str]:
    """Make ``os.<name>`` answer ``code``; the list records each refusal."""
    refused = [] if refused is None else refused

    def refuse(*args: object) -> int:
        refused.append(name)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, name, refuse)
    return refused


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("also_sendfile", [False, True])
def test_an_unsupported_copy_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, also_sendfile: bool
) -> None:
    """copy_file_range across file systems (EXDEV on older kernels), then sendfile refused
    too: the same package, by the next method; each refusal is met once, not per chunk."""
    refused = _refusing(monkeypatch, "copy_file_range", errno.EXDEV)
    if also_sendfile:
        _refusing(monkeypatch, "sendfile", errno.EINVAL, refused)
    files = _files(tmp_path / "in")
    copier = KernelCopy()
    stored = _ours(tmp_path / "ours.zip", files, copier=copier)
    monkeypatch.undo()
    assert (tmp_path / "ours.zip").read_bytes() == _zipfiles(files)
    _check(tmp_path / "ours.zip", files, stored)
    assert len(copier.methods) == (1 if also_sendfile else 2)
    assert len(refused) == (2 if also_sendfile else 1)


def test_another_copy_error_is_not_hidden_by_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refusing(monkeypatch, "copy_file_range", errno.ENOSPC)
    with pytest.raises(OSError, match="No space left on device"):
        _ours(tmp_path / "ours.zip", _files(tmp_path / "in"))


class _Changing(KernelCopy):
    """Copies, and after the first chunk makes the source ``change`` (once)."""

    def __init__(self, change: Callable[[int], None]) -> None:
        super().__init__()
        self.change: Callable[[int], None] | None = change

    def copy(self, source: int, target: int, source_at: int, target_at: int, count: int) -> int:
        copied = super().copy(source, target, source_at, target_at, count)
        if self.change is not None:
            self.change(source)
            self.change = None
        return copied


def _grow(source: int) -> None:
    with open(f"/proc/self/fd/{source}", "ab") as again:
        again.write(b"more")


def _shrink(source: int) -> None:
    os.truncate(f"/proc/self/fd/{source}", 100_000)


def _rewrite(source: int) -> None:
    """The same size, other bytes: only the modification time tells."""
    with open(f"/proc/self/fd/{source}", "r+b") as again:
        again.write(b"other bytes")


def _recorded(path: Path) -> Fixity:
    data, stat = path.read_bytes(), path.stat()
    sha256 = hashlib.sha256(data).hexdigest()
    return Fixity(path.name, len(data), stat.st_mtime_ns, sha256, zlib.crc32(data))


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("change", [_grow, _shrink], ids=["grows", "shrinks"])
def test_a_source_that_changes_size_is_an_error(
    tmp_path: Path, change: Callable[[int], None]
) -> None:
    files = [(name, path) for name, path in _files(tmp_path / "in") if "big" in name]
    with pytest.raises(SourceChanged, match=r"big\.warc\.gz changed size while it was packaged"):
        _ours(tmp_path / "ours.zip", files, copier=_Changing(change))


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize(
    ("change", "message"),
    [(_grow, "changed size"), (_shrink, "changed size"), (_rewrite, "was written to")],
    ids=["grows", "shrinks", "rewritten"],
)
def test_a_source_with_recorded_sums_that_changes_is_an_error(
    tmp_path: Path, change: Callable[[int], None], message: str
) -> None:
    """Its sums are not read from the package: a change while it is copied would go unseen
    in them, so its size and mtime are checked after the copy."""
    files = [(name, path) for name, path in _files(tmp_path / "in") if "big" in name]
    for _, path in files:  # an old file: a write now gives it another mtime, on any clock
        os.utime(path, ns=(0, 1_600_000_000_000_000_000))
    recorded = {path: _recorded(path) for _, path in files}
    with pytest.raises(SourceChanged, match=rf"big\.warc\.gz {message} while it was packaged"):
        _ours(tmp_path / "ours.zip", files, copier=_Changing(change), recorded=recorded)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("limit", [None, 1000], ids=["zip", "zip64"])
def test_recorded_sums_give_the_same_bytes_without_reading_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    """Files still as recorded are copied with their recorded CRC-32 and SHA-256 and never
    read back; the package is byte for byte zipfile's. A file whose mtime moved is summed."""
    files = _files(tmp_path / "in")
    recorded = {path: _recorded(path) for _, path in files}
    touched = tmp_path / "in" / "tiny.txt"
    os.utime(touched, ns=(0, recorded[touched].mtime_ns + 1))
    summed: list[int] = []
    real_sum = archive.zipstore._Sums._sum

    def counting_sum(self: archive.zipstore._Sums, offset: int, count: int) -> None:
        summed.append(count)
        real_sum(self, offset, count)

    monkeypatch.setattr(archive.zipstore._Sums, "_sum", counting_sum)
    stored = _ours(tmp_path / "ours.zip", files, limit, recorded=recorded)
    monkeypatch.undo()
    if limit is not None:
        monkeypatch.setattr(zipfile, "ZIP64_LIMIT", limit)
    assert (tmp_path / "ours.zip").read_bytes() == _zipfiles(files)
    monkeypatch.undo()
    _check(tmp_path / "ours.zip", files, [dataclasses.replace(one, summed=True) for one in stored])
    assert [one.summed for one in stored] == [path == touched for _, path in files] + [True]
    assert summed == [len(b"hello"), len(b'{"a": 1}')], "only the touched file and the bytes"


@pytest.mark.skipif(not SLOW, reason="writes and reads 4 GiB: set PORTAL_SLOW_TESTS=1")
def test_zip64_for_real_past_4_gib(tmp_path: Path) -> None:
    """An entry over 4 GiB (a sparse source, but the copy is real) and one after it whose
    header is past 4 GiB: zipfile finds both and checks both CRCs."""
    big = tmp_path / "big.warc.gz"
    with big.open("wb") as out:
        out.truncate((1 << 32) + 10)
        out.seek(-5, os.SEEK_END)
        out.write(b"tail!")
    (tmp_path / "after.txt").write_bytes(b"after")
    files = [("archive/big.warc.gz", big), ("after.txt", tmp_path / "after.txt")]
    stored = _ours(tmp_path / "big.zip", files)
    big.unlink()  # the disk is needed once only
    with zipfile.ZipFile(tmp_path / "big.zip") as package:
        assert package.testzip() is None
        assert package.getinfo("archive/big.warc.gz").file_size == (1 << 32) + 10
        assert package.getinfo("after.txt").header_offset > 1 << 32
        assert package.read("after.txt") == b"after"
    assert stored[0].size == (1 << 32) + 10
    assert stored[1] == Stored(5, hashlib.sha256(b"after").hexdigest())


@pytest.mark.usefixtures("small_chunks")
def test_each_copied_range_is_handed_to_the_disk_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk writes while the rest is copied and summed, so the final fsync is short."""
    started: list[tuple[int, int]] = []

    def write_behind(fd: int, offset: int, count: int) -> None:
        started.append((offset, count))

    monkeypatch.setattr(archive.zipstore, "write_behind", write_behind)
    files = [(name, path) for name, path in _files(tmp_path / "in") if "big" in name]
    _ours(tmp_path / "ours.zip", files)
    data_at = 30 + len(b"archive/big.warc.gz")  # after the first local header
    assert started[0][0] == data_at and len(started) == 300_000 // (64 << 10) + 1
    assert sum(count for _, count in started) == 300_000
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(started))


def test_write_behind_starts_writing_a_real_file(tmp_path: Path) -> None:
    with (tmp_path / "f").open("wb") as out:
        out.write(b"x" * 10_000)
        archive.zipstore.write_behind(out.fileno(), 0, 10_000)
        with pytest.raises(OSError):
            archive.zipstore.write_behind(out.fileno(), -1, 10)


@pytest.mark.usefixtures("small_chunks")
def test_a_failed_copy_drops_the_sums_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted after copying many ranges, the writer does not sum them all first."""
    summed: list[int] = []
    real_sum = archive.zipstore._Sums._sum

    def slow_sum(self: archive.zipstore._Sums, offset: int, count: int) -> None:
        summed.append(offset)
        time.sleep(0.05)
        real_sum(self, offset, count)

    class Interrupted(KernelCopy):
        calls = 0

        def copy(self, *args: int) -> int:
            if self.calls == 4:
                raise KeyboardInterrupt
            self.calls += 1
            return super().copy(*args)

    copier = Interrupted()
    monkeypatch.setattr(archive.zipstore._Sums, "_sum", slow_sum)
    files = [(name, path) for name, path in _files(tmp_path / "in") if "big" in name]
    with pytest.raises(KeyboardInterrupt):
        _ours(tmp_path / "ours.zip", files, copier=copier)
    assert 1 <= len(summed) < 4
