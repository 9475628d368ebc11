import pytest

from crawler.urls import (
    Scope,
    UrlKind,
    article_key,
    asset_id,
    canonicalize,
    classify,
    clean,
    forbidden_reason,
    in_scope,
    page_number,
    plidlayout,
    site_of,
)

HLV = "https://lapvo.dongthap.gov.vn/web/hlv"
ARTICLE = f"{HLV}/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"
PORTLET = "com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_INSTANCE_Lv8nTs01aQwe"
PAGING = (
    f"{HLV}/tin-tuc?p_p_id={PORTLET}&p_p_lifecycle=0&p_p_state=normal&p_p_mode=view"
    f"&_{PORTLET}_delta=20&p_r_p_resetCur=false&_{PORTLET}_cur={{page}}&plidlayout=5101"
)

ARTICLE_VARIANTS = [
    ARTICLE,
    f"{ARTICLE}?plidlayout=5101",
    f"{ARTICLE};jsessionid=0A1B2C3D?plidlayout=5101",
    f"{ARTICLE}/maximized",
    f"{ARTICLE}/pop_up?p_p_state=pop_up",
    f"{ARTICLE}/normal#top",
    "https://LAPVO.dongthap.gov.vn:443/vi/web/hlv/chi-tiet-bai-viet/-/asset_publisher/"
    "1mOzUrGkrdAE/content/id/4961961",
    f"{ARTICLE}?redirect=https%3A%2F%2Flapvo.dongthap.gov.vn%2Fweb%2Fhlv%3Fredirect%3Dx"
    "&inheritRedirect=true",
    f"{ARTICLE}?_{PORTLET}_viewMode=print&p_p_col_id=column-1&p_p_col_count=2",
    f"{ARTICLE}?_{PORTLET}_redirect=https%3A%2F%2Fx&p_p_lifecycle=0&p_p_mode=view",
]


@pytest.mark.parametrize("url", ARTICLE_VARIANTS)
def test_article_variants_share_one_canonical_url(url: str) -> None:
    assert canonicalize(url) == ARTICLE


@pytest.mark.parametrize("url", [*ARTICLE_VARIANTS, PAGING.format(page=3), "HTTP://X:80/a?b=1&a=2"])
def test_canonicalize_and_clean_are_idempotent(url: str) -> None:
    assert canonicalize(canonicalize(url)) == canonicalize(url)
    assert clean(clean(url)) == clean(url)


def test_canonicalize_sorts_query_and_keeps_content_parameters() -> None:
    url = "http://127.0.0.1:8080/tin-tuc/chi-tiet?b=2&id=5&a=1"
    assert canonicalize(url) == "http://127.0.0.1:8080/tin-tuc/chi-tiet?a=1&b=2&id=5"


def test_default_port_dropped_other_port_kept() -> None:
    assert canonicalize("http://Example.org:80/x") == "http://example.org/x"
    assert canonicalize("http://example.org:8080/x") == "http://example.org:8080/x"


def test_clean_keeps_plidlayout_and_drops_noise() -> None:
    url = f"{ARTICLE};jsessionid=AB?plidlayout=5101&redirect=%2Fweb%2Fhlv&inheritRedirect=true"
    assert clean(url) == f"{ARTICLE}?plidlayout=5101"
    assert canonicalize(url) == ARTICLE


def test_paging_drops_page_size_and_defaults() -> None:
    assert clean(PAGING.format(page=3)) == (
        f"{HLV}/tin-tuc?_{PORTLET}_cur=3&p_p_id={PORTLET}&plidlayout=5101"
    )


def test_first_page_is_the_listing_itself() -> None:
    assert clean(PAGING.format(page=1)) == f"{HLV}/tin-tuc?plidlayout=5101"


