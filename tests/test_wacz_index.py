"""``wacz`` reuses the collection's own index instead of reading the WARC files again, but only
where it is right: a stale, cut, reordered or foreign index falls back to reading the files,
and the package's index is always what an indexer gives on the package's WARC files."""

from __future__ import annotations

import dataclasses
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

import archive.wacz
from archive.cdxj import build_index
from archive.index_reuse import reusable_index
from archive.wacz import PackageInfo, Selection, write_wacz
from archive.writer import ArchiveWriter
from tests.archive_support import exchange
from tests.conftest import Crawled
from tests.replay_support import ours_and_pywbs_index
from tests.test_wacz import DAY1, JPEG, PHOTO, _two_site_collection


def _indexed_collection(directory: Path) -> Path:
    """A collection with its index, as a crawl leaves it; returns the index's path."""
    _two_site_collection(directory)
    index = directory / "indexes" / "index.cdxj"
    build_index(directory / "warc", index)
    return index


def _never_read_again(path: Path) -> None:
    raise AssertionError(f"{path.name} was indexed again although the index covers it")


def _package_index(package: Path, tmp_path: Path) -> tuple[list[str], list[str]]:
    """The package's index, and what the indexer gives on the package's own WARC files."""
    fresh = tmp_path / "fresh"
    with zipfile.ZipFile(package) as wacz:
        index = wacz.read("indexes/index.cdxj").decode().splitlines(keepends=True)
        for name in wacz.namelist():
            if name.startswith("archive/"):
                wacz.extract(name, fresh)
    build_index(fresh / "archive", tmp_path / "fresh.cdxj")
    return index, (tmp_path / "fresh.cdxj").read_text().splitlines(keepends=True)


def test_a_covering_index_is_reused_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _indexed_collection(tmp_path / "c")
    monkeypatch.setattr(archive.wacz, "index_lines", _never_read_again)
    report = write_wacz(tmp_path / "c", tmp_path / "a.wacz", PackageInfo("a"))
    assert report.reindexed == []
    packaged, fresh = _package_index(tmp_path / "a.wacz", tmp_path)
    assert packaged == fresh == index.read_text().splitlines(keepends=True)
    assert report.captures == len(fresh) == 4


