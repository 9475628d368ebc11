"""The pure parts of ``recover``: CDX answers, archive headers, the fetch plan, archive names."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from archive.recovered import item_archive, split_headers, stored_head, unwrap_location
from crawler.recover.cdx import Capture, CdxError, parse_cdx
from crawler.recover.plan import Found, make_plan, recover_kind
from crawler.recover.sources import Flavour, resolve_archives
from crawler.urls import Scope, UrlKind
from tests.conftest import run_cli

SITE = "http://lapvo.dongthap.gov.vn/web/hlv"
ARTICLE = f"{SITE}/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"


def test_wayback_rows_with_a_resume_key() -> None:
    rows = [
        ["original", "timestamp", "statuscode", "mimetype", "digest", "length"],
        [ARTICLE, "20220701000000", "200", "text/html", "AAA", "900"],
        [ARTICLE + "?x", "20220702", "-", "warc/revisit", "AAA", "300"],
        [],
        ["bGFwdm8gMjAyMg=="],
    ]
    page = parse_cdx(json.dumps(rows).encode())
    assert page.resume_key == "bGFwdm8gMjAyMg=="
    assert [c.url for c in page.captures] == [ARTICLE, ARTICLE + "?x"]
    assert page.captures[0].status == "200" and page.captures[0].length == 900
    assert page.captures[1].is_revisit
    assert page.captures[1].captured_at.isoformat() == "2022-07-02T00:00:00+00:00"


def test_pywb_json_lines() -> None:
    lines = [
        {"urlkey": "x", "timestamp": "20220701000000", "url": ARTICLE, "mime": "text/html",
         "status": "200", "digest": "AAA", "length": "900", "offset": "12",
         "filename": "a.warc.gz"},
        {"urlkey": "x", "url": ARTICLE},  # no timestamp: skipped
    ]  # fmt: skip
    page = parse_cdx("\n".join(json.dumps(line) for line in lines).encode())
    assert page.resume_key is None and page.skipped == 1
    assert page.captures == [
        Capture(ARTICLE, "20220701000000", "200", "text/html", "AAA", 900, 12, "a.warc.gz")
    ]


def test_empty_and_broken_answers() -> None:
    assert parse_cdx(b"").captures == []
    assert parse_cdx(b"[]").captures == []
    with pytest.raises(CdxError):
        parse_cdx(b"<html>rate limited</html>")


def test_rows_that_are_no_rows_are_skipped_and_a_header_that_is_none_is_refused() -> None:
    """Found by fuzzing: JSON whose rows are numbers or objects raised a TypeError out of
    the CDX reader, and with it out of recover's callback."""
    header = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    good = ["vn,gov,x)/a", "20200101000000", "http://x.gov.vn/a", "text/html", "200", "A", "5"]
    page = parse_cdx(json.dumps([header, 1, {"a": 1}, None, good, [], 7]).encode())
    assert [capture.url for capture in page.captures] == ["http://x.gov.vn/a"]
    assert page.skipped == 5 and page.resume_key is None
    for body in (b'["a", 1, null, {}]', b"[5]", b'[{"urlkey": 1}]'):
        with pytest.raises(CdxError, match="header"):
            parse_cdx(body)


WAYBACK_HEAD = (
    b"HTTP/1.1 302 FOUND\r\nServer: nginx\r\nDate: Mon, 07 Dec 2026 00:00:00 GMT\r\n"
    b"Content-Type: text/html\r\nTransfer-Encoding: chunked\r\nX-App-Server: wwwb-app200\r\n"
    b"X-Archive-Orig-Date: Thu, 30 Jun 2022 09:00:00 GMT\r\nX-Archive-Orig-Server: Apache\r\n"
    b"X-Archive-Orig-Content-Encoding: gzip\r\nX-Archive-Orig-Content-Length: 100\r\n"
    b"Location: https://web.archive.org/web/20220630090000id_/https://lapvo.dongthap.gov.vn/\r\n"
    b"Memento-Datetime: Thu, 30 Jun 2022 09:00:00 GMT\r\n\r\n"
)


