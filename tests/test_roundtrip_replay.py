"""Reading the archive back: re-extraction gives the live items; pywb replays the live page."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.extract import theme_assets, theme_css_urls
from crawler.parsers.page import Page
from tests.conftest import Crawled, run_cli
from tests.replay_support import NO_PROXY, running_wayback


def test_extract_from_warc_gives_the_live_items(crawled: Crawled, tmp_path: Path) -> None:
    out = tmp_path / "again.jsonl"
    result = run_cli("extract", *map(str, crawled.warcs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    again = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    live = crawled.items
    assert len(again) == len(live) > 10
    assert again == live


def test_extract_reads_other_tools_warcs(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent / "data" / "warc"
    out = tmp_path / "items.jsonl"
    result = run_cli("extract", str(fixtures / "wget-chunked.warc.gz"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "responses read: 1" in result.stdout


@pytest.fixture(scope="module")
def pywb(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Real pywb, serving the collection's WARCs through the collection's own CDXJ index."""
    root = tmp_path_factory.mktemp("pywb")
    (root / "config.yaml").write_text(
        "collections:\n"
        "  portal:\n"
        f"    index_paths: {crawled.directory / 'indexes'}\n"
        f"    archive_paths: {crawled.directory / 'warc'}/\n"
    )
    with running_wayback(root, "portal") as base:
        yield base


def _body(response) -> bytes:
    data = response.read()
    return gzip.decompress(data) if response.headers.get("Content-Encoding") == "gzip" else data


def test_pywb_replays_the_seed_article_as_served(crawled: Crawled, pywb: str) -> None:
    seed = next(item for item in crawled.items if item["asset_id"] == "4961961")
    with NO_PROXY.open(seed["url"], timeout=10) as live:
        live_body = _body(live)
    stamp = seed["fetched_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
    with NO_PROXY.open(f"{pywb}{stamp}id_/{seed['url']}", timeout=30) as replay:
        assert replay.status == 200
        replayed = _body(replay)
    assert replayed == live_body
    assert "Đăng Khoa".encode() in replayed


def test_pywb_replays_an_image_byte_for_byte(crawled: Crawled, pywb: str) -> None:
    item = next(item for item in crawled.items if item["images"])
    url = item["images"][0]["url"]
    with NO_PROXY.open(url, timeout=10) as live:
        live_bytes = live.read()
    stamp = item["fetched_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
    with NO_PROXY.open(f"{pywb}{stamp}id_/{url}", timeout=30) as replay:
        assert replay.read() == live_bytes


def test_pywb_replays_the_article_with_its_theme(crawled: Crawled, pywb: str) -> None:
    seed = next(item for item in crawled.items if item["asset_id"] == "4961961")
    stamp = seed["fetched_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
    with NO_PROXY.open(seed["url"], timeout=10) as live:
        page = Page(url=seed["url"], body=_body(live), headers={"content-type": "text/html"})
    assets = theme_assets(page)
    stylesheet = next(url for url in assets if "/css/main.css" in url)
    with NO_PROXY.open(stylesheet, timeout=10) as live:
        assets += theme_css_urls(stylesheet, _body(live))
    assert any("layout_set_logo" in url for url in assets)
    assert any(url.endswith("/fonts/roboto-regular.woff2") for url in assets)
    for url in assets:
        with NO_PROXY.open(url, timeout=10) as live:
            expected = _body(live)
        with NO_PROXY.open(f"{pywb}{stamp}id_/{url}", timeout=30) as replay:
            assert replay.status == 200, url
            assert _body(replay) == expected, url
