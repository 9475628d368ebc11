"""``portal-archiver wacz`` against copying the same WARC bytes, and its memory by size.

The budget (issue 16) is that packaging is limited by the disk, not the CPU: the stored WARCs
go into the ZIP as they are (no recompression), so ``wacz`` should take about as long as
copying them. The anchor is ``cp`` of the collection's WARC files followed by ``sync`` of the
copies (``wacz`` fsyncs its package), measured in the same round. Memory is flat when the
peak RSS of packaging a collection does not grow with it: it is measured on two collections
of different sizes (the crawl's pages-only and full collections).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from measure import Usage, run_measured


def _warc_bytes(collection: Path) -> int:
    return sum(path.stat().st_size for path in (collection / "warc").glob("*.warc*"))


def _copy(collection: Path, work: Path) -> Usage:
    target = work / "copied-warcs"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    sources = " ".join(f"'{path}'" for path in sorted((collection / "warc").glob("*.warc*")))
    script = f"cp {sources} '{target}/' && sync '{target}'/*"
    usage = run_measured(["sh", "-c", script], work / "copy.log")
    shutil.rmtree(target, ignore_errors=True)
    return usage


def _package(collection: Path, work: Path) -> Usage:
    out = work / "package.wacz"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "crawler.cli", "wacz", str(collection), "--out", str(out)]
    usage = run_measured(command, work / "wacz.log")
    out.unlink(missing_ok=True)
    return usage


def wacz_round(collection: Path, work: Path) -> dict[str, Any]:
    """Copy, then package, back to back, so that their ratio shares the machine's mood."""
    size_mb = _warc_bytes(collection) / 2**20
    copy, package = _copy(collection, work), _package(collection, work)
    return {
        "warc_mb": size_mb,
        "copy_wall_s": copy.wall_s,
        "copy_mb_per_s": size_mb / copy.wall_s,
        "wacz_wall_s": package.wall_s,
        "wacz_cpu_s": package.cpu_s,
        "wacz_mb_per_s": size_mb / package.wall_s,
        "wacz_peak_rss_mb": package.peak_rss_mb,
        "wacz_exit_code": package.exit_code,
        # Wall time over the copy's: 1 means packaging runs at the speed of the disk.
        "time_ratio_vs_copy": package.wall_s / copy.wall_s,
        # Near 1, the CPU is the limit; well under 1, the process waits on the disk.
        "cpu_share_of_wall": package.cpu_s / package.wall_s,
    }


def _median_of(rounds: list[dict[str, Any]], key: str) -> float:
    ordered = sorted(one[key] for one in rounds)
    return ordered[(len(ordered) - 1) // 2]


def run_wacz(small: Path, large: Path, work: Path, rounds: int) -> dict[str, Any]:
    """``rounds`` rounds on ``large``, one on ``small`` for the memory comparison."""
    measured = [wacz_round(large, work) for _ in range(rounds)]
    ratios = [one["time_ratio_vs_copy"] for one in measured]
    smaller = wacz_round(small, work)
    return {
        "rounds": measured,
        "warc_mb": measured[0]["warc_mb"],
        "copy_mb_per_s": _median_of(measured, "copy_mb_per_s"),
        "wacz_mb_per_s": _median_of(measured, "wacz_mb_per_s"),
        "time_ratio_vs_copy": _median_of(measured, "time_ratio_vs_copy"),
        "time_ratio_vs_copy_range": [min(ratios), max(ratios)],
        "cpu_share_of_wall": _median_of(measured, "cpu_share_of_wall"),
        "peak_rss_mb": max(one["wacz_peak_rss_mb"] for one in measured),
        "small": smaller,
        # Peak RSS packaging the large collection over the small one's, and their sizes' ratio.
        "rss_ratio_large_vs_small": max(one["wacz_peak_rss_mb"] for one in measured)
        / smaller["wacz_peak_rss_mb"],
        "size_ratio_large_vs_small": measured[0]["warc_mb"] / max(smaller["warc_mb"], 1e-9),
    }


def format_wacz(figures: dict[str, Any]) -> list[str]:
    small = figures["small"]
    low, high = figures["time_ratio_vs_copy_range"]
    return [
        f"wacz: {figures['warc_mb']:.0f} MB of WARC at {figures['wacz_mb_per_s']:.0f} MB/s,"
        f" cp + sync of the same files {figures['copy_mb_per_s']:.0f} MB/s: time ratio"
        f" {figures['time_ratio_vs_copy']:.2f} (median of {len(figures['rounds'])} rounds,"
        f" {low:.2f}-{high:.2f}); CPU {figures['cpu_share_of_wall']:.0%} of its wall time",
        f"wacz peak RSS {figures['peak_rss_mb']:.0f} MB at {figures['warc_mb']:.0f} MB of WARC,"
        f" {small['wacz_peak_rss_mb']:.0f} MB at {small['warc_mb']:.0f} MB: ratio"
        f" {figures['rss_ratio_large_vs_small']:.2f} for"
        f" {figures['size_ratio_large_vs_small']:.1f}x the size",
    ]


def main(argv: list[str] | None = None) -> int:
    """Measure one collection alone: ``python bench/wacz_speed.py DIR --rounds 5``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collection", type=Path, help="a collection directory (with warc/)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--small", type=Path, help="a smaller collection, for the memory check")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wacz-speed-", dir=args.collection.parent) as work:
        figures = run_wacz(args.small or args.collection, args.collection, Path(work), args.rounds)
    for one in figures["rounds"]:
        print(
            f"round: wacz {one['wacz_wall_s']:.2f} s (CPU {one['wacz_cpu_s']:.2f} s),"
            f" cp + sync {one['copy_wall_s']:.2f} s, ratio {one['time_ratio_vs_copy']:.2f}"
        )
    print("\n".join(format_wacz(figures)))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
