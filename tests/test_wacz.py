"""``portal-archiver wacz``: a WACZ 1.1.1 package that py-wacz validates, whose hashes match,
that lists every article version with its text, cut by site and date by whole records, and
never half-written."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import shutil
import subprocess
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

import archive.wacz
from archive.cdxj import build_index
from archive.collection import Collection, take_lock
from archive.wacz import PackageInfo, Selection, WaczError, write_wacz
from archive.writer import ArchiveWriter
from tests.archive_support import exchange, five_pages_one_damaged, warcio_check
from tests.conftest import Crawled, run_cli
from tests.replay_support import py_wacz_validate


@pytest.fixture(scope="module")
def package(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wacz") / "lapvo.wacz"
    result = run_cli(
        "wacz", str(crawled.directory), "--out", str(out), "--title", "Lấp Vò", "--description", "d"
    )
    assert result.returncode == 0, result.stderr
    assert "pages: " in result.stdout
    # The crawl's files are taken with the sums their writer recorded: the checks below
    # (py-wacz, every SHA-256 and CRC-32 against the bytes) are of that path.
    sums = f"WARC sums: {len(crawled.warcs)} files from the fixity manifest, 0 read back"
    assert sums in result.stdout
    return out


def test_py_wacz_validates_the_package(package: Path) -> None:
    assert "Validation succeeded" in py_wacz_validate(package)


def test_hashes_and_sizes_match_the_files(package: Path, crawled: Crawled) -> None:
    with zipfile.ZipFile(package) as wacz:
        datapackage = json.loads(wacz.read("datapackage.json"))
        digest = json.loads(wacz.read("datapackage-digest.json"))
        assert (
            digest["hash"] == "sha256:" + hashlib.sha256(wacz.read("datapackage.json")).hexdigest()
        )
        assert datapackage["profile"] == "data-package"
        assert datapackage["wacz_version"] == "1.1.1"
        assert (datapackage["title"], datapackage["description"]) == ("Lấp Vò", "d")
        assert datapackage["mainPageUrl"] == f"{crawled.replica.url}web/hlv"
        listed = {resource["path"]: resource for resource in datapackage["resources"]}
        assert set(listed) == set(wacz.namelist()) - {"datapackage.json", "datapackage-digest.json"}
        for path, resource in listed.items():
            data = wacz.read(path)
            assert resource["bytes"] == len(data)
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        for warc in crawled.warcs:
            name = f"archive/{warc.name}"
            assert wacz.getinfo(name).compress_type == zipfile.ZIP_STORED
            assert wacz.read(name) == warc.read_bytes(), "WARC files are stored as they are"


def test_index_holds_every_capture_sorted(package: Path, crawled: Crawled, tmp_path: Path) -> None:
    build_index(crawled.directory / "warc", tmp_path / "expected.cdxj")
    with zipfile.ZipFile(package) as wacz:
        lines = wacz.read("indexes/index.cdxj").decode().splitlines(keepends=True)
    assert lines == sorted(lines) == (tmp_path / "expected.cdxj").read_text().splitlines(True)
    assert not [line for line in lines if line.startswith("urn:")]


def test_pages_list_every_article_version_with_its_text(package: Path, crawled: Crawled) -> None:
    with zipfile.ZipFile(package) as wacz:
        header, *pages = map(json.loads, wacz.read("pages/pages.jsonl").decode().splitlines())
    assert header["format"] == "json-pages-1.0" and header["hasText"] is True
    items = crawled.items
    assert [(p["url"], p["ts"], p["title"]) for p in pages] == [
        (item["url"], item["fetched_at"], item["title"]) for item in items
    ]
    for page, item in zip(pages, items, strict=True):
        assert all(paragraph in page["text"] for paragraph in item["paragraphs"])
        assert not item["summary"] or page["text"].startswith(item["summary"])


# -- a hand-made collection of two hosts and two days -------------------------------------

A = "https://lapvo.dongthap.gov.vn/web/hlv/chi-tiet-bai-viet/-/asset_publisher/x/content/id/1"
B = "https://sadec.dongthap.gov.vn/web/tpsd/chi-tiet-bai-viet/-/asset_publisher/x/content/id/2"
PHOTO = "https://dongthap.gov.vn/documents/1/0/a.jpg/u?t=1"
DAY1 = datetime(2026, 11, 1, 8, tzinfo=UTC)
DAY2 = datetime(2026, 11, 2, 8, tzinfo=UTC)
HTML = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
JPEG = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n"


def _two_site_collection(directory: Path) -> None:
    items = []
    writer = ArchiveWriter(directory / "warc", info={"seeds": A})
    for url, when in [(A, DAY1), (B, DAY1), (A, DAY2)]:
        page = exchange(head=HTML, body=f"<p>{url} {when}</p>".encode(), url=url)
        location = writer.write_exchange(dataclasses.replace(page, fetched_at=when))
        item = {
            "url": url,
            "title": f"T {url[-1]}",
            "summary": None,
            "paragraphs": [f"text of {url[-1]}"],
            "images": [{"url": PHOTO, "caption": None}] if url == A else [],
            "attachments": [],
            "fetched_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "warc": dataclasses.asdict(location),
        }
        writer.write_metadata(
            target_uri=url, concurrent_to=location.record_id, payload=json.dumps(item).encode()
        )
        items.append(item)
    photo = exchange(head=JPEG, body=b"\xff\xd8jpeg", url=PHOTO)
    writer.write_exchange(dataclasses.replace(photo, fetched_at=DAY1))
    writer.close()
    lines = "".join(json.dumps(item) + "\n" for item in items)
    (directory / "items.jsonl").write_text(lines, encoding="utf-8")


def _records(warc: bytes) -> list[tuple[str, str]]:
    return [
        (r.rec_type, r.rec_headers.get_header("WARC-Target-URI") or "")
        for r in ArchiveIterator(io.BytesIO(warc))
    ]


def test_one_site_and_day_cut_by_whole_records(tmp_path: Path) -> None:
    _two_site_collection(tmp_path / "c")
    (source,) = (tmp_path / "c" / "warc").glob("*.warc.gz")
    out = tmp_path / "a.wacz"
    selection = Selection(
        host="lapvo.dongthap.gov.vn", first_day="2026-11-01", last_day="2026-11-01"
    )
    report = write_wacz(tmp_path / "c", out, PackageInfo("a"), selection)
    assert (report.warc_files, report.pages) == (1, 1)
    with zipfile.ZipFile(out) as wacz:
        cut = wacz.read(f"archive/{source.name}")
        index = wacz.read("indexes/index.cdxj").decode().splitlines()
        pages = wacz.read("pages/pages.jsonl").decode().splitlines()[1:]
    assert _records(cut) == [
        ("warcinfo", ""),
        ("response", A),
        ("request", A),
        ("metadata", "urn:portal-archiver:item:" + A),
        ("response", PHOTO),  # the article's photo, on another host
        ("request", PHOTO),
    ]
    assert (tmp_path / "cut.warc.gz").write_bytes(cut)
    warcio_check(tmp_path / "cut.warc.gz")
    # Whole gzip members of the source, not recompressed: every index line points at one.
    original = source.read_bytes()
    for line in index:
        entry = json.loads(line.split(" ", 2)[2])
        offset, length = int(entry["offset"]), int(entry["length"])
        assert cut[offset : offset + length] in original
        assert _records(cut[offset : offset + length])[0][1] == entry["url"]
    assert [json.loads(page)["url"] for page in pages] == [A]


def test_nothing_selected_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    _two_site_collection(tmp_path / "c")
    with pytest.raises(WaczError, match="nothing in the collection matches"):
        write_wacz(tmp_path / "c", tmp_path / "x.wacz", PackageInfo("x"), Selection(host="no.vn"))
    assert os.listdir(tmp_path) == ["c"]


def test_a_failure_midway_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_site_collection(tmp_path / "c")
    (tmp_path / "x.wacz").write_bytes(b"the previous package")

    def broken(path: Path, damaged: object = None) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(archive.wacz, "index_lines", broken)
    with pytest.raises(WaczError, match=r"x\.wacz was not written: No space left on device$"):
        write_wacz(tmp_path / "c", tmp_path / "x.wacz", PackageInfo("x"))
    assert sorted(os.listdir(tmp_path)) == ["c", "x.wacz"]
    assert (tmp_path / "x.wacz").read_bytes() == b"the previous package"


def test_memory_stays_flat_with_big_warcs(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path / "c" / "warc")
    for n in range(24):
        photo = exchange(head=JPEG, body=os.urandom(1 << 20), url=f"{PHOTO}{n}")
        writer.write_exchange(photo)
    writer.close()
    tracemalloc.start()
    try:
        write_wacz(tmp_path / "c", tmp_path / "big.wacz", PackageInfo("big"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (tmp_path / "big.wacz").stat().st_size > 24 << 20
    assert peak < 8 << 20, f"peak {peak:,} bytes for a 24 MB collection"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-45"], "not a date"),
        (["--site", "nowhere.vn"], "nothing in the collection matches"),
        # Said as recover says it: "nothing matches" sent the archivist to the collection.
        (
            ["--from", "2025-05-01", "--to", "2025-01-01"],
            "--from 2025-05-01 is after --to 2025-01-01",
        ),
    ],
)
def test_bad_options_are_one_sentence(tmp_path: Path, args: list[str], message: str) -> None:
    _two_site_collection(tmp_path / "c")
    result = run_cli("wacz", str(tmp_path / "c"), "--out", str(tmp_path / "x.wacz"), *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.wacz").exists()


def test_not_a_collection_or_busy_is_refused(tmp_path: Path) -> None:
    result = run_cli("wacz", str(tmp_path), "--out", str(tmp_path / "x.wacz"))
    assert result.returncode == 2
    assert result.stderr == f"portal-archiver: {tmp_path} is not a collection (no warc/ folder)\n"
    _two_site_collection(tmp_path / "c")
    with Collection(tmp_path / "c"):
        result = run_cli("wacz", str(tmp_path / "c"), "--out", str(tmp_path / "x.wacz"))
    assert result.returncode == 2 and "in use by another crawl" in result.stderr
    assert not (tmp_path / "x.wacz").exists()


def test_article_versions_in_a_lost_warc_file_are_said(tmp_path: Path) -> None:
    """A WARC file gone from the collection: its article versions cannot be in the package,
    and the archivist sharing it must know, not find them missing later."""
    _two_site_collection(tmp_path / "c")
    items_path = tmp_path / "c" / "items.jsonl"
    lines = items_path.read_text(encoding="utf-8").splitlines()
    lost = json.loads(lines[0]) | {"warc": {"file": "gone.warc.gz", "offset": 0, "record_id": "x"}}
    items_path.write_text("\n".join([json.dumps(lost), *lines[1:]]) + "\n", encoding="utf-8")
    result = run_cli("wacz", str(tmp_path / "c"), "--out", str(tmp_path / "x.wacz"))
    assert result.returncode == 0, result.stderr
    assert "pages: 2" in result.stdout
    assert (
        "not packaged: 1 article version whose WARC file is missing: gone.warc.gz" in result.stdout
    )


def test_lines_that_are_no_items_are_said_and_left_out(tmp_path: Path) -> None:
    """items.jsonl is a text file an archivist may edit and a disk may damage: a line that is
    no item (not JSON, not an object, no page URL) costs the package that line, never the
    package, and the archivist learns where it is."""
    _two_site_collection(tmp_path / "c")
    items_path = tmp_path / "c" / "items.jsonl"
    first, *rest = items_path.read_text(encoding="utf-8").splitlines(keepends=True)
    damaged = ['{"url": "http://a.example/1", "tit\n', "[1, 2]\n", '{"images": null}\n']
    items_path.write_text("".join([first, *damaged, *rest]), encoding="utf-8")
    result = run_cli("wacz", str(tmp_path / "c"), "--out", str(tmp_path / "x.wacz"))
    assert result.returncode == 0, result.stderr
    assert "pages: 3" in result.stdout
    assert "not packaged: 3 lines of items.jsonl that are no items (see the log)" in result.stdout
    offset = len(first.encode())
    assert f"items.jsonl at byte {offset}: not an item (not JSON" in result.stderr
    assert items_path.read_text(encoding="utf-8") == "".join([first, *damaged, *rest])


@pytest.mark.parametrize("cut", [False, True])
def test_a_damaged_warc_file_is_packaged_around_its_damage_and_said(
    tmp_path: Path, cut: bool
) -> None:
    """A gzip member a disk damaged: the package holds every whole record (a cut copies each
    one, those after the damage too), the summary says where the damage is, and the exit
    status is 1; warcio's own complaints stay off the terminal."""
    directory = tmp_path / "c"
    _, offsets, _ = five_pages_one_damaged(directory / "warc")
    selection = ["--from", "2000-01-01"] if cut else []
    result = run_cli("wacz", str(directory), "--out", str(tmp_path / "x.wacz"), *selection)
    assert result.returncode == 1, result.stderr
    assert "captures: 4 " in result.stdout
    assert f"unreadable WARC data at offset {offsets[2]}: " in result.stderr
    assert "Error -3" not in result.stderr
    assert "damaged: 1 place in 1 WARC file (said above)" in result.stdout
    if cut:  # whole records only: a valid package (the whole file keeps its damage, as it is)
        assert py_wacz_validate(tmp_path / "x.wacz")


