"""WARC records are rendered without warcio's writer, to the very bytes it writes."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import pytest
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.records import WARC_VERSION, render_record, sha1_digest


class _VerbatimHead(StatusAndHeaders):
    def __init__(self, raw: bytes) -> None:
        super().__init__("", [], protocol="")
        self.headers_buff = raw

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        pass

    def __bool__(self) -> bool:
        return True


def warcio_render(
    rec_type: str, headers: Sequence[tuple[str, str]], block: bytes, content_type: str
) -> bytes:
    """How the writer rendered records with warcio (a revisit's block as a verbatim head)."""
    rec_headers = StatusAndHeaders("", list(headers), protocol=WARC_VERSION)
    http, payload = (_VerbatimHead(block), b"") if rec_type == "revisit" else (None, block)
    record = ArcWarcRecord(
        "warc", rec_type, rec_headers, BytesIO(payload), http, content_type, len(payload)
    )
    record.payload_length = len(payload)
    out = BytesIO()
    WARCWriter(out, gzip=False, warc_version=WARC_VERSION).write_record(record)
    return out.getvalue()


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
BASE = [
    ("WARC-Record-ID", "<urn:uuid:9f1c2a52-0000-4000-8000-000000000001>"),
    ("WARC-Date", "2026-11-26T12:00:00.123456Z"),
    ("WARC-Target-URI", "https://lapvo.dongthap.gov.vn/web/hlv/tin-tức?a=1"),
]
CASES = [
    ("response", [*BASE, ("WARC-IP-Address", "127.0.0.1"), ("WARC-Payload-Digest", "sha1:X")],
     HEAD + "Lấp Vò".encode(), "application/http; msgtype=response"),
    ("request", BASE, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "application/http; msgtype=request"),
    ("metadata", [*BASE, ("WARC-Concurrent-To", "<urn:uuid:1>")], b'{"a": 1}', "application/json"),
    ("revisit", [*BASE, ("WARC-Profile", "p"), ("WARC-Payload-Digest", "sha1:Y")], HEAD,
     "application/http; msgtype=response"),
    ("warcinfo", BASE, b"software: x\r\n", "application/warc-fields"),
    ("metadata", [*BASE, ("Content-Type", "text/plain"), ("WARC-Block-Digest", "sha1:Z")], b"",
     "application/json"),
    ("resource", [*BASE, ("content-length", "99")], b"\x00\xff" * 40, "image/png"),
]  # fmt: skip


@pytest.mark.parametrize(("rec_type", "headers", "block", "content_type"), CASES)
def test_records_are_warcios_bytes(
    rec_type: str, headers: list[tuple[str, str]], block: bytes, content_type: str
) -> None:
    headers = [("WARC-Type", rec_type), *headers]
    expected = warcio_render(rec_type, headers, block, content_type)
    assert render_record(rec_type, headers, block, content_type) == expected


def test_digests_are_added_unless_given() -> None:
    data = render_record("request", [("WARC-Type", "request")], b"GET", "application/http")
    digest = sha1_digest(b"GET")
    assert f"WARC-Payload-Digest: {digest}\r\nWARC-Block-Digest: {digest}\r\n".encode() in data
