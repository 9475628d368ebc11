"""Flatten an article's markup into a sequence of typed blocks, in reading order.

One recursive walk over the article root: hidden text and chrome are skipped, every block-level
element (or run of inline content) becomes a ``Block`` that carries what the later heuristics
need: its text, the images it holds, alignment, emphasis and links.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from lxml.etree import _Element as Element
from lxml.etree import tostring

from crawler.parsers.text import clean, has_words


class Role(StrEnum):
    """What a block is, as far as markup alone tells."""

    TEXT = "text"
    IMAGE = "image"
    TITLE = "title"
    DATE = "date"
    BREADCRUMB = "breadcrumb"
    SUMMARY = "summary"
    CAPTION = "caption"
    AUTHOR = "author"
    JUNK = "junk"


def _words(pattern: str) -> re.Pattern[str]:
    # Class names are matched as whole words: `date` must not match `update`.
    return re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])")


_HIDDEN_CLASS = _words(
    r"hide-accessible|sr-only|taglib-text|hidden(?![a-z-])|d-none|invisible|visually-hidden"
    r"|hide|screen-reader-text|helper-hidden-accessible|aui-helper-hidden"
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# Class and id names are split into words at "-", "_" and spaces; a role is named by one word
# or two consecutive ones ("tin-khac"). Earlier roles win: a "portlet-title" is chrome.
_ROLE_WORDS: tuple[tuple[Role, str], ...] = (
    (
        Role.JUNK,
        "portlet-title tools tool share sharing social print email e-mail rating ratings vote like"
        " likes comment comments tag tags keyword keywords related other others other-news"
        " tinkhac tin-khac tinlienquan lienquan lien-quan navigation navbar nav menu pagination"
        " pager paging toolbar addthis facebook zalo twitter views view-count counter hits"
        " back-to user-actions entry-links asset-links banner ads advert advertisement sidebar"
        " quick-access icon-item taglib-icon asset-anchor",
    ),
    (Role.BREADCRUMB, "breadcrumb breadcrumbs duongdan duong-dan"),
    (Role.CAPTION, "caption figcaption chuthich chu-thich image-desc img-desc photo-desc"),
    (Role.TITLE, "title headline tieude tieu-de"),
    (Role.DATE, "date time datetime pubdate ngaydang ngay-dang created published"),
    (
        Role.SUMMARY,
        "sapo summary lead description tomtat tom-tat abstract intro teaser excerpt chapeau"
        " trichyeu trich-yeu mota mo-ta",
    ),
    (Role.AUTHOR, "author byline tacgia tac-gia writer nguon source butdanh but-danh createdby"),
)
_WORD_RANK = {word: rank for rank, (_, words) in enumerate(_ROLE_WORDS) for word in words.split()}
_NAME_SPLIT = re.compile(r"[\s_-]+")
# ASP.NET and SharePoint templates name in camel case (``ArticleTitle``, ``lblDate``): a word
# starts at each capital after a small letter or digit.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Classes trusted inside the body too: editors' markup rarely names these by accident.
_BODY_ROLES = frozenset({Role.JUNK, Role.CAPTION, Role.AUTHOR, Role.BREADCRUMB})
_ITEMPROP_ROLES = {
    "headline": Role.TITLE,
    "name": Role.TITLE,
    "datepublished": Role.DATE,
    "author": Role.AUTHOR,
    "description": Role.SUMMARY,
}
_SKIP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "button",
        "select", "input", "textarea", "map", "canvas", "video", "audio", "head", "link", "meta",
        "nav", "aside",
    }
)  # fmt: skip
BLOCK_TAGS = frozenset(
    {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
        "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "figure", "figcaption",
        "blockquote", "section", "article", "header", "footer", "aside", "nav", "main", "pre",
        "center", "form", "address", "hr", "fieldset", "details", "summary",
    }
)  # fmt: skip
# Regions of the page around an article, never inside one: another widget, a page column,
# the page's banner, footer or side boxes. Inside the article they were swallowed by an
# unclosed tag before them (the browser still draws them after the text, not as part of it).
_REGION_CLASS = _words(r"portlet-boundary|portlet-column")
_REGION_ROLES = frozenset({"banner", "contentinfo", "complementary", "navigation"})
_ITALIC_TAGS = frozenset({"em", "i", "cite"})
_BOLD_TAGS = frozenset({"strong", "b"})
_ALIGN_STYLE = re.compile(r"text-align\s*:\s*(\w+)", re.I)
_ALIGN_CLASS = _words(r"(?:text|align|has-text-align)-?(center|right)|(center|right)")
_ITALIC_STYLE = re.compile(r"font-style\s*:\s*italic", re.I)
_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(?:bold|[6-9]00)", re.I)
_LAZY_SRC = ("src", "data-src", "data-original", "data-lazy-src")
# Pictures that decorate a line rather than illustrate the text: by name, or by a size in
# pixels no photo has.
_DECORATION = re.compile(r"(?i)(?:^|/)(?:[\w-]*icons?|bullets?)(?:/|\.\w+$|[\w-]*\.(?:gif|png)$)")
_ICON_MAX = 32
# A caption written into the image's own paragraph stays short.
_INLINE_CAPTION_MAX = 300


@dataclass(slots=True)
class Block:
    """One unit of the article's reading order."""

    role: Role
    text: str = ""
    images: list[str] = field(default_factory=list)
    caption: str | None = None
    align: str = ""
    italic: bool = False
    bold: bool = False
    in_body: bool = False
    tag: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)


