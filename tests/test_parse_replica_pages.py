"""The article parser over the live replica: every article page gives its item, the one served
with broken markup too, and no other page does (home pages, listings, menu pages): issue 18's
``fetch`` of a listing titled "Tin tức" came from here."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from crawler.parsers.article import parse_article
from crawler.parsers.listing import navigation_links
from crawler.parsers.page import Page
from replica.catalog import Catalog
from replica.render import CUR, Renderer
from tests.replica_process import ReplicaHandle, running_replica

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def replica() -> Iterator[ReplicaHandle]:
    with running_replica("--articles", "40", "--broken-html") as handle:
        yield handle


def _page(url: str) -> Page:
    with _OPENER.open(url, timeout=30) as response:
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Page(response.url, response.read(), headers)


def test_every_article_of_the_replica_gives_its_item(replica: ReplicaHandle) -> None:
    manifest = replica.manifest()
    soft = set(manifest["soft404"])
    articles = [a for a in manifest["articles"] if a["url"] not in soft]
    assert len(articles) >= 40
    titles = {}
    for article in articles:
        result = parse_article(_page(article["url"]))
        titles[article["url"]] = result.content.title if result.content else result.reason
    assert titles == {article["url"]: article["title"] for article in articles}


def test_home_listing_and_menu_pages_give_no_item(replica: ReplicaHandle) -> None:
    manifest = replica.manifest()
    homes = [replica.url, f"{replica.url}web/hlv", f"{replica.url}web/tpsd"]
    listings = [url for site in manifest["listings"].values() for url in site.values()]
    pages = [*homes, *listings]
    for home in homes:
        pages += navigation_links(_page(home))
    pages = [url for url in dict.fromkeys(pages) if "tim-kiem" not in url]
    assert len(pages) >= 10
    reasons = {url: parse_article(_page(url)).reason for url in pages}
    assert {url: reason for url, reason in reasons.items() if reason != "not-article"} == {}


def test_the_broken_article_gives_what_it_gives_whole(replica: ReplicaHandle) -> None:
    broken = next(a for a in replica.manifest()["articles"] if a["broken"])
    served = parse_article(_page(broken["url"])).content
    catalog = Catalog(40)
    article = next(
        a for a in catalog.articles.values() if replica.url + a.path[1:] == broken["url"]
    )
    html = Renderer(catalog, replica.url.rstrip("/")).article(article)
    # The server puts the requested URL in the page's redirect= links.
    whole = parse_article(Page(broken["url"], html.replace(CUR, "x").encode())).content
    assert served is not None and whole is not None and whole.paragraphs
    assert served == whole
