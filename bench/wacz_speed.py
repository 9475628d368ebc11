"""``portal-archiver wacz`` against copying the same WARC bytes, and its memory by size.

The budget (issue 16) is that packaging is limited by the disk, not the CPU: the stored WARCs
go into the ZIP as they are (no recompression), so ``wacz`` should take about as long as
copying them. The anchor is ``cp`` of the collection's WARC files followed by ``sync`` of the
copies (``wacz`` fsyncs its package), measured in the same round. ``cp`` copies inside the
kernel (``copy_file_range``) from a page cache that holds the files, as ``wacz`` does
(archive/zipstore.py); a second anchor is ``dd`` (``bs=1M conv=fsync``): every byte through a
user-space buffer once, and written to disk.

``wacz`` is measured twice in each round: as it runs on a crawl's collection, taking each WARC
file's CRC-32 and SHA-256 from the fixity manifest its writer recorded (archive/fixity.py) and
copying it without reading it back; and with ``--rehash``, reading every byte back to sum it
(the floor of packaging with the sums derived from the bytes, and what a collection crawled
before the manifest gets). The two swap places every other round. The figures say how many of
the collection's files have a matching record: with none (an older collection), both
measures are the same work.

Memory is flat when the peak RSS of packaging a collection does not grow with it: it is
measured on two collections of different sizes (the crawl's pages-only and full collections,
or ``--small``).

Alone: ``python bench/wacz_speed.py DIR --rounds 5 [--small DIR2] [--before CHECKOUT]``, or
``python bench/wacz_speed.py --crawl 3000 --rounds 5`` to crawl the bundled replica first (with
images and files, and pages only for the memory check: collections with their manifest, in a
temporary folder removed at the end); ``--before``
also packages with the code of another checkout in each round (same machine, same moments),
for before/after figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from measure import HTML_ONLY, LOOPBACK, REPO, Usage, run_measured, settings_args

from archive.fixity import matches
from archive.fixity import read as read_fixity


def _warc_bytes(collection: Path) -> int:
    return sum(path.stat().st_size for path in _warcs(collection))


def _warcs(collection: Path) -> list[Path]:
    return sorted((collection / "warc").glob("*.warc*"))


def _recorded_files(collection: Path) -> int:
    """The WARC files whose fixity record still matches them (taken on trust by ``wacz``)."""
    records = read_fixity(collection / "warc")
    return sum(
        1
        for path in _warcs(collection)
        if path.name in records and matches(records[path.name], path.stat())
    )


def crawl_collections(articles: int, work: Path) -> tuple[Path, Path]:
    """Crawl the bundled replica of ``articles`` articles into ``work``, as
    ``bench/benchmark.py`` does: with images and files (the collection measured), and pages
    only (the smaller one, for the memory check)."""
    from crawler.commands import replica_process

    collections = (work / "full", work / "html-only")
    with replica_process("--articles", str(articles)) as url:
        for out, extra in zip(collections, ((), HTML_ONLY), strict=True):
            command = [sys.executable, "-m", "crawler.cli", "crawl", url, "--out", str(out)]
            settings = settings_args([*LOOPBACK, *extra])
            log = work / f"crawl-{out.name}.log"
            usage = run_measured(command + settings, log)
            if usage.exit_code != 0:
                raise SystemExit(f"the crawl failed (exit {usage.exit_code}): see {log}")
    return collections


def _copy(collection: Path, work: Path) -> Usage:
    target = work / "copied-warcs"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    sources = " ".join(shlex.quote(str(path)) for path in _warcs(collection))
    script = f"cp {sources} {shlex.quote(str(target))}/ && sync {shlex.quote(str(target))}/*"
    usage = run_measured(["sh", "-c", script], work / "copy.log")
    shutil.rmtree(target, ignore_errors=True)
    return usage


def _dd(collection: Path, work: Path) -> Usage:
    target = work / "dd-copy"
    copies = [
        f"dd if={shlex.quote(str(path))} of={shlex.quote(str(target))} bs=1M conv=fsync status=none"
        for path in _warcs(collection)
    ]
    usage = run_measured(["sh", "-c", " && ".join(copies)], work / "dd.log")
    target.unlink(missing_ok=True)
    return usage


def _package(collection: Path, work: Path, checkout: Path = REPO, *, rehash: bool = False) -> Usage:
    """``wacz`` of ``collection`` with the code of ``checkout`` (``-m`` puts the working
    directory first on the path; ``exec``, so that the usage is Python's alone); with
    ``rehash``, every WARC file is summed from its bytes."""
    out = work / "package.wacz"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "crawler.cli", "wacz", str(collection), "--out", str(out)]
    command += ["--rehash"] if rehash else []
    script = f"cd {shlex.quote(str(checkout))} && exec {shlex.join(command)}"
    usage = run_measured(["sh", "-c", script], work / "wacz.log")
    out.unlink(missing_ok=True)
    return usage


def _figures(name: str, usage: Usage, size_mb: float, anchor: Usage) -> dict[str, Any]:
    return {
        f"{name}_wall_s": usage.wall_s,
        f"{name}_cpu_s": usage.cpu_s,
        f"{name}_mb_per_s": size_mb / usage.wall_s,
        f"{name}_peak_rss_mb": usage.peak_rss_mb,
        f"{name}_exit_code": usage.exit_code,
        # Near 1, the CPU is the limit; well under 1, the process waits on the disk.
        f"{name}_cpu_share_of_wall": usage.cpu_s / usage.wall_s,
        # Wall time over the copy's: 1 means packaging runs at the speed of the disk.
        f"{name}_time_ratio_vs_copy": usage.wall_s / anchor.wall_s,
    }


def wacz_round(
    collection: Path, work: Path, before: Path | None = None, turn: int = 0
) -> dict[str, Any]:
    """Copy, dd, package with the manifest and with ``--rehash`` (and with the ``before``
    code), back to back, so that their ratios share the machine's mood; the packagings swap
    places every other ``turn``, so none always runs right after another's writeback."""
    size_mb = _warc_bytes(collection) / 2**20
    load = os.getloadavg()[0]
    copy, dd = _copy(collection, work), _dd(collection, work)
    earlier = _package(collection, work, before) if before is not None and turn % 2 else None
    if turn % 2:
        rehashed, package = _package(collection, work, rehash=True), _package(collection, work)
    else:
        package, rehashed = _package(collection, work), _package(collection, work, rehash=True)
    figures = {
        "warc_mb": size_mb,
        "warc_files": len(_warcs(collection)),
        "recorded_files": _recorded_files(collection),
        "load_average": load,
        **_figures("copy", copy, size_mb, copy),
        **_figures("dd", dd, size_mb, copy),
        **_figures("wacz", package, size_mb, copy),
        **_figures("rehash", rehashed, size_mb, copy),
        "time_ratio_vs_copy": package.wall_s / copy.wall_s,
        "time_ratio_vs_dd": package.wall_s / dd.wall_s,
        "cpu_share_of_wall": package.cpu_s / package.wall_s,
        "rehash_time_ratio_vs_dd": rehashed.wall_s / dd.wall_s,
    }
    if before is not None:
        earlier = earlier or _package(collection, work, before)
        figures |= _figures("before", earlier, size_mb, copy)
        figures["before_time_ratio_vs_dd"] = figures["before_wall_s"] / dd.wall_s
    return figures


def _median_of(rounds: list[dict[str, Any]], key: str) -> float:
    ordered = sorted(one[key] for one in rounds)
    return ordered[(len(ordered) - 1) // 2]


def run_wacz(
    small: Path, large: Path, work: Path, rounds: int, before: Path | None = None
) -> dict[str, Any]:
    """``rounds`` rounds on ``large``, one on ``small`` for the memory comparison; first one
    round unmeasured, so that no measured round pays for the writeback of a fresh crawl (or
    for a cold page cache)."""
    wacz_round(large, work)
    measured = [wacz_round(large, work, before, turn) for turn in range(rounds)]
    ratios = [one["time_ratio_vs_copy"] for one in measured]
    rehash_ratios = [one["rehash_time_ratio_vs_copy"] for one in measured]
    smaller = wacz_round(small, work)
    figures = {
        "rounds": measured,
        "warc_mb": measured[0]["warc_mb"],
        "warc_files": measured[0]["warc_files"],
        "recorded_files": measured[0]["recorded_files"],
        "load_average": _median_of(measured, "load_average"),
        "copy_mb_per_s": _median_of(measured, "copy_mb_per_s"),
        "dd_mb_per_s": _median_of(measured, "dd_mb_per_s"),
        "wacz_mb_per_s": _median_of(measured, "wacz_mb_per_s"),
        "time_ratio_vs_copy": _median_of(measured, "time_ratio_vs_copy"),
        "time_ratio_vs_copy_range": [min(ratios), max(ratios)],
        "time_ratio_vs_dd": _median_of(measured, "time_ratio_vs_dd"),
        "cpu_share_of_wall": _median_of(measured, "cpu_share_of_wall"),
        "wacz_cpu_s": _median_of(measured, "wacz_cpu_s"),
        "peak_rss_mb": max(one["wacz_peak_rss_mb"] for one in measured),
        "rehash_mb_per_s": _median_of(measured, "rehash_mb_per_s"),
        "rehash_time_ratio_vs_copy": _median_of(measured, "rehash_time_ratio_vs_copy"),
        "rehash_time_ratio_vs_copy_range": [min(rehash_ratios), max(rehash_ratios)],
        "rehash_time_ratio_vs_dd": _median_of(measured, "rehash_time_ratio_vs_dd"),
        "rehash_cpu_share_of_wall": _median_of(measured, "rehash_cpu_share_of_wall"),
        "rehash_cpu_s": _median_of(measured, "rehash_cpu_s"),
        "rehash_peak_rss_mb": max(one["rehash_peak_rss_mb"] for one in measured),
        "small": smaller,
        # Peak RSS packaging the large collection over the small one's, and their sizes' ratio.
        "rss_ratio_large_vs_small": max(one["wacz_peak_rss_mb"] for one in measured)
        / smaller["wacz_peak_rss_mb"],
        "size_ratio_large_vs_small": measured[0]["warc_mb"] / max(smaller["warc_mb"], 1e-9),
    }
    if before is not None:
        for key in ("time_ratio_vs_copy", "time_ratio_vs_dd", "cpu_share_of_wall", "cpu_s"):
            figures[f"before_{key}"] = _median_of(measured, f"before_{key}")
        before_ratios = [one["before_time_ratio_vs_copy"] for one in measured]
        figures["before_time_ratio_vs_copy_range"] = [min(before_ratios), max(before_ratios)]
    return figures


def format_wacz(figures: dict[str, Any]) -> list[str]:
    small = figures["small"]
    low, high = figures["time_ratio_vs_copy_range"]
    rehash_low, rehash_high = figures["rehash_time_ratio_vs_copy_range"]
    return [
        f"wacz: {figures['warc_mb']:.0f} MB of WARC in {figures['warc_files']} files,"
        f" {figures['recorded_files']} with a matching fixity record, at"
        f" {figures['wacz_mb_per_s']:.0f} MB/s; cp + sync of the same files"
        f" {figures['copy_mb_per_s']:.0f} MB/s: time ratio {figures['time_ratio_vs_copy']:.2f}"
        f" (median of {len(figures['rounds'])} rounds, {low:.2f}-{high:.2f}); CPU"
        f" {figures['wacz_cpu_s']:.2f} s, {figures['cpu_share_of_wall']:.0%} of its wall time",
        f"wacz --rehash (every byte read back and summed) at {figures['rehash_mb_per_s']:.0f}"
        f" MB/s: time ratio {figures['rehash_time_ratio_vs_copy']:.2f} ({rehash_low:.2f}-"
        f"{rehash_high:.2f}); CPU {figures['rehash_cpu_s']:.2f} s,"
        f" {figures['rehash_cpu_share_of_wall']:.0%} of its wall time; peak RSS"
        f" {figures['rehash_peak_rss_mb']:.0f} MB",
        f"wacz against dd (read, write, fsync) at {figures['dd_mb_per_s']:.0f} MB/s: time ratio"
        f" {figures['time_ratio_vs_dd']:.2f} ({figures['rehash_time_ratio_vs_dd']:.2f} with"
        f" --rehash); load average {figures['load_average']:.1f}",
        f"wacz peak RSS {figures['peak_rss_mb']:.0f} MB at {figures['warc_mb']:.0f} MB of WARC,"
        f" {small['wacz_peak_rss_mb']:.0f} MB at {small['warc_mb']:.0f} MB: ratio"
        f" {figures['rss_ratio_large_vs_small']:.2f} for"
        f" {figures['size_ratio_large_vs_small']:.1f}x the size",
    ]


def _round_line(one: dict[str, Any]) -> str:
    line = (
        f"round (load {one['load_average']:.1f}): wacz {one['wacz_wall_s']:.2f} s"
        f" (CPU {one['wacz_cpu_s']:.2f} s), --rehash {one['rehash_wall_s']:.2f} s"
        f" (CPU {one['rehash_cpu_s']:.2f} s), cp + sync {one['copy_wall_s']:.2f} s"
        f" (CPU {one['copy_cpu_s']:.2f} s), dd {one['dd_wall_s']:.2f} s"
        f" (CPU {one['dd_cpu_s']:.2f} s): ratio {one['time_ratio_vs_copy']:.2f} vs cp"
        f" ({one['rehash_time_ratio_vs_copy']:.2f} with --rehash),"
        f" {one['time_ratio_vs_dd']:.2f} vs dd"
    )
    if "before_wall_s" in one:
        line += (
            f"; before {one['before_wall_s']:.2f} s (CPU {one['before_cpu_s']:.2f} s):"
            f" {one['before_time_ratio_vs_copy']:.2f} vs cp,"
            f" {one['before_time_ratio_vs_dd']:.2f} vs dd"
        )
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "collection", type=Path, nargs="?", help="a collection directory (with warc/)"
    )
    parser.add_argument(
        "--crawl",
        type=int,
        metavar="ARTICLES",
        help="instead, crawl a replica of this many articles first and package that collection",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--small", type=Path, help="a smaller collection, for the memory check")
    parser.add_argument("--before", type=Path, help="a checkout whose wacz to measure too")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if (args.collection is None) == (args.crawl is None):
        parser.error("give a collection directory or --crawl ARTICLES (one of them)")
    parent = args.collection.resolve().parent if args.collection else None
    with tempfile.TemporaryDirectory(prefix="wacz-speed-", dir=parent) as work:
        if args.crawl is not None:
            collection, pages_only = crawl_collections(args.crawl, Path(work))
        else:
            collection = pages_only = args.collection.resolve()
        small = args.small.resolve() if args.small else pages_only
        figures = run_wacz(small, collection, Path(work), args.rounds, args.before)
    print("\n".join(_round_line(one) for one in figures["rounds"]))
    print("\n".join(format_wacz(figures)))
    if args.before is not None:
        low, high = figures["before_time_ratio_vs_copy_range"]
        print(
            f"before: time ratio {figures['before_time_ratio_vs_copy']:.2f} vs cp"
            f" ({low:.2f}-{high:.2f}), {figures['before_time_ratio_vs_dd']:.2f} vs dd; CPU"
            f" {figures['before_cpu_s']:.2f} s, {figures['before_cpu_share_of_wall']:.0%} of"
            " its wall time (medians)"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
