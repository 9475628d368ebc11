"""Listing pages: their article entries (with dates), paging and section; links in menus.

Liferay listings are Asset Publisher widgets (or custom templates) inside a portlet
boundary `div#p_p_id_{portletId}_`; their paging links carry `_{portletId}_cur`.
Every URL returned is absolute and passed through :func:`crawler.urls.clean`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import lxml.etree

from crawler.parsers.page import Element, Page
from crawler.urls import (
    UrlKind,
    article_key,
    classify,
    clean,
    joined,
    query_pairs,
    without_session_noise,
)

_SKIPPED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "#")
_DATE = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)")
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:hH]([0-5]\d)(?!\d)")
_TIME_WINDOW = 12
_TITLE_SUFFIX = re.compile(r"^(.*\S)\s+[-|]\s+[^-|]*$", re.S)
_DATE_ELEMENTS = lxml.etree.XPath(
    ".//time | .//*[contains(@class, 'date') or contains(@class, 'time')]"
)
# A listing region holds at least this many articles, and this share of the page's.
_LIST_MIN = 2
_LIST_SHARE = 0.6
_GENERIC_TITLES = frozenset({"xuất bản thông tin", "asset publisher", "xuất bản nội dung"})
_MENUS = (
    "//nav | //*[@role='navigation' or @role='menubar' or @id='navigation']"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' navbar ')]"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' menu ')]"
)
# In Liferay layouts every column but the first carries `portlet-column-last`.
_SIDE_COLUMN = "*[contains(concat(' ', @class, ' '), ' portlet-column-last ')]"
_IN_SIDE_COLUMN = lxml.etree.XPath(f"ancestor::{_SIDE_COLUMN}")
# Links in menus, page header and footer, or a side column: never a listing's entries.
_ASIDE_ANCHORS = lxml.etree.XPath(
    "//*[self::nav or self::header or self::footer or @role='navigation']/descendant-or-self::a"
    f" | //{_SIDE_COLUMN}//a"
)
_BOUNDARY = lxml.etree.XPath("ancestor-or-self::*[starts-with(@id, 'p_p_id_')][1]")
_ACTIVE_PAGE = lxml.etree.XPath(
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
    articles: list[str]
    """Every article the page links, sidebars included, once each (:func:`article_links`)."""


# Article URLs of the portals' earlier generations, which a crawl of today's sites never meets
# but archived listings link: DotNetNuke news modules (``/tabid/89/ArticleId/61961/slug.aspx``,
# ``?ArticleId=``, ``NewsID``), SharePoint pages of items (``/Pages/tin-tuc.aspx?ItemID=835569``).
_EARLIER_ARTICLE = re.compile(
    r"/(?:articleid|newsid|itemid)/\d+|[?&](?:articleid|newsid|itemid|mid_news)=\d+", re.I
)
# Every article URL form classify() knows contains one of these.
_ARTICLE_HINTS = ("/content/", "/view-article/", "chi-tiet")
_ABSOLUTE = ("http://", "https://")
_TEXT = lxml.etree.XPath("string()")
_BY_ID = lxml.etree.XPath("//*[@id=$id]")
_HREFS = lxml.etree.XPath("//a/@href", smart_strings=False)
_NAVIGABLE = (UrlKind.LISTING, UrlKind.PAGE)


@dataclass(frozen=True, slots=True)
class Link:
    """A followable link of a page."""

    raw: str
    """Absolute URL as written, less session ids and ``redirect=`` chains."""
    url: str
    """The cleaned URL to request (:func:`crawler.urls.clean`)."""
    kind: UrlKind
    paging: str | None
    """The portlet id of its paging parameter (``_{id}_cur``), "" for a bare ``cur``, or
    None when the link pages nothing."""


Links = dict[Element, Link]
"""A page's followable ``<a href>`` elements, in document order, with their links."""


def _text(element: Element) -> str:
    return str(_TEXT(element))


def _fold(text: str | None) -> str | None:
    if text is None:
        return None
    folded = " ".join(unicodedata.normalize("NFC", text).split())
    return folded or None


def _base_url(page: Page) -> str:
    base = page.tree.find(".//base[@href]")
    if base is None:
        return page.url
    try:
        return urljoin(page.url, base.get("href"))
    except ValueError:  # no browser could use it either (an unclosed IPv6 host)
        return page.url


def _link(base: str, href: str | None) -> Link | None:
    """The link an href makes on a page at ``base``; None for scripts, mail and fragments."""
    href = (href or "").strip()
    if not href or href.lower().startswith(_SKIPPED_SCHEMES):
        return None
    # Sidebars link with a redirect= of the current page, so nearly every such href is new;
    # without it the same few links come back on every page and the memo answers them.
    href = without_session_noise(href)
    return _resolved("" if href.startswith(_ABSOLUTE) else base, href)


