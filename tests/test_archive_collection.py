"""Collection: lock, repair at open, torn items lines, kill-safe reconciliation, full disk."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from archive.collection import (
    ArticleState,
    Collection,
    CollectionError,
    CollectionLocked,
    OpenCrawlConflict,
    content_digest,
    encode_item,
    take_lock,
)
from archive.frontier import OWED, FrontierEntry
from archive.records import sha1_digest
from archive.writer import ArchiveWriteError
from tests.archive_support import (
    FETCHED,
    FailingFiles,
    exchange,
    make_writer,
    warcio_check,
)


def capture(collection: Collection, key: str, *, commit: bool = True) -> dict[str, object]:
    """Run the protocol for one new article; ``commit=False`` stops before the state commit."""
    ex = exchange(head=b'HTTP/1.1 200 OK\r\nETag: "v1"\r\n\r\n', body=key.encode())
    location = collection.open_writer().write_exchange(ex)
    version = collection.next_version(key)
    item = {"key": key, "version": version, "url": ex.url, "fetched_at": "2026-11-26T12:00:00Z"}
    item["warc"] = {
        "file": location.file,
        "offset": location.offset,
        "record_id": location.record_id,
    }
    collection.append_item(json.dumps(item))
    if commit:
        collection.record_capture(
            ArticleState(
                key,
                ex.url,
                version,
                payload_digest=sha1_digest(ex.body),
                etag='"v1"',
                last_modified=None,
                warc_date="2026-11-26T12:00:00.123456Z",
                fetched_at=FETCHED.isoformat(),
                location=location,
            )
        )
    return item


def items(directory: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (directory / "items.jsonl").read_text().splitlines()]


def test_layout_and_state_round_trip(tmp_path: Path) -> None:
    with Collection(tmp_path) as collection:
        capture(collection, "a#1")
        collection.touch("a#1", "2026-12-01T00:00:00Z")
        state = collection.get("a#1")
        assert state and (state.version, state.etag, state.fetched_at) == (
            1,
            '"v1"',
            "2026-12-01T00:00:00Z",
        )
        assert collection.next_version("a#1") == 2 and collection.get("b#2") is None
        assert collection.build_index() == 1
    for name in ("warc", "items.jsonl", "indexes/index.cdxj", "state.sqlite", "jobs", ".lock"):
        assert (tmp_path / name).exists()
    warcio_check(*tmp_path.glob("warc/*.warc.gz"))


def test_pending_index_lines_go_once_the_index_is_built(tmp_path: Path) -> None:
    pending = tmp_path / ".index-pending.cdxj"
    with Collection(tmp_path) as collection:
        capture(collection, "a#1")
        assert pending.exists()
        assert collection.build_index() == 1
        assert not pending.exists()
        capture(collection, "b#2")  # written after a build: indexed by the next one
        assert collection.build_index() == 2
    assert not pending.exists()


def test_second_opener_is_refused_naming_the_pid(tmp_path: Path) -> None:
    with (
        Collection(tmp_path),
        pytest.raises(CollectionLocked, match=r"in use by another crawl \(pid \d+\)"),
    ):
        Collection(tmp_path).open()
    Collection(tmp_path).open().close()  # released on close


def test_readers_share_a_collection_and_a_writer_is_refused_naming_them(tmp_path: Path) -> None:
    """Two extracts, or an extract and a wacz, read at once; a crawl waits for them, told that
    commands read the collection (not "another crawl": an archivist would look for one)."""
    Collection(tmp_path).open().close()
    lock = tmp_path / ".lock"
    first = take_lock(tmp_path, lock, advice="wait", command="extract", shared=True)
    second = take_lock(tmp_path, lock, advice="wait", command="wacz", shared=True)
    readers = "in use by commands reading it (portal-archiver extract or wacz)"
    with pytest.raises(CollectionLocked, match=re.escape(readers)):
        Collection(tmp_path).open()
    os.close(first)
    with pytest.raises(CollectionLocked, match=re.escape(readers)):
        Collection(tmp_path).open()
    os.close(second)
    with Collection(tmp_path), pytest.raises(CollectionLocked, match=r"another crawl \(pid \d+"):
        take_lock(tmp_path, lock, advice="wait", command="wacz", shared=True)
    indexing = r"in use by portal-archiver index \(pid \d+"
    with Collection(tmp_path, command="index"), pytest.raises(CollectionLocked, match=indexing):
        take_lock(tmp_path, lock, advice="wait", command="wacz", shared=True)


def test_a_reader_that_opened_the_collection_lets_other_readers_in(tmp_path: Path) -> None:
    """extract opens the collection alone (it closes a killed crawl's WARC file), then only
    reads: it shares the lock from then on, and a writer is kept out until it has finished."""
    Collection(tmp_path).open().close()
    with Collection(tmp_path, command="extract") as reading:
        with pytest.raises(CollectionLocked, match=r"in use by portal-archiver extract \(pid"):
            Collection(tmp_path).open()
        reading.share()
        other = take_lock(tmp_path, tmp_path / ".lock", advice="w", command="wacz", shared=True)
        os.close(other)
        with pytest.raises(CollectionLocked, match="in use by commands reading it"):
            Collection(tmp_path).open()
    Collection(tmp_path).open().close()


def test_a_reader_waits_for_an_extract_that_is_opening_the_collection(tmp_path: Path) -> None:
    """``extract a.warc.gz & extract b.warc.gz``: the second meets the first while it opens the
    collection alone (an instant, longer on a big one) and waits for it to share, instead of
    being refused by a run it could read beside."""
    Collection(tmp_path).open().close()
    opening = Collection(tmp_path, command="extract").open()
    sharing = threading.Timer(0.5, opening.share)
    sharing.start()
    try:
        reader = take_lock(tmp_path, tmp_path / ".lock", advice="w", command="wacz", shared=True)
        os.close(reader)
    finally:
        sharing.join()
        opening.close()
    with Collection(tmp_path), pytest.raises(CollectionLocked, match="another crawl"):
        take_lock(tmp_path, tmp_path / ".lock", advice="w", command="wacz", shared=True)


@pytest.mark.parametrize("before", [b"", b"4242 crawl\n"], ids=["new file", "last holder"])
def test_a_reader_is_not_refused_by_a_holder_that_has_not_named_itself_yet(
    before: bytes, tmp_path: Path
) -> None:
    """Four extracts started together: one was refused as "in use by another crawl (pid
    unknown)". It met the lock taken by an extract that had not yet written its name, so it
    read an empty file (or the name of whoever held it before) and took that for a crawl."""
    Collection(tmp_path).open().close()
    lock = tmp_path / ".lock"
    lock.write_bytes(before)
    holder = os.open(lock, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)  # taken; its name comes an instant later

    def name_then_share() -> None:
        os.pwrite(holder, f"{os.getpid()} extract\n".encode(), 0)
        os.ftruncate(holder, len(f"{os.getpid()} extract\n"))
        time.sleep(0.2)
        fcntl.flock(holder, fcntl.LOCK_SH)

    naming = threading.Timer(0.02, name_then_share)
    naming.start()
    try:
        reader = take_lock(tmp_path, lock, advice="w", command="wacz", shared=True)
        os.close(reader)
    finally:
        naming.join()
        os.close(holder)


def test_a_reader_without_write_access_still_meets_the_writers_lock(tmp_path: Path) -> None:
    """A read-only mount of a collection a crawl writes through another: the reader's lock,
    taken through a read-only descriptor, is the same flock, and is refused."""
    Collection(tmp_path).open().close()
    lock = tmp_path / ".lock"
    with Collection(tmp_path), pytest.raises(CollectionLocked, match=r"another crawl \(pid \d+"):
        take_lock(tmp_path, lock, advice="w", command="wacz", shared=True, read_only=True)
    reader = take_lock(tmp_path, lock, advice="w", command="wacz", shared=True, read_only=True)
    try:
        with pytest.raises(CollectionLocked, match="in use by commands reading it"):
            Collection(tmp_path).open()
    finally:
        os.close(reader)


def test_torn_items_line_is_cut(tmp_path: Path) -> None:
    with Collection(tmp_path) as collection:
        capture(collection, "a#1")
    with (tmp_path / "items.jsonl").open("ab") as stream:
        stream.write(b'{"key": "b#2", "vers')
    with Collection(tmp_path) as collection:
        assert collection.get("b#2") is None  # not registered: it will be archived again
    assert [item["key"] for item in items(tmp_path)] == ["a#1"]


def test_unfinished_warc_is_repaired_at_open(tmp_path: Path) -> None:
    make_writer(tmp_path / "warc").write_exchange(exchange())  # a crawl killed while writing
    (open_file,) = (tmp_path / "warc").glob("*.open")
    with open_file.open("ab") as stream:
        stream.write(b"\x1f\x8b\x08 half a record")
    with Collection(tmp_path) as again:
        (report,) = again.repair_reports
        assert report.cut_bytes == len(b"\x1f\x8b\x08 half a record")
    warcio_check(*(tmp_path / "warc").glob("*.warc.gz"))


def test_full_disk_leaves_collection_valid(tmp_path: Path) -> None:
    opener = FailingFiles(budget=100_000)
    files = opener.files

    with Collection(tmp_path, opener=opener) as collection:
        capture(collection, "a#1")
        for file in files:
            file.budget = 50
        with pytest.raises(ArchiveWriteError):
            capture(collection, "b#2")
    with Collection(tmp_path) as collection:
        assert collection.get("a#1") and collection.get("b#2") is None
    assert [item["key"] for item in items(tmp_path)] == ["a#1"]
    warcio_check(*(tmp_path / "warc").glob("*.warc.gz"))


def test_keys_of_older_collections_lose_the_site_part(tmp_path: Path) -> None:
    with Collection(tmp_path) as collection:
        capture(collection, "lapvo.dongthap.gov.vn#1")
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        db.execute("UPDATE articles SET key = 'lapvo.dongthap.gov.vn/web/hlv#1'")
        db.execute("DELETE FROM meta WHERE name = 'key_scheme'")
    db.close()
    with Collection(tmp_path) as collection:
        assert collection.get("lapvo.dongthap.gov.vn#1") is not None


def test_an_open_crawl_belongs_to_its_identity(tmp_path: Path) -> None:
    nightly = {"spider": "portal", "targets": ["lapvo"], "new_only": True}
    image = FrontierEntry("h#img", "https://h/documents/1.jpg", requisite_of="h#1")
    with Collection(tmp_path) as collection:
        collection.begin_crawl(nightly)
        collection.frontier.discover(FrontierEntry("h/tin-tuc", "https://h/tin-tuc"))
        collection.frontier.discover(image)
    with Collection(tmp_path) as collection:
        with pytest.raises(
            OpenCrawlConflict, match=r"unfinished crawl \(crawl lapvo --new-only, started"
        ):
            collection.begin_crawl({"spider": "fetch", "urls": ["https://h/a"]})
        assert collection.frontier.count(OWED) == 2, "refusing changes nothing"
        resumed = collection.begin_crawl(nightly)
        assert resumed.requisites_owed == 1 and collection.frontier.count(OWED) == 2
        collection.begin_crawl({"spider": "fetch"}, discard=True)
        owed = list(collection.frontier.entries(OWED))
        assert owed == [image], "the images owed to archived articles outlive the crawl"


ITEM = {
    "url": "https://x.gov.vn/a?b=1",
    "title": 'Lấp Vò "mới"',
    "summary": None,
    "paragraphs": ["Đoạn một", "Hai\u2028ba", "tab\there"],
    "captions": [],
    "images": [{"url": "https://x.gov.vn/i.jpg", "caption": "Ảnh"}],
    "byline": "Minh Anh",
    "attachments": [{"url": "https://x.gov.vn/f.pdf", "title": "Tệp"}],
    "version": 1,
    "warc": {"file": "w.warc.gz", "offset": 12, "record_id": "<urn:uuid:1>"},
    "archive": None,
}


def test_an_item_encoded_once_gives_todays_line_and_digest() -> None:
    encoded = encode_item(ITEM)
    # Collections store this digest: a new way to compute it must give the same.
    assert encoded.digest == content_digest(ITEM) == "sha1:VWIUQM6PHRZAJXOYWQ3A2YL53P2AZ56O"
    assert encoded.line(version=1) == json.dumps(ITEM, ensure_ascii=False)
    assert json.loads(encoded.line(version=2)) == {**ITEM, "version": 2}


def test_a_line_that_is_no_item_is_kept_and_passed_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged line (a disk, a hand edit) among those a killed crawl left unregistered: the
    collection still opens, registers the others, and keeps the line where it was."""
    with Collection(tmp_path) as collection:
        capture(collection, "a#1")
        capture(collection, "b#2", commit=False)  # killed before its state commit
    first, second = (tmp_path / "items.jsonl").read_bytes().splitlines(keepends=True)
    damaged = b'{"key": "x#9", "vers\n'
    (tmp_path / "items.jsonl").write_bytes(first + damaged + second)
    with Collection(tmp_path) as collection:
        assert collection.get("b#2") is not None
        assert collection.items_registered == 1
    assert (tmp_path / "items.jsonl").read_bytes() == first + damaged + second
    assert f"items.jsonl at byte {len(first)}: not an item (not JSON" in caplog.text


