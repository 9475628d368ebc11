"""Captures of two URLs with the same payload are both recovered from the Wayback Machine.

The Wayback CDX server's ``collapse=digest`` drops a row whose digest is that of the row
before it, and in a listing of a whole site the row before may be another URL's (rows are
sorted by URL, then time). Redirects with identical bodies (empty, or the same "Moved" page)
and one article served at two URLs are exactly such neighbours. These tests stage them in the
Wayback double (which collapses as the real server does) and check that recover reads both,
while repeated payloads of ONE URL are still fetched once, also across a resume-key page
boundary."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.conftest import read_items, run_cli
from tests.recover_support import NO_PROXY, WaybackDouble, WebArchive, archive

__all__ = ["archive"]  # the shared fixture

FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "PORTAL_RETRY_BACKOFF_BASE=0", "-s", "LOG_LEVEL=WARNING")
HTML = [("Content-Type", "text/html; charset=utf-8")]
EMPTY = b""  # the body of many redirects: every one of them has the same digest


def _stamp(item: dict[str, Any]) -> str:
    return item["fetched_at"].replace("-", "").replace(":", "").replace("T", "")[:14]


def _digest(body: bytes) -> str:
    return base64.b32encode(hashlib.sha1(body).digest()).decode()


def _held(archive: WebArchive, item: dict[str, Any]) -> bytes:
    with NO_PROXY.open(f"{archive.collection_url}/{_stamp(item)}id_/{item['url']}") as held:
        return held.read()


@dataclass
class Staged:
    """Made-up captures, listed in this order (by URL, then time) after the site's own."""

    moved: tuple[dict[str, Any], dict[str, Any]]
    """Two articles of the site that older addresses redirected to."""
    twin_form: str
    """``.../asset_publisher/a/content/id/99012``: the 2000 text of the article that
    ``second`` (the same key) later redirected to ``moved[1]``."""
    first: str
    """``.../x/content/id/99011``: its 2000 text, then three identical redirects to
    ``moved[0]``."""
    second: str
    """``.../x/content/id/99012``: a redirect to ``moved[1]``, with the same (empty) body."""
    copies: tuple[str, str]
    """``.../x/content/id/99013`` (twice) and ``99014``: one page's bytes at two addresses."""


def _add(
    double: WaybackDouble, url: str, stamp: str, status: int, headers: Any, body: bytes
) -> None:
    double.faults.extra_rows.append(
        {"urlkey": url, "timestamp": stamp, "url": url, "mime": "text/html",
         "status": str(status), "digest": _digest(body), "length": str(len(body) + 300)}
    )  # fmt: skip
    double.faults.extra[f"{stamp}/{url}"] = (status, headers, body)


def _stage(archive: WebArchive, double: WaybackDouble) -> Staged:
    moved = (archive.moments[0][0], archive.moments[0][1])
    host = urlsplit(archive.site).netloc
    base = f"http://{host}/web/hlv/chi-tiet-bai-viet/-/asset_publisher"
    staged = Staged(
        moved,
        f"{base}/a/content/id/99012",
        f"{base}/x/content/id/99011",
        f"{base}/x/content/id/99012",
        (f"{base}/x/content/id/99013", f"{base}/x/content/id/99014"),
    )
    old_texts = []
    for item in moved:
        body, title = _held(archive, item), item["title"].encode()
        assert title in body
        old_texts.append(body.replace(title, title + b" 2000"))
    _add(double, staged.twin_form, "20000101000000", 200, HTML, old_texts[1])
    _add(double, staged.first, "20000101000000", 200, HTML, old_texts[0])
    # The same redirect, captured three times: the first and the last are read.
    for stamp in ("20000201000000", "20000215000000", "20000301000000"):
        _add(double, staged.first, stamp, 301, [("Location", moved[0]["url"])], EMPTY)
    _add(double, staged.second, "20000201000000", 301, [("Location", moved[1]["url"])], EMPTY)
    copy = _held(archive, archive.moments[0][2])
    _add(double, staged.copies[0], "20000101000000", 200, HTML, copy)
    _add(double, staged.copies[0], "20000401000000", 200, HTML, copy)  # unchanged since
    _add(double, staged.copies[1], "20000101000000", 200, HTML, copy)
    return staged