def test_action_parameters_survive_cleaning() -> None:
    vote = f"{HLV}/tin-tuc?p_p_id=poll&p_p_lifecycle=1&_poll_choiceId=2"
    assert forbidden_reason(clean(vote)) == "action"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{ARTICLE}?plidlayout=5101", "4961961"),
        (f"{ARTICLE}/maximized", "4961961"),
        ("https://x.vn/chi-tiet-tin/-/view-article/1/12/345", "345"),
        ("https://x.vn/chi-tiet-tin/-/view-article/1/tin-hoat-dong/345/", "345"),
        ("https://dongthap.gov.vn/tin-tuc/chi-tiet?id=24950000", "24950000"),
        ("https://dongthap.gov.vn/web/snnptnt/tin-tuc/chi-tiet?id=7", "7"),
        ("https://dongthap.gov.vn/tin-tuc/chi-tiet?id=abc", None),
        (f"{HLV}/tin-tuc/-/asset_publisher/Xk3pQ9aLmN2b/content/khai-mac-le-hoi", None),
        (f"{HLV}/tin-tuc?plidlayout=5101", None),
        ("https://www.facebook.com/sharer/sharer.php?u=" + ARTICLE, None),
    ],
)
def test_asset_id(url: str, expected: str | None) -> None:
    assert asset_id(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (ARTICLE, "lapvo.dongthap.gov.vn/web/hlv"),
        ("https://lapvo.dongthap.gov.vn/vi/web/HLV/tin-tuc", "lapvo.dongthap.gov.vn/web/hlv"),
        ("https://dongthap.gov.vn/tin-tuc/chi-tiet?id=1", "dongthap.gov.vn"),
        ("http://127.0.0.1:8123/web/tpsd", "127.0.0.1:8123/web/tpsd"),
    ],
)
def test_site_of(url: str, expected: str) -> None:
    assert site_of(url) == expected


def test_article_key_uses_asset_id_or_canonical_url() -> None:
    assert article_key(f"{ARTICLE}/maximized?plidlayout=1") == "lapvo.dongthap.gov.vn#4961961"
    at_root = ARTICLE.replace("/web/hlv/", "/")
    assert article_key(at_root) == article_key(ARTICLE), "one article at the root and the site"
    by_title = f"{HLV}/tin-tuc/-/asset_publisher/Xk3pQ9aLmN2b/content/khai-mac?redirect=%2F"
    assert article_key(by_title) == canonicalize(by_title)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (ARTICLE, UrlKind.ARTICLE),
        (f"{HLV}/tin-tuc/-/asset_publisher/Xk3pQ9aLmN2b/content/khai-mac", UrlKind.ARTICLE),
        ("https://dongthap.gov.vn/tin-tuc/chi-tiet?id=9", UrlKind.ARTICLE),
        ("https://x.vn/chi-tiet-tin/-/view-article/1/12/345", UrlKind.ARTICLE),
        (f"{HLV}/tin-tuc?plidlayout=5101", UrlKind.LISTING),
        (f"{HLV}/thong-bao", UrlKind.LISTING),
        (PAGING.format(page=2), UrlKind.LISTING),
        (
            "https://lapvo.dongthap.gov.vn/documents/481930/0/a.jpg/uuid?t=1656574380000",
            UrlKind.DOCUMENT,
        ),
        (f"{HLV}/gioi-thieu", UrlKind.PAGE),
        (f"{HLV}/lich-cong-tac", UrlKind.FORBIDDEN),
    ],
)
def test_classify(url: str, kind: UrlKind) -> None:
    assert classify(url) is kind


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"{HLV}/tin-tuc?p_p_id=poll&p_p_lifecycle=1", "action"),
        (f"{HLV}/tin-tuc?p_p_id=x&p_p_lifecycle=2&p_p_resource_id=a", "resource"),
        (f"{HLV}/tin-tuc?p_p_state=pop_up", "popup"),
        (f"{HLV}/tin-tuc?p_p_state=exclusive", "exclusive"),
        (f"{HLV}/tin-tuc?p_p_mode=edit", "mode"),
        (f"{HLV}/tin-tuc?p_p_mode=config", "mode"),
        ("https://lapvo.dongthap.gov.vn/c/portal/login?p_l_id=1", "technical"),
        ("https://lapvo.dongthap.gov.vn/api/jsonws/invoke", "technical"),
        ("https://lapvo.dongthap.gov.vn/o/dongthap-theme/css/main.css", "technical"),
        ("https://lapvo.dongthap.gov.vn/combo?browserId=other&/o/a.js", "technical"),
        (f"{HLV}/lich-cong-tac?_cal_date=2022-06-30", "calendar"),
        (f"{HLV}/x?p_p_id=com_liferay_calendar_web_portlet_CalendarPortlet", "calendar"),
        (f"{HLV}/tim-kiem?q=lap+vo", "search"),
        (f"{HLV}/search?_x_keywords=a", "search"),
        (
            f"{HLV}/trang-chu?_com_liferay_portal_search_web_portlet_SearchPortlet_keywords=a",
            "search",
        ),
        (f"{HLV}/tin-tuc?redirect=" + "x" * 2000, "too-long"),
    ],
)
def test_forbidden_reason(url: str, reason: str) -> None:
    assert forbidden_reason(url) == reason


