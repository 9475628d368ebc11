"""`extract` over frozen WARCs (two real crawls, wget's own WARC) gives the frozen items,
byte for byte: a faster reader must not change what comes out."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.reader import iter_records
from crawler.reextract import extract_items
from tests.archive_support import exchange, make_writer

DATA = Path(__file__).parent / "data" / "extract"
CASES = {
    "crawl": ["crawl-1.warc.gz", "crawl-2.warc.gz"],
    "wget": ["wget.warc.gz"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_extract_gives_the_frozen_items(case: str, tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    stats = extract_items([DATA / name for name in CASES[case]], out)
    expected = (DATA / f"expected-{case}.jsonl").read_text(encoding="utf-8").splitlines()
    got = out.read_text(encoding="utf-8").splitlines()
    assert stats.errors == 0
    assert [json.loads(line)["key"] for line in got] == [
        json.loads(line)["key"] for line in expected
    ]
    for got_line, expected_line in zip(got, expected, strict=True):
        got_item, expected_item = json.loads(got_line), json.loads(expected_line)
        for field in expected_item:
            assert got_item[field] == expected_item[field], (expected_item["key"], field)
        assert got_line == expected_line  # same field order, same serialisation


READABLE = [
    *(DATA / name for names in CASES.values() for name in names),
    *(DATA.parent / "warc" / name for name in ("browsertrix.warc.gz", "plain.warc")),
    DATA.parent / "warc" / "wget-chunked.warc.gz",
]


@pytest.mark.parametrize("path", READABLE, ids=lambda path: path.name)
def test_the_reader_sees_what_warcio_sees(path: Path) -> None:
    """Every response and revisit, read with FastWARC, equals warcio's reading of it:
    WARC fields, status, headers in order, and the body de-chunked and decoded."""
    _assert_read_as_warcio_reads(path)


def test_odd_bodies_are_decoded_as_warcio_decodes_them(tmp_path: Path) -> None:
    page = b"<p>Xin ch\xc3\xa0o \xc4\x90\xe1\xbb\x93ng Th\xc3\xa1p</p>" * 500
    bodies = {
        "gzip": [page, b"<p>labelled gzip, sent plain</p>", gzip.compress(page)[:300]],
        "deflate": [zlib.compress(page), zlib.compress(page)[2:-4]],  # zlib and raw deflate
        "x-unknown": [page],
    }
    writer = make_writer(tmp_path)
    for encoding, variants in bodies.items():
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\n\r\n".encode()
        for body in variants:
            writer.write_exchange(
                exchange(head=head, body=gzip.compress(body) if body is page else body)
            )
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    _assert_read_as_warcio_reads(path)


def _assert_read_as_warcio_reads(path: Path) -> None:
    expected = []
    with path.open("rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            if record.rec_type in ("response", "revisit"):
                http, warc = record.http_headers, record.rec_headers
                revisit = record.rec_type == "revisit"
                expected.append(
                    {
                        "offset": records.offset,
                        "url": warc.get_header("WARC-Target-URI"),
                        "record_id": warc.get_header("WARC-Record-ID"),
                        "date": warc.get_header("WARC-Date"),
                        "payload_digest": warc.get_header("WARC-Payload-Digest"),
                        "status": int(http.get_statuscode()) if http else None,
                        "headers": list(http.headers) if http else [],
                        "body": b"" if revisit else record.content_stream().read(),
                    }
                )
    got = [
        {
            "offset": r.location.offset,
            "url": r.url,
            "record_id": r.record_id,
            "date": r.date,
            "payload_digest": r.payload_digest,
            "status": r.status,
            "headers": r.headers,
            "body": r.body,
        }
        for r in iter_records([path])
    ]
    assert len(got) == len(expected) > 0
    for got_record, expected_record in zip(got, expected, strict=True):
        assert got_record == expected_record, expected_record["url"]


def test_a_warc_given_twice_is_read_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``extract lapvo/warc/*.warc.gz lapvo/warc/*.gz``, or a link beside its file: each
    capture is one item, not one per time its file was named."""
    warc = DATA / CASES["crawl"][0]
    link = tmp_path / "link.warc.gz"
    link.symlink_to(warc)
    once, twice = tmp_path / "once.jsonl", tmp_path / "twice.jsonl"
    extract_items([warc], once)
    stats = extract_items([warc, link, warc], twice)
    assert twice.read_bytes() == once.read_bytes()
    assert stats.articles == len(once.read_text(encoding="utf-8").splitlines())
    assert [record.getMessage() for record in caplog.records] == [
        f"{link} is {warc}, named before: read once",
        f"{warc} is {warc}, named before: read once",
    ]


def test_an_empty_warc_file_is_an_error_not_an_empty_success(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A copy onto a full disk, a download that never started: zero bytes where a WARC file
    was meant to be is data lost, and a run that reads "errors: 0" would hide it."""
    empty = tmp_path / "lost.warc.gz"
    empty.write_bytes(b"")
    alone, beside = tmp_path / "alone.jsonl", tmp_path / "beside.jsonl"
    extract_items([DATA / CASES["crawl"][0]], alone)
    stats = extract_items([empty, DATA / CASES["crawl"][0]], beside)
    assert stats.errors == 1
    assert beside.read_bytes() == alone.read_bytes()
    assert [record.getMessage() for record in caplog.records] == [
        f"{empty}: the file is empty (0 bytes): no WARC record in it"
    ]


def test_a_body_that_breaks_mid_stream_is_read_as_far_as_it_decodes_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Found by fuzzing: warcio ends such a body where its gzip breaks and writes zlib's
    complaint to stderr ("Error -3 Invalid lookback distance found"), naming nothing. The
    bytes stay warcio's; the reader says which record, in a warning."""
    # Past warcio's first block of 16 KB: a failure there is read as a body sent plain.
    page = b"<p>" + random.Random(1).randbytes(40_000).hex().encode() + b"</p>"
    packed = bytearray(gzip.compress(page, compresslevel=1))
    packed[len(packed) * 2 // 3 : len(packed) * 2 // 3 + 64] = bytes(64)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n"
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange(head=head, body=bytes(packed)))
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    capfd.readouterr()
    (response,) = iter_records([path])
    assert capfd.readouterr().err == ""
    assert 0 < len(response.body) < len(page)
    assert f"{path.name} at offset {response.location.offset}: the body of {response.url}" in (
        caplog.text
    )
    _assert_read_as_warcio_reads(path)


def test_items_repeating_a_key_and_version_are_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``extract lapvo/warc/*.warc.gz lapvo-copy/warc/*.warc.gz``: two collections of the
    same site (or a copy of one) number their versions apart, and the items came out with the
    same key and version twice, nothing said."""
    copy = tmp_path / "copy.warc.gz"
    copy.write_bytes((DATA / "crawl-1.warc.gz").read_bytes())
    out = tmp_path / "items.jsonl"
    stats = extract_items([DATA / "crawl-1.warc.gz", copy], out)
    keys = [(item["key"], item["version"]) for item in map(json.loads, out.open())]
    assert stats.articles == len(keys) == 2 * len(set(keys)) == 28
    assert (
        "14 items repeat the key and version of an item given before: the WARC files hold the "
        "same captures twice (a copy), or come from more than one collection, each numbering "
        "its versions" in caplog.text
    )
