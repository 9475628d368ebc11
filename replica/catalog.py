"""Which articles exist, where they are listed, and what changed in each edition.

Only compact metadata is kept per article; words and media are regenerated on demand
from the asset id (see :mod:`replica.content`), so 20,000 articles cost a few MB.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from replica import content
from replica.sites import BY_CODE, GENERATED_SITES, SITES, Site

TZ = dt.timezone(dt.timedelta(hours=7))
NEWEST_TS = int(dt.datetime(2025, 6, 27, 9, 0, tzinfo=TZ).timestamp())
"""Publication time of the newest article of edition 0."""
TOP_ID = 24_950_000
"""Asset ids of generated articles count down from here (the real sequence was ≈24.95M in 2025)."""
SEED_ID = 4961961
DEFAULT_DELTA = 10
NEW_PER_EDITION = 3
EDITS_PER_EDITION = 2
_SOFT404_SLOTS = {5: "hlv", 6: "tpsd"}
_DAY = 86_400
_ATTACHMENT_HREF = re.compile(r'Tải về: <a href="(/documents/[^"]+)"')
_URL_SITE = re.compile(r"^https?://[^/]+(?:/web/([a-z]+))?/chi-tiet-bai-viet/.*/id/(\d+)")


@dataclass(slots=True)
class Article:
    """Compact metadata of one listed article."""

    asset_id: int
    site: Site
    notice: bool
    ts: int
    """Publication time, epoch seconds."""
    theme: str = "dtp"
    specimen: str | None = None
    """File stem of the specimen served verbatim, or None for a generated article."""
    created_edition: int = 0
    edits: tuple[int, ...] = ()
    """Editions that changed this article's text."""
    broken: bool = False
    missing: bool = False
    """Listed, but the page answers the "not found" alert (a soft 404)."""

    @property
    def path(self) -> str:
        return self.site.article_path(self.asset_id)

    @property
    def modified_ts(self) -> int:
        return max([self.ts, *(edit_ts(e) for e in self.edits)])

    @property
    def published(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.ts, TZ)


def edit_ts(edition: int) -> int:
    """When the edits of an edition were made: after everything published before it."""
    return NEWEST_TS + (edition - 1) * _DAY + 8 * 3600


def listing_path(site: Site, notice: bool) -> str:
    return f"{site.prefix}/thong-bao" if notice else site.news_path()


