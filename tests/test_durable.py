"""ARCHIVE_DURABLE: the real pipeline syncs the WARC and items.jsonl before each state commit."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

import replica
from archive.collection import Collection, CollectionLocked
from crawler import settings as project
from crawler.archiving import ArchivePipeline
from crawler.capture import CAPTURE_META_KEY, WireCapture
from crawler.extract import items_for_response
from crawler.items import ArticleItem
from crawler.spiders.fetch import FetchSpider

ARTICLE = (
    "https://dongthap.gov.vn/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/24950000"
)
PAGE = Path(replica.__file__).parent / "data" / "a01-dtp.html"


def archive_one_article(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool) -> list:
    """Run one article through the pipeline; the fsyncs and state commits, in order."""
    settings = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    settings |= {"ARCHIVE_DIR": str(tmp_path), "ARCHIVE_DURABLE": durable}
    crawler = get_crawler(FetchSpider, settings_dict={**settings, "ARCHIVE_COMMIT_EVERY": 1})
    crawler.spider = FetchSpider.from_crawler(crawler, urls=ARTICLE)
    crawler.stats.open_spider()
    pipeline = ArchivePipeline.from_crawler(crawler)
    events: list[str] = []
    sync = os.fsync

    def recording_fsync(fd: int) -> None:
        events.append("fsync " + Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        sync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    pipeline.collection._conn.set_trace_callback(
        lambda sql: events.append("COMMIT") if sql.strip().upper() == "COMMIT" else None
    )
    capture = WireCapture(b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n", datetime.now(UTC))
    request = Request(ARTICLE, meta={CAPTURE_META_KEY: capture})
    response = HtmlResponse(ARTICLE, body=PAGE.read_bytes(), request=request)
    pipeline.response_downloaded(response, request, crawler.spider)
    (item,) = [
        out for out in items_for_response(crawler.spider, response) if isinstance(out, ArticleItem)
    ]
    pipeline.process_item(item)
    pipeline.collection.close()
    return events


def test_durable_syncs_the_warc_and_items_before_the_state_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = archive_one_article(tmp_path, monkeypatch, durable=True)
    commit = events.index("COMMIT")
    synced = {event.split(" ", 1)[1] for event in events[:commit] if event.startswith("fsync")}
    assert "items.jsonl" in synced
    assert [name for name in synced if name.endswith(".warc.gz.open")]


def test_not_durable_leaves_syncing_to_the_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = archive_one_article(tmp_path, monkeypatch, durable=False)
    assert not [event for event in events[: events.index("COMMIT")] if event.startswith("fsync")]
    assert "fsync items.jsonl" not in events


def test_the_lock_names_the_command_holding_the_collection(tmp_path: Path) -> None:
    """A command refused meanwhile says ``in use by portal-archiver fetch (pid …)``, not
    "another crawl" for every spider."""
    settings = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    crawler = get_crawler(FetchSpider, settings_dict={**settings, "ARCHIVE_DIR": str(tmp_path)})
    crawler.spider = FetchSpider.from_crawler(crawler, urls=ARTICLE)
    pipeline = ArchivePipeline.from_crawler(crawler)
    try:
        assert (tmp_path / ".lock").read_text().split() == [str(os.getpid()), "fetch"]
        with pytest.raises(CollectionLocked, match=r"in use by portal-archiver fetch \(pid"):
            Collection(tmp_path).open()
    finally:
        pipeline.collection.close()
