"""The article extractor: a pure function of a ``Page`` (url, body bytes, headers).

The live crawl, ``fetch`` and ``extract`` all call ``parse_article`` so the same bytes give the
same item. It never raises: bad input yields ``ArticleResult(None, reason)``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import lxml.etree

from crawler.items import ArticleContent, Attachment, ImageRef
from crawler.parsers.blocks import (
    Block,
    Element,
    Role,
    all_text,
    class_role,
    is_hidden,
    walk,
    walk_body,
)
from crawler.parsers.byline import (
    is_labelled_author,
    is_source_line,
    looks_like_byline,
    looks_like_caption,
    strip_template_label,
)
from crawler.parsers.dates import (
    PageDate,
    find_date,
    image_upload_time,
    is_date_line,
    is_update_label,
    structured_date,
)
from crawler.parsers.layout import (
    Layout,
    Menu,
    around,
    category_of,
    cut_off,
    find_breadcrumbs,
    find_title,
    locate,
    prose_length,
    pushed_out,
    visible_text,
)
from crawler.parsers.page import Page
from crawler.parsers.text import clean, has_words, same_text
from crawler.urls import joined

logger = logging.getLogger(__name__)

# Frames the block walk may use on a deeply nested page: some 30,000 levels of elements.
_DEEP_RECURSION_LIMIT = 100_000
MAX_BYTES = 64 * 1024 * 1024
"""Pages larger than this (after dropping inline data URIs) are not parsed: Scrapy's download
limit as the crawl sets it (``DOWNLOAD_MAXSIZE``), for bodies read back from other archives."""
_DATA_URI = re.compile(rb"""data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]{256,}""")
_MAGIC = (
    b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"Rar!",
    b"7z\xbc\xaf", b"ID3", b"OggS", b"RIFF", b"\x00\x00\x01\x00", b"MZ", b"\xd0\xcf\x11\xe0",
)  # fmt: skip
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])
_NOT_FOUND = re.compile(
    r"tài sản không thể được tìm thấy|the asset could not be found|không tìm thấy (?:trang|bài viết"
    r"|nội dung|tài sản)|(?:trang|bài viết|nội dung) (?:này )?không tồn tại|page not found"
    r"|404 not found|đã bị (?:xóa|xoá|gỡ bỏ)",
    re.IGNORECASE,
)
_ALERTS = lxml.etree.XPath(
    "//*[contains(@class, 'alert') or contains(@class, 'portlet-msg') or contains(@class, 'error')"
    " or contains(@class, 'not-found') or contains(@class, 'notfound')]"
)
_STOP = re.compile(
    r"^(?:các\s+)?(?:tin|bài(?:\s+viết)?|tin\s+tức)\s+(?:khác|liên\s+quan|cùng\s+(?:chuyên\s+mục"
    r"|chủ\s+đề|lĩnh\s+vực|loại)|mới(?:\s+hơn)?|cũ(?:\s+hơn)?|đã\s+đưa|xem\s+nhiều|nổi\s+bật)"
    r"|^(?:ý\s+kiến\s+bạn\s+đọc|bình\s+luận|gửi\s+(?:ý\s+kiến|bình\s+luận)|xem\s+thêm)\s*:?$",
    re.IGNORECASE,
)
_CHROME_LINE = re.compile(
    r"^(?:[|\s/·•\[\]()<>«»-]*(?:in bài(?: viết)?|in trang|bản in|in|gửi e-?mail|gửi bài|e-?mail"
    r"|chia sẻ|lưu(?: tin)?|quay lại|trở về|về đầu trang|đầu trang|print|share|back"
    r"|xuất bản thông tin|phóng to|thu nhỏ|cỡ chữ|a\+|a-|nghe đọc bài)[|\s/·•\[\]()<>«»-]*)+$"
    r"|^(?:số\s+)?lượt\s+(?:xem|đọc|truy\s+cập)\s*:?\s*[\d.,]+$|^[\d.,]+\s+lượt\s+(?:xem|đọc)$"
    r"|^(?:từ\s+khóa|từ\s+khoá|tags?)\s*:"
    # Joomla's article-info box: its heading, and the category line.
    r"|^chi\s+tiết$|^(?:chuyên\s+mục|danh\s+mục|category)(?:\s*:|\s[^.]{1,50}$)"
    r"|^(?:(?:tập\s+tin|tệp|file|văn\s+bản|tài\s+liệu)\s+)?đính\s+kèm\s*:?$|^tải\s+về\s*:?$",
    re.IGNORECASE,
)
_FILE_EXT = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|odt|ods|odp|rtf|zip|rar|7z|txt|csv)$", re.I)
_IMAGE_EXT = re.compile(r"\.(?:jpe?g|png|gif|webp|bmp|svg|tiff?)$", re.IGNORECASE)
_ATTACHMENT_LABEL = re.compile(
    r"(?:tải\s+về|tải\s+xuống|tập\s+tin\s+đính\s+kèm|tệp\s+đính\s+kèm|file\s+đính\s+kèm"
    r"|văn\s+bản\s+đính\s+kèm|đính\s+kèm|tài\s+liệu|tệp\s+tin|download|xem\s+chi\s+tiết|xem"
    r"|file|tại\s+đây)",
    re.IGNORECASE,
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
_MAY_HOLD_DATE_LINE = frozenset({Role.TEXT, Role.SUMMARY})

# Class substrings of elements that may hold the asset's dates (the role check then decides).
_DATE_HINTS = ("date", "time", "ngay", "created")
_HOME = re.compile(r"^(?:trang\s+chủ|trang\s+nhất|home)$", re.IGNORECASE)
_SUMMARY_MIN = 50
_LOOSE_SUMMARY_MIN = 80
_LISTING_LINK_SHARE = 0.5
_THIN_BODY = 150
_LOSSES = frozenset({"body-unread", "unparseable", "too-deep", "too-large"})


@dataclass(frozen=True, slots=True)
class ArticleResult:
    """An article, or why the page is not one."""

    content: ArticleContent | None
    """None when the page is not an article."""
    reason: str | None
    """Why not: ``soft-404``, ``not-article``, ``empty-body``, ``binary``, ``too-large``,
    ``too-deep``, ``unparseable``, ``body-unread`` (an article whose body holds text the
    parser could not read: never passed off as an article without one); None when content
    is set."""


def _fail(reason: str, page: Page) -> ArticleResult:
    # A page whose article text is lost is worth a look, unlike the pages that are no article.
    level = logging.WARNING if reason in _LOSSES else logging.INFO
    logger.log(level, "no article at %s: %s", page.url, reason)
    return ArticleResult(None, reason)


def parse_article(page: Page) -> ArticleResult:
    """Read one article page; never raises."""
    try:
        try:
            return _parse(page)
        except RecursionError:
            return _parse_deep(page)
    except Exception:  # the contract is "any bytes in, a result out": log, never crash the crawl
        logger.exception("article parser failed on %s", page.url)
        return ArticleResult(None, "unparseable")


def _parse_deep(page: Page) -> ArticleResult:
    """``_parse`` with room for a tree nested thousands deep (unclosed tags of Word pastes).

    The block walk recurses once or twice per level of the tree; Python 3.11 and later keep
    Python-to-Python calls off the C stack, so the room is only the frames' memory. Ordinary
    pages never come here: the limit is raised for the one page that needs it.
    """
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _DEEP_RECURSION_LIMIT))
    try:
        return _parse(page)
    except RecursionError:
        return _fail("too-deep", page)
    finally:
        sys.setrecursionlimit(limit)


def _parse(page: Page) -> ArticleResult:
    body = page.body
    if not body or body.isspace():
        return _fail("empty-body", page)
    if _is_binary(body):
        return _fail("binary", page)
    if len(body) > MAX_BYTES:
        # Word pastes can inline whole photos as base64: the text around them still counts.
        body = _DATA_URI.sub(b"data:,", body)
        if len(body) > MAX_BYTES:
            return _fail("too-large", page)
        page = Page(page.url, body, page.headers)
    tree = page.document
    if tree is None:
        return _fail("unparseable", page)
    if page.cut_short:
        return _fail("too-deep", page)
    layout = locate(tree)
    # An article widget that renders is no error page; only look for the alert otherwise.
    if (layout is None or not layout.known) and _shows_not_found(tree):
        return _fail("soft-404", page)
    if layout is None:
        return _fail(_no_layout_reason(tree), page)
    return _article(page, tree, layout)


def _is_binary(body: bytes) -> bool:
    head = body[:1024]
    if head.startswith(_UTF16_BOMS):
        return False
    # Binary formats hold runs of NUL bytes; a stray one in a text page (a CMS bug) does not
    # make it binary.
    if head.lstrip().startswith(_MAGIC) or b"\x00\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > len(head) // 10


def _shows_not_found(tree: Element) -> bool:
    """Liferay answers a missing asset with HTTP 200 and an alert box."""
    return any(_NOT_FOUND.search(all_text(el)) for el in _ALERTS(tree))


def _no_layout_reason(tree: Element) -> str:
    text = clean(all_text(tree))
    if _NOT_FOUND.search(text):
        return "soft-404"
    return "not-article" if has_words(text) else "empty-body"


@dataclass(slots=True)
class _Draft:
    """The article as it is being assembled from blocks."""

    title: str
    summary: list[str] = field(default_factory=list)
    flow: list[Block] = field(default_factory=list)
    byline: str | None = None
    authors: list[str] = field(default_factory=list)
    dates: list[tuple[PageDate, bool]] = field(default_factory=list)
    attachments: dict[str, str] = field(default_factory=dict)
    trail: list[str] = field(default_factory=list)


def _article(page: Page, tree: Element, layout: Layout) -> ArticleResult:
    menu = Menu(tree)
    title = find_title(layout, tree, menu)
    stray = page.stray_end_tags
    blocks = walk(layout.root, page.url, layout.body)
    blocks += walk_body(cut_off(layout, past_widget=stray), page.url)
    blocks = _until_stop(blocks)
    if not title:
        return _fail(_empty_reason(layout), page)
    # A page titled like an entry of the site's menu is that section's page (home, listing,
    # introduction), whatever its generation: an article's title is never a menu entry.
    if menu.names(title) or _lists_entries(blocks):
        return _fail("not-article", page)
    draft = _Draft(title=title)
    _sort_blocks(blocks, draft)
    _take_summary(draft)
    _take_byline(draft)
    _attach_captions(draft)
    # Text the template puts around the body (widget labels, boxes) is not the article's.
    paragraphs = [b.text for b in draft.flow if b.role is Role.TEXT and b.in_body and b.text]
    summary = " ".join(draft.summary) or None
    if summary:
        paragraphs = [p for p in paragraphs if p != summary]
    images = [ImageRef(b.images[0], b.caption) for b in draft.flow if b.role is Role.IMAGE]
    # Only where the page names its article: elsewhere a page with no paragraph read is
    # taken for a listing or a home page, whose linked lines are no prose.
    if layout.known and not paragraphs and _unread_prose(layout, summary, images):
        return _fail("body-unread", page)
    if not (paragraphs or images or draft.attachments or summary):
        return _fail(_empty_reason(layout), page)
    if not layout.known and _reads_like_listing(blocks, paragraphs):
        return _fail("not-article", page)
    content = ArticleContent(
        title=title,
        summary=summary,
        paragraphs=paragraphs,
        captions=[image.caption for image in images if image.caption],
        images=images,
        byline=draft.byline or next(iter(draft.authors), None),
        attachments=[Attachment(url, name) for url, name in draft.attachments.items()],
        charset=page.charset,
        encoding_note=page.encoding_note,
    )
    _set_dates(content, draft, layout, page, stray)
    content.breadcrumbs = find_breadcrumbs(layout, tree, title) or draft.trail
    content.category = category_of(content.breadcrumbs)
    return ArticleResult(content, None)


def _unread_prose(layout: Layout, summary: str | None, images: list[ImageRef]) -> bool:
    """Whether the body holds paragraph text that neither the lead nor a caption accounts
    for, though no paragraph was read: markup the parser could not follow, not a photo-only
    article or a notice of attachments."""
    read = len(summary or "") + sum(len(image.caption or "") for image in images)
    return prose_length(layout.body) - read >= _THIN_BODY


def _lists_entries(blocks: list[Block]) -> bool:
    """Headings that are links to other pages, two or more: a listing's entries, not an
    article (whose heading is its own: at most a back arrow beside it is a link).

    Read from the blocks of the page's main part, so the related-news boxes an article may
    carry (cut at their "Tin liên quan" heading, or skipped for their class) do not count.
    """
    linked = 0
    for block in blocks:
        if block.links and (block.tag in _HEADINGS or block.role is Role.TITLE):
            # A back arrow's hidden label is a few letters beside a whole title.
            carried = sum(len(name) for url, name in block.links if _is_page(url))
            if 2 * carried >= len(block.text) > 0:
                linked += 1
                if linked >= 2:
                    return True
    return False


def _is_page(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def _empty_reason(layout: Layout) -> str:
    if layout.known or _NOT_FOUND.search(visible_text(layout.root)):
        return "soft-404"
    return "not-article"


def _reads_like_listing(blocks: list[Block], paragraphs: list[str]) -> bool:
    text = sum(len(p) for p in paragraphs)
    linked = sum(len(name) for b in blocks for _, name in b.links)
    return text < _THIN_BODY or linked > _LISTING_LINK_SHARE * text


def _until_stop(blocks: list[Block]) -> list[Block]:
    """Blocks before a "Các tin khác"-style heading: what follows is the portal's."""
    for index, block in enumerate(blocks):
        if block.text and len(block.text) <= 60 and _STOP.match(block.text):
            return blocks[:index]
    return blocks


