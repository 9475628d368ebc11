"""The replica portal: URL shapes, paging, traps, HTTP details, editions, faults, request log."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import http.client
import itertools
import re
import socket
import zlib
from collections.abc import Iterator
from html import unescape
from importlib import resources
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from replica import content
from replica.catalog import Catalog
from replica.render import rewrite_hosts
from tests.replica_process import ReplicaHandle, running_replica

SEED = "web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961?plidlayout=5101"
HLV_NEWS = "web/hlv/tin-tuc?plidlayout=5101"
HLV_PID = "com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_INSTANCE_Lv8nTs01aQwe"
HREF = re.compile(r'href="([^"]+)"')
DATA = resources.files("replica") / "data"


class Fetched:
    """One raw HTTP exchange: status, headers as sent, body as sent (dechunked, still encoded)."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.reason = response.reason
        self.headers = response.headers
        self.chunked = response.chunked
        self.body = response.read()

    @property
    def text(self) -> str:
        packed = self.headers["Content-Encoding"] == "gzip"
        return (gzip.decompress(self.body) if packed else self.body).decode("utf-8")

    def links(self) -> list[str]:
        return [unescape(h) for h in HREF.findall(self.text)]


def fetch(base: str, target: str, headers: dict[str, str] | None = None) -> Fetched:
    """GET ``target`` (relative to ``base`` or absolute on the same host)."""
    parts = urlsplit(base)
    if target.startswith("http"):
        target = target[len(base) - 1 :] if target.startswith(base) else target
    else:
        target = "/" + target.lstrip("/")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", target, headers=headers or {})
        return Fetched(connection.getresponse())
    finally:
        connection.close()


def b32sha1(body: bytes) -> str:
    return base64.b32encode(hashlib.sha1(body).digest()).decode()


def article_links(page: Fetched, base: str) -> list[str]:
    return [
        link
        for link in page.links()
        if link.startswith(base) and "/content/id/" in link and "redirect=" not in link
    ]


@pytest.fixture(scope="module")
def replica() -> Iterator[ReplicaHandle]:
    with running_replica("--articles", "60") as handle:
        yield handle


@pytest.fixture(scope="module")
def manifest(replica: ReplicaHandle) -> dict:
    return replica.manifest()


def generated(manifest: dict, site: str = "hlv") -> dict:
    return next(a for a in manifest["articles"] if not a["specimen"] and a["site"] == site)


# -- pages and URL shapes -------------------------------------------------------------------


def test_url_line_and_home_pages(replica: ReplicaHandle) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", replica.url)
    for home in ("web/hlv", "web/hlv/trang-chu", "web/tpsd", "web/tpsd/trang-chu", ""):
        page = fetch(replica.url, home)
        assert page.status == 200, home
        assert '<nav class="navbar" id="navigation"' in page.text
    text = fetch(replica.url, "web/tpsd").text
    for label in ("Trang chủ", "Giới thiệu", "Tin tức", "Thông báo", "Văn bản", "Liên hệ"):
        assert f"<span>{label}" in text
    assert f'href="{replica.url}web/tpsd/tin-tuc?plidlayout=5210"' in text
    assert f'href="{replica.url}web/tpsd/lich-cong-tac"' in text
    assert "Thành phố Sa Đéc" in text


def test_seed_article_is_byte_faithful(replica: ReplicaHandle) -> None:
    page = fetch(replica.url, SEED)
    original = (DATA / "a01-dtp.html").read_bytes()
    base = replica.url.rstrip("/").encode()
    portal = re.compile(rb'(href|src)="https://(?:\w+\.)?dongthap\.gov\.vn')
    assert page.body.replace(b'="' + base, b'="PORTAL') == portal.sub(rb'\1="PORTAL', original)
    # The share link carries the portal URL as text, not as a link: it stays as it was.
    assert b"sharer.php?u=https://lapvo.dongthap.gov.vn/web/hlv/" in page.body
    assert page.body.count(b'="' + base) == len(portal.findall(original)) == 18


def test_every_specimen_is_served_at_its_own_path(replica: ReplicaHandle, manifest: dict) -> None:
    specimens = [a for a in manifest["articles"] if a["specimen"]]
    assert len(specimens) == 14
    for entry in specimens:
        page = fetch(replica.url, entry["url"])
        original = (DATA / f"{entry['specimen']}.html").read_bytes()
        assert page.body == rewrite_hosts(original, replica.url.rstrip("/")), entry["url"]
    for url, name in manifest["alternates"].items():
        assert "/vi/" in url and name.endswith("dtp71")
        assert b'class="header-title"' in fetch(replica.url, url).body


