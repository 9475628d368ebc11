"""A full disk, met by each command that writes: one sentence, exit 2, and nothing lost (no
half-written output in place of a whole one, no collection touched).

The disk is full for the command's own process only: a file-size limit (``run_cli``'s
``max_file_size``) makes the kernel fail every write past it, as a full disk fails it.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from archive.collection import Collection, CollectionError
from archive.search import Query, SearchIndex
from crawler import cli, commands, reextract
from reading_room.shelf import Shelf
from tests.conftest import run_cli

DATA = Path(__file__).parent / "data" / "extract"
WARCS = [DATA / "crawl-1.warc.gz", DATA / "crawl-2.warc.gz"]
EXPECTED = DATA / "expected-crawl.jsonl"
PREVIOUS = '{"title": "the previous extraction"}\n'


def test_extract_on_a_full_disk_keeps_the_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    out.write_text(PREVIOUS, encoding="utf-8")
    result = run_cli("extract", *map(str, WARCS), "--out", str(out), max_file_size=8192)
    assert result.returncode == 2
    assert result.stderr == f"portal-archiver: {out} was not written: File too large\n"
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert os.listdir(tmp_path) == ["items.jsonl"]  # no part file left beside it


def test_an_interrupted_extract_keeps_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = reextract._Extraction.emit

    def emit(self: reextract._Extraction, *args: object) -> None:
        if self.stats.articles == 2:
            raise KeyboardInterrupt
        real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(reextract._Extraction, "emit", emit)
    out = tmp_path / "items.jsonl"
    out.write_text(PREVIOUS, encoding="utf-8")
    assert cli.main(["extract", *map(str, WARCS), "--out", str(out)]) == 130
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert os.listdir(tmp_path) == ["items.jsonl"]


def test_extract_replaces_the_previous_output_once_whole(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    out.write_text(PREVIOUS, encoding="utf-8")
    assert cli.main(["extract", *map(str, WARCS), "--out", str(out)]) == 0
    assert out.read_bytes() == EXPECTED.read_bytes()
    assert os.listdir(tmp_path) == ["items.jsonl"]


def test_a_collection_that_cannot_be_opened_is_one_sentence(tmp_path: Path) -> None:
    collection = tmp_path / "c"
    (collection / "warc").mkdir(parents=True)
    result = run_cli("index", str(collection), max_file_size=1024)
    assert result.returncode == 2
    assert result.stderr.startswith(f"portal-archiver: cannot open the collection {collection}: ")
    assert result.stderr.count("\n") == 1
    assert "bug" not in result.stderr


def test_a_damaged_state_database_is_named(tmp_path: Path) -> None:
    collection = tmp_path / "c"
    (collection / "warc").mkdir(parents=True)
    damaged = b"not a database, " * 512
    (collection / "state.sqlite").write_bytes(damaged)
    result = run_cli("index", str(collection))
    assert result.returncode == 2
    assert result.stderr == (
        f"portal-archiver: cannot open the collection {collection}: "
        f"{collection / 'state.sqlite'}: file is not a database. Move it aside (mv "
        f"{collection / 'state.sqlite'} {collection / 'state.sqlite.damaged'}) and run the "
        "command again: the state is built anew from items.jsonl and the WARC files, and "
        "nothing archived is lost (an unfinished crawl starts over)\n"
    )
    assert (collection / "state.sqlite").read_bytes() == damaged


def _served_collection(directory: Path) -> Path:
    (directory / "warc").mkdir(parents=True)
    shutil.copyfile(EXPECTED, directory / "items.jsonl")
    return directory


def test_serve_on_a_full_disk_is_one_sentence(tmp_path: Path) -> None:
    collection = _served_collection(tmp_path / "c")
    result = run_cli(
        "serve", str(collection), "--port", "0", "--no-replay", max_file_size=1024, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(
        f"portal-archiver: the search index of {collection} cannot be written: "
    )
    assert "bug" not in result.stderr
    # The collection is as it was; SQLite may have made the (empty) file of its cache.
    assert (collection / "items.jsonl").read_bytes() == EXPECTED.read_bytes()
    added = set(os.listdir(collection)) - {"items.jsonl", "warc"}
    assert added <= {"search.sqlite", "search.sqlite-wal", "search.sqlite-shm"}


def test_serve_keeps_its_index_elsewhere_when_the_collection_cannot_hold_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection on a full disk (or one that refuses the index for any other reason) is
    searched from an index in a temporary folder, as a read-only collection is."""
    collection = _served_collection(tmp_path / "c")
    real = SearchIndex.__init__

    def full_in_collection(self: SearchIndex, directory: Path, path: Path | None = None) -> None:
        if path is None or path.parent == collection:
            raise sqlite3.OperationalError("database or disk is full")
        real(self, directory, path)

    monkeypatch.setattr(SearchIndex, "__init__", full_in_collection)
    shelf = Shelf(collection, "c")
    lines = EXPECTED.read_text(encoding="utf-8").count("\n")
    assert shelf.refresh() == lines
    assert shelf.index_path.parent != collection
    assert shelf.index().search(Query()).total > 0
    shutil.rmtree(shelf.index_path.parent)


