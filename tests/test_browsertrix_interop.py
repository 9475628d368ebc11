"""``extract`` and ``index`` read WARCs laid out as Browsertrix-Crawler writes them.

Browsertrix cannot run here (it drives Chromium from its own Node.js crawler), so the WARC is
an imitation: written by ``tests/browsertrix_warc.py`` from live pages of the replica, with the
record types, order, WARC/1.1 headers, page ids, ``urn:pageinfo:`` records, decoded bodies and
revisits that Browsertrix's source writes (see that module). warcio and pywb's indexer, not
only our reader, check it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browsertrix_warc import write_browsertrix_warc
from tests.captures import records
from tests.conftest import Crawled, read_items, run_cli
from tests.replay_support import ours_and_pywbs_index

PAGE_FIELDS = ("title", "summary", "paragraphs", "captions", "images", "byline", "attachments")


@pytest.fixture(scope="module")
def chosen(crawled: Crawled) -> list[dict[str, Any]]:
    return [item for item in crawled.items if item["images"]][:3]


@pytest.fixture(scope="module")
def browsertrix_warc(
    chosen: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("browsertrix") / "crawl-20250627031415-abcdef012345.warc.gz"
    pages = [(item["url"], [image["url"] for image in item["images"]]) for item in chosen]
    write_browsertrix_warc(path, pages, revisit=chosen[0]["url"])
    return path


def test_warcio_finds_the_imitation_valid(browsertrix_warc: Path) -> None:
    check = [sys.executable, "-m", "warcio.cli", "check", "-v", str(browsertrix_warc)]
    result = subprocess.run(check, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout
    kinds = [r.rec_type for r in records([browsertrix_warc], *_ALL_TYPES)]
    assert kinds[0] == "warcinfo" and kinds[1:3] == ["response", "request"]
    assert {"resource", "revisit"} <= set(kinds)


_ALL_TYPES = ("warcinfo", "response", "request", "resource", "revisit", "metadata")


def test_extract_gives_the_crawled_items_once(
    browsertrix_warc: Path, chosen: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = run_cli("extract", str(browsertrix_warc), "--out", str(tmp_path / "items.jsonl"))
    assert result.returncode == 0, result.stderr
    items = read_items(tmp_path)
    assert sorted(item["url"] for item in items) == sorted(item["url"] for item in chosen), (
        "one item per page: the revisit and the pageinfo records give none"
    )
    extracted = {item["url"]: item for item in items}
    for crawled_item in chosen:
        item = extracted[crawled_item["url"]]
        assert item["paragraphs"], item["url"]
        for name in PAGE_FIELDS:
            assert item[name] == crawled_item[name], (item["url"], name)


def test_index_equals_pywbs_indexer(browsertrix_warc: Path, tmp_path: Path) -> None:
    ours, theirs = ours_and_pywbs_index(browsertrix_warc, tmp_path)
    # pywb also indexes the urn:pageinfo resource records; ours indexes response and revisit
    # records only (archive/cdxj.py), which is all that replay looks up. Every other line is
    # the same, byte for byte.
    captures = [line for line in theirs if not line.startswith("urn:")]
    assert len(captures) < len(theirs), "pywb saw the pageinfo records"
    assert ours == "".join(captures)
