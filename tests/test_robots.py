"""robots.txt is archived like any other fetch, and what it disallows is never requested.

The replica's robots.txt only disallows what the crawler's own rules refuse anyway (search
pages, ``/c/``, ``/api/``), so obeying it is proven with a scripted server whose robots.txt
disallows an ordinary article URL.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.captures import records
from tests.conftest import Crawled, run_cli
from tests.scripted_server import Reply, scripted_server

THEMES = Path(__file__).parent / "data" / "themes"
ARTICLE = "/web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/{}"


def test_crawl_archives_robots_txt_as_request_and_response(crawled: Crawled) -> None:
    url = crawled.replica.url + "robots.txt"
    (response,) = [
        r
        for r in records(crawled.warcs, "response")
        if r.rec_headers.get_header("WARC-Target-URI") == url
    ]
    (request,) = [
        r
        for r in records(crawled.warcs, "request")
        if r.rec_headers.get_header("WARC-Target-URI") == url
    ]
    assert response.http_headers.get_statuscode() == "200"
    assert (request.http_headers.protocol, request.http_headers.statusline) == (
        "GET",
        "/robots.txt HTTP/1.1",
    )
    concurrent = request.rec_headers.get_header("WARC-Concurrent-To")
    assert concurrent == response.rec_headers.get_header("WARC-Record-ID")


def test_disallowed_urls_are_never_requested(tmp_path: Path) -> None:
    allowed, disallowed = ARTICLE.format(1), ARTICLE.format(2)
    robots = f"User-agent: *\nDisallow: {disallowed}\n".encode()
    page = Reply(200, (THEMES / "t01-lr74.html").read_bytes())
    script = {
        "/robots.txt": [Reply(200, robots, content_type="text/plain")],
        allowed: [page],
        disallowed: [page],
    }
    with scripted_server(script) as server:
        urls = [server.url(allowed), server.url(disallowed)]
        result = run_cli(
            "fetch", *urls, "--out", str(tmp_path),
            "-s", "DOWNLOAD_DELAY=0", "-s", "ARCHIVE_REQUISITES=False",
            "-s", "ARCHIVE_THEME_ASSETS=False",
        )  # fmt: skip
        hits = [hit.path for hit in server.hits()]
    assert hits == ["/robots.txt", allowed], "robots.txt first, the disallowed URL never"
    # Asked for and not captured: the run says so (exit 1, the URL named in the report).
    assert result.returncode == 1, result.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [failed["url"] for failed in report["failed_urls"]] == [server.url(disallowed)]
    warcs = sorted((tmp_path / "warc").glob("*.warc.gz"))
    archived = [r.rec_headers.get_header("WARC-Target-URI") for r in records(warcs, "response")]
    assert sorted(archived) == sorted([server.url("/robots.txt"), server.url(allowed)])


def test_warcinfo_says_robots_ignored_when_the_run_ignored_them(tmp_path: Path) -> None:
    # The warcinfo record tells later readers how the capture was made: it must follow
    # what the crawl did (ROBOTSTXT_OBEY), never a label that can drift from it.
    from warcio.archiveiterator import ArchiveIterator

    page = b"<html><head><title>T</title></head><body><p>x</p></body></html>"
    with scripted_server({"/a": [Reply(200, page)]}) as server:
        done = run_cli(
            "fetch", server.url("/a"), "--out", str(tmp_path), "-s", "ROBOTSTXT_OBEY=False"
        )
    assert done.returncode in (0, 1), done.stderr
    (warc,) = (tmp_path / "warc").glob("*.warc.gz")
    with warc.open("rb") as stream:
        info = next(iter(ArchiveIterator(stream)))
        fields = dict(
            line.split(": ", 1) for line in info.content_stream().read().decode().splitlines()
        )
    assert info.rec_type == "warcinfo"
    assert fields["robots"] == "ignore"
