"""Where the article sits on the page: its widget, its text container, title and breadcrumb.

Known containers first (Liferay's asset publisher and web content, common vendor names), then
the largest block of paragraph text in the page's main content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from crawler.parsers.blocks import (
    BLOCK_TAGS,
    Element,
    Role,
    all_text,
    class_role,
    has_block_children,
    is_hidden,
    look_of,
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
_HAS_HEADING = etree.XPath(
    "boolean(.//h1 | .//h2[contains(@class, 'itle') or contains(@class, 'tieu')]"
    " | .//h3[contains(@class, 'itle') or contains(@class, 'tieu')])"
)
_ARTICLE_BODY = etree.XPath("//*[@itemprop='articleBody']")
_PORTLET = re.compile(r"(?<![\w-])portlet-boundary(?![\w-])")
_SCORED = frozenset({"p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "div", "pre"})
# The lead is not body text either: on short articles it would pull the body up to the root.
_NOT_BODY = frozenset({Role.JUNK, Role.BREADCRUMB, Role.TITLE, Role.DATE, Role.SUMMARY})
_NO_TEXT = frozenset({"script", "style", "noscript", "template"})
_MENU_LABEL_MAX = 60
# Tags that set a title by its type alone, and the length a title may have.
_LOUD_TAGS = frozenset({"b", "strong", "h2", "h3", "h4"})
_TITLE_MIN, _TITLE_MAX = 12, 300
_LARGE_FONT = 4
# Not <form>: ASP.NET pages (DotNetNuke, SharePoint) put the whole page in one.
_CHROME_TAGS = frozenset({"header", "nav", "footer", "aside", "script", "style"})
# The body is the deepest element holding this share of the root's paragraph text.
_BODY_SHARE = 0.7
_PARAGRAPH_TAGS = frozenset({"p", "li", "h2", "h3", "h4", "h5", "h6"})
# What an editor writes into a body; templates wrap their parts in other tags.
_CUT_OFF_TAGS = frozenset(
    {"p", "figure", "table", "blockquote", "ul", "ol", "h2", "h3", "h4", "h5", "h6"}
)
# The page's own parts, whatever their class: what follows the article's widget ends there.
_PAGE_PARTS = frozenset({"header", "nav", "footer", "aside"})
# Prose a chrome box must hold, beyond the rest of the article, to be a body it swallowed.
_SWALLOWED_MIN = 300
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
    # iter(etree.Element): elements only, filtered in C (comments carry no class).
    for el in tree.iter(etree.Element):
        cls = el.get("class")
        if cls and pattern.search(cls.lower()) and not is_hidden(el):
            return el
    return None


def _liferay_root(tree: Element) -> Element | None:
    for el in tree.iter(etree.Element):
        cls = el.get("class")
        # Liferay writes the class as is: a plain substring test rules out nearly every element
        # before the pattern checks the name's edges.
        if (
            cls
            and "asset-full-content" in cls
            and _ROOT_CLASSES[0].search(cls.lower())
            and not is_hidden(el)
        ):
            return el
    return None


def _named_container(tree: Element) -> Element | None:
    """An element named like an article or its body by a vendor template, ``<article>``, or
    schema.org's ``articleBody``."""
    el = _first_matching(tree, _ROOT_CLASSES[1])
    if el is not None:
        return el
    article = next(tree.iter("article"), None)
    if article is not None:
        return article
    return next(iter(_ARTICLE_BODY(tree)), None)


def _scope(root: Element) -> Element:
    for ancestor in root.iterancestors():
        if _PORTLET.search(ancestor.get("class") or "") or (ancestor.get("id") or "").startswith(
            "p_p_id"
        ):
            return ancestor
    return root


@dataclass(slots=True)
class _Tally:
    """What scoring a subtree found."""

    scores: dict[Element, int] = field(default_factory=dict)
    """Paragraph text length summed into every element that holds some."""
    chrome: list[Element] = field(default_factory=list)
    """The elements left out as chrome with their subtrees (none of them inside another)."""


def _leaf_scores(root: Element) -> dict[Element, int]:
    """Paragraph text length summed into every ancestor up to ``root``."""
    return _tally(root).scores


def _tally(root: Element) -> _Tally:
    tally = _Tally()
    _score(root, root.tag, [], tally)
    return tally


