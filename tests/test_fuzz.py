"""The parsers and readers never raise on damaged input: a fixed set of seeded mutations of
the test pages and WARC files (the same ones every run; ``python -m tests.mutations`` hunts
with more). Each defect these found got its own test too (test_digits.py,
test_unfollowable_links.py, test_archive_reader.py, test_parse_listing.py)."""

from __future__ import annotations

from pathlib import Path

from tests.mutations import page_failures, warc_failures


def test_no_page_makes_a_parser_raise() -> None:
    found = [trace for trace, _ in page_failures(seed=1, runs=1500)]
    assert found == [], found[0]


def test_no_damaged_warc_makes_extract_raise(tmp_path: Path) -> None:
    found = [trace for trace, _ in warc_failures(seed=1, runs=150, work=tmp_path)]
    assert found == [], found[0]
