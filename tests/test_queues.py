"""The request disk queue stores what Scrapy's would, and reads back the same requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import scrapy.http.request
from scrapy import FormRequest, Request
from scrapy.http.request import NO_CALLBACK
from scrapy.squeues import PickleFifoDiskQueue
from scrapy.utils.test import get_crawler

from crawler.queues import RequestDiskQueue, request_to_dict
from crawler.spiders.portal import PortalSpider

URL = "https://lapvo.dongthap.gov.vn/web/hlv/tin-tuc?plidlayout=5101&_x_cur=2"


@pytest.fixture
def crawler() -> Any:
    crawler = get_crawler(PortalSpider)
    crawler.spider = PortalSpider.from_crawler(crawler, targets="lapvo")
    return crawler


def _requests(spider: PortalSpider) -> list[Request]:
    return [
        Request(URL, callback=spider.parse_listing, errback=spider.on_failure, priority=20),
        Request(
            URL,
            callback=spider.parse_article,
            meta={"listing": {"date": "2025-06-27", "section": "Tin tức"}},
            cb_kwargs={"depth": 2},
            headers={"If-None-Match": '"abc"', "Accept": ["a", "b"]},
            cookies={"GUEST_LANGUAGE_ID": "vi_VN"},
            dont_filter=True,
            flags=["retried"],
        ),
        Request(URL),
        Request(URL, callback=spider.parse_requisite),  # inherited from the base spider
        FormRequest(URL, formdata={"q": "Lấp Vò"}, callback=spider.parse_home),
    ]


def test_the_dict_is_the_one_scrapy_makes(crawler: Any) -> None:
    spider = crawler.spider
    for request in _requests(spider):
        assert request_to_dict(request, spider) == request.to_dict(spider=spider)


def test_spider_methods_are_named_without_scrapys_search(
    crawler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_search(*args: object) -> str:
        raise AssertionError("Scrapy's member search was used")

    expected = [request.to_dict(spider=crawler.spider) for request in _requests(crawler.spider)]
    monkeypatch.setattr(scrapy.http.request, "_find_method", no_search)
    got = [request_to_dict(request, crawler.spider) for request in _requests(crawler.spider)]
    assert got == expected


def test_callbacks_that_are_not_spider_methods_get_scrapys_answer(crawler: Any) -> None:
    other = PortalSpider.from_crawler(get_crawler(PortalSpider), targets="lapvo")
    # Scrapy's scheduler keeps what cannot be named in memory instead.
    for callback in (lambda response: None, print, NO_CALLBACK):
        with pytest.raises(ValueError, match="not an instance method"):
            request_to_dict(Request(URL, callback=callback), crawler.spider)
    # Another spider's method is left to Scrapy, which finds the function on this one.
    request = Request(URL, callback=other.parse_article)
    expected = request.to_dict(spider=crawler.spider)
    assert request_to_dict(request, crawler.spider) == expected


@pytest.mark.parametrize("reader", [RequestDiskQueue, PickleFifoDiskQueue])
def test_requests_read_back_after_a_restart(
    crawler: Any, tmp_path: Path, reader: type[PickleFifoDiskQueue]
) -> None:
    spider = crawler.spider
    queue = RequestDiskQueue.from_crawler(crawler, str(tmp_path / "q"))
    for request in _requests(spider):
        queue.push(request)
    queue.close()
    queue = reader.from_crawler(crawler, str(tmp_path / "q"))
    for sent in _requests(spider):
        got = queue.pop()
        assert got is not None
        assert got.to_dict(spider=spider) == sent.to_dict(spider=spider)
        assert type(got) is type(sent)
    assert queue.pop() is None
    queue.close()


def _numbered(spider: PortalSpider, count: int) -> list[Request]:
    return [Request(f"{URL}&n={n}", callback=spider.parse_article) for n in range(count)]


def test_a_short_queue_never_touches_the_disk(crawler: Any, tmp_path: Path) -> None:
    queue = RequestDiskQueue(crawler.spider, str(tmp_path / "q"), in_memory=4)
    sent = _numbered(crawler.spider, 4)
    for request in sent:
        queue.push(request)
    assert len(queue) == 4 and queue.peek() is sent[0]
    assert [queue.pop() for _ in sent] == sent  # the very objects, as a memory queue gives
    assert queue.pop() is None and not queue
    queue.close()
    assert not (tmp_path / "q").exists()


def test_order_is_first_in_first_out_across_the_disk(crawler: Any, tmp_path: Path) -> None:
    queue = RequestDiskQueue(crawler.spider, str(tmp_path / "q"), in_memory=3)
    sent = _numbered(crawler.spider, 20)
    got = []
    for n, request in enumerate(sent):
        queue.push(request)
        if n % 3 == 2:  # the queue grows past what stays in memory, then drains
            got.append(queue.pop())
    assert (tmp_path / "q").exists()
    while queue:
        got.append(queue.pop())
    assert [request.url for request in got] == [request.url for request in sent]
    queue.close()


def test_closing_keeps_the_order_for_scrapys_reader(crawler: Any, tmp_path: Path) -> None:
    queue = RequestDiskQueue(crawler.spider, str(tmp_path / "q"), in_memory=3)
    sent = _numbered(crawler.spider, 5)  # three on disk, two in memory
    for request in sent:
        queue.push(request)
    queue.close()
    reader = PickleFifoDiskQueue.from_crawler(crawler, str(tmp_path / "q"))
    assert [reader.pop().url for _ in sent] == [request.url for request in sent]
    reader.close()


def test_unserializable_requests_are_refused_at_once(crawler: Any, tmp_path: Path) -> None:
    # Scrapy's scheduler then keeps them in its memory queue: nothing is lost later.
    queue = RequestDiskQueue(crawler.spider, str(tmp_path / "q"), in_memory=3)
    with pytest.raises(ValueError):
        queue.push(Request(URL, callback=lambda response: None))
    with pytest.raises(ValueError):
        queue.push(Request(URL, callback=crawler.spider.parse_article, meta={"f": lambda: 0}))
    assert len(queue) == 0
