"""The WACZ in a real browser: ReplayWeb.page (the npm package's ui.js and sw.js, served from
loopback) in headless Chromium, driven by Playwright. The service worker reads the package
with Range requests; every wait is for content, never a fixed sleep."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from archive.reader import iter_records
from archive.records import NOT_MODIFIED_PROFILE
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
from tests.replay_support import stamp
from tests.replaywebpage_support import replaywebpage_browser, serving
from tests.replica_process import ReplicaHandle

WAIT_MS = 90_000
# Text of a document and of every shadow root in it (ReplayWeb.page renders in shadow DOM), without
# scripts and style sheets.
DEEP_TEXT = """root => {
  const parts = [];
  const visit = node => {
    if (node.nodeName === "SCRIPT" || node.nodeName === "STYLE") return;
    if (node.nodeType === Node.TEXT_NODE) parts.push(node.data);
    if (node.shadowRoot) visit(node.shadowRoot);
    for (const child of node.childNodes) visit(child);
  };
  visit(root);
  return parts.join("");
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with replaywebpage_browser() as launched:
        yield launched


@dataclass
class Packaged:
    """A collection crawled twice (the second crawl answered with 304s), as a WACZ."""

    wacz: Path
    items: list[dict[str, Any]]
    not_modified: dict[str, str]
    """The second crawl's capture time (WARC-Date) of each article, by URL."""


@pytest.fixture(scope="module")
def packaged(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    work = tmp_path_factory.mktemp("browser")
    for _ in range(2):
        result = run_cli(
            "crawl", f"{replica.url}web/hlv", "--out", str(work / "c"), *LOOPBACK_SETTINGS
        )
        assert result.returncode == 0, result.stderr
    result = run_cli("wacz", str(work / "c"), "--out", str(work / "lapvo.wacz"))
    assert result.returncode == 0, result.stderr
    revisits = iter_records(sorted((work / "c" / "warc").glob("*.warc.gz")))
    not_modified = {r.url: r.date for r in revisits if r.profile == NOT_MODIFIED_PROFILE}
    return Packaged(work / "lapvo.wacz", read_items(work / "c"), not_modified)


@pytest.fixture(scope="module")
def site(packaged: Packaged) -> Iterator[str]:
    with serving(packaged.wacz) as base:
        yield base


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def _embed(page: Any, site: str, **params: str) -> Any:
    """Open the embedding page; return ReplayWeb.page's app frame, once the app is in it.

    The page registers a service worker, then loads the app in a frame under ``/replay/``,
    which only the worker serves. A frame the worker does not serve (it is not controlling
    yet, or Chromium gave up starting it on a loaded machine) gets the server's 404, and
    ReplayWeb.page retries three times at most, 100 ms apart. CI under load saw the 404 stay
    where the article should be, even after waiting for the worker to be active. A reader
    would reload the page: so does this, until the app is there.
    """
    url = f"{site}/embed?{urlencode(params)}"
    frame = page.frame_locator("replay-web-page iframe")
    app = frame.locator("replay-app-main")
    missing = frame.locator("pre", has_text="not found")
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        page.goto(url)
        _wait_for(app.or_(missing), state="attached")
        if app.count():
            return frame
        assert time.monotonic() < deadline, f"the app frame stayed a 404:\n{_frames(page)}"


def _wait_for(locator: Any, state: str = "visible") -> None:
    """``locator.wait_for``; on a timeout, the failure says what every frame showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.wait_for(state=state, timeout=WAIT_MS)
    except PlaywrightTimeout:
        frames = _frames(locator.page)
        pytest.fail(f"{locator} not {state} after {WAIT_MS} ms; the frames showed:\n{frames}")


def _frames(page: Any) -> str:
    """Each frame of ``page``: its URL and the start of its text (shadow roots included)."""
    shown = []
    for frame in page.frames:
        try:
            text = frame.evaluate(DEEP_TEXT, frame.evaluate_handle("document.documentElement"))
        except Exception as error:  # a frame navigating away: what it was doing is the news
            text = f"({type(error).__name__}: {error})"
        shown.append(f"{frame.url}\n  {' '.join(text.split())[:800]}")
    return "\n".join(shown)


def _page_list(app: Any, shown: Callable[[int], bool]) -> list[str]:
    """The texts of the page list's entries, once their number satisfies ``shown``."""
    entries = app.locator("wr-page-entry")
    _wait_for(entries.first, state="attached")
    deadline = time.monotonic() + WAIT_MS / 1000
    while not shown(entries.count()):
        assert time.monotonic() < deadline, f"the page list shows {entries.count()} entries"
        time.sleep(0.2)
    return [entries.nth(n).evaluate(DEEP_TEXT) for n in range(entries.count())]


def test_the_package_indexes_the_304_revisits(packaged: Packaged) -> None:
    with zipfile.ZipFile(packaged.wacz) as wacz:
        lines = wacz.read("indexes/index.cdxj").decode().splitlines()
    revisits = set()
    for line in lines:
        _, timestamp, fields = line.split(" ", 2)
        entry = json.loads(fields)
        if entry["mime"] == "warc/revisit":
            revisits.add((entry["url"], timestamp))
    assert len(packaged.not_modified) >= len(packaged.items)
    for url, when in packaged.not_modified.items():
        assert (url, stamp(when)) in revisits, url


@pytest.mark.parametrize("capture", ["first", "after-304"])
def test_seed_article_renders_from_the_archive(
    replica: ReplicaHandle, packaged: Packaged, site: str, page: Any, capture: str, tmp_path: Path
) -> None:
    seed = next(item for item in packaged.items if item["asset_id"] == "4961961")
    # The second crawl's capture is a server-not-modified revisit: it shows the stored page.
    when = seed["fetched_at"] if capture == "first" else packaged.not_modified[seed["url"]]
    replica.reset()
    app = _embed(page, site, url=seed["url"], ts=stamp(when))
    replayed = app.frame_locator("iframe")
    body_images = replayed.locator(".journal-content-article img")
    _wait_for(body_images.last)
    assert seed["title"] in replayed.locator("span.asset-title").inner_text()
    # decode() waits for an image to load, and fails unless it loads and decodes.
    loaded = replayed.locator(".journal-content-article").evaluate(
        "body => Promise.all(Array.from(body.querySelectorAll('img'))"
        ".map(img => img.decode().then(() => img.naturalWidth)))"
    )
    assert len(loaded) == len(seed["images"]) > 0
    assert all(width > 0 for width in loaded), loaded
    # The chrome too: the stylesheet applies (its background image) and the logo loads.
    banner = replayed.locator("#banner")
    assert "header-bg.png" in banner.evaluate("el => getComputedStyle(el).backgroundImage")
    logo = banner.evaluate(
        "el => Promise.all(Array.from(el.querySelectorAll('img'))"
        ".map(img => img.decode().then(() => img.naturalWidth)))"
    )
    assert logo and all(width > 0 for width in logo), logo
    page.screenshot(path=str(tmp_path / "seed.png"))
    requests = replica.requests()
    assert not requests["requests"], "everything came from the WACZ, nothing from the live site"


def test_page_list_shows_the_articles(packaged: Packaged, site: str, page: Any) -> None:
    app = _embed(page, site, view="pages")
    entries = _page_list(app, lambda count: count == len(packaged.items))
    for item in packaged.items:
        assert any(item["title"] in entry for entry in entries), item["title"]


def test_full_text_search_finds_an_article_by_its_words(
    packaged: Packaged, site: str, page: Any
) -> None:
    seed = next(item for item in packaged.items if item["asset_id"] == "4961961")
    words = "Bình Thạnh Trung"  # in the seed's body, not in its title
    assert words in " ".join(seed["paragraphs"]) and words not in seed["title"]
    # The replica reuses a few bodies, and the search matches words loosely (diacritics
    # folded): every article with these words must be found, and not every article is.
    matching = [item for item in packaged.items if words in " ".join(item["paragraphs"])]
    assert len(matching) < len(packaged.items) / 2
    app = _embed(page, site, view="pages")
    # Typed once the list is loaded, as a reader would: a query given before ReplayWeb.page
    # has read the pages' text can find nothing and never look again.
    _page_list(app, lambda count: count == len(packaged.items))
    app.get_by_placeholder("Search by Page URL, Title, or Text").fill(words)
    entries = _page_list(app, lambda count: 0 < count < len(packaged.items))
    for item in matching:
        assert any(item["title"] in entry for entry in entries), item["title"]
