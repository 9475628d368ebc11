"""Where the article sits on the page: its widget, its text container, title and breadcrumb.

Known containers first (Liferay's asset publisher and web content, common vendor names), then
the largest block of paragraph text in the page's main content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.parsers.blocks import (
    BLOCK_TAGS,
    Element,
    Role,
    all_text,
    class_role,
    has_block_children,
    is_hidden,
)
from crawler.parsers.text import clean, has_words

_ROOT_CLASSES = (
    re.compile(r"(?<![\w-])asset-full-content(?![\w-])"),
    re.compile(
        r"(?<![a-z])(?:journal-content-article|(?:news|article|post|tin|bai-?viet)[-_]?"
        r"(?:detail|chi-?tiet|content|body)|(?:detail|chi-?tiet)[-_]?(?:news|article|post|tin"
        r"|bai-?viet)?|view-article|noi-?dung(?:-chi-?tiet)?)(?![a-z])"
    ),
)
_HEADING_XPATH = (
    "boolean(.//h1 | .//h2[contains(@class, 'itle') or contains(@class, 'tieu')]"
    " | .//h3[contains(@class, 'itle') or contains(@class, 'tieu')])"
)
_PORTLET = re.compile(r"(?<![\w-])portlet-boundary(?![\w-])")
_SCORED = frozenset({"p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "div", "pre"})
_NOT_BODY = frozenset({Role.JUNK, Role.BREADCRUMB, Role.TITLE, Role.DATE})
_NO_TEXT = frozenset({"script", "style", "noscript", "template"})
_CHROME_TAGS = frozenset({"header", "nav", "footer", "aside", "script", "style", "form"})
# The body is the deepest element holding this share of the root's paragraph text.
_BODY_SHARE = 0.7
# Trail separators, written as text between or inside the entries.
_SEPARATOR_CHARS = " ›»>/|→-–•·:"
_TITLE_SUFFIX = re.compile(r"\s+[-|–]\s+[^-|–]{2,80}$")
# Page names that are not sections: the home page and the generic detail page.
_NOT_SECTION = re.compile(r"^(?:chi tiết|trang chủ|trang nhất|home)", re.IGNORECASE)


@dataclass(slots=True)
class Layout:
    """The parts of a page the article parser reads."""

    root: Element
    """The article widget: title, dates, lead, body and byline live inside it."""
    scope: Element
    """The portlet around the root (metadata such as publish dates may sit beside it)."""
    body: Element
    """The element holding the body paragraphs."""
    known: bool
    """True when the root was a recognised article container, not a text-density guess."""


def _first_matching(tree: Element, pattern: re.Pattern[str]) -> Element | None:
    for el in tree.iter():
        cls = el.get("class") if isinstance(el.tag, str) else None
        if cls and pattern.search(cls.lower()) and not is_hidden(el):
            return el
    return None


def _liferay_root(tree: Element) -> Element | None:
    liferay = tree.xpath("//*[contains(@class, 'asset-full-content')]")
    candidates = [el for el in liferay if _ROOT_CLASSES[0].search(el.get("class", "").lower())]
    return next((el for el in candidates if not is_hidden(el)), None)


def _named_container(tree: Element) -> Element | None:
    """An element named like an article or its body by a vendor template, ``<article>``, or
    schema.org's ``articleBody``."""
    el = _first_matching(tree, _ROOT_CLASSES[1])
    if el is not None:
        return el
    article = next(tree.iter("article"), None)
    if article is not None:
        return article
    return next(iter(tree.xpath("//*[@itemprop='articleBody']")), None)


def _scope(root: Element) -> Element:
    for ancestor in root.iterancestors():
        if _PORTLET.search(ancestor.get("class") or "") or (ancestor.get("id") or "").startswith(
            "p_p_id"
        ):
            return ancestor
    return root


def _leaf_scores(root: Element) -> dict[Element, int]:
    """Paragraph text length summed into every ancestor up to ``root``."""
    scores: dict[Element, int] = {}
    skipped: set[Element] = set()
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if el is not root and (
            el.getparent() in skipped or tag in _CHROME_TAGS or is_hidden(el) or _is_chrome(el)
        ):
            skipped.add(el)
            continue
        if tag not in _SCORED or has_block_children(el):
            continue
        size = len(all_text(el).strip())
        node = el
        while node is not None:
            scores[node] = scores.get(node, 0) + size
            if node is root:
                break
            node = node.getparent()
    return scores


def _is_chrome(el: Element) -> bool:
    """Not body text: chrome, and the title and date lines the template puts above the body."""
    return el.tag == "h1" or class_role(el) in _NOT_BODY


def _depth(el: Element) -> int:
    return sum(1 for _ in el.iterancestors())


def _body_in(root: Element) -> Element:
    scores = _leaf_scores(root)
    total = scores.get(root, 0)
    if not total:
        return root
    marked = next(iter(root.xpath(".//*[@itemprop='articleBody']")), None)
    if marked is not None:
        return marked
    holders = [el for el, score in scores.items() if score >= _BODY_SHARE * total]
    return max(holders, key=_depth)


