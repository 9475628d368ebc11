"""The operator's credentials never reach the archive: a real fetch through a local proxy
that demands a password (``Proxy-Authorization``) with HTTP auth set in the settings
(``Authorization``). Both headers are sent, and no request record holds them."""

from __future__ import annotations

import base64
import gzip
import http.client
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

from tests.archive_support import warcio_check
from tests.conftest import LOOPBACK_SETTINGS
from tests.http_support import loopback_server
from tests.replica_process import ReplicaHandle

PROXY_SECRET = base64.b64encode(b"operator:pr0xy-s3cret").decode()
AUTH_SECRET = base64.b64encode(b"archivist:s1te-s3cret").decode()


class _Proxy(BaseHTTPRequestHandler):
    """A forward proxy for plain http that wants ``Proxy-Authorization``."""

    seen: ClassVar[list[tuple[str | None, str | None]]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append((self.headers["Proxy-Authorization"], self.headers["Authorization"]))
        if self.headers["Proxy-Authorization"] != f"Basic {PROXY_SECRET}":
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.netloc, timeout=30)
        headers = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
        upstream.request(
            "GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers
        )
        response = upstream.getresponse()
        body = response.read()
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        upstream.close()


@pytest.fixture
def proxy() -> Iterator[str]:
    _Proxy.seen = []
    with loopback_server(_Proxy) as server:
        yield f"127.0.0.1:{server.server_address[1]}"


def test_credentials_are_sent_but_never_archived(
    replica: ReplicaHandle, proxy: str, tmp_path: Path
) -> None:
    seed = (
        f"{replica.url}web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"
    )
    headers = f'{{"Authorization": "Basic {AUTH_SECRET}"}}'
    environment = dict(os.environ, http_proxy=f"http://operator:pr0xy-s3cret@{proxy}")
    environment.pop("no_proxy", None)
    environment.pop("NO_PROXY", None)
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "fetch", seed, "--out", str(tmp_path),
         *LOOPBACK_SETTINGS, "-s", f"DEFAULT_REQUEST_HEADERS={headers}"],
        capture_output=True, text=True, timeout=180, env=environment, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (f"Basic {PROXY_SECRET}", f"Basic {AUTH_SECRET}") in _Proxy.seen, "sent through"
    warcs = sorted((tmp_path / "warc").glob("*.warc.gz"))
    warcio_check(*warcs)
    archived = b"".join(gzip.decompress(path.read_bytes()) for path in warcs)
    assert b"GET " in archived and "Đăng Khoa".encode() in archived, "the article is archived"
    for secret in (PROXY_SECRET, AUTH_SECRET, "pr0xy-s3cret"):
        assert secret.encode() not in archived
    assert b"Proxy-Authorization" not in archived and b"\r\nAuthorization:" not in archived
