"""Counts reach Scrapy's stats collector at most once an interval, and whole when asked."""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler.counts import Counts


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counts_are_published_once_an_interval_then_at_close() -> None:
    stats = MemoryStatsCollector(get_crawler())
    clock = Clock()
    written = [0]
    counts = Counts(stats, interval=1.0, clock=clock, values=lambda: {"bytes": written[0]})
    counts.inc("pages", 2)
    counts.inc("pages")
    written[0] = 10
    assert stats.get_stats() == {}
    clock.now += 1.0
    counts.inc("items")
    assert stats.get_stats() == {"pages": 3, "items": 1, "bytes": 10}
    counts.inc("pages")
    written[0] = 20
    counts.publish()
    assert stats.get_stats() == {"pages": 4, "items": 1, "bytes": 20}
    counts.publish()  # nothing new: the same figures
    assert stats.get_stats() == {"pages": 4, "items": 1, "bytes": 20}
