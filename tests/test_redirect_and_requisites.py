"""A redirect to the same article, and requisites that can never be fetched, on a small server."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

import replica
from archive.reader import iter_records
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
from tests.http_support import answer, loopback_server

ARTICLE = "/web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"
SESSION = ";jsessionid=0A1B2C"
PAGE = (Path(replica.__file__).parent / "data" / "a01-dtp.html").read_bytes()
LOCAL_IMAGE = b"/documents/481930/0/dai+bieu+tham+du+(1).jpg/1f3ff701-5bcc-aa55-11e2-3d9d08e5b702"


class _Portal(BaseHTTPRequestHandler):
    """The article answers with a redirect to itself plus a session id; its first photo is
    a local file, and the other photos are gone (404)."""

    def do_GET(self) -> None:
        if self.path == ARTICLE:
            self._answer(301, b"", [("Location", ARTICLE + SESSION)])
        elif self.path == ARTICLE + SESSION:
            body = PAGE.replace(LOCAL_IMAGE, b"file:///etc/hostname", 1)
            self._answer(200, body, [("Content-Type", "text/html; charset=utf-8")])
        else:
            self._answer(404, b"not here", [("Content-Type", "text/plain")])

    def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        answer(self, status, headers, body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def portal() -> Iterator[str]:
    with loopback_server(_Portal) as server:
        yield f"http://127.0.0.1:{server.server_port}"


def test_redirect_to_itself_is_archived_and_dead_requisites_are_not_owed_forever(
    portal: str, tmp_path: Path
) -> None:
    fetch = ("fetch", portal + ARTICLE, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
    first = run_cli(*fetch)
    assert first.returncode == 1, "the photos that failed are named"
    (item,) = read_items(tmp_path)
    assert item["url"] == portal + ARTICLE + SESSION
    assert [image for image in item["images"] if image["url"].startswith("file:")]
    urls = {record.url for record in iter_records(sorted((tmp_path / "warc").glob("*.warc.gz")))}
    assert not [url for url in urls if not url.startswith("http")], "no local file is read"

    again = run_cli(*fetch)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(read_items(tmp_path)) == 1