def _copy_of(crawled: Crawled, directory: Path) -> Path:
    shutil.copytree(crawled.directory, directory, ignore=shutil.ignore_patterns(".lock"))
    return directory


@pytest.mark.parametrize("loss", ["emptied", "deleted"])
def test_a_lost_items_file_is_restored_before_packaging(
    crawled: Crawled, tmp_path: Path, loss: str
) -> None:
    """wacz read items.jsonl as it found it: emptied or deleted, the package listed no page,
    exit 0 and nothing said, where any other command's opening restores it from the state."""
    collection = _copy_of(crawled, tmp_path / "c")
    items_path = collection / "items.jsonl"
    before = items_path.read_bytes()
    if loss == "emptied":
        items_path.write_bytes(b"")
    else:
        items_path.unlink()
    result = run_cli("wacz", str(collection), "--out", str(tmp_path / "x.wacz"))
    assert result.returncode == 0, result.stderr
    assert f"pages: {len(crawled.items)}" in result.stdout
    assert items_path.read_bytes() == before


def test_a_killed_first_crawl_is_closed_and_packaged(crawled: Crawled, tmp_path: Path) -> None:
    """A crawl killed before its first WARC file closed: wacz said "holds no closed WARC files
    to package", where opening the collection (as extract and index do) closes the file."""
    collection = _copy_of(crawled, tmp_path / "c")
    for warc in (collection / "warc").glob("*.warc.gz"):
        warc.rename(warc.with_name(warc.name + ".open"))
    result = run_cli("wacz", str(collection), "--out", str(tmp_path / "x.wacz"))
    assert result.returncode == 0, result.stderr
    assert f"WARC files: {len(crawled.warcs)}" in result.stdout
    assert f"pages: {len(crawled.items)}" in result.stdout
    assert not list((collection / "warc").glob("*.open"))


