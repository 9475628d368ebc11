"""The Scrapy way, as the README gives it: ``scrapy list`` and ``scrapy crawl`` from the
repository root, through the real ``scrapy`` command (not our CLI, not an in-process crawler)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import LOOPBACK_SETTINGS, Crawled, read_items
from tests.replica_process import REPO, ReplicaHandle

SCRAPY = str(Path(sys.executable).parent / "scrapy")


def scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    # Only scrapy.cfg in the working directory may name the project's settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    return subprocess.run(
        [SCRAPY, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_scrapy_list_names_the_spiders() -> None:
    result = scrapy("list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["fetch", "portal"]


def test_scrapy_crawl_fetch(replica: ReplicaHandle, tmp_path: Path) -> None:
    manifest = replica.manifest()
    soft = set(manifest["soft404"])
    articles = [a for a in manifest["articles"] if a["images"] and a["url"] not in soft][:2]
    urls = ",".join(a["url"] for a in articles)
    result = scrapy(
        "crawl", "fetch", "-a", f"urls={urls}", "-s", f"ARCHIVE_DIR={tmp_path}", *LOOPBACK_SETTINGS
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    items = {item["url"]: item for item in read_items(tmp_path)}
    assert set(items) == {a["url"] for a in articles}
    for article in articles:
        item = items[article["url"]]
        assert item["title"] == article["title"]
        assert len(item["images"]) == len(article["images"])
    assert list((tmp_path / "warc").glob("*.warc.gz")), "the WARC file is closed"
    assert (tmp_path / "indexes" / "index.cdxj").exists()


def test_scrapy_crawl_portal_matches_portal_archiver_crawl(
    crawled: Crawled, tmp_path: Path
) -> None:
    result = scrapy(
        "crawl", "portal", "-a", f"targets={crawled.replica.url}web/hlv",
        "-s", f"ARCHIVE_DIR={tmp_path}", *LOOPBACK_SETTINGS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    items = read_items(tmp_path)
    assert items, result.stderr
    assert sorted(i["key"] for i in items) == sorted(i["key"] for i in crawled.items)
