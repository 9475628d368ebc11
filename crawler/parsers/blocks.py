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
from urllib.parse import urljoin

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
    (Role.DATE, "date time datetime pubdate ngaydang ngay-dang created"),
    (
        Role.SUMMARY,
        "sapo summary lead description tomtat tom-tat abstract intro teaser excerpt chapeau"
        " trichyeu trich-yeu mota mo-ta",
    ),
    (Role.AUTHOR, "author byline tacgia tac-gia writer nguon source butdanh but-danh"),
)
_WORD_RANK = {word: rank for rank, (_, words) in enumerate(_ROLE_WORDS) for word in words.split()}
_NAME_SPLIT = re.compile(r"[\s_-]+")
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
_ITALIC_TAGS = frozenset({"em", "i", "cite"})
_BOLD_TAGS = frozenset({"strong", "b"})
_ALIGN_STYLE = re.compile(r"text-align\s*:\s*(\w+)", re.I)
_ALIGN_CLASS = _words(r"(?:text|align|has-text-align)-?(center|right)|(center|right)")
_ITALIC_STYLE = re.compile(r"font-style\s*:\s*italic", re.I)
_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(?:bold|[6-9]00)", re.I)
_LAZY_SRC = ("src", "data-src", "data-original", "data-lazy-src")
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


