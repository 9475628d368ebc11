from pathlib import Path

import pytest

from crawler.parsers.listing import (
    ListingEntry,
    article_links,
    navigation_links,
    parse_listing,
)
from crawler.parsers.page import Page

DATA = Path(__file__).parent / "data" / "listing"
HLV = "https://lapvo.dongthap.gov.vn/web/hlv"
PORTLET = "com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_INSTANCE_Lv8nTs01aQwe"
NEWS = f"{HLV}/tin-tuc?plidlayout=5101"


def _article(asset: int, plid: str = "?plidlayout=5101") -> str:
    return f"{HLV}/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/{asset}{plid}"


def _page(name: str, url: str) -> Page:
    return Page(url=url, body=(DATA / name).read_bytes(), headers={})


@pytest.fixture
def page_two() -> Page:
    return _page("news-p2.html", f"{NEWS}&p_p_id={PORTLET}&_{PORTLET}_cur=2")


def test_entries_are_the_listing_body_in_order(page_two: Page) -> None:
    assert parse_listing(page_two).entries == [
        ListingEntry(_article(7075499), "Lấp Vò tổng kết công tác năm 2022", "2022-06-30"),
        ListingEntry(
            _article(4961961),
            "Thường trực Huyện uỷ Lấp Vò làm việc Mặt trận Tổ quốc",
            "2022-06-29T16:30:00+07:00",
        ),
        ListingEntry(_article(4811310), "Hội nghị sơ kết 6 tháng", "2022-06-28"),
    ]


def test_paging_has_one_page_size(page_two: Page) -> None:
    listing = parse_listing(page_two)
    assert listing.page == 2
    # Items-per-page variants and the page-1 link all collapse into the listing itself.
    assert listing.pages == [
        NEWS,
        f"{HLV}/tin-tuc?_{PORTLET}_cur=3&p_p_id={PORTLET}&plidlayout=5101",
    ]


def test_section_is_the_portlet_title(page_two: Page) -> None:
    assert parse_listing(page_two).section == "Tin tức"


def test_out_of_range_page_reports_the_page_it_shows() -> None:
    listing = parse_listing(_page("news-last.html", f"{HLV}/tin-tuc?_{PORTLET}_cur=99"))
    assert listing.page == 3
    assert [entry.url for entry in listing.entries] == [_article(3000001)]
    # The widget's generic title names no section: the breadcrumb does.
    assert listing.section == "Tin tức"


def test_listing_without_portlets_or_paging() -> None:
    listing = parse_listing(_page("custom.html", "https://snnptnt.dongthap.gov.vn/tin-hoat-dong"))
    base = "https://snnptnt.dongthap.gov.vn/chi-tiet-tin/-/view-article/1/12"
    assert listing.entries == [
        ListingEntry(f"{base}/34567", "Ra quân diệt chuột bảo vệ lúa", "2022-06-30T15:30:00+07:00"),
        ListingEntry(f"{base}/34560", "Tập huấn kỹ thuật", "2022-06-29"),
    ]
    assert (listing.page, listing.pages, listing.section) == (None, [], "Tin hoạt động")


def test_page_without_articles() -> None:
    page = Page(
        url=f"{HLV}/gioi-thieu", body=b"<html><body><p>Gi\xe1\xbb\x9bi thi\xe1\xbb\x87u</p>"
    )
    listing = parse_listing(page)
    assert (listing.entries, listing.page, listing.pages) == ([], None, [])


def test_navigation_links_skip_traps_articles_and_files() -> None:
    page = _page("home.html", HLV)
    assert navigation_links(page) == [
        f"{HLV}/trang-chu",
        NEWS,
        f"{HLV}/tin-tuc/kinh-te?plidlayout=5102",
        f"{HLV}/thong-bao",
        "https://dichvucong.gov.vn/",
    ]


