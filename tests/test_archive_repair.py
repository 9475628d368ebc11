"""repair_directory: unfinished files are cut back to their last complete record and closed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archive.repair import repair_directory
from tests.archive_support import exchange, make_writer, warcio_check


def unfinished(tmp_path: Path) -> tuple[Path, int, int]:
    """An ``.open`` file with three exchanges; (path, end of the 2nd exchange, full size)."""
    writer = make_writer(tmp_path / "src")
    writer.write_exchange(exchange())
    writer.write_exchange(exchange(body=b"second"))
    third = writer.write_exchange(exchange(body=b"third" * 100))
    (path,) = (tmp_path / "src").glob("*.open")
    return path, third.offset, path.stat().st_size


def test_clean_open_file_is_just_closed(tmp_path: Path) -> None:
    path, _, size = unfinished(tmp_path)
    (report,) = repair_directory(path.parent)
    assert report.path == path.with_name(path.name.removesuffix(".open"))
    assert (report.kept_size, report.records, report.problem) == (size, 7, None)
    warcio_check(report.path)


@pytest.mark.parametrize("cut", [1, 2, 10, 40, 100, 200, 300])
def test_truncated_last_record_is_cut(tmp_path: Path, cut: int) -> None:
    path, good_end, size = unfinished(tmp_path)
    with path.open("r+b") as stream:
        stream.truncate(size - cut)
    (report,) = repair_directory(path.parent)
    # The third exchange's response may survive when only its request was torn.
    assert report.kept_size in (good_end, *range(good_end + 1, size - cut + 1))
    assert report.problem and report.cut_bytes > 0
    assert not list(path.parent.glob("*.open"))
    warcio_check(report.path)


def test_every_cut_offset_of_the_last_record(tmp_path: Path) -> None:
    path, good_end, size = unfinished(tmp_path)
    original = path.read_bytes()
    for end in range(good_end, size, 7):
        work = tmp_path / f"cut{end}"
        work.mkdir()
        (work / path.name).write_bytes(original[:end])
        (report,) = repair_directory(work)
        assert good_end <= report.kept_size <= end
        warcio_check(report.path)


def test_garbage_tail_is_cut(tmp_path: Path) -> None:
    path, _, size = unfinished(tmp_path)
    with path.open("ab") as stream:
        stream.write(b"\x1f\x8b\x08garbage" * 10)
    (report,) = repair_directory(path.parent)
    assert report.kept_size == size and "offset" in (report.problem or "")


def test_empty_or_headless_file_is_deleted(tmp_path: Path) -> None:
    (tmp_path / "a.warc.gz.open").write_bytes(b"")
    (tmp_path / "b.warc.gz.open").write_bytes(b"\x1f\x8b\x08\x00")
    reports = repair_directory(tmp_path)
    assert [r.deleted for r in reports] == [True, True]
    assert not list(tmp_path.iterdir())


def test_finished_files_are_left_alone(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "data" / "warc" / "truncated.warc.gz"
    shutil.copy(fixture, tmp_path)
    assert repair_directory(tmp_path) == []
    assert (tmp_path / fixture.name).read_bytes() == fixture.read_bytes()
