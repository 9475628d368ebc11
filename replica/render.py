# ruff: noqa: E501
"""HTML of the portal's pages in the ``dtp`` theme (Liferay 7.2/7.3) and its 7.0/7.1 variant.

The templates keep the portal's own long lines, hence the file-wide E501 exemption.
Pages that embed the URL they were requested at (``redirect=`` links) are rendered with
:data:`CUR` in its place; the server substitutes the encoded request URL per request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from html import escape
from urllib.parse import quote

from replica import content
from replica.catalog import TZ, Article, Catalog, listing_path
from replica.sites import ASSET_PUBLISHER, BY_CODE, DETAIL_INSTANCE, GENERATED_SITES, SITES, Site

CUR = "\x00cur\x00"
"""Stands for the percent-encoded URL of the current request."""
DELTAS = (5, 10, 20, 40, 60)
FAULT_LINKS = ("/documents/huge",)
_DETAIL = ASSET_PUBLISHER + DETAIL_INSTANCE
_POLL = "com_liferay_polls_web_portlet_PollsDisplayPortlet_INSTANCE_pollDtp0001"
_OTHERS = ASSET_PUBLISHER + "kH7rTq2WbZxv"
_HOST_HREF = re.compile(rb'((?:href|src)=")https://(?:[a-z0-9-]+\.)?dongthap\.gov\.vn')
_NAV = (
    ("/trang-chu", "Trang chủ"),
    ("/gioi-thieu", "Giới thiệu"),
    (None, "Tin tức"),
    ("/thong-bao", "Thông báo"),
    ("/van-ban", "Văn bản chỉ đạo điều hành"),
    ("/lien-he", "Liên hệ"),
    ("/lich-cong-tac", "Lịch công tác"),
)


def esc(text: str) -> str:
    return escape(text, quote=True)


def rewrite_hosts(html: bytes, base: str) -> bytes:
    """Point the portal's absolute links at the replica; every other byte stays as it was."""
    target = base.encode("ascii")
    return _HOST_HREF.sub(lambda m: m.group(1) + target, html)


def portlet_url(base: str, path: str, pid: str, **params: str | int) -> str:
    """A Liferay render URL for portlet ``pid`` with namespaced parameters."""
    query = f"p_p_id={pid}&p_p_lifecycle=0&p_p_state=normal&p_p_mode=view"
    for name, value in params.items():
        query += f"&_{pid}_{name}={value}" if name != "resetCur" else f"&p_r_p_resetCur={value}"
    return f"{base}{path}?{query}"


def paging_url(base: str, path: str, pid: str, delta: int, cur: int) -> str:
    return portlet_url(base, path, pid, delta=delta, resetCur="false", cur=cur)


def _session_id(asset_id: int) -> str:
    return "ABC123" + hashlib.sha1(str(asset_id).encode()).hexdigest()[:26].upper()


