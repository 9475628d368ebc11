"""Stats a component counts on every page, handed to Scrapy's collector in batches.

Each call to the collector costs more than the count it records (Scrapy 2.19 wraps every
method of the collector to warn about a deprecated argument), and the archive counts
several things per page. Nothing reads these figures more often than the progress line (once
a second at most) and the report (at close, after :meth:`Counts.publish`): so they are
published at most once an ``interval`` and whole when the component closes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector


class Counts:
    """Counters published to ``stats`` with the ``values`` of the moment (set, not added)."""

    def __init__(
        self,
        stats: StatsCollector,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        values: Callable[[], Mapping[str, Any]] = dict,
    ) -> None:
        self._stats = stats
        self._interval = interval
        self._clock = clock
        self._values = values
        self._pending: dict[str, int] = {}
        self._due = clock() + interval

    def inc(self, key: str, count: int = 1) -> None:
        self._pending[key] = self._pending.get(key, 0) + count
        if self._clock() >= self._due:
            self.publish()

    def publish(self) -> None:
        """Hand everything counted so far to the collector."""
        for key, count in self._pending.items():
            self._stats.inc_value(key, count)
        self._pending.clear()
        for key, value in self._values().items():
            self._stats.set_value(key, value)
        self._due = self._clock() + self._interval
