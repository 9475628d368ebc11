"""Finding a URL's capture in a collection's CDXJ index (the reading room's photos)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.lookup import find_capture
from archive.surt import surt

PHOTO = "https://lapvo.dongthap.gov.vn/documents/481930/0/anh.jpg"


def _line(url: str, timestamp: str, filename: str, **entry: str) -> str:
    fields = {"url": url, "mime": "image/jpeg", "status": "200", "offset": "10", "length": "5"}
    return f"{surt(url)} {timestamp} {json.dumps(fields | entry | {'filename': filename})}\n"


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    lines = [
        _line(PHOTO, "20240101000000", "a.warc.gz"),
        _line(PHOTO, "20250101000000", "b.warc.gz"),
        _line(PHOTO, "20260101000000", "c.warc.gz", mime="warc/revisit", status=""),
        _line(PHOTO, "20270101000000", "d.warc.gz", status="404"),
        *(_line(f"https://lapvo.dongthap.gov.vn/p/{n}", "20240101000000", "a.warc.gz")
          for n in range(300)),
    ]  # fmt: skip
    (tmp_path / "indexes").mkdir()
    (tmp_path / "indexes" / "index.cdxj").write_text("".join(sorted(lines)), encoding="utf-8")
    return tmp_path


def test_the_newest_complete_capture_is_found_by_bisection(collection: Path) -> None:
    found = find_capture(collection, PHOTO)
    assert found is not None
    assert (found.path, found.timestamp, found.offset) == (
        collection / "warc" / "b.warc.gz",
        "20250101000000",
        10,
    )
    for n in (0, 150, 299):
        url = f"https://lapvo.dongthap.gov.vn/p/{n}"
        assert find_capture(collection, url).url == url  # type: ignore[union-attr]
    assert find_capture(collection, "https://lapvo.dongthap.gov.vn/p/3000") is None


def test_what_a_running_crawl_has_not_indexed_yet_is_found(collection: Path) -> None:
    new = "https://lapvo.dongthap.gov.vn/documents/new.jpg"
    pending = _line(new, "20280101000000", "e.warc.gz")
    (collection / ".index-pending.cdxj").write_text(pending + pending[:30], encoding="utf-8")
    (collection / "warc").mkdir()
    (collection / "warc" / "e.warc.gz.open").write_bytes(b"")  # the file being written
    assert find_capture(collection, new).path.name == "e.warc.gz.open"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..", "sub/x.warc.gz"])
def test_an_index_line_naming_a_file_outside_warc_is_never_followed(
    collection: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = "https://lapvo.dongthap.gov.vn/evil.jpg"
    index = collection / "indexes" / "index.cdxj"
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    index.write_text("".join(sorted([*lines, _line(url, "20240101000000", name)])), "utf-8")
    assert find_capture(collection, url) is None
    assert "not a file of warc/" in caplog.text
