"""Rebuilds ``old-keys-*.warc.gz`` and ``old-keys-items.jsonl``: a small collection as crawls
wrote it before the article key became ``{host}#{asset_id}`` (commit 51d256e), with fixed
record ids and dates. Run from the repository root:

    python tests/data/extract/make_old_keys.py

Two real replica pages (from ``crawl-1.warc.gz``) served under ``/web/hlv``, so the old key
``{site}#{asset_id}`` (``lapvo.dongthap.gov.vn/web/hlv#4961961``) differs from today's
(``lapvo.dongthap.gov.vn#4961961``). First crawl: both pages, each with its item record, one
addressed the current way, one the oldest way (the page URL as target). Second crawl: 4961961
again with other bytes and the same article (no item record: the crawl found it
unchanged), then edited (version 2). ``old-keys-items.jsonl`` is the collection's items.jsonl:
exactly the payloads of the item records.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from warcio.warcwriter import WARCWriter

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from archive.exchange import Exchange, WarcLocation  # noqa: E402
from archive.reader import iter_records  # noqa: E402
from archive.writer import ArchiveWriter  # noqa: E402
from crawler.extract import build_item  # noqa: E402
from crawler.parsers.article import parse_article  # noqa: E402
from crawler.parsers.page import Page  # noqa: E402
from crawler.urls import asset_id, site_of  # noqa: E402
from tests.archive_support import record_ids  # noqa: E402

HERE = Path(__file__).parent
BASE = "https://lapvo.dongthap.gov.vn/web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE"
PAGES = {
    "4961961": f"{BASE}/content/id/4961961?plidlayout=5101",
    "17835569": f"{BASE}/content/id/17835569?plidlayout=5101",
}
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
START = datetime(2024, 5, 2, 8, 0, 0, tzinfo=UTC)


def replica_page(asset: str) -> bytes:
    return next(
        record.body
        for record in iter_records([HERE / "crawl-1.warc.gz"])
        if record.status == 200 and f"/content/id/{asset}?" in record.url
    )


def fetch(url: str, body: bytes, at: datetime) -> Exchange:
    parts = urlsplit(url)
    request = f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n"
    return Exchange(url, request.encode(), HEAD, body, at, "203.0.113.7")


def old_item(url: str, body: bytes, at: datetime, warc: WarcLocation, version: int) -> str:
    """The item line a crawl of that time wrote: today's fields, the old key."""
    page = Page(url=url, body=body, headers={"content-type": "text/html; charset=utf-8"})
    content = parse_article(page).content
    assert content is not None
    fetched_at = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    item = build_item(url, content, fetched_at=fetched_at, warc=warc, version=version)
    item.key = f"{site_of(url)}#{asset_id(url)}"  # crawler.urls.article_key before 51d256e
    return json.dumps(item.to_dict(), ensure_ascii=False)


def append_page_target_record(
    path: Path, url: str, response_id: str, line: str, at: datetime
) -> None:
    """An item record addressed the oldest way: the page URL itself as target."""
    payload = line.encode()
    with path.open("ab") as stream:
        writer = WARCWriter(stream, gzip=True, warc_version="WARC/1.1")
        record = writer.create_warc_record(
            url,
            "metadata",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type="application/json",
            warc_headers_dict={
                "WARC-Record-ID": "<urn:uuid:00000000-0000-4000-8000-000000000999>",
                "WARC-Date": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "WARC-Concurrent-To": response_id,
            },
        )
        writer.write_record(record)


def main() -> None:
    ids = record_ids()
    first, second = replica_page("4961961"), replica_page("17835569")
    same = first.replace(b"</body>", b"<!-- session 5f3a --></body>")
    cut = first.index(b"<p", first.index(b"<h1"))
    edited = first[:cut] + "<p>Một đoạn mới.</p>".encode() + first[cut:]
    lines = []
    for path in HERE.glob("old-keys-*.warc.gz"):
        path.unlink()

    # Crawl 1: both pages; the second one's item record addressed the oldest way.
    clock = [START]
    writer = ArchiveWriter(HERE, prefix="old-keys-1", record_ids=ids, clock=lambda: clock[0])
    b = writer.write_exchange(fetch(PAGES["17835569"], second, START))
    lines.append(old_item(PAGES["17835569"], second, START, b, 1))
    writer.write_metadata(
        target_uri=PAGES["17835569"], concurrent_to=b.record_id, payload=lines[-1].encode()
    )
    clock[0] = START + timedelta(seconds=5)
    a = writer.write_exchange(fetch(PAGES["4961961"], first, clock[0]))
    lines.append(old_item(PAGES["4961961"], first, clock[0], a, 1))
    writer.close()
    (path,) = HERE.glob("old-keys-1*.warc.gz")
    append_page_target_record(path, PAGES["4961961"], a.record_id, lines[-1], clock[0])

    # Crawl 2, a week later: 4961961 unchanged (no item record), then edited.
    clock[0] = START + timedelta(days=7)
    writer = ArchiveWriter(HERE, prefix="old-keys-2", record_ids=ids, clock=lambda: clock[0])
    writer.write_exchange(fetch(PAGES["4961961"], same, clock[0]))
    clock[0] += timedelta(days=7)
    c = writer.write_exchange(fetch(PAGES["4961961"], edited, clock[0]))
    lines.append(old_item(PAGES["4961961"], edited, clock[0], c, 2))
    writer.write_metadata(
        target_uri=PAGES["4961961"], concurrent_to=c.record_id, payload=lines[-1].encode()
    )
    writer.close()
    (HERE / "old-keys-items.jsonl").write_text(
        "".join(line + "\n" for line in lines), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
