"""No command writes its output over what it reads or over a file a collection keeps: a typo in
``--out`` must never cost a WARC file (extract and wacz replaced the WARC named, exit 0)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archive.collection import Collection
from crawler import cli
from tests.conftest import run_cli

DATA = Path(__file__).parent / "data" / "extract"
WARC = DATA / "crawl-1.warc.gz"


def _collection(directory: Path) -> Path:
    Collection(directory).open().close()
    shutil.copyfile(WARC, directory / "warc" / WARC.name)
    assert cli.main(["index", str(directory)]) == 0
    return directory


def _refused(argv: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    before = out.read_bytes() if out.exists() else None
    capsys.readouterr()
    assert cli.main(argv) == 2
    assert (out.read_bytes() if out.exists() else None) == before
    return capsys.readouterr().err


def _overwriting(out: Path, collection: Path) -> str:
    return (
        f"portal-archiver: --out {out} would overwrite a file of the collection {collection}; "
        "give a path outside its folders\n"
    )


def test_extract_never_writes_over_a_warc_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warc = tmp_path / WARC.name
    shutil.copyfile(WARC, warc)
    link = tmp_path / "link.warc.gz"
    link.symlink_to(warc)
    for out in (warc, link):
        said = _refused(["extract", str(warc), "--out", str(out)], warc, capsys)
        assert said == (
            f"portal-archiver: --out {out} is one of the WARC files extract reads; "
            "give another file name\n"
        )
    assert sorted(os.listdir(tmp_path)) == [WARC.name, "link.warc.gz"]


@pytest.mark.parametrize(
    "name", ["warc/crawl-1.warc.gz", "state.sqlite", "indexes/index.cdxj", "items.jsonl"]
)
def test_extract_never_writes_over_a_collections_file(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    collection = _collection(tmp_path / "c")
    (collection / "items.jsonl").touch()
    out = collection / name
    said = _refused(["extract", str(WARC), "--out", str(out)], out, capsys)
    assert said == _overwriting(out, collection)


def test_extract_may_write_a_new_file_beside_a_collections_folders(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "c")
    out = collection / "reparsed.jsonl"
    assert cli.main(["extract", str(collection / "warc" / WARC.name), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").count("\n") == 14


@pytest.mark.parametrize("name", ["warc/crawl-1.warc.gz", "state.sqlite", "warc/new.wacz"])
def test_wacz_never_writes_into_a_collection(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    collection = _collection(tmp_path / "c")
    other = _collection(tmp_path / "other")
    for target in (collection, other):
        out = target / name
        said = _refused(["wacz", str(collection), "--out", str(out)], out, capsys)
        assert said == _overwriting(out, target)


def test_wacz_may_write_a_new_package_beside_the_collections_folders(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "c")
    out = collection / "c.wacz"
    assert cli.main(["wacz", str(collection), "--out", str(out)]) == 0
    assert out.stat().st_size > 0


@pytest.mark.parametrize("inside", ["warc", "indexes/x", "new"])
def test_no_collection_is_made_inside_another(inside: str, tmp_path: Path) -> None:
    """``--out ~/archive/lapvo/warc`` for ``~/archive/lapvo``: a second collection in its
    folders would start from nothing, and look like the first's."""
    collection = _collection(tmp_path / "c")
    before = sorted(str(path) for path in collection.rglob("*"))
    out = collection / inside
    result = run_cli("crawl", "http://127.0.0.1:9/web/hlv", "--out", str(out), timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        f"portal-archiver: --out {out} lies inside the collection {collection}; "
        "give its own directory, or one outside it\n"
    )
    assert sorted(str(path) for path in collection.rglob("*")) == before