@dataclass(slots=True)
class _Run:
    """Inline content gathered between block boundaries."""

    texts: list[tuple[str, bool, bool]] = field(default_factory=list)
    # Each marker: ("img", url) or ("br", "") at the index of texts where it occurs.
    marks: list[tuple[int, str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.texts or self.marks or self.links)


# An element's attributes: a dict read once (``attributes``) or lxml's lazy ``el.attrib`` view.
Attrs = Mapping[str, str]
# A child of an element as the walk sees it: the node, its attributes and the role its names
# give it; attributes are None for comments and processing instructions (only their tails count).
_Kid = tuple[Element, Attrs | None, Role | None]


def attributes(el: Element) -> dict[str, str]:
    """All of an element's attributes, read in one call.

    Each ``el.get`` encodes the name and decodes the value anew; the walk asks an element for up
    to a dozen of them (class, id, style, itemprop, hidden, …), so it reads them once instead.
    """
    return dict(el.items())


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
    words = _NAME_SPLIT.split(f"{cls} {ident}".lower())
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


def _alignment(tag: str, attrs: Attrs, inherited: str) -> str:
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
        align = _class_alignment(cls)
        if align:
            return align
    return inherited


@lru_cache(maxsize=4096)
def _style_alignment(style: str) -> str | None:
    match = _ALIGN_STYLE.search(style)
    return match.group(1).lower() if match else None


@lru_cache(maxsize=4096)
def _class_alignment(cls: str) -> str | None:
    match = _ALIGN_CLASS.search(cls.lower())
    return next(g for g in match.groups() if g) if match else None


@lru_cache(maxsize=4096)
def _style_emphasis(style: str) -> tuple[bool, bool]:
    """(italic, bold) as an inline style sets them; editors repeat a handful of styles."""
    return bool(_ITALIC_STYLE.search(style)), bool(_BOLD_STYLE.search(style))


def image_url(img: Element, base: str) -> str | None:
    """Absolute URL of an ``<img>`` (lazy-loading attributes too); None for inline data."""
    return _image_source(img.attrib, base)


def _image_source(attrs: Attrs, base: str) -> str | None:
    for name in _LAZY_SRC:
        src = (attrs.get(name) or "").strip()
        if src and not src.startswith("data:"):
            try:
                return urljoin(base, src)
            except ValueError:
                return None
    return None


def has_block_children(el: Element) -> bool:
    return any(isinstance(child.tag, str) and child.tag in BLOCK_TAGS for child in el)


def _stands_apart(tag: str, role: Role | None, ctx: _Ctx) -> bool:
    """Block-level, or inline but named for another role (a date span in an author box)."""
    if tag in BLOCK_TAGS:
        return True
    return role is not None and role is not Role.JUNK and role is not ctx.role


def _own_role(el: Element, attrs: Attrs, ctx: _Ctx) -> Role | None:
    if el is ctx.body:
        return None
    role = named_role(el.tag, attrs)
    if role is None or (ctx.in_body and role not in _BODY_ROLES):
        return None
    return role


def _kids(el: Element, ctx: _Ctx) -> list[_Kid]:
    """The children of ``el`` with attributes and roles, read once for every later decision."""
    kids: list[_Kid] = []
    for child in el:
        if isinstance(child.tag, str):
            attrs = attributes(child)
            kids.append((child, attrs, _own_role(child, attrs, ctx)))
        else:
            kids.append((child, None, None))
    return kids


def walk(root: Element, base: str, body: Element | None) -> list[Block]:
    """Blocks of ``root`` in reading order; ``body`` marks the article text container."""
    out: list[Block] = []
    ctx = _Ctx(base=base, body=body, in_body=root is body)
    _container(root, _kids(root, ctx), ctx, out)
    return out


def _element(el: Element, attrs: Attrs, role: Role | None, ctx: _Ctx, out: list[Block]) -> None:
    tag = el.tag
    if tag in _SKIP_TAGS or role is Role.JUNK or hidden(attrs):
        return
    ctx = _inherit(ctx, el, tag, attrs, role)
    if tag == "figure":
        _figure(el, ctx, out)
        return
    if (tag == "table" and _image_table(el, ctx, out)) or tag in ("hr", "br"):
        return
    kids = _kids(el, ctx)
    if any(attrs is not None and _stands_apart(kid.tag, role, ctx) for kid, attrs, role in kids):
        _container(el, kids, ctx, out)
    else:
        run = _Run()
        _inline_content(el, attrs, kids, ctx, run, False, False)
        _flush(run, ctx, tag, out)


def _inherit(ctx: _Ctx, el: Element, tag: str, attrs: Attrs, role: Role | None) -> _Ctx:
    """The context inside ``el``: most elements change nothing, and then share their parent's."""
    role = role or ctx.role
    align = _alignment(tag, attrs, ctx.align)
    in_body = ctx.in_body or el is ctx.body
    if role is ctx.role and align == ctx.align and in_body == ctx.in_body:
        return ctx
    return _Ctx(ctx.base, ctx.body, role, align, in_body)


def _container(el: Element, kids: list[_Kid], ctx: _Ctx, out: list[Block]) -> None:
    run = _Run()
    if el.text:
        run.texts.append((el.text, False, False))
    for child, attrs, role in kids:
        if attrs is not None:
            if _stands_apart(child.tag, role, ctx):
                if not run.is_empty():  # an empty run flushes to nothing
                    _flush(run, ctx, "", out)
                    run = _Run()
                _element(child, attrs, role, ctx, out)
            else:
                _inline(child, attrs, role, ctx, run, False, False)
        if child.tail:
            run.texts.append((child.tail, False, False))
    if not run.is_empty():
        _flush(run, ctx, "", out)


def _inline(
    el: Element, attrs: Attrs, role: Role | None, ctx: _Ctx, run: _Run, italic: bool, bold: bool
) -> None:
    tag = el.tag
    if tag in _SKIP_TAGS or role is Role.JUNK or hidden(attrs):
        return
    if tag == "img":
        url = _image_source(attrs, ctx.base)
        if url:
            run.marks.append((len(run.texts), "img", url))
        return
    if tag == "br":
        run.marks.append((len(run.texts), "br", ""))
        return
    _inline_content(el, attrs, _kids(el, ctx), ctx, run, italic, bold)


def _inline_content(
    el: Element,
    attrs: Attrs,
    kids: list[_Kid],
    ctx: _Ctx,
    run: _Run,
    italic: bool,
    bold: bool,
) -> None:
    """An inline element's own text and its children's, with the emphasis it adds."""
    tag = el.tag
    style = attrs.get("style")
    styled_italic, styled_bold = _style_emphasis(style) if style else (False, False)
    italic = italic or tag in _ITALIC_TAGS or styled_italic
    bold = bold or tag in _BOLD_TAGS or styled_bold
    start = len(run.texts)
    if el.text:
        run.texts.append((el.text, italic, bold))
    for child, child_attrs, role in kids:
        if child_attrs is not None:
            _inline(child, child_attrs, role, ctx, run, italic, bold)
        if child.tail:
            run.texts.append((child.tail, italic, bold))
    href = attrs.get("href") if tag == "a" else None
    if href:
        _link(href, run, start, ctx.base)


def _link(href: str, run: _Run, start: int, base: str) -> None:
    href = href.strip()
    if href.startswith(("javascript:", "mailto:", "#")):
        return
    try:
        url = urljoin(base, href)
    except ValueError:
        return
    run.links.append((url, clean("".join(t for t, _, _ in run.texts[start:]))))


def _text_block(
    texts: list[tuple[str, bool, bool]], ctx: _Ctx, tag: str, links: list[tuple[str, str]]
) -> Block | None:
    text = clean("".join(t for t, _, _ in texts))
    if not has_words(text) and not links:
        return None
    worded = [(i, b) for t, i, b in texts if has_words(t)]
    return Block(
        role=ctx.role,
        text=text,
        align=ctx.align,
        italic=bool(worded) and all(i for i, _ in worded),
        bold=bool(worded) and all(b for _, b in worded),
        in_body=ctx.in_body,
        tag=tag,
        links=links,
    )


def _flush(run: _Run, ctx: _Ctx, tag: str, out: list[Block]) -> None:
    """Turn an inline run into blocks, splitting it at its images."""
    images = [(pos, url) for pos, kind, url in run.marks if kind == "img"]
    if not images:
        if not run.links and not any(not t.isspace() for t, _, _ in run.texts):
            return  # the line breaks between block elements
        block = _text_block(run.texts, ctx, tag, run.links)
        if block:
            out.append(block)
        return
    first = images[0][0]
    before = _text_block(run.texts[:first], ctx, tag, [])
    if before:
        out.append(before)
    if ctx.role not in (Role.TEXT, Role.CAPTION):
        return  # a portrait in an author box, an icon in a date line: not body images
    last = images[-1][0]
    after = run.texts[last:]
    # A break between the image and the text after it marks an inline caption.
    broken = any(kind == "br" and pos >= last for pos, kind, _ in run.marks)
    for _, url in images:
        out.append(Block(Role.IMAGE, images=[url], align=ctx.align, in_body=ctx.in_body))
    tail = _text_block(after, ctx, tag, run.links)
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
    """A small table of photos and their caption rows; False when it is not one."""
    rows = [row for row in el.iter("tr")]
    if not rows or len(rows) > 4 or not any(True for _ in el.iter("img")):
        return False
    grid: list[list[tuple[str | None, str]]] = []
    for row in rows:
        cells = []
        for cell in row:
            if cell.tag not in ("td", "th") or is_hidden(cell):
                continue
            img = next(cell.iter("img"), None)
            url = image_url(img, ctx.base) if img is not None else None
            cells.append((url, clean(all_text(cell))))
        grid.append(cells)
    texts = [text for cells in grid for url, text in cells if url is None and has_words(text)]
    if sum(len(text) for text in texts) > 400:
        return False
    images = [url for cells in grid for url, _ in cells if url]
    captions = _pair_captions(grid, len(images))
    for url, caption in zip(images, captions, strict=True):
        out.append(Block(Role.IMAGE, images=[url], caption=caption, in_body=ctx.in_body))
    return True


def _pair_captions(grid: list[list[tuple[str | None, str]]], count: int) -> list[str | None]:
    """Captions by column when a row of photos sits over a row of texts, else one for the last."""
    for upper, lower in itertools.pairwise(grid):
        photos = [url for url, _ in upper if url]
        if len(photos) == count > 1 and len(lower) == len(upper):
            return [text if has_words(text) else None for _, text in lower]
    texts = [text for cells in grid for url, text in cells if url is None and has_words(text)]
    caption = " ".join(texts) or None
    return [None] * (count - 1) + [caption] if count else []
