"""Chaos: interrupt crawls of the replica again and again, then compare with an uninterrupted one.

Each interrupted run is stopped at a stage chosen by a seeded random generator (before the
first article, during the listing walk, among the articles, among the images and files, near
the end where the index is rebuilt) with SIGKILL, SIGTERM or SIGINT, or by a disk that fills
(a file-size limit: the kernel fails the writes past it) wherever a file reaches it; WARC
files rotate every few hundred KB so that stops also land around rotations. After the last
interruption the same command runs to the end, and the collection must hold what an
uninterrupted crawl holds.

Seeds 1 to 4 run in the suite: between them they meet both defects the full-disk stops found
(the requests in flight settled done, the images of an article owed by a stopped run never
asked for again). The long mode runs many seeds (README, "Crash safety"):
``PORTAL_CHAOS_SEEDS=1-40 PORTAL_CHAOS_INTERRUPTS=12 pytest tests/test_chaos.py``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.collection import Collection
from archive.frontier import DEFERRED, OWED
from archive.reader import iter_records, read_response
from tests.conftest import LOOPBACK_SETTINGS, limit_file_size, read_items, run_cli
from tests.replica_process import ReplicaHandle, running_replica

ROTATE = ("-s", "ARCHIVE_WARC_MAX_SIZE=300000")
SLOW = ("-s", "DOWNLOAD_DELAY=0.01", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)
RETRIES = ("-s", "PORTAL_RETRY_BACKOFF_BASE=0.3")


def _seeds() -> list[int]:
    text = os.environ.get("PORTAL_CHAOS_SEEDS", "1-4")
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


INTERRUPTS = int(os.environ.get("PORTAL_CHAOS_INTERRUPTS", "7"))


def command(replica: ReplicaHandle, directory: Path, *extra: str) -> list[str]:
    base = [sys.executable, "-m", "crawler.cli", "crawl", f"{replica.url}web/hlv"]
    return [*base, "--out", str(directory), *LOOPBACK_SETTINGS, *ROTATE, *extra]


def _document_requests(replica: ReplicaHandle) -> int:
    return sum(1 for r in replica.requests()["requests"] if "/documents/" in r["target"])


@dataclass(frozen=True)
class Stop:
    """When to interrupt a run, and how."""

    stage: str
    threshold: float
    signal: int
    commit_every: int
    """ARCHIVE_COMMIT_EVERY of the run: commits at every change, or grouped."""
    lag: float
    """Seconds between reaching the stage and the signal."""

    def reached(self, replica: ReplicaHandle, directory: Path, started: float) -> bool:
        if self.stage == "startup":
            return time.monotonic() - started >= self.threshold
        if self.stage == "listing":
            return replica.requests()["count"] >= self.threshold
        if self.stage == "requisites":
            return _document_requests(replica) >= self.threshold
        return len(read_items(directory)) >= self.threshold


def plan(rng: random.Random, articles: int) -> list[Stop]:
    """Stops for each interrupted run: every stage and every signal, in a seeded order."""
    stages: list[tuple[str, Callable[[], float]]] = [
        ("startup", lambda: rng.uniform(0.2, 1.5)),
        ("listing", lambda: rng.randint(2, 12)),
        ("articles", lambda: rng.randint(1, max(1, articles - 1))),
        ("requisites", lambda: rng.randint(1, 25)),
        # A WARC file (rotated at 300 KB) fills the disk somewhere in the run, which ends itself.
        ("disk", lambda: rng.randint(150_000, 290_000)),
        ("late", lambda: articles),  # all items written: requisites, index, closing
        ("requisites", lambda: rng.randint(1, 40)),  # the longest stage, and retries wait there
        ("articles", lambda: rng.randint(1, max(1, articles - 1))),
    ]
    chosen = [stages[number % len(stages)] for number in range(INTERRUPTS)]
    stops = [
        Stop(stage, threshold(), rng.choice(SIGNALS), rng.choice((1, 50)), rng.uniform(0, 0.4))
        for stage, threshold in chosen
    ]
    rng.shuffle(stops)
    return stops


def interrupted_run(replica: ReplicaHandle, directory: Path, stop: Stop, *extra: str) -> None:
    replica.reset()
    full = stop.stage == "disk"
    process = subprocess.Popen(
        command(
            replica, directory, *SLOW, "-s", f"ARCHIVE_COMMIT_EVERY={stop.commit_every}", *extra
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=(lambda: limit_file_size(int(stop.threshold))) if full else None,
    )
    started = time.monotonic()
    try:
        while not full and process.poll() is None and time.monotonic() - started < 120:
            if stop.reached(replica, directory, started):
                time.sleep(stop.lag)
                process.send_signal(stop.signal)
                break
            time.sleep(0.02)
        process.wait(timeout=120 if full else 60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def final_run(replica: ReplicaHandle, directory: Path, *extra: str) -> None:
    result = run_cli(*command(replica, directory, *extra)[3:])
    assert result.returncode == 0, result.stdout + result.stderr


# -- what must hold -------------------------------------------------------------------------


def versions(directory: Path) -> Counter[tuple[str, int]]:
    """Keys (less the replica's host and port, which differ between replicas) and versions."""
    return Counter(
        (item["key"].split("#", 1)[-1], item["version"]) for item in read_items(directory)
    )


def flaky_photos(directory: Path) -> list[str]:
    """The photos of a crawl, as ``--fail-first PATH=1`` arguments of the replica: their first
    answer is a 500, so that interruptions also land while retries wait."""
    paths = [
        urlsplit(image["url"]).path for item in read_items(directory) for image in item["images"]
    ]
    plain = [path for path in dict.fromkeys(paths) if "(" not in path and "%" not in path]
    return [argument for path in plain for argument in ("--fail-first", f"{path}=1")]


def assert_complete_and_consistent(directory: Path, reference: Path) -> None:
    found = versions(directory)
    assert found == versions(reference), "same article keys and versions, each once"
    warcs = sorted((directory / "warc").glob("*.warc.gz"))
    assert not list((directory / "warc").glob("*.open")), "no unfinished WARC file is left"
    fetched = {r.url for r in iter_records(warcs) if r.status == 200 or r.is_revisit}
    for item in read_items(directory):
        owed = [image["url"] for image in item["images"]]
        owed += [file["url"] for file in item["attachments"]]
        assert not [url for url in owed if url not in fetched], f"requisites of {item['key']}"
        warc = item["warc"]
        record = read_response(directory / "warc" / warc["file"], warc["offset"])
        assert (record.url, record.record_id) == (item["url"], warc["record_id"])
    assert_index_points_at_its_records(directory)
    assert_warcio_check(warcs)
    with Collection(directory) as collection:
        assert collection.frontier.count(OWED, DEFERRED) == 0, "nothing is left owed"


def assert_index_points_at_its_records(directory: Path) -> None:
    lines = (directory / "indexes" / "index.cdxj").read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        fields: dict[str, Any] = json.loads(line.split(" ", 2)[2])
        with (directory / "warc" / fields["filename"]).open("rb") as stream:
            stream.seek(int(fields["offset"]))
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]


