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