def _score(el: Element, tag: str, path: list[Element], tally: _Tally) -> None:
    """Score ``el`` if it is a paragraph, then its children in document order.

    Chrome children are left out with their whole subtree. ``path`` holds the ancestors from the
    root, so a paragraph's length goes to it and then up to the root in that order (which fixes
    the order of ``scores``) without asking lxml for parents.
    """
    path.append(el)
    scores = tally.scores
    # Each tag read once: lxml makes a new string on every ``.tag``.
    kids = [(child, child.tag) for child in el.iterchildren(etree.Element)]
    if tag in _SCORED and not any(kid_tag in BLOCK_TAGS for _, kid_tag in kids):
        _add_up(path, len(all_text(el).strip()), scores)
    for child, kid_tag in kids:
        if len(child):
            if not _is_chrome(child, kid_tag):
                _score(child, kid_tag, path, tally)
            else:
                tally.chrome.append(child)
        # A childless element adds nothing unless it is a paragraph: scored here, in one go.
        elif kid_tag in _SCORED and not _is_chrome(child, kid_tag):
            text = child.text
            path.append(child)
            _add_up(path, len(text.strip()) if text else 0, scores)
            path.pop()
    path.pop()


def prose_length(el: Element) -> int:
    """Characters of paragraph text under ``el``, as the body is chosen by (chrome, titles,
    dates and the lead left out)."""
    return _leaf_scores(el).get(el, 0)


def _add_up(path: list[Element], size: int, scores: dict[Element, int]) -> None:
    """Add a paragraph's ``size`` to it (last in ``path``) and to each of its ancestors."""
    for node in reversed(path):
        scores[node] = scores.get(node, 0) + size


def _is_chrome(el: Element, tag: str) -> bool:
    """Not body text: chrome, hidden markup, and the title and date lines above the body."""
    if tag in _CHROME_TAGS or tag == "h1":
        return True
    look = look_of(el)
    return look.hidden or look.role in _NOT_BODY


def _depth_below(el: Element, root: Element) -> int:
    """How many levels ``el`` lies under ``root`` (one of its ancestors, or itself)."""
    depth = 0
    while el is not root:
        el = el.getparent()
        depth += 1
    return depth


def _body_in(root: Element) -> Element:
    tally = _tally(root)
    scores = tally.scores
    total = scores.get(root, 0)
    swallower = _swallowing_chrome(tally.chrome, total)
    if swallower is not None:
        return _body_in(swallower)
    if not total:
        return root
    marked = _marked_body(root)
    if marked is not None:
        return marked
    holders = [el for el, score in scores.items() if score >= _BODY_SHARE * total]
    body = max(holders, key=lambda el: _depth_below(el, root))
    # One long paragraph can carry the share alone (a page cut short after it): the body is
    # what holds the paragraphs, never one of them.
    while body.tag in _PARAGRAPH_TAGS and body is not root:
        body = body.getparent()
    return body


def _swallowing_chrome(chrome: list[Element], total: int) -> Element | None:
    """Of the ``chrome`` scoring left out, a box named as chrome (tools, share, related news)
    holding more prose than the rest of the article (``total``): its closing tag is missing,
    and it swallowed the body that follows it (a browser shows that text as the article's; the
    walk reads through the box to it).

    Prose is text outside links: chrome boxes are links and icons, related news too.
    """
    best, best_size = None, max(total, _SWALLOWED_MIN)
    for el in chrome:
        look = look_of(el)
        if look.role is not Role.JUNK or look.hidden:
            continue
        size = len(all_text(el).strip()) - sum(len(all_text(a).strip()) for a in el.iter("a"))
        if size > best_size:
            best, best_size = el, size
    return best


def _marked_body(root: Element) -> Element | None:
    """The first element under ``root`` that schema.org's ``articleBody`` marks."""
    for el in root.iterdescendants(etree.Element):
        if el.get("itemprop") == "articleBody":
            return el
    return None


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


def cut_off(layout: Layout, past_widget: bool = False) -> list[Element]:
    """The article's paragraphs, photos and tables that stray closing tags put after its root
    (``</div>`` typed into the body closes the body and the containers around it early: a
    browser still shows the text as the article's).

    Templates wrap their parts in named ``<div>``s and ``<section>``s; editors write paragraphs,
    figures, tables and lists, whose classes (``image``, ``MsoNormal``) name no part of a page.
    So: such markup right after the root, then after each of its ancestors, until the
    template's resumes. Up to the widget only, unless ``past_widget`` (the parser met stray
    closers: ``Page.stray_end_tags``): enough of them close the widget too (eight on the
    portal's pages), then the page's column and row, and the rest of the body follows the
    last container they closed, whatever its depth. The page's next part (another widget, a
    column, the footer, or the widget's own parts the page's closers pushed out after the
    body) is no editor's markup: the body ends there.
    """
    found: list[Element] = []
    reach = None if past_widget and layout.scope is not layout.root else layout.scope
    for sibling in _following(layout.root, reach):
        look = look_of(sibling)
        if look.tag not in _CUT_OFF_TAGS or look.role or look.hidden or look.region:
            break
        found.append(sibling)
    return found


