"""Reading responses back: ours, wget's (raw chunked body), Browsertrix's, plain, broken."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from archive.reader import ArchiveReadError, iter_metadata, iter_records, read_response
from tests.archive_support import exchange, make_writer

DATA = Path(__file__).parent / "data" / "warc"
PAGE = (
    "<html><head><title>Tin tức - Đồng Tháp</title></head>"
    "<body><p>Xin chào Đồng Tháp</p></body></html>"
)


def test_our_records_read_back(tmp_path: Path) -> None:
    head = (
        b"HTTP/1.1 404 Not Found\r\nContent-Encoding: gzip\r\n"
        b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
    )
    writer = make_writer(tmp_path)
    location = writer.write_exchange(exchange(head=head, body=gzip.compress(b"gone")))
    writer.write_metadata(
        target_uri="https://x.vn/a", concurrent_to=location.record_id, payload=b'{"title": "T"}'
    )
    writer.close()
    (response,) = iter_records(tmp_path.glob("*.warc.gz"))
    assert (response.status, response.body, response.location) == (404, b"gone", location)
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert read_response(tmp_path / location.file, location.offset) == response
    assert list(iter_metadata(tmp_path.glob("*.warc.gz"))) == [
        ("https://x.vn/a", location.record_id, {"title": "T"})
    ]


def test_wget_chunked_gzip_body() -> None:
    (response,) = iter_records([DATA / "wget-chunked.warc.gz"])
    assert response.body.decode() == PAGE
    assert response.url.endswith("/content/id/24950001?plidlayout=1")
    assert response.content_type == "text/html;charset=UTF-8"
    assert response.date == "2023-07-01T02:03:04Z"


@pytest.mark.parametrize("name", ["browsertrix.warc.gz", "plain.warc"])
def test_browsertrix_response_and_revisit(name: str) -> None:
    response, revisit = iter_records([DATA / name])
    assert response.body.decode() == PAGE and not response.is_revisit
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1", "b=2"]
    assert revisit.is_revisit and revisit.body == b""
    assert revisit.refers_to_date == "2024-05-06T07:08:09.456Z"
    assert revisit.refers_to_uri == response.url
    assert revisit.payload_digest == response.payload_digest


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.warc\.gz"):
        list(iter_records([tmp_path / "nothing.warc.gz"]))


@pytest.mark.parametrize("name", ["truncated.warc.gz", "garbage-tail.warc.gz"])
def test_broken_file_yields_then_raises(name: str) -> None:
    got = []
    with pytest.raises(ArchiveReadError, match=rf"{name}: unreadable WARC data at offset \d+"):
        got.extend(iter_records([DATA / name]))
    assert got and got[0].body.decode() == PAGE


def test_broken_file_logged_when_not_strict(caplog: pytest.LogCaptureFixture) -> None:
    paths = [DATA / "garbage-tail.warc.gz", DATA / "wget-chunked.warc.gz"]
    with caplog.at_level(logging.ERROR, logger="archive.reader"):
        got = list(iter_records(paths, strict=False))
    assert len(got) == 3
    assert "garbage-tail.warc.gz: unreadable WARC data at offset 1696" in caplog.text
