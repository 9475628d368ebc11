"""CDXJ index and SURT keys, compared with pywb where it is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.cdxj import build_index, index_lines
from archive.reader import ArchiveReadError
from archive.records import NOT_MODIFIED_PROFILE
from archive.surt import surt
from tests.archive_support import URL, exchange, five_pages_one_damaged, make_writer
from tests.conftest import require_tool, run_cli, tool_missing

DATA = Path(__file__).parent / "data" / "warc"
NOT_MODIFIED = exchange(head=b"HTTP/1.1 304 Not Modified\r\n\r\n", body=b"")
REFERS_TO = {
    "refers_to_uri": URL,
    "refers_to_date": "2026-11-26T11:00:00.000000Z",
    "payload_digest": "sha1:AAAA",
}
# Keys computed by pywb 2.10 (surt 0.3.1) for these URLs.
SURT_CASES = {
    "https://WWW.DongThap.gov.vn/web/htm/Tin-Tuc/": "vn,gov,dongthap)/web/htm/tin-tuc",
    "http://www2.lapvo.dongthap.gov.vn:80/web/hlv/?b=2&a=1&c": (
        "vn,gov,dongthap,lapvo)/web/hlv?a=1&b=2&c"
    ),
    "https://dongthap.gov.vn:8443/x/../y/./z//w/": "vn,gov,dongthap:8443)/y/z/w",
    "https://dongthap.gov.vn/a?jsessionid=ABCDEF0123456789ABCDEF0123456789&z=1": (
        "vn,gov,dongthap)/a?z=1"
    ),
    "https://dongthap.gov.vn/a?b=%2541&redirect=%2Ftin-tuc%3Fa%3D1#frag": (
        "vn,gov,dongthap)/a?b=a&redirect=/tin-tuc?a=1"
    ),
    "http://127.0.0.1:8080/path?": "1,0,0,127:8080)/path",
    "https://tìn-tức.vn/đường?q=Đồng Tháp": (
        "vn,xn--tn-tc-tsa6584c)/%c4%91%c6%b0%e1%bb%9dng?q=%c4%90%e1%bb%93ng%20th%c3%a1p"
    ),
    "https://dongthap.gov.vn": "vn,gov,dongthap)/",
    "https://user:pw@dongthap.gov.vn/x": "vn,gov,dongthap)/x",
    "dongthap.gov.vn/no-scheme": "vn,gov,dongthap)/no-scheme",
    "urn:some:id": "urn:some:id",
}


@pytest.mark.parametrize(("url", "key"), SURT_CASES.items())
def test_surt_matches_pywb_keys(url: str, key: str) -> None:
    assert surt(url) == key


def pywb_surts(urls: list[str]) -> list[str]:
    """pywb's own keys (pywb is a test dependency, installed with '.[test]')."""
    try:
        from pywb.utils.canonicalize import canonicalize
    except ImportError:
        tool_missing("pywb is not installed (pip install -e '.[test]')")
    return [canonicalize(url) for url in urls]


def test_surt_agrees_with_installed_pywb() -> None:
    urls = [*SURT_CASES, "https://dongthap.gov.vn/%7Euser/%E1%BA%A1", "http://2130706433/x"]
    urls.append("https://dongthap.gov.vn/a?p_p_id=x&_x_cur=2&p_p_lifecycle=0&_x_delta=20")
    assert [surt(url) for url in urls] == pywb_surts(urls)


def test_index_lines(tmp_path: Path) -> None:
    writer = make_writer(tmp_path / "warc")
    page = writer.write_exchange(exchange())
    writer.write_revisit(
        exchange(url="https://dongthap.gov.vn/b"),
        refers_to_uri="https://dongthap.gov.vn/b",
        refers_to_date="2026-11-25T00:00:00Z",
        payload_digest="sha1:AAAA",
    )
    writer.write_metadata(target_uri=exchange().url, concurrent_to=page.record_id, payload=b"{}")
    writer.close()
    assert build_index(tmp_path / "warc", tmp_path / "out" / "index.cdxj") == 2
    lines = (tmp_path / "out" / "index.cdxj").read_text().splitlines()
    assert lines == sorted(lines)
    key, stamp, data = lines[1].split(" ", 2)
    assert (key, stamp) == (
        "vn,gov,dongthap)/chi-tiet-bai-viet/-/asset_publisher/1mozurgkrdae/content/id/24950000"
        "?plidlayout=123",
        "20261126120000",
    )
    fields = json.loads(data)
    assert list(fields) == ["url", "mime", "status", "digest", "length", "offset", "filename"]
    assert (fields["mime"], fields["status"], fields["offset"]) == (
        "text/html",
        "200",
        str(page.offset),
    )
    assert fields["filename"] == page.file
    revisit = json.loads(lines[0].split(" ", 2)[2])
    assert (revisit["mime"], revisit["digest"], "status" in revisit) == (
        "warc/revisit",
        "AAAA",
        False,
    )