def _densest(tree: Element) -> Element | None:
    """The element whose own paragraphs carry the most text (readability-style)."""
    body = tree.find("body")
    if body is None:
        body = tree
    best, best_score = None, 0
    direct: dict[Element, int] = {}
    for el, score in _leaf_scores(body).items():
        if el.tag in BLOCK_TAGS and not has_block_children(el):
            parent = el.getparent()
            if parent is not None:
                direct[parent] = direct.get(parent, 0) + score
    for el, score in direct.items():
        if score > best_score:
            best, best_score = el, score
    return best


def locate(tree: Element) -> Layout | None:
    """The article's widget and text container, or None when the page has no text block."""
    root = _liferay_root(tree)
    if root is not None:
        return Layout(root=root, scope=_scope(root), body=_body_in(root), known=True)
    named = _named_container(tree)
    if named is not None:
        # Vendors name the body as often as the whole article: climb to the title.
        root = _title_holder(named)
        return Layout(root=root, scope=_scope(root), body=_body_in(root), known=True)
    body = _densest(tree)
    if body is None:
        return None
    root = _title_holder(body)
    return Layout(root=root, scope=root, body=body, known=False)


def _title_holder(body: Element) -> Element:
    """The nearest ancestor of the body that also holds the article's heading."""
    node = body
    for _ in range(4):
        if node.xpath(_HEADING_XPATH):
            return node
        parent = node.getparent()
        if parent is None or parent.tag == "body":
            break
        node = parent
    return body.getparent() if body.getparent() is not None else body


def visible_text(el: Element) -> str:
    """Text of an element without its hidden descendants, cleaned."""
    parts: list[str] = []
    _collect(el, parts)
    return clean("".join(parts))


def _collect(el: Element, parts: list[str]) -> None:
    if el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _NO_TEXT and not is_hidden(child):
            _collect(child, parts)
        if child.tail:
            parts.append(child.tail)


def page_title(tree: Element) -> tuple[str, str]:
    """``<title>`` and ``og:title`` texts (empty when absent)."""
    title = next(tree.iter("title"), None)
    og = tree.xpath("//meta[@property='og:title']/@content")
    return (clean(all_text(title)) if title is not None else "", clean(og[0]) if og else "")


def find_title(layout: Layout, tree: Element) -> str | None:
    """The article title: named title elements, headings, then the page's own title."""
    head_title, og_title = page_title(tree)
    candidates = _title_candidates(layout)
    for text in candidates:
        folded = text.casefold()
        if head_title.casefold().startswith(folded) or folded == og_title.casefold():
            return text
    if candidates:
        return candidates[0]
    if og_title:
        return og_title
    return _TITLE_SUFFIX.sub("", head_title) or None


_TITLE_XPATH = (
    ".//*[@data-analytics-asset-title or self::h1 or @itemprop or contains(@class, 'itle')"
    " or contains(@class, 'eadline') or contains(@class, 'tieu')]"
)
_BREADCRUMB_XPATH = ".//*[contains(@class, 'readcrumb') or contains(@class, 'duong')]"


def _title_candidates(layout: Layout) -> list[str]:
    found: list[str] = []
    # A set of the proxies themselves: it keeps them alive, so identity checks hold.
    holders = set(layout.body.iterancestors())
    for el in layout.scope.xpath(_TITLE_XPATH):
        attr = el.get("data-analytics-asset-title")
        if attr and has_words(attr):
            found.append(clean(attr))
            continue
        # The title comes before the body, never inside it; "show-asset-title" wrappers hold it.
        if el in holders or el is layout.body or _within(el, layout.body):
            continue
        if el.tag == "h1" or class_role(el) is Role.TITLE:
            text = visible_text(el)
            if has_words(text) and len(text) < 400:
                found.append(text)
        if len(found) >= 6:
            break
    return found


def _within(el: Element, ancestor: Element) -> bool:
    return any(a is ancestor for a in el.iterancestors())


def find_breadcrumbs(layout: Layout, tree: Element, title: str | None) -> list[str]:
    """The breadcrumb trail: the article's own, else the page's."""
    for scope in (layout.scope, tree):
        for el in scope.xpath(_BREADCRUMB_XPATH):
            if class_role(el) is Role.BREADCRUMB and not is_hidden(el):
                trail = _trail(el, title)
                if trail:
                    return trail
    return []


def _trail(el: Element, title: str | None) -> list[str]:
    items = list(el.iter("li")) or list(el.iter("a")) or list(el.iter("span"))
    if not items:
        items = [child for child in el if isinstance(child.tag, str)]
    trail = []
    for item in items:
        if is_hidden(item):
            continue
        text = visible_text(item).strip(_SEPARATOR_CHARS)
        if text and not (title and text == title):
            trail.append(text)
    return trail


def category_of(trail: list[str]) -> str | None:
    """The section: the trail's last entry, skipping home and generic ``Chi tiết…`` pages."""
    for entry in reversed(trail):
        if not _NOT_SECTION.match(entry):
            return entry
    return None
