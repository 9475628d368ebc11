"""`extract` over frozen WARCs (two real crawls, wget's own WARC) gives the frozen items,
byte for byte: a faster reader must not change what comes out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.reextract import extract_items

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