def _sort_blocks(blocks: list[Block], draft: _Draft) -> None:
    """Route each block: dates, authors, summary and chrome out; body blocks into the flow."""
    for block in blocks:
        role, text = block.role, block.text
        if role in (Role.TITLE, Role.BREADCRUMB):
            continue
        # A date line is a date whatever box holds it (templates put stamps in lead boxes).
        if role is Role.DATE or (role in _MAY_HOLD_DATE_LINE and is_date_line(text)):
            found = find_date(text)
            if found:
                draft.dates.append((found, is_update_label(text)))
            continue
        if role is Role.AUTHOR:
            if text and not is_date_line(text):
                draft.authors.append(strip_template_label(text))
            continue
        if role is Role.SUMMARY:
            if text:
                draft.summary.append(text)
            continue
        if role in (Role.TEXT, Role.CAPTION) and _is_chrome_text(block, draft.title):
            continue
        if _take_attachments(block, draft) or _take_link_trail(block, draft):
            continue
        draft.flow.append(block)


def _is_chrome_text(block: Block, title: str) -> bool:
    text = block.text
    return same_text(text, title) or bool(_CHROME_LINE.match(text))


def _is_file(url: str) -> bool:
    parts = urlsplit(url)
    path = unquote(parts.path)
    segments = [s for s in path.split("/") if s]
    if any(_FILE_EXT.search(s) for s in segments):
        return True
    if "/c/document_library/get_file" in path or _is_download(path, parts.query):
        return True
    return path.startswith("/documents/") and not any(_IMAGE_EXT.search(s) for s in segments)