def pushed_out(layout: Layout) -> Iterator[Element]:
    """The elements after the article's widget, in document order, up to the page's next
    region (another widget, a column, the banner or the footer): where stray closers that
    close the widget early push the parts of it that follow them (Liferay's asset metadata
    with its date line). Nothing when the root has no widget around it."""
    if layout.scope is layout.root:
        return
    for sibling in _following(layout.scope, None):
        for el in sibling.iter(etree.Element):
            look = look_of(el)
            if look.region or look.tag in _PAGE_PARTS:
                return
            yield el


def _following(node: Element, top: Element | None) -> Iterator[Element]:
    """The elements after ``node`` and outside it, in document order without their subtrees:
    its following siblings, then its parent's, and so on up to ``top`` (the whole page when
    None)."""
    while node is not top:
        yield from node.itersiblings(etree.Element)
        parent = node.getparent()
        if parent is None:
            return
        node = parent


def _title_holder(body: Element) -> Element:
    """The nearest ancestor of the body that also holds the article's heading: an ``<h1>``, a
    titled ``<h2>``/``<h3>``, or any element a template names as the title (table layouts of
    2008–2014 put it in a ``<span class="ArticleTitle">`` rows above the text); failing those,
    one holding a title set in large bold type above the body."""
    node = body
    for _ in range(4):
        if _HAS_HEADING(node) or _holds_named_title(node, body):
            return node
        parent = node.getparent()
        if parent is None or parent.tag == "body":
            break
        node = parent
    shown = shown_title(body)
    if shown is not None:
        return shown[0]
    return body.getparent() if body.getparent() is not None else body


def shown_title(body: Element) -> tuple[Element, str] | None:
    """(ancestor, text) of a title only the type shows: the last line set in bold, a large
    ``<font>`` or a heading among the few rows before the body, in the nearest ancestor that
    has one. Table layouts of 2008–2014 often name nothing and write ``<b><font size=4>``."""
    node = body
    for _ in range(4):
        parent = node.getparent()
        if parent is None or parent.tag in ("body", "form"):
            return None
        node = parent
        found = None
        for el in node.iter(etree.Element):
            if el is body:
                break
            if el.tag in _LOUD_TAGS or _large_font(el):
                text = visible_text(el)
                if _TITLE_MIN <= len(text) <= _TITLE_MAX and not _in_link(el, node):
                    found = text
        if found:
            return node, found
    return None


def _large_font(el: Element) -> bool:
    """``<font size="4">`` or larger (``+1`` and the like are relative: not counted)."""
    size = (el.get("size") or "").strip() if el.tag == "font" else ""
    return size.isdecimal() and int(size) >= _LARGE_FONT


def _in_link(el: Element, top: Element) -> bool:
    for ancestor in el.iterancestors():
        if ancestor.tag == "a":
            return True
        if ancestor is top:
            return False
    return False


def _holds_named_title(node: Element, body: Element) -> bool:
    """Whether an element the template names as the title sits under ``node``, before
    ``body`` (a title inside the text is the editor's, not the page's)."""
    if node is body:
        return False
    for el in node.iter(etree.Element):
        if el is body:
            return False
        if _may_name_title(el) and class_role(el) is Role.TITLE and has_words(all_text(el)):
            return True
    return False


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
    og = next(
        (
            content
            for meta in tree.iter("meta")
            if meta.get("property") == "og:title" and (content := meta.get("content")) is not None
        ),
        None,
    )
    return (
        clean(all_text(title)) if title is not None else "",
        clean(og) if og is not None else "",
    )


def find_title(layout: Layout, tree: Element, menu: Menu | None = None) -> str | None:
    """The article title: named title elements, headings, then the page's own title.

    A candidate the site's ``menu`` names is a section's label above the article ("Tin tức -
    Sự kiện"), passed over while another remains.
    """
    head_title, og_title = page_title(tree)
    head_folded, og_folded = head_title.casefold(), og_title.casefold()
    first = label = None
    # Candidates are made one at a time: the first usually matches and the rest go unread.
    for text in _title_candidates(layout):
        if menu is not None and menu.names(text):
            label = label or text
            continue
        folded = text.casefold()
        if head_folded.startswith(folded) or folded == og_folded:
            return text
        if first is None:
            first = text
    if first is not None:
        return first
    shown = shown_title(layout.body)
    if shown is not None:
        return shown[1]
    return label or og_title or _TITLE_SUFFIX.sub("", head_title) or None


_MENU_ROLES = ("navigation", "menubar")


def _menu_links(tree: Element) -> Iterator[Element]:
    """Links of the site's menus: in a ``<nav>``, a navigation role, or a box classed as a menu
    or navbar; never a breadcrumb's (often a ``<nav>`` too, and ending with the article's own
    title). Class substrings are tested in Python: XPath's ``contains`` costs three times more."""
    # Menus nest (a ``<nav>`` around a ``ul.menu``): a link found once is not tested again.
    # The set holds the proxies themselves, so identity checks hold.
    found: set[Element] = set()
    for el in tree.iter(etree.Element):
        cls = el.get("class") or ""
        if el.tag == "nav" or "menu" in cls or "navbar" in cls or el.get("role") in _MENU_ROLES:
            for link in el.iter("a"):
                if link in found or link.get("href") is None or _in_breadcrumb(link, el):
                    continue
                found.add(link)
                yield link


