"""Reading responses back: ours, wget's (raw chunked body), Browsertrix's, plain, broken."""

from __future__ import annotations

import gzip
import io
import itertools
import logging
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastwarc.warc import WarcRecordType
from warcio.exceptions import ArchiveLoadFailed
from warcio.warcwriter import WARCWriter

import archive.reader
from archive.reader import (
    ArchivedMetadata,
    ArchiveReadError,
    iter_archive,
    iter_records,
    read_response,
    record_offsets,
)
from tests.archive_support import REQUEST, URL, exchange, five_pages_one_damaged, make_writer

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
    records = iter_archive(tmp_path.glob("*.warc.gz"))
    assert [record for record in records if isinstance(record, ArchivedMetadata)] == [
        ("https://x.vn/a", location.record_id, {"title": "T"}, None)
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


def _gzip_bomb(size: int, chunk: int = 1 << 20) -> bytes:
    """A gzip body that decodes to ``size`` zero bytes (a multiple of ``chunk``), about a
    thousandth of that itself: built from repeated deflate output, never from ``size`` bytes."""
    zeros = bytes(chunk)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    # Once the window is all zeros, every further chunk compresses to the same bytes.
    steady = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    crc = 0
    for _ in range(size // chunk):
        crc = zlib.crc32(zeros, crc)
    final_empty_block = b"\x03\x00"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return first + steady * (size // chunk - 1) + final_empty_block + trailer


def _bomb_warc(directory: Path, size: int) -> Path:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n"
    writer = make_writer(directory)
    writer.write_exchange(exchange(head=head, body=_gzip_bomb(size)))
    writer.close()
    (path,) = directory.glob("*.warc.gz")
    return path


def test_the_bomb_builder_decodes_to_its_size() -> None:
    assert gzip.decompress(_gzip_bomb(4 << 20)) == bytes(4 << 20)


def test_a_body_over_the_limit_is_flagged_not_kept(tmp_path: Path) -> None:
    path = _bomb_warc(tmp_path, 8 << 20)
    (small,) = iter_records([path], max_body=1 << 20)
    assert small.body_too_large and small.body == b""
    assert small.status == 200 and small.header("Content-Encoding") == "gzip"
    (large,) = iter_records([path], max_body=8 << 20)
    assert not large.body_too_large and large.body == bytes(8 << 20)


def test_headers_only_read_decodes_no_body(tmp_path: Path) -> None:
    path = _bomb_warc(tmp_path, 8 << 20)
    (response,) = iter_records([path])
    headers_only = read_response(path, response.location.offset, body=False)
    assert headers_only.body == b"" and not headers_only.body_too_large
    assert headers_only.headers == response.headers
    assert headers_only.payload_digest == response.payload_digest


def test_a_gigabyte_bomb_stays_out_of_memory(tmp_path: Path) -> None:
    """1 GB of zeros in 1 MB of gzip: reading it (and reading the record at its offset, as
    opening a collection does) keeps memory near the 64 MB limit."""
    path = _bomb_warc(tmp_path, 1 << 30)
    code = (
        "import resource, sys\n"
        "from archive.reader import iter_records, read_response\n"
        "(r,) = iter_records([sys.argv[1]])\n"
        "again = read_response(sys.argv[1], r.location.offset)\n"
        "print(r.body_too_large, again.body_too_large, len(r.body) + len(again.body),"
        " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    flagged, flagged_again, kept, peak_mb = done.stdout.split()
    assert (flagged, flagged_again, kept) == ("True", "True", "0")
    assert int(peak_mb) < 300, f"peak RSS {peak_mb} MB reading a 1 GB bomb"


def test_a_file_cut_inside_a_record_nobody_reads_is_damaged(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange())
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    whole = path.read_bytes()
    buffer = io.BytesIO()
    warcio_writer = WARCWriter(buffer, gzip=True)
    warcio_writer.write_record(
        warcio_writer.create_warc_record(URL, "request", payload=io.BytesIO(REQUEST))
    )
    request_member = buffer.getvalue()
    path.write_bytes(whole + request_member[: len(request_member) // 2])
    with pytest.raises(ArchiveReadError, match=rf"offset {len(whole)}:"):
        list(iter_records([path]))


def test_damage_after_a_record_warcio_cannot_read_is_still_one_error(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Found by fuzzing: garbage after a response without ``WARC-Target-URI``. FastWARC reads
    the response; warcio, which only says where a damaged file's last good record ends, fails
    on it (an AttributeError inside warcio). The damage is still one ArchiveReadError, at that
    record (its start, 131: where it ends is what warcio could not say), and nothing of
    warcio's is printed."""
    path = DATA / "no-target-then-garbage.warc.gz"
    got = []
    with pytest.raises(
        ArchiveReadError, match=rf"{path.name}: unreadable WARC data at offset 131:"
    ):
        got.extend(iter_records([path]))
    # No http(s) target: the block is not read as HTTP (warcio's rule), so it is the body.
    assert [response.body for response in got] == [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>x</p>"
    ]
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "failure", [StopIteration(), ArchiveLoadFailed("Unknown archive format"), OSError("bad")]
)
def test_whatever_warcio_raises_on_the_last_good_record_the_damage_is_one_error(
    failure: BaseException, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also found by fuzzing (a record warcio finds nowhere, or in no format it knows): the
    report of the damage must never itself fail."""

    class Failing:
        def __init__(self, stream: object) -> None:
            pass

        def __iter__(self) -> Iterator[object]:
            raise failure

    monkeypatch.setattr(archive.reader, "WarcioIterator", Failing)
    with pytest.raises(ArchiveReadError, match=r"garbage-tail\.warc\.gz: unreadable WARC data"):
        list(iter_records([DATA / "garbage-tail.warc.gz"]))


def test_the_records_after_damage_are_read_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A gzip member damaged inside a WARC file costs that record, not the file's rest: the
    reader reads on from the next whole record and says what it passed over."""
    path, offsets, member_end = five_pages_one_damaged(tmp_path)
    with caplog.at_level(logging.ERROR, logger="archive.reader"):
        got = list(iter_records([path], strict=False))
    assert [record.location.offset for record in got] == offsets[:2] + offsets[3:]
    assert [record.url for record in got] == [f"{URL}?n={n}" for n in (0, 1, 3, 4)]
    assert (
        f"{path}: unreadable WARC data at offset {offsets[2]}: " in caplog.text
        and f"read on from offset {member_end}, the next whole record" in caplog.text
    )
    strict: list[object] = []
    with pytest.raises(ArchiveReadError, match=rf"at offset {offsets[2]}: .*read on from"):
        strict.extend(iter_records([path]))
    assert strict == got, "strict readers get every readable record, then the error"


def test_damage_with_nothing_whole_after_it_ends_the_file(tmp_path: Path) -> None:
    path, offsets, _ = five_pages_one_damaged(tmp_path)
    data = path.read_bytes()
    cut = data.index(b"\x1f\x8b\x08", offsets[2] + 3)
    path.write_bytes(data[:cut] + b"\x1f\x8b\x08 no member")  # nothing whole after the damage
    with pytest.raises(ArchiveReadError, match=rf"at offset {offsets[2]}: .*nothing whole after"):
        list(iter_records([path]))


def _member_starts(data: bytes) -> list[int]:
    starts, position = [], 0
    while position < len(data):
        starts.append(position)
        inflater = zlib.decompressobj(31)
        inflater.decompress(data[position:])
        position = len(data) - len(inflater.unused_data)
    return starts


def test_a_file_cut_in_the_first_bytes_of_a_record_is_damaged(tmp_path: Path) -> None:
    """Found by truncating a recovered collection's WARC at 6,000,000 bytes: index, extract
    and wacz said nothing and exited 0, 41 of 183 captures gone. A cut a few bytes into a gzip
    member leaves FastWARC nothing to read a record from, and it ended quietly; every cut
    inside a record, wherever it falls, is now damage at the start of that record."""
    data = (Path(__file__).parent / "data" / "extract" / "crawl-1.warc.gz").read_bytes()
    starts = _member_starts(data)
    cut_file = tmp_path / "cut.warc.gz"
    quiet = []
    for start, end in itertools.pairwise([*starts, len(data)]):
        for into in (1, 10, 100):
            if start + into >= end:
                continue
            cut_file.write_bytes(data[: start + into])
            failures: list[ArchiveReadError] = []
            record_offsets(cut_file, failures, types=WarcRecordType.any_type)
            if [failure.offset for failure in failures] != [start]:
                quiet.append((start, into, [str(failure) for failure in failures]))
    assert quiet == []
    cut_file.write_bytes(data[: starts[5] + 10])
    with pytest.raises(ArchiveReadError, match=rf"offset {starts[5]}: the file ends inside"):
        list(iter_records([cut_file]))


def test_a_file_cut_between_records_is_whole(tmp_path: Path) -> None:
    """Cut where a record ends, a file is a shorter WARC file: nothing in it says otherwise
    (the fixity manifest does: see wacz)."""
    data = (Path(__file__).parent / "data" / "extract" / "crawl-1.warc.gz").read_bytes()
    cut_file = tmp_path / "cut.warc.gz"
    cut_file.write_bytes(data[: _member_starts(data)[7]])
    failures: list[ArchiveReadError] = []
    assert len(record_offsets(cut_file, failures, types=WarcRecordType.any_type)) == 7
    assert failures == []
