"""ArchiveWriter: exact records, faithful heads, the chunked rule, compression, rotation, errors."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.fixity import MANIFEST_NAME, RECORDS_NAME
from archive.records import (
    NOT_MODIFIED_PROFILE,
    compression_level,
    head_headers,
    sha1_digest,
    stored_response_head,
)
from archive.writer import ArchiveWriteError, software_version
from tests.archive_support import (
    FETCHED,
    REQUEST,
    URL,
    FailingFiles,
    exchange,
    make_writer,
    warcio_check,
)

TWO_COOKIES = (
    b"HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 12:00:00 GMT\r\n"
    b"Set-Cookie: JSESSIONID=A1; Path=/\r\n"
    b"Content-Type: text/html;charset=UTF-8\r\nSet-Cookie: GUEST_LANGUAGE_ID=vi_VN; Path=/\r\n\r\n"
)


def members(path: Path) -> list[bytes]:
    """The decompressed gzip members of a file, in order."""
    data, out = path.read_bytes(), []
    while data:
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out.append(decompressor.decompress(data))
        assert decompressor.eof
        data = decompressor.unused_data
    return out


def written_file(tmp_path: Path) -> Path:
    (path,) = tmp_path.glob("*.warc.gz")
    return path


def test_records_are_byte_exact(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, info={"operator": "archivist@example.org"})
    location = writer.write_exchange(exchange())
    writer.close()
    warcinfo, response, request = members(written_file(tmp_path))
    assert location.file == "portal-20261126115900000000-00000.warc.gz"
    assert location.record_id == "<urn:uuid:00000000-0000-4000-8000-000000000001>"
    assert warcinfo.startswith(
        b"WARC/1.1\r\nWARC-Type: warcinfo\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000003>\r\n"
        b"WARC-Date: 2026-11-26T11:59:00.000000Z\r\n"
        b"WARC-Filename: portal-20261126115900000000-00000.warc.gz\r\n"
    )
    assert (
        b"\r\n\r\nsoftware: %s\r\nformat: WARC File Format 1.1\r\n" % software_version().encode()
    ) in warcinfo
    assert warcinfo.endswith(b"\r\noperator: archivist@example.org\r\n\r\n\r\n")
    assert response == (
        b"WARC/1.1\r\nWARC-Type: response\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
        b"WARC-Date: 2026-11-26T12:00:00.123456Z\r\n"
        b"WARC-Target-URI: https://dongthap.gov.vn/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE"
        b"/content/id/24950000?plidlayout=123\r\n"
        b"WARC-IP-Address: 127.0.0.1\r\n"
        b"WARC-Payload-Digest: sha1:7UQCN3TKU6IURJPSXU247MBIT5AO5JQ4\r\n"
        b"WARC-Block-Digest: sha1:4G2MNJV33T2ORGFYUGL7KIQ5K7IB3XBT\r\n"
        b"Content-Type: application/http; msgtype=response\r\nContent-Length: 75\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Xin ch\xc3\xa0o</p>\r\n\r\n"
    )
    assert request == (
        b"WARC/1.1\r\nWARC-Type: request\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
        b"WARC-Date: 2026-11-26T12:00:00.123456Z\r\n"
        b"WARC-Target-URI: https://dongthap.gov.vn/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE"
        b"/content/id/24950000?plidlayout=123\r\n"
        b"WARC-IP-Address: 127.0.0.1\r\n"
        b"WARC-Concurrent-To: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
        b"WARC-Payload-Digest: sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ\r\n"
        b"WARC-Block-Digest: sha1:5TO7I3NZKAQIQVFZJDPGSNZKN6TGTCWB\r\n"
        b"Content-Type: application/http; msgtype=request\r\nContent-Length: 147\r\n\r\n"
        + REQUEST
        + b"\r\n\r\n"
    )


def test_a_payload_digest_the_caller_computed_gives_the_same_bytes(tmp_path: Path) -> None:
    for name, digest in (("computed", None), ("given", sha1_digest(exchange().body))):
        writer = make_writer(tmp_path / name)
        writer.write_exchange(exchange(), payload_digest=digest)
        writer.close()
    given = written_file(tmp_path / "given")
    assert given.read_bytes() == written_file(tmp_path / "computed").read_bytes()
    assert b"WARC-Payload-Digest: sha1:7UQCN3TKU6IURJPSXU247MBIT5AO5JQ4" in members(given)[1]


def test_digests_are_sha1_base32_of_body_and_block() -> None:
    body = exchange().body
    head = exchange().response_head
    b32 = base64.b32encode
    assert b32(hashlib.sha1(body).digest()) == b"7UQCN3TKU6IURJPSXU247MBIT5AO5JQ4"
    assert b32(hashlib.sha1(head + body).digest()) == b"4G2MNJV33T2ORGFYUGL7KIQ5K7IB3XBT"
    assert b32(hashlib.sha1(b"").digest()) == b"3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"


def test_head_is_kept_exactly_with_both_cookies(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.write_exchange(
        exchange(head=TWO_COOKIES.replace(b"HTTP/1.1 200 OK", b"HTTP/1.1 200 Fine"))
    )
    writer.close()
    path = written_file(tmp_path)
    warcio_check(path)
    response = members(path)[1]
    assert b"\r\n\r\nHTTP/1.1 200 Fine\r\nDate:" in response
    assert TWO_COOKIES.split(b"\r\n", 1)[1] in response


def test_request_line_keeps_the_query(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange())
    writer.close()
    with written_file(tmp_path).open("rb") as stream:
        (request,) = [r for r in ArchiveIterator(stream) if r.rec_type == "request"]
        assert request.http_headers.statusline.endswith("/id/24950000?plidlayout=123 HTTP/1.1")
        assert request.http_headers.get_header("Host") == "dongthap.gov.vn"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-Archive-Orig-Transfer-Encoding: chunked\r\nX-A: 1\r\n"
            b"Content-Length: 11\r\n\r\n",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
            b"X-Archive-Orig-Transfer-Encoding: chunked\r\n\r\n",
        ),
        (b"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\n", b"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\n"),
    ],
)
def test_chunked_rule(head: bytes, expected: bytes) -> None:
    assert stored_response_head(head, 11) == expected


def test_chunked_gzip_body_reads_back_decoded(tmp_path: Path) -> None:
    body = gzip.compress(b"<p>chunked page</p>" * 50)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange(head=head, body=body))
    writer.close()
    warcio_check(written_file(tmp_path))
    with written_file(tmp_path).open("rb") as stream:
        bodies = [
            r.content_stream().read() for r in ArchiveIterator(stream) if r.rec_type == "response"
        ]
    assert bodies == [b"<p>chunked page</p>" * 50]


@pytest.mark.parametrize(
    ("head", "level"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n", 0),
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n", 0),
        (b"HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\n\r\n", 0),
        (b"HTTP/1.1 200 OK\r\nContent-Type: image/svg+xml\r\n\r\n", 3),
        (b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n", 3),
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", 3),
    ],
)
def test_compression_level(head: bytes, level: int) -> None:
    assert compression_level(head_headers(head)) == level


def test_stored_member_is_valid_gzip(tmp_path: Path) -> None:
    jpeg = bytes(range(256)) * 200  # stands in for incompressible photo bytes
    writer = make_writer(tmp_path)
    location = writer.write_exchange(
        exchange(head=b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n", body=jpeg)
    )
    writer.close()
    path = written_file(tmp_path)
    warcio_check(path)
    assert gzip.decompress(path.read_bytes()).count(jpeg) == 1
    # Level 0 stores: the member is a little larger than what it holds, never smaller.
    response = members(path)[1]
    stream = path.read_bytes()[location.offset :]
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    decompressor.decompress(stream)
    assert len(stream) - len(decompressor.unused_data) > len(response)


def test_revisit_and_metadata(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    original = writer.write_exchange(exchange())
    revisit = writer.write_revisit(
        exchange(),
        refers_to_uri="https://dongthap.gov.vn/x",
        refers_to_date="2026-11-25T12:00:00.000000Z",
        payload_digest="sha1:GEKO4ZXTPA5VLVY5FNKWXH3ZCFSRCROZ",
    )
    meta = writer.write_metadata(
        target_uri="https://dongthap.gov.vn/x",
        concurrent_to=original.record_id,
        payload=b'{"a": 1}',
    )
    writer.close()
    path = written_file(tmp_path)
    warcio_check(path)
    assert original.offset < revisit.offset < meta.offset
    with path.open("rb") as stream:
        records = {r.rec_headers.get_header("WARC-Record-ID"): r for r in ArchiveIterator(stream)}
    rec = records[revisit.record_id].rec_headers
    assert members(path)[3].endswith(b"\r\n\r\n" + exchange().response_head + b"\r\n\r\n")
    assert rec.get_header("WARC-Profile").endswith("/warc/1.1/revisit/identical-payload-digest")
    assert rec.get_header("WARC-Refers-To-Date") == "2026-11-25T12:00:00.000000Z"
    assert (
        records[meta.record_id].rec_headers.get_header("WARC-Concurrent-To") == original.record_id
    )


def test_open_suffix_until_closed(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    location = writer.write_exchange(exchange())
    assert [p.name for p in tmp_path.iterdir()] == [location.file + ".open"]
    assert writer.current_file == location.file
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [location.file, MANIFEST_NAME, RECORDS_NAME]
    ), "the sealed file and its fixity record"
    assert writer.current_file is None


def test_rotation_never_splits_records(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, max_size=1500)
    locations = [writer.write_exchange(exchange(body=bytes(300))) for _ in range(6)]
    writer.close()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) > 1
    assert {loc.file for loc in locations} == {p.name for p in files}
    assert all(p.name.endswith(f"-{i:05d}.warc.gz") for i, p in enumerate(files))
    for path in files:
        warcio_check(path)
        assert members(path)[0].startswith(b"WARC/1.1\r\nWARC-Type: warcinfo")


@pytest.mark.parametrize("budget_after_first", [0, 1, 200, 500])
def test_failed_write_is_rolled_back(tmp_path: Path, budget_after_first: int) -> None:
    opener = FailingFiles(budget=10_000)
    files = opener.files

    writer = make_writer(tmp_path, opener=opener)
    writer.write_exchange(exchange())
    good_size = next(tmp_path.iterdir()).stat().st_size
    files[0].budget = budget_after_first
    with pytest.raises(ArchiveWriteError, match="cut back to its last complete record"):
        writer.write_exchange(exchange(body=bytes(1000)))
    assert next(tmp_path.iterdir()).stat().st_size == good_size
    files[0].budget = 10_000  # space freed: writing goes on after the good records
    writer.write_exchange(exchange())
    writer.close()
    warcio_check(written_file(tmp_path))


def test_fetch_time_is_the_warc_date(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange())
    writer.close()
    with written_file(tmp_path).open("rb") as stream:
        dates = {r.rec_type: r.rec_headers.get_header("WARC-Date") for r in ArchiveIterator(stream)}
    assert dates["response"] == dates["request"] == FETCHED.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_item_record_is_addressed_apart_from_its_page(tmp_path: Path) -> None:
    # Indexers (pywb's wb-manager add, cdxj-indexer) index metadata records by their target:
    # one addressed at the page's URL would be replayed instead of the page.
    writer = make_writer(tmp_path)
    page = writer.write_exchange(exchange())
    meta = writer.write_metadata(
        target_uri=exchange().url, concurrent_to=page.record_id, payload=b'{"a": 1}'
    )
    writer.close()
    with written_file(tmp_path).open("rb") as stream:
        records = {r.rec_headers.get_header("WARC-Record-ID"): r for r in ArchiveIterator(stream)}
    headers = records[meta.record_id].rec_headers
    assert headers.get_header("WARC-Target-URI") == "urn:portal-archiver:item:" + exchange().url
    assert headers.get_header("WARC-Concurrent-To") == page.record_id
    assert headers.get_header("WARC-Refers-To") == page.record_id


def test_not_modified_revisit_refers_to_the_stored_capture(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    original = writer.write_exchange(exchange())
    not_modified = exchange(head=b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n', body=b"")
    revisit = writer.write_revisit(
        not_modified,
        refers_to_uri=URL,
        refers_to_date="2026-11-25T12:00:00.000000Z",
        refers_to_record=original.record_id,
        payload_digest=sha1_digest(exchange().body),
        profile=NOT_MODIFIED_PROFILE,
    )
    writer.close()
    path = written_file(tmp_path)
    warcio_check(path)
    with path.open("rb") as stream:
        records = {r.rec_headers.get_header("WARC-Record-ID"): r for r in ArchiveIterator(stream)}
    record = records[revisit.record_id]
    # No block: replay tools would replay a 304 head as it stands, an empty page.
    assert record.rec_type == "revisit" and record.length == 0
    headers = record.rec_headers
    assert headers.get_header("WARC-Profile") == (
        "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
    )
    assert headers.get_header("WARC-Refers-To") == original.record_id
    assert headers.get_header("WARC-Refers-To-Target-URI") == URL
    assert headers.get_header("WARC-Refers-To-Date") == "2026-11-25T12:00:00.000000Z"


def test_operator_credentials_are_never_archived(tmp_path: Path) -> None:
    request = (
        b"GET /web/hlv HTTP/1.1\r\nHost: dongthap.gov.vn\r\n"
        b"Proxy-Authorization: Basic b3BlcmF0b3I6czNjcmV0\r\n"
        b"authorization: Basic dXNlcjpwYXNz\r\nAccept: */*\r\n\r\n"
    )
    writer = make_writer(tmp_path)
    writer.write_exchange(dataclasses.replace(exchange(), request=request))
    writer.write_revisit(
        dataclasses.replace(exchange(), request=request),
        refers_to_uri=URL,
        refers_to_date="2026-11-25T12:00:00.000000Z",
        payload_digest=sha1_digest(exchange().body),
    )
    writer.close()
    path = written_file(tmp_path)
    warcio_check(path)
    data = gzip.decompress(path.read_bytes())
    assert b"b3BlcmF0b3I6czNjcmV0" not in data and b"dXNlcjpwYXNz" not in data
    assert b"Proxy-Authorization" not in data and b"authorization" not in data.lower()
    assert data.count(b"GET /web/hlv HTTP/1.1\r\nHost: dongthap.gov.vn\r\nAccept: */*\r\n\r\n") == 2
