"""Progress while a crawl runs, and the report at its end.

On a terminal: one live line (articles, requests, errors, rate). Elsewhere (cron,
systemd): a log line every ``PORTAL_PROGRESS_INTERVAL`` seconds. At the end the
summary is logged and written as JSON to ``{ARCHIVE_DIR}/report.json``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from twisted.internet import task

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def summarize(
    stats: dict[str, Any], elapsed: float, failures: list[dict[str, str]]
) -> dict[str, Any]:
    """The report: counts by kind, from the crawl's stats."""

    def group(prefix: str) -> dict[str, int]:
        return {k.removeprefix(prefix): v for k, v in sorted(stats.items()) if k.startswith(prefix)}

    return {
        "articles": stats.get("articles/archived", 0),
        "articles_unchanged": stats.get("articles/unchanged", 0),
        "articles_rejected": group("articles/rejected/"),
        "listing_pages": stats.get("portal/listing_pages", 0),
        "requests": stats.get("downloader/request_count", 0),
        "requests_by_kind": group("archive/requests/"),
        "responses_by_status": group("downloader/response_status_count/"),
        "records": stats.get("archive/records_written", 0),
        "warc_bytes": stats.get("archive/bytes_written", 0),
        "errors": stats.get("errors/total", 0),
        "errors_by_kind": group("errors/kind/"),
        "dropped_by_guard": group("guard/dropped/"),
        "retry_backoff_seconds": round(stats.get("retry/backoff_seconds", 0.0), 3),
        "failed_urls": failures,
        "elapsed_seconds": round(elapsed, 3),
    }


class ProgressExtension:
    def __init__(self, crawler: Crawler, interval: float, report_dir: Path | None) -> None:
        self.crawler = crawler
        self.interval = interval
        self.report_dir = report_dir
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None
        self.report: dict[str, Any] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        directory = settings.get("ARCHIVE_DIR")
        ext = cls(
            crawler,
            settings.getfloat("PORTAL_PROGRESS_INTERVAL", 30.0),
            Path(directory) if directory else None,
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(1.0 if self.tty else self.interval, now=False)

    def line(self) -> str:
        stats = self.crawler.stats.get_stats()
        elapsed = max(time.monotonic() - self.started, 1e-6)
        requests = stats.get("downloader/request_count", 0)
        return (
            f"articles {stats.get('articles/archived', 0)} archived"
            f" ({stats.get('portal/articles_scheduled', 0)} found)"
            f" | requests {requests} ({requests / elapsed:.1f}/s)"
            f" | errors {stats.get('errors/total', 0)}"
            f" | {stats.get('archive/bytes_written', 0) / 1e6:.1f} MB"
        )

    def tick(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K" + self.line())
            sys.stderr.flush()
        else:
            logger.info("Progress: %s", self.line())

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        if self.tty:
            sys.stderr.write("\r\033[K")
        failures = list(getattr(spider, "failures", []))
        self.report = summarize(
            self.crawler.stats.get_stats(), time.monotonic() - self.started, failures
        )
        self.report["finish_reason"] = reason
        if self.report_dir is not None and self.report_dir.is_dir():
            path = self.report_dir / "report.json"
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(self.report, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.replace(path)
