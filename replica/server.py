"""The replica's HTTP server: keep-alive, gzip, chunking, validators, faults, request log."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from replica.app import Portal, Reply
from replica.catalog import Catalog
from replica.render import robots_disallowed

logger = logging.getLogger(__name__)

CONTROL = "/__replica/"
_CHUNK = 8192


@dataclass
class Options:
    """How one replica run behaves; every field has a command-line flag."""

    articles: int = 60
    """Number of listed articles across sites (specimens included), before editions."""
    edition: int = 0
    """Each edition adds new articles and edits a few existing ones."""
    conditional: bool = True
    """Answer If-None-Match / If-Modified-Since with 304 on article pages."""
    chunked_all: bool = False
    """Send every response with ``Transfer-Encoding: chunked``."""
    broken_html: bool = False
    """Serve one article with broken markup."""
    link_faults: bool = False
    """Link the fault paths (the endless body) from every page's sidebar."""
    fail_first: dict[str, int] = field(default_factory=dict)
    """Path (or path?query) → answer 500 this many times before answering normally."""
    retry_after: dict[str, int] = field(default_factory=dict)
    """Path → answer 503 with ``Retry-After: 1`` this many times."""
    slow: dict[str, float] = field(default_factory=dict)
    """Path → seconds to wait before answering."""
    reset: tuple[str, ...] = ()
    """Paths whose connection is reset (TCP RST) instead of answered."""
    log_limit: int = 100_000
    """Requests kept in the log (counters keep counting past it)."""


def payload_digest(body: bytes) -> str:
    """``base32(sha1(body))``, as WARC payload digests are written (without ``sha1:``)."""
    return base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


class RequestLog:
    """Every request received (except the control endpoints), for tests to inspect."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._entries: list[dict[str, Any]] = []
            self._counts: Counter[str] = Counter()
            self._totals: Counter[str] = Counter()

    def add(self, method: str, target: str, headers: dict[str, str]) -> dict[str, Any]:
        path, _, query = target.partition("?")
        # ``delay``: the seconds waited before answering (``--slow``), set once waited.
        entry: dict[str, Any] = {
            "method": method,
            "target": target,
            "headers": headers,
            "delay": 0.0,
        }
        with self._lock:
            self._totals["count"] += 1
            self._totals["actions"] += parse_qs(query).get("p_p_lifecycle") == ["1"]
            self._totals["disallowed"] += robots_disallowed(path)
            self._totals["calendar"] += path.endswith("/lich-cong-tac")
            self._counts[target] += 1
            if len(self._entries) < self._limit:
                self._entries.append(entry)
            else:
                self._totals["dropped"] += 1
        return entry

    def waited(self, entry: dict[str, Any], seconds: float) -> None:
        """Records on ``entry`` (from :meth:`add`) that its answer waited ``seconds``."""
        with self._lock:
            entry["delay"] = seconds

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            totals = {k: self._totals[k] for k in ("count", "actions", "disallowed", "calendar")}
            return {
                **totals,
                "dropped": self._totals["dropped"],
                "counts": dict(self._counts),
                "requests": list(self._entries),
            }


class Faults:
    """Injected failures, keyed by path or by full target."""

    def __init__(self, options: Options) -> None:
        self._lock = threading.Lock()
        self._fail = dict(options.fail_first)
        self._busy = dict(options.retry_after)
        self._slow = dict(options.slow)
        self._reset = set(options.reset)

    @staticmethod
    def _key(table: dict[str, Any] | set[str], target: str) -> str | None:
        path = target.partition("?")[0]
        return target if target in table else path if path in table else None

    def _take(self, table: dict[str, int], target: str) -> bool:
        with self._lock:
            key = self._key(table, target)
            if key is None or table[key] <= 0:
                return False
            table[key] -= 1
            return True

    def resets(self, target: str) -> bool:
        return self._key(self._reset, target) is not None

    def delay(self, target: str) -> float:
        key = self._key(self._slow, target)
        return self._slow[key] if key else 0.0

    def failure(self, target: str) -> Reply | None:
        if self._take(self._fail, target):
            return Reply(500, b"<html><body><h1>Internal Server Error</h1></body></html>")
        if self._take(self._busy, target):
            body = b"<html><body><h1>Service Unavailable</h1></body></html>"
            return Reply(503, body, headers=[("Retry-After", "1")])
        return None


class ReplicaServer(ThreadingHTTPServer):
    """The replica bound to a local port; ``url`` is its base URL with a trailing slash."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, options: Options) -> None:
        super().__init__((host, port), ReplicaHandler)
        self.options = options
        bound_host, bound_port = self.server_address[:2]
        shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host
        self.url = f"http://{shown}:{bound_port}/"
        self.log = RequestLog(options.log_limit)
        self.faults = Faults(options)
        self.set_edition(options.edition)

    def set_edition(self, edition: int) -> None:
        """Serve another edition from now on, at the same address (for incremental crawls)."""
        options = self.options = dataclasses.replace(self.options, edition=edition)
        catalog = Catalog(options.articles, edition, options.broken_html)
        # One assignment: requests in flight finish with the previous edition.
        self.portal = Portal(catalog, self.url.rstrip("/"), options.link_faults)
        self._manifest: bytes | None = None

    def manifest_json(self) -> bytes:
        if self._manifest is None:
            manifest = self.portal.catalog.manifest(self.portal.base)
            self._manifest = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
        return self._manifest


