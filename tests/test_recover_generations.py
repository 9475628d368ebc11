"""``recover`` over a web archive holding two generations of one site (issue 17): a DotNetNuke
site of 2008-2012 that became a Liferay portal. Each article gets one history of versions,
parsed with the generation's own layout.

What an archive cannot say is which Liferay asset a DotNetNuke article became (the portals
did not keep the old addresses): the DotNetNuke ``ArticleId`` page and the Liferay asset page
are two articles, each with its own history; captures of one URL are one history.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.collection import Collection
from tests.conftest import read_items, require_tool, run_cli
from tests.recover_support import running_pywb

GENERATIONS = Path(__file__).parent / "data" / "generations"
HOST = "http://www.thanhbinh.dongthap.gov.vn"
DNN = "g01-dnn2008-table"  # its URL is on HOST
LIFERAY_URL = f"{HOST}/tin-tuc/-/asset_publisher/Xy7Kq3Lm/content/id/4411209"
FAST = (
    "-s", "DOWNLOAD_DELAY=0", "-s", "PORTAL_RETRY_BACKOFF_BASE=0", "-s", "LOG_LEVEL=WARNING",
    "-s", "ARCHIVE_REQUISITES=False",
)  # fmt: skip


def _page(name: str) -> tuple[str, dict[str, Any], bytes]:
    answer = json.loads((GENERATIONS / f"{name}.json").read_text(encoding="utf-8"))
    return answer["url"], answer, (GENERATIONS / f"{name}.html").read_bytes()


def _response(
    writer: WARCWriter,
    url: str,
    stamp: str,
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    date = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:{stamp[12:14]}Z"
    http = StatusAndHeaders(
        status, [*headers, ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
    )
    record = writer.create_warc_record(
        url, "response", payload=BytesIO(body), http_headers=http,
        warc_headers_dict={"WARC-Date": date},
    )  # fmt: skip
    writer.write_record(record)


def _generations_archive(directory: Path) -> None:
    """The WARC of an archive's crawler over the years, and its CDXJ index."""
    dnn_url, dnn, dnn_body = _page(DNN)
    _, liferay, liferay_body = _page("g07-lr61-asset")
    dnn_headers = [("Content-Type", dnn["headers"]["content-type"])]
    liferay_headers = [("Content-Type", liferay["headers"]["content-type"])]
    edited = dnn_body.replace(b"23.150", b"23.200")
    assert edited != dnn_body
    (directory / "warc").mkdir(parents=True)
    (directory / "indexes").mkdir()
    warc = directory / "warc" / "archive.warc.gz"
    with warc.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        _response(writer, dnn_url, "20080812101500", "200 OK", dnn_headers, dnn_body)
        # A sidebar changed, nothing of the article: no new version.
        resized = dnn_body.replace(b"</body>", b"<!-- skin 2009 --></body>")
        _response(writer, dnn_url, "20090301000000", "200 OK", dnn_headers, resized)
        _response(writer, dnn_url, "20120301000000", "200 OK", dnn_headers, edited)
        moved = [("Location", LIFERAY_URL), ("Content-Type", "text/html")]
        _response(writer, dnn_url, "20200101000000", "301 Moved Permanently", moved, b"")
        _response(writer, LIFERAY_URL, "20200101000500", "200 OK", liferay_headers, liferay_body)
        restyled = liferay_body.replace(b"</body>", b"<div class='footer'></div></body>")
        _response(writer, LIFERAY_URL, "20230101000000", "200 OK", liferay_headers, restyled)
    indexer = require_tool("cdx-indexer")  # pywb's
    index = subprocess.run([indexer, "-j", "-s", str(warc)], capture_output=True, check=True).stdout
    (directory / "indexes" / "index.cdxj").write_bytes(index)


@pytest.fixture(scope="module")
def web_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The collection URL of a pywb holding both generations."""
    root = tmp_path_factory.mktemp("generations")
    _generations_archive(root / "arch")
    with running_pywb(root, {"arch": (root / "arch" / "indexes", root / "arch" / "warc")}) as pywb:
        yield f"{pywb}arch"


def _recover(web_archive: str, out: Path, *window: str) -> list[dict[str, Any]]:
    result = run_cli(
        "recover", f"{HOST}/", "--archive", web_archive, "--out", str(out), *window, *FAST
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return read_items(out)


@pytest.fixture(scope="module")
def recovered(web_archive: str, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return _recover(web_archive, tmp_path_factory.mktemp("out"))


def test_each_article_of_both_generations_has_one_history(
    recovered: list[dict[str, Any]],
) -> None:
    dnn_url, _, _ = _page(DNN)
    histories: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(recovered, key=lambda i: i["fetched_at"]):
        histories.setdefault(item["url"], []).append(item)
    assert sorted(histories) == sorted([dnn_url, LIFERAY_URL])
    dnn = histories[dnn_url]
    assert [i["version"] for i in dnn] == [1, 2]
    assert [i["fetched_at"] for i in dnn] == ["2008-08-12T10:15:00Z", "2012-03-01T00:00:00Z"]
    assert "23.150" in dnn[0]["summary"] and "23.200" in dnn[1]["summary"]
    liferay = histories[LIFERAY_URL]
    assert [i["version"] for i in liferay] == [1]
    assert liferay[0]["fetched_at"] == "2020-01-01T00:05:00Z"
    assert len({i["key"] for i in recovered}) == 2


def test_each_generation_is_read_with_its_own_layout(recovered: list[dict[str, Any]]) -> None:
    for name in (DNN, "g07-lr61-asset"):
        _, answer, _ = _page(name)
        item = next(i for i in recovered if i["title"] == answer["title"])
        assert item["paragraphs"] == answer["paragraphs"], name
        assert item["byline"] == answer["byline"], name
        assert item["source"] == "archive"


def test_captures_older_than_the_history_join_it_in_capture_time(
    web_archive: str, tmp_path: Path
) -> None:
    dnn_url, _, _ = _page(DNN)
    # A first recovery from 2012 on, then one of every year: the 2008 text comes after.
    first = _recover(web_archive, tmp_path, "--from", "2012-01-01")
    assert [i["fetched_at"] for i in first if i["url"] == dnn_url] == ["2012-03-01T00:00:00Z"]
    items = _recover(web_archive, tmp_path)
    added = items[len(first) :]
    # 2008's text is a version; 2009's capture (another skin, the same text) is none.
    assert [(i["url"], i["fetched_at"]) for i in added] == [(dnn_url, "2008-08-12T10:15:00Z")]
    assert "23.150" in added[0]["summary"]
    # Version numbers are given once and kept (they are in the WARC item records too): the
    # late-found older text is version 2; the history's order is capture time.
    assert added[0]["version"] == 2
    # The article's state is still its newest capture: what a next capture is compared with.
    with Collection(tmp_path) as collection:
        state = collection.get(added[0]["key"])
    assert state is not None and state.fetched_at == "2012-03-01T00:00:00Z"