def test_a_failed_update_while_serving_keeps_the_index_searched_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    collection = _served_collection(tmp_path / "c")
    shelf = Shelf(collection, "c")
    shelf.refresh()
    before = shelf.index().search(Query()).total
    with (collection / "items.jsonl").open("a", encoding="utf-8") as items:
        items.write(EXPECTED.read_text(encoding="utf-8").splitlines()[0] + "\n")

    def full(self: SearchIndex) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SearchIndex, "update", full)
    assert shelf.refresh() == 0
    assert "searched as of its last update" in caplog.text
    assert shelf.index_path == collection / "search.sqlite"
    assert shelf.index().search(Query()).total == before


def test_a_full_disk_is_named_where_sqlite_says_disk_i_o_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite3, "connect", connect)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=0))
    with pytest.raises(CollectionError) as raised:
        Collection(tmp_path / "c").open()
    assert str(raised.value) == (
        f"cannot open the collection {tmp_path / 'c'}: "
        f"{tmp_path / 'c' / 'state.sqlite'}: disk I/O error (the disk is full)"
    )


def test_index_on_a_full_disk_keeps_the_previous_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    collection = tmp_path / "c"
    (collection / "warc").mkdir(parents=True)
    shutil.copyfile(WARCS[0], collection / "warc" / WARCS[0].name)
    assert cli.main(["index", str(collection)]) == 0
    index = collection / "indexes" / "index.cdxj"
    previous = index.read_bytes()
    shutil.copyfile(WARCS[1], collection / "warc" / WARCS[1].name)
    real = os.replace

    def full(source: Path, destination: Path) -> None:
        if Path(destination) == index:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(source, destination)

    monkeypatch.setattr(os, "replace", full)
    capsys.readouterr()
    assert cli.main(["index", str(collection)]) == 2
    assert capsys.readouterr().err == (
        f"portal-archiver: {index} was not written: No space left on device\n"
    )
    assert index.read_bytes() == previous
    assert sorted(os.listdir(index.parent)) == ["index.cdxj"]


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.ENOSPC, "portal-archiver: No space left on device (/x/y)\n"),
        (errno.EROFS, "portal-archiver: Read-only file system (/x/y)\n"),
    ],
)
def test_a_full_or_read_only_disk_anywhere_is_no_bug(
    code: int, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(args: object) -> int:
        raise OSError(code, os.strerror(code), "/x/y")

    monkeypatch.setattr(commands, "run_index", failing)
    assert cli.main(["index", "/x"]) == 2
    assert capsys.readouterr().err == said


def test_any_other_os_error_is_still_reported_as_a_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(args: object) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    monkeypatch.setattr(commands, "run_index", failing)
    assert cli.main(["index", "/x"]) == 1
    assert "this is a bug" in capsys.readouterr().err
