"""``recover``'s CPU per recovered capture against ``crawl``'s per fetched page (issue 16).

Budget: recovering a capture from a web archive costs no more CPU than crawling the page did.

Each round, on the same replica portal: (c) ``portal-archiver crawl`` as shipped (images and
files included) into a fresh collection; then a real pywb serves that collection as a web
archive, the replica is stopped, and (r) ``portal-archiver recover`` rebuilds the site from
the pywb into another fresh collection, with no delay between requests (the archives'
politeness pacing is wall time, not CPU). Both run in their own subprocess; CPU is user +
system time from ``os.wait4`` (pywb's own CPU is the archive's, not counted). "Per capture"
divides by the response records each run wrote (pages, images and files alike: what was
fetched and archived), read back from its WARC files; the CDX queries ``recover`` makes are
its own overhead and counted in its CPU. The ratio is (r)/(c) per round; the median round
and the range over rounds are printed, and written as JSON with ``--json``.

    python bench/recover_speed.py [--articles 300] [--rounds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

from measure import LOOPBACK, Usage, run_measured, settings_args  # noqa: E402

from archive.reader import iter_records  # noqa: E402
from crawler.commands import replica_process, stop_process  # noqa: E402

BUDGET_RATIO = 1.0
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# No pacing, several requests at once: this measures CPU, not the archives' rate limits.
RECOVER = ("DOWNLOAD_DELAY=0", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "LOG_LEVEL=WARNING")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wayback() -> str:
    found = shutil.which("wayback") or str(Path(sys.executable).parent / "wayback")
    if not Path(found).exists():
        raise SystemExit("pywb's wayback is needed: pip install -e '.[test]'")
    return found


@contextmanager
def running_pywb(root: Path, collection: Path) -> Iterator[str]:
    """pywb serving ``collection`` (a portal-archiver collection) as ``{base}arch``."""
    config = (
        "collections:\n  arch:\n"
        f"    index_paths: {collection / 'indexes'}\n    archive_paths: {collection / 'warc'}/\n"
    )
    (root / "config.yaml").write_text(config)
    port = _free_port()
    process = subprocess.Popen(
        [_wayback(), "-b", "127.0.0.1", "-p", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                NO_PROXY.open(base, timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("pywb did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        stop_process(process)


def captures_written(collection: Path) -> int:
    """Response records in the collection's WARC files: what the run fetched and kept."""
    paths = sorted((collection / "warc").glob("*.warc.gz"))
    return sum(1 for record in iter_records(paths) if not record.is_revisit)


def figures(usage: Usage, collection: Path) -> dict[str, Any]:
    captures = captures_written(collection)
    report = json.loads((collection / "report.json").read_text(encoding="utf-8"))
    return {
        **asdict(usage),
        "captures": captures,
        "articles": report["articles"],
        "cpu_ms_per_capture": usage.cpu_s * 1000 / max(captures, 1),
    }


def run_round(articles: int, work: Path) -> dict[str, Any]:
    crawled, recovered = work / "crawled", work / "recovered"
    for directory in (crawled, recovered):
        shutil.rmtree(directory, ignore_errors=True)
    cli = [sys.executable, "-m", "crawler.cli"]
    with replica_process("--articles", str(articles)) as url:
        site = f"{url}web/hlv"
        command = [*cli, "crawl", site, "--out", str(crawled), *settings_args(LOOPBACK)]
        crawl = run_measured(command, work / "crawl.log")
    # The replica is gone: only the archive holds the site.
    with running_pywb(work, crawled) as pywb:
        command = [*cli, "recover", site, "--archive", f"{pywb}arch", "--out", str(recovered)]
        recover = run_measured(command + settings_args(RECOVER), work / "recover.log")
    for name, usage in (("crawl", crawl), ("recover", recover)):
        if usage.exit_code != 0:
            raise SystemExit(f"{name} failed (exit {usage.exit_code}): see {work}/{name}.log")
    ours = {"crawl": figures(crawl, crawled), "recover": figures(recover, recovered)}
    ours["ratio"] = ours["recover"]["cpu_ms_per_capture"] / ours["crawl"]["cpu_ms_per_capture"]
    return ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="recover-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rounds = [run_round(args.articles, work) for _ in range(args.rounds)]
    ratios = [one["ratio"] for one in rounds]
    median = statistics.median(ratios)
    middle = min(rounds, key=lambda one: abs(one["ratio"] - median))
    results = {
        "articles": args.articles,
        "rounds": rounds,
        "ratio": median,
        "ratio_range": [min(ratios), max(ratios)],
        "budget": {"limit": BUDGET_RATIO, "met": median <= BUDGET_RATIO},
    }
    for name in ("crawl", "recover"):
        one = middle[name]
        print(
            f"{name:8} {one['captures']:6d} captures  {one['articles']:5d} articles  "
            f"{one['cpu_s']:7.2f} s CPU  {one['cpu_ms_per_capture']:6.2f} ms CPU per capture"
        )
    low, high = results["ratio_range"]
    verdict = "met" if results["budget"]["met"] else "NOT met"
    print(
        f"recover/crawl CPU per capture: {median:.2f}x (range {low:.2f}-{high:.2f} over "
        f"{len(rounds)} rounds); budget <= {BUDGET_RATIO:.1f}x: {verdict}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
