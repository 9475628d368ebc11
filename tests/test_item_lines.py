"""items.jsonl as every reader reads it: items with their offsets, other lines said and kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.exchange import WarcLocation
from archive.item_lines import Items, NotAnItem, item_of, requisites, warc_location
from archive.losses import item_versions, requisite_owners

GOOD = b'{"key": "a#1", "version": 1}\n'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"key": "a#1", "vers\n', "not JSON"),
        (b"\xff\xfe{}\n", "not UTF-8"),
        (b"\n", "not JSON"),
        (b"[1, 2]\n", "not a JSON object but list"),
        (b'"text"\n', "not a JSON object but str"),
        # json.loads guessed UTF-16 from the zero bytes: "'utf-16-be' codec can't decode".
        (b'\x00{"key": "a#1"}\n', "not JSON: Expecting value"),
        (b'\xef\xbb\xbf{"key": "a#1"}\n', None),  # a BOM, as Notepad writes one: an item
        (b'{"title": "\xc4"}\n', "not UTF-8"),
    ],
)
def test_a_line_that_holds_no_item_says_why(line: bytes, reason: str | None) -> None:
    if reason is None:
        assert item_of(line) == {"key": "a#1"}
        return
    with pytest.raises(NotAnItem, match=reason):
        item_of(line)


def test_items_come_with_their_offsets_and_other_lines_are_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "items.jsonl"
    damaged = b"{broken\n"
    path.write_bytes(GOOD + damaged + GOOD + b'{"key": "b#2"}')  # the last line unfinished
    items = Items(path)
    assert [(line.offset, line.item["key"]) for line in items] == [
        (0, "a#1"),
        (len(GOOD) + len(damaged), "a#1"),
        (2 * len(GOOD) + len(damaged), "b#2"),
    ]
    assert items.passed_over == 1
    assert f"items.jsonl at byte {len(GOOD)}: not an item (not JSON" in caplog.text
    assert path.read_bytes().startswith(GOOD + damaged)  # left as it is


def test_reading_from_an_offset_and_passing_over_what_a_reader_cannot_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(GOOD + b'{"key": 7}\n')
    items = Items(path, start=len(GOOD))
    (line,) = list(items)
    items.pass_over(line.offset, "no key")
    assert items.passed_over == 1
    assert f"at byte {len(GOOD)}: not an item (no key); passed over" in caplog.text
    assert list(Items(tmp_path / "absent.jsonl")) == []


def test_requisites_pass_over_entries_that_name_no_url() -> None:
    item = {
        "images": [{"url": "http://a/1.jpg"}, {"caption": "no url"}, None, {"url": 3}],
        "attachments": [{"url": "http://a/f.pdf", "title": "f"}, {"url": ""}],
    }
    assert requisites(item) == ["http://a/1.jpg", "http://a/f.pdf"]
    assert requisites({"images": None, "attachments": "nothing"}) == []
    assert requisites({}) == []


def test_a_warc_location_is_whole_or_no_item() -> None:
    whole = {"file": "a.warc.gz", "offset": 12, "record_id": "<urn:uuid:1>"}
    assert warc_location({"warc": whole}) == WarcLocation("a.warc.gz", 12, "<urn:uuid:1>")
    assert warc_location({}) is None
    assert warc_location({"warc": None}) is None
    for broken in ("a.warc.gz", whole | {"offset": "12"}, whole | {"offset": True}, {"file": "a"}):
        with pytest.raises(NotAnItem, match="warc location"):
            warc_location({"warc": broken})


def test_versions_and_owners_read_only_what_items_name(tmp_path: Path) -> None:
    """Values of any JSON type where a key or a URL should be: not counted, never a crash."""
    path = tmp_path / "items.jsonl"
    lines = [
        '{"key": "a#1", "version": 2, "images": [{"url": "http://a/1.jpg"}]}',
        '{"key": ["a#1"], "version": 1, "images": [{"url": "http://a/2.jpg"}]}',
        '{"key": "b#2", "version": {"n": 1}}',
        "not json",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert item_versions(path) == {("a#1", 2)}
    urls = {"http://a/1.jpg", "http://a/2.jpg"}
    assert requisite_owners(path, urls) == [("http://a/1.jpg", "a#1")]
