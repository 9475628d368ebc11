"""What each ``portal-archiver`` subcommand does (the CLI module only parses arguments)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class UsageError(Exception):
    """A problem the user can fix; reported as one sentence, exit status 2."""


def print_summary(report: dict[str, Any], out: Path | None) -> None:
    lines = [
        f"articles: {report.get('articles', 0)} archived, "
        f"{report.get('articles_unchanged', 0)} unchanged",
        f"requests: {report.get('requests', 0)}   records: {report.get('records', 0)}   "
        f"WARC bytes: {report.get('warc_bytes', 0):,}",
        f"errors: {report.get('errors', 0)}   time: {report.get('elapsed_seconds', 0):.1f} s",
    ]
    for failure in report.get("failed_urls", [])[:20]:
        lines.append(f"  failed ({failure['kind']}): {failure['url']}")
    if out is not None:
        lines.append(
            f"items: {out / 'items.jsonl'}   WARC: {out / 'warc'}   report: {out / 'report.json'}"
        )
    print("\n".join(lines))


def dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


DEMO_SETTINGS = {
    # The replica runs on loopback: politeness delays would only make the demo slow.
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "PORTAL_RETRY_BACKOFF_BASE": "0.1",
    "LOG_LEVEL": "WARNING",
}


def ensure_writable(directory: Path) -> Path:
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


def check_collection_free(out: Path) -> None:
    from archive.collection import Collection, CollectionLocked

    try:
        Collection(out).open().close()
    except CollectionLocked as error:
        raise UsageError(str(error)) from None


_EXPECTED_NETWORK_ERRORS = (
    "DownloadConnectionRefusedError",
    "CannotResolveHostError",
    "DownloadTimeoutError",
    "DownloadFailedError",
    "ConnectionRefusedError",
    "DNSLookupError",
    "TimeoutError",
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


def run_spider(spider: str, out: Path, overrides: Sequence[tuple[str, str]], **kwargs: Any) -> int:
    """Run one spider into the collection at ``out``; print the summary; return the exit status."""
    from scrapy.crawler import CrawlerProcess

    from crawler.progress import ProgressExtension

    ensure_writable(out)
    check_collection_free(out)
    settings = scrapy_settings(out, overrides, jobdir=spider)
    process = CrawlerProcess(settings)
    for name in _NETWORK_ERROR_LOGGERS:
        logging.getLogger(name).addFilter(_NoNetworkTracebacks())
    crawler = process.create_crawler(spider)
    process.crawl(crawler, **kwargs)
    process.start()
    report = next(
        (
            ext.report
            for ext in crawler.extensions.middlewares
            if isinstance(ext, ProgressExtension)
        ),
        None,
    )
    if report is None:
        print("portal-archiver: the crawl did not start; see the log above", file=sys.stderr)
        return 1
    print_summary(report, out)
    return 1 if report["failed_urls"] or report["finish_reason"] != "finished" else 0


def run_fetch(args: argparse.Namespace) -> int:
    return run_spider("fetch", args.out, args.settings, urls=args.urls)


def run_crawl(args: argparse.Namespace) -> int:
    kwargs: dict[str, Any] = {"targets": args.targets}
    if args.max_articles is not None:
        kwargs["max_articles"] = args.max_articles
    if args.since:
        kwargs["since"] = args.since
    if args.new_only:
        kwargs["new_only"] = True
    if args.profiles:
        if not args.profiles.is_file():
            raise UsageError(f"no such profiles file: {args.profiles}")
        kwargs["profiles_file"] = str(args.profiles)
    _check_targets(args.targets, args.profiles)
    return run_spider("portal", args.out, args.settings, **kwargs)


def _check_targets(targets: Sequence[str], profiles_file: Path | None) -> None:
    from crawler.profiles import load_profiles, resolve_target

    try:
        profiles = load_profiles(profiles_file)
        for target in targets:
            resolve_target(target, profiles)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run_recover(args: argparse.Namespace) -> int:
    from crawler.recover.sources import resolve_archives

    _check_targets(args.targets, args.profiles)
    for name in ("since", "until"):
        value = getattr(args, name)
        if value and not _is_date(value):
            option = "--from" if name == "since" else "--to"
            raise UsageError(f"{option} must be a date YYYY-MM-DD, not {value!r}")
    if args.since and args.until and args.since > args.until:
        raise UsageError(f"--from {args.since} is after --to {args.until}")
    try:
        resolve_archives(args.archives, ia_url="", cc_index="", cc_data="", cc_crawls=["-"])
        if "cc" in args.archives and not args.cc_crawls:
            resolve_archives(["cc"], ia_url="", cc_index="", cc_data="", cc_crawls=[])
    except ValueError as error:
        raise UsageError(str(error)) from None
    kwargs: dict[str, Any] = {"targets": args.targets, "archives": args.archives}
    for name in ("since", "until", "cc_crawls"):
        if getattr(args, name):
            kwargs[name] = getattr(args, name)
    if args.profiles:
        kwargs["profiles_file"] = str(args.profiles)
    status = run_spider("recover", args.out, args.settings, **kwargs)
    _print_recovery(args.out)
    return status


def _is_date(value: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _print_recovery(out: Path) -> None:
    path = out / "recover-report.json"
    if not path.exists():
        return
    report = json.loads(path.read_text(encoding="utf-8"))
    for site, figures in report["sites"].items():
        print(
            f"{site}: {figures['captures_found']} captures found, "
            f"{figures['articles_recovered']} articles recovered "
            f"({figures['versions']} versions), "
            f"{len(figures['listed_never_captured'])} listed but never captured, "
            f"{len(figures['requisites_missing'])} images/files missing"
        )


def run_extract(args: argparse.Namespace) -> int:
    from crawler.reextract import extract_items

    missing = [str(path) for path in args.warcs if not path.is_file()]
    if missing:
        raise UsageError(f"no such WARC file: {', '.join(missing)}")
    out: Path = args.out
    ensure_writable(out.parent if str(out.parent) else Path("."))
    stats = extract_items(args.warcs, out)
    print(
        f"articles: {stats.articles}   responses read: {stats.responses}   "
        f"not articles: {stats.rejected}   errors: {stats.errors}\nitems: {out}"
    )
    return 1 if stats.errors else 0


def run_index(args: argparse.Namespace) -> int:
    from archive.cdxj import build_index

    warc_dir = args.directory / "warc"
    if not warc_dir.is_dir():
        raise UsageError(f"{args.directory} is not a collection (no warc/ folder)")
    out = args.directory / "indexes" / "index.cdxj"
    out.parent.mkdir(parents=True, exist_ok=True)
    count = build_index(warc_dir, out)
    print(f"indexed {count} records: {out}")
    return 0


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Ask a child to stop (SIGTERM); kill it if it does not within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def replica_process(*args: str) -> Iterator[str]:
    """Start the bundled replica on a free loopback port; yield its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "replica", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise UsageError("the replica portal did not start")
        yield url
    finally:
        stop_process(process)


