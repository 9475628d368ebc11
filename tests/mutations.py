"""Seeded mutations of real pages and WARC files: what a broken server, a bad paste or a damaged
disk hands the parsers and readers. The fuzz tests run a fixed number of them (the same ones
every run); a long hunt runs more:

    python -m tests.mutations pages --seed 7 --runs 20000
    python -m tests.mutations warcs --seed 7 --runs 2000

Each failure is printed once per place it was raised, with the input saved beside it.
"""

from __future__ import annotations

import argparse
import gzip
import io
import logging
import random
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from crawler.parsers.article import parse_article
from crawler.parsers.listing import article_links, navigation_links, parse_listing
from crawler.parsers.page import Page
from crawler.reextract import extract_to

DATA = Path(__file__).parent / "data"
URLS = (
    "https://lapvo.dongthap.gov.vn/chi-tiet-bai-viet/-/asset_publisher/x/content/id/123",
    "https://lapvo.dongthap.gov.vn/web/hlv/tin-tuc?cur=2",
    "http://dongthap.gov.vn/tin-tuc/chi-tiet?id=5",
    "https://x.dongthap.gov.vn/Default.aspx?tabid=1&ID=2",
)
HEADERS = (
    {},
    {"content-type": "text/html; charset=utf-8"},
    {"content-type": "text/html; charset=iso-8859-1"},
    {"content-type": "text/html; charset=bogus"},
    {"content-type": "text/html; charset=base64"},
)
# What breaks pages: stray and unclosed tags, entities cut short, NULs and bytes no charset
# has, dates and sizes out of any range, hrefs urllib refuses, declarations that lie or name
# no charset at all.
SNIPPETS = (
    b"<", b">", b"</div>", b"<div>", b"<p>", b"</p>", b"<table>", b"</td>", b"<b>", b"&#",
    b"&amp", b"\x00", b"\xff", b"\xc3", b"<!--", b"-->", b"<script>", b"</script>", b"<br>",
    b"<h1>", b"</h1>", b"<li>", b"<ul>", b"\xe2\x80\x8b", b"<font size=\xc2\xb2>",
    b"<img src='/a.jpg?t=999999999999999' width='\xc2\xb200'>",
    b"<time datetime='2024-13-40'>32/13/2024</time>", b"<meta charset='cp1258'>",
    b"<meta charset='uu'>",
    b"<?xml version='1.0' encoding='utf-16'?>", b"<a href='http://[::1/x'>x</a>",
    b"<a href='http://h.vn:port/x'>x</a>", b"<a href='?_%07x_cur=2'>2</a>",
    b'<div class="asset-full-content">', b'<span class="date">32/13/2024</span>',
    b'<div itemprop="articleBody">', b"<figure><img src=''><figcaption>",
    b'<meta property="article:published_time" content="9999-99-99">',
    b'<script type="application/ld+json">{"@type":"NewsArticle","datePublished":[1,{}]}</script>',
)  # fmt: skip
WARC_SNIPPETS = (
    b"\r\n", b"Content-Length: 99999999\r\n", b"Content-Length: -5\r\n", b"WARC/1.0\r\n",
    b"Transfer-Encoding: chunked\r\n", b"Content-Encoding: gzip\r\n", b"WARC-Type: response\r\n",
    b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 \xc2\xb200 OK\r\n", b"\x00", b"ffffffff\r\n",
)  # fmt: skip


_GZIP_MAGIC = b"\x1f\x8b"


def page_seeds() -> list[bytes]:
    return [path.read_bytes() for path in sorted(DATA.rglob("*.html"))]


def warc_seeds() -> list[bytes]:
    paths = sorted(DATA.rglob("*.warc.gz")) + sorted(DATA.rglob("*.warc"))
    return [path.read_bytes() for path in paths if path.stat().st_size < 1 << 20]


