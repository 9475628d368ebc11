import logging

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler

from crawler.guard import ArticleFingerprinter, RequestGuardMiddleware
from crawler.spiders.portal import PortalSpider

HLV = "https://lapvo.dongthap.gov.vn/web/hlv"
ARTICLE = f"{HLV}/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"
VOTE = f"{HLV}/tin-tuc?p_p_id=poll&p_p_lifecycle=1&_poll_choiceId="


@pytest.fixture
def crawler() -> Crawler:
    crawler = get_crawler(settings_dict={"PORTAL_MAX_URL_LENGTH": 300})
    crawler.stats.open_spider()
    return crawler


@pytest.fixture
def guard(crawler: Crawler) -> RequestGuardMiddleware:
    return RequestGuardMiddleware.from_crawler(crawler)


def test_allowed_requests_pass(guard: RequestGuardMiddleware) -> None:
    assert guard.process_request(Request(f"{ARTICLE}?plidlayout=5101")) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (VOTE + "1", "action"),
        (f"{HLV}/lich-cong-tac?_cal_date=2022-07-01", "calendar"),
        ("https://lapvo.dongthap.gov.vn/c/portal/login", "technical"),
        (f"{ARTICLE}?redirect=" + "x" * 300, "too-long"),
    ],
)
def test_forbidden_requests_are_dropped_and_counted(
    crawler: Crawler, guard: RequestGuardMiddleware, url: str, reason: str
) -> None:
    with pytest.raises(IgnoreRequest):
        guard.process_request(Request(url))
    assert crawler.stats.get_value(f"guard/dropped/{reason}") == 1


def test_each_reason_is_logged_once(
    crawler: Crawler, guard: RequestGuardMiddleware, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crawler.guard")
    for choice in range(3):
        with pytest.raises(IgnoreRequest):
            guard.process_request(Request(VOTE + str(choice)))
    assert crawler.stats.get_value("guard/dropped/action") == 3
    assert len([r for r in caplog.records if "action" in r.getMessage()]) == 1


@pytest.fixture
def fingerprinter(crawler: Crawler) -> ArticleFingerprinter:
    return ArticleFingerprinter.from_crawler(crawler)


def _fp(fingerprinter: ArticleFingerprinter, url: str, **kwargs: object) -> bytes:
    return fingerprinter.fingerprint(Request(url, **kwargs))


def test_article_variants_have_one_fingerprint(fingerprinter: ArticleFingerprinter) -> None:
    variants = [
        ARTICLE,
        f"{ARTICLE}?plidlayout=5101",
        f"{ARTICLE}/maximized;jsessionid=AB12?redirect=%2Fweb%2Fhlv",
        ARTICLE.replace("https://", "http://"),
        ARTICLE.replace("/web/", "/vi/web/"),
    ]
    assert len({_fp(fingerprinter, url) for url in variants}) == 1


def test_different_articles_and_sites_differ(fingerprinter: ArticleFingerprinter) -> None:
    other_asset = ARTICLE.replace("4961961", "4961962")
    other_host = ARTICLE.replace("lapvo.", "sadec.")
    prints = {_fp(fingerprinter, url) for url in (ARTICLE, other_asset, other_host)}
    assert len(prints) == 3


def test_an_article_at_the_host_root_and_under_its_site_is_one(
    fingerprinter: ArticleFingerprinter,
) -> None:
    # Asset entry ids are one sequence for every site of the installation (shared/PORTAL.md).
    assert _fp(fingerprinter, ARTICLE) == _fp(fingerprinter, ARTICLE.replace("/web/hlv/", "/"))


def test_pages_fingerprint_their_canonical_url(fingerprinter: ArticleFingerprinter) -> None:
    portlet = "P"
    paged = f"{HLV}/tin-tuc?p_p_id={portlet}&_{portlet}_cur=2"
    assert _fp(fingerprinter, f"{paged}&_{portlet}_delta=40&plidlayout=5101") == _fp(
        fingerprinter, paged
    )
    assert _fp(fingerprinter, paged) != _fp(fingerprinter, paged.replace("cur=2", "cur=3"))


def test_method_and_body_count_for_non_get(fingerprinter: ArticleFingerprinter) -> None:
    get = _fp(fingerprinter, f"{HLV}/tin-tuc")
    post_a = _fp(fingerprinter, f"{HLV}/tin-tuc", method="POST", body=b"a=1")
    post_b = _fp(fingerprinter, f"{HLV}/tin-tuc", method="POST", body=b"a=2")
    assert len({get, post_a, post_b}) == 3


@pytest.mark.parametrize(
    "url", ["file:///etc/hostname", "ftp://lapvo.dongthap.gov.vn/a.pdf", "s3://b/k", "data:,x"]
)
def test_only_http_and_https_are_requested(
    crawler: Crawler, guard: RequestGuardMiddleware, url: str
) -> None:
    with pytest.raises(IgnoreRequest):
        guard.process_request(Request(url, meta={"requisite": True}))
    assert crawler.stats.get_value("guard/dropped/scheme") == 1


@pytest.fixture
def scoped(crawler: Crawler) -> RequestGuardMiddleware:
    crawler.spider = PortalSpider.from_crawler(crawler, targets=HLV)
    return RequestGuardMiddleware.from_crawler(crawler)


def _redirected(url: str, origin: str, **meta: object) -> Request:
    return Request(url, meta={"redirect_urls": [origin], **meta})


@pytest.mark.parametrize(
    "request_",
    [
        Request("https://example.org/web/hlv/tin-tuc"),
        _redirected("https://example.org/", ARTICLE),
        _redirected(
            "https://cdn.example.org/a.jpg", "https://img.example.net/a.jpg", requisite=True
        ),
    ],
    ids=["other-host", "redirect-away", "requisite-redirect-away"],
)
def test_out_of_scope_requests_are_refused(
    crawler: Crawler, scoped: RequestGuardMiddleware, request_: Request
) -> None:
    with pytest.raises(IgnoreRequest):
        scoped.process_request(request_)
    assert crawler.stats.get_value("guard/dropped/out-of-scope") == 1


@pytest.mark.parametrize(
    "request_",
    [
        Request(ARTICLE.replace("https:", "http:")),
        _redirected(f"{ARTICLE};jsessionid=1", ARTICLE),
        Request("https://img.example.net/a.jpg", meta={"requisite": True}),
        _redirected(
            "https://img.example.net/b.jpg", "https://img.example.net/a.jpg", requisite=True
        ),
        Request("https://img.example.net/robots.txt"),
    ],
    ids=["http", "redirect-same", "requisite", "requisite-same-host", "robots"],
)
def test_the_scope_holds_targets_requisites_and_robots(
    scoped: RequestGuardMiddleware, request_: Request
) -> None:
    assert scoped.process_request(request_) is None
