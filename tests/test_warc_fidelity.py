"""The WARC files of a real crawl of the replica hold exactly what crossed the wire (issue 4)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.reader import read_response
from tests.conftest import Crawled


def records(warcs: list[Path]) -> list:
    """Every record of the collection with its rendered head and raw payload, in order."""
    found = []
    for path in warcs:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                raw = record.raw_stream.read()  # payload as stored: not de-chunked, not decoded
                found.append((path.name, record, raw))
    return found


@pytest.fixture(scope="module")
def all_records(crawled: Crawled) -> list:
    return records(crawled.warcs)


def responses(all_records: list) -> list:
    return [(name, rec, raw) for name, rec, raw in all_records if rec.rec_type == "response"]


def test_warcio_check_passes_on_every_file(crawled: Crawled) -> None:
    assert crawled.warcs
    result = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", *map(str, crawled.warcs)],
        capture_output=True,
        text=True,
        check=False,
    )
    # warcio prints one line per record it verified; a digest mismatch names it and exits 1.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout


def test_every_file_starts_with_warcinfo(crawled: Crawled, all_records: list) -> None:
    first = {}
    for name, record, raw in all_records:
        first.setdefault(name, (record, raw))
    sent_agent = next(
        record.http_headers.get_header("User-Agent")
        for _, record, _ in all_records
        if record.rec_type == "request"
    )
    for record, raw in first.values():
        assert record.rec_type == "warcinfo"
        assert record.rec_headers.get_header("WARC-Filename")
        fields = dict(line.split(": ", 1) for line in raw.decode().splitlines() if line)
        assert fields["software"].startswith("portal-archiver/")
        assert fields["format"] == "WARC File Format 1.1"
        assert fields["robots"] == "obey" and fields["operator"]
        assert fields["http-header-user-agent"] == sent_agent
        assert fields["seeds"] == f"{crawled.replica.url}web/hlv"
        assert fields["crawl-started"].endswith("Z")


def test_payload_is_the_bytes_the_server_sent(all_records: list) -> None:
    checked = 0
    for _, record, _raw in responses(all_records):
        sent_digest = record.http_headers.get_header("X-Replica-Payload-SHA1")
        if sent_digest is None:
            continue
        assert record.rec_headers.get_header("WARC-Payload-Digest") == f"sha1:{sent_digest}"
        checked += 1
    assert checked > 20


def test_gzip_bodies_stay_gzip(all_records: list) -> None:
    gzipped = [
        raw
        for _, record, raw in responses(all_records)
        if record.http_headers.get_header("Content-Encoding") == "gzip"
        and "html" in (record.http_headers.get_header("Content-Type") or "")
    ]
    assert gzipped, "the replica gzips HTML for clients that accept it"
    for raw in gzipped:
        assert raw[:2] == b"\x1f\x8b"
        assert b"<html" in gzip.decompress(raw).lower()


def test_status_line_and_headers_are_kept_as_received(all_records: list) -> None:
    html = [
        record
        for _, record, _ in responses(all_records)
        if "html" in (record.http_headers.get_header("Content-Type") or "")
    ]
    record = html[0]
    assert record.http_headers.protocol == "HTTP/1.1"
    assert record.http_headers.statusline == "200 OK"
    cookies = [v for k, v in record.http_headers.headers if k.lower() == "set-cookie"]
    assert len(cookies) == 2 and cookies[0] != cookies[1]


def test_chunked_rule(all_records: list) -> None:
    """De-chunked body; the original header renamed in place; a Content-Length added."""
    chunked = [
        (record, raw)
        for _, record, raw in responses(all_records)
        if record.http_headers.get_header("X-Archive-Orig-Transfer-Encoding")
    ]
    assert chunked, "the replica was started with --chunked-all"
    for record, raw in chunked:
        assert record.http_headers.get_header("Transfer-Encoding") is None
        assert int(record.http_headers.get_header("Content-Length")) == len(raw)


def test_request_records_carry_query_and_every_header(all_records: list) -> None:
    requests = [record for _, record, _ in all_records if record.rec_type == "request"]
    with_query = [r for r in requests if "?" in r.rec_headers.get_header("WARC-Target-URI")]
    assert with_query
    for record in with_query:
        method, target, protocol = (
            record.http_headers.protocol,
            *record.http_headers.statusline.split(" "),
        )
        uri = record.rec_headers.get_header("WARC-Target-URI")
        assert method == "GET" and protocol == "HTTP/1.1"
        assert uri.endswith(target), (uri, target)
        assert record.http_headers.get_header("Host")
        assert record.http_headers.get_header("User-Agent").startswith("portal-archiver/")


def test_request_and_response_are_linked(all_records: list) -> None:
    response_ids = {
        record.rec_headers.get_header("WARC-Record-ID") for _, record, _ in responses(all_records)
    }
    requests = [record for _, record, _ in all_records if record.rec_type == "request"]
    assert len(requests) == len(response_ids)
    for record in requests:
        assert record.rec_headers.get_header("WARC-Concurrent-To") in response_ids


def test_every_response_has_ip_and_date(all_records: list) -> None:
    for _, record, _ in responses(all_records):
        assert record.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
        assert record.rec_headers.get_header("WARC-Date").endswith("Z")


def test_item_points_at_its_response_and_metadata_holds_the_item(
    crawled: Crawled, all_records: list
) -> None:
    metadata = {
        record.rec_headers.get_header("WARC-Concurrent-To"): json.loads(raw)
        for _, record, raw in all_records
        if record.rec_type == "metadata"
    }
    items = crawled.items
    assert items
    for item in items:
        warc = item["warc"]
        response = read_response(crawled.directory / "warc" / warc["file"], warc["offset"])
        assert response.record_id == warc["record_id"]
        assert response.url == item["url"]
        assert metadata[warc["record_id"]] == item


def test_images_and_attachments_are_archived(crawled: Crawled, all_records: list) -> None:
    archived = {
        record.rec_headers.get_header("WARC-Target-URI") for _, record, _ in responses(all_records)
    }
    wanted = [image["url"] for item in crawled.items for image in item["images"]]
    wanted += [file["url"] for item in crawled.items for file in item["attachments"]]
    assert wanted
    assert not [url for url in wanted if url not in archived]
    jpegs = [
        raw for _, record, raw in responses(all_records)
        if record.http_headers.get_header("Content-Type") == "image/jpeg"
    ]  # fmt: skip
    assert all(raw[:2] == b"\xff\xd8" for raw in jpegs)


def test_index_lists_every_response(crawled: Crawled, all_records: list) -> None:
    index = (crawled.directory / "indexes" / "index.cdxj").read_text().splitlines()
    assert len(index) == len(responses(all_records))
    first = json.loads(index[0].split(" ", 2)[2])
    assert {"url", "mime", "status", "digest", "length", "offset", "filename"} <= first.keys()
