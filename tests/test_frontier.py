"""The crawl frontier in the collection: a rerun resumes where a killed crawl stopped (issue 12)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, signals
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from archive.exchange import WarcLocation
from archive.frontier import DEFERRED, DONE, FAILED, OWED
from archive.reader import iter_records
from archive.writer import ArchiveWriteError
from crawler.archiving import ArchivePipeline
from crawler.dupefilter import ResumableDupeFilter
from crawler.extract import RESUMED_META_KEY, build_item
from crawler.frontier import FRONTIER_KEY, CrawlFrontier, FrontierScheduler
from crawler.items import ArticleContent
from crawler.middlewares import ConditionalRequestMiddleware
from crawler.spiders.base import request_failed
from crawler.spiders.portal import PortalSpider
from crawler.urls import article_key
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli, run_cli_raising
from tests.replica_process import ReplicaHandle, running_replica


def hlv_ids(replica: ReplicaHandle) -> set[str]:
    manifest = replica.manifest()
    soft = set(manifest["soft404"])
    return {
        str(a["asset_id"])
        for a in manifest["articles"]
        if a["site"] == "hlv" and a["url"] not in soft
    }


def crawl_command(replica: ReplicaHandle, directory: Path, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "crawler.cli", "crawl", f"{replica.url}web/hlv"]
    return [*command, "--out", str(directory), *LOOPBACK_SETTINGS, *extra]


def kill_after_items(command: list[str], directory: Path, items: int, sig: int) -> None:
    """Start ``command`` and send ``sig`` once items.jsonl holds ``items`` lines."""
    # A file, not a pipe: nobody reads the crawl's output while it runs, and a full pipe
    # would stall it. Read back only to say why a crawl ended too soon.
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while len(read_items(directory)) < items and time.monotonic() < deadline:
            if process.poll() is not None:
                output.seek(0)
                said = output.read().decode("utf-8", "replace")[-3000:]
                raise AssertionError(
                    f"the crawl ended (exit {process.returncode}) with "
                    f"{len(read_items(directory))} items, before it could be interrupted:\n{said}"
                )
            time.sleep(0.02)
        process.send_signal(sig)
        process.wait(timeout=60)


def archived_urls(directory: Path) -> set[str]:
    return {r.url for r in iter_records(sorted((directory / "warc").glob("*.warc.gz")))}


SLOW = ("-s", "DOWNLOAD_DELAY=0.02", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")


def test_nightly_new_only_after_a_killed_run_finishes_it(tmp_path: Path) -> None:
    """The README's cron line: a killed --new-only run's own articles do not stop paging."""
    with running_replica("--articles", "150") as replica:
        expected = hlv_ids(replica)
        # Late enough that whole listing pages hold only articles the killed run stored.
        late = len(expected) * 2 // 3
        kill_after_items(
            crawl_command(replica, tmp_path, "--new-only", *SLOW), tmp_path, late, signal.SIGKILL
        )
        assert late <= len(read_items(tmp_path)) < len(expected)
        rerun = run_cli(*crawl_command(replica, tmp_path, "--new-only")[3:])
        assert rerun.returncode == 0, rerun.stderr
    counts = Counter(item["asset_id"] for item in read_items(tmp_path))
    assert set(counts) == expected and max(counts.values()) == 1


def test_other_commands_neither_continue_nor_close_an_open_crawl(tmp_path: Path) -> None:
    with running_replica("--articles", "40") as replica:
        expected = hlv_ids(replica)
        kill_after_items(crawl_command(replica, tmp_path, *SLOW), tmp_path, 5, signal.SIGKILL)
        article = read_items(tmp_path)[0]["url"]
        for command in (
            ("fetch", article),
            ("crawl", f"{replica.url}web/hlv", "--new-only"),
            ("crawl", f"{replica.url}web/hth"),
        ):
            refused = run_cli(*command, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
            assert refused.returncode == 2, refused.stderr
            assert "has an unfinished crawl" in refused.stderr, refused.stderr
            assert "ARCHIVE_DISCARD_OPEN_CRAWL=True" in refused.stderr
        rerun = run_cli(*crawl_command(replica, tmp_path)[3:])
        assert rerun.returncode == 0, rerun.stderr
    assert {item["asset_id"] for item in read_items(tmp_path)} == expected
    assert not {OWED, DEFERRED} & set(frontier_states(tmp_path)), "nothing is left owed"
    done = report(tmp_path)
    assert done["resumed"]["articles_done"] >= 5 and done["resumed"]["warc_files_repaired"] == 1
    assert done["remaining"] == 0


def test_killed_before_commit_is_not_fetched_again_as_a_new_version(tmp_path: Path) -> None:
    with running_replica("--articles", "40") as replica:
        kill_after_items(
            crawl_command(replica, tmp_path, *SLOW, "-s", "ARCHIVE_COMMIT_EVERY=100000"),
            tmp_path,
            5,
            signal.SIGKILL,
        )
        before = read_items(tmp_path)
        replica.reset()
        rerun = run_cli(*crawl_command(replica, tmp_path)[3:])
        assert rerun.returncode == 0, rerun.stderr
        targets = [request["target"] for request in replica.requests()["requests"]]
    done = [item["url"].split("/", 3)[3] for item in before]
    assert not [path for path in done if f"/{path}" in targets], "done articles are not fetched"
    after = read_items(tmp_path)
    assert after[: len(before)] == before
    assert all(item["version"] == 1 for item in after)
    assert report(tmp_path)["resumed"]["items_registered"] == len(before)
    images = [image["url"] for item in after for image in item["images"]]
    assert images and set(images) <= archived_urls(tmp_path), "no image is lost"


def test_registered_items_owe_no_requisites_when_requisites_are_off(tmp_path: Path) -> None:
    # Theme assets (the logo, icons) are a setting of their own: off too, so any image
    # request the replica sees would be a requisite owed by reconciling.
    off = ("-s", "ARCHIVE_REQUISITES=False", "-s", "ARCHIVE_THEME_ASSETS=False")
    off += ("-s", "ARCHIVE_COMMIT_EVERY=100000")
    with running_replica("--articles", "40") as replica:
        kill_after_items(crawl_command(replica, tmp_path, *SLOW, *off), tmp_path, 5, signal.SIGKILL)
        replica.reset()
        rerun = run_cli(*crawl_command(replica, tmp_path, *off)[3:])
        assert rerun.returncode == 0, rerun.stderr
        log = replica.requests()["requests"]
    assert not [r for r in log if "/documents/" in r["target"] or "/image" in r["target"]]


def report(directory: Path) -> dict[str, Any]:
    """The run's report (``DIR/report.json``)."""
    return json.loads((directory / "report.json").read_text(encoding="utf-8"))


