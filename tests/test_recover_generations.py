"""``recover`` over a web archive holding the generations of one site (issue 17): a DotNetNuke
site of 2008-2012 that became a Liferay portal, with SharePoint, Joomla and WordPress pages
of the same host in between. Each article gets one history of versions, parsed with the
generation's own layout.

A page cannot say which Liferay asset a DotNetNuke article became; an archived redirect can:
the DotNetNuke page that the site answered with a 301 to the Liferay asset page is one
history with it, and a WordPress ``?p=`` post with the permalink it redirected to. A dead
article redirected to the home page stays its own history.
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
from tests.recover_support import assert_same_items, read_jsonl, running_pywb

GENERATIONS = Path(__file__).parent / "data" / "generations"
HOST = "http://www.thanhbinh.dongthap.gov.vn"
DNN = "g01-dnn2008-table"  # its URL is on HOST
LIFERAY_URL = f"{HOST}/tin-tuc/-/asset_publisher/Xy7Kq3Lm/content/id/4411209"
LIFERAY_KEY = "www.thanhbinh.dongthap.gov.vn#4411209"
DEAD_URL = f"{HOST}/Default.aspx?tabid=61&mid=385&ctl=Detail&ArticleId=1188"
SHAREPOINT_URL = f"{HOST}/snnptnt/Pages/TinTuc.aspx?ID=2291"
JOOMLA_URL = f"{HOST}/index.php?option=com_content&view=article&id=125:huyen&catid=8&Itemid=101"
JOOMLA_SEF_URL = f"{HOST}/tin-tuc/125-huyen-thap-muoi-tong-ket-nam-hoc.html"
WP_QUERY_URL = f"{HOST}/?p=4711"
WP_LINK_URL = f"{HOST}/2019/01/25/hoi-thi-am-thuc/"
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


def _moved(writer: WARCWriter, url: str, stamp: str, target: str) -> None:
    # IIS and WordPress send a small page naming the target: no two redirects' digests alike.
    body = f'<a href="{target}">moved</a>'.encode()
    headers = [("Location", target), ("Content-Type", "text/html")]
    _response(writer, url, stamp, "301 Moved Permanently", headers, body)


def _other_generations(writer: WARCWriter) -> None:
    """SharePoint, Joomla and WordPress pages of the host, a dead article sent home, and the
    DotNetNuke listing that links the articles through its own tab."""
    _, dnn, dnn_body = _page(DNN)
    dnn_headers = [("Content-Type", dnn["headers"]["content-type"])]
    dead = dnn_body.replace(b"23.150", b"31.000")
    _response(writer, DEAD_URL, "20090101000000", "200 OK", dnn_headers, dead)
    _moved(writer, DEAD_URL, "20200101000000", f"{HOST}/")
    for name, urls in (
        ("x04-dnn2008-listing", [(_page("x04-dnn2008-listing")[0], "20080901000000")]),
        ("g03-sp2010-publishing", [(SHAREPOINT_URL, "20110101000000")]),
        ("g15-joomla2012-itempage", [(JOOMLA_URL, "20120101000000")]),
        ("g16-wordpress2019-post", [(WP_QUERY_URL, "20190201000000")]),
    ):
        _, answer, body = _page(name)
        headers = [("Content-Type", answer["headers"]["content-type"])]
        for url, stamp in urls:
            _response(writer, url, stamp, "200 OK", headers, body)
    # The other form of the Joomla article, and the permalink the post moved to: edited.
    _, joomla, joomla_body = _page("g15-joomla2012-itempage")
    edited = joomla_body.replace(
        b"<p><strong>Ng", b"<p><strong>(C\xe1\xba\xadp nh\xe1\xba\xadt) Ng", 1
    )
    joomla_headers = [("Content-Type", joomla["headers"]["content-type"])]
    _response(writer, JOOMLA_SEF_URL, "20130101000000", "200 OK", joomla_headers, edited)
    _, wp, wp_body = _page("g16-wordpress2019-post")
    _moved(writer, WP_QUERY_URL, "20210101000000", WP_LINK_URL)
    wp_edited = wp_body.replace(b"</h1>", b" (c\xe1\xba\xadp nh\xe1\xba\xadt)</h1>", 1)
    wp_headers = [("Content-Type", wp["headers"]["content-type"])]
    _response(writer, WP_LINK_URL, "20210101000500", "200 OK", wp_headers, wp_edited)


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
        _moved(writer, dnn_url, "20200101000000", LIFERAY_URL)
        _response(writer, LIFERAY_URL, "20200101000500", "200 OK", liferay_headers, liferay_body)
        restyled = liferay_body.replace(b"</body>", b"<div class='footer'></div></body>")
        _response(writer, LIFERAY_URL, "20230101000000", "200 OK", liferay_headers, restyled)
        _other_generations(writer)
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
def recovered_dir(web_archive: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    _recover(web_archive, out)
    return out


@pytest.fixture(scope="module")
def recovered(recovered_dir: Path) -> list[dict[str, Any]]:
    return read_items(recovered_dir)


def _histories(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    histories: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(items, key=lambda i: i["fetched_at"]):
        histories.setdefault(item["key"], []).append(item)
    return histories


def test_an_article_moved_by_a_redirect_is_one_history_in_capture_time(
    recovered: list[dict[str, Any]],
) -> None:
    dnn_url, _, _ = _page(DNN)
    moved = _histories(recovered)[LIFERAY_KEY]
    assert [(i["url"], i["version"]) for i in moved] == [
        (dnn_url, 1), (dnn_url, 2), (LIFERAY_URL, 3),
    ]  # fmt: skip
    assert [i["fetched_at"] for i in moved] == [
        "2008-08-12T10:15:00Z", "2012-03-01T00:00:00Z", "2020-01-01T00:05:00Z",
    ]  # fmt: skip
    assert "23.150" in moved[0]["summary"] and "23.200" in moved[1]["summary"]


def test_every_generations_article_forms_are_recovered_one_history_each(
    recovered: list[dict[str, Any]],
) -> None:
    host = "www.thanhbinh.dongthap.gov.vn"
    histories = {key: [i["url"] for i in items] for key, items in _histories(recovered).items()}
    assert histories == {
        LIFERAY_KEY: [_page(DNN)[0], _page(DNN)[0], LIFERAY_URL],
        f"{host}#dnn:1188": [DEAD_URL],  # sent to the home page: no evidence
        f"{host}#sp:/snnptnt/pages/tintuc.aspx:2291": [SHAREPOINT_URL],
        f"{host}#joomla:125": [JOOMLA_URL, JOOMLA_SEF_URL],
        f"{host}#wp:/2019/01/25/hoi-thi-am-thuc": [WP_QUERY_URL, WP_LINK_URL],
    }
    assert [i["version"] for i in recovered if i["key"] == f"{host}#joomla:125"] == [1, 2]


def test_the_report_names_the_redirects_taken_as_evidence(recovered_dir: Path) -> None:
    report = json.loads((recovered_dir / "recover-report.json").read_text(encoding="utf-8"))
    (site,) = report["sites"].values()
    assert [(m["from"], m["to"], m["captured_at"]) for m in site["merged_by_redirect"]] == [
        (_page(DNN)[0], LIFERAY_URL, "2020-01-01T00:00:00Z"),
        (WP_QUERY_URL, WP_LINK_URL, "2021-01-01T00:00:00Z"),
    ]
    assert report["quirks"]["redirect-not-evidence/not-an-article"] == 1
    assert site["articles_recovered"] == 5
    # Every generation's article captures count as articles (two are redirects kept as
    # evidence); the listing, at no listing URL of today's portals, as a page.
    summary = json.loads((recovered_dir / "report.json").read_text(encoding="utf-8"))
    assert summary["requests_by_kind"] == {"article": 13, "page": 1}
    # The listing links 1207 and 1188 through tab 63, not the tab they were captured at.
    assert site["listed_never_captured"] == [
        f"{HOST}/Default.aspx?ArticleId=1199&ctl=Detail&mid=385&tabid=63"
    ]


def test_extract_over_the_recovered_warcs_gives_the_recovered_items(
    recovered_dir: Path, recovered: list[dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "extracted.jsonl"
    warcs = sorted(map(str, (recovered_dir / "warc").glob("*.warc.gz")))
    result = run_cli("extract", *warcs, "--out", str(out))
    assert result.returncode == 0, result.stderr + result.stdout
    assert_same_items(read_jsonl(out), recovered)


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
    moved = [i for i in added if i["key"] == LIFERAY_KEY]
    assert [(i["url"], i["fetched_at"]) for i in moved] == [(dnn_url, "2008-08-12T10:15:00Z")]
    assert "23.150" in moved[0]["summary"]
    # Version numbers are given once and kept (they are in the WARC item records too): the
    # late-found older text is version 3 (after 2012's and the Liferay page's); the
    # history's order is capture time.
    assert moved[0]["version"] == 3
    # The article's state is still its newest capture: what a next capture is compared with.
    with Collection(tmp_path) as collection:
        state = collection.get(LIFERAY_KEY)
    assert state is not None and state.fetched_at >= "2020-01-01T00:05:00Z"
