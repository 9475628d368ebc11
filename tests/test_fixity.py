"""Fixity at ingest (archive/fixity.py): each sealed WARC file's SHA-256, CRC-32, size and mtime
are recorded by its writer, exactly those of the file on disk, roll-backs included; never for an
unsealed file; a killed crawl's ``.open`` file is recorded as exactly when the next start
repairs it, once sealed and its rename durable; the manifest survives a torn line and takes the
last of duplicates; coreutils' ``sha256sum -c`` accepts the manifest of a crawl, killed or not;
files removed or renamed since stay listed, and the README's commands report them."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import zlib
from pathlib import Path

import pytest

from archive import fixity, repair
from archive.cdxj import warc_files
from archive.fixity import MANIFEST_NAME, RECORDS_NAME, Fixity
from archive.repair import repair_directory
from archive.wacz import PackageInfo, write_wacz
from archive.writer import ArchiveWriteError
from crawler import cli
from tests.archive_support import FailingFile, FailingFiles, exchange, make_writer
from tests.conftest import Crawled, require_tool
from tests.replica_process import ReplicaHandle
from tests.test_frontier import crawl_command, kill_after_items


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
    opener = FailingFiles(budget=10_000)
    files = opener.files

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
    opener = FailingFiles(budget=10_000)
    files = opener.files

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


def test_an_unsealed_file_gets_no_record(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange())
    writer.sync()  # a crawl killed here: the file stays .open
    assert list(tmp_path.glob("*.open"))
    assert fixity.read(tmp_path) == {}
    assert not (tmp_path / MANIFEST_NAME).exists() and not (tmp_path / RECORDS_NAME).exists()


# -- repair: a killed crawl's .open file, sealed at the next start ---------------------------


def _killed(directory: Path, tail: str) -> Path:
    """The ``.open`` file a crawl killed after six exchanges leaves, its end as ``tail`` says:
    whole, torn inside its last record, or followed by bytes that are no record."""
    writer = make_writer(directory, max_size=2500)
    for n in range(6):  # rotated: files sealed (and recorded) by the writer, then the .open
        writer.write_exchange(exchange(body=os.urandom(300 + n)))
    writer.sync()
    (path,) = directory.glob("*.open")
    if tail == "torn":
        os.truncate(path, path.stat().st_size - 40)
    elif tail == "garbage":
        with path.open("ab") as stream:
            stream.write(b"\x1f\x8b\x08garbage" * 10)
    return path


@pytest.mark.parametrize("tail", ["whole", "torn", "garbage"])
def test_repair_records_the_file_it_seals_exactly(tmp_path: Path, tail: str) -> None:
    """Repair sums the kept part as it reads it to find the last good record: the record is
    that of the sealed file's bytes, size and mtime, whatever was cut; ``sha256sum`` agrees."""
    unsealed = _killed(tmp_path, tail)
    (report,) = repair_directory(tmp_path)
    assert report.path.exists() and not unsealed.exists() and report.records > 0
    assert bool(report.cut_bytes) == (tail != "whole")
    assert report.path.name in fixity.read(tmp_path)
    _assert_recorded_exactly(tmp_path)  # the writer's files and the repaired one
    _sha256sum_check(tmp_path, files=len(list(tmp_path.glob("*.warc.gz"))))


def test_repair_records_only_once_the_rename_is_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record names the final file only after the rename from ``.open`` was fsynced: a
    power cut before that brings the ``.open`` file back, never a record without its file."""
    unsealed = _killed(tmp_path, "torn")
    final = unsealed.with_name(unsealed.name.removesuffix(".open"))
    events: list[str] = []
    fsync_directory = repair.fsync_directory
    record = fixity.record

    def spy_fsync(directory: Path) -> None:
        fsync_directory(directory)
        events.append("durable rename" if final.exists() else "fsync before the rename")

    def spy_record(directory: Path, one: Fixity) -> None:
        assert final.exists() and not unsealed.exists()
        events.append(f"record {one.name}")
        record(directory, one)

    monkeypatch.setattr(repair, "fsync_directory", spy_fsync)
    monkeypatch.setattr(fixity, "record", spy_record)
    repair_directory(tmp_path)
    assert events[:2] == ["durable rename", f"record {final.name}"]
    _assert_recorded_exactly(tmp_path)


@pytest.mark.parametrize("fails", ["rename", "durable rename"])
def test_repair_that_fails_to_seal_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    unsealed = _killed(tmp_path, "torn")
    before = fixity.read(tmp_path)

    def broken(*args: object) -> None:
        raise OSError(5, "Input/output error")

    if fails == "rename":
        monkeypatch.setattr(os, "replace", broken)
    else:
        monkeypatch.setattr(repair, "fsync_directory", broken)
    with pytest.raises(OSError):
        repair_directory(tmp_path)
    assert fixity.read(tmp_path) == before
    monkeypatch.undo()
    if fails == "rename":  # the next start seals it, and records it then
        assert unsealed.exists()
        repair_directory(tmp_path)
        _assert_recorded_exactly(tmp_path)


def test_repair_refusing_to_overwrite_records_nothing(tmp_path: Path) -> None:
    unsealed = _killed(tmp_path, "whole")
    final = unsealed.with_name(unsealed.name.removesuffix(".open"))
    final.write_bytes(b"someone else's file")
    before = fixity.read(tmp_path)
    with pytest.raises(FileExistsError):
        repair_directory(tmp_path)
    assert fixity.read(tmp_path) == before and unsealed.exists()


def test_repair_seals_even_when_the_record_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk while recording costs the next ``wacz`` a read, not the crawl's start."""
    unsealed = _killed(tmp_path, "torn")
    before = fixity.read(tmp_path)

    def full(directory: Path, one: Fixity) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fixity, "record", full)
    (report,) = repair_directory(tmp_path)
    assert report.path.exists() and not unsealed.exists()
    assert fixity.read(tmp_path) == before
    assert "could not be recorded" in caplog.text