def frontier_states(directory: Path) -> Counter[str]:
    with sqlite3.connect(directory / "state.sqlite") as db:
        return Counter(state for (state,) in db.execute("SELECT state FROM frontier"))


# -- the frontier's decisions, one by one ----------------------------------------------------

HLV = "https://lapvo.dongthap.gov.vn/web/hlv"
ARTICLE = f"{HLV}/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[ArchivePipeline]:
    crawler = get_crawler(PortalSpider, settings_dict={"ARCHIVE_DIR": str(tmp_path)})
    crawler.spider = PortalSpider.from_crawler(crawler, targets="lapvo")
    crawler.stats.open_spider()
    pipeline = ArchivePipeline.from_crawler(crawler)
    pipeline.frontier.resume(crawler.spider)
    yield pipeline
    pipeline.collection.close()


@pytest.fixture
def frontier(archive: ArchivePipeline) -> CrawlFrontier:
    return archive.frontier


def spider_of(frontier: CrawlFrontier) -> PortalSpider:
    return frontier.crawler.spider


def redirect(request: Request, url: str) -> Request:
    return request.replace(url=url, meta={**request.meta, "redirect_urls": [request.url]})


@pytest.mark.parametrize(
    "target",
    [
        ARTICLE.replace("https:", "http:"),
        f"{ARTICLE}?plidlayout=5101",
        ARTICLE.replace("/4961961", "/4961961;jsessionid=0A1B"),
    ],
)
def test_a_redirect_to_the_same_article_is_no_duplicate(
    frontier: CrawlFrontier, target: str
) -> None:
    spider = spider_of(frontier)
    first = Request(f"{ARTICLE}?plidlayout=5101", callback=spider.parse_article)
    assert frontier.admit(first, spider)
    again = redirect(first, target)
    assert frontier.admit(again, spider), "its own request does not make it a duplicate"
    dupefilter = ResumableDupeFilter.from_crawler(frontier.crawler)
    assert not dupefilter.request_seen(again)
    assert frontier.states == {article_key(ARTICLE): OWED}