def _is_download(path: str, query: str) -> bool:
    """The download handlers of earlier portals: DotNetNuke's ``LinkClick.aspx?fileticket=``,
    SharePoint's ``download.aspx?SourceUrl=…pdf``."""
    if path.lower().endswith("/linkclick.aspx") and "fileticket=" in query.lower():
        return True
    return path.lower().endswith("/download.aspx") and bool(_FILE_EXT.search(unquote(query)))


def _file_name(url: str) -> str:
    segments = [s for s in unquote(urlsplit(url).path).split("/") if s]
    named = [s for s in segments if _FILE_EXT.search(s)]
    return clean((named or segments or [url])[-1])


def _take_attachments(block: Block, draft: _Draft) -> bool:
    """Record a block's file links; True when the block is nothing but those links."""
    files = [(url, name) for url, name in block.links if _is_file(url)]
    if not files:
        return False
    for url, name in files:
        draft.attachments.setdefault(url, name if has_words(name) else _file_name(url))
    rest = block.text
    for _, name in files:
        rest = rest.replace(name, " ", 1)
    rest = _ATTACHMENT_LABEL.sub(" ", rest)
    return not has_words(rest) and not block.images


def _take_link_trail(block: Block, draft: _Draft) -> bool:
    """A line of nothing but links outside the body: a breadcrumb without a class, or tools."""
    if block.in_body or len(block.links) < 2:
        return False
    rest = block.text
    for _, name in block.links:
        rest = rest.replace(name, " ", 1)
    if has_words(rest):
        return False
    names = [name for _, name in block.links if name]
    if not draft.trail and names and _HOME.match(names[0]):
        draft.trail = names
    return True


