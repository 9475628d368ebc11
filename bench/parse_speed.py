"""Median CPU time of ``parse_article`` per specimen page (time.process_time, repeated runs).

Usage: python bench/parse_speed.py [--runs N]. The budget is 1.5 ms per page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import replica
from crawler.parsers.article import parse_article
from crawler.parsers.page import Page

# The replica serves them; they carry the answers a perfect extractor gives.
SPECIMENS = Path(replica.__file__).parent / "data"
BUDGET_MS = 1.5


# Article pages of the portals' earlier generations (DotNetNuke, SharePoint, post-2025).
GENERATIONS = Path(__file__).parent.parent / "tests" / "data" / "generations"


def _pages() -> list[tuple[str, bytes, str]]:
    pages = []
    answers = [*sorted(SPECIMENS.glob("*.json")), *sorted(GENERATIONS.glob("[gs]*.json"))]
    for answer in answers:
        url = json.loads(answer.read_text(encoding="utf-8"))["url"]
        pages.append((answer.stem, answer.with_suffix(".html").read_bytes(), url))
    return pages


def _cpu_ms(body: bytes, url: str, runs: int) -> float:
    """Median over runs of one full parse, a fresh Page each time (decoding included)."""
    samples = []
    for _ in range(runs):
        page = Page(url, body, {"content-type": "text/html; charset=utf-8"})
        start = time.process_time()
        parse_article(page)
        samples.append(time.process_time() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    per_page = {name: _cpu_ms(body, url, args.runs) for name, body, url in _pages()}
    for name, ms in per_page.items():
        print(f"{name:12s} {ms:6.3f} ms")
    median = statistics.median(per_page.values())
    verdict = "OK" if median <= BUDGET_MS else "OVER BUDGET"
    print(f"median CPU per specimen parse: {median:.3f} ms (budget {BUDGET_MS} ms) {verdict}")


if __name__ == "__main__":
    main()