def test_a_redirect_elsewhere_hands_the_outcome_to_its_target(frontier: CrawlFrontier) -> None:
    spider = spider_of(frontier)
    old = Request(f"{HLV}/home", callback=spider.parse_home)
    assert frontier.admit(old, spider)
    assert frontier.admit(redirect(old, f"{HLV}/trang-chu"), spider)
    assert frontier.states == {f"{HLV}/home": DONE, f"{HLV}/trang-chu": OWED}
    assert not frontier.admit(Request(f"{HLV}/trang-chu"), spider), "known: not queued twice"


def test_deferred_articles_are_recorded_and_taken_by_a_listing(frontier: CrawlFrontier) -> None:
    spider = spider_of(frontier)
    frontier.defer(Request(ARTICLE, callback=spider.parse_article), spider)
    assert [entry.url for entry in frontier.deferred()] == [ARTICLE]
    assert frontier.admit(Request(ARTICLE, callback=spider.parse_article), spider)
    assert frontier.deferred() == [] and frontier.states[article_key(ARTICLE)] == OWED


def test_a_page_is_done_only_when_all_it_yielded_is_handled(frontier: CrawlFrontier) -> None:
    spider = spider_of(frontier)
    page = Request(ARTICLE, callback=spider.parse_article)
    frontier.admit(page, spider)
    key = article_key(ARTICLE)
    item, image = {"key": key}, Request(f"{HLV}/documents/1/2/a.jpg")
    frontier.callback_started(key)
    frontier.expect(key, item)
    frontier.expect(key, image)
    frontier.release(key)  # the callback returned; its outputs are still on their way
    assert frontier.states[key] == OWED
    frontier.admit(image, spider)
    frontier.request_handled(image)
    assert frontier.states[key] == OWED
    frontier.crawler.signals.send_catch_log(signals.item_scraped, item=item, response=None)
    assert frontier.states[key] == DONE


@pytest.mark.parametrize(("kind", "state"), [("http-404", FAILED), ("timeout", OWED)])
def test_failures_for_good_are_recorded_others_stay_owed(
    frontier: CrawlFrontier, kind: str, state: str
) -> None:
    spider = spider_of(frontier)
    request = Request(f"{HLV}/documents/1/2/a.jpg", callback=spider.parse_requisite)
    frontier.admit(request, spider)
    frontier.crawler.signals.send_catch_log(request_failed, request=request, kind=kind)
    frontier.callback_started(request.meta[FRONTIER_KEY])
    frontier.release(request.meta[FRONTIER_KEY])  # an errback's (empty) output
    assert frontier.collection.frontier.states() == {request.meta[FRONTIER_KEY]: state}


SEED = "web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961?plidlayout=5101"
PHOTO = "/documents/481930/0/bi+thu+phat+bieu.jpg/e3584c44-2749-dc32-51b6-32cfb08472c0"


