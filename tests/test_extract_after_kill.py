"""``extract`` over a collection a killed crawl left with an unfinished WARC file: opening the
collection closes that file under its final name, and extract reads it there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archive.collection import Collection
from crawler import cli

DATA = Path(__file__).parent / "data" / "extract"
FIRST, SECOND = DATA / "crawl-1.warc.gz", DATA / "crawl-2.warc.gz"


def _killed_collection(directory: Path) -> Path:
    """A collection whose second WARC file was still being written when its crawl was killed."""
    Collection(directory).open().close()
    shutil.copyfile(FIRST, directory / "warc" / FIRST.name)
    unfinished = directory / "warc" / (SECOND.name + ".open")
    shutil.copyfile(SECOND, unfinished)
    return unfinished


def _lines(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n")


def test_an_unfinished_file_given_is_read_under_its_final_name(tmp_path: Path) -> None:
    unfinished = _killed_collection(tmp_path / "c")
    out = tmp_path / "items.jsonl"
    assert cli.main(["extract", str(unfinished), "--out", str(out)]) == 0
    assert not unfinished.exists()
    expected = tmp_path / "expected.jsonl"
    assert cli.main(["extract", str(SECOND), "--out", str(expected)]) == 0
    assert out.read_bytes() == expected.read_bytes()


def test_an_unfinished_file_not_given_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``extract DIR/warc/*.warc.gz`` after a kill: the shell did not list the unfinished file,
    which holds captures the others do not."""
    unfinished = _killed_collection(tmp_path / "c")
    given = tmp_path / "c" / "warc" / FIRST.name
    out = tmp_path / "items.jsonl"
    assert cli.main(["extract", str(given), "--out", str(out)]) == 0
    closed = unfinished.with_name(SECOND.name)
    assert (
        f"{unfinished} was the unfinished WARC file of a killed crawl, closed just now as "
        f"{closed}: not read, as it is not among the files given" in caplog.text
    )
    assert _lines(out) == 14


def test_an_unfinished_file_with_no_complete_record_gives_nothing(tmp_path: Path) -> None:
    unfinished = _killed_collection(tmp_path / "c")
    unfinished.write_bytes(SECOND.read_bytes()[:100])  # killed inside its first record
    out = tmp_path / "items.jsonl"
    assert cli.main(["extract", str(unfinished), "--out", str(out)]) == 0
    assert not unfinished.exists()
    assert out.read_bytes() == b""