@lru_cache(maxsize=1 << 13)
def _resolved(base: str, href: str) -> Link | None:
    # A link no browser could follow either (an unclosed IPv6 host, a port of words) is
    # passed over, never the page's other links with it.
    absolute = joined(base, href)
    if absolute is None or urlsplit(absolute).scheme not in ("http", "https"):
        return None
    url = clean(absolute)
    return Link(absolute, url, classify(url), _cur_namespace(absolute))


def page_links(root: Element, base: str) -> Links:
    """Every followable link under ``root``, resolved once for all the questions asked of it."""
    links: Links = {}
    for anchor in root.iter("a"):
        link = _link(base, anchor.get("href"))
        if link is not None:
            links[anchor] = link
    return links


def _within(region: Element, links: Links) -> Iterator[tuple[Element, Link]]:
    for anchor in region.iter("a"):
        link = links.get(anchor)
        if link is not None:
            yield anchor, link


def _in_side_column(element: Element) -> bool:
    return bool(_IN_SIDE_COLUMN(element))


def is_article_link(link: Link) -> bool:
    """An article of today's portal (:func:`crawler.urls.classify`) or of an earlier one."""
    return link.kind is UrlKind.ARTICLE or (
        link.kind is UrlKind.PAGE and _EARLIER_ARTICLE.search(link.url) is not None
    )


def _body_articles(tree: Element, links: Links) -> Links:
    """Article links outside menus and side columns: what a listing body can hold."""
    aside = set(_ASIDE_ANCHORS(tree))
    return {
        anchor: link
        for anchor, link in links.items()
        if is_article_link(link) and anchor not in aside
    }


def _cur_namespace(url: str) -> str | None:
    """The portlet id of a paging link (`_{id}_cur`), "" for a bare `cur`, None otherwise."""
    for name, value in query_pairs(urlsplit(url).query):
        if value.isdecimal() and name == "cur":
            return ""
        if value.isdecimal() and name.endswith("_cur"):
            return name[: -len("_cur")].strip("_")
    return None


def _boundary(element: Element) -> Element | None:
    found = _BOUNDARY(element)
    return found[0] if found else None


def _busiest_boundary(body: Links) -> Element | None:
    """The main-column portlet holding the most distinct articles (first of equals)."""
    keys: dict[Element, set[str]] = {}
    for anchor, link in body.items():
        boundary = _boundary(anchor)
        if boundary is not None:
            keys.setdefault(boundary, set()).add(article_key(link.url))
    return max(keys, key=lambda b: len(keys[b])) if keys else None


def _paging_links(links: Links) -> Iterator[tuple[Element, Link, str]]:
    """(anchor, link, portlet namespace) of every link that pages through some listing."""
    for anchor, link in links.items():
        if link.paging is not None and link.kind is not UrlKind.FORBIDDEN:
            yield anchor, link, link.paging


def _gathering(body: Links) -> Element | None:
    """Without portlets (DotNetNuke, SharePoint, vendor portals): the deepest element holding
    most of the page's distinct articles, so a side box of other links is left out."""
    keys: dict[Element, set[str]] = {}
    for anchor, link in body.items():
        key = article_key(link.url)
        for ancestor in anchor.iterancestors():
            keys.setdefault(ancestor, set()).add(key)
    if not keys:
        return None
    total = max(len(found) for found in keys.values())
    if total < _LIST_MIN:
        return None
    holders = [el for el, found in keys.items() if len(found) >= _LIST_SHARE * total]
    # Ancestors were added from the anchors up: the first holder of most is the deepest.
    return max(holders, key=lambda el: sum(1 for _ in el.iterancestors()))


def _by_id(tree: Element, ident: str) -> Element | None:
    """The element with that id; None for none, and for an id XPath cannot hold (a control
    character from a link's query: no element's id either)."""
    try:
        found = _BY_ID(tree, id=ident)
    except ValueError:
        return None
    return found[0] if found else None


def _region(tree: Element, links: Links, body: Links) -> tuple[Element, str | None]:
    """The listing body and the namespace of its paging (None when it has no paging)."""
    for anchor, _link, namespace in _paging_links(links):
        found = _by_id(tree, f"p_p_id_{namespace}_")
        boundary = found if found is not None else _boundary(anchor)
        if boundary is not None:
            return boundary, namespace
    busiest = _busiest_boundary(body)
    if busiest is not None:
        return busiest, None
    gathered = _gathering(body)
    if gathered is not None:
        return gathered, None
    mains = tree.xpath("//*[@role='main'] | //*[@id='main-content'] | //main")
    if mains:
        return mains[0], None
    body = tree.find("body")
    return (body if body is not None else tree), None