class Renderer:
    """Renders every HTML page of the replica for one base URL and catalogue."""

    def __init__(self, catalog: Catalog, base: str, link_faults: bool = False) -> None:
        self.catalog = catalog
        self.base = base
        self.link_faults = link_faults

    # -- chrome ---------------------------------------------------------------------------

    def page(
        self,
        site: Site,
        title: str,
        heading: str,
        main: str,
        description: str = "",
        article: Article | None = None,
    ) -> str:
        base, prefix = self.base, site.prefix
        nav = "\n".join(
            f'  <li><a href="{base}{prefix}{path or "/tin-tuc?plidlayout=" + str(site.plid)}">'
            f"<span>{label}</span></a></li>"
            for path, label in _NAV
        )
        search = f"{base}{prefix}/tim-kiem"
        return f"""<!DOCTYPE html>
<html class="ltr" dir="ltr" lang="vi-VN">
<head>
<meta content="text/html; charset=UTF-8" http-equiv="content-type" />
<title>{esc(title)} - {esc(site.name)}</title>
<meta name="description" content="{esc(description or title)}" />

<link href="{base}/o/dongthap-theme/images/favicon.ico" rel="icon" />
<link href="/o/dongthap-theme/css/main.css?browserId=other&amp;themeId=dongthaptheme_WAR_dongthaptheme&amp;minifierType=css" rel="stylesheet" type="text/css" />
<script src="/combo?browserId=other&amp;minifierType=&amp;languageId=vi_VN&amp;b=7210&amp;/o/frontend-js-web/liferay/aui_sandbox.js" type="text/javascript"></script>
<script type="text/javascript">var themeDisplay = Liferay.ThemeDisplay = {{getLanguageId: function() {{return "vi_VN";}}, getPathMain: function() {{return "/c";}}}};</script>
</head>
<body class="controls-visible chrome yui3-skin-sam signed-out public-page site">
<div class="d-flex flex-column min-vh-100">
<div class="quick-access-nav" id="ixsu_quickAccessNav"><h1 class="hide-accessible">Điều hướng</h1><ul><li><a href="#main-content">Truy cập nội dung luôn</a></li></ul></div>
<header id="banner" role="banner">
 <div class="top-bar"><span class="today">Thứ năm, 26/11/2026</span> <a href="/c/portal/login?p_l_id=20183">Đăng nhập</a></div>
 <div class="logo"><a href="{base}{prefix}"><img alt="{esc(site.name)}" src="/image/layout_set_logo?img_id=23312&amp;t=1700000000000" /><span class="site-name">Cổng thông tin điện tử {esc(site.name)}</span></a></div>
 <nav class="navbar" id="navigation" role="navigation"><ul aria-label="Các trang của trang web" role="menubar">
{nav}
 </ul></nav>
 <form action="{search}" class="search-form" method="get"><input name="q" placeholder="Tìm kiếm" type="text" /> <a class="search-link" href="{search}?q=tin+t%E1%BB%A9c">Tìm kiếm</a></form>
</header>
<section class="container-fluid flex-fill" id="content">
<h2 class="hide-accessible" role="heading" aria-level="1">{esc(heading)}</h2>
<div class="columns-2-1" id="main-content" role="main"><div class="portlet-layout row">
<div class="col-md-8 portlet-column portlet-column-first" id="column-1">
{main}
</div>
<div class="col-md-4 portlet-column portlet-column-last" id="column-2">
{self.sidebar(site, article)}
</div>
</div></div>
</section>
<footer id="footer" role="contentinfo">
 <p>Cơ quan chủ quản: Ủy ban nhân dân {esc(site.name)}</p>
 <p>Chịu trách nhiệm chính: Chánh Văn phòng HĐND và UBND {esc(site.name)}</p>
 <p>Ghi rõ nguồn "Cổng thông tin điện tử {esc(site.name)}" khi phát hành lại thông tin từ website này.</p>
 <p><a href="{base}/sitemap.xml">Sơ đồ trang</a></p>
</footer>
</div>
</body>
</html>
"""

    def sidebar(self, site: Site, article: Article | None = None) -> str:
        items = "".join(self._other_item(a, k) for k, a in enumerate(self._others(site, article)))
        base, prefix = self.base, site.prefix
        poll_page = f"{prefix}/trang-chu"
        action = f"{base}{poll_page}?p_p_id={_POLL}&amp;p_p_lifecycle=1&amp;p_p_state=normal"
        action += (
            f"&amp;p_p_mode=view&amp;_{_POLL}_javax.portlet.action=%2Fpolls_display%2Fedit_entry"
        )
        votes = "".join(
            f'<li><a href="{action}&amp;_{_POLL}_choiceId={n}">{label}</a></li>'
            for n, label in ((1, "Đẹp, dễ sử dụng"), (2, "Bình thường"), (3, "Khó sử dụng"))
        )
        states = f"{base}{poll_page}?p_p_id={_POLL}&amp;p_p_lifecycle="
        faults = "".join(f'<a href="{base}{p}">{p}</a> ' for p in FAULT_LINKS)
        return f""" <div class="portlet-boundary portlet-boundary_com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_ portlet-static" id="p_p_id_{_OTHERS}_">
 <section class="portlet"><div class="portlet-content"><div class="portlet-header"><h2 class="portlet-title-text">Các tin khác</h2></div>
 <div class="portlet-body"><ul class="other-news">{items}</ul></div></div></section></div>
 <div class="banner-links"><a href="https://dichvucong.gov.vn"><img alt="Cổng dịch vụ công quốc gia" src="/documents/{site.group_id}/0/dvc.png" /></a>
 <a href="{base}/"><img alt="Cổng thông tin điện tử tỉnh Đồng Tháp" src="/documents/{site.group_id}/0/ctt.png" /></a></div>
 <div class="poll"><h3>Thăm dò ý kiến</h3><p>Bạn đánh giá thế nào về giao diện mới của trang thông tin?</p>
 <ul class="poll-choices">{votes}</ul>
 <a href="{states}0&amp;p_p_state=pop_up&amp;p_p_mode=view&amp;_{_POLL}_mvcPath=%2Fpolls_display%2Fview_results.jsp">Xem kết quả</a>
 <a href="{states}2&amp;p_p_state=normal&amp;p_p_mode=view&amp;p_p_resource_id=%2Fpolls%2Fchart&amp;p_p_cacheability=cacheLevelPage">Biểu đồ</a>
 <a href="{states}0&amp;p_p_state=exclusive&amp;p_p_mode=view">Bình chọn nhanh</a>
 <a href="{states}0&amp;p_p_state=normal&amp;p_p_mode=edit">Cấu hình</a></div>
 {'<div class="test-faults">' + faults + "</div>" if self.link_faults else ""}"""

    def _others(self, site: Site, article: Article | None) -> list[Article]:
        if article is not None and not article.missing:
            picked = self.catalog.neighbours(article, 5)
            rank = self.catalog.age_rank(article)
        else:
            picked = [a for a in self.catalog.listing(site, False)[:5] if not a.missing]
            rank = 0
        others = [s for s in GENERATED_SITES if s is not site]
        listing = self.catalog.listing(others[rank % len(others)], False)
        foreign = [a for a in listing if not a.missing]
        if foreign:
            # Counted from the oldest, so articles added on top do not shift the pick.
            picked.append(foreign[-1 - rank % len(foreign)])
        return picked

    def _other_item(self, article: Article, k: int) -> str:
        title, _, _ = self.catalog.summary(article)
        url = self.base + article.path
        if k % 3 == 1:
            url += "&amp;redirect=" + CUR
        elif k % 3 == 2 and k < 5:
            path, _, query = url.partition("?")
            url = f"{path};jsessionid={_session_id(article.asset_id)}?{query}"
        date = article.published.strftime("%d/%m/%Y")
        return f'<li><a href="{url}">{esc(title)}</a> <span class="date">({date})</span></li>'

    # -- articles -------------------------------------------------------------------------

    def article(self, article: Article) -> str:
        body = self.catalog.body(article)
        site, base = article.site, self.base
        url = base + article.path
        dtp71 = article.theme == "dtp71"
        back = f"{base}{site.prefix}/chi-tiet-bai-viet?p_p_id={_DETAIL}&amp;p_p_lifecycle=0&amp;redirect={CUR}"
        icon = '<svg class="lexicon-icon lexicon-icon-angle-left" focusable="false" role="presentation"><use xlink:href="/o/dongthap-theme/images/clay/icons.svg#angle-left"></use></svg><span class="taglib-text hide-accessible">null</span>'
        title = esc(body.title)
        if dtp71:
            header = f'<div class="h2"><span class="header-back-to"><a href="{back}">{icon}</a></span><span class="header-title">{title}</span></div>'
            actions = f'\n<div class="asset-user-actions"><div class="print-action"><a href="{url}&amp;_{_DETAIL}_viewMode=print" title="In">In</a></div></div>'
            metadata = f'<div class="asset-metadata"><span class="metadata-entry metadata-publish-date">Ngày đăng: {article.published:%d/%m/%Y}</span> <span class="metadata-entry metadata-view-count">{article.asset_id % 997} Lượt xem</span></div>'
        else:
            header = f'<div class="mb-2"><h4 class="component-title"><span class="header-back-to"><a href="{back}">{icon}</a></span><span class="asset-title d-inline">{title}</span><span class="d-inline-flex"></span></h4></div>'
            actions = metadata = ""
        date = (
            f'<div class="date-detail">{article.published:%H:%M %d/%m/%Y}</div>'
            if not site.code
            else ""
        )
        path, _, query = url.partition("?")
        sapo = (
            f'\n<div class="sapo"><strong>{esc(body.summary)}</strong></div>'
            if body.summary
            else ""
        )
        main = f"""<div class="portlet-boundary portlet-boundary_com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_ portlet-static portlet-static-end portlet-barebone portlet-asset-publisher" id="p_p_id_{_DETAIL}_">
<span id="p_{_DETAIL}"></span>
<section class="portlet" id="portlet_{_DETAIL}">
<div class="portlet-content">
<div class="autofit-float autofit-row portlet-header"><div class="autofit-col autofit-col-expand"><h2 class="portlet-title-text">Xuất bản thông tin</h2></div></div>
<div class=" portlet-content-container"><div class="portlet-body">
<div class="asset-full-content clearfix mb-5 default-asset-publisher show-asset-title">
{header}
<span class="asset-anchor lfr-asset-anchor" id="{article.asset_id}"></span>{actions}
<div class="asset-content mb-3">
<div class="journal-content-article " data-analytics-asset-id="{article.asset_id - 17}" data-analytics-asset-title="{title}" data-analytics-asset-type="web-content">
<div class="breadcrumb-detail"><a href="{base}{site.prefix}/trang-chu">Trang chủ</a> <a href="{base}{listing_path(site, article.notice)}">{esc(body.category)}</a></div>
<h3 class="title-detail">{title}</h3>
{date}
<div class="tools-detail"><a href="{url}&amp;_{_DETAIL}_viewMode=print" title="In bài viết"><i class="fa fa-print"></i></a> | <a href="{path}/maximized?{query}" title="Phóng to"><i class="fa fa-expand"></i></a> | <a href="mailto:?subject=" title="Gửi email"><i class="fa fa-envelope"></i></a> | <a href="https://www.facebook.com/sharer/sharer.php?u={url}" title="Chia sẻ"><i class="fa fa-facebook"></i></a> |</div>{sapo}
<div class="content-detail">
{self._content(body, dtp71)}
</div>
</div>
</div>
</div>
</div></div>
</div>
{metadata}</section>
</div>"""
        description = body.summary or body.title
        return self.page(site, body.title, "Chi tiết bài viết", main, description, article)

    @staticmethod
    def _content(body: content.Body, dtp71: bool) -> str:
        out = []
        for k, paragraph in enumerate(body.paragraphs):
            out.append(f'<p style="text-align: justify;">{esc(paragraph)}</p>')
            if k < len(body.images):
                src, caption = body.images[k]
                if dtp71:
                    out.append(
                        f'<figure class="image"><img alt="" src="{esc(src)}" width="600" />'
                        f"<figcaption>{esc(caption)}</figcaption></figure>"
                    )
                else:
                    out.append(
                        f'<p style="text-align: center;"><img alt="" src="{esc(src)}" '
                        f'style="width: 600px; height: 400px;" /></p>\n'
                        f'<p style="text-align: center;"><em>{esc(caption)}</em></p>'
                    )
        out.extend(
            f'<p>Tải về: <a href="{esc(src)}">{esc(title)}</a></p>'
            for src, title in body.attachments
        )
        if body.byline:
            inner = f"<strong>{esc(body.byline)}</strong>"
            out.append(
                f'<p style="text-align: right;">{"<em>" + inner + "</em>" if dtp71 else inner}</p>'
            )
        return "\n".join(out)

    def broken(self, article: Article) -> str:
        """The article with markup a CMS editor could produce: unclosed tags, stray closers."""
        html = self.article(article)
        html = html.replace("</p>", "").replace(
            '<div class="content-detail">', '<div class="content-detail"><table><tr><td><b>', 1
        )
        return html.replace("</section>\n<footer", "</td></tr></span>\n<footer", 1).removesuffix(
            "</body>\n</html>\n"
        )

    def soft404(self, site: Site) -> str:
        main = f"""<div class="portlet-boundary portlet-boundary_com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_ portlet-static portlet-static-end portlet-barebone portlet-asset-publisher" id="p_p_id_{_DETAIL}_">
<section class="portlet" id="portlet_{_DETAIL}">
<div class="portlet-content">
<div class="autofit-float autofit-row portlet-header"><div class="autofit-col autofit-col-expand"><h2 class="portlet-title-text">Xuất bản thông tin</h2></div></div>
<div class=" portlet-content-container"><div class="portlet-body">
<div class="alert alert-danger">Tài sản không thể được tìm thấy.</div>
<div class="asset-full-content clearfix mb-5 default-asset-publisher show-asset-title"><div class="asset-content mb-3"><div class="journal-content-article "></div></div></div>
</div></div>
</div>
</section>
</div>"""
        return self.page(site, "Chi tiết bài viết", "Chi tiết bài viết", main)

    # -- listings -------------------------------------------------------------------------

    def listing(
        self, site: Site, notice: bool, delta: int, cur: int, path: str, instance: str
    ) -> str:
        items = self.catalog.listing(site, notice)
        pages = max(1, -(-len(items) // delta))
        cur = min(max(cur, 1), pages)
        shown = items[(cur - 1) * delta : cur * delta]
        pid = ASSET_PUBLISHER + instance
        label = "Thông báo" if notice else "Tin tức"
        abstracts = "\n".join(self._abstract(site, a) for a in shown)
        paging = self._paging(path, pid, delta, cur, pages, len(items))
        main = f"""<div class="portlet-boundary portlet-boundary_com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet_ portlet-static portlet-asset-publisher" id="p_p_id_{pid}_">
<span id="p_{pid}"></span>
<section class="portlet" id="portlet_{pid}">
<div class="portlet-content">
<div class="autofit-float autofit-row portlet-header"><div class="autofit-col autofit-col-expand"><h2 class="portlet-title-text">{label}</h2></div></div>
<div class=" portlet-content-container"><div class="portlet-body">
{abstracts}
{paging}
</div></div>
</div>
</section>
</div>"""
        return self.page(site, label, label, main)

    def _abstract(self, site: Site, article: Article) -> str:
        title, lead, _ = self.catalog.summary(article)
        fmt = "%H:%M %d/%m/%Y" if site.listing_time else "%d/%m/%Y"
        url = self.base + article.path
        lead_html = f'<div class="asset-summary">{esc(_shorten(lead))}</div>' if lead else ""
        return f"""<div class="asset-abstract default-asset-publisher">
<h3 class="asset-title"><a href="{url}">{esc(title)}</a></h3>
<div class="asset-metadata"><span class="metadata-entry metadata-publish-date">{article.published.strftime(fmt)}</span></div>
{lead_html}
<div class="asset-more"><a href="{url}">Xem chi tiết <span class="hide-accessible">về {esc(title)}</span></a></div>
</div>"""

    def _paging(self, path: str, pid: str, delta: int, cur: int, pages: int, total: int) -> str:
        def link(page: int, text: str, enabled: bool, css: str = "") -> str:
            if not enabled:
                return f'<li class="disabled {css}"><a href="javascript:;">{text}</a></li>'
            href = paging_url(self.base, path, pid, delta, page).replace("&", "&amp;")
            return f'<li class="{css}"><a href="{href}">{text}</a></li>'

        window = range(max(1, cur - 3), min(pages, cur + 3) + 1)
        numbers = "".join(link(p, str(p), p != cur, "active" if p == cur else "") for p in window)
        deltas = "".join(
            f'<li><a href="{paging_url(self.base, path, pid, d, 1).replace("&", "&amp;")}">{d}</a></li>'
            for d in DELTAS
        )
        first, last = (cur - 1) * delta + 1, min(cur * delta, total)
        return f"""<div class="taglib-page-iterator"><div class="clearfix lfr-pagination">
<div class="lfr-pagination-config"><div class="lfr-pagination-page-selector"><ul class="dropdown-menu lfr-pagination-pages">{numbers}</ul></div>
<div class="lfr-pagination-delta-selector"><a class="dropdown-toggle" href="javascript:;">{delta} Mục mỗi trang</a><ul class="dropdown-menu">{deltas}</ul></div></div>
<small class="search-results">Hiển thị {first if total else 0} - {last} của {total} kết quả.</small>
<ul class="lfr-pagination-buttons pager">{link(1, "Đầu tiên", cur > 1, "first")}{link(cur - 1, "Trước", cur > 1)}{link(cur + 1, "Tiếp theo", cur < pages)}{link(pages, "Cuối cùng", cur < pages, "last")}</ul>
</div></div>"""

    # -- other pages ----------------------------------------------------------------------

    def home(self, site: Site) -> str:
        blocks = []
        for notice, label in ((False, "Tin tức"), (True, "Thông báo")):
            shown = [a for a in self.catalog.listing(site, notice)[:5] if not a.missing]
            items = "\n".join(self._abstract(site, a) for a in shown)
            more = f'<a class="more" href="{self.base}{listing_path(site, notice)}">Xem tất cả</a>'
            blocks.append(
                f'<div class="news-block"><h2 class="block-title">{label}</h2>\n{items}\n{more}</div>'
            )
        return self.page(site, "Trang chủ", "Trang chủ", "\n".join(blocks))

    def static(self, site: Site, slug: str) -> str:
        paragraphs = content.specimens()[sum(map(ord, slug)) % 4].meta["paragraphs"][:2]
        titles = {
            "gioi-thieu": "Giới thiệu",
            "van-ban": "Văn bản chỉ đạo điều hành",
            "lien-he": "Liên hệ",
        }
        body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)
        if slug == "van-ban":
            body += (
                '\n<ul class="documents">'
                + "".join(
                    f'<li><a href="/documents/{site.group_id}/0/van-ban-{n}.pdf/'
                    f'{_session_id(site.plid * 10 + n).lower()}?t=1700000000000">Văn bản số {n}/VB-UBND</a></li>'
                    for n in range(1, 4)
                )
                + "</ul>"
            )
        if slug == "lien-he":
            body += f"\n<p>Địa chỉ: Ủy ban nhân dân {esc(site.name)}, tỉnh Đồng Tháp</p>"
        main = f'<div class="journal-content-article"><h1>{titles[slug]}</h1>\n{body}</div>'
        return self.page(site, titles[slug], titles[slug], main)

    def calendar(self, site: Site, day: dt.date) -> str:
        base = f"{self.base}{site.prefix}/lich-cong-tac?ngay="
        nav = " | ".join(
            f'<a href="{base}{(day + dt.timedelta(days=shift)).isoformat()}">{label}</a>'
            for shift, label in (
                (-7, "Tuần trước"),
                (-1, "Ngày trước"),
                (1, "Ngày sau"),
                (7, "Tuần sau"),
            )
        )
        events = "".join(
            f"<tr><td>{hour:02d}:00</td><td>Lãnh đạo {esc(site.name)} họp giao ban chuyên đề số {(day.toordinal() + hour) % 17 + 1}</td></tr>"
            for hour in (7, 9, 14)
        )
        main = f"""<div class="calendar"><h1>Lịch công tác ngày {day:%d/%m/%Y}</h1>
<div class="calendar-nav">{nav}</div>
<table class="table">{events}</table></div>"""
        return self.page(site, f"Lịch công tác ngày {day:%d/%m/%Y}", "Lịch công tác", main)

    def search(self, site: Site, query: str) -> str:
        base = f"{self.base}{site.prefix}/tim-kiem?q="
        shown = [a for a in self.catalog.listing(site, False)[:5] if not a.missing]
        results = "\n".join(self._abstract(site, a) for a in shown)
        related = " ".join(
            f'<a href="{base}{quote((query + " " + word).strip())}">{esc((query + " " + word).strip())}</a>'
            for word in ("nông thôn mới", "hội nghị", "thông báo")
        )
        main = f"""<div class="search-results"><h1>Kết quả tìm kiếm: {esc(query)}</h1>
{results}
<div class="related-searches">Tìm kiếm liên quan: {related}</div></div>"""
        return self.page(site, "Tìm kiếm", "Tìm kiếm", main)

    @staticmethod
    def portlet_state(state: str) -> str:
        """What a pop-up or exclusive window state answers: a bare fragment, no theme."""
        return f'<div class="portlet-{state}"><p>Kết quả bình chọn: 62% Đẹp, dễ sử dụng</p></div>'

    def no_permission(self, site: Site) -> str:
        main = '<div class="alert alert-danger">Bạn không có quyền truy cập vào tài nguyên được yêu cầu.</div>'
        return self.page(site, "Cấu hình", "Cấu hình", main)

    def login(self) -> str:
        main = f"""<form action="{self.base}/c/portal/login" method="post"><label>Địa chỉ email <input name="login" /></label>
<label>Mật khẩu <input name="password" type="password" /></label><button type="submit">Đăng nhập</button></form>"""
        return self.page(BY_CODE[""], "Đăng nhập", "Đăng nhập", main)

    def not_found(self) -> str:
        main = '<div class="alert alert-danger">Không tìm thấy trang được yêu cầu.</div>'
        return self.page(BY_CODE[""], "Không tìm thấy trang", "Lỗi", main)

    def robots(self) -> str:
        lines = ["User-agent: *"]
        lines += [f"Disallow: {s.prefix}/tim-kiem" for s in SITES]
        lines += ["Disallow: /c/", "Disallow: /api/", f"Sitemap: {self.base}/sitemap.xml", ""]
        return "\n".join(lines)

    def sitemap(self) -> str:
        urls = []
        for site in SITES:
            for path, _ in _NAV:
                urls.append(self.base + site.prefix + (path or f"/tin-tuc?plidlayout={site.plid}"))
        entries = "".join(
            f"<url><loc>{esc(u)}</loc><changefreq>daily</changefreq></url>" for u in urls
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n'
        )


def _shorten(text: str, limit: int = 220) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "..."


def robots_disallowed(path: str) -> bool:
    """Whether robots.txt forbids ``path`` (the rules :meth:`Renderer.robots` writes)."""
    if path.startswith(("/c/", "/api/")):
        return True
    return any(path.startswith(f"{s.prefix}/tim-kiem") for s in SITES)


def today() -> dt.date:
    """The replica's fixed "today": the day of its newest article."""
    return dt.datetime(2025, 6, 27, tzinfo=TZ).date()