def test_an_unfinished_file_left_open_by_other_readers_is_named(
    crawled: Crawled, tmp_path: Path
) -> None:
    """While an extract reads the collection, wacz cannot close a killed crawl's file: it says
    which file, and how to close it, instead of "no closed WARC files"."""
    collection = _copy_of(crawled, tmp_path / "c")
    (warc,) = (collection / "warc").glob("*.warc.gz")
    warc.rename(warc.with_name(warc.name + ".open"))
    reader = take_lock(collection, collection / ".lock", advice="w", command="wacz", shared=True)
    try:
        result = run_cli("wacz", str(collection), "--out", str(tmp_path / "x.wacz"))
    finally:
        os.close(reader)
    assert result.returncode == 2
    assert result.stderr == (
        f"portal-archiver: {collection} holds no closed WARC files to package: {warc.name}.open "
        "is the unfinished file of a killed crawl, left as it is while other commands read the "
        "collection (or where it cannot be written); once they have finished, run "
        f"portal-archiver index {collection} (or the same crawl again) to close it\n"
    )


@contextlib.contextmanager
def _unwritable(directory: Path) -> Iterator[None]:
    """``directory`` and all it holds made immutable (``chattr +i``: even root cannot write
    it), as on a read-only mount or snapshot; skipped where the file system refuses that."""
    done = subprocess.run(["chattr", "-R", "+i", str(directory)], capture_output=True, check=False)
    if done.returncode != 0:
        subprocess.run(["chattr", "-R", "-i", str(directory)], capture_output=True, check=False)
        pytest.skip(f"chattr +i refused here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-R", "-i", str(directory)], check=True)


