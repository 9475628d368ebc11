"""``recover`` from a real pywb holding the replica captured at two moments (the site gone)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.records import sha1_digest
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
from tests.recover_support import (
    ARTICLES,
    NO_PROXY,
    WebArchive,
    archive,
    assert_same_items,
    read_jsonl,
    running_pywb,
)
from tests.replica_process import running_replica

__all__ = ["archive"]  # the shared fixture

FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "PORTAL_RETRY_BACKOFF_BASE=0", "-s", "LOG_LEVEL=WARNING")
CONTENT = ("title", "summary", "paragraphs", "captions", "images", "byline", "attachments")


@pytest.fixture(scope="module")
def recovered(archive: WebArchive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("recovered")
    result = run_cli(
        "recover", archive.site, "--archive", archive.collection_url, "--out", str(out), *FAST
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "articles recovered" in result.stdout
    return out


def _content(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in CONTENT}


def _responses(directory: Path) -> Iterator[Any]:
    for path in sorted((directory / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    yield record, record.content_stream().read()


def test_every_article_comes_back_with_its_versions_in_capture_order(
    archive: WebArchive, recovered: Path
) -> None:
    before, after = archive.moments
    items = read_items(recovered)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_key.setdefault(item["key"], []).append(item)
    assert set(by_key) == {i["key"] for i in before} | {i["key"] for i in after}
    expected: dict[str, list[dict[str, Any]]] = {}
    for moment in (before, after):
        for item in moment:
            history = expected.setdefault(item["key"], [])
            if not history or _content(history[-1]) != _content(item):
                history.append(item)
    assert any(len(history) == 2 for history in expected.values()), "the fixture has no edit"
    for key, history in expected.items():
        got = by_key[key]
        assert [_content(i) for i in got] == [_content(i) for i in history], key
        assert [i["version"] for i in got] == list(range(1, len(history) + 1))
        assert [i["fetched_at"] for i in got] == [i["fetched_at"] for i in history]
        # Dates and sections from the archived listings, as the live crawl had them.
        for field in ("published", "published_source", "category", "breadcrumbs"):
            assert [i[field] for i in got] == [i[field] for i in history], (key, field)


def test_items_say_they_come_from_the_archive(archive: WebArchive, recovered: Path) -> None:
    for item in read_items(recovered):
        assert item["source"] == "archive"
        provenance = item["archive"]
        assert provenance["name"] == archive.collection_url
        assert provenance["captured_at"] == item["fetched_at"]
        stamp = item["fetched_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
        assert provenance["memento"] == f"{archive.collection_url}/{stamp}id_/{item['url']}"


def test_extract_over_the_recovered_warcs_gives_the_recovered_items(
    recovered: Path, tmp_path: Path
) -> None:
    out = tmp_path / "extracted.jsonl"
    warcs = sorted(map(str, (recovered / "warc").glob("*.warc.gz")))
    result = run_cli("extract", *warcs, "--out", str(out))
    assert result.returncode == 0, result.stderr + result.stdout
    assert_same_items(read_jsonl(out), read_items(recovered))


def test_records_are_the_original_exchanges(archive: WebArchive, recovered: Path) -> None:
    original = {
        (r.rec_headers["WARC-Target-URI"], r.rec_headers["WARC-Date"][:19]): (r, body)
        for directory in archive.collections
        for r, body in _responses(directory)
    }
    seen = 0
    for record, body in _responses(recovered):
        headers = record.rec_headers
        key = (headers["WARC-Target-URI"], headers["WARC-Date"][:19])
        assert key in original, key  # the original URL and the original capture time
        assert headers["X-Recovered-From"] == archive.collection_url
        assert headers["WARC-Source-URI"].startswith(archive.collection_url + "/")
        source, source_body = original[key]
        if source.http_headers.get_header("Content-Encoding") is None:
            assert body == source_body
        assert record.http_headers.get_statuscode() == source.http_headers.get_statuscode()
        for name in ("Content-Type", "ETag", "Last-Modified", "Set-Cookie"):
            assert record.http_headers.get_header(name) == source.http_headers.get_header(name)
        assert record.http_headers.get_header("Memento-Datetime") is None
        seen += 1
    assert seen > 20


def test_images_of_recovered_articles_are_recovered(archive: WebArchive, recovered: Path) -> None:
    images = {image["url"] for item in read_items(recovered) for image in item["images"]}
    assert images
    payloads = {r.rec_headers["WARC-Target-URI"]: body for r, body in _responses(recovered)}
    originals = {
        r.rec_headers["WARC-Target-URI"]: body for r, body in _responses(archive.collections[1])
    }
    for url in images:
        assert sha1_digest(payloads[url]) == sha1_digest(originals[url]), url
    report = json.loads((recovered / "recover-report.json").read_text())
    site = next(iter(report["sites"].values()))
    assert site["requisites_missing"] == []
    assert site["articles_recovered"] == len({i["key"] for i in read_items(recovered)})


def test_warcio_checks_the_recovered_warcs(recovered: Path) -> None:
    for path in (recovered / "warc").glob("*.warc.gz"):
        result = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_pywb_replays_the_recovered_collection(
    recovered: Path, archive: WebArchive, tmp_path: Path
) -> None:
    item = next(i for i in read_items(recovered) if i["images"])
    stamp = item["fetched_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
    collections = {"again": (recovered / "indexes", recovered / "warc")}
    with running_pywb(tmp_path, collections) as pywb:
        with NO_PROXY.open(f"{pywb}again/{stamp}id_/{item['url']}", timeout=30) as replay:
            replayed = replay.read()
        image = item["images"][0]["url"]
        with NO_PROXY.open(f"{pywb}again/{stamp}id_/{image}", timeout=30) as replay:
            replayed_image = replay.read()
    with NO_PROXY.open(f"{archive.collection_url}/{stamp}id_/{item['url']}", timeout=30) as held:
        assert replayed == held.read()
    with NO_PROXY.open(f"{archive.collection_url}/{stamp}id_/{image}", timeout=30) as held:
        assert replayed_image == held.read()


def test_a_second_run_fetches_nothing_again(archive: WebArchive, recovered: Path) -> None:
    before = (recovered / "items.jsonl").read_bytes()
    result = run_cli(
        "recover", archive.site, "--archive", archive.collection_url, "--out", str(recovered),
        *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (recovered / "items.jsonl").read_bytes() == before
    report = json.loads((recovered / "report.json").read_text())
    assert report["records"] == 0


def test_live_and_recovered_captures_are_one_history(
    archive: WebArchive, recovered: Path, tmp_path: Path
) -> None:
    collection = tmp_path / "collection"
    shutil.copytree(recovered, collection)
    before = read_items(collection)
    port = urlsplit(archive.site).port
    assert port is not None
    # The site comes back at the same address, as it was at the second moment.
    with running_replica("--port", str(port), "--articles", ARTICLES, "--edition", "1"):
        result = run_cli("crawl", archive.site, "--out", str(collection), *LOOPBACK_SETTINGS)
    assert result.returncode == 0, result.stderr + result.stdout
    assert read_items(collection) == before  # nothing new: the live articles are the archived ones
    report = json.loads((collection / "report.json").read_text())
    assert report["articles_unchanged"] == len({item["key"] for item in before})


def test_provenance_records_shadow_no_page_in_pywbs_own_index(recovered: Path) -> None:
    indexer = Path(sys.executable).parent / "cdx-indexer"
    warcs = sorted(map(str, (recovered / "warc").glob("*.warc.gz")))
    result = subprocess.run(
        [str(indexer), "-j", *warcs], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line.split(" ", 2)[2]) for line in result.stdout.splitlines()]
    indexed = {(Path(line["filename"]).name, int(line["offset"])) for line in lines}
    provenance = set()
    for path in (recovered / "warc").glob("*.warc.gz"):
        with path.open("rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                block = record.content_stream().read()
                if record.rec_type == "metadata" and block.startswith(b"archive: "):
                    provenance.add((path.name, records.get_record_offset()))
    assert len(provenance) > 20 and len(indexed) > 20
    assert not provenance & indexed


def test_recovering_into_a_live_collection_fetches_only_what_it_lacks(
    archive: WebArchive, tmp_path: Path
) -> None:
    collection = tmp_path / "live"
    shutil.copytree(archive.collections[1], collection)  # the live crawls of both moments
    before = read_items(collection)
    result = run_cli(
        "recover", archive.site, "--archive", archive.collection_url, "--out", str(collection),
        *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    added = read_items(collection)[len(before) :]
    edited = {i["key"] for i in archive.moments[1]} & {i["key"] for i in archive.moments[0]}
    # Unchanged articles: their archived payload is the one the collection holds, not fetched.
    assert {i["key"] for i in added} <= edited
    report = json.loads((collection / "report.json").read_text())
    soft_404 = report["articles_rejected"].get("soft-404", 0)  # never in the collection's state
    assert report["requests_by_kind"]["article"] <= len(edited) + soft_404


def test_a_date_window_limits_the_captures(archive: WebArchive, tmp_path: Path) -> None:
    result = run_cli(
        "recover", archive.site, "--archive", archive.collection_url, "--out", str(tmp_path),
        "--from", "2001-01-01", "--to", "2001-12-31", *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert read_items(tmp_path) == []
    report = json.loads((tmp_path / "recover-report.json").read_text())
    assert next(iter(report["sites"].values()))["captures_found"] == 0
