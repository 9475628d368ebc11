"""``recover --archive cc``: a local pywb as Common Crawl's index server, records read by byte
range from the archive's WARC files and copied as they are."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from tests.conftest import read_items, run_cli
from tests.recover_support import (
    PagedIndex,
    RangeFileServer,
    WebArchive,
    archive,
    assert_same_items,
    read_jsonl,
)

__all__ = ["archive"]  # the shared fixture

FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "PORTAL_RETRY_BACKOFF_BASE=0", "-s", "LOG_LEVEL=WARNING")


def _records_by_id(directory: Path) -> dict[str, tuple[Any, bytes]]:
    """Record id → (record, the record's raw gzip member)."""
    found = {}
    for path in sorted(directory.glob("*.warc.gz")):
        data = path.read_bytes()
        with path.open("rb") as stream:
            iterator = ArchiveIterator(stream)
            for record in iterator:
                record.content_stream().read()
                offset = iterator.get_record_offset()
                length = iterator.get_record_length()
                found[record.rec_headers["WARC-Record-ID"]] = (
                    record,
                    data[offset : offset + length],
                )
    return found


def test_common_crawl_records_are_copied_as_they_are(archive: WebArchive, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with RangeFileServer(archive.warc_dir) as data, PagedIndex(archive.pywb) as index:
        result = run_cli(
            "recover", archive.site, "--archive", "cc", "--cc-crawl", "arch", "--out", str(out),
            "-s", f"PORTAL_RECOVER_CC_INDEX_URL={index.url}{{crawl}}/cdx",
            "-s", f"PORTAL_RECOVER_CC_DATA_URL={data.url}", *FAST,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr + result.stdout
        assert data.ranges
        pages = [q["page"] for q in index.queries if "page" in q]
        assert len(pages) > 5 and len(pages) == len({p[0] for p in pages})  # each page once
    wanted = {i["key"] for moment in archive.moments for i in moment}
    items = read_items(out)
    assert {i["key"] for i in items} == wanted
    assert all(i["archive"]["name"] == "cc/arch" for i in items)
    # extract reads the provenance of copied records from their metadata records
    extracted = tmp_path / "extracted.jsonl"
    warcs = sorted(map(str, (out / "warc").glob("*.warc.gz")))
    assert run_cli("extract", *warcs, "--out", str(extracted)).returncode == 0
    assert_same_items(read_jsonl(extracted), items)
    originals = _records_by_id(archive.warc_dir)
    copied = _records_by_id(out / "warc")
    responses = [rid for rid, (record, _) in copied.items() if record.rec_type == "response"]
    assert len(responses) > 20
    for record_id in responses:
        assert gzip.decompress(copied[record_id][1]) == gzip.decompress(originals[record_id][1])
    provenance = [r for r, _ in copied.values() if r.content_type == "application/warc-fields"]
    assert len(provenance) >= len(responses)
    assert all(
        r.rec_headers["WARC-Concurrent-To"] in copied
        for r in provenance
        if r.rec_type == "metadata"
    )