class _Ctx(NamedTuple):
    """What an element inherits from its ancestors during the walk (immutable, cheap to make)."""

    base: str
    body: Element | None
    role: Role = Role.TEXT
    align: str = ""
    in_body: bool = False
    wrappers: frozenset[Element] = frozenset()
    """Inline elements that hold blocks (see ``_wrappers``)."""
    holders: frozenset[Element] = frozenset()
    """The body and its ancestors."""
    emphasis: int = 0
    """The ``_ITALIC``/``_BOLD`` bits of inline elements around the blocks (a ``<b>`` holding
    paragraphs makes them bold, as a browser draws them)."""


# Emphasis as bits, so that a run's texts carry theirs in one int and nesting is an ``|``.
_ITALIC = 1
_BOLD = 2


@dataclass(slots=True)
class _Run:
    """Inline content gathered between block boundaries."""

    texts: list[str] = field(default_factory=list)
    # The emphasis each of ``texts`` is written in (``_ITALIC | _BOLD`` bits), index for index.
    styles: list[int] = field(default_factory=list)
    # (index of texts where it occurs, absolute URL) of each image, in order.
    images: list[tuple[int, str]] = field(default_factory=list)
    # Index of texts where each ``<br>`` occurs.
    breaks: list[int] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.texts or self.images or self.breaks or self.links)

    def is_blank(self) -> bool:
        """Nothing to flush: no images, no links and no text but white space."""
        if self.images or self.links:
            return False
        text = "".join(self.texts)
        return not text or text.isspace()


# An element's attributes: a dict of them read at once, or lxml's lazy ``el.attrib`` view.
Attrs = Mapping[str, str]


def all_text(el: Element) -> str:
    """Every text node under an element, as written (script text too)."""
    # The same text as "".join(el.itertext()), gathered by libxml2 in C: several times faster.
    return tostring(el, method="text", encoding=str, with_tail=False)


def is_hidden(el: Element) -> bool:
    """Hidden or accessibility-only markup (Liferay's stray ``null`` lives there)."""
    return hidden(el.attrib)


def hidden(attrs: Attrs) -> bool:
    """``is_hidden`` for attributes already read."""
    cls = attrs.get("class")
    if cls and _hidden_class(cls):
        return True
    style = attrs.get("style")
    if style and _hidden_style(style):
        return True
    return "hidden" in attrs or attrs.get("type") == "hidden"


@lru_cache(maxsize=4096)
def _hidden_class(cls: str) -> bool:
    return _HIDDEN_CLASS.search(cls.lower()) is not None


@lru_cache(maxsize=4096)
def _hidden_style(style: str) -> bool:
    return _HIDDEN_STYLE.search(style) is not None