def assert_warcio_check(warcs: list[Path]) -> None:
    warcio = shutil.which("warcio", path=str(Path(sys.executable).parent)) or "warcio"
    result = subprocess.run(
        [warcio, "check", *map(str, warcs)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def hlv_articles(replica: ReplicaHandle) -> int:
    manifest = replica.manifest()
    soft = set(manifest["soft404"])
    return sum(1 for a in manifest["articles"] if a["site"] == "hlv" and a["url"] not in soft)


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", _seeds())
def test_interrupted_crawl_ends_like_an_uninterrupted_one(tmp_path: Path, seed: int) -> None:
    reference, chaos = tmp_path / "reference", tmp_path / "chaos"
    with running_replica("--articles", "40") as replica:
        final_run(replica, reference)
    with running_replica("--articles", "40", *flaky_photos(reference)) as replica:
        for stop in plan(random.Random(seed), hlv_articles(replica)):
            interrupted_run(replica, chaos, stop, *RETRIES)
        final_run(replica, chaos, *RETRIES)
    assert_complete_and_consistent(chaos, reference)


@pytest.mark.parametrize("seed", _seeds())
def test_interrupted_nightly_new_only_runs(tmp_path: Path, seed: int) -> None:
    reference, chaos = tmp_path / "reference", tmp_path / "chaos"
    with running_replica("--articles", "40") as replica:
        final_run(replica, reference)
        final_run(replica, chaos)
        replica.set_edition(1)
        final_run(replica, reference, "--new-only")
        new = hlv_articles(replica)
        rng = random.Random(seed)
        for stop in plan(rng, new)[: max(2, INTERRUPTS // 2)]:
            interrupted_run(replica, chaos, stop, "--new-only")
        final_run(replica, chaos, "--new-only")
    assert_complete_and_consistent(chaos, reference)