def _in_breadcrumb(el: Element, top: Element) -> bool:
    node: Element | None = el
    while node is not None:
        name = f"{node.get('class') or ''} {node.get('id') or ''} {node.get('aria-label') or ''}"
        if "readcrumb" in name:
            return True
        if node is top:
            return False
        node = node.getparent()
    return False


class Menu:
    """The entries of a page's menus, read the first time a short enough text is asked about."""

    def __init__(self, tree: Element) -> None:
        self._tree = tree
        self._labels: frozenset[str] | None = None

    def names(self, text: str) -> bool:
        """Whether ``text`` is one of the entries (case and trailing punctuation aside)."""
        # Menus hold short labels: a longer text is no entry, and most titles are longer.
        if len(text) > _MENU_LABEL_MAX:
            return False
        if self._labels is None:
            self._labels = frozenset(_folded(all_text(link)) for link in _menu_links(self._tree))
        return _folded(text) in self._labels


@lru_cache(maxsize=4096)
def _folded(text: str) -> str:
    # A site's menu labels recur on every page of it.
    return clean(text).rstrip(" .:").casefold()


# The title and breadcrumb searches test class substrings in Python: libxml2's XPath spends more
# per node on ``contains(@class, …)`` than these tests and the role checks after them together.
_TITLE_ATTRIBUTE = "data-analytics-asset-title"


def _may_name_title(el: Element) -> bool:
    """A heading, an element carrying a title attribute, or one whose class hints at a title."""
    if el.tag == "h1":
        return True
    for name, value in el.items():
        if name == "class":
            # "TieuDe", "ArticleTitle", "NewsHeadline": table-era templates capitalise.
            if "itle" in value or "eadline" in value or "tieu" in value or "Tieu" in value:
                return True
        elif name == _TITLE_ATTRIBUTE or name == "itemprop":
            return True
    return False


def _title_candidates(layout: Layout) -> Iterator[str]:
    """Title texts in document order; the search gives up once it has found six."""
    body = layout.body
    found = 0
    # A set of the proxies themselves: it keeps them alive, so identity checks hold.
    holders = set(body.iterancestors())
    for el in layout.scope.iterdescendants(etree.Element):
        if not _may_name_title(el):
            continue
        attr = el.get(_TITLE_ATTRIBUTE)
        if attr and has_words(attr):
            found += 1
            yield clean(attr)
            continue
        # The title comes before the body, never inside it; "show-asset-title" wrappers hold it.
        if el in holders or el is body or _within(el, body, holders):
            continue
        if el.tag == "h1" or class_role(el) is Role.TITLE:
            text = visible_text(el)
            if has_words(text) and len(text) < 400:
                found += 1
                yield text
        if found >= 6:
            break


def _within(el: Element, body: Element, holders: set[Element]) -> bool:
    """Whether ``el`` lies under ``body``, whose ancestors are ``holders``.

    Climbing from ``el`` meets ``body`` or else one of its ancestors first; no need to go higher.
    """
    for ancestor in el.iterancestors():
        if ancestor is body:
            return True
        if ancestor in holders:
            return False
    return False


def around(outer: Element, inner: Element) -> list[Element]:
    """The elements under ``outer`` in document order, leaving out those under ``inner``.

    ``inner`` itself is included; it must lie under ``outer``. Its subtree (the article, or its
    text) is most of the portlet, so searches for what sits beside it skip it, not filter it.
    """
    found: list[Element] = []
    # A set of the proxies themselves: it keeps them alive, so identity checks hold.
    _gather_around(outer, inner, set(inner.iterancestors()), found)
    return found


def _gather_around(el: Element, inner: Element, path: set[Element], found: list[Element]) -> None:
    for child in el.iterchildren(etree.Element):
        found.append(child)
        if child in path:
            _gather_around(child, inner, path, found)
        elif child is not inner:
            found.extend(child.iterdescendants(etree.Element))


def find_breadcrumbs(layout: Layout, tree: Element, title: str | None) -> list[str]:
    """The breadcrumb trail: the article's own, else the page's."""
    for scope in (layout.scope, tree):
        for el in scope.iterdescendants(etree.Element):
            # The trail's own element first: DotNetNuke names it by id (``lblBreadCrumb``)
            # and classes only its links (``breadcrumbLink``).
            name = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
            if "readcrumb" not in name and "duong" not in name:
                continue
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