def test_a_crawls_own_index_is_reused_and_is_pywbs(
    crawled: Crawled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crawl indexes as it writes (not with the indexer): its index passes the check."""
    monkeypatch.setattr(archive.wacz, "index_lines", _never_read_again)
    report = write_wacz(crawled.directory, tmp_path / "a.wacz", PackageInfo("a"))
    assert report.reindexed == [] and report.captures > 40
    packaged, fresh = _package_index(tmp_path / "a.wacz", tmp_path)
    assert packaged == fresh
    pywbs = []
    for warc in sorted((tmp_path / "fresh" / "archive").glob("*.warc.gz")):
        pywbs += ours_and_pywbs_index(warc, tmp_path)[1]
    # pywb also indexes the item records under their urn: target; ours indexes responses and
    # revisits only (archive/cdxj.py). Every other line is the same, byte for byte.
    assert packaged == sorted(line for line in pywbs if not line.startswith("urn:"))


def _truncate_at_a_line(index: Path) -> None:
    lines = index.read_text().splitlines(keepends=True)
    index.write_text("".join(lines[:-1]))


def _truncate_mid_line(index: Path) -> None:
    text = index.read_text()
    index.write_text(text[: len(text) - 20])


def _shuffle(index: Path) -> None:
    index.write_text("".join(reversed(index.read_text().splitlines(keepends=True))))


def _shift_an_offset(index: Path) -> None:
    lines = index.read_text().splitlines(keepends=True)
    key, timestamp, entry = lines[1].split(" ", 2)
    fields = json.loads(entry)
    fields["offset"] = str(int(fields["offset"]) + 1)
    lines[1] = f"{key} {timestamp} {json.dumps(fields)}\n"
    index.write_text("".join(lines))


def _name_another_url(index: Path) -> None:
    """A line whose URL is not its record's (its key and place unchanged)."""
    lines = index.read_text().splitlines(keepends=True)
    key, timestamp, entry = lines[0].split(" ", 2)
    lines[0] = f"{key} {timestamp} {json.dumps(json.loads(entry) | {'url': PHOTO + 'x'})}\n"
    index.write_text("".join(lines))


def _swallow_the_next_record(index: Path) -> None:
    """A capture's length reaching over the record after it (its request), so that the
    members still tile the file."""
    (warc,) = (index.parent.parent / "warc").glob("*.warc.gz")
    with warc.open("rb") as stream:
        records = ArchiveIterator(stream)
        spans = []
        for record in records:
            records.read_to_end(record)
            spans.append(
                (record.rec_type, records.get_record_offset(), records.get_record_length())
            )
    lines = index.read_text().splitlines(keepends=True)
    for n, line in enumerate(lines):
        key, timestamp, entry = line.split(" ", 2)
        fields = json.loads(entry)
        at = [offset for _, offset, _ in spans].index(int(fields["offset"]))
        if spans[at + 1][0] == "request":
            fields["length"] = str(int(fields["length"]) + spans[at + 1][2])
            lines[n] = f"{key} {timestamp} {json.dumps(fields)}\n"
            break
    index.write_text("".join(lines))


def _negative_offset(index: Path) -> None:
    lines = index.read_text().splitlines(keepends=True)
    key, timestamp, entry = lines[0].split(" ", 2)
    lines[0] = f"{key} {timestamp} {json.dumps(json.loads(entry) | {'offset': '-5'})}\n"
    index.write_text("".join(lines))


def _not_text(index: Path) -> None:
    index.write_bytes(index.read_bytes()[:100] + b"\xff\xfe\x00garbage\n")


def _grow_the_warc(index: Path) -> None:
    """Another record appended to the indexed file (its size is no longer the index's)."""
    (warc,) = (index.parent.parent / "warc").glob("*.warc.gz")
    extra = index.parent.parent / "extra"
    writer = ArchiveWriter(extra)
    writer.write_exchange(exchange(head=JPEG, body=b"\xff\xd8", url=PHOTO))
    writer.close()
    (added,) = extra.glob("*.warc.gz")
    with warc.open("ab") as out:
        out.write(added.read_bytes())
    shutil.rmtree(extra)


def _replace_the_warc(index: Path) -> None:
    """The indexed file replaced by another collection's file of the same name."""
    (warc,) = (index.parent.parent / "warc").glob("*.warc.gz")
    other = index.parent.parent / "other"
    writer = ArchiveWriter(other)
    for n in range(3):
        photo = exchange(head=JPEG, body=b"\xff\xd8" * (n + 1), url=f"{PHOTO}{n}")
        writer.write_exchange(dataclasses.replace(photo, fetched_at=DAY1))
    writer.close()
    (written,) = other.glob("*.warc.gz")
    written.replace(warc)
    shutil.rmtree(other)


def _add_an_unindexed_warc(index: Path) -> None:
    writer = ArchiveWriter(index.parent.parent / "warc", prefix="later")
    writer.write_exchange(exchange(head=JPEG, body=b"\xff\xd8later", url=PHOTO + "later"))
    writer.close()


@pytest.mark.parametrize(
    "spoil",
    [
        _truncate_at_a_line,
        _truncate_mid_line,
        _shuffle,
        _shift_an_offset,
        _name_another_url,
        _swallow_the_next_record,
        _negative_offset,
        _not_text,
        _grow_the_warc,
        _replace_the_warc,
        _add_an_unindexed_warc,
        Path.unlink,
    ],
)
def test_a_wrong_index_falls_back_to_reading_the_files(tmp_path: Path, spoil) -> None:
    index = _indexed_collection(tmp_path / "c")
    spoil(index)
    report = write_wacz(tmp_path / "c", tmp_path / "a.wacz", PackageInfo("a"))
    packaged, fresh = _package_index(tmp_path / "a.wacz", tmp_path)
    assert packaged == fresh == sorted(fresh)
    assert report.captures == len(fresh)
    assert report.reindexed, "the wrong index was taken as it was"


def test_only_the_uncovered_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _indexed_collection(tmp_path / "c")
    (covered,) = (tmp_path / "c" / "warc").glob("*.warc.gz")
    _add_an_unindexed_warc(index)
    read: list[str] = []
    index_lines = archive.wacz.index_lines

    def counted(path: Path, damaged: list[object]) -> list[str]:
        read.append(path.name)
        return index_lines(path, damaged)

    monkeypatch.setattr(archive.wacz, "index_lines", counted)
    report = write_wacz(tmp_path / "c", tmp_path / "a.wacz", PackageInfo("a"))
    assert len(read) == 1 and read[0].startswith("later") and read == report.reindexed
    assert covered.name not in read
    packaged, fresh = _package_index(tmp_path / "a.wacz", tmp_path)
    assert packaged == fresh and len(fresh) == 5


def test_a_cut_is_indexed_while_it_is_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _indexed_collection(tmp_path / "c")
    monkeypatch.setattr(archive.wacz, "index_lines", _never_read_again)
    selection = Selection(host="lapvo.dongthap.gov.vn", first_day="2026-11-02")
    report = write_wacz(tmp_path / "c", tmp_path / "a.wacz", PackageInfo("a"), selection)
    packaged, fresh = _package_index(tmp_path / "a.wacz", tmp_path)
    assert packaged == fresh
    assert [json.loads(line.split(" ", 2)[2])["url"] for line in packaged] == [
        "https://lapvo.dongthap.gov.vn/web/hlv/chi-tiet-bai-viet/-/asset_publisher/x/content/id/1"
    ]
    assert report.captures == 1


def test_lines_naming_a_file_not_in_the_collection_are_left_out(tmp_path: Path) -> None:
    """The index also names a WARC file that is gone: the present file's lines are reused,
    the others are not packaged, and only then is each line looked at again."""
    index = _indexed_collection(tmp_path / "c")
    (warc,) = (tmp_path / "c" / "warc").glob("*.warc.gz")
    assert reusable_index(index, [warc]).whole
    lines = index.read_text().splitlines(keepends=True)
    gone = lines[0].replace(warc.name, "gone.warc.gz")
    index.write_text("".join(sorted([*lines, gone])))
    reused = reusable_index(index, [warc])
    assert reused.covered == {warc.name} and not reused.whole
    assert list(reused.lines()) == lines
    write_wacz(tmp_path / "c", tmp_path / "a.wacz", PackageInfo("a"))
    packaged, fresh = _package_index(tmp_path / "a.wacz", tmp_path)
    assert packaged == fresh == lines
