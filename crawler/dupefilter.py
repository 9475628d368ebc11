"""Once per crawl, even across a kill and a rerun: the frontier decides.

Scrapy's ``requests.seen`` marks a request done when it is *scheduled*, so requests in
flight when the process dies would never be fetched on resume. With a collection, the
crawl's frontier (``crawler.frontier``, in the collection state) admits or refuses each
request in the scheduler, and this filter lets everything through; without one (a spider
run with no ``ARCHIVE_DIR``) it is Scrapy's in-memory filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from scrapy.dupefilters import RFPDupeFilter

from crawler.frontier import frontier_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler


class ResumableDupeFilter(RFPDupeFilter):
    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        dupefilter = cls(
            None,  # never a requests.seen file: see the module docstring
            crawler.settings.getbool("DUPEFILTER_DEBUG"),
            fingerprinter=crawler.request_fingerprinter,
        )
        dupefilter.crawler = crawler
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        if frontier_of(self.crawler) is not None:
            return False  # admitted by the frontier (see FrontierScheduler)
        return super().request_seen(request)