def _take_summary(draft: _Draft) -> None:
    """A lead without a class: the first text block, bold or italic throughout, before any photo."""
    if draft.summary:
        return
    for index, block in enumerate(draft.flow):
        if block.role is not Role.TEXT:
            return
        if not block.in_body:
            if len(block.text) >= _LOOSE_SUMMARY_MIN or _emphasised_lead(block):
                draft.summary.append(block.text)
                del draft.flow[index]
                return
            continue
        if _emphasised_lead(block):
            draft.summary.append(block.text)
            del draft.flow[index]
        return


def _emphasised_lead(block: Block) -> bool:
    return (
        (block.bold or block.italic)
        and len(block.text) >= _SUMMARY_MIN
        and block.align not in ("center", "right")
    )


def _take_byline(draft: _Draft) -> None:
    """The trailing author line of the body, or a labelled author/source line after it."""
    texts = [i for i, b in enumerate(draft.flow) if b.role is Role.TEXT]
    if len(texts) > 1 and _is_trailing_byline(draft.flow, texts[-1]):
        draft.byline = strip_template_label(draft.flow[texts[-1]].text)
        del draft.flow[texts[-1]]
    _drop_outside_labels(draft)


def _is_trailing_byline(flow: list[Block], index: int) -> bool:
    block = flow[index]
    if not looks_like_byline(block):
        return False
    previous = flow[index - 1] if index else None
    # Right after an uncaptioned photo, a centred or italic line is that photo's caption.
    follows_photo = previous is not None and previous.role is Role.IMAGE and not previous.caption
    return not (follows_photo and looks_like_caption(block))


