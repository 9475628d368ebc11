"""What to fetch from the archives: the captures a CDX listing offers, sorted by the URL rules
of ``crawl`` (no Scrapy here; the spider only carries the plan out).

* pages never requested by ``crawl`` (actions, calendars, search, ``/o/``...) are skipped;
* captures the archive lists as redirects, 404s or 5xx are counted, not fetched: they hold
  no article (the capture that a redirect led to is listed on its own);
* article captures are grouped by article key (every URL form of an article is one article),
  ordered by capture time, and repeated payloads dropped, so each article's captures can be
  read oldest first and its versions follow its content;
* article pages of the portals' earlier generations, which ``crawl`` never meets on today's
  sites, are articles too (:func:`is_earlier_article`): DotNetNuke ``ArticleId`` pages,
  SharePoint ``Pages/*.aspx?ItemID=`` pages, the 2000s ``*chitiet*.asp?id=`` pages; each URL
  is its own article (key: the canonical URL), since nothing in an archive says which
  Liferay asset a DotNetNuke article became;
* listings and other pages of the site are read for the dates and sections they show;
* everything else (images, files) is kept by URL, for the articles that name it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.recover.cdx import Capture
from crawler.urls import (
    Scope,
    UrlKind,
    article_key,
    canonicalize,
    classify,
    forbidden_reason,
    in_scope,
    query_pairs,
)

_EARLIER_ARTICLE_PATH = re.compile(r"/articleid/\d+(?:/|$)", re.IGNORECASE)
_EARLIER_ARTICLE_QUERY = {"articleid", "itemid"}
_CLASSIC_DETAIL_PAGE = re.compile(r"chi-?tiet[^/]*\.aspx?$", re.IGNORECASE)


def is_earlier_article(url: str) -> bool:
    """An article page of an earlier generation of the portals (DotNetNuke, SharePoint, the
    classic ASP sites), by the URL shapes their article modules used."""
    parts = urlsplit(url)
    if _EARLIER_ARTICLE_PATH.search(parts.path):
        return True
    names = {name.lower(): value for name, value in query_pairs(parts.query)}
    if any(names.get(name, "").isdigit() for name in _EARLIER_ARTICLE_QUERY):
        return True
    return bool(_CLASSIC_DETAIL_PAGE.search(parts.path)) and names.get("id", "").isdigit()


def recover_kind(url: str) -> UrlKind:
    """What ``recover`` takes a captured URL for: ``crawl``'s kind, and earlier generations'
    article pages as articles."""
    kind = classify(url)
    if kind is UrlKind.PAGE and is_earlier_article(url):
        return UrlKind.ARTICLE
    return kind


@dataclass(frozen=True, slots=True)
class Found:
    """A capture and the archive that holds it."""

    source: str
    capture: Capture

    @property
    def done_key(self) -> tuple[str, str, str]:
        return (self.source, self.capture.url, self.capture.timestamp)


@dataclass
class Plan:
    pages: list[Found] = field(default_factory=list)
    """Listing and other page captures of the sites, one per distinct payload."""
    articles: dict[str, list[Found]] = field(default_factory=dict)
    """Article key → its captures to read, oldest first."""
    by_url: dict[str, list[Found]] = field(default_factory=lambda: defaultdict(list))
    """Every usable capture by canonical URL (images and files are looked up here)."""
    quirks: Counter[str] = field(default_factory=Counter)
    """Captures not fetched, by why: ``redirect``, ``http-404``, ``duplicate``, ``done``..."""
    found_by_site: Counter[str] = field(default_factory=Counter)
    """Captures listed per site (the scope's name)."""


def _usable(capture: Capture) -> str | None:
    """Why a listed capture holds nothing to read, or None when it may hold a page."""
    if capture.is_revisit or capture.status == "200":
        return None
    status = capture.status or ""
    if status.startswith("3"):
        return "redirect"
    return f"http-{status}"


def _within(timestamp: str, window: tuple[str | None, str | None]) -> bool:
    stamp = timestamp.ljust(14, "0")[:14]
    since, until = window
    return (since is None or stamp >= since) and (until is None or stamp <= until)


def scope_name(scope: Scope) -> str:
    return scope.host + (scope.site_prefix or "")


def make_plan(
    found: Iterable[Found],
    scopes: list[Scope],
    *,
    done: set[tuple[str, str, str]],
    known_digests: Callable[[str], set[str]],
    window: tuple[str | None, str | None] = (None, None),
) -> Plan:
    """Sort the listed captures (``done``: captures an earlier run read; ``known_digests``:
    the payload digests the collection already holds of an article key, without ``sha1:``;
    ``window``: the first and last 14-digit timestamps wanted, which not every archive's
    CDX server applies)."""
    plan = Plan()
    articles: dict[str, list[Found]] = defaultdict(list)
    page_digests: dict[str, set[str]] = defaultdict(set)
    for item in sorted(found, key=lambda f: (f.capture.timestamp, f.source, f.capture.url)):
        capture = item.capture
        url = capture.url
        if not _within(capture.timestamp, window):
            plan.quirks["outside-dates"] += 1
            continue
        if forbidden_reason(url):
            plan.quirks["never-requested"] += 1
            continue
        kind = recover_kind(url)
        scope = next((s for s in scopes if in_scope(url, s)), None)
        if scope is not None:
            plan.found_by_site[scope_name(scope)] += 1
        reason = _usable(capture)
        if reason:
            plan.quirks[reason] += 1
            continue
        plan.by_url[canonicalize(url)].append(item)
        if scope is None:
            continue  # another site's page, or an image: only read when an article names it
        if item.done_key in done:
            plan.quirks["done"] += 1
        elif kind is UrlKind.ARTICLE:
            articles[article_key(url)].append(item)
        elif kind in (UrlKind.LISTING, UrlKind.PAGE):
            seen = page_digests[canonicalize(url)]
            if capture.digest and capture.digest in seen:
                plan.quirks["duplicate"] += 1
                continue
            seen.add(capture.digest or capture.timestamp)
            plan.pages.append(item)
    for key, captures in articles.items():
        seen = set(known_digests(key))
        kept = []
        for item in captures:
            digest = item.capture.digest
            if digest and digest in seen:
                plan.quirks["duplicate"] += 1
                continue
            seen.add(digest or item.capture.timestamp)
            kept.append(item)
        if kept:
            plan.articles[key] = kept
    return plan


def closest(captures: list[Found], timestamp: str) -> Found | None:
    """The capture nearest in time to ``timestamp`` (an image as the article showed it)."""
    if not captures:
        return None
    target = int(timestamp.ljust(14, "0")[:14])
    return min(captures, key=lambda f: abs(int(f.capture.timestamp.ljust(14, "0")[:14]) - target))