def test_an_item_without_image_lists_is_registered(tmp_path: Path) -> None:
    """``images`` or ``attachments`` null (an item written by hand or by another tool): the
    item is registered and owes nothing."""
    with Collection(tmp_path) as collection:
        item = capture(collection, "b#2", commit=False)
    line = json.dumps(item | {"images": None, "attachments": [{"title": "no url"}]})
    (tmp_path / "items.jsonl").write_text(line + "\n", encoding="utf-8")
    with Collection(tmp_path) as collection:
        assert collection.get("b#2") is not None
        assert collection.items_registered == 1


def test_an_item_naming_its_record_unreadably_is_kept_not_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A line whose record is gone goes (the rerun archives its article again); a line whose
    ``warc`` cannot be read as a place says nothing of that record: it stays, unregistered."""
    with Collection(tmp_path) as collection:
        item = capture(collection, "b#2", commit=False)
    line = json.dumps(item | {"warc": "portal-1.warc.gz"}) + "\n"
    (tmp_path / "items.jsonl").write_text(line, encoding="utf-8")
    with Collection(tmp_path) as collection:
        assert collection.get("b#2") is None
        assert collection.items_registered == 0 and collection.items_dropped == 0
    assert (tmp_path / "items.jsonl").read_text(encoding="utf-8") == line
    assert "items.jsonl at byte 0: not an item (its warc location is not" in caplog.text


def test_a_state_damaged_inside_is_found_at_opening(tmp_path: Path) -> None:
    """Damage anywhere inside state.sqlite (a valid header, a page a disk lost) is found when
    the collection opens, with the way out: never halfway through a crawl, never as wrong
    answers. Each page damaged in turn."""
    original = tmp_path / "original"
    with Collection(original) as collection:
        for n in range(300):
            capture(collection, f"a#{n}")
    data = (original / "state.sqlite").read_bytes()
    page = 4096
    assert len(data) > 20 * page
    for start in range(page, len(data), page):
        copy = tmp_path / f"damaged-{start}"
        shutil.copytree(original, copy)
        damaged = data[:start] + b"\xff" * page + data[start + page :]
        (copy / "state.sqlite").write_bytes(damaged)
        with pytest.raises(CollectionError, match=r"Move it aside \(mv .*state.sqlite"):
            Collection(copy).open()
        shutil.rmtree(copy)
