"""Numbers read from pages, URLs, headers and queries: ``str.isdigit()`` says yes to "²", which
``int()`` refuses, so every "isdigit, then int" read a crash out of one character (found by
fuzzing the parser: an article lost as "unparseable" for an ``<img width="²00">``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from crawler.parsers.article import parse_article
from crawler.parsers.dates import image_upload_time
from crawler.parsers.page import Page
from crawler.urls import page_number
from reading_room.app import create_app
from reading_room.shelf import shelves

ROOT = Path(__file__).parent.parent
URL = "https://lapvo.dongthap.gov.vn/chi-tiet-bai-viet/-/asset_publisher/x/content/id/123"
PAGE = """<html><head><title>Hội nghị tổng kết công tác năm</title></head><body>
<div class="asset-full-content"><h1>Hội nghị tổng kết công tác năm</h1>
<p><font size="²">Chiều ngày 5/1, Ủy ban nhân dân huyện tổ chức hội nghị tổng kết.</font></p>
<p><img src="/documents/1/2/anh.jpg?t=1700000000000" width="²00"></p>
<p>Các đại biểu đã thảo luận và thống nhất nhiệm vụ trọng tâm của năm tới.</p>
</div></body></html>"""


def test_a_superscript_in_an_attribute_costs_no_article() -> None:
    result = parse_article(Page(URL, PAGE.encode(), {"content-type": "text/html; charset=utf-8"}))
    assert result.content is not None, result.reason
    assert [image.url for image in result.content.images] == [
        "https://lapvo.dongthap.gov.vn/documents/1/2/anh.jpg?t=1700000000000"
    ]


@pytest.mark.parametrize("t", ["²", "999999999999999", "1" * 15])
def test_an_upload_time_out_of_any_calendar_is_none(t: str) -> None:
    """Also found by fuzzing: ``t`` of 15 digits is a year past 9999 (a ValueError)."""
    assert image_upload_time(f"https://h.vn/documents/1/a.jpg?t={t}") is None


def test_a_paging_parameter_that_is_no_number_is_none() -> None:
    assert page_number("https://h.vn/web/hlv/tin-tuc?cur=²") is None
    assert page_number("https://h.vn/web/hlv/tin-tuc?_abc_cur=3") == 3


def test_a_query_number_that_is_no_number_is_a_bad_request(tmp_path: Path) -> None:
    (tmp_path / "c" / "warc").mkdir(parents=True)
    client: FlaskClient = create_app(shelves([tmp_path / "c"])).test_client()
    response = client.get("/api/search?limit=²")
    assert response.status_code == 400


def test_no_code_asks_str_isdigit() -> None:
    """The rule that keeps this class of defect out: ``isdecimal()`` (what ``int()`` takes);
    bytes have only ``isdigit()``, which is ASCII and safe."""
    found = []
    for folder in ("crawler", "archive", "reading_room", "replica", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "isdigit":
                    line = path.read_text(encoding="utf-8").splitlines()[node.lineno - 1]
                    if "# bytes" not in line:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
