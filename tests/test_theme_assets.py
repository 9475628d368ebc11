"""What a page needs to render (issue 18): its stylesheets, scripts, icons, fonts and the
images of the site's chrome, archived once per crawl, counted apart, on by default."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from archive.reader import iter_records
from crawler.extract import theme_assets, theme_css_urls
from crawler.parsers.page import Page
from tests.conftest import LOOPBACK_SETTINGS, Crawled, run_cli
from tests.replica_process import running_replica
from tests.scripted_server import Reply, scripted_server

PAGE_URL = (
    "https://lapvo.dongthap.gov.vn/web/hlv/chi-tiet-bai-viet/-/asset_publisher/x/content/id/1"
)
PAGE = """<html><head>
<link href="/o/dongthap-theme/images/favicon.ico" rel="icon" />
<link href="/o/dongthap-theme/css/main.css?browserId=other" rel="stylesheet" type="text/css" />
<link href="/o/dongthap-theme/css/print.css" rel="alternate stylesheet" />
<script src="/combo?browserId=other&amp;/o/frontend-js-web/a.js"></script>
<script src="https://www.googletagmanager.com/gtag/js"></script>
</head><body>
<header id="banner"><div class="logo"><a href="/web/hlv">
<img src="/image/layout_set_logo?img_id=23312&amp;t=1" /></a></div></header>
<div class="journal-content-article"><p><img src="/documents/1/0/photo.jpg/u?t=2" /></p></div>
<ul class="other-news"><li><a href="/web/hlv/chi-tiet-bai-viet/-/asset_publisher/x/content/id/2">
<img src="/documents/1/0/thumb.jpg/v?t=3" />Tin khác</a></li></ul>
<div class="banner-links">
<a href="https://dichvucong.gov.vn"><img src="/documents/1/0/dvc.png" /></a>
<img src="data:image/png;base64,iVBORw0KGgo=" /></div>
</body></html>"""


def test_theme_assets_are_the_chrome_not_the_content() -> None:
    page = Page(url=PAGE_URL, body=PAGE.encode(), headers={"content-type": "text/html"})
    base = "https://lapvo.dongthap.gov.vn"
    assert theme_assets(page) == [
        f"{base}/o/dongthap-theme/images/favicon.ico",
        f"{base}/o/dongthap-theme/css/main.css?browserId=other",
        f"{base}/o/dongthap-theme/css/print.css",
        f"{base}/combo?browserId=other&/o/frontend-js-web/a.js",
        f"{base}/image/layout_set_logo?img_id=23312&t=1",
        f"{base}/documents/1/0/dvc.png",
    ]  # not the article's photo, not another article's thumbnail, not other hosts


def test_stylesheet_urls_resolve_against_the_stylesheet() -> None:
    css = (
        b'@import "portlet.css";\n@import url(/o/other/base.css) screen;\n'
        b'@font-face{src:url("../fonts/r.woff2") format("woff2"), url(../fonts/r.woff)}\n'
        b"#banner{background:url( '../images/bg.png' )}\n"
        b".x{background:url(data:image/png;base64,AA)}"
        b"/* url(../images/commented.png) */ .y{background:url(https://cdn.example.com/z.png)}"
    )
    url = "https://lapvo.dongthap.gov.vn/o/dongthap-theme/css/main.css?t=1"
    base = "https://lapvo.dongthap.gov.vn/o/"
    assert theme_css_urls(url, css) == [
        f"{base}dongthap-theme/css/portlet.css",
        f"{base}other/base.css",
        f"{base}dongthap-theme/fonts/r.woff2",
        f"{base}dongthap-theme/fonts/r.woff",
        f"{base}dongthap-theme/images/bg.png",
    ]


def test_a_crawl_archives_each_theme_asset_once(crawled: Crawled) -> None:
    base = crawled.replica.url
    fetched = Counter(r.url for r in iter_records(crawled.warcs) if not r.is_revisit)
    css = next(url for url in fetched if url.startswith(f"{base}o/dongthap-theme/css/main.css"))
    expected = [
        css,
        f"{base}o/dongthap-theme/images/favicon.ico",
        f"{base}o/dongthap-theme/fonts/roboto-regular.woff2",
        f"{base}o/dongthap-theme/images/header-bg.png",
        f"{base}o/dongthap-theme/images/title-icon.png",
        f"{base}image/layout_set_logo?img_id=23312&t=1700000000000",
    ]
    pages = len(crawled.items)
    assert pages > 10
    for url in expected:
        assert fetched[url] == 1, f"{url} fetched {fetched[url]} times for {pages} pages"
    chrome = ("/o/", "/combo?", "/image/layout_set_logo", "/0/dvc.png", "/0/ctt.png")
    assets = [url for url in fetched if any(part in url for part in chrome)]
    report = json.loads((crawled.directory / "report.json").read_text())
    assert report["requests_by_kind"]["asset"] == len(assets), "counted apart from articles"


def test_text_only_crawls_switch_them_off(tmp_path: Path) -> None:
    with running_replica("--articles", "10") as replica:
        result = run_cli(
            "crawl", f"{replica.url}web/hlv", "--out", str(tmp_path), *LOOPBACK_SETTINGS,
            "-s", "ARCHIVE_THEME_ASSETS=False",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    urls = {r.url for r in iter_records(sorted((tmp_path / "warc").glob("*.warc.gz")))}
    assert not [url for url in urls if "/o/" in url or "layout_set_logo" in url]


def test_a_theme_file_the_site_no_longer_serves_is_archived_not_a_failure(tmp_path: Path) -> None:
    # Stale references (a stylesheet naming an image long removed) are common on old portals:
    # the server's 404 is archived as it is, as replay would meet it, and the run succeeds.
    article = "/web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/1"
    page = Reply(200, (Path(__file__).parent / "data" / "themes" / "t01-lr74.html").read_bytes())
    robots = Reply(200, b"User-agent: *\nAllow: /\n", content_type="text/plain")
    with scripted_server({"/robots.txt": [robots], article: [page]}) as server:
        result = run_cli(
            "fetch", server.url(article), "--out", str(tmp_path),
            "-s", "DOWNLOAD_DELAY=0", "-s", "ARCHIVE_REQUISITES=False",
        )  # fmt: skip
        missing = [hit.path for hit in server.hits() if hit.path.startswith("/o/")]
    assert missing, "the page names theme files the server does not have"
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["failed_urls"] == []
    archived = {(r.url, r.status) for r in iter_records(sorted((tmp_path / "warc").glob("*.gz")))}
    assert {(server.url(path), 404) for path in missing} <= archived
