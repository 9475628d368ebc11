"""The crawl frontier in the collection: a rerun resumes where a killed crawl stopped (issue 12)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from archive.frontier import DEFERRED, OWED
from archive.reader import iter_records
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
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
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while len(read_items(directory)) < items and time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the crawl ended before it could be interrupted")
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
            # The exit status and the shape of the message are the command line's contract
            # for every CollectionError (tests/test_cli.py).
            assert refused.returncode != 0
            assert "has an unfinished crawl" in refused.stderr, refused.stderr
            assert "ARCHIVE_DISCARD_OPEN_CRAWL=True" in refused.stderr
        rerun = run_cli(*crawl_command(replica, tmp_path)[3:])
        assert rerun.returncode == 0, rerun.stderr
    assert {item["asset_id"] for item in read_items(tmp_path)} == expected
    assert not {OWED, DEFERRED} & set(frontier_states(tmp_path)), "nothing is left owed"


def test_killed_before_commit_is_not_fetched_again_as_a_new_version(tmp_path: Path) -> None:
    with running_replica("--articles", "40") as replica:
        kill_after_items(
            crawl_command(replica, tmp_path, *SLOW, "-s", "ARCHIVE_COMMIT_EVERY=100000"),
            tmp_path,
            5,
            signal.SIGKILL,
        )
        before = read_items(tmp_path)
        rerun = run_cli(*crawl_command(replica, tmp_path)[3:])
        assert rerun.returncode == 0, rerun.stderr
    after = read_items(tmp_path)
    assert after[: len(before)] == before
    assert all(item["version"] == 1 for item in after)
    assert "items.jsonl lines the state lacked" in rerun.stderr
    images = [image["url"] for item in after for image in item["images"]]
    assert images and set(images) <= archived_urls(tmp_path), "no image is lost"


def test_registered_items_owe_no_requisites_when_requisites_are_off(tmp_path: Path) -> None:
    off = ("-s", "ARCHIVE_REQUISITES=False", "-s", "ARCHIVE_COMMIT_EVERY=100000")
    with running_replica("--articles", "40") as replica:
        kill_after_items(crawl_command(replica, tmp_path, *SLOW, *off), tmp_path, 5, signal.SIGKILL)
        replica.reset()
        rerun = run_cli(*crawl_command(replica, tmp_path, *off)[3:])
        assert rerun.returncode == 0, rerun.stderr
        log = replica.requests()["requests"]
    assert not [r for r in log if "/documents/" in r["target"] or "/image" in r["target"]]


def frontier_states(directory: Path) -> Counter[str]:
    with sqlite3.connect(directory / "state.sqlite") as db:
        return Counter(state for (state,) in db.execute("SELECT state FROM frontier"))