def test_archive_headers_are_told_from_the_original_ones() -> None:
    split = split_headers(WAYBACK_HEAD)
    assert split.status_line == "HTTP/1.1 302 FOUND"
    assert split.original == [
        ("Content-Type", "text/html"),
        ("Date", "Thu, 30 Jun 2022 09:00:00 GMT"),
        ("Server", "Apache"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", "100"),
        (
            "Location",
            "https://web.archive.org/web/20220630090000id_/https://lapvo.dongthap.gov.vn/",
        ),
    ]
    assert [name for name, _ in split.added] == [
        "Server", "Date", "Transfer-Encoding", "X-App-Server", "Memento-Datetime",
    ]  # fmt: skip


def test_stored_head_describes_the_stored_payload() -> None:
    head = stored_head(split_headers(WAYBACK_HEAD), 42).decode()
    assert head.startswith("HTTP/1.1 302 FOUND\r\n")
    assert "X-Archive-Orig-Content-Encoding: gzip\r\n" in head
    assert "X-Archive-Orig-Content-Length: 100\r\n" in head
    assert head.endswith("Content-Length: 42\r\n\r\n")
    assert "\r\nContent-Encoding" not in head and "X-App-Server" not in head


def test_rewritten_locations_are_unwrapped() -> None:
    prefix = "https://web.archive.org/web/"
    target = "https://lapvo.dongthap.gov.vn/web/hlv?a=1"
    assert unwrap_location(f"{prefix}20220630090000id_/{target}", prefix) == target
    assert unwrap_location(f"{prefix}2022/{target}", prefix) == target
    assert unwrap_location("https://sso.example/login", prefix) == "https://sso.example/login"


def _found(url: str, stamp: str, status: str = "200", digest: str = "D") -> Found:
    return Found("ia", Capture(url, stamp, status, "text/html", digest))


def test_plan_orders_captures_and_drops_what_holds_nothing_new() -> None:
    scopes = [Scope.from_url(SITE)]
    plan = make_plan(
        [
            _found(ARTICLE + "?plidlayout=5101", "20230101000000", digest="B"),
            _found(ARTICLE, "20220101000000", digest="A"),
            _found(ARTICLE + ";jsessionid=X", "20220601000000", digest="A"),  # same payload
            _found(ARTICLE.replace("http:", "https:"), "20240101000000", digest="C"),
            _found(ARTICLE, "20210101000000", status="302"),
            _found(ARTICLE, "20200101000000", status="503"),
            _found(f"{SITE}/tin-tuc", "20220101000000"),
            _found(f"{SITE}/tin-tuc", "20220201000000"),  # same payload as the one before
            _found(f"{SITE}/lich-cong-tac?p_p_lifecycle=1", "20220101000000"),
            _found("http://lapvo.dongthap.gov.vn/documents/1/0/a.jpg", "20220101000000"),
            _found("http://sadec.dongthap.gov.vn/web/tpsd/tin-tuc", "20220101000000"),
        ],
        scopes,
        done={("ia", ARTICLE + "?plidlayout=5101", "20230101000000")},
        known_digests=lambda key: set(),
    )
    (key,) = plan.articles
    assert key == "lapvo.dongthap.gov.vn#4961961"
    assert [f.capture.digest for f in plan.articles[key]] == ["A", "C"]  # by time, B done
    assert [f.capture.url for f in plan.pages] == [f"{SITE}/tin-tuc"]
    assert plan.quirks == {
        "redirect": 1, "http-503": 1, "duplicate": 2, "done": 1, "never-requested": 1,
    }  # fmt: skip
    assert "http://lapvo.dongthap.gov.vn/documents/1/0/a.jpg" in plan.by_url
    assert plan.found_by_site["lapvo.dongthap.gov.vn/web/hlv"] == 8


def test_a_redirect_repeating_its_own_urls_last_capture_is_read_once() -> None:
    """The plan's collapse: per URL as listed, adjacent in time, status and digest both; the
    first and the last of a run of repeats are read (a redirect's digest is its body's, not
    its Location's: the last shows a target that changed under an identical body)."""
    moved = ARTICLE.replace("4961961", "4961962")
    other = ARTICLE.replace("4961961", "4961963")
    plan = make_plan(
        [
            _found(ARTICLE, "20200101000000", "301", "E"),
            _found(ARTICLE, "20200115000000", "301", "E"),  # a repeat inside a run: not read
            _found(ARTICLE, "20200201000000", "301", "E"),  # the run's last: read
            _found(ARTICLE, "20200301000000", "302", "E"),  # another status
            _found(ARTICLE, "20200401000000", "200", "T"),
            _found(ARTICLE, "20200501000000", "302", "E"),  # not adjacent to the last 302
            _found(ARTICLE.replace("http:", "https:"), "20200601000000", "302", "E"),
            _found(moved, "20200101000000", "301", "E"),  # another URL: never collapsed
            _found(other, "20200101000000", "301", "-"),  # no digest: nothing to compare
            _found(other, "20200201000000", "301", "-"),
        ],
        [Scope.from_url(SITE)],
        done=set(),
        known_digests=lambda key: set(),
    )
    read = [(f.capture.url, f.capture.timestamp) for f in plan.redirects]
    assert read == [
        (ARTICLE, "20200101000000"),
        (moved, "20200101000000"),
        (other, "20200101000000"),
        (ARTICLE, "20200201000000"),
        (other, "20200201000000"),
        (ARTICLE, "20200301000000"),
        (ARTICLE, "20200501000000"),
        (ARTICLE.replace("http:", "https:"), "20200601000000"),
    ]
    assert plan.quirks["redirect-repeated"] == 1 and plan.quirks["redirect"] == 9


def test_only_one_urls_listing_is_collapsed_by_the_wayback_server() -> None:
    (source,) = resolve_archives(
        ["ia"], ia_url="http://ia.test", cc_index="", cc_data="", cc_crawls=[]
    )
    site = parse_qs(urlsplit(source.cdx_url("lapvo.dongthap.gov.vn/")).query)
    image = parse_qs(urlsplit(source.cdx_url(f"{SITE}/a.jpg", match="exact")).query)
    assert "collapse" not in site and site["matchType"] == ["prefix"]
    assert image["collapse"] == ["digest"]


def test_archive_names() -> None:
    sources = resolve_archives(
        ["ia", "cc", "http://127.0.0.1:8080/arch/", "ia"],
        ia_url="http://ia.test",
        cc_index="http://cc.test/{crawl}-index",
        cc_data="http://data.test",
        cc_crawls=["CC-MAIN-2024-10", "CC-MAIN-2024-18"],
    )
    assert [(s.name, s.flavour) for s in sources] == [
        ("ia", Flavour.WAYBACK),
        ("cc/CC-MAIN-2024-10", Flavour.COMMON_CRAWL),
        ("cc/CC-MAIN-2024-18", Flavour.COMMON_CRAWL),
        ("http://127.0.0.1:8080/arch", Flavour.PYWB),
    ]
    assert sources[0].capture_url(Capture(ARTICLE, "20220101000000")) == (
        f"http://ia.test/web/20220101000000id_/{ARTICLE}"
    )
    assert sources[1].cdx_endpoint == "http://cc.test/CC-MAIN-2024-10-index"
    assert (
        sources[3]
        .cdx_url(SITE, since="20220101000000")
        .startswith("http://127.0.0.1:8080/arch/cdx?url=http%3A%2F%2Flapvo")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lapvo", "--archive", "wayback"], "unknown archive 'wayback'"),
        (["lapvo", "--archive", "cc"], "--archive cc needs the crawls"),
        (
            ["lapvo", "--archive", "ia", "--from", "2024-13-01"],
            "recover: argument --from: '2024-13-01' is not a date",
        ),
        (["nowhere", "--archive", "ia"], "unknown target 'nowhere'"),
        (
            ["lapvo", "--archive", "ia", "--from", "2024-02-01", "--to", "2024-01-31"],
            "--from 2024-02-01 is after --to 2024-01-31",
        ),
    ],
)
def test_usage_errors_are_one_sentence(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli("recover", *args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith(("portal-archiver: ", "portal-archiver ")), result.stderr
    assert message in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_politeness_defaults_keep_the_project_middlewares() -> None:
    from scrapy.settings import Settings

    from crawler.spiders.recover import RecoverSpider

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    RecoverSpider.update_settings(settings)
    assert settings.getfloat("DOWNLOAD_DELAY") == 4.0
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares["crawler.middlewares.BackoffRetryMiddleware"] == 550
    assert middlewares["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert middlewares["crawler.recover.politeness.ArchivePacingMiddleware"] > 550
    assert middlewares["crawler.guard.RequestGuardMiddleware"] is None


def test_an_archive_that_refuses_connections_pauses_the_run(tmp_path: Path) -> None:
    from tests.replay_support import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    result = run_cli(
        "recover", "lapvo", "--archive", "ia", "--out", str(tmp_path),
        "-s", f"PORTAL_RECOVER_IA_URL={closed}", "-s", "DOWNLOAD_DELAY=0",
        "-s", "PORTAL_RETRY_BACKOFF_BASE=0", "-s", "PORTAL_RECOVER_PAUSE_SECONDS=0.5",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert "failed (connection-refused)" in result.stdout
    report = json.loads((tmp_path / "recover-report.json").read_text())
    assert report["politeness"]["pauses"] >= 1
    assert report["politeness"]["refusals"] >= 3


def test_an_index_in_pages_says_how_many() -> None:
    page = parse_cdx(b'{"pages": 7, "pageSize": 5, "blocks": 31}')
    assert page.pages == 7 and page.captures == []
    one_capture = json.dumps({"url": ARTICLE, "timestamp": "20220101000000", "pages": 3})
    assert parse_cdx(one_capture.encode()).pages is None  # a capture line, not a page count


def test_plan_keeps_to_the_date_window_whatever_the_archive_sent() -> None:
    plan = make_plan(
        [_found(ARTICLE, "20191231235959"), _found(ARTICLE, "20200615", digest="B")],
        [Scope.from_url(SITE)],
        done=set(),
        known_digests=lambda key: set(),
        window=("20200101000000", "20201231235959"),
    )
    assert [f.capture.timestamp for f in next(iter(plan.articles.values()))] == ["20200615"]
    assert plan.quirks == {"outside-dates": 1}


def test_without_a_wire_capture_the_head_comes_from_scrapy() -> None:
    from scrapy.http import HtmlResponse

    from crawler.spiders.recover import _head_of

    response = HtmlResponse(
        "http://archive.test/web/2020id_/http://site.test/",
        status=302,
        headers={"X-Archive-Orig-Location": "https://site.test/login", "Memento-Datetime": "x"},
        body=b"",
    )
    split = split_headers(_head_of(response))
    assert split.status_line == "HTTP/1.1 302 Found"
    assert split.original == [("Location", "https://site.test/login")]


@pytest.mark.parametrize(
    ("url", "article"),
    [
        ("http://a.dongthap.gov.vn/Default.aspx?tabid=61&mid=385&ctl=Detail&ArticleId=1207", True),
        ("http://a.dongthap.gov.vn/tin-tuc/tabid/89/ArticleId/61961/slug.aspx", True),
        ("http://a.dongthap.gov.vn/tin/articleType/ArticleView/articleId/3318/x", True),
        ("https://a.dongthap.gov.vn/Pages/tin-tuc-su-kien.aspx?ItemID=835569", True),
        ("http://a.dongthap.gov.vn/tintuc_chitiet.asp?id=312", True),
        ("http://a.dongthap.gov.vn/Default.aspx?tabid=63", False),
        ("https://a.dongthap.gov.vn/Pages/tin-tuc-su-kien.aspx", False),
        ("https://a.dongthap.gov.vn/web/hlv/gioi-thieu", False),
    ],
)
def test_earlier_generations_article_pages_are_articles(url: str, article: bool) -> None:
    assert (recover_kind(url) is UrlKind.ARTICLE) is article


@pytest.mark.parametrize(
    ("memento", "archive_url"),
    [
        (
            "https://web.archive.org/web/20200101000000id_/http://a/x",
            "https://web.archive.org/web/",
        ),
        ("http://127.0.0.1:8080/arch/20200101000000id_/http://a/x", "http://127.0.0.1:8080/arch/"),
        (
            "https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-10/segments/1/warc/f.warc.gz"
            "#bytes=10-20",
            "https://data.commoncrawl.org/",
        ),
    ],
)
def test_the_item_archive_of_records_written_before_archive_url(
    memento: str, archive_url: str
) -> None:
    fields = {"archive": "ia", "memento": memento, "captured-at": "2020-01-01T00:00:00.000000Z"}
    assert item_archive(fields) == {
        "name": "ia",
        "url": archive_url,
        "memento": memento,
        "captured_at": "2020-01-01T00:00:00Z",
    }
    assert item_archive({"archive": "ia"}) is None


def test_a_run_of_repeated_redirects_at_the_listings_end_reads_its_last() -> None:
    captures = [_found(ARTICLE, f"2020{month:02d}01000000", "301", "E") for month in (1, 2, 3)]
    plan = make_plan(captures, [Scope.from_url(SITE)], done=set(), known_digests=lambda key: set())
    read = [f.capture.timestamp for f in plan.redirects]
    assert read == ["20200101000000", "20200301000000"]
    assert plan.quirks["redirect-repeated"] == 1


@pytest.mark.parametrize("damage", ["not a database", "malformed"])
def test_a_damaged_recovery_log_is_one_sentence_and_its_way_out(
    tmp_path: Path, damage: str
) -> None:
    """DIR/recover.sqlite damaged (a disk, a copy cut short): the run is refused before it
    reads anything, naming the file and what to do; the collection is left as it was."""
    out = tmp_path / "out"
    log = out / "recover.sqlite"
    out.mkdir()
    if damage == "not a database":
        log.write_bytes(b"\x00garbage" * 512)
    else:  # a valid header, pages of nothing: SQLite finds it out on its first query
        db = sqlite3.connect(log)
        db.executescript("CREATE TABLE t (x); INSERT INTO t VALUES (randomblob(100000));")
        db.close()
        data = bytearray(log.read_bytes())
        data[4096:] = b"\xff" * (len(data) - 4096)
        log.write_bytes(bytes(data))
    before = log.read_bytes()
    # An archive at a closed port of this machine: nothing is ever asked of it.
    archive = "http://127.0.0.1:9/arch"
    result = run_cli("recover", "lapvo", "--archive", archive, "--out", str(out))
    assert result.returncode == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"portal-archiver: {log}: "), result.stderr
    assert f"Move it aside (mv {log} {log}.damaged) and run the command again" in first
    assert "Traceback" not in result.stderr
    assert log.read_bytes() == before


@pytest.mark.parametrize(
    "url", ["http://x.gov.vn:80x/a", "http://x.gov.vn:99999/a", "http://[x.gov.vn/a"]
)
def test_a_row_whose_url_urllib_refuses_is_no_row(url: str) -> None:
    """Found by the WARC mutation hunt, for extract: a URL with a port of words (or an
    unclosed IPv6 host) raised ValueError out of whatever asked for its host. Such a row
    names nothing that could be fetched or keyed: it is skipped and counted."""
    header = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    good = ["vn,gov,x)/a", "20200101000000", "http://x.gov.vn/a", "text/html", "200", "A", "5"]
    page = parse_cdx(json.dumps([header, [*good[:2], url, *good[3:]], good]).encode())
    assert [capture.url for capture in page.captures] == ["http://x.gov.vn/a"]
    assert page.skipped == 1
