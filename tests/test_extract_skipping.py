"""`extract` steps over a collection's photos by its CDXJ index, and an index that lies
costs nothing: what is read is what a full walk of the file reads."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.cdxj import build_index
from archive.reader import ArchiveReadError, iter_archive
from archive.skipping import SkippingReader, skippable_ranges
from crawler.reextract import _is_article_page, extract_items

DATA = Path(__file__).parent / "data" / "extract"
CRAWL = ["crawl-1.warc.gz", "crawl-2.warc.gz"]


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """The frozen crawl's WARCs as a collection, with its built index."""
    directory = tmp_path / "collection"
    (directory / "warc").mkdir(parents=True)
    for name in CRAWL:
        shutil.copy(DATA / name, directory / "warc" / name)
    build_index(directory / "warc", directory / "indexes" / "index.cdxj")
    return directory


def _warcs(collection: Path) -> list[Path]:
    return [collection / "warc" / name for name in CRAWL]


def _read(paths: list[Path]) -> list[object]:
    return list(iter_archive(paths, responses=_is_article_page))


def test_the_photos_are_stepped_over(collection: Path) -> None:
    photos = sum(len(skippable_ranges(path, _is_article_page)) for path in _warcs(collection))
    assert photos == 23 + 5  # every image/jpeg response of the two files


def test_extract_over_the_collection_gives_what_a_full_walk_gives(
    collection: Path, tmp_path: Path
) -> None:
    walked, skipped = tmp_path / "walked.jsonl", tmp_path / "skipped.jsonl"
    extract_items([DATA / name for name in CRAWL], walked)  # outside a collection: no index
    stats = extract_items(_warcs(collection), skipped)
    assert stats.errors == 0
    assert stats.articles > 0
    assert skipped.read_bytes() == walked.read_bytes()


def test_records_and_their_offsets_are_those_of_a_full_walk(collection: Path) -> None:
    walked = _read([DATA / name for name in CRAWL])  # outside a collection: no index
    skipped = _read(_warcs(collection))
    assert len(skipped) == len(walked) > 0
    for got, want in zip(skipped, walked, strict=True):
        assert got == want  # offsets included: they are the file's, not the reader's view


def _rewrite_index(collection: Path, edit: dict[str, object], nth: int) -> None:
    """Change the ``nth`` photo line of the index with ``edit`` (a ``length`` below zero is
    taken off the photo's own)."""
    index = collection / "indexes" / "index.cdxj"
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    photos = [i for i, line in enumerate(lines) if '"mime": "image/' in line]
    head, _, body = lines[photos[nth]].partition(" {")
    fields = json.loads("{" + body)
    if isinstance(edit.get("length"), int):
        edit = edit | {"length": str(int(fields["length"]) + int(edit["length"]))}
    fields |= edit
    lines[photos[nth]] = f"{head} {json.dumps(fields)}\n"
    index.write_text("".join(lines), encoding="utf-8")


def _page(collection: Path) -> dict[str, str]:
    """The index's line for an article page's response."""
    index = (collection / "indexes" / "index.cdxj").read_text(encoding="utf-8")
    for line in index.splitlines():
        fields = json.loads(line[line.index("{") :])
        page = fields["mime"] == "text/html" and _is_article_page(fields["url"], "text/html")
        if page and fields["filename"] == CRAWL[0]:
            return fields
    raise AssertionError("no article page in the index")


@pytest.mark.parametrize(
    "lie",
    [
        "a page's offset",
        "a page's offset and URL",
        "beyond the end",
        "inside a member",
        "ends inside it",
    ],
)
def test_an_index_that_lies_loses_nothing(collection: Path, lie: str) -> None:
    walked = _read([DATA / name for name in CRAWL])
    page = _page(collection)
    # Each lie is one check's to catch: the others would let it through.
    at_page = {"offset": page["offset"], "length": page["length"]}
    edit: dict[str, object] = {
        "a page's offset": at_page,
        "a page's offset and URL": at_page | {"url": page["url"]},
        "beyond the end": {"length": str(10**9)},
        "inside a member": {"offset": str(int(page["offset"]) + 7)},
        "ends inside it": {"length": -7},
    }[lie]
    _rewrite_index(collection, edit | {"filename": CRAWL[0]}, nth=0)
    assert _read(_warcs(collection)) == walked


