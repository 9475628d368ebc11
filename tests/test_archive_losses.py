"""Finding what lost WARC files held (archive/losses.py): read off the index and the items, and
never stopped by a damaged line of either."""

from __future__ import annotations

import json
from pathlib import Path

from archive import losses
from tests.archive_support import URL, exchange, make_writer


def _line(url: str, filename: str) -> str:
    fields = {"url": url, "mime": "image/jpeg", "offset": "0", "length": "1", "filename": filename}
    return f"x,y)/ 20260101000000 {json.dumps(fields)}\n"


def test_missing_are_the_names_not_in_the_folder(tmp_path: Path) -> None:
    (tmp_path / "a.warc.gz").write_bytes(b"")
    assert losses.missing(tmp_path, {"a.warc.gz", "b.warc.gz"}) == {"b.warc.gz"}


def test_the_index_says_what_each_lost_file_held(tmp_path: Path) -> None:
    index = tmp_path / "index.cdxj"
    index.write_text(
        _line("http://h/1.jpg", "b.warc.gz")
        + "x,y)/ 20260101000000 {torn b.warc.gz\n"  # a damaged line is passed over
        + _line("http://h/2.jpg", "a.warc.gz")
        + _line("http://h/3.jpg", "b.warc.gz")
        + "no fields at all\n",
        encoding="utf-8",
    )
    found = losses.indexed_urls(index, {"b.warc.gz", "c.warc.gz"})
    assert found == {"b.warc.gz": {"http://h/1.jpg", "http://h/3.jpg"}, "c.warc.gz": set()}
    assert losses.indexed_urls(tmp_path / "none.cdxj", {"b.warc.gz"}) == {"b.warc.gz": set()}


def test_a_lost_image_is_owed_to_the_last_article_listing_it(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    lines = [
        {"key": "h#1", "images": [{"url": "http://h/1.jpg"}], "attachments": []},
        {"key": "h#2", "images": [], "attachments": [{"url": "http://h/a.pdf"}]},
        {"key": "h#3", "images": [{"url": "http://h/1.jpg"}, {"url": "http://h/kept.jpg"}]},
    ]
    items.write_text(
        "".join(json.dumps(line) + "\n" for line in lines) + '5\n{"torn', encoding="utf-8"
    )
    lost = {"http://h/1.jpg", "http://h/a.pdf", "http://h/page"}
    assert losses.requisite_owners(items, lost) == [
        ("http://h/1.jpg", "h#3"),
        ("http://h/a.pdf", "h#2"),
    ]
    assert losses.requisite_owners(items, set()) == []
    assert losses.requisite_owners(tmp_path / "none.jsonl", lost) == []


def test_the_index_says_which_urls_are_held_in_files_that_are_there(tmp_path: Path) -> None:
    (tmp_path / "a.warc.gz").write_bytes(b"")
    index = tmp_path / "index.cdxj"
    index.write_text(
        _line("http://h/1.jpg", "a.warc.gz")
        + _line("http://h/2.jpg", "gone.warc.gz")  # its file is lost: not held
        + "x,y)/ 20260101000000 {torn\n"
        + 'x,y)/ 20260101000000 {"url": 5, "filename": "a.warc.gz"}\n',
        encoding="utf-8",
    )
    assert losses.indexed_url_set(index, tmp_path) == {"http://h/1.jpg"}
    assert losses.indexed_url_set(tmp_path / "none.cdxj", tmp_path) == frozenset()


def test_item_records_that_name_no_capture_are_passed_over(tmp_path: Path) -> None:
    """Restoring items.jsonl from item records: a record whose key or version is of another
    JSON type, or whose payload is no JSON, names no capture; the records after it still do."""
    writer = make_writer(tmp_path / "warc")
    location = writer.write_exchange(exchange())
    for payload in (
        b'{"key": ["a#1"], "version": 1}',
        b'{"key": "a#1", "version": {"n": 1}}',
        b'{"key": "a#1", "ver',
        b'{"key": "a#1", "version": 1, "title": "T"}',
    ):
        writer.write_metadata(target_uri=URL, concurrent_to=location.record_id, payload=payload)
    writer.close()
    found = list(losses.recorded_items(_warcs(tmp_path), {("a#1", 1)}))
    assert found == [{"key": "a#1", "version": 1, "title": "T"}]


def _warcs(directory: Path) -> list[Path]:
    return sorted((directory / "warc").glob("*.warc.gz"))
