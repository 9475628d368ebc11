"""Listing pages: their article entries (with dates), paging and section; links in menus.

Liferay listings are Asset Publisher widgets (or custom templates) inside a portlet
boundary `div#p_p_id_{portletId}_`; their paging links carry `_{portletId}_cur`.
Every URL returned is absolute and passed through :func:`crawler.urls.clean`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

from lxml.html import HtmlElement

from crawler.parsers.page import Page
from crawler.urls import UrlKind, article_key, classify, clean

_SKIPPED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "#")
_DATE = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)")
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:hH]([0-5]\d)(?!\d)")
_TIME_WINDOW = 12
_TITLE_SUFFIX = re.compile(r"^(.*\S)\s+[-|]\s+[^-|]*$", re.S)
_DATE_ELEMENTS = ".//time | .//*[contains(@class, 'date') or contains(@class, 'time')]"
_GENERIC_TITLES = frozenset({"xuất bản thông tin", "asset publisher", "xuất bản nội dung"})
_CHROME = "ancestor-or-self::*[self::nav or self::header or self::footer or @role='navigation']"
_MENUS = (
    "//nav | //*[@role='navigation' or @role='menubar' or @id='navigation']"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' navbar ')]"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' menu ')]"
)
# In Liferay layouts every column but the first carries `portlet-column-last`.
_SIDE_COLUMN = "ancestor::*[contains(concat(' ', @class, ' '), ' portlet-column-last ')]"
_BOUNDARY = "ancestor-or-self::*[starts-with(@id, 'p_p_id_')][1]"
_ACTIVE_PAGE = (
    ".//*[contains(concat(' ', normalize-space(@class), ' '), ' active ')"
    " or @aria-current='page' or contains(@class, 'current')]"
)


@dataclass(frozen=True, slots=True)
class ListingEntry:
    """One article in a listing."""

    url: str
    title: str | None
    date: str | None
    """ISO date (`2022-06-30`) or date-time (`2022-06-30T16:30:00+07:00`) shown beside it."""


@dataclass(frozen=True, slots=True)
class Listing:
    """What a listing page offers the crawler."""

    entries: list[ListingEntry]
    """Article links of the listing body, in page order."""
    page: int | None
    """The current page number when the page shows paging."""
    pages: list[str]
    """Paging links at the one default page size (`_delta` dropped)."""
    section: str | None
    """The listing's title: the category of its articles."""


# Any href will do (the hints below keep only article links): no need to find the tag first.
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_BASE_HREF = re.compile(r"""<base\s[^>]*?\bhref\s*=\s*["']([^"']+)""", re.I)
# Every article URL form classify() knows contains one of these.
_ARTICLE_HINTS = ("/content/", "/view-article/", "chi-tiet")


def _fold(text: str | None) -> str | None:
    if text is None:
        return None
    folded = " ".join(unicodedata.normalize("NFC", text).split())
    return folded or None


def _base_url(page: Page) -> str:
    base = page.tree.find(".//base[@href]")
    return urljoin(page.url, base.get("href")) if base is not None else page.url


def _anchors(root: HtmlElement, base: str) -> Iterator[tuple[HtmlElement, str, str]]:
    """(element, absolute URL as written, cleaned URL) for every followable link under root."""
    for anchor in root.iterfind(".//a[@href]"):
        href = anchor.get("href", "").strip()
        if not href or href.lower().startswith(_SKIPPED_SCHEMES):
            continue
        absolute = urljoin(base, href)
        if urlsplit(absolute).scheme not in ("http", "https"):
            continue
        yield anchor, absolute, clean(absolute)


def _article_anchors(root: HtmlElement, base: str) -> Iterator[tuple[HtmlElement, str]]:
    for anchor, _raw, url in _anchors(root, base):
        if classify(url) is UrlKind.ARTICLE:
            yield anchor, url


def _in_chrome(element: HtmlElement) -> bool:
    return bool(element.xpath(_CHROME))


def _in_side_column(element: HtmlElement) -> bool:
    return bool(element.xpath(_SIDE_COLUMN))


def _body_anchors(root: HtmlElement, base: str) -> Iterator[tuple[HtmlElement, str]]:
    """Article links outside menus and side columns: what a listing body can hold."""
    for anchor, url in _article_anchors(root, base):
        if not _in_chrome(anchor) and not _in_side_column(anchor):
            yield anchor, url


def _cur_namespace(url: str) -> str | None:
    """The portlet id of a paging link (`_{id}_cur`), "" for a bare `cur`, None otherwise."""
    for name, value in parse_qsl(urlsplit(url).query):
        if value.isdigit() and name == "cur":
            return ""
        if value.isdigit() and name.endswith("_cur"):
            return name[: -len("_cur")].strip("_")
    return None


def _boundary(element: HtmlElement) -> HtmlElement | None:
    found = element.xpath(_BOUNDARY)
    return found[0] if found else None


def _busiest_boundary(page: Page, base: str) -> HtmlElement | None:
    """The main-column portlet holding the most distinct articles (first of equals)."""
    keys: dict[HtmlElement, set[str]] = {}
    for anchor, url in _body_anchors(page.tree, base):
        boundary = _boundary(anchor)
        if boundary is not None:
            keys.setdefault(boundary, set()).add(article_key(url))
    return max(keys, key=lambda b: len(keys[b])) if keys else None


def _region(page: Page, base: str) -> tuple[HtmlElement, str | None]:
    """The listing body and the namespace of its paging (None when it has no paging)."""
    for anchor, raw, url in _anchors(page.tree, base):
        namespace = _cur_namespace(raw)
        if namespace is None or classify(url) is UrlKind.FORBIDDEN:
            continue
        boundary = page.tree.get_element_by_id(f"p_p_id_{namespace}_", None)
        if boundary is None:
            boundary = _boundary(anchor)
        if boundary is not None:
            return boundary, namespace
    busiest = _busiest_boundary(page, base)
    if busiest is not None:
        return busiest, None
    mains = page.tree.xpath("//*[@role='main'] | //*[@id='main-content'] | //main")
    return (mains[0] if mains else page.tree.body), None


