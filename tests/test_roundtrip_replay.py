"""Reading the archive back: re-extraction gives the live items; pywb replays the live page."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.commands import stop_process
from tests.conftest import Crawled, require_tool, run_cli

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def pywb(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Real pywb, serving the collection's WARCs through the collection's own CDXJ index."""
    wayback = require_tool("wayback")  # pywb, installed with '.[test]'
    root = tmp_path_factory.mktemp("pywb")
    (root / "config.yaml").write_text(
        "collections:\n"
        "  portal:\n"
        f"    index_paths: {crawled.directory / 'indexes'}\n"
        f"    archive_paths: {crawled.directory / 'warc'}/\n"
    )
    port = _free_port()
    process = subprocess.Popen(
        [wayback, "-b", "127.0.0.1", "-p", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/portal/"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                NO_PROXY.open(base, timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        stop_process(process)


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
