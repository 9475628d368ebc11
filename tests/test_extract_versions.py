"""`extract` follows content, not bytes: a recapture whose page changed but whose article
did not is no new item; versions come from the crawl's item records however they are
addressed, and are derived from content where there are none (wget, Browsertrix)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from warcio.warcwriter import WARCWriter

from archive.reader import iter_records
from crawler.reextract import ExtractStats, extract_items
from crawler.urls import UrlKind, classify
from tests.archive_support import URL, exchange, make_writer

FIXTURE = Path(__file__).parent / "data" / "extract" / "crawl-1.warc.gz"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"


@pytest.fixture(scope="module")
def page() -> bytes:
    """A real article page of the replica, as a crawl archived it."""
    return next(
        record.body
        for record in iter_records([FIXTURE])
        if record.status == 200 and classify(record.url) is UrlKind.ARTICLE
    )


def _same_article(page: bytes) -> bytes:
    """The page with other bytes (a session token, say) and the same article."""
    return page.replace(b"</body>", b"<!-- session 5f3a --></body>")


def _edited(page: bytes) -> bytes:
    first_paragraph = page.index(b"<p", page.index(b"<h1"))
    return (
        page[:first_paragraph]
        + b"<p>M\xe1\xbb\x99t \xc4\x91o\xe1\xba\xa1n m\xe1\xbb\x9bi.</p>"
        + page[first_paragraph:]
    )


def _extract(directory: Path, tmp_path: Path) -> tuple[list[dict[str, object]], ExtractStats]:
    out = tmp_path / "items.jsonl"
    stats = extract_items(sorted(directory.glob("*.warc.gz")), out)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()], stats


def test_a_recapture_with_the_same_content_gives_no_item(page: bytes, tmp_path: Path) -> None:
    warcs = tmp_path / "warc"
    writer = make_writer(warcs)
    first = writer.write_exchange(exchange(head=HEAD, body=page))
    writer.write_metadata(target_uri=URL, concurrent_to=first.record_id, payload=b'{"version": 1}')
    # What a later crawl writes for a page whose bytes changed and whose article did not:
    # a full response, and no item record.
    writer.write_exchange(exchange(head=HEAD, body=_same_article(page)))
    writer.close()
    items, stats = _extract(warcs, tmp_path)
    assert [(item["version"], item["warc"]["offset"]) for item in items] == [(1, first.offset)]
    assert (stats.articles, stats.unchanged) == (1, 1)


def test_captures_without_records_get_versions_from_content(page: bytes, tmp_path: Path) -> None:
    warcs = tmp_path / "warc"
    writer = make_writer(warcs)
    bodies = [page, _same_article(page), _edited(page), _edited(page), page]
    offsets = [writer.write_exchange(exchange(head=HEAD, body=body)).offset for body in bodies]
    writer.close()
    items, stats = _extract(warcs, tmp_path)
    assert [(item["version"], item["warc"]["offset"]) for item in items] == [
        (1, offsets[0]),
        (2, offsets[2]),
        (3, offsets[4]),  # back to the first text: a change all the same
    ]
    assert len({item["key"] for item in items}) == 1
    assert stats.unchanged == 2


def _append_record(path: Path, record_type: str, headers: dict[str, str]) -> None:
    with path.open("ab") as stream:
        writer = WARCWriter(stream, gzip=True)
        payload = b'{"version": 4, "category": "Tin t\xe1\xbb\xa9c"}'
        record = writer.create_warc_record(
            headers.pop("WARC-Target-URI"),
            record_type,
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type="application/json",
            warc_headers_dict=headers,
        )
        writer.write_record(record)


@pytest.mark.parametrize(
    ("record_type", "target", "link"),
    [
        ("metadata", URL, "WARC-Concurrent-To"),  # how crawls wrote them at first
        ("metadata", "urn:portal-archiver:item:1", "WARC-Concurrent-To"),
        ("resource", "urn:portal-archiver:item:1", "WARC-Concurrent-To"),
        ("metadata", "urn:portal-archiver:item:1", "WARC-Refers-To"),
    ],
)
def test_the_crawl_version_is_read_however_its_record_is_addressed(
    page: bytes, tmp_path: Path, record_type: str, target: str, link: str
) -> None:
    warcs = tmp_path / "warc"
    writer = make_writer(warcs)
    response = writer.write_exchange(exchange(head=HEAD, body=page))
    writer.close()
    (path,) = warcs.glob("*.warc.gz")
    _append_record(path, record_type, {"WARC-Target-URI": target, link: response.record_id})
    items, _ = _extract(warcs, tmp_path)
    assert [(item["version"], item["category"]) for item in items] == [(4, "Tin tức")]


def test_a_body_over_the_limit_is_a_counted_error(
    page: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    warcs = tmp_path / "warc"
    writer = make_writer(warcs)
    writer.write_exchange(exchange(head=HEAD, body=page))
    writer.close()
    out = tmp_path / "items.jsonl"
    with caplog.at_level(logging.ERROR, logger="crawler.reextract"):
        stats = extract_items(sorted(warcs.glob("*.warc.gz")), out, max_body=len(page) - 1)
    assert (stats.articles, stats.too_large, stats.errors) == (0, 1, 1)
    assert f"decodes to more than the {len(page) - 1} bytes allowed" in caplog.text
    assert out.read_text(encoding="utf-8") == ""


def test_an_item_record_over_the_limit_leaves_its_page_to_content(
    page: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    warcs = tmp_path / "warc"
    writer = make_writer(warcs)
    response = writer.write_exchange(exchange(head=HEAD, body=page))
    huge = b'{"version": 4, "padding": "' + b" " * len(page) + b'"}'
    writer.write_metadata(target_uri=URL, concurrent_to=response.record_id, payload=huge)
    writer.close()
    out = tmp_path / "items.jsonl"
    with caplog.at_level(logging.ERROR, logger="crawler.reextract"):
        stats = extract_items(sorted(warcs.glob("*.warc.gz")), out, max_body=len(page) + 10)
    (item,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert (item["version"], item["warc"]["offset"]) == (1, response.offset)
    assert (stats.too_large, stats.errors) == (1, 1)
    assert f"an item record for {URL} decodes to more than" in caplog.text