DEMO_MARKER = ".portal-archiver-demo"
"""File marking a directory as the demo's own, which a later demo may empty."""


def _fresh_demo_directory(out: Path) -> None:
    """A demo shows a first crawl, so it starts empty; it never empties a real collection."""
    if (out / DEMO_MARKER).exists():
        shutil.rmtree(out)
    elif out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; give the demo a new directory")
    ensure_writable(out)
    (out / DEMO_MARKER).touch()


def run_demo(args: argparse.Namespace) -> int:
    out: Path = args.out or Path("portal-archiver-demo")
    _fresh_demo_directory(out)
    with replica_process("--articles", str(args.articles)) as url:
        print(f"Replica portal running at {url}; crawling its Lấp Vò site ({url}web/hlv)")
        overrides = [*DEMO_SETTINGS.items(), *args.settings]
        status = run_spider("portal", out, overrides, targets=[f"{url}web/hlv"])
    _show_seed(out)
    return status


def _show_seed(out: Path) -> None:
    items_path = out / "items.jsonl"
    if not items_path.exists():
        return
    for line in items_path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("asset_id") == "4961961":
            shown = {
                k: item[k]
                for k in ("title", "paragraphs", "captions", "byline", "published", "warc")
            }
            print("\nThe seed article, as archived:\n" + dump_json(shown))
            return


def run_replica(args: argparse.Namespace) -> int:
    command = [
        sys.executable,
        "-m",
        "replica",
        "--port",
        str(args.port),
        "--articles",
        str(args.articles),
    ]
    command += ["--edition", str(args.edition)]
    os.execv(sys.executable, command)
    return 0  # not reached


def run_serve(args: argparse.Namespace) -> int:
    from reading_room.server import NotACollection, serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, not {args.port}")
    try:
        serve(args.directories, args.host, args.port, replay=not args.no_replay)
    except NotACollection as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(
            f"cannot serve on {args.host}:{args.port}: {error.strerror or error}"
        ) from None
    return 0
