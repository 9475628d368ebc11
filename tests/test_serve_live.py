"""``portal-archiver serve`` as a user runs it: a real server, pywb replaying on another origin,
and a real browser (headless Chromium, driven by Playwright) reading the pages."""

from __future__ import annotations

import json
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from lxml import html

from crawler.commands import stop_process
from tests.browser_support import chromium
from tests.conftest import Crawled, run_cli

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Served:
    url: str
    replay: str
    process: subprocess.Popen[str]
    lines: list[str]


def _read_until_up(process: subprocess.Popen[str], timeout: float = 90) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while not any(line.startswith("reading room: http") for line in lines):
            if not selector.select(timeout=timeout):
                raise RuntimeError(f"serve did not start: {lines}")
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"serve exited ({process.wait()}): {lines}")
            lines.append(line.strip())
    return lines


def _after(lines: list[str], prefix: str) -> str:
    return next(line.removeprefix(prefix) for line in lines if line.startswith(prefix))


@pytest.fixture(scope="module")
def served(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("served") / "lapvo"
    shutil.copytree(crawled.directory, directory, ignore=shutil.ignore_patterns(".lock", "jobs"))
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "serve", str(directory), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _read_until_up(process)
        yield Served(
            _after(lines, "reading room: "), _after(lines, "replay (pywb): "), process, lines
        )
    finally:
        stop_process(process)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with NO_PROXY.open(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_serve_binds_loopback_and_indexes_at_start(served: Served) -> None:
    assert urlsplit(served.url).hostname == "127.0.0.1"
    assert urlsplit(served.replay).hostname == "127.0.0.1"
    assert urlsplit(served.replay).port != urlsplit(served.url).port  # another origin
    assert any("search index:" in line and "new item lines" in line for line in served.lines)
    status, body = _get(served.url + "api/search?q=lap+vo")
    assert status == 200 and b'"total"' in body


def test_the_archived_page_is_replayed_by_pywb_on_another_origin(
    served: Served, crawled: Crawled
) -> None:
    seed = next(item for item in crawled.items if item["key"].endswith("#4961961"))
    status, body = _get(served.url + "api/search?" + urlencode({"q": '"huyen uy lap vo"'}))
    view = json.loads(body)["results"][0]["view"]
    page = html.fromstring(_get(served.url + view.lstrip("/"))[1])
    link = page.xpath("//a[@class='replay']/@href")[0]
    assert link.startswith(served.replay.rstrip("/"))
    status, replayed = _get(link)
    assert status == 200
    assert seed["title"].encode("utf-8") in replayed or b"<iframe" in replayed  # framed replay
    timestamp = link.split("/")[4]
    status, archived = _get(f"{served.replay}{link.split('/')[3]}/{timestamp}id_/{seed['url']}")
    assert status == 200
    assert seed["title"].split(" ")[0].encode("utf-8") in archived


def test_serve_refuses_what_is_not_a_collection(tmp_path: Path) -> None:
    result = run_cli("serve", str(tmp_path / "missing"), "--port", "0", timeout=60)
    assert result.returncode == 2
    missing = tmp_path / "missing"
    assert result.stderr.strip() == f"portal-archiver: no such collection folder: {missing}"
    (tmp_path / "empty").mkdir()
    result = run_cli("serve", str(tmp_path / "empty"), "--port", "0", timeout=60)
    assert result.returncode == 2
    assert "is not a collection (no items.jsonl, no warc/ folder)" in result.stderr
    result = run_cli("serve", str(tmp_path), "--port", "99999", timeout=60)
    assert result.returncode == 2 and "--port must be from 0 to 65535" in result.stderr


def test_serve_says_when_its_port_is_taken(crawled: Crawled, tmp_path: Path) -> None:
    directory = tmp_path / "lapvo"
    shutil.copytree(crawled.directory, directory, ignore=shutil.ignore_patterns(".lock", "jobs"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", str(directory), "--port", str(port), timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith(f"portal-archiver: cannot serve on 127.0.0.1:{port}: ")
    assert "Traceback" not in result.stderr


def test_serve_says_when_its_host_is_no_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--host 256.1.1.1`` (or a name that resolves to nothing) was "unexpected error
    (ValueError: Invalid host/port specified.); this is a bug". The lookup is made to fail
    here, so that no name is sent to a resolver."""
    from crawler import cli

    (tmp_path / "items.jsonl").touch()

    def no_such_name(*args: object, **kwargs: object) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    argv = ["serve", str(tmp_path), "--no-replay", "--host", "256.1.1.1", "--port", "0"]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == (
        "portal-archiver: cannot serve on 256.1.1.1:0: no such address or host name on this "
        "machine; give one of its addresses (127.0.0.1 by default, 0.0.0.0 for all)\n"
    )


def test_sigterm_stops_the_server_and_its_pywb(crawled: Crawled, tmp_path: Path) -> None:
    directory = tmp_path / "lapvo"
    shutil.copytree(crawled.directory, directory, ignore=shutil.ignore_patterns(".lock", "jobs"))
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "serve", str(directory), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _read_until_up(process)
        replay = _after(lines, "replay (pywb): ")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        stop_process(process)
    assert process.returncode == 0, err
    assert "reading room: stopped" in out
    with pytest.raises(OSError):
        NO_PROXY.open(replay, timeout=5)


# -- the real browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _watched_page(browser: Any) -> tuple[Any, list[str]]:
    page = browser.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    return page, problems


def test_a_browser_searches_and_reads_an_article(served: Served, browser: Any) -> None:
    page, problems = _watched_page(browser)
    page.goto(served.url)
    page.fill("input[name=q]", "thuong truc huyen uy lap vo")
    page.click("form.search button")
    page.wait_for_selector("li.hit")
    titles = page.locator("li.hit h3").all_inner_texts()
    assert titles[0].startswith("Thường trực Huyện uỷ Lấp Vò")
    assert page.locator("li.hit mark").count() > 0
    page.click("li.hit h3 a >> nth=0")
    page.wait_for_selector("article h1")
    images = page.locator("article figure img")
    assert images.count() >= 2
    for number in range(images.count()):
        image = images.nth(number)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") > 0
    page.goto(served.url + "coverage")
    assert page.locator("svg rect").count() > 0
    assert problems == []
    page.close()
