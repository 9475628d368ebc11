"""Progress while a crawl runs, and the report at its end.

The progress line says what is done, queued and failed, the rate and the bytes written.
Under ``portal-archiver`` it is redrawn every second on a terminal and printed every
``PORTAL_PROGRESS_INTERVAL`` seconds elsewhere (cron, systemd), and logged to the run's log
file either way (see ``crawler/logs.py``); under ``scrapy crawl`` it is a log line.
When the engine has stopped (after the pipeline has closed its WARC file, so the bytes
count the last record) the report is written as JSON to ``{ARCHIVE_DIR}/report.json`` (the
last run's report) and kept in the crawl history as ``{ARCHIVE_DIR}/reports/{start}-{spider}.json``
(``start`` in UTC, ``20261207T040603Z``), which the reading room's coverage page shows. Both are
written atomically (a temporary file renamed), also when the run was stopped.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from twisted.internet import task

from crawler.logs import CONSOLE, Console, run_file

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

    archived = stats.get("articles/archived", 0)
    edited = stats.get("articles/changed", 0)
    return {
        "articles": archived,
        "articles_new": archived - edited,
        "articles_edited": edited,
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
        "failed": len(failures),
        "failed_urls": failures,
        "elapsed_seconds": round(elapsed, 3),
        "stopped_by": stats.get("stop/signal"),
        "stopped_at_once": bool(stats.get("stop/forced", False)),
        "abandoned_requests": stats.get("stop/abandoned", 0),
        "remaining": stats.get("frontier/remaining"),
        "resumed": group("resume/"),
        "logged_errors": stats.get("log_count/ERROR", 0) + stats.get("log_count/CRITICAL", 0),
    }


class ProgressExtension:
    def __init__(
        self,
        crawler: Crawler,
        interval: float,
        report_dir: Path | None,
        console: Console = CONSOLE,
    ) -> None:
        self.crawler = crawler
        self.interval = interval
        self.report_dir = report_dir
        self.console = console
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.loop: task.LoopingCall | None = None
        self.report: dict[str, Any] | None = None
        self.report_failed = False
        """True when ``report.json`` could not be written (a full disk): the file in place, if
        any, is an earlier run's."""
        self._reason = "unknown"
        self._logged = time.monotonic()
        self._live = False
        self._failures: list[dict[str, str]] = []

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
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.started = self._logged = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.loop = task.LoopingCall(self.tick)
        self._live = self.console.active and self.console.tty
        self.loop.start(1.0 if self._live else self.interval, now=False)

    def line(self) -> str:
        """Done, queued, failed, rate and bytes, from the crawl's stats and scheduler."""
        stats = self.crawler.stats.get_stats()
        elapsed = max(time.monotonic() - self.started, 1e-6)
        archived = stats.get("articles/archived", 0)
        done = archived + stats.get("articles/unchanged", 0)
        pages = stats.get("response_received_count", 0)
        return (
            f"done {done} articles ({archived} new)"
            f" | queued {self.queued()}"
            f" | failed {stats.get('errors/total', 0)}"
            f" | {pages} responses, {pages / elapsed:.1f}/s"
            f" | {stats.get('archive/bytes_written', 0) / 1e6:.1f} MB"
        )

    def queued(self) -> int:
        """Requests waiting in the scheduler (memory and disk) and in the downloader."""
        engine = self.crawler.engine
        scheduler = engine.scheduler if engine is not None else None
        waiting = len(scheduler) if scheduler is not None else 0  # type: ignore[arg-type]
        return waiting + (len(engine.downloader.active) if engine is not None else 0)

    def tick(self) -> None:
        line = self.line()
        if self.console.active:
            self.console.status(line)
        now = time.monotonic()
        # A live line is redrawn every second; the log file gets one every interval.
        if not self._live or now - self._logged >= self.interval:
            self._logged = now
            # The console shows it already: the log file keeps it (see crawler/logs.py).
            logger.info("Progress: %s", line, extra={"on_console": self.console.active})

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        self.console.clear_status()
        self._reason = reason
        self._failures = list(getattr(spider, "failures", []))

    def engine_stopped(self) -> None:
        self.finish(self._reason)

    def finish(self, reason: str) -> dict[str, Any]:
        """The report, also written to ``report.json``; ``reason`` is Scrapy's finish reason."""
        if self.loop and self.loop.running:
            self.loop.stop()
        self.console.clear_status()
        spider = self.crawler.spider
        failures = self._failures or list(getattr(spider, "failures", []))
        self.report = summarize(
            self.crawler.stats.get_stats(), time.monotonic() - self.started, failures
        )
        self.report["finish_reason"] = reason
        self.report["limit_reached"] = _limit_reached(spider)
        self.report["encoding_not_converted"] = list(getattr(spider, "unconverted", []))
        self.report["spider"] = spider.name if spider is not None else None
        self.report["started_at"] = _iso(self.started_at)
        self.report["finished_at"] = _iso(datetime.now(UTC))
        if self.report_dir is not None and self.report_dir.is_dir():
            self._write(self.report)
        return self.report

    def _write(self, report: dict[str, Any]) -> None:
        """``report.json`` and the run's file in ``reports/``: a failure to write them is
        logged, and never turns the run's outcome into a traceback."""
        assert self.report_dir is not None
        text = json.dumps(report, ensure_ascii=False, indent=1)
        try:
            history = _history_path(self.report_dir / "reports", self.started_at, report["spider"])
            for path in (history, self.report_dir / "report.json"):
                tmp = path.with_name(f".{path.name}.tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(path)
        except OSError as error:
            self.report_failed = True
            logger.error("The run's report was not written to %s: %s", self.report_dir, error)


def _limit_reached(spider: Spider | None) -> int | None:
    """The ``--max-articles`` limit when the crawl stopped at it with articles or listing pages
    left (held back by the limit), else None."""
    limit = getattr(spider, "max_articles", None)
    left = getattr(spider, "held", None) or getattr(spider, "held_pages", None)
    return limit if limit is not None and left else None


def _history_path(directory: Path, started_at: datetime, spider: str | None) -> Path:
    """The run's file in the crawl history (:func:`crawler.logs.run_file`)."""
    directory.mkdir(exist_ok=True)
    return run_file(directory, started_at, spider or "crawl", ".json")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
