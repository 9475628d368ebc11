"""``recover --archive ia`` against a double of the Wayback Machine's CDX server and replay,
with the faults a real archive has: rate limits, outages, resets, odd captures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import read_items, run_cli
from tests.recover_support import NO_PROXY, WaybackDouble, WebArchive, archive

__all__ = ["archive"]  # the shared fixture

FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "PORTAL_RETRY_BACKOFF_BASE=0", "-s", "LOG_LEVEL=WARNING")
SOFT_404 = (
    '<html><body><div class="alert alert-danger">Tài sản không thể được tìm thấy.</div>'
    "</body></html>"
).encode()


def _recover(archive: WebArchive, double: WaybackDouble, out: Path, *extra: str) -> Any:
    return run_cli(
        "recover", archive.site, "--archive", "ia", "--out", str(out),
        "-s", f"PORTAL_RECOVER_IA_URL={double.url}", *FAST, *extra,
    )  # fmt: skip


def _records(directory: Path) -> Iterator[Any]:
    for path in sorted((directory / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                yield record, record.content_stream().read()


def _keys(items: list[dict[str, Any]]) -> set[str]:
    return {item["key"] for item in items}


@pytest.fixture
def double(archive: WebArchive) -> Iterator[WaybackDouble]:
    with WaybackDouble(archive.collection_url) as server:
        yield server


def test_wayback_wire_format_pages_with_resume_keys(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    result = _recover(archive, double, tmp_path, "-s", "PORTAL_RECOVER_CDX_PAGE_SIZE=7")
    assert result.returncode == 0, result.stderr + result.stdout
    queries = [parse_qs(urlsplit(p).query) for p in double.requests if p.startswith("/cdx/")]
    assert len(queries) > 3  # paged
    assert all(q["output"] == ["json"] for q in queries)
    # A site listing crosses URLs: collapsed by the plan, never by the server.
    assert not any("collapse" in q for q in queries if q["matchType"] == ["prefix"])
    assert all(q["showResumeKey"] == ["true"] for q in queries)
    assert sum("resumeKey" in q for q in queries) == len(queries) - 1
    wanted = _keys(archive.moments[0]) | _keys(archive.moments[1])
    assert _keys(read_items(tmp_path)) == wanted
    for item in read_items(tmp_path):
        assert item["archive"]["name"] == "ia"
        assert item["archive"]["memento"].startswith(f"{double.url}/web/")


def test_archive_headers_are_kept_apart_from_the_original_ones(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    assert _recover(archive, double, tmp_path).returncode == 0
    responses = metadata = etags = 0
    for record, block in _records(tmp_path):
        if record.rec_type == "response":
            http = record.http_headers
            assert http.get_header("X-App-Server") is None
            assert http.get_header("Memento-Datetime") is None
            assert http.get_header("X-Archive-Orig-ETag") is None
            etags += bool(http.get_header("ETag"))  # served as X-Archive-Orig-ETag
            responses += 1
        elif record.content_type == "application/warc-fields" and record.rec_type == "metadata":
            assert b"archive-header: X-App-Server: wwwb-app200" in block
            assert b"archive: ia" in block
            metadata += 1
    assert responses == metadata > 20
    assert etags >= 5


def test_faults_are_survived_and_counted(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    articles = sorted({i["url"] for i in archive.moments[0]})
    images = sorted({im["url"] for i in archive.moments[0] for im in i["images"]})
    host = urlsplit(archive.site).netloc
    redirect_url = f"http://{host}/web/hlv/chi-tiet-bai-viet/-/asset_publisher/x/content/id/99001"
    failed_url = f"http://{host}/web/hlv/chi-tiet-bai-viet/-/asset_publisher/x/content/id/99003"
    soft_url = f"http://{host}/web/hlv/chi-tiet-bai-viet/-/asset_publisher/x/content/id/99002"
    faults = double.faults
    faults.cdx_429 = 2
    faults.capture_503 = {articles[0]}
    faults.capture_reset = {articles[1], images[0]}
    faults.truncated = {articles[2]}
    faults.archive_redirect = {articles[3]}
    stamp = "20200101000000"
    for url, status in ((redirect_url, "302"), (soft_url, "200"), (failed_url, "-")):
        faults.extra_rows.append(
            {"urlkey": url, "timestamp": stamp, "url": url, "mime": "text/html",
             "status": status, "digest": f"FAKE{status}", "length": "100"}
        )  # fmt: skip
    # A row no capture can be made of (a time that is none): counted, not dropped unsaid.
    faults.extra_rows.append(
        {"urlkey": soft_url, "timestamp": "notatime", "url": soft_url, "mime": "text/html",
         "status": "200", "digest": "FAKEROW", "length": "100"}
    )  # fmt: skip
    faults.extra[f"{stamp}/{redirect_url}"] = (
        302,
        [("Location", "https://sso.example/login")],
        b"",
    )
    faults.extra[f"{stamp}/{soft_url}"] = (200, [("Content-Type", "text/html")], SOFT_404)
    # A revisit row whose capture is the site's own 503: archived as it is, never retried.
    faults.extra[f"{stamp}/{failed_url}"] = (503, [("Content-Type", "text/html")], b"busy")
    result = _recover(archive, double, tmp_path, "-s", "PORTAL_RECOVER_PAUSE_SECONDS=1")
    assert result.returncode == 0, result.stderr + result.stdout
    keys = _keys(read_items(tmp_path))
    truncated_key = next(i["key"] for i in archive.moments[0] if i["url"] == articles[2])
    assert keys == (_keys(archive.moments[0]) | _keys(archive.moments[1])) - {truncated_key}
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["retry_backoff_seconds"] >= 2  # Retry-After: 1, twice
    quirks = json.loads((tmp_path / "recover-report.json").read_text())["quirks"]
    assert quirks["truncated"] >= 1 and quirks["soft-404"] >= 1
    assert quirks["archive-redirect"] == 1
    assert quirks["cdx-row-unreadable"] == 1
    assert "1 row of CDX answers named no capture: passed over" in result.stdout
    assert quirks["skipped/redirect"] >= 1
    recovered_urls = {r.rec_headers["WARC-Target-URI"] for r, _ in _records(tmp_path)}
    assert {images[0], articles[0], articles[2], soft_url} <= recovered_urls  # nothing lost
    assert redirect_url not in recovered_urls  # never saved as an empty page
    assert failed_url in recovered_urls and quirks["http-503"] == 1
    assert sum(failed_url in path for path in double.requests) == 1


def test_the_report_names_what_the_archive_never_captured(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    with_images = [i for i in archive.moments[1] if i["images"]]
    never = next(i for i in archive.moments[1] if not i["images"] or i is not with_images[0])
    image = with_images[0]["images"][0]["url"]
    double.faults.hidden = {never["url"], image}
    double.faults.cdx_429 = 4
    result = _recover(
        archive, double, tmp_path,
        "-s", "PORTAL_RECOVER_PAUSE_AFTER=3", "-s", "PORTAL_RECOVER_PAUSE_SECONDS=1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    report = json.loads((tmp_path / "recover-report.json").read_text())
    (site,) = report["sites"].values()
    assert site["listed_never_captured"] == [never["url"]]
    assert site["requisites_missing"] == [image]
    assert report["politeness"]["pauses"] == 1
    assert "1 listed but never captured, 1 images/files missing" in result.stdout
    lookups = [parse_qs(urlsplit(p).query) for p in double.requests if p.startswith("/cdx/")]
    lookups = [q for q in lookups if q["matchType"] == ["exact"]]
    assert [q["url"] for q in lookups] == [[image]]
    assert lookups[0]["filter"] == ["!statuscode:[345].."]
    assert never["key"] not in _keys(read_items(tmp_path))


def test_an_image_looked_up_over_several_pages_is_recovered(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    """The lookup of one image the site listing missed, its captures a row a page: the
    capture nearest the article's time is on the second page, an older one on the first."""
    article = next(i for i in archive.moments[1] if i["images"])
    image = article["images"][0]["url"]
    double.faults.unlisted = {image}
    old = b"\xff\xd8\xff an older photo at this address"
    double.faults.extra_rows.append(
        {"urlkey": image, "timestamp": "20000101000000", "url": image, "mime": "image/jpeg",
         "status": "200", "digest": "OLDERPHOTO", "length": str(len(old) + 300)}
    )  # fmt: skip
    double.faults.extra[f"20000101000000/{image}"] = (200, [("Content-Type", "image/jpeg")], old)
    result = _recover(archive, double, tmp_path, "-s", "PORTAL_RECOVER_CDX_PAGE_SIZE=1")
    assert result.returncode == 0, result.stderr + result.stdout
    lookups = [parse_qs(urlsplit(p).query) for p in double.requests if p.startswith("/cdx/")]
    lookups = [q for q in lookups if q["matchType"] == ["exact"] and q["url"] == [image]]
    assert len(lookups) >= 2 and all("resumeKey" in q for q in lookups[1:])  # a row a page
    (site,) = json.loads((tmp_path / "recover-report.json").read_text())["sites"].values()
    assert site["requisites_missing"] == []
    photos = [b for r, b in _records(tmp_path) if r.rec_headers["WARC-Target-URI"] == image]
    assert photos and old not in photos  # the capture of the article's time, not the older


