"""``recover`` killed half-way and run again ends as a run never killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import read_items, run_cli
from tests.recover_support import WebArchive, archive

__all__ = ["archive"]  # the shared fixture

SETTINGS = ("-s", "PORTAL_RETRY_BACKOFF_BASE=0", "-s", "LOG_LEVEL=WARNING")


def test_a_killed_recovery_is_finished_by_running_it_again(
    archive: WebArchive, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "crawler.cli", "recover", archive.site,
        "--archive", archive.collection_url, "--out", str(tmp_path), *SETTINGS,
    ]  # fmt: skip
    slow = subprocess.Popen(
        [*command, "-s", "DOWNLOAD_DELAY=0.3", "-s", "DOWNLOAD_DELAY_JITTER=0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(read_items(tmp_path)) < 3 and slow.poll() is None:
        assert time.monotonic() < deadline, "no article recovered in time"
        time.sleep(0.05)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait()
    killed_at = len(read_items(tmp_path))
    result = run_cli(*command[3:], "-s", "DOWNLOAD_DELAY=0")
    assert result.returncode == 0, result.stderr + result.stdout
    items = read_items(tmp_path)
    expected = _histories(archive)
    assert killed_at < sum(len(h) for h in expected.values())
    got: dict[str, list[tuple[int, str]]] = {}
    for item in items:
        got.setdefault(item["key"], []).append((item["version"], item["fetched_at"]))
    assert got == {
        key: [(n, i["fetched_at"]) for n, i in enumerate(history, start=1)]
        for key, history in expected.items()
    }
    wanted = {image["url"] for item in items for image in item["images"]}
    wanted |= {file["url"] for item in items for file in item["attachments"]}
    assert wanted and wanted <= _archived_urls(tmp_path)  # every image and file, once asked


def _archived_urls(directory: Path) -> set[str]:
    urls = set()
    for path in (directory / "warc").glob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    urls.add(record.rec_headers["WARC-Target-URI"])
    return urls


def _histories(archive: WebArchive) -> dict[str, list[dict]]:
    content = ("title", "summary", "paragraphs", "captions", "images", "byline", "attachments")
    histories: dict[str, list[dict]] = {}
    for moment in archive.moments:
        for item in moment:
            history = histories.setdefault(item["key"], [])
            if not history or any(history[-1][f] != item[f] for f in content):
                history.append(item)
    return histories


# Run as ``python -c``: the recovery, killed (SIGKILL) as soon as recover.sqlite holds an
# article capture as read, which is the moment a rerun starts skipping it.
_KILLED_AFTER_FIRST_MARK = """
import os, signal, sys
from crawler.recover import state
from crawler import cli

def killing(method):
    def call(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        read = self._db.execute("SELECT 1 FROM captures WHERE outcome = 'http-200' LIMIT 1")
        if read.fetchone():
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return call

for name, method in list(vars(state.RecoveryLog).items()):
    if callable(method) and not name.startswith("_") and name != "close":
        setattr(state.RecoveryLog, name, killing(method))
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_recovery_killed_as_a_capture_is_marked_read_loses_no_article(
    archive: WebArchive, tmp_path: Path
) -> None:
    arguments = [
        "recover", archive.site, "--archive", archive.collection_url, "--out", str(tmp_path),
        *SETTINGS, "-s", "DOWNLOAD_DELAY=0",
    ]  # fmt: skip
    killed = subprocess.run(
        # Small commits: the first save comes early, with most of the recovery still to do.
        [
            sys.executable,
            "-c",
            _KILLED_AFTER_FIRST_MARK,
            *arguments,
            "-s",
            "ARCHIVE_COMMIT_EVERY=2",
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    expected = _histories(archive)
    assert len(read_items(tmp_path)) < sum(len(h) for h in expected.values())
    result = run_cli(*arguments)
    assert result.returncode == 0, result.stderr + result.stdout
    got = {(item["key"], item["version"]) for item in read_items(tmp_path)}
    assert got == {
        (key, n) for key, history in expected.items() for n in range(1, len(history) + 1)
    }


@pytest.mark.parametrize("limit", [200_000, 600_000])
def test_a_recovery_on_a_full_disk_is_finished_by_running_it_again(
    archive: WebArchive, tmp_path: Path, limit: int
) -> None:
    """As for a crawl (tests/test_incremental.py): captures in flight when the disk fills are
    read again by the rerun, and none of what was written is written twice."""
    arguments = [
        "recover", archive.site, "--archive", archive.collection_url, "--out", str(tmp_path),
        *SETTINGS, "-s", "DOWNLOAD_DELAY=0",
    ]  # fmt: skip
    full = run_cli(*arguments, max_file_size=limit)
    assert full.returncode == 1, full.stderr + full.stdout
    assert "archive cannot be written" in full.stderr
    assert "Traceback" not in full.stderr
    result = run_cli(*arguments)
    assert result.returncode == 0, result.stderr + result.stdout
    items = read_items(tmp_path)
    got: dict[str, list[tuple[int, str]]] = {}
    for item in items:
        got.setdefault(item["key"], []).append((item["version"], item["fetched_at"]))
    assert got == {
        key: [(n, i["fetched_at"]) for n, i in enumerate(history, start=1)]
        for key, history in _histories(archive).items()
    }
    wanted = {image["url"] for item in items for image in item["images"]}
    wanted |= {file["url"] for item in items for file in item["attachments"]}
    assert wanted and wanted <= _archived_urls(tmp_path)
