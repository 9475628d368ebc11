"""Fixity at ingest (archive/fixity.py): each sealed WARC file's SHA-256, CRC-32, size and mtime
are recorded by its writer, exactly those of the file on disk, roll-backs included; never for an
unsealed file; the manifest survives a torn line and takes the last of duplicates; coreutils'
``sha256sum -c`` accepts the manifest of a crawl."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zlib
from pathlib import Path

import pytest

from archive import fixity
from archive.cdxj import warc_files
from archive.fixity import MANIFEST_NAME, RECORDS_NAME, Fixity
from archive.repair import repair_directory
from archive.writer import ArchiveWriteError
from tests.archive_support import FailingFile, exchange, make_writer
from tests.conftest import Crawled, require_tool


def _actual(path: Path) -> Fixity:
    """What the file on disk is: its sums taken by reading it, its size and mtime."""
    data, stat = path.read_bytes(), path.stat()
    return Fixity(
        path.name, len(data), stat.st_mtime_ns, hashlib.sha256(data).hexdigest(), zlib.crc32(data)
    )


def _assert_recorded_exactly(directory: Path) -> None:
    warcs = sorted(directory.glob("*.warc.gz"))
    assert warcs
    assert fixity.read(directory) == {path.name: _actual(path) for path in warcs}


def test_each_sealed_file_is_recorded_with_the_sums_of_its_bytes(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, max_size=3000)
    for n in range(8):
        writer.write_exchange(exchange(body=os.urandom(400 + n)))
    writer.close()
    assert len(list(tmp_path.glob("*.warc.gz"))) > 2, "rotated: several files, one record each"
    _assert_recorded_exactly(tmp_path)


@pytest.mark.parametrize("budget_after_first", [0, 1, 200, 500])
def test_a_write_rolled_back_leaves_the_sums_those_of_the_file(
    tmp_path: Path, budget_after_first: int
) -> None:
    files: list[FailingFile] = []

    def opener(path: Path) -> FailingFile:
        files.append(FailingFile(path, budget=10_000))
        return files[-1]

    writer = make_writer(tmp_path, opener=opener)
    writer.write_exchange(exchange())
    files[0].budget = budget_after_first
    with pytest.raises(ArchiveWriteError):
        writer.write_exchange(exchange(body=os.urandom(1000)))
    files[0].budget = 10_000
    writer.write_exchange(exchange(body=b"<p>after the full disk</p>"))
    writer.close()
    _assert_recorded_exactly(tmp_path)


def test_a_file_whose_cut_back_failed_gets_no_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the roll-back's truncate fails too, the file holds bytes never summed: it must
    not be recorded with sums that are not its own."""
    files: list[FailingFile] = []

    def opener(path: Path) -> FailingFile:
        files.append(FailingFile(path, budget=10_000))
        return files[-1]

    writer = make_writer(tmp_path, opener=opener)
    writer.write_exchange(exchange())
    files[0].budget = 300

    def no_truncate(path: object, length: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "truncate", no_truncate)
    with pytest.raises(ArchiveWriteError, match="failed too"):
        writer.write_exchange(exchange(body=os.urandom(1000)))
    monkeypatch.undo()
    writer.close()
    assert fixity.read(tmp_path) == {}


def test_an_unsealed_file_gets_no_record_and_its_repair_none(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange())
    writer.sync()  # a crawl killed here: the file stays .open
    (unsealed,) = tmp_path.glob("*.open")
    assert fixity.read(tmp_path) == {}
    assert not (tmp_path / MANIFEST_NAME).exists() and not (tmp_path / RECORDS_NAME).exists()
    (report,) = repair_directory(tmp_path)  # the next start seals it: wacz sums it
    assert report.path.exists() and not unsealed.exists()
    assert fixity.read(tmp_path) == {}


def test_a_file_abandoned_at_its_start_gets_no_record(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, opener=lambda path: FailingFile(path, budget=10))
    with pytest.raises(ArchiveWriteError):
        writer.write_exchange(exchange())
    writer.close()
    assert list(tmp_path.iterdir()) == []


def test_a_crawl_records_every_file_and_sha256sum_checks_it(crawled: Crawled) -> None:
    warc_dir = crawled.directory / "warc"
    _assert_recorded_exactly(warc_dir)
    assert warc_files(warc_dir) == crawled.warcs, "no WARC glob takes the manifest for a WARC"
    sha256sum = require_tool("sha256sum")
    result = subprocess.run(
        [sha256sum, "--check", "--strict", MANIFEST_NAME],
        cwd=warc_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK\n") == len(crawled.warcs)


# -- the manifest's lines ------------------------------------------------------------------


def _one(name: str = "a.warc.gz", sha256: str = "ab" * 32, size: int = 10) -> Fixity:
    return Fixity(name, size, 1_700_000_000_123_456_789, sha256, 0xDEADBEEF)


def test_a_torn_last_line_is_ignored_then_cut_off(tmp_path: Path) -> None:
    first, second = _one("a.warc.gz"), _one("b.warc.gz")
    fixity.record(tmp_path, first)
    fixity.record(tmp_path, second)
    # A crash in the middle of the next record's lines, in both files.
    with (tmp_path / MANIFEST_NAME).open("a") as manifest:
        manifest.write("cd" * 32 + "  c.warc")
    with (tmp_path / RECORDS_NAME).open("a") as records:
        records.write('{"name": "c.warc.gz", "size": 1')
    assert fixity.read(tmp_path) == {"a.warc.gz": first, "b.warc.gz": second}
    third = _one("c.warc.gz", "cd" * 32)
    fixity.record(tmp_path, third)  # the torn tails go, the new lines are whole
    assert fixity.read(tmp_path) == {"a.warc.gz": first, "b.warc.gz": second, "c.warc.gz": third}
    manifest_lines = (tmp_path / MANIFEST_NAME).read_text().splitlines()
    assert manifest_lines[-1] == "cd" * 32 + "  c.warc.gz" and len(manifest_lines) == 3
    assert all(json.loads(line) for line in (tmp_path / RECORDS_NAME).read_text().splitlines())


def test_the_last_of_duplicates_wins(tmp_path: Path) -> None:
    fixity.record(tmp_path, _one(size=10))
    fixity.record(tmp_path, _one(sha256="ef" * 32, size=20))
    assert fixity.read(tmp_path) == {"a.warc.gz": _one(sha256="ef" * 32, size=20)}
    line = json.loads((tmp_path / RECORDS_NAME).read_text().splitlines()[-1])
    assert line == {
        "name": "a.warc.gz",
        "size": 20,
        "mtime_ns": 1_700_000_000_123_456_789,
        "sha256": "ef" * 32,
        "crc32": "deadbeef",
    }


def test_a_record_the_two_files_disagree_on_is_not_one(tmp_path: Path) -> None:
    """A record appended to one file only (a crash between the two appends, or a hand edit
    of one) names no sums to trust."""
    fixity.record(tmp_path, _one("a.warc.gz"))
    fixity.record(tmp_path, _one("b.warc.gz"))
    with (tmp_path / MANIFEST_NAME).open("a") as manifest:
        manifest.write("ef" * 32 + "  a.warc.gz\n")
    with (tmp_path / RECORDS_NAME).open("a") as records:
        records.write(json.dumps({"name": "c.warc.gz", "size": 1, "mtime_ns": 1}) + "\n")
    assert fixity.read(tmp_path) == {"b.warc.gz": _one("b.warc.gz")}