def class_role(el: Element) -> Role | None:
    """The role an element's class, id or itemprop names, if any."""
    return named_role(el.tag, el.attrib)


def named_role(tag: str, attrs: Attrs) -> Role | None:
    """``class_role`` for an element whose attributes are already read."""
    prop = attrs.get("itemprop")
    if prop and prop.lower() in _ITEMPROP_ROLES:
        return _ITEMPROP_ROLES[prop.lower()]
    if tag == "time":
        return Role.DATE
    cls, ident = attrs.get("class"), attrs.get("id")
    if not cls and not ident:
        return None
    return _named_role(cls or "", ident or "")


@lru_cache(maxsize=4096)
def _named_role(cls: str, ident: str) -> Role | None:
    # Templates repeat the same few class strings on every node and every page.
    words = _NAME_SPLIT.split(_CAMEL.sub(" ", f"{cls} {ident}").lower())
    best = len(_ROLE_WORDS)
    previous = ""
    for word in words:
        rank = _WORD_RANK.get(word)
        if rank is not None and rank < best:
            best = rank
        if previous:
            rank = _WORD_RANK.get(f"{previous}-{word}")
            if rank is not None and rank < best:
                best = rank
        previous = word
    return _ROLE_WORDS[best][0] if best < len(_ROLE_WORDS) else None


def _alignment(tag: str, attrs: Attrs) -> str | None:
    """The alignment an element sets for its content; None when it keeps its parent's."""
    if tag == "center":
        return "center"
    style = attrs.get("style")
    if style:
        align = _style_alignment(style)
        if align:
            return align
    align = attrs.get("align")
    if align:
        return align.lower()
    cls = attrs.get("class")
    if cls:
        return _class_alignment(cls)
    return None


@lru_cache(maxsize=4096)
def _style_alignment(style: str) -> str | None:
    match = _ALIGN_STYLE.search(style)
    return match.group(1).lower() if match else None


@lru_cache(maxsize=4096)
def _class_alignment(cls: str) -> str | None:
    match = _ALIGN_CLASS.search(cls.lower())
    return next(g for g in match.groups() if g) if match else None


def _emphasis(tag: str, attrs: Attrs) -> int:
    """The emphasis an element adds to its text, by its tag and inline style."""
    style = attrs.get("style")
    italic = tag in _ITALIC_TAGS or (style is not None and _ITALIC_STYLE.search(style) is not None)
    bold = tag in _BOLD_TAGS or (style is not None and _BOLD_STYLE.search(style) is not None)
    return (_ITALIC if italic else 0) | (_BOLD if bold else 0)


class Look(NamedTuple):
    """What an element's tag and attributes say about it, wherever it stands."""

    tag: str
    role: Role | None
    """The role its class, id or itemprop names (inside the body the walk keeps only some)."""
    hidden: bool
    """Hidden or accessibility-only markup."""
    skip: bool
    """Never read: hidden, or scripts, forms, embeds and the like."""
    block: bool
    """A block-level tag."""
    align: str | None
    """The alignment it sets; None when it keeps its parent's."""
    emphasis: int
    """The ``_ITALIC``/``_BOLD`` bits its tag or inline style add."""
    region: bool
    """A region of the page (another widget, a column, the footer): never the article's."""


def look_of(el: Element) -> Look:
    """What an element (not a comment) says about itself: read once, shared by every test."""
    return _look_of(el, el.tag)


# The attributes a look is made of. Links and images carry others whose values are unique (href,
# src, alt, title): the cache is keyed without them, or it would miss on every link and image.
_LOOK_ATTRIBUTES = frozenset(
    {"class", "id", "style", "itemprop", "align", "hidden", "type", "role"}
)
_ADDRESSED_TAGS = frozenset({"a", "img"})


def _look_of(el: Element, tag: str) -> Look:
    items = el.items()
    if tag in _ADDRESSED_TAGS:
        items = [item for item in items if item[0] in _LOOK_ATTRIBUTES]
    return _look(tag, tuple(items))


