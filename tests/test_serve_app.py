"""The reading room over a crawl of the replica, through its HTTP interface (Flask's test
client): search, facets, coverage, article view, photos from the WARCs, escaping, bad input."""

from __future__ import annotations

import json
import shutil
import unicodedata
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask.testing import FlaskClient
from lxml import html

from reading_room.app import create_app, view_path
from reading_room.shelf import shelves
from tests.conftest import Crawled, read_items

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SEED_KEY_END = "#4961961"  # "Thường trực Huyện uỷ Lấp Vò làm việc Mặt trận Tổ quốc ..."


@pytest.fixture(scope="module")
def copy(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shared crawl: the reading room writes its search index into it."""
    directory = tmp_path_factory.mktemp("reading-room") / "lapvo"
    shutil.copytree(crawled.directory, directory, ignore=shutil.ignore_patterns(".lock", "jobs"))
    return directory


@pytest.fixture(scope="module")
def client(copy: Path) -> Iterator[FlaskClient]:
    app = create_app(shelves([copy]))
    with app.test_client() as test_client:
        yield test_client


def _search(client: FlaskClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search?" + urlencode(params))
    assert response.status_code == 200, response.text
    return response.get_json()


def _seed(copy: Path) -> dict[str, Any]:
    return next(item for item in read_items(copy) if item["key"].endswith(SEED_KEY_END))


def test_search_api_shape(client: FlaskClient, copy: Path) -> None:
    found = _search(client, q="thuong truc huyen uy lap vo", limit=3)
    assert set(found) == {"total", "results"}
    first = found["results"][0]
    assert set(first) == {"key", "url", "title", "site", "section", "published", "snippet", "view"}
    seed = _seed(copy)
    assert first["key"] == seed["key"]
    assert first["title"] == seed["title"]
    assert first["url"] == seed["url"]
    assert first["published"] == seed["published"]
    assert "<mark>Huyện</mark> <mark>uỷ</mark>" in first["snippet"]
    assert client.get(first["view"]).status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        "thuong truc huyen uy lap vo",  # no marks at all
        "Thường trực Huyện ủy Lấp Vò",  # new tone placement; the page writes "uỷ"
        unicodedata.normalize("NFD", "Thường trực Huyện uỷ Lấp Vò"),
        '"huyen uy lap vo"',
    ],
)
def test_search_finds_the_article_however_it_is_typed(
    client: FlaskClient, copy: Path, text: str
) -> None:
    assert _search(client, q=text)["results"][0]["key"] == _seed(copy)["key"]


def test_old_tone_forms_find_new_ones_and_d_finds_dj(client: FlaskClient, copy: Path) -> None:
    items = read_items(copy)
    hoa = {item["key"] for item in items if "An Hòa" in item["title"]}
    assert hoa, "the replica has titles with 'An Hòa'"
    found = _search(client, q="an hoà", limit=100)
    assert hoa <= {result["key"] for result in found["results"]}
    dinh = {item["key"] for item in items if "Định" in item["title"]}
    assert dinh <= {result["key"] for result in _search(client, q="dinh", limit=100)["results"]}


def test_filters_hold_and_facets_count_the_matches(client: FlaskClient, copy: Path) -> None:
    items = read_items(copy)
    section = Counter(item["category"] for item in items).most_common(1)[0][0]
    found = _search(client, section=section, limit=100)
    assert found["total"] == sum(item["category"] == section for item in items)
    assert {result["section"] for result in found["results"]} == {section}
    since = _search(client, **{"from": "2025-06-20", "to": "2025-06-24", "limit": 100})
    expected = {
        i["key"] for i in items if "2025-06-20" <= (i["published"] or "")[:10] <= "2025-06-24"
    }
    assert {result["key"] for result in since["results"]} == expected
    assert expected
    page = client.get("/?" + urlencode({"section": section})).text
    tree = html.fromstring(page)
    counts = tree.xpath('//section[@id="facet-section"]//li')
    assert f"{section} {found['total']}" in [" ".join(li.text_content().split()) for li in counts]


def test_paging_walks_every_article_once(client: FlaskClient, copy: Path) -> None:
    keys: list[str] = []
    for offset in range(0, 100, 7):
        keys += [result["key"] for result in _search(client, limit=7, offset=offset)["results"]]
    assert sorted(keys) == sorted({item["key"] for item in read_items(copy)})


def test_coverage_counts_equal_the_items_dates(client: FlaskClient, copy: Path) -> None:
    newest: dict[str, dict[str, Any]] = {}
    for item in read_items(copy):
        newest[item["key"]] = item
    expected: dict[str, Counter[str]] = {}
    for item in newest.values():
        if item["published"]:
            expected.setdefault(item["site"], Counter())[item["published"][:7]] += 1
    coverage = client.get("/api/coverage").get_json()
    assert coverage == {"sites": {site: dict(months) for site, months in expected.items()}}
    page = html.fromstring(client.get("/coverage").text)
    assert len(page.xpath("//svg//rect[@class='bar']")) == sum(map(len, expected.values()))
    assert page.xpath("//svg//rect[@class='gap']"), "the replica's months have gaps to show"


def test_article_view_shows_the_archived_photos_byte_for_byte(
    client: FlaskClient, copy: Path
) -> None:
    seed = _seed(copy)
    view = _search(client, q="thuong truc huyen uy")["results"][0]["view"]
    page = html.fromstring(client.get(view).text)
    assert page.xpath("//h1")[0].text_content() == seed["title"]
    figures = page.xpath("//figure")
    assert len(figures) == len(seed["images"]) >= 2
    for figure, image in zip(figures, seed["images"], strict=True):
        response = client.get(figure.xpath(".//img/@src")[0])
        assert response.status_code == 200
        assert response.content_type == "image/jpeg"
        with NO_PROXY.open(image["url"], timeout=30) as live:  # the replica serves the original
            assert response.data == live.read()
        caption = figure.xpath(".//figcaption")
        assert (caption[0].text_content() if caption else None) == image["caption"]


def test_articles_api_gives_every_version_as_stored(client: FlaskClient, copy: Path) -> None:
    seed = _seed(copy)
    response = client.get("/api/articles/" + quote(seed["key"], safe=""))
    assert response.get_json() == [seed]
    assert client.get("/api/articles/" + quote("no#such", safe="")).status_code == 404


@pytest.fixture
def edited(copy: Path, tmp_path: Path) -> Iterator[tuple[FlaskClient, dict[str, Any]]]:
    """A copy with a second version of the seed article, and archived text carrying markup."""
    directory = tmp_path / "edited"
    shutil.copytree(copy, directory, ignore=shutil.ignore_patterns("search.sqlite*"))
    seed = _seed(directory)
    second = {
        **seed,
        "version": 2,
        "title": seed["title"] + " <script>alert('title')</script>",
        "paragraphs": [seed["paragraphs"][0], "<img src=x onerror=alert(1)> Đoạn mới."],
    }
    with (directory / "items.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(second, ensure_ascii=False) + "\n")
    with create_app(shelves([directory])).test_client() as test_client:
        yield test_client, second


def test_versions_show_what_changed(edited: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, second = edited
    page = html.fromstring(client.get("/article/" + quote(second["key"], safe="")).text)
    assert len(page.xpath("//section[@class='versions']/ol/li")) == 2
    assert [e.text_content() for e in page.xpath("//div[@class='change']//ins")] == [
        second["title"],
        second["paragraphs"][1],
    ]
    removed = page.xpath("//div[@class='change']//del")
    assert len(removed) > 2  # the old title and the paragraphs dropped


def test_archived_text_is_escaped(edited: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, second = edited
    for path in ("/article/" + quote(second["key"], safe=""), "/?q=alert"):
        text = client.get(path).text
        assert "<script>alert" not in text
        assert "<img src=x" not in text
        assert "&lt;script&gt;alert" in text
    found = client.get("/api/search?q=onerror").get_json()["results"][0]
    assert "<img" not in found["snippet"]
    assert "&lt;img src=x <mark>onerror</mark>=alert(1)&gt;" in found["snippet"]


def test_reflected_queries_are_escaped_and_no_script_may_run(client: FlaskClient) -> None:
    attack = '"><script>alert(1)</script>'
    response = client.get("/?" + urlencode({"q": attack + '"', "site": attack}))
    assert response.status_code == 200
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy


@pytest.mark.parametrize(
    ("path", "status", "sentence"),
    [
        ("/api/search?q=%22unclosed", 400, "quotation mark that is never closed"),
        ("/?q=%22unclosed", 400, "quotation mark that is never closed"),
        ("/api/search?limit=0", 400, "limit must be a whole number from 1 to 100"),
        ("/api/search?offset=-1", 400, "offset must be a whole number"),
        ("/api/search?from=2024-13", 400, "is not a date"),
        ("/api/search?from=2025-02-30", 400, "is not a date"),
        ("/api/search?to=2025-06-31", 400, "is not a date"),
        ("/?page=abc", 400, "page must be a whole number"),
        ("/capture?url=", 400, "Say which archived URL"),
        ("/capture?url=http%3A%2F%2Fexample.org%2F", 404, "not archived in this collection"),
        ("/capture?c=..%2F..&url=x", 404, "no collection named"),
        ("/article/..%2F..%2Fetc%2Fpasswd", 404, "There is no article"),
        ("/article/x?c=..", 404, "no collection named"),
        ("/static/..%2F..%2Fapp.py", 404, ""),
    ],
)
def test_bad_input_gets_a_sentence_and_nothing_outside_the_collection(
    client: FlaskClient, path: str, status: int, sentence: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert sentence in response.text
    assert "Traceback" not in response.text


def test_a_page_or_a_script_is_never_served_as_a_document(client: FlaskClient, copy: Path) -> None:
    response = client.get("/capture?" + urlencode({"url": _seed(copy)["url"]}))
    assert response.status_code == 200
    assert response.content_type == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_a_collection_being_crawled_is_served_as_of_its_last_complete_line(
    copy: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "crawling"
    shutil.copytree(copy, directory, ignore=shutil.ignore_patterns("search.sqlite*"))
    before = len(read_items(directory))
    with (directory / "items.jsonl").open("a", encoding="utf-8") as out:
        out.write('{"key": "half#1", "title": "Đang ghi')  # the crawl is writing this line
    with create_app(shelves([directory])).test_client() as client:
        assert _search(client, limit=100)["total"] == before
        with (directory / "items.jsonl").open("a", encoding="utf-8") as out:
            out.write(' dở", "version": 1, "site": "s", "published": null}\n')
        found = _search(client, q='"dang ghi do"')["results"]
        assert [result["key"] for result in found] == ["half#1"]
    assert not (directory / ".lock").exists()


def test_coverage_shows_the_crawl_history(client: FlaskClient, copy: Path) -> None:
    report = json.loads((copy / "report.json").read_text(encoding="utf-8"))
    page = html.fromstring(client.get("/coverage").text)
    rows = page.xpath("//table[@class='history']/tbody/tr")
    assert len(rows) == 1
    cells = [cell.text_content() for cell in rows[0].xpath("td")]
    assert cells[1] == report["spider"] and cells[2] == str(report["articles_new"])
    assert cells[5] == str(report["failed"]) and cells[7] == report["finish_reason"]


def test_several_collections_are_searched_together(copy: Path, tmp_path: Path) -> None:
    other = tmp_path / "lapvo"  # the same directory name: the two get distinct names
    shutil.copytree(copy, other, ignore=shutil.ignore_patterns("search.sqlite*"))
    with create_app(shelves([copy, other])).test_client() as client:
        alone = len({item["key"] for item in read_items(copy)})
        found = _search(client, q="thuong truc huyen uy lap vo", limit=100)
        views = {r["view"] for r in found["results"] if r["key"] == _seed(copy)["key"]}
        assert views == {view_path(shelf, _seed(copy)["key"]) for shelf in shelves([copy, other])}
        assert _search(client, limit=100)["total"] == 2 * alone
        for view in views:
            assert client.get(view).status_code == 200


def test_attachments_download_as_archived(client: FlaskClient, copy: Path) -> None:
    item = next(item for item in read_items(copy) if item["attachments"])
    page = html.fromstring(client.get("/article/" + quote(item["key"], safe="")).text)
    links = page.xpath("//section[@class='attachments']//a")
    assert [link.text_content() for link in links] == [a["title"] for a in item["attachments"]]
    for link, attachment in zip(links, item["attachments"], strict=True):
        response = client.get(link.get("href"))
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
        with NO_PROXY.open(attachment["url"], timeout=30) as live:
            assert response.data == live.read()
    assert (copy / "search.sqlite").exists()  # the index is kept in the collection


def test_on_loopback_only_loopback_host_names_are_answered(copy: Path) -> None:
    app = create_app(shelves([copy]), trusted_hosts=["127.0.0.1", "localhost"])
    with app.test_client() as client:
        assert client.get("/api/coverage", headers={"Host": "127.0.0.1:8080"}).status_code == 200
        rebound = client.get("/api/coverage", headers={"Host": "attacker.example:8080"})
        assert rebound.status_code == 400
        assert "Traceback" not in rebound.text


def test_a_collection_given_twice_is_one_shelf(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``serve lapvo lapvo/`` (or a link to it): two shelves would search the same items
    twice and write one search index from two threads."""
    first, second = tmp_path / "lapvo", tmp_path / "other" / "lapvo"
    for directory in (first, second):
        (directory / "warc").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(first)
    found = shelves([first, tmp_path / "lapvo" / ".", link, second])
    assert [(shelf.directory, shelf.name) for shelf in found] == [
        (first, "lapvo"),
        (second, "lapvo-2"),
    ]
    assert [record.getMessage() for record in caplog.records] == [
        f"{tmp_path / 'lapvo' / '.'} is {first}, given before: served once",
        f"{link} is {first}, given before: served once",
    ]