def _drop_outside_labels(draft: _Draft) -> None:
    """``Tác giả:`` and ``Nguồn:`` lines outside the body are the template's author block."""
    kept: list[Block] = []
    for block in draft.flow:
        text = block.text
        if block.role is Role.TEXT and not block.in_body and is_labelled_author(text):
            draft.authors.insert(0, strip_template_label(text))
        elif block.role is Role.TEXT and not block.in_body and is_source_line(text):
            draft.authors.append(text)
        else:
            kept.append(block)
    draft.flow = kept
    if draft.byline is None and draft.authors:
        draft.byline = _preferred_author(draft.authors)


def _preferred_author(authors: list[str]) -> str:
    """A named author over a source line."""
    named = [a for a in authors if a and not is_source_line(a)]
    return (named or authors)[0]


def _attach_captions(draft: _Draft) -> None:
    """Give each uncaptioned photo the caption line that follows it."""
    kept: list[Block] = []
    for block in draft.flow:
        previous = kept[-1] if kept else None
        uncaptioned = previous is not None and previous.role is Role.IMAGE and not previous.caption
        if uncaptioned and looks_like_caption(block):
            previous.caption = block.text
            continue
        if block.role is Role.CAPTION:
            continue  # a caption class with no photo before it: the photo was not kept
        kept.append(block)
    draft.flow = kept