def test_index_equals_pywb_indexer(tmp_path: Path) -> None:
    indexer = require_tool("cdx-indexer")
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange(head=b"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", body=b""))
    writer.write_revisit(NOT_MODIFIED, **REFERS_TO, profile=NOT_MODIFIED_PROFILE)
    writer.close()
    for name in ("wget-chunked.warc.gz", "browsertrix.warc.gz", "plain.warc"):
        shutil.copy(DATA / name, tmp_path)
    build_index(tmp_path, tmp_path / "ours.cdxj")
    files = sorted(str(p.name) for p in tmp_path.glob("*.warc*"))
    theirs = subprocess.run(
        [indexer, "-j", "-s", *files], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert (tmp_path / "ours.cdxj").read_text() == theirs


def test_reuse_reads_only_files_the_index_does_not_name(tmp_path: Path) -> None:
    warc_dir = tmp_path / "warc"
    with make_writer(warc_dir, max_size=1) as writer:  # one file per exchange
        for n in range(3):
            writer.write_exchange(exchange(url=f"http://example.org/{n}"))
    index = tmp_path / "index.cdxj"
    assert build_index(warc_dir, index) == 3
    full = index.read_text()
    first = sorted(warc_dir.glob("*.warc.gz"))[0]
    # A line the reader could not have produced proves the kept line was reused, not re-read.
    marked = full.replace(f'"filename": "{first.name}"', f'"filename": "{first.name}", "x": "kept"')
    index.write_text(marked)
    assert build_index(warc_dir, index, reuse=True) == 3
    assert index.read_text() == marked
    first.unlink()
    assert build_index(warc_dir, index, reuse=True) == 2
    assert first.name not in index.read_text()
    assert build_index(warc_dir, index) == 2


def test_lines_a_writer_hands_out_equal_the_lines_read_back(tmp_path: Path) -> None:
    written: list[str] = []
    warc_dir = tmp_path / "warc"
    chunked = (
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html\r\n\r\n"
    )
    with make_writer(warc_dir, index_sink=written.append) as writer:
        writer.write_exchange(exchange())
        writer.write_exchange(exchange(head=chunked, url="http://example.org/missing"))
        writer.write_revisit(
            exchange(), refers_to_uri=URL, refers_to_date="2026-11-26T12:00:00Z",
            payload_digest="sha1:AAAA",
        )  # fmt: skip
        # No block at all: still a capture, as pywb's own indexer has it.
        writer.write_revisit(NOT_MODIFIED, **REFERS_TO, profile=NOT_MODIFIED_PROFILE)
    (path,) = warc_dir.glob("*.warc.gz")
    assert written == list(index_lines(path))
    index = tmp_path / "index.cdxj"
    (tmp_path / "written.cdxj").write_text("".join(written))
    assert build_index(warc_dir, index, written=tmp_path / "written.cdxj") == 4
    assert index.read_text() == "".join(sorted(index_lines(path)))


@pytest.mark.parametrize(
    "damage",
    [
        lambda line: line[: len(line) // 2] + "\n",  # cut inside its JSON
        lambda line: line.replace(" ", "", 2),  # no key, timestamp and JSON any more
        lambda line: line.replace('"filename"', '"file"'),  # names no file
        lambda line: line.rstrip("\n"),  # run together with the next
    ],
)
def test_a_damaged_index_is_built_again_not_reused(
    tmp_path: Path, damage: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    """The index is derived from the WARC files: a line that says nothing readable (a disk,
    an edit) means its files are read again, never that the build stops or loses a capture."""
    warc_dir = tmp_path / "warc"
    with make_writer(warc_dir, max_size=1) as writer:
        for n in range(3):
            writer.write_exchange(exchange(url=f"http://example.org/{n}"))
    index = tmp_path / "index.cdxj"
    assert build_index(warc_dir, index) == 3
    fresh = index.read_text()
    lines = fresh.splitlines(keepends=True)
    lines[1] = damage(lines[1])
    index.write_text("".join(lines))
    assert build_index(warc_dir, index, reuse=True) == 3
    assert index.read_text() == fresh
    assert "index.cdxj: line 2 is not a CDXJ capture line" in caplog.text


def test_a_damaged_warc_file_is_indexed_around_its_damage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """A gzip member damaged inside a closed WARC file (a disk): every whole record is
    indexed, the one damaged is said once with its offset, and warcio's own complaints do not
    flood the terminal."""
    intact = tmp_path / "intact"
    _, offsets, member_end = five_pages_one_damaged(tmp_path / "warc")
    build_index(tmp_path / "warc", tmp_path / "damaged.cdxj")
    lines = (tmp_path / "damaged.cdxj").read_text().splitlines()
    assert sorted(json.loads(line.split(" ", 2)[2])["offset"] for line in lines) == sorted(
        str(offset) for offset in offsets[:2] + offsets[3:]
    )
    assert f"unreadable WARC data at offset {offsets[2]}: " in caplog.text
    assert f"read on from offset {member_end}" in caplog.text
    assert capfd.readouterr().err == ""
    # Each line as the intact file's (its records have the same offsets).
    five_pages_one_damaged(intact, damage=False)
    build_index(intact, tmp_path / "intact.cdxj")
    whole = (tmp_path / "intact.cdxj").read_text().splitlines()
    assert set(lines) < set(whole) and len(whole) == len(lines) + 1


def test_index_of_a_collection_with_a_damaged_file_says_so_and_exits_1(tmp_path: Path) -> None:
    _, offsets, _ = five_pages_one_damaged(tmp_path / "c" / "warc")
    result = run_cli("index", str(tmp_path / "c"))
    assert result.returncode == 1, result.stderr
    assert f"unreadable WARC data at offset {offsets[2]}: " in result.stderr
    assert "Error -3" not in result.stderr  # warcio's own complaints stay out
    assert "indexed 4 records" in result.stdout
    assert "damaged: 1 place in 1 WARC file (said above)" in result.stdout


@pytest.mark.parametrize(
    ("into", "why"),
    [
        (10, "the file ends inside a record (cut short)"),
        ("half", "record cut short (the file ends inside it)"),
    ],
    ids=["in its headers", "in its block"],
)
def test_index_of_a_file_cut_inside_a_record_says_so(
    tmp_path: Path, into: int | str, why: str
) -> None:
    """A recovered WARC cut at 6,000,000 bytes: "indexed 142 records", exit 0, and the 41
    captures after the cut were never mentioned. warcio drops a member cut in its first bytes
    without a word, and gives a record cut inside its block as whole."""
    data = (Path(__file__).parent / "data" / "extract" / "crawl-1.warc.gz").read_bytes()
    (warc_dir := tmp_path / "c" / "warc").mkdir(parents=True)
    whole = build_index_of(data, warc_dir, tmp_path / "whole.cdxj")
    lines = whole.read_text().splitlines()
    entry = json.loads(lines[len(lines) // 2].split(" ", 2)[2])
    cut_at, length = int(entry["offset"]), int(entry["length"])
    (warc_dir / "crawl-1.warc.gz").write_bytes(
        data[: cut_at + (length // 2 if into == "half" else int(into))]
    )
    result = run_cli("index", str(tmp_path / "c"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"unreadable WARC data at offset {cut_at}: {why}" in result.stderr
    assert "damaged: 1 place in 1 WARC file (said above)" in result.stdout


def build_index_of(data: bytes, warc_dir: Path, out: Path) -> Path:
    (warc_dir / "crawl-1.warc.gz").write_bytes(data)
    build_index(warc_dir, out)
    return out


def test_a_plain_warc_file_ending_in_its_blank_lines_is_whole(tmp_path: Path) -> None:
    """An uncompressed file's last record ends with two blank lines warcio leaves out of its
    length: that is the file's end, not data after it."""
    (tmp_path / "warc").mkdir()
    shutil.copy(Path(__file__).parent / "data" / "warc" / "plain.warc", tmp_path / "warc")
    damaged: list[ArchiveReadError] = []
    build_index(tmp_path / "warc", tmp_path / "index.cdxj", damaged=damaged)
    assert damaged == []


def test_a_file_changed_since_its_fixity_record_is_read_again(tmp_path: Path) -> None:
    """README: ``index`` is for WARC files "added or changed by hand". A file whose size or
    modification time is no longer the one its fixity record holds (rewritten, restored from
    a copy) is read again, not taken from the index; an unchanged one is reused."""
    warc_dir = tmp_path / "warc"
    with make_writer(warc_dir, max_size=1) as writer:  # one file per exchange
        for n in range(2):
            writer.write_exchange(exchange(url=f"http://example.org/{n}"))
    index = tmp_path / "index.cdxj"
    build_index(warc_dir, index)
    _, second = sorted(warc_dir.glob("*.warc.gz"))
    # The second file replaced by hand with another capture (same name, other content).
    other = tmp_path / "other"
    with make_writer(other) as writer:
        writer.write_exchange(exchange(url="http://example.org/replaced"))
    (replacement,) = other.glob("*.warc.gz")
    second.write_bytes(replacement.read_bytes())
    assert build_index(warc_dir, index, reuse=True) == 2
    text = index.read_text()
    assert "http://example.org/replaced" in text and "http://example.org/1" not in text
    assert "http://example.org/0" in text
