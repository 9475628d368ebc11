"""The reading room at 20,000 articles: search index build, nightly update, search latency, memory.

Budgets (issue 15): index built from scratch within a minute and in seconds after a nightly
crawl; search answers within 50 ms at the 95th percentile; the server under 200 MB.

The collection's ``items.jsonl`` is made from the replica's catalogue (its generated Vietnamese
articles), so no crawl is needed; then ``portal-archiver serve`` runs as a user runs it and is
asked over HTTP, from this process, a mix of searches (words with and without marks, phrases,
filters, browsing, paging, the HTML page with its facets). Latency is wall time per request as
the client sees it; since it depends on what else the machine runs, the server's CPU time per
request and the load average are printed beside it. Memory is the server's peak RSS
(``VmHWM``) after all of them.

    python bench/serve_speed.py --articles 20000 --json bench/serve_results.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archive.search import update_search_index  # noqa: E402
from crawler.urls import article_key  # noqa: E402
from replica.catalog import Catalog  # noqa: E402

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
HOST = "https://lapvo.dongthap.gov.vn"
QUERIES = [
    "thuong truc huyen uy",
    "Huyện ủy Lấp Vò",
    "nông thôn mới",
    "nong thon moi nang cao",
    '"cai cach hanh chinh"',
    "an hoà",
    "tuyển dụng viên chức",
    "dinh yen",
    "phong chong dich benh",
    "ngay hoi dai doan ket",
    "2025",
    "le giao nhan quan",
    "thông báo số",
    "san xuat lua chat luong cao",
    "xa tan my",
]


def make_items(count: int, edition: int = 0) -> list[dict[str, Any]]:
    """Items like the crawler's, for the replica catalogue's generated articles."""
    catalog = Catalog(size=count, edition=edition)
    items = []
    for article in catalog.articles.values():
        if article.specimen:
            continue
        body = catalog.body(article)
        site = f"{HOST.removeprefix('https://')}{article.site.prefix}"
        items.append(
            {
                "url": f"{HOST}{article.path}",
                "site": site,
                "key": article_key(f"{HOST}{article.path}"),
                "version": 1,
                "title": body.title,
                "summary": body.summary,
                "paragraphs": body.paragraphs,
                "captions": [caption for _, caption in body.images],
                "images": [{"url": HOST + src, "caption": cap} for src, cap in body.images],
                "byline": body.byline,
                "published": article.published.isoformat(),
                "category": body.category,
                "attachments": [{"url": HOST + src, "title": t} for src, t in body.attachments],
                "fetched_at": "2025-07-01T00:00:00Z",
            }
        )
    return items


def write_items(path: Path, items: list[dict[str, Any]]) -> None:
    with path.open("a", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")


def timed(function: Any, *args: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def start_server(directory: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "serve", str(directory), "--port", "0",
         "--no-replay"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("reading room: http"):
            return process, line.split(": ", 1)[1].strip()
    raise RuntimeError(f"serve did not start (exit {process.wait()})")


def requests(rounds: int) -> list[str]:
    rng = random.Random(5)
    paths = []
    for _ in range(rounds):
        for query in QUERIES:
            paths.append("api/search?" + urlencode({"q": query}))
        paths += [
            "api/search?" + urlencode({"q": rng.choice(QUERIES), "offset": rng.randint(0, 200)}),
            "api/search?" + urlencode({"q": rng.choice(QUERIES), "from": "2024", "to": "2024"}),
            "api/search?limit=50",
            "?" + urlencode({"q": rng.choice(QUERIES)}),
            "?" + urlencode({"q": rng.choice(QUERIES), "page": 3}),
        ]
    rng.shuffle(paths)
    return paths


def latencies(base: str, paths: list[str]) -> tuple[list[float], list[float]]:
    """Wall time per request as the client sees it, and the server's CPU time for it (from
    its ``Server-Timing`` header), in ms."""
    walls, cpus = [], []
    for path in paths:
        started = time.perf_counter()
        with NO_PROXY.open(base + path, timeout=30) as response:
            response.read()
            assert response.status == 200
        walls.append((time.perf_counter() - started) * 1000)
        timing = dict(
            part.strip().split(";dur=") for part in response.headers["Server-Timing"].split(",")
        )
        cpus.append(float(timing["cpu"]))
    return walls, cpus


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--nightly", type=int, default=300, help="articles a nightly crawl adds")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of the query mix")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    figures: dict[str, Any] = {"articles": args.articles}
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as temp:
        directory = Path(temp) / "collection"
        directory.mkdir()
        everything = make_items(args.articles + args.nightly)
        # The catalogue walks newest first: the oldest ones are the collection, the rest "new".
        write_items(directory / "items.jsonl", everything[args.nightly :])
        figures["items_mb"] = round((directory / "items.jsonl").stat().st_size / 2**20, 1)
        added, wall, cpu = timed(update_search_index, directory)
        figures |= {"build_lines": added, "build_s": round(wall, 2), "build_cpu_s": round(cpu, 2)}
        figures["index_mb"] = round((directory / "search.sqlite").stat().st_size / 2**20, 1)
        edited = [{**item, "version": 2, "title": item["title"] + " (cập nhật)"}
                  for item in everything[args.nightly : args.nightly + 50]]  # fmt: skip
        write_items(directory / "items.jsonl", everything[: args.nightly] + edited)
        added, wall, cpu = timed(update_search_index, directory)
        figures |= {"nightly_lines": added, "nightly_s": round(wall, 3)}
        process, base = start_server(directory)
        try:
            latencies(base, requests(1))  # warm the caches once, as a running server has them
            cpu_before, load_before = cpu_seconds(process.pid), os.getloadavg()[0]
            measured, cpus = latencies(base, requests(args.rounds))
            cpu = cpu_seconds(process.pid) - cpu_before
            figures |= {
                "server_cpu_ms_per_request": round(cpu * 1000 / len(measured), 1),
                "request_cpu_p50_ms": round(statistics.median(cpus), 1),
                "request_cpu_p95_ms": round(percentile(cpus, 0.95), 1),
                "load_average": round((load_before + os.getloadavg()[0]) / 2, 1),
                "requests": len(measured),
                "search_p50_ms": round(statistics.median(measured), 1),
                "search_p95_ms": round(percentile(measured, 0.95), 1),
                "search_max_ms": round(max(measured), 1),
                "server_peak_rss_mb": round(peak_rss_mb(process.pid), 1),
            }
        finally:
            process.terminate()
            process.wait(timeout=30)
    for name, value in figures.items():
        print(f"{name:>20}: {value}")
    budgets = {
        "build within 60 s": figures["build_s"] <= 60,
        "search p95 under 50 ms (wall, as the client sees it)": figures["search_p95_ms"] < 50,
        "search p95 under 50 ms (server CPU)": figures["request_cpu_p95_ms"] < 50,
        "server under 200 MB": figures["server_peak_rss_mb"] < 200,
    }
    for name, met in budgets.items():
        print(f"{name}: {'met' if met else 'NOT MET'}")
    if args.json:
        args.json.write_text(json.dumps(figures | {"budgets": budgets}, indent=1) + "\n")


if __name__ == "__main__":
    main()
