"""Archived redirects as evidence that two article URLs are one article (no Scrapy here).

Nothing in a page says which Liferay asset a DotNetNuke article became, or which permalink a
WordPress ``?p=`` post has; but where the site itself answered an article URL with a 301/302
to another article URL of the same site, and an archive kept that answer, the two are one
article: their captures are one history (:func:`resolve`), versions in capture time.

Not every redirect says that:

* a redirect to the home page, a listing, a login page, or from a page that is no article,
  is a move of nothing (``not-an-article``, ``not-from-an-article``);
* one to another site is not followed (``other-site``), nor is one between two forms of
  what is already one key (``same-article``: http to https, another tab);
* a target that more than :data:`CATCH_ALL` distinct articles redirect to is where the portal
  sends what it lost, not where each went (``catch-all``): it merges none of them.

Chains (A to B, later B to C) end at their last address; a loop (A to B, later B to A) is one
history too, keyed by the target of its latest redirect. Keys are those of
:func:`crawler.generations.history_key`: the history takes the key of the address the site
sent its readers to, which for a move to today's portal is the key a live crawl gives it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from crawler.generations import history_key, recover_kind
from crawler.urls import Scope, UrlKind, in_scope, joined

CATCH_ALL = 5
"""More distinct articles redirected to one target than this: a catch-all, no evidence."""


@dataclass(frozen=True, slots=True)
class Redirect:
    """An archived capture of ``url`` that answered with a redirect to ``target``."""

    url: str
    target: str
    """The ``Location`` as the site sent it (relative ones resolve against ``url``)."""
    timestamp: str
    """The capture's ``YYYYMMDDhhmmss``."""


@dataclass(frozen=True, slots=True)
class Merge:
    """A redirect taken as evidence: ``url``'s history is ``key``'s."""

    url: str
    target: str
    """Absolute."""
    timestamp: str
    key: str
    """The key of the history both URLs belong to."""


@dataclass
class Identities:
    """Which article keys are one history, by the archived redirects."""

    history: dict[str, str] = field(default_factory=dict)
    """A merged key → the key of its history (only keys that are merged)."""
    merges: list[Merge] = field(default_factory=list)
    """The redirects taken as evidence, in capture time."""
    ignored: Counter[str] = field(default_factory=Counter)
    """Redirects that are no evidence, by why."""
    groups: dict[str, set[str]] = field(default_factory=dict)
    """The key of a merged history → every key whose captures are in it (itself included)."""

    def key(self, url: str) -> str:
        """The key of the history ``url``'s captures belong to."""
        own = history_key(url)
        return self.history.get(own, own)

    def members(self, key: str) -> set[str]:
        """Every key whose captures are in ``key``'s history (``key`` itself included)."""
        return self.groups.get(key, {key})


def absolute_target(redirect: Redirect) -> str | None:
    """The target, absolute; None for one no browser could follow (see ``crawler.urls.joined``)."""
    return joined(redirect.url, redirect.target.strip())


def judge(redirect: Redirect, scopes: list[Scope]) -> str | None:
    """Why a redirect is no evidence of identity, or None when it may be (a catch-all is
    told only among all the redirects: :func:`resolve`)."""
    target = absolute_target(redirect)
    if recover_kind(redirect.url) is not UrlKind.ARTICLE:
        return "not-from-an-article"
    if target is None:
        return "unusable-target"
    if recover_kind(target) is not UrlKind.ARTICLE:
        return "not-an-article"
    scope = next((s for s in scopes if in_scope(redirect.url, s)), None)
    if scope is None or not in_scope(target, scope):
        return "other-site"
    if history_key(redirect.url) == history_key(target):
        return "same-article"
    return None


def _evidence(
    redirects: Iterable[Redirect], scopes: list[Scope], ignored: Counter[str]
) -> list[tuple[Redirect, str]]:
    """The redirects that may be evidence (with absolute targets), catch-alls left out."""
    candidates: list[tuple[Redirect, str]] = []
    for redirect in sorted(redirects, key=lambda r: (r.timestamp, r.url, r.target)):
        reason = judge(redirect, scopes)
        if reason is not None:
            ignored[reason] += 1
            continue
        target = absolute_target(redirect)
        assert target is not None  # judge gave a reason for a target that is none
        candidates.append((redirect, target))
    sources: dict[str, set[str]] = defaultdict(set)
    for redirect, target in candidates:
        sources[history_key(target)].add(history_key(redirect.url))
    kept = []
    for redirect, target in candidates:
        if len(sources[history_key(target)]) > CATCH_ALL:
            ignored["catch-all"] += 1
        else:
            kept.append((redirect, target))
    return kept


def _components(edges: list[tuple[str, str]]) -> list[set[str]]:
    """The keys linked by redirects, in groups (union-find)."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for source, target in edges:
        parent[root(source)] = root(target)
    groups: dict[str, set[str]] = defaultdict(set)
    for key in list(parent):
        groups[root(key)].add(key)
    return list(groups.values())


def _history_key(group: set[str], inside: list[tuple[str, str, str]]) -> str:
    """The key a group of keys is known by (``inside``: its redirects): the address the site
    last sent readers to that it sent no one away from (a chain's end), else (a loop) its
    latest target."""
    leaving = {source for _, source, _ in inside}
    ends = {target for _, _, target in inside if target not in leaving} or group
    latest = {target: stamp for stamp, _, target in sorted(inside) if target in ends}
    return max(sorted(ends), key=lambda key: latest.get(key, ""))


def resolve(redirects: Iterable[Redirect], scopes: list[Scope]) -> Identities:
    """The histories the archived ``redirects`` of the sites of ``scopes`` make one."""
    identities = Identities()
    kept = _evidence(redirects, scopes, identities.ignored)
    edges = [(r.timestamp, history_key(r.url), history_key(target)) for r, target in kept]
    groups = _components([(source, target) for _, source, target in edges])
    group_of = {key: number for number, group in enumerate(groups) for key in group}
    inside: list[list[tuple[str, str, str]]] = [[] for _ in groups]
    for edge in edges:
        inside[group_of[edge[1]]].append(edge)
    for group, redirects in zip(groups, inside, strict=True):
        key = _history_key(group, redirects)
        identities.history.update({member: key for member in group if member != key})
        identities.groups[key] = group
    identities.merges = [
        Merge(r.url, target, r.timestamp, identities.key(target)) for r, target in kept
    ]
    return identities
