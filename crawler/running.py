"""Running one spider into a collection: every check first, then the crawl, its signals and
its summary.

Order matters for "nothing half-made": the settings are checked before the collection
directory is created, and a directory this run created is removed again if the run is
refused before it crawls (a locked collection, a CollectionError raised while Scrapy builds
its components).
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from archive.collection import Collection, CollectionError, collection_holding
from crawler import logs
from crawler.validation import UsageError, check_settings

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

_EXPECTED_NETWORK_ERRORS = (
    "DownloadConnectionRefusedError",
    "CannotResolveHostError",
    "DownloadTimeoutError",
    "DownloadFailedError",
    "ConnectionRefusedError",
    "DNSLookupError",
    "TimeoutError",
    "DownloadAbandoned",
)

# Where Scrapy logs a failed download with its traceback.
_NETWORK_ERROR_LOGGERS = (
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.core.scraper",
    "scrapy.core.engine",
)


class _NoNetworkTracebacks(logging.Filter):
    """An unreachable host is an expected failure: its log line says so, without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__name__ in _EXPECTED_NETWORK_ERRORS:
            record.msg = f"{record.getMessage()} ({type(error).__name__})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def ensure_writable(directory: Path) -> Path:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is a file, not a directory; give a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-test-"):
            pass
    except OSError as error:
        raise UsageError(f"cannot write to {directory}: {error.strerror or error}") from None
    return directory


def scrapy_settings(out: Path, overrides: Sequence[tuple[str, str]], jobdir: str | None) -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("ARCHIVE_DIR", str(out), priority="cmdline")
    if jobdir:
        settings.set("JOBDIR", str(out / "jobs" / jobdir), priority="cmdline")
    for name, value in overrides:
        settings.set(name, value, priority="cmdline")
    return settings


def _prepare_collection(out: Path) -> None:
    """Create (or repair) the collection and make sure no other crawl holds it."""
    holding = collection_holding(out)
    if holding is not None:
        # A typo (DIR/warc for DIR) would start a second collection from nothing in its folders.
        raise UsageError(
            f"--out {out} lies inside the collection {holding}; "
            "give its own directory, or one outside it"
        )
    ensure_writable(out)
    # Checked by the crawl's own opening, which follows.
    Collection(out, checked=False).open().close()


