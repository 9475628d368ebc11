"""The article URLs of every generation of the portals, as ``recover`` reads them: which are
articles, and the one identity key of each (stable over the forms of one article, never shared
by two articles of other forms or hosts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.generations import earlier_article_key, history_key, recover_kind
from crawler.urls import UrlKind

GENERATIONS = Path(__file__).parent / "data" / "generations"


def _url(name: str) -> str:
    return json.loads((GENERATIONS / f"{name}.json").read_text(encoding="utf-8"))["url"]


def _article_pages() -> list[str]:
    names = sorted(path.stem for path in GENERATIONS.glob("[gs]*.json"))
    return [name for name in names if "reason" not in json.loads(
        (GENERATIONS / f"{name}.json").read_text(encoding="utf-8")
    )]  # fmt: skip


@pytest.mark.parametrize("name", _article_pages())
def test_every_golden_article_page_is_an_article(name: str) -> None:
    assert recover_kind(_url(name)) is UrlKind.ARTICLE, _url(name)


def test_the_golden_article_pages_have_distinct_keys() -> None:
    keys = [history_key(_url(name)) for name in _article_pages()]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("name", ["x04-dnn2008-listing", "x06-dnn2010-home", "x07-sp2013-listing"])
def test_listing_pages_of_earlier_generations_are_no_articles(name: str) -> None:
    assert recover_kind(_url(name)) is not UrlKind.ARTICLE


D = "http://a.dongthap.gov.vn"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # DotNetNuke: the listing links an article through another tab and in another order.
        (
            f"{D}/Default.aspx?tabid=61&mid=385&ctl=Detail&ArticleId=1207",
            f"{D}/Default.aspx?tabid=63&ctl=Detail&mid=385&ArticleId=1207",
        ),
        (f"{D}/tin-tuc/tabid/89/ArticleId/061961/slug.aspx", f"{D}/Default.aspx?articleid=61961"),
        (f"{D}/Default.aspx?tabid=55&ID=845", f"{D}/default.aspx?TabId=55&id=845&print=1"),
        (f"{D}/Default.aspx?tabid=55&ID=845", f"{D}/tin-tuc/tabid/55/ID/845/Default.aspx"),
        (f"{D}/tabid/55/ctl/Detail/mid/9/ID/845/Default.aspx", f"{D}/tabid/55/ID/845/x.aspx"),
        # SharePoint: the category parameter names the listing, not the item; IIS ignores case.
        (
            f"{D}/Pages/chi-tiet-tin.aspx?ItemID=5512&CateID=12",
            f"{D}/pages/Chi-Tiet-Tin.aspx?ItemID=5512",
        ),
        (f"{D}/snnptnt/Pages/TinTuc.aspx?ID=2291", f"{D}/snnptnt/Pages/TinTuc.aspx?id=2291&x=1"),
        (f"{D}/Lists/TinTuc/DispForm.aspx?ID=7", f"{D}/Lists/TinTuc/DispForm.aspx?ID=7&Source=x"),
        # Joomla: the query form, its SEF form, and an alias after the id.
        (
            f"{D}/index.php?option=com_content&view=article&id=125:huyen&catid=8&Itemid=101",
            f"{D}/tin-tuc/125-huyen-thap-muoi-tong-ket-nam-hoc.html",
        ),
        (
            f"{D}/index.php?option=com_content&task=view&id=125&Itemid=2",
            f"{D}/component/content/article/125-huyen-thap-muoi",
        ),
        # WordPress.
        (f"{D}/?p=4711", f"{D}/index.php?p=4711&amp=1"),
        (f"{D}/2019/01/25/hoi-thi-am-thuc/", f"{D}/2019/01/25/hoi-thi-am-thuc"),
    ],
)
def test_forms_of_one_article_share_a_key(one: str, other: str) -> None:
    assert recover_kind(one) is UrlKind.ARTICLE and recover_kind(other) is UrlKind.ARTICLE
    assert history_key(one) == history_key(other)
    assert history_key(one).startswith("a.dongthap.gov.vn#")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # The same number in other platforms' forms, other pages' lists, other hosts.
        (f"{D}/Default.aspx?tabid=61&ArticleId=125", f"{D}/tin-tuc/125-slug.html"),
        (f"{D}/Default.aspx?tabid=61&ArticleId=125", f"{D}/?p=125"),
        (f"{D}/Pages/tin-tuc.aspx?ItemID=77", f"{D}/Pages/thong-bao.aspx?ItemID=77"),
        (f"{D}/Default.aspx?tabid=55&ID=845", f"{D}/Default.aspx?tabid=56&ID=845"),
        (
            f"{D}/Default.aspx?tabid=61&ArticleId=125",
            "http://b.dongthap.gov.vn/?tabid=61&ArticleId=125",
        ),
        (f"{D}/?p=4711", f"{D}/web/hlv/-/asset_publisher/x/content/id/4711"),
        (f"{D}/tintuc_chitiet.asp?id=312", f"{D}/thongbao_chitiet.asp?id=312"),
    ],
)
def test_articles_of_other_forms_or_hosts_never_share_a_key(one: str, other: str) -> None:
    assert history_key(one) != history_key(other)


@pytest.mark.parametrize(
    "url",
    [
        f"{D}/Default.aspx?tabid=63",
        f"{D}/Default.aspx?tabid=63&currentpage=2",
        f"{D}/tin-tuc/tabid/55/Default.aspx",
        f"{D}/tin-tuc/tabid/55/mid/1/paged/2/Default.aspx",
        f"{D}/Pages/tin-tuc-su-kien.aspx?Page=2",
        f"{D}/index.php?option=com_content&view=category&id=8",
        f"{D}/index.php?option=com_content&view=article",
        f"{D}/2019/01/25/",
        f"{D}/2019/01/",
        f"{D}/?page_id=12",
        f"{D}/tin-tuc.html",
        f"{D}/images/2019/01/25/photo.jpg",
        f"{D}/2019/01/25/hoi-thi/feed/",
    ],
)
def test_listings_archives_and_files_are_no_articles(url: str) -> None:
    assert earlier_article_key(url) is None
    assert recover_kind(url) is not UrlKind.ARTICLE


def test_todays_articles_keep_the_crawl_keys() -> None:
    liferay = "https://lapvo.dongthap.gov.vn/web/hlv/-/asset_publisher/x/content/id/4961961"
    assert history_key(liferay) == "lapvo.dongthap.gov.vn#4961961"
    assert history_key(f"{D}/web/hlv/gioi-thieu") == f"{D}/web/hlv/gioi-thieu"