@lru_cache(maxsize=4096)
def _look(tag: str, items: tuple[tuple[str, str], ...]) -> Look:
    # Keyed by the tag and the attributes as lxml lists them: templates and editors repeat the
    # same few combinations on every page, so one tuple hashed stands in for a dozen lookups.
    attrs = dict(items)
    is_hidden = hidden(attrs)
    return Look(
        tag=tag,
        role=named_role(tag, attrs),
        hidden=is_hidden,
        skip=is_hidden or tag in _SKIP_TAGS,
        block=tag in BLOCK_TAGS,
        align=_alignment(tag, attrs),
        emphasis=_emphasis(tag, attrs),
        region=_is_region(attrs),
    )


def _is_region(attrs: Attrs) -> bool:
    cls = attrs.get("class")
    if cls and _REGION_CLASS.search(cls.lower()):
        return True
    return attrs.get("role") in _REGION_ROLES or (attrs.get("id") or "").startswith("p_p_id_")


def absolute_url(base: str, href: str) -> str:
    """``urljoin(base, href)``, without parsing two URLs for every link and image.

    Most references are ``/path`` or ``http(s)://host/path``: they resolve against the base's
    scheme and host alone, the same as against the site's root, whichever page links to them.
    A path with nothing to normalise is simply appended to that root; a URL is joined to it
    once per site. Anything else goes to ``urljoin``. Raises ValueError where ``urljoin`` does.
    """
    # urlsplit drops tabs and line breaks anywhere in a URL ("/\t/host" is "//host" to it).
    if "\t" not in href and "\n" not in href and "\r" not in href:
        if href[:1] == "/" and href[1:2] != "/":
            origin = _origin(base)
            if origin and _is_plain_path(href):
                return origin + href
        elif href.startswith(_NETWORK_PREFIXES):
            origin = _origin(base)
            # "//?q" names no host: urljoin then keeps the base's path, and the root's differs.
            if origin and href.partition("//")[2][:1] not in ("", "/", "?", "#"):
                return _join_to_site(origin, href)
    return urljoin(base, href)


_NETWORK_PREFIXES = ("//", "http://", "https://")


@lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    """``http://host`` of an http(s) base URL; None for any other."""
    parts = urlsplit(base)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _is_plain_path(href: str) -> bool:
    """A path urljoin leaves as written: no dot segments, no ``;params``, no empty ``?`` or
    ``#`` (it drops those)."""
    rest, hash_mark, fragment = href.partition("#")
    path, question_mark, query = rest.partition("?")
    return (
        ";" not in path
        and "/." not in path
        and (query or not question_mark)
        and (fragment or not hash_mark)
    )


@lru_cache(maxsize=1024)
def _join_to_site(origin: str, href: str) -> str:
    # Links to a site's sections recur on every page of it: remembered, not parsed again.
    return urljoin(origin + "/", href)


def image_url(img: Element, base: str) -> str | None:
    """Absolute URL of an ``<img>`` (lazy-loading attributes too); None for inline data."""
    return _image_source(img.attrib, base)


def _image_source(attrs: Attrs, base: str) -> str | None:
    if _is_decoration(attrs):
        return None
    for name in _LAZY_SRC:
        src = (attrs.get(name) or "").strip()
        if src and not src.startswith("data:"):
            try:
                return absolute_url(base, src)
            except ValueError:
                return None
    return None


def _is_decoration(attrs: Attrs) -> bool:
    """A file-type icon or a bullet beside a line (``/images/FileTypeIcons/pdf.gif``, 16 pixels
    wide), not a photo of the article."""
    src = attrs.get("src") or ""
    if _DECORATION.search(src):
        return True
    width, height = attrs.get("width", ""), attrs.get("height", "")
    return any(size.isdecimal() and int(size) <= _ICON_MAX for size in (width, height))


def has_block_children(el: Element) -> bool:
    return any(isinstance(child.tag, str) and child.tag in BLOCK_TAGS for child in el)


# A child of an element as the walk sees it: the node, its look, the role it plays here, whether
# it stands apart from the inline run around it, and its tail. Look and role are None for
# comments and processing instructions: only their tails count.
_Kid = tuple[Element, Look | None, Role | None, bool, str | None]
_NO_KIDS: tuple[list[_Kid], bool] = ([], False)