def test_a_file_cut_inside_a_photo_is_still_reported(collection: Path) -> None:
    path = _warcs(collection)[0]
    ranges = skippable_ranges(path, _is_article_page)
    start, end = ranges[-1]
    data = path.read_bytes()
    path.write_bytes(data[: (start + end) // 2])  # cut inside the last photo
    with pytest.raises(ArchiveReadError):
        _read([path])


def test_the_reader_sees_the_file_without_the_ranges() -> None:
    data = bytes(range(256)) * 4
    ranges = [(0, 10), (100, 150), (150, 160), (700, 1024)]
    for size in (1, 7, 64, 4096):
        reader = SkippingReader(io.BytesIO(data), ranges)
        assert reader.tell() == 0
        seen = b""
        while chunk := reader.read(size):
            seen += chunk
        assert seen == data[10:100] + data[160:700]
        assert reader.real_offset(0) == 10
        assert reader.real_offset(89) == 99
        assert reader.real_offset(90) == 160
        assert reader.real_offset(len(seen) - 1) == 699


@pytest.mark.parametrize(
    "damage",
    [
        lambda line: line[: len(line) - 30] + "\n",  # cut inside its JSON
        lambda line: line.replace("{", "(", 1),  # no JSON object
        lambda line: line.replace('"offset"', '"offs"'),  # no offset
        lambda line: line.replace('"length": "', '"length": "x'),  # a length of words
        lambda line: line.replace(', "filename"', ', "length": [1], "filename"'),
    ],
)
def test_a_damaged_index_line_is_read_as_usual(
    collection: Path, damage: Callable[[str], str]
) -> None:
    """An index line that says nothing readable is no evidence: its photo is read."""
    walked = _read([DATA / name for name in CRAWL])
    index = collection / "indexes" / "index.cdxj"
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    photos = [i for i, line in enumerate(lines) if '"mime": "image/' in line]
    lines[photos[0]] = damage(lines[photos[0]])
    index.write_text("".join(lines), encoding="utf-8")
    ranges = skippable_ranges(_warcs(collection)[0], _is_article_page)
    assert len(ranges) == 22  # the others still stepped over
    assert _read(_warcs(collection)) == walked


def test_a_photo_stepped_over_at_the_end_of_a_file_is_no_damage(tmp_path: Path) -> None:
    """The last record read must end the file, or it was cut short; a photo stepped over by
    the index after it (a WARC from another tool, ending with a photo's response) is not
    what is left unread."""
    directory = tmp_path / "collection"
    (directory / "warc").mkdir(parents=True)
    data = (DATA / CRAWL[0]).read_bytes()
    photo = next(
        json.loads("{" + line.partition(" {")[2])
        for line in _index_lines(DATA / CRAWL[0], tmp_path)
        if '"mime": "image/' in line
    )
    start, end = int(photo["offset"]), int(photo["offset"]) + int(photo["length"])
    (directory / "warc" / CRAWL[0]).write_bytes(data + data[start:end])  # ends with a photo
    build_index(directory / "warc", directory / "indexes" / "index.cdxj")
    path = directory / "warc" / CRAWL[0]
    assert skippable_ranges(path, _is_article_page)[-1][1] == path.stat().st_size
    assert _read([path]) == _read([DATA / CRAWL[0]])  # no damage raised


def _index_lines(warc: Path, tmp_path: Path) -> list[str]:
    (tmp_path / "one" / "warc").mkdir(parents=True)
    shutil.copy(warc, tmp_path / "one" / "warc" / warc.name)
    build_index(tmp_path / "one" / "warc", tmp_path / "one.cdxj")
    return (tmp_path / "one.cdxj").read_text(encoding="utf-8").splitlines()