def test_article_links_include_sidebars_once_each(page_two: Page) -> None:
    assert article_links(page_two) == [
        _article(7075499),
        _article(4961961),
        _article(4811310),
        _article(19261708),
        _article(17835569),
        "https://sadec.dongthap.gov.vn/web/tpsd/chi-tiet-bai-viet/-/asset_publisher/"
        "1mOzUrGkrdAE/content/id/19419672?plidlayout=5210",
    ]


def test_article_links_are_cleaned_and_deduplicated_by_asset() -> None:
    assert article_links(_page("home.html", HLV)) == [
        _article(19261708, plid=""),
        _article(7075499),
        f"{HLV}/tin-tuc/-/asset_publisher/Xk3pQ9aLmN2b/content/khai-mac-le-hoi",
    ]


def test_relative_links_follow_the_base_element() -> None:
    body = (
        b'<html><head><base href="https://dongthap.gov.vn/web/snnptnt/"></head><body>'
        b'<a href="tin-tuc/chi-tiet?id=42&amp;redirect=%2F">A</a></body></html>'
    )
    page = Page(url="https://dongthap.gov.vn/x/y", body=body)
    assert article_links(page) == ["https://dongthap.gov.vn/web/snnptnt/tin-tuc/chi-tiet?id=42"]


def test_article_links_are_told_by_their_path_not_their_query() -> None:
    base = "https://dongthap.gov.vn/web/hlv"
    hrefs = (
        f"{base}/share?u={base}/-/asset_publisher/X/content/id/1",  # a share button
        f"{base}/tin-tuc/chi-tiet?id=2",
        f"{base}/tin-tuc/-/asset_publisher/X/content/id/3?redirect=/content/x",
        f"{base}/lien-he",
    )
    anchors = "".join(f'<a href="{href}">x</a>' for href in hrefs).encode()
    page = Page(url=f"{base}/trang-chu", body=b"<html><body>" + anchors + b"</body></html>")
    assert article_links(page) == [
        f"{base}/tin-tuc/chi-tiet?id=2",
        f"{base}/tin-tuc/-/asset_publisher/X/content/id/3",
    ]


@pytest.mark.parametrize("base", ["", '<base href="http://[::1/">'])
def test_links_no_browser_could_follow_are_passed_over(base: str) -> None:
    """Found by fuzzing: an href urlsplit refuses (an unclosed IPv6 host, a port of words)
    raised out of the listing parser, and the listing's other links were lost with it. The
    page reads as it does without them (a base no browser could use is no base)."""
    bad = (
        '<a href="http://[::1/tin-tuc">bad host</a>'
        '<a href="https://lapvo.dongthap.gov.vn: các xã/tin-tuc">bad port</a>'
    )
    listing = (DATA / "news-p2.html").read_text(encoding="utf-8")
    url = f"{NEWS}&p_p_id={PORTLET}&_{PORTLET}_cur=2"
    clean = Page(url=url, body=listing.encode())
    damaged = Page(
        url=url,
        body=listing.replace("<head>", f"<head>{base}", 1)
        .replace("<body>", f"<body>{bad}", 1)
        .encode(),
    )
    assert article_links(damaged) == article_links(clean)
    assert navigation_links(damaged) == navigation_links(clean)
    assert parse_listing(damaged) == parse_listing(clean)


def test_a_paging_parameter_xpath_cannot_hold_is_passed_over() -> None:
    """Found by fuzzing: a paging link whose portlet id holds a control character (``%07``)
    was handed to XPath, which refuses such strings, and the listing was lost."""
    listing = (DATA / "news-p2.html").read_text(encoding="utf-8")
    url = f"{NEWS}&p_p_id={PORTLET}&_{PORTLET}_cur=2"
    odd = f'<a href="{NEWS}&amp;_%07x_cur=3">3</a>'
    clean = Page(url=url, body=listing.encode())
    damaged = Page(url=url, body=listing.replace("<body>", f"<body>{odd}", 1).encode())
    assert parse_listing(damaged).entries == parse_listing(clean).entries