def test_a_photo_killed_while_its_retry_waits_stays_owed(tmp_path: Path) -> None:
    """An error answer is archived too, but it is no outcome: the retry is still owed."""
    with running_replica("--articles", "20", "--fail-first", f"{PHOTO}=1") as replica:
        fetch = ["fetch", replica.url + SEED, "--out", str(tmp_path), *LOOPBACK_SETTINGS]
        waiting = ("-s", "PORTAL_RETRY_BACKOFF_BASE=60", "-s", "ARCHIVE_COMMIT_EVERY=1")
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", *fetch, *waiting],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [
            r for r in replica.requests()["requests"] if r["target"].startswith(PHOTO)
        ]:
            time.sleep(0.05)
        time.sleep(1)  # the 500 is archived and committed; the retry waits a minute
        process.send_signal(signal.SIGKILL)
        process.wait()
        rerun = run_cli(*fetch)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    records = list(iter_records(sorted((tmp_path / "warc").glob("*.warc.gz"))))
    assert [r.status for r in records if PHOTO in r.url] == [500, 200]


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("crawler.extract.parse_article", "callback-error"),
        ("crawler.archiving.encode_item", "item-error"),
    ],
)
def test_an_article_whose_page_or_item_failed_is_owed_to_the_rerun(
    tmp_path: Path, target: str, kind: str
) -> None:
    """A callback that raised, or a pipeline that raised on its item: the request is not
    settled as done, the crawl stays open, and the same command takes it over."""
    with running_replica("--articles", "20") as replica:
        expected = hlv_ids(replica)
        asset = sorted(expected)[0]
        command = crawl_command(replica, tmp_path)[3:]
        first = run_cli_raising(target, f"/id/{asset}", *command)
        assert first.returncode == 1, first.stdout + first.stderr
        assert f"failed ({kind})" in first.stdout
        assert {item["asset_id"] for item in read_items(tmp_path)} == expected - {asset}
        report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
        assert report["remaining"] == 1
        rerun = run_cli(*command)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    counts = Counter(item["asset_id"] for item in read_items(tmp_path))
    assert set(counts) == expected and max(counts.values()) == 1


def _disk_filled(archive: ArchivePipeline) -> None:
    """What the pipeline holds once a write failed (``_stop`` without the engine)."""
    archive.failure = ArchiveWriteError(28, "writing x.warc.gz.open failed")


def test_a_response_that_arrives_after_the_disk_filled_stays_owed(
    archive: ArchivePipeline,
) -> None:
    """Responses in flight when the disk filled are not archived; their callbacks still run
    while the crawl closes. They were settled done, so the rerun never fetched them: a
    crawl on a disk that filled, rerun, ended with 13 of 19 articles and exit 0."""
    frontier, spider = archive.frontier, spider_of(archive.frontier)
    listing = Request(f"{HLV}/tin-tuc", callback=spider.parse_listing)
    frontier.admit(listing, spider)
    key = article_key(listing.url)
    _disk_filled(archive)
    response = HtmlResponse(listing.url, body=b"<html></html>", request=listing)
    archive.response_downloaded(response, listing, spider)
    frontier.callback_started(key)
    frontier.release(key)  # the callback yielded nothing more
    assert frontier.states[key] != DONE
    assert frontier.collection.frontier.states()[key] == OWED


def test_an_item_not_stored_after_the_disk_filled_leaves_its_page_owed(
    archive: ArchivePipeline,
) -> None:
    frontier, spider = archive.frontier, spider_of(archive.frontier)
    page = Request(ARTICLE, callback=spider.parse_article)
    frontier.admit(page, spider)
    key = article_key(ARTICLE)
    item = build_item(
        ARTICLE,
        ArticleContent(title="Tiêu đề", paragraphs=["Nội dung."]),
        fetched_at="2026-12-07T00:00:00Z",
        warc=WarcLocation("portal-1.warc.gz", 0, "<urn:uuid:1>"),
    )
    frontier.callback_started(key)
    frontier.expect(key, item)
    frontier.release(key)
    _disk_filled(archive)  # after the page was archived, before its item was stored
    with pytest.raises(DropItem) as dropped:
        archive.process_item(item)
    frontier.crawler.signals.send_catch_log(
        signals.item_dropped, item=item, response=None, spider=spider, exception=dropped.value
    )
    assert frontier.states[key] != DONE
    assert frontier.collection.frontier.states()[key] == OWED