def _set_dates(
    content: ArticleContent, draft: _Draft, layout: Layout, page: Page, stray: bool
) -> None:
    dates = draft.dates + _scope_dates(layout)
    if not dates and stray:
        # Stray closers that close the widget early push its date line out of it.
        dates = _dates_in(pushed_out(layout))
    if not dates:
        dates = _own_times(layout, page.url)
    found = _pick_date(dates)
    if found:
        content.published, content.published_source = found.iso(), "page"
        return
    # Structured data is the CMS's claim, not what the reader saw: used only where the page
    # shows no date, never over one it shows.
    declared = structured_date(page.tree, page.body)
    if declared:
        content.published, content.published_source = declared.iso(), "metadata"
        return
    for image in content.images:
        uploaded = image_upload_time(image.url)
        if uploaded:
            content.published, content.published_source = uploaded.iso(), "image"
            return


def _scope_dates(layout: Layout) -> list[tuple[PageDate, bool]]:
    """Date elements beside the article widget (Liferay's asset metadata), not in listings."""
    if layout.scope is layout.root:
        return []
    return _dates_in(around(layout.scope, layout.root))


def _dates_in(elements: Iterable[Element]) -> list[tuple[PageDate, bool]]:
    """The dates of those ``elements`` named as date elements, outside lists and links."""
    found: list[tuple[PageDate, bool]] = []
    for el in elements:
        if not _may_hold_date(el) or class_role(el) is not Role.DATE:
            continue
        if is_hidden(el) or any(a.tag in ("li", "a") for a in el.iterancestors()):
            continue
        text = visible_text(el)
        date = find_date(el.get("datetime") or text)
        if date:
            found.append((date, is_update_label(text)))
    return found


def _own_times(layout: Layout, url: str) -> list[tuple[PageDate, bool]]:
    """The article's ``<time>`` elements above or below its text, where the walk saw none:
    WordPress-style templates put them in the permalink (``<a rel="bookmark">``), run
    together with the update time. Their text is what the page shows; ``datetime`` only
    stands in for a text without a date."""
    found: list[tuple[PageDate, bool]] = []
    for el in layout.root.iter("time"):
        if is_hidden(el) or _in_other_link(el, layout.root, url):
            continue
        if any(a is layout.body for a in el.iterancestors()):
            continue
        text = visible_text(el)
        date = find_date(text) or find_date(el.get("datetime") or "")
        if date:
            update = is_update_label(f"{text} {el.get('class') or ''}")
            found.append((date, update))
    return found


def _in_other_link(el: Element, root: Element, url: str) -> bool:
    """Inside a list item, or a link to another page than the article's own."""
    for ancestor in el.iterancestors():
        if ancestor is root:
            return False
        if ancestor.tag == "li":
            return True
        if ancestor.tag == "a" and ancestor.get("rel") != "bookmark":
            href = (ancestor.get("href") or "").strip()
            target = joined(url, href) if href else None
            if target is not None and target.rstrip("/") != url.rstrip("/"):
                return True
    return False


def _may_hold_date(el: Element) -> bool:
    """Worth the role check: a ``<time>``, an ``itemprop``, or a class that hints at a date."""
    if el.tag == "time" or el.get("itemprop") is not None:
        return True
    cls = el.get("class")
    return cls is not None and any(hint in cls for hint in _DATE_HINTS)


def _pick_date(dates: list[tuple[PageDate, bool]]) -> PageDate | None:
    """The publication date: not an update stamp; with its time when another line shows it."""
    primary = [d for d, update in dates if not update] or [d for d, _ in dates]
    if not primary:
        return None
    first = primary[0]
    if first.clock is None:
        return next((d for d in primary if d.day == first.day and d.clock), first)
    return first