@pytest.mark.parametrize(
    "url",
    [
        ARTICLE,
        PAGING.format(page=2),
        f"{HLV}/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/lich-cong-tac-tuan-26",
        "https://lapvo.dongthap.gov.vn/combo-dich-vu",
        "https://lapvo.dongthap.gov.vn/documents/481930/0/a.jpg",
    ],
)
def test_allowed_urls(url: str) -> None:
    assert forbidden_reason(url) is None


def test_length_limit_is_a_parameter() -> None:
    assert forbidden_reason(ARTICLE, max_length=50) == "too-long"


def test_plidlayout_and_page_number() -> None:
    assert plidlayout(f"{ARTICLE}?plidlayout=5101") == "5101"
    assert plidlayout(ARTICLE) is None
    assert page_number(PAGING.format(page=7)) == 7
    assert page_number(f"{HLV}/tin-tuc?cur=3") == 3
    assert page_number(f"{HLV}/tin-tuc") is None


def test_scope_with_site_prefix() -> None:
    scope = Scope.from_url(f"{HLV}/tin-tuc?plidlayout=5101")
    assert scope == Scope("lapvo.dongthap.gov.vn", "/web/hlv")
    assert in_scope(ARTICLE, scope)
    assert in_scope("https://lapvo.dongthap.gov.vn/vi/web/hlv/thong-bao", scope)
    assert not in_scope("https://lapvo.dongthap.gov.vn/web/hlvx/thong-bao", scope)
    assert not in_scope("https://lapvo.dongthap.gov.vn/chi-tiet-bai-viet", scope)
    assert not in_scope("https://sadec.dongthap.gov.vn/web/hlv/thong-bao", scope)


@pytest.mark.parametrize(
    "seed",
    [
        "https://lapvo.dongthap.gov.vn//web/hlv",
        "https://lapvo.dongthap.gov.vn/web//hlv/",
        "https://lapvo.dongthap.gov.vn///vi//web/hlv/tin-tuc",
    ],
)
def test_a_doubled_slash_in_the_seed_keeps_the_site_prefix(seed: str) -> None:
    """``crawl ${PORTAL}/web/hlv`` with PORTAL ending in "/": the server reads ``//`` as ``/``
    (Tomcat merges them), but the scope missed the prefix and the crawl took the whole host,
    every other district's site with it."""
    scope = Scope.from_url(seed)
    assert scope == Scope("lapvo.dongthap.gov.vn", "/web/hlv")
    assert not in_scope("https://lapvo.dongthap.gov.vn/web/hcl/tin-tuc", scope)
    assert in_scope("https://lapvo.dongthap.gov.vn//web/hlv//tin-tuc", scope)
    # One page, one key, whichever way a link writes its path.
    assert canonicalize(ARTICLE.replace("/web/hlv", "//web//hlv")) == canonicalize(ARTICLE)


def test_scope_of_host_root_covers_the_host() -> None:
    scope = Scope.from_url("http://127.0.0.1:8123/")
    assert scope == Scope("127.0.0.1:8123", None)
    assert in_scope("http://127.0.0.1:8123/web/tpsd/tin-tuc", scope)
    assert not in_scope("http://127.0.0.1:8124/tin-tuc", scope)
