"""What to fetch from the archives: the captures a CDX listing offers, sorted by the URL rules
of ``crawl`` (no Scrapy here; the spider only carries the plan out).

* pages never requested by ``crawl`` (actions, calendars, search, ``/o/``...) are skipped;
* captures the archive lists as redirects, 404s or 5xx are counted, not fetched as pages:
  they hold no article (the capture that a redirect led to is listed on its own);
* article captures are grouped by article key (every URL form of an article is one article),
  ordered by capture time, and repeated payloads dropped, so each article's captures can be
  read oldest first and its versions follow its content;
* article pages of the portals' earlier generations, which ``crawl`` never meets on today's
  sites, are articles too, keyed by their platform's article number
  (:mod:`crawler.generations`);
* redirect captures of article URLs are fetched for where they lead: an archived redirect
  from one article URL to another of the site makes them one history
  (:mod:`crawler.recover.identity`, :func:`merge_histories`); a redirect capture with the
  status and payload of the capture of the SAME URL listed just before it is not fetched
  again, unless it is the last of such a run (:func:`_repeats`: the collapse that the
  archives' CDX servers cannot do without crossing URLs, see
  :meth:`crawler.recover.sources.ArchiveSource.cdx_url`);
* listings and other pages of the site are read for the dates and sections they show;
* everything else (images, files) is kept by URL, for the articles that name it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from crawler.generations import history_key, recover_kind
from crawler.recover.cdx import Capture
from crawler.recover.identity import Identities
from crawler.urls import Scope, UrlKind, canonicalize, forbidden_reason, in_scope

__all__ = ["Found", "Plan", "closest", "make_plan", "merge_histories", "recover_kind"]


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
    redirects: list[Found] = field(default_factory=list)
    """Redirect captures of the sites' article URLs, to read where they lead."""
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


def _leads_somewhere(reason: str, scope: Scope | None, kind: UrlKind) -> bool:
    """A redirect capture of one of the sites' article URLs: where it leads may say which
    article that URL became."""
    return reason == "redirect" and scope is not None and kind is UrlKind.ARTICLE


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
    latest: dict[str, tuple[str | None, str]] = {}
    # By URL: the last redirect of its current run of repeats, read once the run ends (a
    # redirect's digest is its body's: the last capture shows a target changed meanwhile).
    run_ends: dict[str, Found] = {}
    for item in sorted(found, key=_in_time):
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
        repeated = _repeats(capture, latest)
        if not repeated and url in run_ends:
            plan.redirects.append(run_ends.pop(url))  # the run of repeats before it ended
        if reason:
            plan.quirks[reason] += 1
            if _leads_somewhere(reason, scope, kind) and item.done_key not in done:
                if not repeated:
                    plan.redirects.append(item)  # (a done one's target is in recover.sqlite)
                elif run_ends.setdefault(url, item) is not item:
                    plan.quirks["redirect-repeated"] += 1
                    run_ends[url] = item
            continue
        plan.by_url[canonicalize(url)].append(item)
        if scope is None:
            continue  # another site's page, or an image: only read when an article names it
        if item.done_key in done:
            plan.quirks["done"] += 1
        elif kind is UrlKind.ARTICLE:
            articles[history_key(url)].append(item)
        elif kind in (UrlKind.LISTING, UrlKind.PAGE):
            seen = page_digests[canonicalize(url)]
            if capture.digest and capture.digest in seen:
                plan.quirks["duplicate"] += 1
                continue
            seen.add(capture.digest or capture.timestamp)
            plan.pages.append(item)
    plan.redirects += run_ends.values()
    plan.redirects.sort(key=_in_time)
    for key, captures in articles.items():
        kept = _new_payloads(captures, set(known_digests(key)), plan.quirks)
        if kept:
            plan.articles[key] = kept
    return plan


def _in_time(item: Found) -> tuple[str, str, str]:
    return (item.capture.timestamp, item.source, item.capture.url)


def _repeats(capture: Capture, latest: dict[str, tuple[str | None, str]]) -> bool:
    """Whether ``capture`` has the status and payload digest of the capture of its URL (as
    listed, not canonicalized) just before it in time (``latest``: each URL's latest so far,
    updated here): Wayback's ``collapse=digest``, one URL at a time. Listings come whole
    and are planned whole, so where their pages began and ended changes nothing.

    A redirect's digest is that of its body, not of its ``Location``: of a run of repeats,
    :func:`make_plan` reads the first and the last, so a target that changed between them
    is seen (a change there and back inside the run is not; reading every capture to know
    would cost one request each)."""
    digest = capture.digest if capture.digest not in (None, "", "-") else None
    before = latest.get(capture.url)
    latest[capture.url] = (capture.status, digest or capture.timestamp)
    return digest is not None and before == (capture.status, digest)


def _new_payloads(captures: list[Found], seen: set[str], quirks: Counter[str]) -> list[Found]:
    """``captures`` less those whose payload is ``seen`` or repeats an earlier one."""
    kept = []
    for item in captures:
        digest = item.capture.digest
        if digest and digest in seen:
            quirks["duplicate"] += 1
            continue
        seen.add(digest or item.capture.timestamp)
        kept.append(item)
    return kept


def merge_histories(
    plan: Plan, identities: Identities, known_digests: Callable[[str], set[str]]
) -> None:
    """Make the captures of each article history one chain, under the history's key, in
    capture time (``known_digests``: as for :func:`make_plan`, by each URL's own key)."""
    merged: dict[str, list[Found]] = defaultdict(list)
    for key, captures in plan.articles.items():
        merged[identities.history.get(key, key)].extend(captures)
    articles = {}
    for key, captures in merged.items():
        if len(captures) > 1 and identities.members(key) != {key}:
            captures.sort(key=lambda f: (f.capture.timestamp, f.source, f.capture.url))
            seen = set().union(*(known_digests(member) for member in identities.members(key)))
            captures = _new_payloads(captures, seen, plan.quirks)
        if captures:
            articles[key] = captures
    plan.articles = articles


def closest(captures: list[Found], timestamp: str) -> Found | None:
    """The capture nearest in time to ``timestamp`` (an image as the article showed it)."""
    if not captures:
        return None
    target = int(timestamp.ljust(14, "0")[:14])
    return min(captures, key=lambda f: abs(int(f.capture.timestamp.ljust(14, "0")[:14]) - target))