def test_several_archives_merge_into_one_history(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    result = _recover(archive, double, tmp_path, "--archive", archive.collection_url)
    assert result.returncode == 0, result.stderr + result.stdout
    items = read_items(tmp_path)
    versions = {(i["key"], i["version"]) for i in items}
    assert len(versions) == len(items)  # no version twice
    expected = sum(
        1 + any(a["key"] == b["key"] and a["paragraphs"] != b["paragraphs"]
                for b in archive.moments[1])
        for a in archive.moments[0]
    ) + len(_keys(archive.moments[1]) - _keys(archive.moments[0]))  # fmt: skip
    assert len(items) == expected
    assert {i["archive"]["name"] for i in items} <= {"ia", archive.collection_url}


def test_a_capture_with_a_wrong_charset_reads_right(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    original = next(i for i in archive.moments[0] if "Đ" in i["title"] or "ư" in i["title"])
    stamp = original["fetched_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
    with NO_PROXY.open(f"{archive.collection_url}/{stamp}id_/{original['url']}") as held:
        body = held.read()
    assert b'charset="utf-8"' in body.lower() or b"charset=utf-8" in body.lower()
    url = original["url"].replace(original["asset_id"], "99004")
    double.faults.extra_rows.append(
        {"urlkey": url, "timestamp": "20200101000000", "url": url, "mime": "text/html",
         "status": "200", "digest": "WRONGCHARSET", "length": str(len(body))}
    )  # fmt: skip
    headers = [("Content-Type", "text/html; charset=iso-8859-1")]  # the server lied
    double.faults.extra[f"20200101000000/{url}"] = (200, headers, body)
    assert _recover(archive, double, tmp_path).returncode == 0
    item = next(i for i in read_items(tmp_path) if i["asset_id"] == "99004")
    assert item["title"] == original["title"]
    assert item["paragraphs"] == original["paragraphs"]


def test_an_archived_redirect_joins_an_old_address_to_the_article_it_moved_to(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    moved = archive.moments[0][0]
    stamp = moved["fetched_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
    with NO_PROXY.open(f"{archive.collection_url}/{stamp}id_/{moved['url']}") as held:
        body = held.read()
    title = moved["title"].encode()
    assert title in body
    old = moved["url"].replace(moved["asset_id"], "99005")  # the address before a re-import
    for when, status, digest in (
        ("20000101000000", "200", "OLDTEXT"),
        ("20000201000000", "301", "MOVED"),
    ):
        double.faults.extra_rows.append(
            {"urlkey": old, "timestamp": when, "url": old, "mime": "text/html",
             "status": status, "digest": digest, "length": "100"}
        )  # fmt: skip
    headers = [("Content-Type", "text/html; charset=utf-8")]
    double.faults.extra[f"20000101000000/{old}"] = (
        200,
        headers,
        body.replace(title, title + b" 2000"),
    )
    double.faults.extra[f"20000201000000/{old}"] = (
        301, [("Location", moved["url"]), *headers], b"<a>moved</a>",
    )  # fmt: skip
    result = _recover(archive, double, tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    history = sorted(
        (i for i in read_items(tmp_path) if i["key"] == moved["key"]), key=lambda i: i["fetched_at"]
    )
    assert history[0]["url"] == old and history[0]["title"] == moved["title"] + " 2000"
    assert history[0]["fetched_at"] == "2000-01-01T00:00:00Z"
    assert [i["url"] for i in history[1:]] == [moved["url"]] * (len(history) - 1)
    assert len({i["version"] for i in history}) == len(history)
    report = json.loads((tmp_path / "recover-report.json").read_text())
    (site,) = report["sites"].values()
    assert [(m["from"], m["to"]) for m in site["merged_by_redirect"]] == [(old, moved["url"])]
    targets = [
        r.http_headers.get_header("Location")
        for r, _ in _records(tmp_path)
        if r.rec_type == "response"
        and r.rec_headers["WARC-Target-URI"] == old
        and r.http_headers.get_statuscode() == "301"
    ]
    assert targets == [moved["url"]]  # the evidence is kept, with the site's own Location


def test_a_target_no_archive_listed_says_what_to_check(
    double: WaybackDouble, tmp_path: Path
) -> None:
    """A wrong pywb collection name answers like a site never archived: "0 captures found",
    exit 0, and nothing more. The summary now says what to check."""
    result = run_cli(
        "recover", "http://127.0.0.1:9/web/hlv", "--archive", "ia", "--out", str(tmp_path),
        "-s", f"PORTAL_RECOVER_IA_URL={double.url}", *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert ": 0 captures found" in result.stdout
    assert "  no archive listed any capture of " in result.stdout
    assert "check the target's host and the --archive URL" in result.stdout


def test_a_host_target_counts_the_articles_of_its_sites(
    archive: WebArchive, double: WaybackDouble, tmp_path: Path
) -> None:
    """``recover http://host/`` over a portal of /web/CODE sites: the summary said "6 articles
    recovered" of 40 archived. Items were counted under their own site's name, and read back
    under the target's."""
    root = f"{urlsplit(archive.site).scheme}://{urlsplit(archive.site).netloc}/"
    result = run_cli(
        "recover", root, "--archive", "ia", "--out", str(tmp_path),
        "-s", f"PORTAL_RECOVER_IA_URL={double.url}", *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    keys = _keys(read_items(tmp_path))
    versions = len(read_items(tmp_path))
    (site,) = json.loads((tmp_path / "recover-report.json").read_text())["sites"].values()
    assert keys and (site["articles_recovered"], site["versions"]) == (len(keys), versions)