def mutated(rng: random.Random, data: bytes, snippets: tuple[bytes, ...]) -> bytes:
    """``data`` with one to eight edits: snippets put in (some many times over), spans cut,
    copied or overwritten, or the end cut off."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not out:
            out += rng.choice(snippets)
            continue
        at, choice = rng.randrange(len(out)), rng.random()
        if choice < 0.35:
            out[at:at] = rng.choice(snippets) * (rng.randint(2, 300) if choice < 0.05 else 1)
        elif choice < 0.5:
            del out[at : at + rng.randint(1, 200)]
        elif choice < 0.65:
            start = rng.randrange(len(out))
            out[at:at] = out[start : start + rng.randint(1, 500)]
        elif choice < 0.8:
            out[at] = rng.randrange(256)
        elif choice < 0.85:
            del out[at:]
        else:
            out[at:at] = rng.randbytes(rng.randint(1, 20))
    return bytes(out)


def mutated_warc(rng: random.Random, data: bytes) -> bytes:
    """A WARC file damaged in its gzip stream or, recompressed, in its records."""
    if data[:2] == _GZIP_MAGIC and rng.random() < 0.5:
        try:
            records = gzip.decompress(data)
        except (OSError, EOFError):
            records = data
        damaged = mutated(rng, records, WARC_SNIPPETS)
        return gzip.compress(damaged) if rng.random() < 0.5 else damaged
    return mutated(rng, data, WARC_SNIPPETS)


class _Failed(logging.Handler):
    """Records the parser's own report of an exception it caught (``parse_article`` never
    raises: it logs the failure and gives "unparseable")."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.caught: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.caught.append(record)


def parse_everything(page: Page) -> None:
    """Every parser a crawl runs on a page; raises what any of them raises."""
    failed = _Failed()
    logger = logging.getLogger("crawler.parsers.article")
    logger.addHandler(failed)
    try:
        parse_article(page)
    finally:
        logger.removeHandler(failed)
    if failed.caught:
        exc_info = failed.caught[0].exc_info
        assert exc_info is not None and exc_info[1] is not None
        raise exc_info[1]
    parse_listing(page)
    navigation_links(page)
    article_links(page)


def page_failures(seed: int, runs: int) -> Iterator[tuple[str, bytes]]:
    """(traceback, page) of each mutated page a parser raised on."""
    rng = random.Random(seed)
    seeds = page_seeds()
    for _ in range(runs):
        body = mutated(rng, rng.choice(seeds), SNIPPETS)
        page = Page(rng.choice(URLS), body, rng.choice(HEADERS))
        try:
            parse_everything(page)
        except RecursionError:
            continue  # parse_article's own deep-page fallback, not a defect
        except Exception:  # the fuzz's whole point: any exception is a finding
            yield traceback.format_exc(), body


def warc_failures(seed: int, runs: int, work: Path) -> Iterator[tuple[str, bytes]]:
    """(traceback, file) of each mutated WARC file ``extract`` raised on (a damaged file is
    one logged error, never an exception)."""
    rng = random.Random(seed)
    seeds = warc_seeds()
    for number in range(runs):
        data = mutated_warc(rng, rng.choice(seeds))
        suffix = ".warc.gz" if data[:2] == _GZIP_MAGIC else ".warc"
        path = work / f"{number % 2}{suffix}"
        path.write_bytes(data)
        try:
            extract_to([path], io.StringIO())
        except Exception:  # any exception is a finding
            yield traceback.format_exc(), data
        path.unlink()


def _hunt(failures: Iterator[tuple[str, bytes]], out: Path) -> int:
    seen: set[str] = set()
    for found, data in failures:
        place = found.strip().splitlines()[-3]  # where it was raised
        if place not in seen:
            seen.add(place)
            saved = out / f"failure-{len(seen)}.bin"
            saved.write_bytes(data)
            print(f"{found}input: {saved}\n")
    return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["pages", "warcs"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    # The parsers' and readers' notices of what is broken, kept off the console (records still
    # reach the handler that tells a parser's caught exception).
    logging.getLogger().addHandler(logging.NullHandler())
    hunts: dict[str, Callable[[], Iterator[tuple[str, bytes]]]] = {
        "pages": lambda: page_failures(args.seed, args.runs),
        "warcs": lambda: warc_failures(args.seed, args.runs, args.out),
    }
    print(f"{_hunt(hunts[args.kind](), args.out)} places failed")


if __name__ == "__main__":
    main()
