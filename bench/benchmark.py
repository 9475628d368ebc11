"""Cost per page against plain Scrapy, re-extraction against trafilatura, and memory.

Starts the replica portal on loopback and, in one run:

1. crawls it, each crawl in its own subprocess: (a) the plain Scrapy spider of
   ``bench/plain_spider.py`` (same links, no extraction, no archive, no images);
   (a') the same spider with the Scrapy and garbage-collector settings portal-archiver
   ships (``CONCURRENT_ITEMS``, ``WARN_ON_GENERATOR_RETURN_VALUE``,
   ``crawler/gc_tuning.py``), to show what those alone are worth: (b)/(a') is the cost of
   extraction, archive and disk queue like for like; (b) ``portal-archiver crawl`` with
   ``ARCHIVE_REQUISITES=False`` and ``ARCHIVE_THEME_ASSETS=False`` (pages only: the fair
   comparison with (a), and the one the CPU budget uses); (b+) ``portal-archiver crawl`` as
   shipped, images, attached files and theme assets included. (a), (a') and (b) run
   ``--rounds`` times, interleaved, because a shared virtual machine's speed drifts by tens
   of percent within minutes: each figure is the median round's, each ratio the median of
   the rounds' ratios;
2. re-extracts (b+)'s WARC files with ``portal-archiver extract`` (checking that it gives
   the crawl's own items) and times trafilatura on the same archived article pages, each
   in its own subprocess, ``--rounds`` times interleaved;
3. crawls a bigger replica (``--rss-articles``, default 20,000; about 10 minutes and 7 GB
   of WARC on a 2-core machine) with (b+) only, for its peak RSS;
4. packages (b+)'s collection with ``portal-archiver wacz`` (with its fixity manifest, and
   with ``--rehash``) against ``cp`` and ``sync`` of the same WARC files, ``--rounds`` times
   interleaved, and compares its peak RSS on (b)'s
   smaller collection (``bench/wacz_speed.py``);
5. runs ``bench/serve_speed.py`` (``--serve-articles``, default 20,000): the reading room's
   search index build and search latency;
6. runs ``bench/recover_speed.py`` (``--recover-articles``, default 300, ``--rounds`` rounds,
   at most 3): ``recover`` from a local pywb against ``crawl`` of the same replica, CPU per
   capture written;
7. scores both extractors on the specimen pages (``bench/quality.py``).

Before any measured run the sources are compiled to bytecode (``compileall``), as an
installed package is: with ``PYTHONDONTWRITEBYTECODE`` set, every ``extract`` would
otherwise compile the project's modules again (about 0.1 s a run).

CPU is user + system time and peak RSS is ``ru_maxrss``, both from ``os.wait4`` on the
subprocess. "Per article page" divides by the article pages each crawl fetched (the
crawl's ``report.json`` ``requests_by_kind.article``; the plain spider's own count), soft
404s included. Prints a table and writes every figure, with the budgets, as JSON.

Every budget of issue 16 is checked at the end, each figure a ratio against its anchor in the
same run where it has one: crawl CPU against the plain spider, ``extract`` against
trafilatura, ``wacz`` wall time against ``cp`` + ``sync`` of the same files (disk-bound) and its
peak RSS on the full collection against the pages-only one (flat), ``recover`` CPU per capture
against ``crawl``'s; RSS and the reading room's figures against their limits.

Usage: ``python bench/benchmark.py [--articles 3000] [--rounds 5] [--rss-articles 20000]
[--serve-articles 20000] [--recover-articles 300] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import pickle
import platform
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import quality
from measure import HTML_ONLY, LOOPBACK, Usage, run_measured, settings_args
from wacz_speed import format_wacz, run_wacz

from crawler import settings as project_settings
from crawler.commands import replica_process

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# The plain spider with the Scrapy and collector settings portal-archiver ships: (a').
TUNED = (
    'EXTENSIONS={"crawler.gc_tuning.GcTuningExtension": 0}',
    "PORTAL_GC_THRESHOLDS=" + ",".join(map(str, project_settings.PORTAL_GC_THRESHOLDS)),
    f"CONCURRENT_ITEMS={project_settings.CONCURRENT_ITEMS}",
    f"WARN_ON_GENERATOR_RETURN_VALUE={project_settings.WARN_ON_GENERATOR_RETURN_VALUE}",
)
BUDGET_CPU_RATIO = 1.2  # issue 16: with the crash-safe frontier
BUDGET_SPEEDUP = 10.0
BUDGET_RSS_MB = 250.0
BUDGET_SERVE_BUILD_S = 60.0  # issue 15: the search index of 20,000 articles within a minute
BUDGET_SERVE_P95_MS = 50.0
# wacz: limited by the disk, not the CPU. Its wall time against copying the same files with
# cp + sync (1 is the disk's speed; the index check and the pages add a little), and its peak
# RSS on the full collection (images and files, ~20x the bytes) against the pages-only one.
BUDGET_WACZ_TIME_RATIO = 1.5
BUDGET_WACZ_RSS_RATIO = 1.25
BUDGET_RECOVER_RATIO = 1.0  # recover's CPU per capture within crawl's
RECOVER_ROUNDS_MAX = 3  # a round crawls and recovers a site and starts a pywb: minutes each
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def manifest_articles(url: str) -> int:
    with _NO_PROXY.open(url + "__replica/manifest", timeout=60) as response:
        return len(json.load(response)["articles"])


# Crawls ------------------------------------------------------------------------------


def crawl_figures(usage: Usage, article_pages: int, requests: int) -> dict[str, Any]:
    pages = max(article_pages, 1)
    return {
        **asdict(usage),
        "article_pages": article_pages,
        "requests": requests,
        "cpu_s_per_article_page": usage.cpu_s / pages,
        "article_pages_per_s": article_pages / usage.wall_s,
        "requests_per_s": requests / usage.wall_s,
    }


def run_plain(
    url: str, work: Path, extra: Sequence[str] = (), name: str = "plain"
) -> dict[str, Any]:
    stats_path = work / f"{name}-stats.json"
    command = [sys.executable, str(BENCH / "plain_spider.py"), url, "--stats", str(stats_path)]
    usage = run_measured(command + settings_args(extra), work / f"{name}.log")
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    figures = crawl_figures(usage, stats["requests_by_kind"]["article"], stats["requests"])
    figures["requests_by_kind"] = stats["requests_by_kind"]
    figures["gc_collections"] = stats["gc_collections"]
    figures["concurrent_items"] = stats["concurrent_items"]
    return figures


def run_ours(url: str, out: Path, extra: Sequence[str], log: Path) -> dict[str, Any]:
    """A first crawl into an empty ``out``: a collection kept in a reused workdir would make
    it an incremental crawl, and every later figure (extract, wacz) would count both."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "crawler.cli", "crawl", url, "--out", str(out)]
    usage = run_measured(command + settings_args([*LOOPBACK, *extra]), log)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    article_pages = report["requests_by_kind"].get("article", 0)
    figures = crawl_figures(usage, article_pages, report["requests"])
    figures.update(
        settings=list(extra),
        articles_archived=report["articles"],
        requests_by_kind=report["requests_by_kind"],
        errors=report["errors"],
        warc_bytes=report["warc_bytes"],
        warc_bytes_per_article_page=report["warc_bytes"] / max(article_pages, 1),
    )
    return figures


