"""Test doubles of web archives for the ``recover`` tests (no tests here).

* :func:`web_archive`: the replica captured at two moments (edition 0, then edition 1 with
  edits and new articles) by our own ``crawl``, both captures in one collection of a REAL
  pywb, and the replica stopped: the site has vanished, the archive holds it.
* :class:`WaybackDouble`: a server that follows the Wayback Machine's documented CDX server
  API and ``id_`` replay (JSON rows after a header row, ``fl``, ``filter``, ``collapse``
  on adjacent rows whatever their URL, ``limit`` with ``showResumeKey``/``resumeKey``;
  original headers as ``X-Archive-Orig-*``),
  answering from the pywb collection, with faults to order (429 with ``Retry-After``, 503,
  connection resets, truncated, redirect and soft-404 captures).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
from tests.http_support import answer
from tests.replay_support import running_wayback
from tests.replica_process import running_replica

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ARTICLES = "20"  # at edition 1, one Lấp Vò article is edited and one is new


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_same_items(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """The same items (by key and version), field by field."""
    by_version = {(item["key"], item["version"]): item for item in got}
    assert sorted(by_version) == sorted((item["key"], item["version"]) for item in expected)
    for item in expected:
        extracted = by_version[item["key"], item["version"]]
        for name in item.keys() | extracted.keys():
            assert extracted.get(name) == item.get(name), (item["key"], item["version"], name)


@contextmanager
def running_pywb(root: Path, collections: dict[str, tuple[Path, Path]]) -> Iterator[str]:
    """pywb serving ``{name: (index dir, warc dir)}``; yields ``http://127.0.0.1:PORT/``."""
    config = "collections:\n" + "".join(
        f"  {name}:\n    index_paths: {index}\n    archive_paths: {warcs}/\n"
        for name, (index, warcs) in collections.items()
    )
    (root / "config.yaml").write_text(config)
    with running_wayback(root) as base:
        yield base


@dataclass
class WebArchive:
    """The vanished site and the archive that holds it."""

    pywb: str
    """Base URL of the pywb server: the collection is ``{pywb}arch``."""
    site: str
    """The replica's Lấp Vò site URL (nothing listens there any more)."""
    moments: list[list[dict[str, Any]]]
    """The items each moment added (edition 0, then the edits and new articles of edition 1):
    what recovery must give back."""
    collections: list[Path]
    """The two captured collections (their WARCs are what the archive holds)."""
    warc_dir: Path
    """The archive's WARC files (all of both moments)."""

    @property
    def collection_url(self) -> str:
        return self.pywb + "arch"


def _crawl(site: str, directory: Path) -> None:
    result = run_cli("crawl", site, "--out", str(directory), *LOOPBACK_SETTINGS)
    assert result.returncode == 0, result.stderr + result.stdout


@contextmanager
def web_archive(root: Path) -> Iterator[WebArchive]:
    """The second moment is an incremental crawl of the first one's collection, as archives
    are: unchanged pages are revisit records (identical payload) or 304s."""
    first, second = root / "moment0", root / "moment1"
    with running_replica("--articles", ARTICLES) as replica:
        site = f"{replica.url}web/hlv"
        _crawl(site, first)
        shutil.copytree(first, second)
        time.sleep(1.1)  # CDX timestamps are whole seconds: two moments, two timestamps
        replica.set_edition(1)
        _crawl(site, second)
    before = read_items(first)
    after = read_items(second)[len(before) :]
    assert after, "the second moment added no version"
    with running_pywb(root, {"arch": (second / "indexes", second / "warc")}) as pywb:
        yield WebArchive(pywb, site, [before, after], [first, second], second / "warc")


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebArchive]:
    """The web archive of the vanished Lấp Vò site (shared by the recover test modules)."""
    with web_archive(tmp_path_factory.mktemp("web-archive")) as handle:
        yield handle


# -- The Wayback Machine's wire format ----------------------------------------------------

_FIELDS = {  # Wayback field name → pywb's
    "urlkey": "urlkey",
    "timestamp": "timestamp",
    "original": "url",
    "mimetype": "mime",
    "statuscode": "status",
    "digest": "digest",
    "length": "length",
}
_KEEP_UNPREFIXED = {"content-type"}  # the Wayback Machine passes these as they were
_DROP = {"memento-datetime", "link", "content-location", "date", "transfer-encoding"}


@dataclass
class Faults:
    """Faults to serve, consumed as they are served."""

    cdx_429: int = 0
    """The next N CDX requests get 429 with ``Retry-After: 1``."""
    capture_503: set[str] = field(default_factory=set)
    """Original URLs whose next raw capture request gets the archive's own 503."""
    capture_reset: set[str] = field(default_factory=set)
    """Original URLs whose next raw capture request has its connection reset."""
    truncated: set[str] = field(default_factory=set)
    """Original URLs whose captures are served cut in half (as a truncated record would be)."""
    extra_rows: list[dict[str, str]] = field(default_factory=list)
    """Rows added to every CDX listing (pywb names), for captures served by ``extra``."""
    extra: dict[str, tuple[int, list[tuple[str, str]], bytes]] = field(default_factory=dict)
    """``{timestamp}/{url}`` → (status, original headers, body) of made-up captures."""
    archive_redirect: set[str] = field(default_factory=set)
    """Original URLs whose next raw capture request is redirected by the archive itself
    (no ``Memento-Datetime``), as the Wayback Machine does to its nearest capture."""
    hidden: set[str] = field(default_factory=set)
    """Original URLs the archive never captured (left out of every CDX answer)."""
    unlisted: set[str] = field(default_factory=set)
    """Original URLs a site listing misses (left out of prefix answers; an exact lookup of
    the URL finds them)."""


