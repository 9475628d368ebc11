"""A loopback HTTP server that answers each path with a script of replies, and logs when.

Tests use it where the replica has no such fault (408, 429 with a chosen ``Retry-After``, a
reply slower than the download timeout) or where a robots.txt must forbid what the crawler's
own rules allow. It runs in a thread of the test process; the crawler runs in a subprocess.

    with scripted_server({"/a": [Reply(503), Reply(200, PAGE)]}) as server:
        server.url("/a")        # "http://127.0.0.1:PORT/a"
        server.hits("/a")       # [Hit(path, at, headers), ...] in arrival order
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    """Seconds to wait before answering (a reply slower than DOWNLOAD_TIMEOUT times out)."""
    content_type: str = "text/html; charset=UTF-8"


@dataclass(frozen=True)
class Hit:
    path: str
    at: float
    """``time.monotonic()`` when the request arrived."""
    headers: dict[str, str]


@dataclass
class Script:
    """Replies by path, each list consumed in order; its last reply repeats once reached."""

    replies: dict[str, list[Reply]]
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self, path: str, headers: dict[str, str]) -> Reply:
        with self.lock:
            self.hits.append(Hit(path, time.monotonic(), headers))
            queue = self.replies.get(path)
            if not queue:
                return Reply(404, b"<html><body>Not found</body></html>")
            return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the hits are the log."""

    def do_GET(self) -> None:
        reply = self.server.script.next_reply(self.path, dict(self.headers.items()))
        if reply.delay:
            time.sleep(reply.delay)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a timeout): nothing more to say to it.
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script


@dataclass
class ScriptedServer:
    base: str
    script: Script

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str | None = None) -> list[Hit]:
        with self.script.lock:
            return [hit for hit in self.script.hits if path is None or hit.path == path]


@contextmanager
def scripted_server(replies: dict[str, list[Reply]]) -> Iterator[ScriptedServer]:
    """Serve ``replies`` on a free loopback port until the block exits."""
    script = Script({path: list(queue) for path, queue in replies.items()})
    server = _Server(script)
    thread = threading.Thread(target=server.serve_forever, name="scripted-server", daemon=True)
    thread.start()
    try:
        yield ScriptedServer(f"http://127.0.0.1:{server.server_address[1]}", script)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