def test_a_read_only_collection_is_packaged_and_extracted_as_it_is(
    crawled: Crawled, tmp_path: Path
) -> None:
    """A read-only copy (a snapshot, a share, WORM media) could be neither packaged nor
    re-extracted: both failed on the lock file ("Read-only file system (ro/.lock)"). Nothing
    can be repaired there, and no writer can work on it: it is read as it is."""
    collection = _copy_of(crawled, tmp_path / "c")
    (collection / ".lock").touch()  # as a crawl leaves it
    warcs = [str(path) for path in sorted((collection / "warc").glob("*.warc.gz"))]
    with _unwritable(collection):
        packaged = run_cli("wacz", str(collection), "--out", str(tmp_path / "x.wacz"))
        extracted = run_cli("extract", *warcs, "--out", str(tmp_path / "x.jsonl"))
    assert packaged.returncode == 0, packaged.stderr
    assert f"pages: {len(crawled.items)}" in packaged.stdout
    assert extracted.returncode == 0, extracted.stderr
    assert (tmp_path / "x.jsonl").read_bytes() == (collection / "items.jsonl").read_bytes()
    for result in (packaged, extracted):
        assert f"{collection} cannot be written: read as it is" in result.stderr


def test_a_warc_file_cut_short_is_said_twice_over(crawled: Crawled, tmp_path: Path) -> None:
    """A closed WARC cut short (a copy onto a full disk, a disk's loss): wacz said nothing and
    exited 0, having quietly summed the file anew. Its damage is said with its offset, and its
    size against the one its writer recorded."""
    collection = _copy_of(crawled, tmp_path / "c")
    (warc,) = (collection / "warc").glob("*.warc.gz")
    size = warc.stat().st_size
    with warc.open("r+b") as stream:
        stream.truncate(size * 2 // 3)
    result = run_cli("wacz", str(collection), "--out", str(tmp_path / "x.wacz"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{warc} is {size * 2 // 3} bytes, but its writer closed it at {size}" in result.stderr
    assert f"{warc.name}: unreadable WARC data at offset " in result.stderr
    assert "damaged: 1 place in 1 WARC file" in result.stdout