def run_round(url: str, work: Path) -> dict[str, Any]:
    """(a), (a') and (b) back to back, so that their ratios share the machine's mood."""
    plain = run_plain(url, work)
    tuned = run_plain(url, work, TUNED, "plain-tuned")
    ours = run_ours(url, work / "html-only", HTML_ONLY, work / "html-only.log")
    per_page = ours["cpu_s_per_article_page"]
    return {
        "plain": plain,
        "plain_tuned": tuned,
        "ours_html_only": ours,
        "cpu_ratio_html_only": per_page / plain["cpu_s_per_article_page"],
        "cpu_ratio_vs_tuned": per_page / tuned["cpu_s_per_article_page"],
    }


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _median_by(runs: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run with the median ``key`` (the lower middle of an even count)."""
    ordered = sorted(runs, key=lambda run: run[key])
    return ordered[(len(ordered) - 1) // 2]


def _median_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median CPU per article page."""
    return _median_by(runs, "cpu_s_per_article_page")


def run_crawls(articles: int, rounds: int, work: Path) -> dict[str, Any]:
    with replica_process("--articles", str(articles)) as url:
        listed = manifest_articles(url)
        # One unmeasured pass renders every page once, so no measured run pays for a
        # cold replica (the replica caches what it renders).
        run_measured(
            [sys.executable, str(BENCH / "plain_spider.py"), url, "--stats", os.devnull],
            work / "warmup.log",
        )
        measured = [run_round(url, work) for _ in range(rounds)]
        full = run_ours(url, work / "full", (), work / "full.log")
    plain = _median_run([one["plain"] for one in measured])
    return {
        "replica_articles": listed,
        "rounds": measured,
        "plain": plain,
        "plain_tuned": _median_run([one["plain_tuned"] for one in measured]),
        "ours_html_only": _median_run([one["ours_html_only"] for one in measured]),
        "ours_full": full,
        "cpu_ratio_html_only": _median([one["cpu_ratio_html_only"] for one in measured]),
        "cpu_ratio_html_only_range": [
            min(one["cpu_ratio_html_only"] for one in measured),
            max(one["cpu_ratio_html_only"] for one in measured),
        ],
        "cpu_ratio_vs_tuned": _median([one["cpu_ratio_vs_tuned"] for one in measured]),
        "cpu_ratio_full": full["cpu_s_per_article_page"] / plain["cpu_s_per_article_page"],
    }


def run_rss(articles: int, work: Path) -> dict[str, Any]:
    out = work / "rss"
    with replica_process("--articles", str(articles)) as url:
        listed = manifest_articles(url)
        figures = run_ours(url, out, (), work / "rss.log")
    shutil.rmtree(out, ignore_errors=True)  # gigabytes of WARC
    return {"replica_articles": listed, **figures}


# Re-extraction -----------------------------------------------------------------------


def warc_files(collection: Path) -> list[Path]:
    return sorted((collection / "warc").glob("*.warc*"))


def run_extract(collection: Path, work: Path, name: str) -> dict[str, Any]:
    out = work / f"{name}.jsonl"
    command = [sys.executable, "-m", "crawler.cli", "extract", *map(str, warc_files(collection))]
    usage = run_measured([*command, "--out", str(out)], work / f"{name}.log")
    items = out.read_text(encoding="utf-8").splitlines()
    crawled = (collection / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return {
        **asdict(usage),
        "articles": len(items),
        "cpu_ms_per_article": usage.cpu_s * 1000 / max(len(items), 1),
        # The crawl's own items, byte for byte (extract writes them in WARC order).
        "identical_to_crawl": sorted(items) == sorted(crawled),
    }


def save_article_pages(collection: Path, path: Path) -> int:
    """The archived article pages of a collection (the responses its items point at)."""
    from archive.reader import iter_records

    with (collection / "items.jsonl").open(encoding="utf-8") as lines:
        locations = [json.loads(line)["warc"] for line in lines]
    wanted = {location["record_id"] for location in locations if location}
    pages = [
        (record.url, {name.lower(): value for name, value in reversed(record.headers)}, record.body)
        for record in iter_records(warc_files(collection))
        if record.record_id in wanted
    ]
    with path.open("wb") as sink:
        pickle.dump(pages, sink, protocol=pickle.HIGHEST_PROTOCOL)
    return len(pages)


def time_parser(name: str, pages_path: Path, work: Path) -> dict[str, Any]:
    """Time one parser in its own subprocess: its usage plus the CPU of the parser calls."""
    result_path = work / f"parse-{name}.json"
    command = [sys.executable, str(BENCH / "benchmark.py"), "--worker", name]
    command += [str(pages_path), str(result_path)]
    usage = run_measured(command, work / f"parse-{name}.log")
    timed = json.loads(result_path.read_text(encoding="utf-8"))
    return {
        "process_cpu_s": usage.cpu_s,
        "peak_rss_mb": usage.peak_rss_mb,
        **timed,
        "cpu_ms_per_page": timed["parse_cpu_s"] * 1000 / max(timed["pages"], 1),
    }


Parser = Callable[[str, dict[str, str], bytes], object]


def _parser(name: str) -> Parser:
    if name == "trafilatura":
        return lambda url, headers, body: quality.trafilatura_json(body, url)
    from crawler.parsers.article import parse_article
    from crawler.parsers.page import Page

    return lambda url, headers, body: parse_article(Page(url, body, headers))


def worker(name: str, pages_path: Path, result_path: Path) -> None:
    """Parse every page with one parser; CPU time of the parser calls only."""
    with pages_path.open("rb") as source:
        pages = pickle.load(source)
    parse = _parser(name)
    if pages:  # the first call pays for lazy imports and compiled patterns: not timed
        parse(*pages[0])
    start = time.process_time()
    for page in pages:
        parse(*page)
    elapsed = time.process_time() - start
    result = {"pages": len(pages), "parse_cpu_s": elapsed}
    result_path.write_text(json.dumps(result), encoding="utf-8")


def reextract_round(work: Path, pages_path: Path) -> dict[str, Any]:
    """``extract`` of (b+)'s WARCs, our parser alone and trafilatura back to back, so that
    their ratios share the machine's mood."""
    one: dict[str, Any] = {
        "extract_full_warcs": run_extract(work / "full", work, "extract-full"),
        "ours_parse_only": time_parser("ours", pages_path, work),
    }
    if quality.trafilatura_available():
        tra = time_parser("trafilatura", pages_path, work)
        one["trafilatura"] = tra
        one["speedup"] = tra["cpu_ms_per_page"] / one["extract_full_warcs"]["cpu_ms_per_article"]
        one["speedup_parse_only"] = (
            tra["cpu_ms_per_page"] / one["ours_parse_only"]["cpu_ms_per_page"]
        )
    return one


def run_reextract(work: Path, rounds: int) -> dict[str, Any]:
    pages_path = work / "article-pages.pickle"
    figures: dict[str, Any] = {
        "archived_article_pages": save_article_pages(work / "full", pages_path),
        "extract_html_only_warcs": run_extract(work / "html-only", work, "extract-html-only"),
    }
    measured = [reextract_round(work, pages_path) for _ in range(rounds)]
    figures["rounds"] = measured
    figures["extract_full_warcs"] = _median_by(
        [one["extract_full_warcs"] for one in measured], "cpu_ms_per_article"
    )
    figures["ours_parse_only"] = _median_by(
        [one["ours_parse_only"] for one in measured], "cpu_ms_per_page"
    )
    if "trafilatura" in measured[0]:
        figures["trafilatura"] = _median_by(
            [one["trafilatura"] for one in measured], "cpu_ms_per_page"
        )
        for name in ("speedup", "speedup_parse_only"):
            ratios = [one[name] for one in measured]
            figures[name] = _median(ratios)
            figures[f"{name}_range"] = [min(ratios), max(ratios)]
    return figures


# Packaging and the reading room -------------------------------------------------------


def run_serve(articles: int, work: Path) -> dict[str, Any]:
    """``bench/serve_speed.py`` in its own subprocess; its figures."""
    out = work / "serve.json"
    command = [sys.executable, str(BENCH / "serve_speed.py"), "--articles", str(articles)]
    if articles < 3000:  # a small run (the smoke test): fewer new articles and query rounds
        command += ["--nightly", str(max(articles // 10, 1)), "--rounds", "2"]
    usage = run_measured([*command, "--json", str(out)], work / "serve.log")
    if usage.exit_code:
        raise RuntimeError(f"bench/serve_speed.py failed: see {work / 'serve.log'}")
    return json.loads(out.read_text(encoding="utf-8"))


def run_recover(articles: int, rounds: int, work: Path) -> dict[str, Any]:
    """``bench/recover_speed.py`` in its own subprocess; its figures."""
    out = work / "recover.json"
    command = [sys.executable, str(BENCH / "recover_speed.py"), "--articles", str(articles)]
    command += ["--rounds", str(min(rounds, RECOVER_ROUNDS_MAX)), "--json", str(out)]
    command += ["--workdir", str(work / "recover")]
    usage = run_measured(command, work / "recover.log")
    if usage.exit_code:
        raise RuntimeError(f"bench/recover_speed.py failed: see {work / 'recover.log'}")
    return json.loads(out.read_text(encoding="utf-8"))


def compile_sources() -> None:
    """Bytecode for the project's modules, as an installed package has it."""
    for folder in ("crawler", "archive", "reading_room", "replica", "bench"):
        compileall.compile_dir(REPO / folder, quiet=1)


# Results -----------------------------------------------------------------------------


def _budget(value: float | None, limit: float, at_most: bool, basis: str) -> dict[str, Any]:
    passed = None if value is None else (value <= limit if at_most else value >= limit)
    return {"value": value, "limit": limit, "at_most": at_most, "pass": passed, "basis": basis}


def budgets(results: dict[str, Any]) -> dict[str, Any]:
    rss, serve, recover = results.get("rss"), results.get("serve"), results.get("recover")
    wacz = results["wacz"]
    return {
        "crawl_cpu_ratio": _budget(
            results["crawl"]["cpu_ratio_html_only"],
            BUDGET_CPU_RATIO,
            True,
            "CPU per article page, portal-archiver crawl with ARCHIVE_REQUISITES=False "
            "over the plain Scrapy spider",
        ),
        "reextract_speedup": _budget(
            results["reextract"].get("speedup"),
            BUDGET_SPEEDUP,
            False,
            "trafilatura CPU ms per page (parser calls only) over portal-archiver extract "
            "CPU ms per article (whole process, WARCs with images), median of the rounds",
        ),
        "rss_mb": _budget(
            rss["peak_rss_mb"] if rss else None,
            BUDGET_RSS_MB,
            True,
            f"peak RSS of portal-archiver crawl of {rss['replica_articles'] if rss else 0} "
            "articles (images and files included)",
        ),
        "serve_build_s": _budget(
            serve["build_s"] if serve else None,
            BUDGET_SERVE_BUILD_S,
            True,
            f"search index of {serve['articles'] if serve else 0} articles built from scratch, "
            "wall seconds (bench/serve_speed.py)",
        ),
        "serve_search_p95_ms": _budget(
            serve["search_p95_ms"] if serve else None,
            BUDGET_SERVE_P95_MS,
            True,
            "search latency at the 95th percentile, wall ms as the client sees it",
        ),
        "wacz_time_ratio": _budget(
            wacz["time_ratio_vs_copy"],
            BUDGET_WACZ_TIME_RATIO,
            True,
            "wall time of portal-archiver wacz over cp + sync of the same WARC files "
            "(disk-bound near 1), median of the rounds",
        ),
        "wacz_rss_ratio": _budget(
            wacz["rss_ratio_large_vs_small"],
            BUDGET_WACZ_RSS_RATIO,
            True,
            f"peak RSS packaging {wacz['size_ratio_large_vs_small']:.0f}x the WARC bytes over "
            "packaging the pages-only collection (flat memory)",
        ),
        "recover_cpu_ratio": _budget(
            recover["ratio"] if recover else None,
            BUDGET_RECOVER_RATIO,
            True,
            "CPU per capture written, portal-archiver recover from a local pywb over crawl of "
            "the same replica, median of the rounds (bench/recover_speed.py)",
        ),
    }


def _crawl_row(name: str, figures: dict[str, Any]) -> str:
    warc = figures.get("warc_bytes_per_article_page")
    return (
        f"{name:<28}{figures['cpu_s_per_article_page'] * 1000:>10.2f}"
        f"{figures['article_pages_per_s']:>10.1f}{figures['peak_rss_mb']:>9.0f}"
        f"{figures['article_pages']:>8}{figures['requests']:>8}"
        + (f"{warc / 1024:>12.1f}" if warc is not None else f"{'-':>12}")
    )


def format_results(results: dict[str, Any]) -> str:
    crawl, reextract = results["crawl"], results["reextract"]
    lines = [
        f"Replica: {crawl['replica_articles']} articles; per article page = divided by the "
        "article pages each crawl fetched",
        f"{'crawl':<28}{'CPU ms/pg':>10}{'pages/s':>10}{'RSS MB':>9}{'art.pg':>8}"
        f"{'reqs':>8}{'WARC KB/pg':>12}",
        _crawl_row("(a) plain Scrapy", crawl["plain"]),
        _crawl_row("(a') plain, our tuning", crawl["plain_tuned"]),
        _crawl_row("(b) ours, pages only", crawl["ours_html_only"]),
        _crawl_row("(b+) ours, with images/files", crawl["ours_full"]),
        f"CPU ratio (b)/(a): {crawl['cpu_ratio_html_only']:.2f} (median of"
        f" {len(crawl['rounds'])} rounds, {crawl['cpu_ratio_html_only_range'][0]:.2f}"
        f"-{crawl['cpu_ratio_html_only_range'][1]:.2f})   (b)/(a'):"
        f" {crawl['cpu_ratio_vs_tuned']:.2f}   (b+)/(a): {crawl['cpu_ratio_full']:.2f}",
        "",
        f"{'re-extraction':<44}{'CPU ms/page':>12}",
        f"{'portal-archiver extract (WARCs with images)':<44}"
        f"{reextract['extract_full_warcs']['cpu_ms_per_article']:>12.2f}",
        f"{'portal-archiver extract (pages-only WARCs)':<44}"
        f"{reextract['extract_html_only_warcs']['cpu_ms_per_article']:>12.2f}",
        f"{'our parser alone':<44}{reextract['ours_parse_only']['cpu_ms_per_page']:>12.2f}",
        "extract gives the crawl's items, byte for byte: "
        + ("yes" if reextract["extract_full_warcs"]["identical_to_crawl"] else "NO"),
    ]
    if "trafilatura" in reextract:
        lines += [
            f"{'trafilatura.extract alone':<44}"
            f"{reextract['trafilatura']['cpu_ms_per_page']:>12.2f}",
            f"speed-up: {reextract['speedup']:.1f}x (extract command; median of"
            f" {len(reextract['rounds'])} rounds, {reextract['speedup_range'][0]:.1f}"
            f"-{reextract['speedup_range'][1]:.1f}), "
            f"{reextract['speedup_parse_only']:.1f}x (parser alone)",
        ]
    else:
        lines.append("trafilatura not installed: pip install 'portal-archiver[bench]'")
    rss = results.get("rss")
    if rss:
        lines += [
            "",
            f"RSS crawl: {rss['replica_articles']} articles, peak RSS {rss['peak_rss_mb']:.0f} MB,"
            f" {rss['wall_s']:.0f} s wall, {rss['cpu_s_per_article_page'] * 1000:.2f} CPU ms/pg",
        ]
    lines += ["", *format_wacz(results["wacz"])]
    serve = results.get("serve")
    if serve:
        lines.append(
            f"serve: {serve['articles']} articles, index built in {serve['build_s']:.1f} s"
            f" ({serve['nightly_s']:.2f} s after a nightly crawl); search p50"
            f" {serve['search_p50_ms']:.0f} ms, p95 {serve['search_p95_ms']:.0f} ms over"
            f" {serve['requests']} requests (server CPU p95 {serve['request_cpu_p95_ms']:.0f} ms);"
            f" server peak RSS {serve['server_peak_rss_mb']:.0f} MB"
        )
    recover = results.get("recover")
    if recover:
        low, high = recover["ratio_range"]
        lines.append(
            f"recover/crawl CPU per capture: {recover['ratio']:.2f}x (median of"
            f" {len(recover['rounds'])} rounds, {low:.2f}-{high:.2f}; {recover['articles']}"
            " articles, recovered from a local pywb)"
        )
    lines += ["", quality.format_table(results["quality"]), "", "Budgets:"]
    for name, budget in results["budgets"].items():
        verdict = {True: "PASS", False: "FAIL", None: "not measured"}[budget["pass"]]
        value = "-" if budget["value"] is None else f"{budget['value']:.2f}"
        sign = "<=" if budget["at_most"] else ">="
        lines.append(f"  {name:<20} {value:>8} {sign} {budget['limit']:<6} {verdict}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "scrapy": installed("scrapy"),
        "lxml": installed("lxml"),
        "trafilatura": installed("trafilatura"),
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "articles": args.articles}
    compile_sources()
    results["crawl"] = run_crawls(args.articles, args.rounds, work)
    results["reextract"] = run_reextract(work, args.rounds)
    results["wacz"] = run_wacz(work / "html-only", work / "full", work, args.rounds)
    results["rss"] = run_rss(args.rss_articles, work) if args.rss_articles else None
    results["serve"] = run_serve(args.serve_articles, work) if args.serve_articles else None
    results["recover"] = (
        run_recover(args.recover_articles, args.rounds, work) if args.recover_articles else None
    )
    results["quality"] = quality.run_quality()
    results["budgets"] = budgets(results)
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark portal-archiver against plain Scrapy and trafilatura."
    )
    parser.add_argument("--articles", type=int, default=3000, metavar="N")
    parser.add_argument(
        "--rss-articles",
        type=int,
        default=20000,
        metavar="N",
        help="size of the crawl measured for peak RSS (0 skips; 20,000 takes ~10 min, 7 GB disk)",
    )
    parser.add_argument(
        "--serve-articles",
        type=int,
        default=20000,
        metavar="N",
        help="articles in the reading room's search benchmark (0 skips; 20,000 take ~1 min)",
    )
    parser.add_argument(
        "--recover-articles",
        type=int,
        default=300,
        metavar="N",
        help="articles of the replica recovered from a local pywb (0 skips; 300 take ~1 min a "
        f"round, at most {RECOVER_ROUNDS_MAX} rounds)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        metavar="N",
        help="interleaved rounds of (a), (a') and (b), and of extract and trafilatura; "
        "medians are reported (default 5: the plain spider alone moves by half between rounds)",
    )
    parser.add_argument("--json", type=Path, default=BENCH / "results.json", metavar="FILE")
    parser.add_argument(
        "--workdir", type=Path, metavar="DIR", help="keep collections and logs here"
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.worker:
        name, pages, result = args.worker
        worker(name, Path(pages), Path(result))
        return
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        results = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as work:
            results = run(args, Path(work))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(format_results(results))
    print(f"\nFigures: {args.json}")


if __name__ == "__main__":
    main()
