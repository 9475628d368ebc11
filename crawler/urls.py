"""URL rules for Liferay portals: canonical forms, article keys, kinds, scope and traps.

Pure functions on strings; nothing here imports Scrapy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_JSESSIONID = re.compile(r";jsessionid=[^/?#]*", re.I)
# The query parameters _is_noise drops for carrying a whole other URL (values are encoded).
_REDIRECT_PARAM = re.compile(r"([?&])(?:[^=&#]*_)?(?:redirect|inheritRedirect|backURL)=[^&#]*")
_LOCALE_PREFIX = re.compile(r"^/vi(?=/|$)", re.I)
_WINDOW_STATE_SUFFIX = re.compile(r"/(?:maximized|normal|pop_up)/?$", re.I)
_SITE_PREFIX = re.compile(r"^/web/([^/]+)", re.I)
_SLASHES = re.compile(r"/{2,}")

_ASSET_ID_PATH = re.compile(r"/-/asset_publisher/[^/]+/content/id/(\d+)(?:/|$)")
_VIEW_ARTICLE_PATH = re.compile(r"/-/view-article/(?:[^/]+/)+?(\d+)/?$")
_URL_TITLE_PATH = re.compile(r"/-/asset_publisher/[^/]+/content/(?!id/)[^/]+")
_CHI_TIET_PATH = re.compile(r"/tin-tuc/chi-tiet/?$")

# Liferay namespaces portlet parameters as `_{portletId}_{name}`; these names carry no content.
_NOISE_SUFFIXES = ("_redirect", "_inheritRedirect", "_backURL", "_delta")
_NOISE_NAMES = frozenset(
    {"redirect", "inheritRedirect", "backURL", "delta", "p_r_p_resetCur", "p_p_state"}
)
_DEFAULT_VALUES = {"p_p_lifecycle": "0", "p_p_mode": "view"}

_LISTING_SLUGS = frozenset(
    {"tin-tuc", "thong-bao", "tin-tuc-su-kien", "tin-hoat-dong", "tin-noi-bat", "su-kien"}
)
_TECHNICAL = re.compile(r"^/(?:c/portal/|api/jsonws|o/|combo(?:/|$))", re.I)
_CALENDAR = re.compile(r"calendar|lich-cong-tac|lich-lam-viec", re.I)
_SEARCH = re.compile(r"/search(?:/|$)|/tim-kiem|searchportlet", re.I)
_SEARCH_PARAMS = frozenset({"q", "keywords", "keyword", "tu-khoa"})
_MODES = frozenset({"edit", "config", "help"})

PLIDLAYOUT = "plidlayout"

# Every function here is pure and the same URLs come back on every page (menus, sidebars,
# paging): remembering recent answers spares the crawl most of its URL parsing.
_memo = lru_cache(maxsize=1 << 12)


class UrlKind(StrEnum):
    """What a URL points at, as far as the crawler cares."""

    ARTICLE = "article"
    LISTING = "listing"
    DOCUMENT = "document"
    PAGE = "page"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a crawl may go: one host and, optionally, one `/web/{code}` site under it."""

    host: str
    """Lower-case host, with `:port` when the port is not the scheme's default."""
    site_prefix: str | None = None
    """`/web/{code}` when the target URL had one, else None (the whole host)."""

    @classmethod
    def from_url(cls, url: str) -> Scope:
        parts = urlsplit(url)
        match = _SITE_PREFIX.match(_site_path(parts.path))
        prefix = f"/web/{match.group(1).lower()}" if match else None
        return cls(_netloc(parts), prefix)