def test_listings_list_every_article_newest_first(replica: ReplicaHandle, manifest: dict) -> None:
    listed: list[str] = []
    for site in ("hlv", "tpsd", "root", "hcl", "hth", "htm", "hct"):
        for kind in ("news", "notices"):
            listed += list(walk_listing(replica.url, manifest["listings"][site][kind]))
    expected = {a["url"] for a in manifest["articles"]} | set(manifest["soft404"])
    assert len(listed) == len(set(listed)) == len(expected)
    assert set(listed) == expected
    by_url = {a["url"]: a["date"] for a in manifest["articles"]}
    hlv = walk_listing(replica.url, manifest["listings"]["hlv"]["news"])
    hlv_dates = [by_url[u] for u in hlv if u in by_url]
    assert hlv_dates == sorted(hlv_dates, reverse=True)


def walk_listing(base: str, first: str) -> Iterator[str]:
    """Article URLs of a listing, following "Tiếp theo" links page by page."""
    url: str | None = first
    seen: set[str] = set()
    while url and url not in seen:
        seen.add(url)
        page = fetch(base, url)
        found = re.findall(r'<h3 class="asset-title"><a href="([^"]+)"', page.text)
        yield from (unescape(u) for u in found)
        following = re.search(r'<li class=""><a href="([^"]+)">Tiếp theo</a>', page.text)
        url = unescape(following.group(1)) if following else None


def paging_target(delta: int, cur: int) -> str:
    pid = HLV_PID
    return (
        f"web/hlv/tin-tuc?p_p_id={pid}&p_p_lifecycle=0&p_p_state=normal&p_p_mode=view"
        f"&_{pid}_delta={delta}&p_r_p_resetCur=false&_{pid}_cur={cur}"
    )


def test_paging_links_have_liferay_shape(replica: ReplicaHandle) -> None:
    page = fetch(replica.url, HLV_NEWS)
    paging = [link for link in page.links() if "p_p_id=" in link and "_cur=" in link]
    shape = re.compile(
        rf"{re.escape(replica.url)}web/hlv/tin-tuc\?p_p_id={HLV_PID}&p_p_lifecycle=0"
        rf"&p_p_state=normal&p_p_mode=view&_{HLV_PID}_delta=(\d+)&p_r_p_resetCur=false"
        rf"&_{HLV_PID}_cur=(\d+)"
    )
    assert paging and all(shape.fullmatch(link) for link in paging)
    deltas = {int(shape.fullmatch(link).group(1)) for link in paging}
    assert deltas == {5, 10, 20, 40, 60}
    for label in ("Đầu tiên", "Trước", "Tiếp theo", "Cuối cùng"):
        assert label in page.text