def test_a_killed_crawl_is_repaired_recorded_and_packaged_from_the_manifest(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    """A crawl SIGKILLed mid-run (its last record torn, as a kill mid-write leaves it); the
    next start (``index``) seals its ``.open`` file with a record exactly that of the file on
    disk, ``sha256sum --check --strict`` passes on every file, and ``wacz`` takes every file's
    sums from the manifest."""
    directory = tmp_path / "c"
    slow = ("-s", "DOWNLOAD_DELAY=0.02")
    kill_after_items(crawl_command(replica, directory, *slow), directory, 6, signal.SIGKILL)
    warc_dir = directory / "warc"
    (unsealed,) = warc_dir.glob("*.warc.gz.open")
    os.truncate(unsealed, unsealed.stat().st_size - 7)
    assert cli.main(["index", str(directory)]) == 0
    final = unsealed.with_name(unsealed.name.removesuffix(".open"))
    assert final.exists() and not unsealed.exists()
    assert final.name in fixity.read(warc_dir)
    _assert_recorded_exactly(warc_dir)
    warcs = warc_files(warc_dir)
    _sha256sum_check(warc_dir, files=len(warcs))
    report = write_wacz(directory, tmp_path / "c.wacz", PackageInfo("killed"))
    assert (report.warc_files, report.from_manifest, report.summed) == (1, 1, 0)


def _sha256sum_check(directory: Path, *, files: int) -> None:
    sha256sum = require_tool("sha256sum")
    result = subprocess.run(
        [sha256sum, "--check", "--strict", MANIFEST_NAME],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK\n") == files


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
    _sha256sum_check(warc_dir, files=len(crawled.warcs))


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


# -- files removed or renamed since: the manifest is the history -----------------------------

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_commands() -> list[str]:
    """The README's fixity commands, run in ``DIR/warc`` (its example ``cd``s there first)."""
    prefix = "cd ~/archive/lapvo/warc && "
    text = README.read_text(encoding="utf-8")
    return [line.removeprefix(prefix) for line in text.splitlines() if line.startswith(prefix)]


def _bash(command: str, directory: Path) -> subprocess.CompletedProcess[str]:
    bash = require_tool("bash")
    return subprocess.run(
        [bash, "-c", command], cwd=directory, capture_output=True, text=True, check=False
    )


def test_removed_and_renamed_files_stay_listed_and_the_readme_commands_tell_them(
    tmp_path: Path,
) -> None:
    """Nothing removes a line: a file deleted or renamed since fails the README's check
    (``FAILED open or read``: a loss is what the check is for) and ``--ignore-missing`` passes
    over it; the README's second command lists the files the manifest does not (the new name,
    a file copied in); a later file's record is appended after the old lines; ``wacz`` sums the
    unlisted files and takes the others from the manifest."""
    warc_dir = tmp_path / "c" / "warc"
    writer = make_writer(warc_dir, max_size=2500)
    for n in range(4):
        writer.write_exchange(exchange(body=os.urandom(600 + n)))
    writer.close()
    deleted, renamed, *kept = sorted(warc_dir.glob("*.warc.gz"))
    assert len(kept) == 2
    deleted.unlink()
    renamed.rename(warc_dir / "renamed.warc.gz")
    (warc_dir / "copied-in.warc.gz").write_bytes(kept[0].read_bytes())
    lines = (warc_dir / MANIFEST_NAME).read_text()

    check, unlisted = _readme_commands()
    assert check == f"sha256sum -c --strict {MANIFEST_NAME}"
    strict = _bash(check, warc_dir)
    assert strict.returncode == 1
    failed = {line for line in strict.stdout.splitlines() if not line.endswith(": OK")}
    assert failed == {
        f"{deleted.name}: FAILED open or read",
        f"{renamed.name}: FAILED open or read",
    }
    ignoring = _bash(check.replace(" -c ", " -c --ignore-missing "), warc_dir)
    assert ignoring.returncode == 0, ignoring.stdout + ignoring.stderr
    assert ignoring.stdout.splitlines() == [f"{path.name}: OK" for path in kept]
    listed = _bash(unlisted, warc_dir)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["copied-in.warc.gz", "renamed.warc.gz"]

    writer.write_exchange(exchange())
    writer.close()
    now = (warc_dir / MANIFEST_NAME).read_text()
    assert now.startswith(lines) and len(now.splitlines()) == len(lines.splitlines()) + 1
    report = write_wacz(tmp_path / "c", tmp_path / "c.wacz", PackageInfo("history"))
    assert (report.warc_files, report.from_manifest, report.summed) == (5, 3, 2)
