"""``extract`` reads WARCs that the real GNU wget wrote (not imitations of them).

wget captures replica articles with ``--warc-file --page-requisites``; the replica chunks
every response and wget stores chunked bodies as they came, which is what the reader must
undo. The items must be those our own crawl of the same pages gave.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.urls import UrlKind, classify
from tests.captures import records
from tests.conftest import Crawled, read_items, require_tool, run_cli
from tests.replay_support import ours_and_pywbs_index

# What the page alone decides (a crawl also learns dates and sections from listings).
PAGE_FIELDS = ("title", "summary", "paragraphs", "captions", "images", "byline", "attachments")


@pytest.fixture(scope="module")
def chosen(crawled: Crawled) -> list[dict[str, Any]]:
    """A few crawled articles with photos, one of them a real portal page (a specimen)."""
    manifest = {a["url"]: a for a in crawled.replica.manifest()["articles"]}
    with_images = [item for item in crawled.items if item["images"]]
    specimen = next(item for item in with_images if manifest[item["url"]]["specimen"])
    generated = [item for item in with_images if not manifest[item["url"]]["specimen"]][:3]
    return [specimen, *generated]


@pytest.fixture(scope="module")
def wget_warc(chosen: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    wget = require_tool("wget")
    out = tmp_path_factory.mktemp("wget")
    command = [wget, f"--warc-file={out / 'wget'}", "--page-requisites", "--no-verbose"]
    command += ["--no-proxy", "-e", "robots=off", "--tries=1", "-P", str(out / "files")]
    result = subprocess.run(
        [*command, *(item["url"] for item in chosen)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out / "wget.warc.gz"


def test_the_warc_is_wgets_with_chunked_bodies(wget_warc: Path) -> None:
    with wget_warc.open("rb") as stream:
        info = next(iter(ArchiveIterator(stream)))
        assert info.rec_type == "warcinfo"
        assert b"software: Wget/" in info.content_stream().read()
    pages = [
        r
        for r in records([wget_warc], "response")
        if classify(r.rec_headers.get_header("WARC-Target-URI")) is UrlKind.ARTICLE
    ]
    assert pages and all(
        r.http_headers.get_header("Transfer-Encoding") == "chunked" for r in pages
    ), "the replica chunks every response: the reader's de-chunking is exercised"


def test_extract_of_wgets_warc_gives_the_crawled_items(
    wget_warc: Path, chosen: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = run_cli("extract", str(wget_warc), "--out", str(tmp_path / "items.jsonl"))
    assert result.returncode == 0, result.stderr
    extracted = {item["url"]: item for item in read_items(tmp_path)}
    assert set(extracted) == {item["url"] for item in chosen}
    for crawled_item in chosen:
        item = extracted[crawled_item["url"]]
        assert item["paragraphs"], item["url"]
        for name in PAGE_FIELDS:
            assert item[name] == crawled_item[name], (item["url"], name)
        assert item["warc"]["file"] == wget_warc.name


def test_index_of_wgets_warc_equals_pywbs(wget_warc: Path, tmp_path: Path) -> None:
    ours, theirs = ours_and_pywbs_index(wget_warc, tmp_path)
    # pywb also indexes wget's own metadata and resource records (its log, its manifest,
    # under metadata:// URIs); ours indexes responses and revisits, all that replay needs.
    captures = [line for line in theirs if '"url": "http' in line]
    assert len(captures) < len(theirs), "pywb saw wget's metadata records"
    assert ours == "".join(captures)
