"""Routing: what the portal answers for a request target, independent of HTTP plumbing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import cached_property
from typing import Generic, TypeVar
from urllib.parse import parse_qs, quote, unquote_plus

from replica import content, media
from replica.catalog import DEFAULT_DELTA, Article, Catalog
from replica.render import CUR, Renderer, rewrite_hosts, today
from replica.sites import ASSET_PUBLISHER, BY_CODE, DETAIL_INSTANCE, Site

HTML = "text/html;charset=UTF-8"
HUGE_PATH = "/documents/huge"
_JSESSION = re.compile(r";jsessionid=[^/?#]*", re.I)
_ARTICLE = re.compile(
    rf"^/chi-tiet-bai-viet/-/asset_publisher/{DETAIL_INSTANCE}/content/id/(\d+)"
    r"(?:/(?:maximized|normal|pop_up|exclusive))?$"
)
_STATIC = {"/gioi-thieu", "/van-ban", "/lien-he"}

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


@dataclass
class Reply:
    """One answer: status, body and the headers that matter to a crawler."""

    status: int
    body: bytes = b""
    content_type: str = HTML
    headers: list[tuple[str, str]] = field(default_factory=list)
    compressible: bool = False
    """Sent gzip-encoded when the client accepts it."""
    chunked: bool = False
    etag: str | None = None
    last_modified: str | None = None
    cookies: bool = False
    endless: bool = False
    """Streamed without end (the huge-body fault); ``body`` is the repeated block."""

    @cached_property
    def gzipped(self) -> bytes:
        # mtime=0 keeps the compressed bytes (and their digest) identical across runs.
        return gzip.compress(self.body, compresslevel=6, mtime=0)


def _http_date(ts: int) -> str:
    return formatdate(ts, usegmt=True)


def _int(params: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(params[name][0])
    except (KeyError, ValueError):
        return default


class Portal:
    """Answers every request target of the replica for one base URL."""

    def __init__(self, catalog: Catalog, base: str, link_faults: bool = False) -> None:
        self.catalog = catalog
        self.base = base
        self.renderer = Renderer(catalog, base, link_faults)
        self._templates: LRU[tuple, Reply] = LRU(1024)
        self._final: LRU[str, Reply] = LRU(512)

    def respond(self, target: str) -> Reply:
        """The reply for a GET of ``target`` (path and query as requested)."""
        cached = self._final.get(target)
        if cached is not None:
            return cached
        reply = self._route(target)
        if CUR.encode() in reply.body:
            current = quote(self.base + target, safe="").encode()
            reply = dataclasses.replace(reply, body=reply.body.replace(CUR.encode(), current))
        if reply.status == 200 and not reply.endless and len(reply.body) < 200_000:
            self._final.put(target, reply)
        return reply

    def _route(self, target: str) -> Reply:
        path, _, query = target.partition("?")
        params = parse_qs(query)
        if path == "/robots.txt":
            return Reply(200, self.renderer.robots().encode(), "text/plain;charset=UTF-8")
        if path == "/sitemap.xml":
            sitemap = self.renderer.sitemap().encode()
            return Reply(200, sitemap, "application/xml", compressible=True)
        if path == HUGE_PATH:
            block = media.jpeg("huge")[:65536]
            return Reply(200, block, "application/octet-stream", endless=True)
        if path.startswith("/documents/"):
            return self._document(path, params)
        if path.startswith("/image/"):
            return Reply(200, media.PNG, "image/png")
        if path == "/combo":
            return Reply(200, media.JS, "application/javascript", compressible=True)
        if path.startswith("/o/"):
            asset = media.theme_asset(path)
            if asset is None:
                return self._not_found()
            return Reply(
                200, asset[0], asset[1], compressible=not asset[1].startswith(("image", "font"))
            )
        if path.startswith("/c/portal/login"):
            return self._html(("login",), self.renderer.login)
        if path.startswith(("/c/", "/api/")):
            return self._not_found()
        return self._site_page(path, params)

    def _document(self, path: str, params: dict[str, list[str]]) -> Reply:
        parts = path.split("/")
        name = unquote_plus(parts[4]) if len(parts) > 4 else ""
        ext = name.rsplit(".", 1)[-1].lower()
        millis = _int(params, "t", 0)
        headers = [("Last-Modified", _http_date(millis // 1000))] if millis else []
        if ext in ("jpg", "jpeg"):
            return Reply(200, media.jpeg(path), "image/jpeg", headers)
        if ext == "pdf":
            return Reply(200, media.pdf(name), "application/pdf", headers)
        if ext == "png":
            return Reply(200, media.PNG, "image/png", headers)
        return self._not_found()

    def _not_found(self) -> Reply:
        reply = self._html(("404",), self.renderer.not_found)
        return dataclasses.replace(reply, status=404)

    def _html(
        self, key: tuple, render: Callable[..., str], *args: object, chunked: bool = False
    ) -> Reply:
        cached = self._templates.get(key)
        if cached is None:
            body = render(*args).encode("utf-8")
            cached = self._templates.put(
                key, Reply(200, body, compressible=True, cookies=True, chunked=chunked)
            )
        return cached

    def _site_page(self, path: str, params: dict[str, list[str]]) -> Reply:
        clean = _JSESSION.sub("", path)
        locale = clean == "/vi" or clean.startswith("/vi/")
        if locale:
            clean = clean[3:] or "/"
        site, rest = _split_site(clean)
        if site is None:
            return self._not_found()
        lifecycle = params.get("p_p_lifecycle", ["0"])[0]
        if lifecycle == "1":
            # Liferay runs the action, then redirects to the page (post-redirect-get).
            return Reply(302, b"", headers=[("Location", self.base + clean)], cookies=True)
        if lifecycle == "2":
            return Reply(200, b'{"votes":[62,30,8]}', "application/json")
        state = params.get("p_p_state", ["normal"])[0]
        if state in ("pop_up", "exclusive"):
            body = self.renderer.portlet_state(state).encode()
            return Reply(200, body, compressible=True, cookies=True)
        if params.get("p_p_mode", ["view"])[0] in ("edit", "config"):
            return self._html(("denied", site.code), self.renderer.no_permission, site)
        match = _ARTICLE.match(rest)
        if match:
            return self._article(site, int(match.group(1)), locale)
        return self._section(site, rest, params)

    def _section(self, site: Site, rest: str, params: dict[str, list[str]]) -> Reply:
        if rest in ("", "/", "/trang-chu"):
            return self._html(("home", site.code), self.renderer.home, site)
        if rest == "/home":
            # An old address kept alive with a permanent redirect, as portals do after a redesign.
            home = f"{self.base}{site.prefix}/trang-chu"
            return Reply(301, b"", headers=[("Location", home)], cookies=True)
        if rest in _STATIC:
            return self._html(("static", site.code, rest), self.renderer.static, site, rest[1:])
        listings = {
            "/tin-tuc": (False, site.news_instance),
            "/thong-bao": (True, site.notice_instance),
            "/chi-tiet-bai-viet": (False, DETAIL_INSTANCE),
        }
        if rest in listings:
            notice, instance = listings[rest]
            return self._listing(site, rest, notice, instance, params)
        if rest == "/lich-cong-tac":
            day = _day(params.get("ngay", [""])[0])
            return self._html(("calendar", site.code, day), self.renderer.calendar, site, day)
        if rest == "/tim-kiem":
            query = params.get("q", [""])[0]
            return self._html(("search", site.code, query), self.renderer.search, site, query)
        return self._not_found()

    def _listing(
        self, site: Site, rest: str, notice: bool, instance: str, params: dict[str, list[str]]
    ) -> Reply:
        pid = ASSET_PUBLISHER + instance
        delta = _int(params, f"_{pid}_delta", DEFAULT_DELTA)
        if not 1 <= delta <= 200:
            delta = DEFAULT_DELTA
        items = self.catalog.listing(site, notice)
        pages = max(1, -(-len(items) // delta))
        # Liferay answers an out-of-range page with the last page, not an error.
        cur = min(max(_int(params, f"_{pid}_cur", 1), 1), pages)
        path = site.prefix + rest
        key = ("listing", path, delta, cur)
        render = self.renderer.listing
        return self._html(key, render, site, notice, delta, cur, path, instance, chunked=True)

    def _article(self, site: Site, asset_id: int, locale: bool) -> Reply:
        article = self.catalog.articles.get(asset_id)
        if article is None or article.site is not site:
            return self._html(("soft404", site.code), self.renderer.soft404, site)
        key = ("article", asset_id, locale)
        cached = self._templates.get(key)
        if cached is None:
            cached = self._templates.put(key, self._render_article(article, locale))
        return cached

    def _render_article(self, article: Article, locale: bool) -> Reply:
        name = self.catalog.alternates.get(article.asset_id) if locale else None
        name = name or article.specimen
        if name:
            body = rewrite_hosts(content.specimen_html(name), self.base)
        elif article.broken:
            body = self.renderer.broken(article).encode("utf-8")
        else:
            body = self.renderer.article(article).encode("utf-8")
        # The validator follows the article's content version, not the page chrome around
        # it, so a new edition changes the ETag of exactly the edited articles.
        a = article
        version = f"{name}|{a.asset_id}|{a.edits}|{a.modified_ts}|{a.broken}|{self.base}"
        etag = '"' + hashlib.sha1(version.encode()).hexdigest()[:20] + '"'
        return Reply(
            200,
            body,
            compressible=True,
            cookies=True,
            etag=etag,
            last_modified=_http_date(article.modified_ts),
        )


def _split_site(path: str) -> tuple[Site | None, str]:
    if path.startswith("/web/"):
        code, _, rest = path[5:].partition("/")
        site = BY_CODE.get(code) if code else None
        return site, "/" + rest if rest else ""
    return BY_CODE[""], path


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return today()