def joined(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base``; None where urllib refuses the result (an
    unclosed IPv6 host, a port that is no number), which no browser could follow either.

    The hrefs pages and archives hand over go through here (or a check as strict):
    urllib raises ValueError for such URLs, out of whatever asked, and the rest of a page went
    with it.
    """
    try:
        url = urljoin(base, href)
    except ValueError:
        return None
    return url if well_formed(url) else None


def well_formed(url: str) -> bool:
    """Whether urllib reads ``url`` whole, its port included. One it refuses (a port of words
    or out of range, an unclosed IPv6 host) names nothing anyone could fetch, and raises
    ValueError out of whatever asks for its host: hrefs (:func:`joined`), WARC target URIs
    (``extract``) and CDX rows (``recover``) that are such URLs are passed over."""
    try:
        _ = urlsplit(url).port  # raises for a port that is no number, or out of range
    except ValueError:
        return False
    return True


def _netloc(parts: SplitResult) -> str:
    return _host_and_port(parts.scheme, parts.netloc)


@_memo
def _host_and_port(scheme: str, netloc: str) -> str:
    parts = SplitResult(scheme, netloc, "", "", "")
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def _site_path(path: str) -> str:
    """The path without session ids, doubled slashes and locale prefix: what the site sees."""
    path = _JSESSIONID.sub("", path)
    # Tomcat merges runs of slashes: ``//web/hlv`` (a base URL ending in "/" joined to
    # "/web/hlv") is the site hlv, and must not widen a crawl's scope to the whole host.
    if "//" in path:
        path = _SLASHES.sub("/", path)
    while _LOCALE_PREFIX.match(path):
        path = _LOCALE_PREFIX.sub("", path, count=1)
    return path or "/"


def _is_noise(name: str, value: str, keep_plid: bool) -> bool:
    if name == PLIDLAYOUT:
        return not keep_plid
    if name in _NOISE_NAMES or name.startswith("p_p_col_") or name.endswith(_NOISE_SUFFIXES):
        return True
    if name.endswith("_viewMode") and value == "print":
        return True
    if (
        name == "cur" or name.endswith("_cur")
    ) and value == "1":  # page 1 is the page without paging
        return True
    return _DEFAULT_VALUES.get(name) == value


def _drop_idle_portlet_id(query: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop `p_p_id` once none of its portlet's parameters are left: it then selects nothing."""
    ids = [value for name, value in query if name == "p_p_id"]
    if not ids:
        return query
    namespaces = tuple(f"_{pid}_" for pid in ids)
    others = [name for name, _ in query if name != "p_p_id"]
    if any(name.startswith(namespaces) or name.startswith("p_p_") for name in others):
        return query
    return [(name, value) for name, value in query if name != "p_p_id"]


def _normalise(url: str, keep_plid: bool) -> str:
    parts = urlsplit(url.strip())
    path = _site_path(parts.path)
    while _WINDOW_STATE_SUFFIX.search(path):
        path = _WINDOW_STATE_SUFFIX.sub("", path) or "/"
    query = _clean_query(parts.query, keep_plid)
    return urlunsplit((parts.scheme.lower(), _netloc(parts), path, query, ""))


@_memo
def query_pairs(query: str) -> tuple[tuple[str, str], ...]:
    """The decoded (name, value) pairs of a query string, blank values kept."""
    return tuple(parse_qsl(query, keep_blank_values=True))


@_memo
def _clean_query(query: str, keep_plid: bool) -> str:
    # A site's links share a handful of query strings, so each is taken apart only once.
    kept = [
        (name, value) for name, value in query_pairs(query) if not _is_noise(name, value, keep_plid)
    ]
    return urlencode(sorted(_drop_idle_portlet_id(kept)))


def without_session_noise(url: str) -> str:
    """The URL (or href) less ``;jsessionid=`` and ``redirect=``-style parameters."""
    # Redirect parameters embed the page they sit on, so nearly every such link is new;
    # removing them and session ids first (as _normalise would) lets the memo recognise it.
    # The substring tests spare most URLs both regex scans.
    if "edirect=" in url or "backURL=" in url:
        # A trailing separator left behind would make one more form of the same link.
        url = _REDIRECT_PARAM.sub(r"\1", url).rstrip("?&")
    return _JSESSIONID.sub("", url) if ";" in url else url


def canonicalize(url: str) -> str:
    """The one form of a URL used for keys: session, redirect, paging-size and view noise gone.

    `plidlayout` is dropped too: it only names the listing a link came from.
    """
    return _canonical(without_session_noise(url))


def clean(url: str) -> str:
    """The form to request: like :func:`canonicalize` but keeping `plidlayout`.

    Liferay uses `plidlayout` to render an article in its listing's layout, and the
    portal's own links carry it.
    """
    return _cleaned(without_session_noise(url))


@_memo
def _canonical(url: str) -> str:
    return _normalise(url, keep_plid=False)


@_memo
def _cleaned(url: str) -> str:
    return _normalise(url, keep_plid=True)


def _query_value(url: str, name: str) -> str | None:
    for key, value in query_pairs(urlsplit(url).query):
        if key == name:
            return value
    return None


@_memo
def plidlayout(url: str) -> str | None:
    """The `plidlayout` parameter (the listing's layout id), or None."""
    return _query_value(url, PLIDLAYOUT) or None


@_memo
def page_number(url: str) -> int | None:
    """The Liferay paging parameter (`cur` or `_{portletId}_cur`) as a number, or None."""
    for name, value in query_pairs(urlsplit(url).query):
        if (name == "cur" or name.endswith("_cur")) and value.isdecimal():
            return int(value)
    return None


@_memo
def asset_id(url: str) -> str | None:
    """The article's asset entry id when the URL carries one."""
    parts = urlsplit(url)
    path = _site_path(parts.path)
    for pattern in (_ASSET_ID_PATH, _VIEW_ARTICLE_PATH):
        match = pattern.search(path)
        if match:
            return match.group(1)
    if _CHI_TIET_PATH.search(path):
        value = _query_value(url, "id")
        if value and value.isdecimal():
            return value
    return None


@_memo
def site_of(url: str) -> str:
    """`host[:port]` plus `/web/{code}` when the URL has one: `lapvo.dongthap.gov.vn/web/hlv`."""
    scope = Scope.from_url(url)
    return scope.host + (scope.site_prefix or "")


@_memo
def article_key(url: str) -> str:
    """The one identity of what a URL fetches (request fingerprints, frontier and state rows,
    item keys): `{host}#{asset_id}` when the URL names an asset, else the canonical URL.

    The host and not the site: asset entry ids come from one sequence shared by every site of
    a Liferay installation, and a site is reached both at its host's root and under
    `/web/{code}`, so both addresses are one article.
    """
    found = asset_id(url)
    if found:
        return f"{Scope.from_url(url).host}#{found}"
    return canonicalize(url)


def _is_article_path(path: str) -> bool:
    return bool(
        _ASSET_ID_PATH.search(path)
        or _VIEW_ARTICLE_PATH.search(path)
        or _URL_TITLE_PATH.search(path)
    )


def _is_listing(path: str, url: str) -> bool:
    slug = path.rstrip("/").rsplit("/", 1)[-1].lower()
    return slug in _LISTING_SLUGS or plidlayout(url) is not None or page_number(url) is not None


@_memo
def classify(url: str) -> UrlKind:
    """ARTICLE, LISTING, DOCUMENT (`/documents/...`), PAGE, or FORBIDDEN."""
    if forbidden_reason(url):
        return UrlKind.FORBIDDEN
    path = _site_path(urlsplit(url).path)
    if _is_article_path(path) or asset_id(url):
        return UrlKind.ARTICLE
    if path.startswith("/documents/"):
        return UrlKind.DOCUMENT
    if _is_listing(path, url):
        return UrlKind.LISTING
    return UrlKind.PAGE


def _portlet_reason(query: Sequence[tuple[str, str]]) -> str | None:
    for name, value in query:
        value = value.lower()
        if name == "p_p_lifecycle" and value == "1":
            return "action"
        if name == "p_p_lifecycle" and value == "2":
            return "resource"
        if name == "javax.portlet.action" or name.endswith("_javax.portlet.action"):
            return "action"
        if name == "p_p_state" and value == "pop_up":
            return "popup"
        if name == "p_p_state" and value == "exclusive":
            return "exclusive"
        if name == "p_p_mode" and value in _MODES:
            return "mode"
    return None


def _search_or_calendar(path: str, query: Sequence[tuple[str, str]]) -> str | None:
    # Only the page part of the path: an article's own slug may well say "lịch công tác".
    path = path.split("/-/", 1)[0]
    portlet_ids = " ".join(value for name, value in query if name == "p_p_id")
    if _CALENDAR.search(path) or _CALENDAR.search(portlet_ids):
        return "calendar"
    names = {name.rsplit("_", 1)[-1] if name.startswith("_") else name for name, _ in query}
    if _SEARCH.search(path) or _SEARCH.search(portlet_ids) or names & _SEARCH_PARAMS:
        return "search"
    return None


@_memo
def forbidden_reason(url: str, max_length: int = 2000) -> str | None:
    """Why a URL must never be requested (a short slug), or None when it may be.

    robots.txt is not checked here: Scrapy's RobotsTxtMiddleware does that.
    """
    parts = urlsplit(url)
    query = query_pairs(parts.query)
    path = _site_path(parts.path)
    reason = _portlet_reason(query)
    if reason:
        return reason
    if _TECHNICAL.match(path):
        return "technical"
    reason = _search_or_calendar(path, query)
    if reason:
        return reason
    if len(url) > max_length:
        return "too-long"
    return None


@_memo
def _scope_of(url: str) -> Scope:
    return Scope.from_url(url)


def in_scope(url: str, scope: Scope) -> bool:
    """True when the URL is on the scope's host and, if it has one, under its site prefix."""
    other = _scope_of(url)
    if other.host != scope.host:
        return False
    return scope.site_prefix is None or other.site_prefix == scope.site_prefix
