import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DontCloseSpider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.spiders.portal import ARTICLE_PRIORITY, LISTING_PRIORITY, PortalSpider
from crawler.urls import UrlKind, article_key, classify
from tests.replica_process import ReplicaHandle, running_replica

DATA = Path(__file__).parent / "data" / "listing"
HLV = "https://lapvo.dongthap.gov.vn/web/hlv"
PORTLET = "com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_INSTANCE_Lv8nTs01aQwe"
NEWS = f"{HLV}/tin-tuc?plidlayout=5101"
PAGE_TWO = f"{HLV}/tin-tuc?_{PORTLET}_cur=2&p_p_id={PORTLET}&plidlayout=5101"
PAGE_THREE = PAGE_TWO.replace("cur=2", "cur=3")


def _article(asset: int) -> str:
    return (
        f"{HLV}/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/{asset}?plidlayout=5101"
    )


class FakeEngine:
    """Collects what the spider injects when idle."""

    def __init__(self) -> None:
        self.crawled: list[Request] = []

    def crawl(self, request: Request) -> None:
        self.crawled.append(request)


def make_spider(**kwargs: Any) -> PortalSpider:
    crawler = get_crawler(PortalSpider)
    spider = PortalSpider.from_crawler(crawler, **{"targets": "lapvo", **kwargs})
    crawler.spider = spider
    crawler.engine = FakeEngine()  # type: ignore[assignment]
    crawler.stats.open_spider()
    return spider


def response(name: str, url: str, meta: dict[str, Any] | None = None) -> HtmlResponse:
    request = Request(url, meta=meta or {})
    body = (DATA / name).read_bytes()
    return HtmlResponse(url=url, body=body, encoding="utf-8", request=request)


def requests(results: Iterable[Any]) -> list[Request]:
    return [result for result in results if isinstance(result, Request)]


def start_requests(spider: PortalSpider) -> list[Request]:
    async def collect() -> list[Request]:
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def stat(spider: PortalSpider, name: str) -> Any:
    return spider.crawler.stats.get_value(name)


def test_profile_target_starts_at_home_and_known_listings() -> None:
    spider = make_spider()
    started = start_requests(spider)
    assert [(r.url, r.callback.__name__) for r in started] == [
        (HLV, "parse_home"),
        (f"{HLV}/tin-tuc", "parse_listing"),
        (f"{HLV}/thong-bao", "parse_listing"),
    ]
    assert {r.priority for r in started} == {LISTING_PRIORITY}


