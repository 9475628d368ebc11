"""`extract` over a collection crawled before the `{host}#{asset_id}` key gives that
collection's items byte for byte: the key, like the version, comes from the crawl's item
record; only WARCs without such records (wget, Browsertrix) get the key computed."""

from __future__ import annotations

import json
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from crawler.reextract import extract_items

DATA = Path(__file__).parent / "data" / "extract"
OLD_WARCS = sorted(DATA.glob("old-keys-*.warc.gz"))


def test_extract_gives_an_old_collection_its_own_items(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    stats = extract_items(OLD_WARCS, out)
    expected = (DATA / "old-keys-items.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line)["key"] for line in out.read_text(encoding="utf-8").splitlines()] == [
        "lapvo.dongthap.gov.vn/web/hlv#17835569",
        "lapvo.dongthap.gov.vn/web/hlv#4961961",
        "lapvo.dongthap.gov.vn/web/hlv#4961961",
    ]
    assert out.read_text(encoding="utf-8") == expected
    # The recapture the crawl found unchanged (no item record) is no item under either key.
    assert (stats.articles, stats.unchanged) == (3, 1)


def _without_item_records(source: Path, target: Path) -> None:
    with source.open("rb") as reading, target.open("wb") as writing:
        writer = WARCWriter(writing, gzip=True)
        for record in ArchiveIterator(reading):
            if record.rec_type != "metadata":
                writer.write_record(record)


def test_without_item_records_the_key_is_computed(tmp_path: Path) -> None:
    stripped = [tmp_path / path.name for path in OLD_WARCS]
    for source, target in zip(OLD_WARCS, stripped, strict=True):
        _without_item_records(source, target)
    out = tmp_path / "items.jsonl"
    stats = extract_items(stripped, out)
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(item["key"], item["version"]) for item in items] == [
        ("lapvo.dongthap.gov.vn#17835569", 1),
        ("lapvo.dongthap.gov.vn#4961961", 1),
        ("lapvo.dongthap.gov.vn#4961961", 2),
    ]
    assert stats.unchanged == 1