def _kids(el: Element, ctx: _Ctx) -> tuple[list[_Kid], bool]:
    """The children of ``el``, each read once from lxml for every later decision, and whether
    any of them stands apart (then ``el`` is a container of blocks, not a run of inline text)."""
    if not len(el):
        return _NO_KIDS
    kids: list[_Kid] = []
    any_apart = False
    body, in_body, ctx_role, wrappers = ctx.body, ctx.in_body, ctx.role, ctx.wrappers
    for child in el:
        tag = child.tag
        if isinstance(tag, str):
            look = _look_of(child, tag)
            role = look.role
            # The body's own class says nothing; inside it, editors' classes rarely mean much.
            if role is not None and (child is body or (in_body and role not in _BODY_ROLES)):
                role = None
            # Block-level, inline but named for another role (a date span in an author box),
            # or inline around blocks.
            apart = (
                look.block
                or (role is not None and role is not Role.JUNK and role is not ctx_role)
                or (wrappers and child in wrappers)
            )
            any_apart = any_apart or apart
            kids.append((child, look, role, apart, child.tail))
        else:
            kids.append((child, None, None, False, child.tail))
    return kids, any_apart


def walk(root: Element, base: str, body: Element | None) -> list[Block]:
    """Blocks of ``root`` in reading order; ``body`` marks the article text container."""
    out: list[Block] = []
    # Sets of the proxies themselves: they keep them alive, so identity checks hold.
    holders = frozenset([body, *body.iterancestors()]) if body is not None else frozenset()
    ctx = _Ctx(base, body, in_body=root is body, wrappers=_wrappers(root), holders=holders)
    _container(root, _kids(root, ctx)[0], ctx, out)
    return out


def walk_body(elements: list[Element], base: str) -> list[Block]:
    """Blocks of ``elements``, each read whole as part of the article's body."""
    out: list[Block] = []
    for el in elements:
        ctx = _Ctx(base, el, in_body=True, wrappers=_wrappers(el), holders=frozenset([el]))
        _element(el, look_of(el), None, ctx, out)
    return out


def _wrappers(root: Element) -> frozenset[Element]:
    """Inline elements under ``root`` that hold block-level ones: an unclosed ``<font>`` or
    ``<b>`` that libxml2 keeps open over the paragraphs after it (a browser closes it at the
    next paragraph and reopens it inside). Read as containers, so each paragraph stays one.

    One climb from each block to the nearest block above it, stopping at an inline element
    already found: linear even in Word pastes nested thousands deep.
    """
    found: set[Element] = set()
    for block in root.iter(*BLOCK_TAGS):
        parent = block.getparent()
        while parent is not None and parent is not root and parent.tag not in BLOCK_TAGS:
            if parent in found:
                break
            found.add(parent)
            parent = parent.getparent()
    return frozenset(found)


def _element(el: Element, look: Look, role: Role | None, ctx: _Ctx, out: list[Block]) -> None:
    if look.skip:
        return
    if role is Role.JUNK or look.region:
        # Chrome or another region of the page (another widget, a column, the footer), unless
        # an unclosed tag made it hold the body: then its name says nothing of what it holds.
        if el not in ctx.holders:
            return
        role = None
    if role is not None or look.align is not None or el is ctx.body:
        ctx = _inherit(ctx, el, look, role)
    if look.emphasis & ~ctx.emphasis and el in ctx.wrappers:
        ctx = ctx._replace(emphasis=ctx.emphasis | look.emphasis)
    tag = look.tag
    if tag == "figure":
        _figure(el, ctx, out)
        return
    if (tag == "table" and _image_table(el, ctx, out)) or tag in ("hr", "br"):
        return
    if not len(el) and tag != "a":
        # Most paragraphs: one text node, nothing else to gather.
        text = el.text
        block = _text_block([text], [look.emphasis | ctx.emphasis], ctx, tag, []) if text else None
        if block:
            out.append(block)
        return
    kids, any_apart = _kids(el, ctx)
    if any_apart:
        _container(el, kids, ctx, out)
    else:
        run = _Run()
        _inline_content(el, look, kids, ctx, run, ctx.emphasis)
        _flush(run, ctx, tag, out)