def _entry_box(anchor: Element, key: str, region: Element, keys: dict) -> Element:
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


def _entry_date(box: Element) -> str | None:
    """The date shown in an entry: its date element first, as a lead may cite other days."""
    for element in _DATE_ELEMENTS(box):
        date = _date_in(_text(element))
        if date:
            return date
    return _date_in(_text(box))


def _image_alt(anchor: Element) -> str | None:
    image = anchor.find(".//img[@alt]")
    return _fold(image.get("alt")) if image is not None else None


def _entries(region: Element, body: Links) -> list[ListingEntry]:
    anchors = [(anchor, link.url) for anchor, link in _within(region, body)]
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
        titles[key] = titles.get(key) or _fold(_text(anchor)) or _fold(anchor.get("title"))
        alts[key] = alts.get(key) or _image_alt(anchor)
    return [ListingEntry(url, titles[key] or alts[key], dates[key]) for key, url in urls.items()]


def _paging(links: Links, namespace: str | None) -> list[str]:
    if namespace is None:
        return []
    urls = [link.url for _, link, found in _paging_links(links) if found == namespace]
    return list(dict.fromkeys(urls))


def _current_page(page: Page, region: Element, namespace: str | None) -> int | None:
    if namespace is None:
        return None
    for marker in _ACTIVE_PAGE(region):
        text = _fold(_text(marker)) or ""
        if text.isdecimal():
            return int(text)
    for name, value in query_pairs(urlsplit(page.url).query):
        if value.isdecimal() and name in ("cur", f"_{namespace}_cur"):
            return int(value)
    return 1


def _section(tree: Element, region: Element) -> str | None:
    for title in region.xpath(".//*[contains(@class, 'portlet-title')]"):
        text = None if _in_side_column(title) else _fold(_text(title))
        if text and text.lower() not in _GENERIC_TITLES:
            return text
    # Trails as lists (Liferay, Bootstrap) or as bare links (DotNetNuke's span.Breadcrumb).
    crumbs = tree.xpath("//*[contains(@class, 'breadcrumb')]//li") or tree.xpath(
        "//*[contains(@class, 'readcrumb')]//a | //a[contains(@class, 'readcrumb')]"
    )
    if crumbs:
        return _fold(_text(crumbs[-1]))
    heading = region.find(".//h1")
    if heading is not None and _fold(_text(heading)):
        return _fold(_text(heading))
    head = tree.find(".//title")
    if head is not None and head.text:
        # `{section} - {site}` is the Liferay title; vendor portals use `|`; DotNetNuke
        # writes the trail `{site} > {tab} > {tab}`.
        if " > " in head.text:
            return _fold(head.text.rsplit(" > ", 1)[1])
        match = _TITLE_SUFFIX.match(head.text.strip())
        return _fold(match.group(1) if match else head.text)
    return None


def _article_urls(links: Iterable[Link]) -> list[str]:
    found: dict[str, str] = {}
    for link in links:
        if link.kind is UrlKind.ARTICLE:
            found.setdefault(article_key(link.url), link.url)
    return list(found.values())


def parse_listing(page: Page) -> Listing:
    """Entries, paging and section of a listing page."""
    tree = page.tree
    links = page_links(tree, _base_url(page))
    body = _body_articles(tree, links)
    region, namespace = _region(tree, links, body)
    return Listing(
        entries=_entries(region, body),
        page=_current_page(page, region, namespace),
        pages=_paging(links, namespace),
        section=_section(tree, region),
        articles=_article_urls(links.values()),
    )


def navigation_links(page: Page) -> list[str]:
    """Pages linked from the site's menus (candidate listings), in menu order."""
    base = _base_url(page)
    urls: list[str] = []
    for menu in page.tree.xpath(_MENUS):
        links = page_links(menu, base)
        urls += [link.url for link in links.values() if link.kind in _NAVIGABLE]
    return list(dict.fromkeys(urls))


def _may_be_article(href: str) -> bool:
    # Only the path: share buttons carry the page's own URL in their query.
    path = href.partition("?")[0]
    return any(hint in path for hint in _ARTICLE_HINTS)


def article_links(page: Page) -> list[str]:
    """Every article linked from the page, sidebars included, once each, in page order."""
    base = _base_url(page)
    candidates = (_link(base, href) for href in _HREFS(page.tree) if _may_be_article(href))
    return _article_urls(link for link in candidates if link is not None)
