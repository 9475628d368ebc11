"""Article URLs of the portals' earlier generations, which web archives still hold.

``crawl`` meets only today's Liferay sites and their rules (:mod:`crawler.urls`); ``recover``
and ``extract`` also meet the pages the same hosts served before: DotNetNuke (2004-2014),
SharePoint 2010/2013, classic ASP, Joomla and WordPress sites of district offices. Each
platform numbers its articles in its own sequence, so an article's key names the platform
and, where the number is only unique within a page or a tab, that too:

* DotNetNuke article modules (``ArticleId``, in the query or the ``/ArticleId/N/`` path):
  ``{host}#dnn:{id}`` -- one table for the whole portal, so the tab that shows the article
  (a listing links it through its own tab) is no part of it; a bare ``ID`` of a tab's module
  (``Default.aspx?tabid=T&ID=N``, or ``/tabid/T/ID/N/`` in friendly URLs):
  ``{host}#dnn:tab{tabid}:{id}``;
* SharePoint list items (``Pages/*.aspx?ItemID=N`` or ``?ID=N``, ``Lists/*/DispForm.aspx?ID=N``)
  and classic ASP detail pages (``*chitiet*.asp?id=N``): ``{host}#sp:{path}:{id}`` and
  ``{host}#asp:{path}:{id}``, the page naming the list (IIS paths are case-insensitive);
* Joomla (``index.php?option=com_content&view=article&id=N[:alias]``, SEF ``/N-alias.html``
  and ``/component/content/article/N-alias``): ``{host}#joomla:{id}``;
* WordPress (``?p=N``; permalinks ``/YYYY/MM[/DD]/slug/``): ``{host}#wp:{id}`` and
  ``{host}#wp:{path}`` -- nothing in a permalink gives the number, so the two forms of a post
  are one history only where the archive holds the redirect between them
  (:mod:`crawler.recover.identity`).

Today's keys (``{host}#{asset id}``, canonical URLs) have no ``word:`` after the ``#``, so no
key of one form is ever another form's. Pure functions on strings; no Scrapy.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from crawler.urls import Scope, UrlKind, article_key, classify, query_pairs

_DNN_ARTICLE_PATH = re.compile(r"/articleid/(\d+)(?:/|$)", re.I)
_SHAREPOINT_PAGE = re.compile(r"/(?:pages/[^/]+\.aspx|lists/[^/]+/dispform\.aspx)$", re.I)
_ASPNET_PAGE = re.compile(r"\.aspx$", re.I)
_CLASSIC_DETAIL_PAGE = re.compile(r"chi-?tiet[^/]*\.aspx?$", re.I)
_DNN_PAGE = re.compile(r"/default\.aspx$", re.I)
# DotNetNuke's friendly URLs write the query as path segments: /tabid/55/ID/845/Default.aspx.
_DNN_TAB_ITEM_PATH = re.compile(r"/tabid/(\d+)/(?:[^/]+/[^/]+/)*?id/(\d+)/", re.I)
_JOOMLA_SEF = re.compile(r"/(?:component/content/article/)?(\d+)-[^/.]+(?:\.html)?$", re.I)
_JOOMLA_SEF_SUFFIX = ".html"
_JOOMLA_ENTRY = re.compile(r"^/(?:index\.php)?$", re.I)
_WORDPRESS_PERMALINK = re.compile(r"^(/\d{4}/\d{2}(?:/\d{2})?/[^/.]*[^/.\d][^/.]*)/?(?:amp/?)?$")

_memo = lru_cache(maxsize=1 << 12)


def _query(url: str) -> dict[str, str]:
    """Query parameters by lower-case name (ASP.NET and PHP read them case-insensitively
    or the sites wrote them in every case); the first of a repeated name."""
    found: dict[str, str] = {}
    for name, value in query_pairs(urlsplit(url).query):
        found.setdefault(name.lower(), value)
    return found


def _number(value: str | None) -> str | None:
    """``125`` of ``125`` or of Joomla's ``125:alias``; None when it is no number."""
    head = (value or "").split(":", 1)[0]
    return (head.lstrip("0") or head) if head.isdecimal() else None


def _dotnetnuke(path: str, query: dict[str, str]) -> str | None:
    match = _DNN_ARTICLE_PATH.search(path)
    found = _number(match.group(1) if match else query.get("articleid"))
    if found:
        return f"dnn:{found}"
    tab, item = _number(query.get("tabid")), _number(query.get("id"))
    if tab and item and _DNN_PAGE.search(path):
        return f"dnn:tab{tab}:{item}"
    match = _DNN_TAB_ITEM_PATH.search(path)
    return f"dnn:tab{_number(match.group(1))}:{_number(match.group(2))}" if match else None


def _list_item(path: str, query: dict[str, str]) -> str | None:
    # Joomla's ``Itemid`` names a menu entry: only ASP.NET pages' ``ItemID`` is an item.
    item = _number(query.get("itemid")) if _ASPNET_PAGE.search(path) else None
    if item is not None or _SHAREPOINT_PAGE.search(path):
        item = item or _number(query.get("id"))
        return f"sp:{path.lower()}:{item}" if item else None
    if _CLASSIC_DETAIL_PAGE.search(path):
        item = _number(query.get("id"))
        return f"asp:{path.lower()}:{item}" if item else None
    return None


def _joomla(path: str, query: dict[str, str]) -> str | None:
    if query.get("option") == "com_content" and _JOOMLA_ENTRY.search(path):
        is_article = query.get("view") == "article" or query.get("task") == "view"
        item = _number(query.get("id"))
        return f"joomla:{item}" if is_article and item else None
    match = _JOOMLA_SEF.search(path)
    if match and (path.endswith(_JOOMLA_SEF_SUFFIX) or "/component/content/article/" in path):
        return f"joomla:{_number(match.group(1))}"
    return None


def _wordpress(path: str, query: dict[str, str]) -> str | None:
    post = _number(query.get("p"))
    if post and _JOOMLA_ENTRY.search(path):
        return f"wp:{post}"
    match = _WORDPRESS_PERMALINK.match(path)
    return f"wp:{match.group(1)}" if match else None


_FORMS = (_dotnetnuke, _joomla, _list_item, _wordpress)


@_memo
def earlier_article_key(url: str) -> str | None:
    """The key of an earlier generation's article page, or None when the URL is none."""
    parts = urlsplit(url)
    path, query = parts.path or "/", _query(url)
    for form in _FORMS:
        found = form(path, query)
        if found:
            return f"{Scope.from_url(url).host}#{found}"
    return None


@_memo
def recover_kind(url: str) -> UrlKind:
    """``crawl``'s kind of a URL, and earlier generations' article pages as articles."""
    kind = classify(url)
    if kind is UrlKind.PAGE and earlier_article_key(url) is not None:
        return UrlKind.ARTICLE
    return kind


@_memo
def history_key(url: str) -> str:
    """The key of the article history a URL's captures belong to: ``crawl``'s key
    (:func:`crawler.urls.article_key`) for today's URLs, the earlier generation's for theirs."""
    if classify(url) is UrlKind.PAGE:
        found = earlier_article_key(url)
        if found is not None:
            return found
    return article_key(url)