def test_url_targets_are_cleaned_and_listings_recognised() -> None:
    spider = make_spider(targets=f"{NEWS}&redirect=%2Fweb, https://sadec.dongthap.gov.vn/web/tpsd")
    started = start_requests(spider)
    assert [(r.url, r.callback.__name__) for r in started] == [
        (NEWS, "parse_listing"),
        ("https://sadec.dongthap.gov.vn/web/tpsd", "parse_home"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"targets": ""}, "no targets"),
        ({"targets": "nowhere"}, "unknown target"),
        ({"since": "30/06/2022"}, "YYYY-MM-DD"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_spider(**kwargs)


def test_home_yields_listings_and_defers_its_articles() -> None:
    spider = make_spider()
    out = requests(spider.parse_home(response("home.html", HLV)))
    assert [r.url for r in out] == [
        f"{HLV}/trang-chu",
        NEWS,
        f"{HLV}/tin-tuc/kinh-te?plidlayout=5102",
        f"{HLV}/thong-bao",
    ]
    assert all(r.callback == spider.parse_listing for r in out)
    assert stat(spider, "portal/out_of_scope") == 1  # dichvucong.gov.vn
    assert len(spider.deferred) == 3


def test_listing_schedules_entries_with_context_then_the_next_page() -> None:
    spider = make_spider()
    out = requests(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    articles = [r for r in out if r.callback == spider.parse_article]
    assert [r.url for r in articles] == [_article(7075499), _article(4961961), _article(4811310)]
    assert articles[1].meta["listing"] == {
        "url": PAGE_TWO,
        "date": "2022-06-29T16:30:00+07:00",
        "section": "Tin tức",
    }
    assert {r.priority for r in articles} == {ARTICLE_PRIORITY} != {LISTING_PRIORITY}
    pages = [r for r in out if r.callback == spider.parse_listing]
    assert [(r.url, r.priority) for r in pages] == [(PAGE_THREE, LISTING_PRIORITY)]
    assert stat(spider, "portal/articles_scheduled") == 3
    assert stat(spider, "portal/listing_pages") == 1


def test_menu_page_without_paging_is_no_listing() -> None:
    spider = make_spider()
    assert requests(spider.parse_listing(response("home.html", f"{HLV}/gioi-thieu"))) == []
    assert len(spider.deferred) == 3
    assert stat(spider, "portal/other_pages") == 1


def test_sidebar_articles_wait_for_idle() -> None:
    spider = make_spider()
    list(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    # The sidebar's other site is out of scope; its copy of a listed article is not re-queued.
    assert sorted(spider.deferred.values()) == sorted([_article(19261708), _article(17835569)])
    with pytest.raises(DontCloseSpider):
        spider.on_idle()
    crawled = spider.crawler.engine.crawled
    assert {r.url for r in crawled} == {_article(19261708), _article(17835569)}
    assert all("listing" not in r.meta for r in crawled)
    spider.on_idle()  # nothing left: lets the spider close


def test_listing_claims_an_article_first_seen_outside_listings() -> None:
    spider = make_spider()
    list(spider.parse_home(response("home.html", HLV)))
    out = requests(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    claimed = next(r for r in out if r.url == _article(7075499))
    assert claimed.meta["listing"]["date"] == "2022-06-30"
    with pytest.raises(DontCloseSpider):
        spider.on_idle()
    assert _article(7075499) not in {r.url for r in spider.crawler.engine.crawled}


def test_repeated_page_ends_paging() -> None:
    spider = make_spider()
    list(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    # A page that repeats one already seen (as out-of-range pages do) ends the listing,
    # even though it still links a next page.
    again = requests(spider.parse_listing(response("news-p2.html", PAGE_THREE)))
    assert again == []
    assert stat(spider, "portal/stopped_exhausted") == 1


def test_since_skips_older_entries_and_stops_paging() -> None:
    spider = make_spider(since="2022-06-29")
    out = requests(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    assert [r.url for r in out] == [_article(7075499), _article(4961961)]
    assert stat(spider, "portal/stopped_since") == 1
    assert stat(spider, "portal/skipped_before_since") == 1
    assert spider.deferred == {}


def test_new_only_stops_at_a_page_of_known_articles() -> None:
    spider = make_spider(new_only="true")
    spider.is_known = lambda key: True  # type: ignore[method-assign]
    assert requests(spider.parse_listing(response("news-p2.html", PAGE_TWO))) == []
    assert stat(spider, "portal/stopped_known") == 1


def test_new_only_skips_known_articles_only() -> None:
    spider = make_spider(new_only="1")
    spider.is_known = lambda key: key.endswith("#7075499")  # type: ignore[method-assign]
    out = requests(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    assert [r.url for r in out] == [_article(4961961), _article(4811310), PAGE_THREE]


def test_max_articles_counts_scheduled_requests() -> None:
    spider = make_spider(max_articles="2")
    out = requests(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    assert [r.url for r in out] == [_article(7075499), _article(4961961)]
    assert stat(spider, "portal/stopped_max_articles") == 1
    spider.on_idle()  # deferred sidebar articles stay unscheduled
    assert spider.crawler.engine.crawled == []


def test_a_soft_404_does_not_count_toward_max_articles() -> None:
    spider = make_spider(max_articles="2")
    list(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    spider.article_items = lambda response, page: iter([])  # type: ignore[method-assign]
    list(spider.parse_article(response("news-last.html", _article(7075499))))  # soft 404
    with pytest.raises(DontCloseSpider):
        spider.on_idle()
    crawled = [r.url for r in spider.crawler.engine.crawled]
    assert crawled[0] == _article(4811310), "the next entry takes the soft 404's place"
    assert PAGE_THREE not in crawled, "the maximum is reached again: no more paging"


def test_article_pages_yield_items_and_defer_sidebar_links() -> None:
    spider = make_spider()
    item = {"title": "stand-in for ArticleItem"}
    spider.article_items = lambda response, page: iter([item])  # type: ignore[method-assign]
    out = list(spider.parse_article(response("news-last.html", _article(3000001))))
    assert out == [item]
    assert list(spider.deferred.values()) == [_article(3000001), _article(19261708)]


def test_host_wide_scope_visits_the_home_of_each_site_it_meets() -> None:
    spider = make_spider(targets="https://lapvo.dongthap.gov.vn/")
    out = requests(spider.parse_listing(response("news-p2.html", PAGE_TWO)))
    homes = [r for r in out if r.callback == spider.parse_home]
    assert [(r.url, r.priority) for r in homes] == [(HLV, LISTING_PRIORITY)]
    assert stat(spider, "portal/sites_discovered") == 1
    spider.article_items = lambda response, page: iter(())  # type: ignore[method-assign]
    assert requests(spider.parse_article(response("news-last.html", _article(3000001)))) == []


# Integration: a real crawl of the replica portal (python -m replica) on loopback. --------

CRAWL_SCRIPT = """
import json, sys
from scrapy.crawler import CrawlerProcess
from crawler.spiders.portal import PortalSpider

out = open(sys.argv[1], "w", encoding="utf-8")

class Recording(PortalSpider):
    def article_items(self, response, page):
        record = {"url": response.url, "listing": response.meta.get("listing")}
        out.write(json.dumps(record) + "\\n")
        return iter(())

process = CrawlerProcess({
    "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, "ROBOTSTXT_OBEY": True,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
    "DOWNLOADER_MIDDLEWARES": {"crawler.guard.RequestGuardMiddleware": 50},
    "REQUEST_FINGERPRINTER_CLASS": "crawler.guard.ArticleFingerprinter",
})
crawler = process.create_crawler(Recording)
process.crawl(crawler, **dict(arg.split("=", 1) for arg in sys.argv[2:]))
process.start()
stats = {k: v for k, v in crawler.stats.get_stats().items() if k.startswith(("portal/", "guard/"))}
out.write(json.dumps({"stats": stats}) + "\\n")
"""


@pytest.fixture(scope="module")
def replica() -> Iterator[ReplicaHandle]:
    with running_replica("--articles", "120") as handle:
        yield handle


def _crawl(
    replica: ReplicaHandle, tmp_path: Path, **args: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    replica.reset()
    out = tmp_path / "crawl.jsonl"
    argv = [f"{name}={value}" for name, value in args.items()]
    subprocess.run([sys.executable, "-c", CRAWL_SCRIPT, str(out), *argv], check=True, timeout=120)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return lines[:-1], lines[-1]["stats"]


def test_replica_site_crawl_finds_every_article_once(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    base = replica.url.rstrip("/")
    items, stats = _crawl(replica, tmp_path, targets=f"{base}/web/hlv")
    manifest, log = replica.manifest(), replica.requests()
    site = f"{base}/web/hlv/"
    listed = {article_key(a["url"]) for a in manifest["articles"] if a["url"].startswith(site)}
    missing = {article_key(url) for url in manifest["soft404"] if url.startswith(site)}
    requested = Counter(
        article_key(base + entry["target"])
        for entry in log["requests"]
        if classify(base + entry["target"]) is UrlKind.ARTICLE
    )
    assert set(requested) == listed | missing
    assert set(requested.values()) == {1}
    assert len(items) == len(requested)
    assert all(item["listing"] and item["listing"]["date"] for item in items)
    assert (log["actions"], log["disallowed"], log["calendar"]) == (0, 0, 0)
    assert max(len(entry["target"]) for entry in log["requests"]) < 300
    listing_pages = stats["portal/listing_pages"]
    assert log["count"] - len(requested) <= listing_pages + 8  # robots, home, menu pages


def test_replica_since_crawl_stops_early(replica: ReplicaHandle, tmp_path: Path) -> None:
    target = f"{replica.url}web/hlv"
    _crawl(replica, tmp_path, targets=target)
    full = replica.requests()["count"]
    manifest = replica.manifest()
    dates = [a["date"][:10] for a in manifest["articles"] if a["url"].startswith(target + "/")]
    since = dates[len(dates) // 4]  # newest first: a quarter of the site is newer
    items, stats = _crawl(replica, tmp_path, targets=target, since=since)
    assert stats["portal/stopped_since"] >= 1
    assert replica.requests()["count"] < full / 2
    assert items
    assert all(item["listing"]["date"][:10] >= since for item in items)