def _recover(archive: WebArchive, double: WaybackDouble, out: Path, *extra: str) -> Any:
    result = run_cli(
        "recover", archive.site, "--archive", "ia", "--out", str(out),
        "-s", f"PORTAL_RECOVER_IA_URL={double.url}", *FAST, *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def _replays(double: WaybackDouble, url: str) -> list[str]:
    """The timestamps of ``url``'s captures that recover asked the double for."""
    return sorted(p.split("/")[2].removesuffix("id_") for p in double.requests if p.endswith(url))


def _site_report(out: Path) -> dict[str, Any]:
    (site,) = json.loads((out / "recover-report.json").read_text())["sites"].values()
    return site


def _check_recovered(staged: Staged, double: WaybackDouble, out: Path) -> None:
    items = read_items(out)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(items, key=lambda i: i["fetched_at"]):
        by_key.setdefault(item["key"], []).append(item)
    host = urlsplit(staged.first).netloc
    # Both redirects are evidence: each older address joins the history it moved to (each
    # capture read is evidence the report names, in capture time).
    merged = [(m["from"], m["to"]) for m in _site_report(out)["merged_by_redirect"]]
    assert merged == [
        (staged.first, staged.moved[0]["url"]),
        (staged.second, staged.moved[1]["url"]),
        (staged.first, staged.moved[0]["url"]),
    ]
    for moved, old in zip(staged.moved, (staged.first, staged.twin_form), strict=True):
        history = by_key[moved["key"]]
        assert (history[0]["url"], history[0]["title"]) == (old, moved["title"] + " 2000")
    assert f"{host}#99011" not in by_key and f"{host}#99012" not in by_key
    # The same bytes at two addresses: both articles.
    first, second = (by_key[f"{host}#{n}"] for n in ("99013", "99014"))
    assert len(first) == len(second) == 1
    assert first[0]["paragraphs"] == second[0]["paragraphs"]
    # Repeats of one URL's payload are still read once; of a run of repeated redirects, the
    # first and the last.
    assert _replays(double, staged.first) == ["20000101000000", "20000201000000", "20000301000000"]
    assert _replays(double, staged.second) == ["20000201000000"]
    assert _replays(double, staged.copies[0]) == ["20000101000000"]
    assert _replays(double, staged.copies[1]) == ["20000101000000"]


@pytest.fixture
def double(archive: WebArchive) -> Any:
    with WaybackDouble(archive.collection_url) as server:
        yield server


def test_captures_with_the_payload_of_another_urls_are_recovered(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    staged = _stage(archive, double)
    _recover(archive, double, tmp_path)
    _check_recovered(staged, double, tmp_path)
    for path in double.requests:
        if path.startswith("/cdx/"):
            query = parse_qs(urlsplit(path).query)
            # A site listing crosses URLs: never collapsed by the server.
            assert "collapse" not in query or query["matchType"] == ["exact"], path


def test_a_page_boundary_neither_drops_nor_repeats_a_row(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    """One row a page: every pair of neighbours is split by a resume key, the same URL's
    repeated redirect and page too, and the client's collapse still reads each once."""
    staged = _stage(archive, double)
    _recover(archive, double, tmp_path, "-s", "PORTAL_RECOVER_CDX_PAGE_SIZE=1")
    _check_recovered(staged, double, tmp_path)
    listings = [p for p in double.requests if p.startswith("/cdx/") and "matchType=prefix" in p]
    assert sum("resumeKey=" in p for p in listings) == len(listings) - 1
    served = [row for match, row in double.listed if match == "prefix"]
    fields = "original,timestamp,statuscode,mimetype,digest,length"
    query = {"url": f"{urlsplit(archive.site).netloc}/", "matchType": "prefix", "fl": fields}
    whole, resume = double.cdx_rows(parse_qs(urlencode(query)))
    assert resume is None and len(served) == len(listings) == len(whole) - 1  # a row a page
    assert sorted(served) == sorted(whole[1:])  # every row once
