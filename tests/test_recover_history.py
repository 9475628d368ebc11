"""Live and recovered captures of an article are one history in capture time, whatever order
they reach the collection in: a live crawl, then ``recover`` of older captures, then a live
crawl again."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
from tests.recover_support import ARTICLES, WebArchive, archive
from tests.replica_process import running_replica

__all__ = ["archive"]  # the shared fixture

FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "PORTAL_RETRY_BACKOFF_BASE=0", "-s", "LOG_LEVEL=WARNING")
CONTENT = ("title", "summary", "paragraphs", "captions", "byline", "attachments")


def _content(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in CONTENT}


def _live_crawl(archive: WebArchive, collection: Path) -> None:
    port = urlsplit(archive.site).port
    assert port is not None
    # The site is back at its address, as it was at the archive's second moment.
    with running_replica("--port", str(port), "--articles", ARTICLES, "--edition", "1"):
        result = run_cli("crawl", archive.site, "--out", str(collection), *LOOPBACK_SETTINGS)
    assert result.returncode == 0, result.stderr + result.stdout


def test_older_captures_recovered_after_a_live_crawl_join_its_history_in_capture_time(
    archive: WebArchive, tmp_path: Path
) -> None:
    collection = tmp_path / "collection"
    _live_crawl(archive, collection)
    live = read_items(collection)
    before, after = archive.moments
    edited = {item["key"] for item in after} & {item["key"] for item in before}
    assert edited, "the fixture has no edit"
    # A line damaged by hand or by a disk, among the live ones: recover reads past it.
    items_path = collection / "items.jsonl"
    first, *rest = items_path.read_bytes().splitlines(keepends=True)
    damaged = b'{"key": "x#9", "fetched_at": "2020-01-01T00:00:00Z", "ti\n'
    items_path.write_bytes(b"".join([first, damaged, *rest]))

    result = run_cli(
        "recover", archive.site, "--archive", archive.collection_url, "--out", str(collection),
        *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"items.jsonl at byte {len(first)}: not an item (not JSON" in result.stderr
    assert items_path.read_bytes().startswith(b"".join([first, damaged, *rest]))
    items_path.write_bytes(items_path.read_bytes().replace(damaged, b""))
    items = read_items(collection)
    recovered = items[len(live) :]
    # Only the archived edits the live crawl could not see: older, and different.
    assert sorted(item["key"] for item in recovered) == sorted(edited)
    oldest = {item["key"]: item for item in before}
    for item in recovered:
        assert item["source"] == "archive"
        assert _content(item) == _content(oldest[item["key"]])
        history = sorted(
            (i for i in items if i["key"] == item["key"]), key=lambda i: i["fetched_at"]
        )
        assert [i["source"] for i in history] == ["archive", "live"]
        assert len({i["version"] for i in history}) == 2  # distinct numbers, one history

    # The newest version in time is still the live one: unchanged pages make no version.
    _live_crawl(archive, collection)
    assert read_items(collection) == items
