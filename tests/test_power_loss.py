"""Power loss, crash-consistency style: cut the unfinished WARC file at every record boundary.

A crawl is killed with nothing committed since it began (``ARCHIVE_COMMIT_EVERY`` too large
to be reached), which is what the disk holds after a power cut: the state of the last commit,
and whatever part of the WARC and items.jsonl writes after it reached the platters. Each cut
of the WARC file is then opened (repair, reconcile) and must leave no item pointing at nothing;
some of the cuts are run to the end and compared with an uninterrupted crawl.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.collection import Collection
from archive.reader import read_response
from tests.conftest import read_items
from tests.replica_process import running_replica
from tests.test_chaos import assert_complete_and_consistent, command, final_run
from tests.test_frontier import kill_after_items

UNCOMMITTED = ("-s", "ARCHIVE_COMMIT_EVERY=1000000", "-s", "ARCHIVE_WARC_MAX_SIZE=100000000")


def record_boundaries(path: Path) -> list[int]:
    with path.open("rb") as stream:
        records = ArchiveIterator(stream)
        offsets = [records.get_record_offset() for _ in records]
    return [*offsets, path.stat().st_size]


def assert_no_item_points_at_nothing(directory: Path) -> None:
    for item in read_items(directory):
        warc = item["warc"]
        record = read_response(directory / "warc" / warc["file"], warc["offset"])
        assert (record.url, record.record_id) == (item["url"], warc["record_id"])


def test_every_cut_of_the_unfinished_warc_opens_clean_and_reruns_complete(
    tmp_path: Path,
) -> None:
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    with running_replica("--articles", "24") as replica:
        final_run(replica, reference)
        kill_after_items(
            command(replica, crashed, "-s", "DOWNLOAD_DELAY=0.02", *UNCOMMITTED),
            crashed,
            6,
            signal.SIGKILL,
        )
        (unfinished,) = (crashed / "warc").glob("*.warc.gz.open")
        boundaries = record_boundaries(unfinished)
        lines = len(read_items(crashed))
        reruns = {boundaries[len(boundaries) // 3], boundaries[-1]}
        for cut in boundaries:
            case = tmp_path / f"cut-{cut}"
            shutil.copytree(crashed, case)
            with (case / "warc" / unfinished.name).open("r+b") as stream:
                stream.truncate(cut)
            Collection(case).open().close()
            assert not list((case / "warc").glob("*.open"))
            assert_no_item_points_at_nothing(case)
            kept = len(read_items(case))
            assert kept <= lines
            if cut in reruns:
                final_run(replica, case)
                assert_complete_and_consistent(case, reference)
                report = json.loads((case / "report.json").read_text(encoding="utf-8"))
                assert report["resumed"]["items_dropped"] == lines - kept
            shutil.rmtree(case)