class WaybackDouble:
    """Follows https://github.com/internetarchive/wayback/tree/master/wayback-cdx-server."""

    def __init__(self, pywb_collection: str, page_size_cap: int | None = None) -> None:
        self.upstream = pywb_collection.rstrip("/")
        self.faults = Faults()
        self.requests: list[str] = []
        self.listed: list[tuple[str, list[str]]] = []
        """Every CDX row served (``fl`` fields) with its query's ``matchType``, in order."""
        self.page_size_cap = page_size_cap
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WaybackDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take(self, faults: set[str], url: str) -> bool:
        with self._lock:
            if url in faults:
                faults.discard(url)
                return True
            return False

    def take_429(self) -> bool:
        with self._lock:
            if self.faults.cdx_429 > 0:
                self.faults.cdx_429 -= 1
                return True
            return False

    # CDX ------------------------------------------------------------------------------

    def cdx_rows(self, query: dict[str, list[str]]) -> tuple[list[list[str]], str | None]:
        one = {name: values[0] for name, values in query.items()}
        upstream = {"url": one["url"], "matchType": one.get("matchType", "exact"), "output": "json"}
        for name in ("from", "to"):
            if name in one:
                upstream[name] = one[name]
        with NO_PROXY.open(f"{self.upstream}/cdx?{urlencode(upstream)}", timeout=30) as answer:
            lines = [json.loads(line) for line in answer.read().decode().splitlines() if line]
        lines += [row for row in self.faults.extra_rows if row["url"].startswith(_scheme_less(one))]
        lines = [row for row in lines if row["url"] not in self.faults.hidden]
        if upstream["matchType"] != "exact":
            lines = [row for row in lines if row["url"] not in self.faults.unlisted]
        lines.sort(key=lambda row: (row["urlkey"], row["timestamp"]))
        fields = one.get("fl", ",".join(_FIELDS)).split(",")
        # Filters and collapse may test fields that ``fl`` leaves out: rows carry them all.
        rows = [
            {name: str(line.get(pywb, "-")) for name, pywb in _FIELDS.items()} for line in lines
        ]
        start = int(one.get("resumeKey", "0"))
        limit = int(one.get("limit", "0")) or len(rows)
        if self.page_size_cap:
            limit = min(limit, self.page_size_cap)
        kept = _kept(rows, query.get("filter", []), query.get("collapse", []))
        page: list[list[str]] = []
        read = start
        for read in range(start, len(rows)):
            if len(page) == limit:
                break
            if kept(read):
                page.append([rows[read][name] for name in fields])
        else:
            read = len(rows)
        with self._lock:
            self.listed += [(upstream["matchType"], row) for row in page]
        more = len(page) == limit and read < len(rows)
        resume = str(read) if more and one.get("showResumeKey") == "true" else None
        return [fields, *page], resume

    # Captures -------------------------------------------------------------------------

    def capture(self, stamp: str, url: str) -> tuple[int, list[tuple[str, str]], bytes] | None:
        made_up = self.faults.extra.get(f"{stamp}/{url}")
        if made_up is not None:
            status, headers, body = made_up
            return status, _as_wayback(headers, stamp, f"{self.url}/web/"), body
        try:
            answer = NO_PROXY.open(f"{self.upstream}/{stamp}id_/{url}", timeout=30)
        except urllib.error.HTTPError as error:
            answer = error
        with answer:
            body = answer.read()
            headers = list(answer.headers.items())
            status = answer.status if hasattr(answer, "status") else answer.code
        if not any(name.lower() == "memento-datetime" for name, _ in headers):
            return None
        original = [(name.removeprefix("X-Archive-Orig-"), value) for name, value in headers]
        original = [(n, v) for n, v in original if n.lower() not in _DROP]
        if url in self.faults.truncated:
            body = body[: len(body) // 2]
        return status, _as_wayback(original, stamp, f"{self.url}/web/"), body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                double.requests.append(self.path)
                parts = urlsplit(self.path)
                if parts.path == "/cdx/search/cdx":
                    self.cdx(parse_qs(parts.query))
                    return
                match = re.match(r"/web/(\d{14})id_/(.+)", self.path)
                if not match:
                    self.send(404, [("Content-Type", "text/plain")], b"not found")
                    return
                self.capture(*match.groups())

            def cdx(self, query: dict[str, list[str]]) -> None:
                if double.take_429():
                    self.send(429, [("Retry-After", "1")], b"Too Many Requests")
                    return
                rows, resume = double.cdx_rows(query)
                if resume is not None:
                    rows += [[], [resume]]
                body = json.dumps(rows).encode() if len(rows) > 1 else b"[]"
                self.send(200, [("Content-Type", "application/json")], body)

            def capture(self, stamp: str, url: str) -> None:
                if double.take(double.faults.capture_reset, url):
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if double.take(double.faults.archive_redirect, url):
                    self.send(302, [("Location", f"/web/{stamp}id_/{url}")], b"")
                    return
                if double.take(double.faults.capture_503, url):
                    self.send(503, [("Retry-After", "0")], b"Service Unavailable")
                    return
                found = double.capture(stamp, url)
                if found is None:
                    self.send(404, [("Content-Type", "text/html")], b"<p>not archived</p>")
                    return
                self.send(*found)

            def send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                answer(self, status, headers, body)

        return Handler


def _scheme_less(query: dict[str, str]) -> str:
    url = query["url"]
    return url if "://" in url else "http://" + url


def _kept(
    rows: list[dict[str, str]], filters: list[str], collapses: list[str]
) -> Callable[[int], bool]:
    """Whether the row at an index is listed, read in order from where the request starts:
    each ``filter`` (``[!]field:regex``) must hold; then each ``collapse`` (``field`` or
    ``field:N``, its first N characters) drops a row whose value is the one of the last row
    that collapse let through, whatever that row's URL. As the Wayback CDX server's
    ``CollapseFieldFilter`` does: several collapses drop a row that ANY of them drops (no
    collapse on a pair of fields), and their memory is the request's (a resumed listing
    starts afresh)."""
    rules = []
    for rule in filters:
        name, _, pattern = rule.lstrip("!").partition(":")
        rules.append((name, re.compile(pattern), rule.startswith("!")))
    last: list[str | None] = [None] * len(collapses)
    parts = [(name, int(n) if n else None) for name, _, n in (c.partition(":") for c in collapses)]

    def kept(at: int) -> bool:
        row = rows[at]
        if any(bool(p.fullmatch(row[name])) == negate for name, p, negate in rules):
            return False
        for i, (name, width) in enumerate(parts):
            value = row[name][:width] if width else row[name]
            if value == last[i]:
                return False
            last[i] = value
        return True

    return kept


def _as_wayback(original: list[tuple[str, str]], stamp: str, replay: str) -> list[tuple[str, str]]:
    """Original headers the Wayback Machine's way: prefixed, beside headers of its own; a
    redirect's ``Location`` rewritten to the memento of its target (``replay``: the prefix)."""
    headers = [
        (name if name.lower() in _KEEP_UNPREFIXED else f"X-Archive-Orig-{name}", value)
        if name.lower() != "location"
        else (name, f"{replay}{stamp}id_/{value}")
        for name, value in original
    ]
    moment = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.strptime(stamp, "%Y%m%d%H%M%S"))
    return [
        ("Server", "nginx"),
        ("X-App-Server", "wwwb-app200"),
        ("X-ts", "200"),
        ("Memento-Datetime", moment),
        *headers,
    ]