class _StopSignals:
    """SIGINT and SIGTERM during a crawl: the first stops it within seconds, the second at
    once (see crawler/stopping.py), a third is left to the system's default."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.received = 0
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Only hand over to the reactor here: a signal handler may interrupt anything.
        from twisted.internet import reactor

        from crawler.stopping import GracefulStop

        self.received += 1
        name = signal.Signals(signum).name
        stop = _extension(self.crawler, GracefulStop)
        if stop is None:
            reactor.callFromThread(reactor.stop)
        elif self.received == 1:
            reactor.callFromThread(stop.request_stop, name)
        else:
            reactor.callFromThread(stop.force, name)
            for other in self._previous:
                signal.signal(other, signal.SIG_DFL)


def _extension(crawler: Crawler, cls: type[Any]) -> Any:
    try:
        return crawler.get_extension(cls)
    except RuntimeError:  # the crawler has not built its extensions (yet)
        return None


def run_spider(
    spider: str,
    out: Path,
    overrides: Sequence[tuple[str, str]],
    *,
    verbose: bool = False,
    **kwargs: Any,
) -> int:
    """Run one spider into the collection at ``out``; print the summary; return the exit status."""
    overrides = check_settings(overrides)
    fresh = not out.exists()
    try:
        _prepare_collection(out)
        return _crawl(spider, out, scrapy_settings(out, overrides, jobdir=spider), verbose, kwargs)
    except (UsageError, CollectionError):
        if fresh and out.is_dir():
            shutil.rmtree(out, ignore_errors=True)
        raise


def _crawl(
    spider: str, out: Path, settings: Settings, verbose: bool, kwargs: dict[str, Any]
) -> int:
    from scrapy.crawler import CrawlerProcess

    log_file = logs.log_path(out, spider)
    logs.configure(
        log_file,
        verbose=verbose,
        level=settings.get("LOG_LEVEL") or "INFO",
        extra_file=settings.get("LOG_FILE"),
    )
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")  # ours are installed
    process = CrawlerProcess(settings)
    for name in _NETWORK_ERROR_LOGGERS:
        logging.getLogger(name).addFilter(_NoNetworkTracebacks())
    crawler = process.create_crawler(spider)
    refused: list[Failure] = []
    process.crawl(crawler, **kwargs).addErrback(refused.append)
    stop_signals = _StopSignals(crawler)
    stop_signals.install()
    try:
        process.start(install_signal_handlers=False)
        return _conclude(crawler, out, log_file, refused)
    finally:
        # Only now: a second signal that lands while the summary is written must not kill
        # the process with Python's default handler (it would exit by the signal, not 1).
        stop_signals.restore()


def _conclude(crawler: Crawler, out: Path, log_file: Path, refused: list[Failure]) -> int:
    """After the reactor stopped: raise what refused the crawl, or print the summary."""
    from crawler.progress import ProgressExtension
    from crawler.stopping import GracefulStop

    if refused:
        refused[0].raiseException()  # a CollectionError is the user's to fix; anything else a bug
    progress = _extension(crawler, ProgressExtension)
    stop = _extension(crawler, GracefulStop)
    if progress is None:
        print(f"portal-archiver: the crawl did not start; see {log_file}", file=sys.stderr)
        return 1
    forced = stop is not None and stop.forced
    report = progress.report or progress.finish("stopped at once" if forced else "unknown")
    report["log_file"] = str(log_file)
    report["report_written"] = not progress.report_failed
    report["log_cut_short"] = any(
        isinstance(handler, logs.RunLogFile) and handler.given_up
        for handler in logging.getLogger().handlers
    )
    print_summary(report, out)
    return 1 if report["failed_urls"] or report["finish_reason"] != "finished" else 0


def print_summary(report: dict[str, Any], out: Path | None) -> None:
    lines = [
        f"articles: {report.get('articles', 0)} archived, "
        f"{report.get('articles_unchanged', 0)} unchanged"
        + _rejected(report.get("articles_rejected") or {}),
        f"requests: {report.get('requests', 0)}   records: {report.get('records', 0)}   "
        f"WARC bytes: {report.get('warc_bytes', 0):,}",
        f"errors: {report.get('errors', 0)}   time: {report.get('elapsed_seconds', 0):.1f} s",
    ]
    lines += _resumed_lines(report.get("resumed") or {})
    for failure in report.get("failed_urls", [])[:20]:
        lines.append(f"  failed ({failure['kind']}): {failure['url']}")
    lines += _unconverted_lines(report.get("encoding_not_converted") or [])
    lines += _unfinished_lines(report)
    if out is not None:
        # One not written (a full disk) is the previous run's: never named as this run's.
        written = report.get("report_written", True)
        report_file = out / "report.json" if written else "not written (see the error above)"
        lines.append(f"items: {out / 'items.jsonl'}   WARC: {out / 'warc'}   report: {report_file}")
    if report.get("log_file"):
        logged = report.get("logged_errors", 0)
        note = f" ({logged} error{'s' if logged != 1 else ''} logged there)" if logged else ""
        if report.get("log_cut_short"):
            note = " (cut short where it could no longer be written)"
        lines.append(f"log: {report['log_file']}{note}")
    print("\n".join(lines))


def _rejected(reasons: dict[str, int]) -> str:
    """Article pages that gave no article (a soft 404, an empty page), by reason: a fetch of
    one exits 0, as its page was captured, and would otherwise say only "0 archived"."""
    count = sum(reasons.values())
    if not count:
        return ""
    why = ", ".join(f"{reason}: {n}" for reason, n in sorted(reasons.items()))
    return f", {count} page{'s' if count != 1 else ''} gave none ({why})"


def _resumed_lines(resumed: dict[str, int]) -> list[str]:
    """What this run took over from an interrupted earlier run of the same crawl."""
    parts = [
        f"{resumed[key]} {label}"
        for key, label in (
            ("articles_done", "articles already done"),
            ("requisites_owed", "images/files owed"),
            ("items_registered", "items.jsonl lines registered (the state lacked them)"),
            ("warc_files_repaired", "WARC files repaired"),
            ("items_dropped", "items lines dropped (their WARC records were lost)"),
        )
        if resumed.get(key)
    ]
    return ["resumed an unfinished crawl: " + ", ".join(parts)] if parts else []


def _unconverted_lines(pages: list[dict[str, str]]) -> list[str]:
    """Pages in legacy fonts whose text was kept as read: the archivist must know."""
    if not pages:
        return []
    lines = [f"{len(pages)} article(s) in a legacy font encoding kept as read, not converted:"]
    lines += [f"  {page['url']}: {page['note']}" for page in pages[:20]]
    return lines


def _unfinished_lines(report: dict[str, Any]) -> list[str]:
    if report.get("finish_reason") == "finished":
        return _limit_lines(report.get("limit_reached"))
    how = report.get("stopped_by")
    cause = f"stopped by {how}" if how else f"ended early ({report.get('finish_reason')})"
    if report.get("stopped_at_once"):
        cause += ", at once"
    remaining = report.get("remaining")
    owed = (
        f"{remaining:,} URLs are still owed"
        if isinstance(remaining, int)
        else "what is still owed is kept in the collection"
    )
    return [
        f"UNFINISHED: {cause}; {owed}.",
        "Run the same command again to finish it.",
    ]


def _limit_lines(limit: int | None) -> list[str]:
    """A crawl that stopped at the limit the user asked for is finished: say that more is
    left, and what the same command does next (crawler/spiders/portal.py)."""
    if not limit:
        return []
    return [
        f"limit reached: --max-articles {limit}, more articles are left; run the same command "
        f"again for the next {limit} (articles already archived are not fetched again)."
    ]