def test_out_of_range_page_repeats_the_last_page(replica: ReplicaHandle) -> None:
    total = len(list(walk_listing(replica.url, HLV_NEWS)))
    last = -(-total // 5)
    last_page = fetch(replica.url, paging_target(5, last))
    beyond = fetch(replica.url, paging_target(5, last + 40))
    assert beyond.status == 200
    assert article_links(beyond, replica.url) == article_links(last_page, replica.url)
    assert article_links(fetch(replica.url, paging_target(5, 1)), replica.url) != article_links(
        last_page, replica.url
    )


def test_delta_variants_show_the_same_content(replica: ReplicaHandle) -> None:
    titles = re.compile(r'class="asset-title"><a href="([^"]+)"')
    big = titles.findall(fetch(replica.url, paging_target(40, 1)).text)
    small = []
    for cur in range(1, 9):
        small += titles.findall(fetch(replica.url, paging_target(5, cur)).text)
    assert small[: len(big)] == big[: len(small)]


def test_listing_dates_differ_by_site(replica: ReplicaHandle) -> None:
    date_of = re.compile(r'metadata-publish-date">([^<]+)<')
    hlv = date_of.findall(fetch(replica.url, HLV_NEWS).text)
    tpsd = date_of.findall(fetch(replica.url, "web/tpsd/tin-tuc?plidlayout=5210").text)
    assert hlv and all(re.fullmatch(r"\d\d/\d\d/\d{4}", d) for d in hlv)
    assert tpsd and all(re.fullmatch(r"\d\d:\d\d \d\d/\d\d/\d{4}", d) for d in tpsd)


def test_generated_article_markup(replica: ReplicaHandle, manifest: dict) -> None:
    entry = generated(manifest)
    text = fetch(replica.url, entry["url"]).text
    widget = "com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_INSTANCE_1mOzUrGkrdAE"
    assert f'id="p_p_id_{widget}_"' in text
    assert '<span class="taglib-text hide-accessible">null</span>' in text
    assert '<div class="content-detail">' in text and "Các tin khác" in text
    assert f"<title>{entry['title']} - Huyện Lấp Vò</title>" in text
    for image in entry["images"]:
        assert f'src="{image[len(replica.url) - 1 :]}"' in text
    assert re.search(r"/documents/481930/0/[^/]+\.jpg/[0-9a-f-]{36}\?t=\d{13}", text)
    themes = {a["theme"] for a in manifest["articles"] if not a["specimen"]}
    assert themes == {"dtp", "dtp71"}


def test_soft_404_answers_200_with_alert(replica: ReplicaHandle, manifest: dict) -> None:
    assert len(manifest["soft404"]) == 2
    for url in manifest["soft404"]:
        page = fetch(replica.url, url)
        assert page.status == 200
        assert "Tài sản không thể được tìm thấy." in page.text
        assert '<div class="journal-content-article "></div>' in page.text


# -- traps ----------------------------------------------------------------------------------


def test_redirect_links_nest_on_every_hop(replica: ReplicaHandle, manifest: dict) -> None:
    url = generated(manifest)["url"]
    lengths = []
    for _ in range(3):
        page = fetch(replica.url, url)
        assert page.status == 200
        nested = [link for link in page.links() if "/content/id/" in link and "redirect=" in link]
        assert any(quote(url, safe="") in link for link in nested)
        url = nested[0]
        lengths.append(len(url))
    assert lengths[0] < lengths[1] < lengths[2]
    back = [link for link in page.links() if "/chi-tiet-bai-viet?p_p_id=" in link]
    assert back and "redirect=" in back[0]


def test_url_variants_serve_the_same_article(replica: ReplicaHandle, manifest: dict) -> None:
    entry = generated(manifest)
    page = fetch(replica.url, entry["url"])
    variants = [
        link
        for link in page.links()
        if f"/id/{entry['asset_id']}" in link and ("viewMode=print" in link or "/maximized" in link)
    ]
    path, _, query = entry["url"].partition("?")
    variants += [f"{path};jsessionid=ABC123?{query}", entry["url"].replace("/web/", "/vi/web/")]
    assert len(variants) == 4
    for variant in variants:
        assert f"<title>{entry['title']} - " in fetch(replica.url, variant).text, variant
    jsession = [link for link in page.links() if ";jsessionid=" in link]
    assert jsession and fetch(replica.url, jsession[0]).status == 200


def test_sidebar_links_cross_sites(replica: ReplicaHandle, manifest: dict) -> None:
    page = fetch(replica.url, generated(manifest)["url"])
    others = re.search(r'<ul class="other-news">(.*?)</ul>', page.text).group(1)
    assert "/web/tpsd/" in others or f'"{replica.url}chi-tiet-bai-viet' in others


def test_calendar_steps_through_days_forever(replica: ReplicaHandle) -> None:
    url = "web/hlv/lich-cong-tac"
    days = []
    for _ in range(4):
        page = fetch(replica.url, url)
        assert page.status == 200
        url = unescape(re.search(r'href="([^"]+)">Ngày sau', page.text).group(1))
        days.append(dt.date.fromisoformat(parse_qs(urlsplit(url).query)["ngay"][0]))
    assert [(b - a).days for a, b in itertools.pairwise(days)] == [1, 1, 1]


def test_robots_and_search_trap(replica: ReplicaHandle) -> None:
    robots = fetch(replica.url, "robots.txt").text
    for rule in ("Disallow: /web/hlv/tim-kiem", "Disallow: /web/tpsd/tim-kiem", "Disallow: /c/"):
        assert rule in robots.splitlines()
    for page in ("web/hlv", HLV_NEWS, SEED.replace("4961961", "24950000")):
        assert any("/web/hlv/tim-kiem?q=" in link for link in fetch(replica.url, page).links())
    search = fetch(replica.url, "web/hlv/tim-kiem?q=abc")
    assert search.status == 200
    related = [link for link in search.links() if "tim-kiem?q=abc%20" in link]
    assert len(related) == 3


def test_technical_endpoints(replica: ReplicaHandle) -> None:
    assert fetch(replica.url, "o/dongthap-theme/css/main.css").headers["Content-Type"] == "text/css"
    assert fetch(replica.url, "combo?browserId=other&/o/frontend-js-web/a.js").status == 200
    assert fetch(replica.url, "c/portal/login?p_l_id=20183").status == 200
    assert fetch(replica.url, "web/nosuchsite/trang-chu").status == 404
    sitemap = fetch(replica.url, "sitemap.xml").text
    assert "/web/hlv/tin-tuc?plidlayout=5101" in sitemap and "/content/id/" not in sitemap


def test_request_log_counts_actions_and_traps(replica: ReplicaHandle) -> None:
    replica.reset()
    home = fetch(replica.url, "web/hlv")
    votes = [link for link in home.links() if "p_p_lifecycle=1" in link]
    kinds = {"p_p_lifecycle=2", "p_p_state=pop_up", "p_p_state=exclusive", "p_p_mode=edit"}
    assert len(votes) == 3 and all(any(k in link for link in home.links()) for k in kinds)
    assert fetch(replica.url, votes[0]).status == 302
    fetch(replica.url, "web/hlv/tim-kiem?q=x")
    fetch(replica.url, "web/hlv/lich-cong-tac?ngay=2030-01-01")
    log = replica.requests()
    assert (log["count"], log["actions"], log["disallowed"], log["calendar"]) == (4, 1, 1, 1)
    assert log["requests"][0]["method"] == "GET" and log["requests"][0]["target"] == "/web/hlv"
    assert "Host" in log["requests"][0]["headers"]
    replica.reset()
    assert replica.requests()["count"] == 0


# -- HTTP details ---------------------------------------------------------------------------


def test_headers_cookies_and_digest(replica: ReplicaHandle) -> None:
    page = fetch(replica.url, SEED)
    assert (page.status, page.reason) == (200, "OK")
    assert page.headers["Content-Type"] == "text/html;charset=UTF-8"
    assert page.headers["Server"] and page.headers["Date"]
    cookies = page.headers.get_all("Set-Cookie")
    assert len(cookies) == 2 and len({c.split("=")[0] for c in cookies}) == 2
    assert page.headers["X-Replica-Payload-SHA1"] == b32sha1(page.body)


def test_gzip_for_html_not_for_jpeg(replica: ReplicaHandle, manifest: dict) -> None:
    plain = fetch(replica.url, SEED)
    packed = fetch(replica.url, SEED, {"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body
    assert packed.headers["X-Replica-Payload-SHA1"] == b32sha1(packed.body)
    image = fetch(replica.url, generated(manifest)["images"][0], {"Accept-Encoding": "gzip"})
    assert image.headers["Content-Encoding"] is None
    assert image.headers["X-Replica-Payload-SHA1"] == b32sha1(image.body)


def test_listings_are_chunked_articles_are_not(replica: ReplicaHandle) -> None:
    listing = fetch(replica.url, HLV_NEWS, {"Accept-Encoding": "gzip"})
    assert listing.chunked and listing.headers["Content-Length"] is None
    assert listing.headers["X-Replica-Payload-SHA1"] == b32sha1(listing.body)
    article = fetch(replica.url, SEED)
    assert not article.chunked and int(article.headers["Content-Length"]) == len(article.body)


def test_keep_alive_reuses_the_connection(replica: ReplicaHandle) -> None:
    parts = urlsplit(replica.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", "/" + HLV_NEWS)
        connection.getresponse().read()
        first = connection.sock
        connection.request("GET", "/" + SEED)
        assert connection.getresponse().status == 200
        assert connection.sock is first
    finally:
        connection.close()


def test_conditional_requests_answer_304(replica: ReplicaHandle, manifest: dict) -> None:
    url = generated(manifest)["url"]
    page = fetch(replica.url, url)
    etag, modified = page.headers["ETag"], page.headers["Last-Modified"]
    assert etag and modified
    assert fetch(replica.url, url, {"If-None-Match": etag}).status == 304
    assert fetch(replica.url, url, {"If-Modified-Since": modified}).status == 304
    assert fetch(replica.url, url, {"If-None-Match": '"other"'}).status == 200
    earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert fetch(replica.url, url, {"If-Modified-Since": earlier}).status == 200


def test_images_and_attachments(replica: ReplicaHandle, manifest: dict) -> None:
    images = [i for a in manifest["articles"] if not a["specimen"] for i in a["images"]]
    assert all(1 <= len(a["images"]) <= 3 for a in manifest["articles"] if not a["specimen"])
    for url in images[:4]:
        body = fetch(replica.url, url).body
        assert body[:4] == b"\xff\xd8\xff\xe0" and body[-2:] == b"\xff\xd9"
        assert 30_000 <= len(body) <= 310_000
        assert len(zlib.compress(body)) > 0.98 * len(body)
        assert fetch(replica.url, url).body == body
    pdfs = [u for a in manifest["articles"] for u in a["attachments"]]
    assert pdfs
    pdf = fetch(replica.url, pdfs[0])
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.body.startswith(b"%PDF-1.4") and pdf.body.rstrip().endswith(b"%%EOF")


def test_manifest_ids_and_dates(manifest: dict) -> None:
    ids = [a["asset_id"] for a in manifest["articles"]]
    assert len(ids) == len(set(ids)) == 60
    fresh = [a for a in manifest["articles"] if not a["specimen"]]
    assert [a["date"] for a in fresh] == sorted((a["date"] for a in fresh), reverse=True)
    assert [a["asset_id"] for a in fresh] == sorted((a["asset_id"] for a in fresh), reverse=True)
    assert manifest["seed"].endswith(SEED) and manifest["new"] == manifest["edited"] == []


def test_big_catalogue_stays_compact(monkeypatch: pytest.MonkeyPatch) -> None:
    generated: list[int] = []
    monkeypatch.setattr(content, "generate", lambda asset_id, *_: generated.append(asset_id))
    catalog = Catalog(20_000)
    # Metadata only: an article's words are made when its page is asked for.
    assert generated == []
    assert len(catalog.articles) == 20_000
    assert Catalog(60).articles.keys() <= catalog.articles.keys()


# -- editions and flags ---------------------------------------------------------------------


def test_edition_flag_starts_at_that_edition() -> None:
    with running_replica("--articles", "20", "--edition", "2") as later:
        after = later.manifest()
        assert after["edition"] == 2 and len(after["articles"]) == 20 + 2 * 3
        assert len(after["new"]) == 3 and len(after["edited"]) == 2
        assert sum(bool(a["edited_editions"]) for a in after["articles"]) <= 4


def test_next_edition_changes_exactly_the_manifested_articles() -> None:
    with running_replica("--articles", "40") as portal:
        before = {a["url"]: a for a in portal.manifest()["articles"]}
        etags = {url: fetch(portal.url, url).headers["ETag"] for url in before}
        portal.set_edition(1)
        after = portal.manifest()
        assert set(after["new"]) == {a["url"] for a in after["articles"]} - before.keys()
        top = next(walk_listing(portal.url, after["listings"]["hlv"]["news"]))
        assert top in after["new"]
        changed = set()
        for url, etag in etags.items():
            page = fetch(portal.url, url, {"If-None-Match": etag})
            if page.status != 304:
                changed.add(url)
                assert "Cập nhật lần 1:" in page.text
        assert changed == set(after["edited"]) and len(changed) == 2


def test_flags_turn_off_304_and_chunk_everything(manifest: dict) -> None:
    with running_replica("--no-conditional", "--chunked-all") as other:
        page = fetch(other.url, SEED)
        assert page.chunked
        assert fetch(other.url, SEED, {"If-None-Match": page.headers["ETag"]}).status == 200


def test_faults() -> None:
    article = "/" + SEED.replace("4961961", "24950000")
    flags = ["--fail-first", f"{article}=2", "--retry-after", "/web/hlv/lien-he=1"]
    flags += ["--slow", "/web/hlv/gioi-thieu=0.3", "--reset", "/web/hlv/van-ban", "--broken-html"]
    with running_replica(*flags) as faulty:
        assert [fetch(faulty.url, article).status for _ in range(3)] == [500, 500, 200]
        busy = fetch(faulty.url, "web/hlv/lien-he")
        assert (busy.status, busy.headers["Retry-After"]) == (503, "1")
        assert fetch(faulty.url, "web/hlv/lien-he").status == 200
        assert fetch(faulty.url, "web/hlv/gioi-thieu").status == 200
        waited = {entry["target"]: entry["delay"] for entry in faulty.requests()["requests"]}
        assert (waited["/web/hlv/gioi-thieu"], waited["/web/hlv/lien-he"]) == (0.3, 0)
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            fetch(faulty.url, "web/hlv/van-ban")
        broken = [a for a in faulty.manifest()["articles"] if a["broken"]]
        assert len(broken) == 1
        assert not fetch(faulty.url, broken[0]["url"]).text.rstrip().endswith("</html>")


def test_huge_body_never_ends(replica: ReplicaHandle) -> None:
    parts = urlsplit(replica.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET /documents/huge HTTP/1.1\r\nHost: x\r\n\r\n")
        received = 0
        while received < 3_000_000:
            chunk = sock.recv(65536)
            assert chunk
            received += len(chunk)


def test_sigterm_exits_cleanly() -> None:
    with running_replica("--articles", "15") as short:
        short.process.terminate()
        assert short.process.wait(timeout=10) == 0