def test_a_run_that_queues_nothing_on_disk_closes_its_scheduler_cleanly(tmp_path: Path) -> None:
    """The scheduler drops the disk queue left on disk when it opens (the frontier is the
    truth); Scrapy writes the queue's state into that folder when it closes, so it must be
    there again: a resumed crawl logged "Scheduler close failure" (FileNotFoundError)."""
    jobdir = tmp_path / "jobs" / "portal"
    settings = {
        "ARCHIVE_DIR": str(tmp_path),
        "JOBDIR": str(jobdir),
        # The default queue asks the engine for the downloader, which only a crawl starts.
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
    }
    crawler = get_crawler(PortalSpider, settings_dict=settings)
    crawler.spider = PortalSpider.from_crawler(crawler, targets="lapvo")
    crawler.stats.open_spider()
    pipeline = ArchivePipeline.from_crawler(crawler)
    try:
        (jobdir / "requests.queue" / "stale").mkdir(parents=True)
        scheduler = FrontierScheduler.from_crawler(crawler)
        scheduler.open(crawler.spider)
        assert not (jobdir / "requests.queue" / "stale").exists()
        scheduler.close("finished")
        assert (jobdir / "requests.queue" / "active.json").is_file()
    finally:
        pipeline.collection.close()


@pytest.mark.parametrize("resumed", [False, True])
def test_an_article_owed_by_a_stopped_run_is_asked_for_whole(
    archive: ArchivePipeline, monkeypatch: pytest.MonkeyPatch, resumed: bool
) -> None:
    """A 304 has no page to find the images in that the stop may have lost."""
    monkeypatch.setattr(archive, "validators", lambda url: ('"etag"', "Mon, 07 Dec 2026"))
    middleware = ConditionalRequestMiddleware.from_crawler(archive.frontier.crawler)
    request = Request(ARTICLE, meta={RESUMED_META_KEY: resumed})
    middleware.process_request(request)
    conditional = b"If-None-Match" in request.headers
    assert conditional is not resumed


def test_resumed_requests_say_so(archive: ArchivePipeline, tmp_path: Path) -> None:
    frontier, spider = archive.frontier, spider_of(archive.frontier)
    frontier.admit(Request(ARTICLE, callback=spider.parse_article), spider)
    archive.collection.commit()
    (request,) = frontier.resume(spider)
    assert request.meta[RESUMED_META_KEY] is True


class _FullDatabase:
    """The collection's SQLite connection on a disk that filled: every commit fails."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real

    def commit(self) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_state_commit_that_fails_stops_the_crawl_as_a_failed_write(
    archive: ArchivePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit of the frontier failed inside Scrapy's scheduler: a "Task exception was never
    retrieved" traceback, and the crawl went on with its state rolled back."""
    stops: list[BaseException] = []
    monkeypatch.setattr(archive, "_stop", stops.append)
    frontier, spider = archive.frontier, spider_of(archive.frontier)
    page = Request(ARTICLE, callback=spider.parse_article)
    frontier.admit(page, spider)
    key = article_key(ARTICLE)
    collection = archive.collection
    monkeypatch.setattr(collection, "_db", _FullDatabase(collection._db))
    frontier.callback_started(key)
    frontier.release(key)  # settles the page: a commit, which fails
    [error] = stops
    assert isinstance(error, ArchiveWriteError)
    assert "disk I/O error" in str(error)
    monkeypatch.setattr(collection, "_db", collection._db.real)