def _inherit(ctx: _Ctx, el: Element, look: Look, role: Role | None) -> _Ctx:
    """The context inside ``el``, which names a role, sets an alignment or is the body; when
    that changes nothing, it shares its parent's."""
    role = role or ctx.role
    align = look.align or ctx.align
    in_body = ctx.in_body or el is ctx.body
    if role is ctx.role and align == ctx.align and in_body == ctx.in_body:
        return ctx
    return _Ctx(ctx.base, ctx.body, role, align, in_body, ctx.wrappers, ctx.holders, ctx.emphasis)


def _container(el: Element, kids: list[_Kid], ctx: _Ctx, out: list[Block]) -> None:
    run = _Run()
    text = el.text
    # White space ahead of a run's content would be trimmed off its text: the line breaks
    # between blocks start no run.
    if text and not text.isspace():
        run.texts.append(text)
        run.styles.append(ctx.emphasis)
    for child, look, role, apart, tail in kids:
        if look is not None:
            if apart:
                if not run.is_empty():
                    if not run.is_blank():  # a blank run would flush to nothing
                        _flush(run, ctx, "", out)
                    run = _Run()
                _element(child, look, role, ctx, out)
            else:
                _inline(child, look, role, ctx, run, ctx.emphasis)
        if tail and (not tail.isspace() or not run.is_empty()):
            run.texts.append(tail)
            run.styles.append(ctx.emphasis)
    if not run.is_blank():
        _flush(run, ctx, "", out)


def _inline(
    el: Element, look: Look, role: Role | None, ctx: _Ctx, run: _Run, emphasis: int
) -> None:
    if look.skip or role is Role.JUNK:
        return
    tag = look.tag
    if tag == "img":
        url = _image_source(el.attrib, ctx.base)
        if url:
            run.images.append((len(run.texts), url))
        return
    if tag == "br":
        run.breaks.append(len(run.texts))
        return
    _inline_content(el, look, _kids(el, ctx)[0], ctx, run, emphasis)


def _inline_content(
    el: Element, look: Look, kids: list[_Kid], ctx: _Ctx, run: _Run, emphasis: int
) -> None:
    """An inline element's own text and its children's, with the emphasis it adds."""
    emphasis |= look.emphasis
    texts, styles = run.texts, run.styles
    start = len(texts)
    text = el.text
    if text:
        texts.append(text)
        styles.append(emphasis)
    for child, child_look, role, _, tail in kids:
        if child_look is not None:
            _inline(child, child_look, role, ctx, run, emphasis)
        if tail:
            texts.append(tail)
            styles.append(emphasis)
    if look.tag == "a":
        href = el.get("href")
        if href:
            _link(href, run, start, ctx.base)


def _link(href: str, run: _Run, start: int, base: str) -> None:
    href = href.strip()
    if href.startswith(("javascript:", "mailto:", "#")):
        return
    try:
        url = absolute_url(base, href)
    except ValueError:
        return
    run.links.append((url, clean("".join(run.texts[start:]))))


def _text_block(
    texts: list[str], styles: list[int], ctx: _Ctx, tag: str, links: list[tuple[str, str]]
) -> Block | None:
    text = "".join(texts)
    # White space alone (around an inline element that gives no text) needs no cleaning to drop.
    if not links and text.isspace():
        return None
    text = clean(text)
    if not has_words(text) and not links:
        return None
    emphasis = _shared_emphasis(texts, styles)
    return Block(
        role=ctx.role,
        text=text,
        align=ctx.align,
        italic=bool(emphasis & _ITALIC),
        bold=bool(emphasis & _BOLD),
        in_body=ctx.in_body,
        tag=tag,
        links=links,
    )


def _shared_emphasis(texts: list[str], styles: list[int]) -> int:
    """The emphasis every text with words in it shares; none when no text has words."""
    if not any(styles):
        return 0
    shared, worded = _ITALIC | _BOLD, False
    for text, style in zip(texts, styles, strict=True):
        if has_words(text):
            shared &= style
            worded = True
    return shared if worded else 0