class Catalog:
    """Every article of one replica run (size, edition and faults fixed at start)."""

    def __init__(self, size: int = 60, edition: int = 0, broken_html: bool = False) -> None:
        self.size = size
        self.edition = edition
        self.articles: dict[int, Article] = {}
        self.missing: dict[int, Article] = {}
        self.alternates: dict[int, str] = {}
        """Specimens whose twin in another theme is served under the ``/vi`` locale prefix."""
        self._add_specimens()
        self._add_generated(max(0, size - len(self.articles)))
        for edition_no in range(1, edition + 1):
            self._apply_edition(edition_no)
        self.listings = self._build_listings()
        self.index = {a.asset_id: i for lst in self.listings.values() for i, a in enumerate(lst)}
        if broken_html:
            self._break_one()

    def _add_specimens(self) -> None:
        for spec in content.specimens():
            match = _URL_SITE.match(spec.url)
            if not match:
                continue
            site, asset_id = BY_CODE[match.group(1) or ""], int(match.group(2))
            if asset_id in self.articles:
                self.alternates[asset_id] = spec.name
                continue
            when = dt.datetime.fromisoformat(spec.meta["published"]).replace(tzinfo=TZ)
            notice = spec.meta["category"] == "Thông báo"
            self.articles[asset_id] = Article(
                asset_id, site, notice, int(when.timestamp()), spec.theme, spec.name
            )

    def _add_generated(self, count: int) -> None:
        # One fixed walk, newest first: a bigger catalogue extends a smaller one into the past.
        rng = random.Random(7)
        asset_id, ts, made = TOP_ID, NEWEST_TS, 0
        for slot in range(count + len(_SOFT404_SLOTS)):
            site = rng.choices(GENERATED_SITES, weights=(4, 4, 2))[0]
            notice = rng.random() < 0.15
            theme = "dtp71" if rng.random() < 0.2 else "dtp"
            if slot in _SOFT404_SLOTS:
                self.missing[asset_id] = Article(
                    asset_id, BY_CODE[_SOFT404_SLOTS[slot]], False, ts, missing=True
                )
            elif made < count:
                self.articles[asset_id] = Article(asset_id, site, notice, ts, theme)
                made += 1
            asset_id -= rng.randint(17, 400)
            ts -= rng.randint(2 * 3600, 9 * 3600)

    def _apply_edition(self, edition: int) -> None:
        generated = sorted(a.asset_id for a in self.articles.values() if not a.specimen)
        rng = random.Random(f"edition-{edition}")
        for asset_id in rng.sample(generated, min(EDITS_PER_EDITION, len(generated))):
            article = self.articles[asset_id]
            article.edits = (*article.edits, edition)
        for j in range(NEW_PER_EDITION):
            asset_id = TOP_ID + edition * 1000 + j * 37
            site = GENERATED_SITES[j % len(GENERATED_SITES)]
            ts = NEWEST_TS + (edition - 1) * _DAY + (j + 1) * 7200
            self.articles[asset_id] = Article(asset_id, site, False, ts, created_edition=edition)

    def _build_listings(self) -> dict[tuple[str, bool], list[Article]]:
        listings: dict[tuple[str, bool], list[Article]] = {
            (s.code, notice): [] for s in SITES for notice in (False, True)
        }
        for article in [*self.articles.values(), *self.missing.values()]:
            listings[article.site.code, article.notice].append(article)
        for items in listings.values():
            items.sort(key=lambda a: (a.ts, a.asset_id), reverse=True)
        return listings

    def _break_one(self) -> None:
        for article in self.listings["hlv", False]:
            if not article.specimen and not article.missing:
                article.broken = True
                return

    def listing(self, site: Site, notice: bool) -> list[Article]:
        return self.listings[site.code, notice]

    def neighbours(self, article: Article, count: int) -> list[Article]:
        """The next older articles of the same listing, then the nearest newer ones.

        Never the newest: new editions add articles on top, and pages of unchanged
        articles should stay unchanged.
        """
        items = self.listing(article.site, article.notice)
        at = self.index[article.asset_id]
        older = items[at + 1 : at + 1 + count]
        newer = items[max(0, at - (count - len(older))) : at][::-1]
        return [a for a in [*older, *newer] if not a.missing]

    def age_rank(self, article: Article) -> int:
        """Position counted from the oldest article of its listing (stable across editions)."""
        return len(self.listing(article.site, article.notice)) - 1 - self.index[article.asset_id]

    def body(self, article: Article) -> content.Body:
        return _body(
            article.asset_id, article.notice, article.ts, article.site.group_id, article.edits
        )

    def summary(self, article: Article) -> tuple[str, str | None, str | None]:
        """Title, lead and category of any listed article."""
        if article.specimen:
            meta = _specimen_meta(article.specimen)
            lead = meta["summary"] or (meta["paragraphs"] or [None])[0]
            return meta["title"], lead, meta["category"]
        if article.missing:
            return f"Tin bài {article.asset_id}", None, "Tin tức"
        body = self.body(article)
        return body.title, body.summary or body.paragraphs[0], body.category

    def manifest(self, base: str) -> dict[str, Any]:
        """Ground truth for tests: every article, what changed, and where the traps are."""
        articles = [self._entry(base, a) for a in self.articles.values()]
        articles.sort(key=lambda e: e["date"], reverse=True)
        return {
            "base": base,
            "size": self.size,
            "edition": self.edition,
            "seed": base + self.articles[SEED_ID].path,
            "articles": articles,
            "new": [e["url"] for e in articles if e["new"]],
            "edited": [e["url"] for e in articles if e["edited"]],
            "soft404": [base + a.path for a in self.missing.values()],
            "alternates": {
                base + "/vi" + self.articles[i].path: name for i, name in self.alternates.items()
            },
            "listings": {
                s.key: {
                    "news": base + listing_path(s, False),
                    "notices": base + listing_path(s, True),
                }
                for s in SITES
            },
            "default_delta": DEFAULT_DELTA,
        }

    def _entry(self, base: str, article: Article) -> dict[str, Any]:
        title, _, category = self.summary(article)
        entry: dict[str, Any] = {
            "url": base + article.path,
            "asset_id": article.asset_id,
            "site": article.site.key,
            "title": title,
            "date": article.published.isoformat(),
            "category": category,
            "listing": base + listing_path(article.site, article.notice),
            "theme": article.theme,
            "specimen": article.specimen,
            "created_edition": article.created_edition,
            "edited_editions": list(article.edits),
            "new": article.created_edition == self.edition and self.edition > 0,
            "edited": self.edition in article.edits,
            "edition": max([article.created_edition, *article.edits]),
            "broken": article.broken,
        }
        if article.specimen:
            meta = _specimen_meta(article.specimen)
            html = content.specimen_html(article.specimen).decode("utf-8")
            entry["images"] = [base + i["src"] for i in meta["images"]]
            entry["attachments"] = [base + src for src in _ATTACHMENT_HREF.findall(html)]
            entry["byline"] = meta["byline"]
        else:
            body = self.body(article)
            entry["images"] = [base + src for src, _ in body.images]
            entry["attachments"] = [base + src for src, _ in body.attachments]
            entry["byline"] = body.byline
        return entry


def _specimen_meta(name: str) -> dict[str, Any]:
    return next(s.meta for s in content.specimens() if s.name == name)


@lru_cache(maxsize=4096)
def _body(asset_id: int, notice: bool, ts: int, group: int, edits: tuple[int, ...]) -> content.Body:
    return content.generate(asset_id, notice, ts, group, edits)