def _entry_box(anchor: HtmlElement, key: str, region: HtmlElement, keys: dict) -> HtmlElement:
    """The largest ancestor of a link that holds no other article: the entry's own box."""
    box = anchor
    while box is not region:
        parent = box.getparent()
        if parent is None or parent is region:
            break
        if any(keys.get(a, key) != key for a in parent.iterfind(".//a[@href]")):
            break
        box = parent
    return box


def _date_in(text: str) -> str | None:
    match = _DATE.search(text)
    if not match:
        return None
    day, month, year = (int(group) for group in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    date = f"{year:04d}-{month:02d}-{day:02d}"
    around = text[max(0, match.start() - _TIME_WINDOW) : match.end() + _TIME_WINDOW]
    time = _TIME.search(around)
    if not time:
        return date
    return f"{date}T{int(time.group(1)):02d}:{time.group(2)}:00+07:00"


def _entry_date(box: HtmlElement) -> str | None:
    """The date shown in an entry: its date element first, as a lead may cite other days."""
    for element in box.xpath(_DATE_ELEMENTS):
        date = _date_in(element.text_content())
        if date:
            return date
    return _date_in(box.text_content())


def _image_alt(anchor: HtmlElement) -> str | None:
    image = anchor.find(".//img[@alt]")
    return _fold(image.get("alt")) if image is not None else None


def _entries(region: HtmlElement, base: str) -> list[ListingEntry]:
    anchors = list(_body_anchors(region, base))
    keys = {anchor: article_key(url) for anchor, url in anchors}
    urls: dict[str, str] = {}
    titles: dict[str, str | None] = {}
    alts: dict[str, str | None] = {}
    dates: dict[str, str | None] = {}
    for anchor, url in anchors:
        key = keys[anchor]
        if key not in urls:
            urls[key] = url
            dates[key] = _entry_date(_entry_box(anchor, key, region, keys))
        # A thumbnail link often comes first: its alt text is only a fallback title.
        titles[key] = titles.get(key) or _fold(anchor.text_content()) or _fold(anchor.get("title"))
        alts[key] = alts.get(key) or _image_alt(anchor)
    return [ListingEntry(url, titles[key] or alts[key], dates[key]) for key, url in urls.items()]


def _paging(page: Page, base: str, namespace: str | None) -> list[str]:
    if namespace is None:
        return []
    urls = [
        url
        for _anchor, raw, url in _anchors(page.tree, base)
        if _cur_namespace(raw) == namespace and classify(url) is not UrlKind.FORBIDDEN
    ]
    return list(dict.fromkeys(urls))


def _current_page(page: Page, region: HtmlElement, namespace: str | None) -> int | None:
    if namespace is None:
        return None
    for marker in region.xpath(_ACTIVE_PAGE):
        text = _fold(marker.text_content()) or ""
        if text.isdigit():
            return int(text)
    for name, value in parse_qsl(urlsplit(page.url).query):
        if value.isdigit() and name in ("cur", f"_{namespace}_cur"):
            return int(value)
    return 1


def _section(page: Page, region: HtmlElement) -> str | None:
    for title in region.xpath(".//*[contains(@class, 'portlet-title')]"):
        text = None if _in_side_column(title) else _fold(title.text_content())
        if text and text.lower() not in _GENERIC_TITLES:
            return text
    crumbs = page.tree.xpath("//*[contains(@class, 'breadcrumb')]//li")
    if crumbs:
        return _fold(crumbs[-1].text_content())
    heading = region.find(".//h1")
    if heading is not None and _fold(heading.text_content()):
        return _fold(heading.text_content())
    head = page.tree.find(".//title")
    if head is not None and head.text:
        # `{section} - {site}` is the Liferay title; vendor portals use `|`.
        match = _TITLE_SUFFIX.match(head.text.strip())
        return _fold(match.group(1) if match else head.text)
    return None


def parse_listing(page: Page) -> Listing:
    """Entries, paging and section of a listing page."""
    base = _base_url(page)
    region, namespace = _region(page, base)
    return Listing(
        entries=_entries(region, base),
        page=_current_page(page, region, namespace),
        pages=_paging(page, base, namespace),
        section=_section(page, region),
    )


def navigation_links(page: Page) -> list[str]:
    """Pages linked from the site's menus (candidate listings), in menu order."""
    base = _base_url(page)
    urls: list[str] = []
    for menu in page.tree.xpath(_MENUS):
        for _anchor, _raw, url in _anchors(menu, base):
            if classify(url) in (UrlKind.LISTING, UrlKind.PAGE):
                urls.append(url)
    return list(dict.fromkeys(urls))


def article_links(page: Page) -> list[str]:
    """Every article linked from the page, sidebars included, once each, in page order.

    A scan of the markup rather than a tree: on article pages, where the crawl only needs
    the links, building a second tree cost more than extracting the article itself.
    """
    text = page.text
    base_tag = _BASE_HREF.search(text)
    base = urljoin(page.url, html.unescape(base_tag.group(1))) if base_tag else page.url
    found: dict[str, str] = {}
    for match in _HREF.finditer(text):
        href = html.unescape(next(group for group in match.groups() if group is not None))
        if not any(hint in href for hint in _ARTICLE_HINTS):
            continue
        url = clean(urljoin(base, href.strip()))
        if classify(url) is UrlKind.ARTICLE:
            found.setdefault(article_key(url), url)
    return list(found.values())
