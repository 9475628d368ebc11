"""Once per crawl, even across a kill and a rerun.

Scrapy's ``requests.seen`` marks a request done when it is *scheduled*, so requests in
flight when the process dies are never fetched on resume. Here fingerprints live in
memory only, and what makes a rerun skip an article is the collection itself: an
article stored or found unchanged since the current crawl began is done; anything
else, in flight at the kill included, is fetched when the rerun meets it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from scrapy.dupefilters import RFPDupeFilter

from crawler.archiving import archive_of

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
        if super().request_seen(request):
            return True
        archive = archive_of(self.crawler)
        if archive is not None and archive.done_by_earlier_run(request.url):
            self.crawler.stats.inc_value("archive/skipped_done_in_this_crawl")
            return True
        return False