class ReplicaHandler(BaseHTTPRequestHandler):
    """One connection; answers requests until the client closes it (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "Apache-Coyote/1.1"
    sys_version = ""
    # Headers and body leave in one segment; with Nagle and delayed ACKs, separate small
    # writes would cost 40 ms per response.
    wbufsize = 64 * 1024
    server: ReplicaServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path.startswith(CONTROL):
            self._send(self._control_post(self.path), head=False)
            return
        self._serve(head=False)

    def _control_post(self, target: str) -> Reply:
        name, _, query = target[len(CONTROL) :].partition("?")
        if name == "reset":
            self.server.log.clear()
            return Reply(200, b'{"ok":true}', "application/json")
        if name == "edition":
            try:
                edition = int(parse_qs(query)["k"][0])
            except (KeyError, ValueError):
                return Reply(400, b"expected ?k=EDITION", "text/plain")
            self.server.set_edition(edition)
            return Reply(200, b'{"edition":%d}' % edition, "application/json")
        return Reply(404, b"unknown control endpoint", "text/plain")

    def _serve(self, head: bool) -> None:
        target = self.path
        if target.startswith(CONTROL):
            self._send(self._control(target), head)
            return
        entry = self.server.log.add(self.command, target, dict(self.headers.items()))
        faults = self.server.faults
        if faults.resets(target):
            self._reset()
            return
        delay = faults.delay(target)
        if delay:
            time.sleep(delay)
            self.server.log.waited(entry, delay)
        reply = faults.failure(target) or self.server.portal.respond(target)
        self._send(self._conditional(reply), head)

    def _control(self, target: str) -> Reply:
        name = target[len(CONTROL) :].partition("?")[0]
        if name == "manifest":
            return Reply(200, self.server.manifest_json(), "application/json")
        if name == "requests":
            body = json.dumps(self.server.log.snapshot(), ensure_ascii=False).encode("utf-8")
            return Reply(200, body, "application/json")
        if name in ("reset", "edition"):
            return Reply(405, b"use POST", "text/plain", headers=[("Allow", "POST")])
        return Reply(404, b"unknown control endpoint", "text/plain")

    def _conditional(self, reply: Reply) -> Reply:
        if not self.server.options.conditional or reply.status != 200 or not reply.etag:
            return reply
        validators = [("ETag", reply.etag), ("Last-Modified", reply.last_modified or "")]
        tags = self.headers.get("If-None-Match")
        if tags is not None:
            matched = reply.etag in [t.strip().removeprefix("W/") for t in tags.split(",")]
            return Reply(304, headers=validators, cookies=True) if matched else reply
        since = self.headers.get("If-Modified-Since")
        if since and reply.last_modified and _not_after(reply.last_modified, since):
            return Reply(304, headers=validators, cookies=True)
        return reply

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _send(self, reply: Reply, head: bool) -> None:
        body = reply.body
        headers = [("Content-Type", reply.content_type), *reply.headers]
        if reply.status == 200 and reply.etag:
            headers += [("ETag", reply.etag), ("Last-Modified", reply.last_modified or "")]
        if reply.compressible:
            headers.append(("Vary", "Accept-Encoding"))
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                body = reply.gzipped
                headers.append(("Content-Encoding", "gzip"))
        if reply.cookies:
            headers += _cookies(self.path)
            headers.append(("Liferay-Portal", "Liferay Community Edition Portal 7.2.1 CE GA2"))
        chunked = reply.endless or reply.chunked or self.server.options.chunked_all
        if not reply.endless:
            # Not computable for an endless body; every other response carries it.
            headers.append(("X-Replica-Payload-SHA1", payload_digest(body)))
        if reply.status != 304:
            headers.append(
                ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(body)))
            )
        try:
            self.send_response(reply.status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            if head or reply.status == 304:
                return
            if reply.endless:
                self._stream_forever(body)
            elif chunked:
                self._write_chunked(body)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write_chunked(self, body: bytes) -> None:
        for start in range(0, len(body), _CHUNK):
            piece = body[start : start + _CHUNK]
            self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def _stream_forever(self, block: bytes) -> None:
        frame = b"%x\r\n%b\r\n" % (len(block), block)
        while True:
            self.wfile.write(frame)


def _cookies(target: str) -> list[tuple[str, str]]:
    session = hashlib.sha1(target.encode("utf-8", "replace")).hexdigest()[:32].upper()
    return [
        ("Set-Cookie", f"JSESSIONID={session}; Path=/; HttpOnly"),
        ("Set-Cookie", "COOKIE_SUPPORT=true; Max-Age=31536000; Path=/; Secure; HttpOnly"),
    ]


def _not_after(last_modified: str, since: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def make_server(
    host: str = "127.0.0.1", port: int = 0, options: Options | None = None
) -> ReplicaServer:
    """Bind the replica (port 0 picks a free one); call ``serve_forever()`` to run it."""
    return ReplicaServer(host, port, options or Options())


def start(host: str = "127.0.0.1", port: int = 0, options: Options | None = None) -> ReplicaServer:
    """Bind and serve in a daemon thread; stop with ``shutdown()`` then ``server_close()``."""
    server = make_server(host, port, options)
    threading.Thread(target=server.serve_forever, name="replica", daemon=True).start()
    return server
