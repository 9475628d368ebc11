"""Replay with pywb after two crawls (the second answered with 304s, or with the same payloads),
by both of pywb's routes: the collection's own CDXJ index, and pywb's standard ``wb-manager add``
of our WARC files, whose own indexer sees every record (item records included). And
cdxj-indexer's defaults."""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive.reader import ArchivedResponse, iter_records
from archive.records import NOT_MODIFIED_PROFILE, REVISIT_PROFILE
from tests.conftest import LOOPBACK_SETTINGS, read_items, require_tool, run_cli
from tests.replay_support import NO_PROXY, running_wayback, stamp
from tests.replica_process import running_replica


class Recrawled:
    """A collection crawled twice from an unchanged replica (still running)."""

    def __init__(self, directory: Path, profile: str) -> None:
        self.directory = directory
        self.profile = profile
        """The revisit profile the second crawl's unchanged articles get."""
        self.items: list[dict[str, Any]] = read_items(directory)
        self.warcs = sorted((directory / "warc").glob("*.warc.gz"))
        self.records: list[ArchivedResponse] = list(iter_records(self.warcs))


@pytest.fixture(scope="module", params=["304", "identical-payload"])
def recrawled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Recrawled]:
    """The second crawl gets 304s from a replica that answers conditional requests, and the
    same payloads again from one that ignores them."""
    conditional = request.param == "304"
    flags = [] if conditional else ["--no-conditional"]
    directory = tmp_path_factory.mktemp("recrawled")
    with running_replica("--articles", "40", "--chunked-all", *flags) as replica:
        for _ in range(2):
            result = run_cli(
                "crawl", f"{replica.url}web/hlv", "--out", str(directory), *LOOPBACK_SETTINGS
            )
            assert result.returncode == 0, result.stderr + result.stdout
        yield Recrawled(directory, NOT_MODIFIED_PROFILE if conditional else REVISIT_PROFILE)


@pytest.fixture(scope="module", params=["own-index", "wb-manager-add"])
def replay(
    request: pytest.FixtureRequest, recrawled: Recrawled, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A pywb replay prefix, through the collection's index or through ``wb-manager add``."""
    root = tmp_path_factory.mktemp("pywb")
    if request.param == "own-index":
        (root / "config.yaml").write_text(
            "collections:\n"
            "  portal:\n"
            f"    index_paths: {recrawled.directory / 'indexes'}\n"
            f"    archive_paths: {recrawled.directory / 'warc'}/\n"
        )
    else:
        manager = require_tool("wb-manager")
        subprocess.run([manager, "init", "portal"], cwd=root, check=True, capture_output=True)
        subprocess.run(
            [manager, "add", "portal", *map(str, recrawled.warcs)],
            cwd=root,
            check=True,
            capture_output=True,
        )
    with running_wayback(root, "portal") as base:
        yield base


def _live(url: str) -> bytes:
    with NO_PROXY.open(url, timeout=10) as live:
        return _body(live)


def _body(response: Any) -> bytes:
    data = response.read()
    return gzip.decompress(data) if response.headers.get("Content-Encoding") == "gzip" else data


def _replayed(base: str, when: str, url: str) -> tuple[int, bytes]:
    with NO_PROXY.open(f"{base}{stamp(when)}id_/{url}", timeout=30) as response:
        return response.status, _body(response)


def test_every_article_replays_as_its_page(recrawled: Recrawled, replay: str) -> None:
    assert len(recrawled.items) > 10
    for item in recrawled.items:
        status, body = _replayed(replay, item["fetched_at"], item["url"])
        assert status == 200, item["url"]
        assert body == _live(item["url"]), item["url"]


def test_unchanged_article_after_a_recrawl_replays_as_its_page(
    recrawled: Recrawled, replay: str
) -> None:
    revisits = [r for r in recrawled.records if r.is_revisit and "/content/id/" in r.url]
    assert len(revisits) >= len(recrawled.items), "the second crawl found every article unchanged"
    for revisit in revisits:
        assert revisit.profile == recrawled.profile
        status, body = _replayed(replay, revisit.date, revisit.url)
        assert status == 200, revisit.url
        assert body == _live(revisit.url), revisit.url


def test_cdxj_indexer_defaults_never_shadow_a_page(recrawled: Recrawled) -> None:
    indexer = require_tool("cdxj-indexer")
    result = subprocess.run(
        [indexer, *map(str, recrawled.warcs)], capture_output=True, text=True, check=True
    )
    articles = {item["url"] for item in recrawled.items}
    entries = [json.loads(line.split(" ", 2)[2]) for line in result.stdout.splitlines()]
    for_articles = [entry for entry in entries if entry["url"] in articles]
    assert {entry["url"] for entry in for_articles} == articles
    for entry in for_articles:
        assert entry["mime"] in ("text/html", "warc/revisit"), entry
        assert entry.get("status", "200") == "200", entry