def test_extract_writes_its_items_to_standard_output_given_a_dash(tmp_path: Path) -> None:
    """``extract WARC --out - | jq``: the items on stdout, UTF-8 whatever the locale says, and
    the summary on stderr; no file named ``-`` (it was made in the current folder)."""
    expected = tmp_path / "items.jsonl"
    assert cli.main(["extract", str(WARC), "--out", str(expected)]) == 0
    command = [sys.executable, "-m", "crawler.cli", "extract", str(WARC), "--out", "-"]
    ascii_locale = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(
        command, capture_output=True, cwd=tmp_path, env=ascii_locale, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected.read_bytes()
    assert result.stderr.decode() == (
        "articles: 14   responses read: 16   not articles: 2   errors: 0\nitems: standard output\n"
    )
    assert sorted(os.listdir(tmp_path)) == ["items.jsonl"]


def test_a_wacz_is_never_written_to_a_file_named_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    collection = _collection(tmp_path / "c")
    monkeypatch.chdir(tmp_path)
    said = _refused(["wacz", str(collection), "--out", "-"], tmp_path / "-", capsys)
    assert said == (
        "portal-archiver: --out - names standard output, and a WACZ is a ZIP file that needs "
        "a seekable file: give a file name (a .wacz)\n"
    )


_MAKING_A_COLLECTION = [
    ["crawl", "http://127.0.0.1:9/web/hlv"],
    ["fetch", "http://127.0.0.1:9/web/hlv/x"],
    ["recover", "--archive", "http://127.0.0.1:9/", "http://127.0.0.1:9/"],
    ["demo"],
]


@pytest.mark.parametrize(
    ("out", "why"),
    [
        ("-", "'-' names standard output"),
        # ``--out "$ARCHIVE_DIR"`` with the variable unset made the current folder a collection.
        ("", "an empty path"),
    ],
    ids=["dash", "empty"],
)
@pytest.mark.parametrize("argv", _MAKING_A_COLLECTION, ids=lambda argv: argv[0])
def test_no_collection_is_named_dash_or_nothing(
    argv: list[str], out: str, why: str, tmp_path: Path
) -> None:
    result = run_cli(*argv, "--out", out, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        f"portal-archiver {argv[0]}: argument --out: {why}; a collection is a folder: give its "
        f"path (see portal-archiver {argv[0]} --help)\n"
    )
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("command", "lacking"),
    [
        (["index"], "no warc/ folder"),
        (["wacz", "--out", "x.wacz"], "no warc/ folder"),
        (["serve", "--port", "0"], "no items.jsonl, no warc/ folder"),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else "",
)
def test_a_folder_of_a_collection_given_for_it_is_named_so(
    command: list[str], lacking: str, tmp_path: Path
) -> None:
    """``index lapvo/warc`` for ``index lapvo``: the slip is said, with the right path."""
    collection = _collection(tmp_path / "c")
    given = collection / "warc"
    result = run_cli(*command, str(given), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        f"portal-archiver: {given} is not a collection ({lacking}); it lies inside the "
        f"collection {collection}: give that\n"
    )
    assert not (tmp_path / "x.wacz").exists()


@pytest.mark.parametrize(
    "command",
    [["index"], ["wacz", "--out", "x.wacz"], ["serve", "--port", "0"]],
    ids=lambda value: value[0],
)
def test_a_missing_path_or_a_file_given_for_a_collection_is_named_so(
    command: list[str], tmp_path: Path
) -> None:
    """One wording in every command that takes a collection: a typo in the name is "no such
    folder", a file is "a file", neither is "not a collection" (which sends the archivist
    looking inside a folder that is not there)."""
    missing, afile = tmp_path / "lapov", tmp_path / "lapvo.wacz"
    afile.write_bytes(b"PK")
    result = run_cli(*command, str(missing), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"portal-archiver: no such collection folder: {missing}\n"
    result = run_cli(*command, str(afile), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"portal-archiver: {afile} is a file, not a collection folder\n"
    assert not (tmp_path / "x.wacz").exists()


@pytest.mark.parametrize(
    ("command", "held"),
    [
        (["extract", str(WARC)], "gzip data (a WARC file?)"),
        (["wacz", "COLLECTION"], "gzip data (a WARC file?)"),
    ],
    ids=["extract", "wacz"],
)
def test_an_existing_file_of_another_kind_is_never_replaced(
    command: list[str], held: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``extract --out wget-1.warc.gz wget-2.warc.gz`` (the output name forgotten) replaced a
    WARC file outside any collection with JSON Lines, exit 0: only a file of the command's own
    kind (or an empty one) is replaced."""
    collection = _collection(tmp_path / "c")
    argv = [str(collection) if arg == "COLLECTION" else arg for arg in command]
    loose = tmp_path / "wget-1.warc.gz"
    shutil.copyfile(WARC, loose)
    said = _refused([*argv, "--out", str(loose)], loose, capsys)
    kind = "JSON Lines" if command[0] == "extract" else "WACZ"
    assert said == (
        f"portal-archiver: --out {loose} already holds {held}, not a {kind} file: "
        f"{command[0]} replaces only its own kind of file; give another name, or remove it first\n"
    )


@pytest.mark.parametrize(
    ("content", "held"),
    [
        (b"WARC/1.1\r\nWARC-Type: warcinfo\r\n", "a WARC file"),
        (b"PK\x03\x04rest", "a ZIP file"),
        (b"url,title\n", "something else"),
    ],
)
def test_extract_names_what_the_file_it_refuses_holds(
    content: bytes, held: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "items.jsonl"
    out.write_bytes(content)
    said = _refused(["extract", str(WARC), "--out", str(out)], out, capsys)
    assert f"--out {out} already holds {held}, not a JSON Lines file" in said


@pytest.mark.parametrize("content", [b"", b'{"key": "old#1"}\n', b"\n  {"])
def test_extract_replaces_an_empty_file_or_its_own_items(content: bytes, tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    out.write_bytes(content)
    assert cli.main(["extract", str(WARC), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").count("\n") == 14


def test_wacz_replaces_an_earlier_package(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "c")
    out = tmp_path / "c.wacz"
    assert cli.main(["wacz", str(collection), "--out", str(out)]) == 0
    first = out.read_bytes()
    assert cli.main(["wacz", str(collection), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == first[:4] == b"PK\x03\x04"


def test_an_output_that_is_no_regular_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rename over ``--out /dev/null`` (as root) would replace the device with a file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    capsys.readouterr()
    assert cli.main(["extract", str(WARC), "--out", str(fifo)]) == 2
    assert capsys.readouterr().err == (
        f"portal-archiver: --out {fifo} is not a regular file (a device, a pipe or a socket): "
        "give the name of a .jsonl file to write, or --out - for standard output\n"
    )
    assert fifo.is_fifo()
