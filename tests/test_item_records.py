"""``extract`` pairs a page with the item record the crawl wrote beside it, in the record's
current form (``urn:portal-archiver:item:`` target) and in the form of older collections
(the page's own URL as target)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.records import DEFAULT_LEVEL, gzip_member, render_record, sha1_digest, warc_date
from crawler.reextract import extract_items
from tests.archive_support import FETCHED, exchange, make_writer
from tests.golden import SPECIMENS

URL = (
    "https://lapvo.dongthap.gov.vn/web/hlv/chi-tiet-bai-viet/-/asset_publisher/"
    "1mOzUrGkrdAE/content/id/4961961"
)
RECORDED = {"version": 3, "published_source": None}


def _old_form_item_record(concurrent_to: str) -> bytes:
    # What collections written before the urn: target hold: the page's URL as target.
    payload = json.dumps(RECORDED).encode()
    headers = [
        ("WARC-Type", "metadata"),
        ("WARC-Record-ID", "<urn:uuid:00000000-0000-4000-8000-00000000ffff>"),
        ("WARC-Date", warc_date(FETCHED)),
        ("WARC-Target-URI", URL),
        ("WARC-Concurrent-To", concurrent_to),
        ("WARC-Payload-Digest", sha1_digest(payload)),
    ]
    return gzip_member(
        render_record("metadata", headers, payload, "application/json"), DEFAULT_LEVEL
    )


@pytest.mark.parametrize("form", ["current", "old"])
def test_extract_reads_the_item_record(tmp_path: Path, form: str) -> None:
    page = (SPECIMENS / "a01-dtp.html").read_bytes()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html;charset=UTF-8\r\n\r\n"
    writer = make_writer(tmp_path / "warc")
    location = writer.write_exchange(exchange(head=head, body=page, url=URL))
    if form == "current":
        writer.write_metadata(
            target_uri=URL, concurrent_to=location.record_id, payload=json.dumps(RECORDED).encode()
        )
    writer.close()
    warc = tmp_path / "warc" / location.file
    if form == "old":
        with warc.open("ab") as out:
            out.write(_old_form_item_record(location.record_id))
    stats = extract_items([warc], tmp_path / "items.jsonl")
    (item,) = (json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines())
    assert stats.articles == 1
    assert (item["url"], item["version"]) == (URL, 3), "the version comes from the item record"
    assert item["warc"]["record_id"] == location.record_id


@pytest.mark.parametrize("payload", [b'{"version": 3, "publ', b"[3]", b"\xff\xfe"])
def test_an_item_record_that_says_nothing_readable_costs_only_itself(
    tmp_path: Path, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole record whose JSON is damaged (a disk, another tool): its page is extracted as
    if nothing were recorded, and the records after it in the file are read as usual."""
    page = (SPECIMENS / "a01-dtp.html").read_bytes()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html;charset=UTF-8\r\n\r\n"
    second = URL.replace("4961961", "4961962")
    writer = make_writer(tmp_path / "warc")
    for url, recorded in ((URL, payload), (second, json.dumps(RECORDED).encode())):
        location = writer.write_exchange(exchange(head=head, body=page, url=url))
        writer.write_metadata(target_uri=url, concurrent_to=location.record_id, payload=recorded)
    writer.close()
    stats = extract_items([tmp_path / "warc" / location.file], tmp_path / "items.jsonl")
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert stats.articles == 2 and stats.errors == 0
    assert {item["url"]: item["version"] for item in items} == {URL: 1, second: 3}
    assert "its item record is not a JSON object" in caplog.text


@pytest.mark.parametrize("port", ["80x", "99999", "18801\u00ce"])
def test_a_page_whose_target_uri_urllib_refuses_gives_no_item(tmp_path: Path, port: str) -> None:
    """Found by the WARC mutation hunt: a response whose target URI has a port of words went
    to the parser as an article and raised ValueError out of extract when its item was keyed.
    Such a record names no page anyone could fetch: no item, and the others are read."""
    page = (SPECIMENS / "a01-dtp.html").read_bytes()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html;charset=UTF-8\r\n\r\n"
    writer = make_writer(tmp_path / "warc")
    broken = URL.replace("lapvo.dongthap.gov.vn", f"lapvo.dongthap.gov.vn:{port}")
    for url in (broken, URL):
        location = writer.write_exchange(exchange(head=head, body=page, url=url))
    writer.close()
    stats = extract_items([tmp_path / "warc" / location.file], tmp_path / "items.jsonl")
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert [item["url"] for item in items] == [URL] and stats.articles == 1