def _flush(run: _Run, ctx: _Ctx, tag: str, out: list[Block]) -> None:
    """Turn an inline run into blocks, splitting it at its images."""
    images = run.images
    if not images:
        block = _text_block(run.texts, run.styles, ctx, tag, run.links)
        if block:
            out.append(block)
        return
    first = images[0][0]
    before = _text_block(run.texts[:first], run.styles[:first], ctx, tag, [])
    if before:
        out.append(before)
    if ctx.role not in (Role.TEXT, Role.CAPTION):
        return  # a portrait in an author box, an icon in a date line: not body images
    last = images[-1][0]
    # A break between the image and the text after it marks an inline caption.
    broken = any(pos >= last for pos in run.breaks)
    for _, url in images:
        out.append(Block(Role.IMAGE, images=[url], align=ctx.align, in_body=ctx.in_body))
    tail = _text_block(run.texts[last:], run.styles[last:], ctx, tag, run.links)
    if tail is None:
        return
    if len(tail.text) <= _INLINE_CAPTION_MAX and (broken or tail.italic or ctx.align == "center"):
        out[-1].caption = tail.text
    else:
        out.append(tail)


def _figure(el: Element, ctx: _Ctx, out: list[Block]) -> None:
    urls = [url for img in el.iter("img") if (url := image_url(img, ctx.base))]
    captions = [clean(all_text(cap)) for cap in el.iter("figcaption") if not is_hidden(cap)]
    caption = next((c for c in captions if has_words(c)), None)
    for index, url in enumerate(urls):
        last = index == len(urls) - 1
        out.append(
            Block(Role.IMAGE, images=[url], caption=caption if last else None, in_body=ctx.in_body)
        )


def _image_table(el: Element, ctx: _Ctx, out: list[Block]) -> bool:
    """A small table of photos and their caption rows; False when it is not one.

    Only a table whose every photo and every word are kept as photos and captions is one: a
    table that also holds text beside a photo, or several photos in a cell, is read as text
    (an unclosed ``<table>`` can swallow the article's whole body, photos and all).
    """
    rows = [row for row in el.iter("tr")]
    if not rows or len(rows) > 4 or not any(True for _ in el.iter("img")):
        return False
    grid = _photo_grid(rows, ctx.base)
    if grid is None:
        return False
    texts = [text for cells in grid for url, text in cells if url is None and has_words(text)]
    if sum(len(text) for text in texts) > 400:
        return False
    images = [url for cells in grid for url, _ in cells if url]
    captions = _pair_captions(grid, len(images))
    for url, caption in zip(images, captions, strict=True):
        out.append(Block(Role.IMAGE, images=[url], caption=caption, in_body=ctx.in_body))
    return True


def _photo_grid(rows: list[Element], base: str) -> list[list[tuple[str | None, str]]] | None:
    """(photo URL or None, text) of each visible cell, row by row; None when a cell holds
    more than one photo, or a photo with words beside it: the photo grid would drop them."""
    grid: list[list[tuple[str | None, str]]] = []
    for row in rows:
        cells = []
        for cell in row:
            if cell.tag not in ("td", "th") or is_hidden(cell):
                continue
            urls = [url for img in cell.iter("img") if (url := image_url(img, base))]
            text = clean(all_text(cell))
            if len(urls) > 1 or (urls and has_words(text)):
                return None
            cells.append((urls[0] if urls else None, text))
        grid.append(cells)
    return grid


def _pair_captions(grid: list[list[tuple[str | None, str]]], count: int) -> list[str | None]:
    """Captions by column when a row of photos sits over a row of texts, else one for the last."""
    for upper, lower in itertools.pairwise(grid):
        photos = [url for url, _ in upper if url]
        if len(photos) == count > 1 and len(lower) == len(upper):
            return [text if has_words(text) else None for _, text in lower]
    texts = [text for cells in grid for url, text in cells if url is None and has_words(text)]
    caption = " ".join(texts) or None
    return [None] * (count - 1) + [caption] if count else []
