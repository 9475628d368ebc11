"""Serving ReplayWeb.page and a WACZ from loopback for a headless browser (no tests here).

ReplayWeb.page is two files of the npm package ``replaywebpage``: ``ui.js`` (the page's
``<replay-web-page>`` element) and ``sw.js`` (the service worker that reads the WACZ with
HTTP Range requests and replays from it). ``.ci/run`` puts them in ``.cache/replaywebpage``
(``npm pack replaywebpage``); ``REPLAYWEBPAGE_DIR`` names another folder.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.browser_support import chromium
from tests.conftest import tool_missing
from tests.http_support import loopback_server

REPO = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("REPLAYWEBPAGE_DIR") or REPO / ".cache" / "replaywebpage")
WACZ_PATH = "/collection.wacz"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_EMBED = """<!doctype html>
<html><head><meta charset="utf-8"><script src="/ui.js"></script>
<style>html, body {{ margin: 0; height: 100%; }}</style></head>
<body><replay-web-page source="{wacz}" replayBase="/replay/" {attributes}></replay-web-page>
</body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    """``/embed?url=&ts=&view=&query=``: a page embedding the WACZ; ``/ui.js`` and
    ``/replay/{ui,sw}.js``: ReplayWeb.page; ``/collection.wacz`` with Range requests."""

    def __init__(self, *args: object, wacz: Path, assets: Path) -> None:
        self.wacz = wacz
        self.assets = assets
        super().__init__(*args)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test output stays readable

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        path = urlsplit(self.path).path
        if path == "/embed":
            params = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
            attributes = " ".join(f'{key}="{html.escape(value)}"' for key, value in params.items())
            body = _EMBED.format(wacz=WACZ_PATH, attributes=attributes).encode()
            self._send(200, body, "text/html; charset=utf-8", head)
        elif path in ("/ui.js", "/replay/ui.js", "/replay/sw.js"):
            body = (self.assets / Path(path).name).read_bytes()
            self._send(200, body, "application/javascript", head)
        elif path == WACZ_PATH:
            self._send_wacz(head)
        else:
            self._send(404, b"not found", "text/plain", head)

    def _send_wacz(self, head: bool) -> None:
        size = self.wacz.stat().st_size
        first, last = 0, size - 1
        match = _RANGE.match(self.headers.get("Range", ""))
        if match and match.group(1):
            first = int(match.group(1))
            last = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        elif match and match.group(2):  # a suffix range: the last N bytes
            first = max(0, size - int(match.group(2)))
        if first > last:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return
        with self.wacz.open("rb") as source:
            source.seek(first)
            body = source.read(last - first + 1)
        extra = [("Content-Range", f"bytes {first}-{last}/{size}")] if match else []
        self._send(206 if match else 200, body, "application/wacz", head, extra)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        head: bool,
        extra: list[tuple[str, str]] = [],  # noqa: B006 (never mutated)
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-store")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)


@contextmanager
def serving(wacz: Path, assets: Path = ASSETS) -> Iterator[str]:
    """Serve ReplayWeb.page and ``wacz`` on a free loopback port; yield the base URL."""
    with loopback_server(partial(_Handler, wacz=wacz, assets=assets)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def replaywebpage_browser() -> Iterator[Any]:
    """Headless Chromium for ReplayWeb.page; where its files or the browser are missing, the
    test fails under CI and skips elsewhere."""
    if not (ASSETS / "ui.js").is_file() or not (ASSETS / "sw.js").is_file():
        tool_missing(f"ReplayWeb.page's ui.js and sw.js are not in {ASSETS} (see .ci/run)")
    with chromium() as browser:
        yield browser