# -- Common Crawl's index server -----------------------------------------------------------


class PagedIndex:
    """Common Crawl's index server: pywb over a ZipNum index, answering in pages
    (``showNumPages=true`` → ``{"pages": N, ...}``, then ``page=0..N-1``), here in front of
    a plain pywb collection, ``page_size`` lines a page."""

    def __init__(self, pywb: str, page_size: int = 4) -> None:
        self.upstream = pywb.rstrip("/")
        self.page_size = page_size
        self.queries: list[dict[str, list[str]]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PagedIndex:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str) -> bytes:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        self.queries.append(query)
        plain = {k: v[0] for k, v in query.items() if k not in ("showNumPages", "page")}
        with NO_PROXY.open(f"{self.upstream}{parts.path}?{urlencode(plain)}", timeout=30) as up:
            lines = up.read().splitlines()
        pages = max(1, -(-len(lines) // self.page_size))
        if query.get("showNumPages") == ["true"]:
            return json.dumps(
                {"pages": pages, "pageSize": self.page_size, "blocks": pages}
            ).encode()
        page = int(query.get("page", ["0"])[0])
        return b"\n".join(lines[page * self.page_size : (page + 1) * self.page_size])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = index.answer(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/x-ndjson")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


# -- Common Crawl's data server ---------------------------------------------------------


class RangeFileServer:
    """Serves a directory's files with HTTP range requests, as data.commoncrawl.org does."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ranges: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RangeFileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        files = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = files.directory / Path(urlsplit(self.path).path).name
                match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
                if not path.is_file() or match is None:
                    self.send_response(404 if not path.is_file() else 416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                files.ranges.append(match.group(0))
                start, end = int(match.group(1)), int(match.group(2))
                with path.open("rb") as stream:
                    stream.seek(start)
                    body = stream.read(end - start + 1)
                self.send_response(206)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Range", f"bytes {start}-{end}/{path.stat().st_size}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
