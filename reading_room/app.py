"""The reading room: a Flask application over one or more collections, read only.

Pages (server-rendered, no script at all: the Content-Security-Policy forbids every script in
the application's origin) and the JSON API they are built from:

- ``/`` and ``/api/search``: search with facets and filters;
- ``/article/{key}`` and ``/api/articles/{key}``: an article, all its versions, what changed;
- ``/capture?url=``: a photo or file of an article, byte for byte from the WARCs;
- ``/coverage`` and ``/api/coverage``: articles per month per site, and the crawl history.

The archived page as captured is replayed by pywb on another port (another origin), never here.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, abort, current_app, g, jsonify, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from archive.lookup import find_capture
from archive.reader import ArchiveReadError, read_response
from archive.search import Hit, Query, QueryError, Results, parse_day, read_line, snippet
from reading_room.coverage import coverage_charts
from reading_room.diff import version_changes
from reading_room.shelf import Shelf

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_LIMIT = 100
MAX_OFFSET = 100_000
SECURITY_HEADERS = {
    # No script runs in this origin: the pages need none, and archived text is only ever
    # inserted escaped. Photos come from this origin; nothing is loaded from elsewhere.
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Archived bytes served from this origin: never rendered as a document that could run script.
CAPTURE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
}
_RASTER = re.compile(r"image/(jpeg|png|gif|webp|bmp|x-icon|vnd\.microsoft\.icon|avif)")


@dataclass
class Room:
    shelves: list[Shelf]
    replay_port: int | None
    """pywb's port on the same host, or None when replay is not running."""

    def shelf(self, name: str | None) -> Shelf:
        if name is None and len(self.shelves) == 1:
            return self.shelves[0]
        for shelf in self.shelves:
            if shelf.name == name:
                return shelf
        abort(404, f"There is no collection named {name!r} here.")


def create_app(
    shelves: list[Shelf], replay_port: int | None = None, trusted_hosts: list[str] | None = None
) -> Flask:
    """The application; ``trusted_hosts`` are the only ``Host`` names it answers (all when
    None): on loopback, a web page elsewhere cannot reach it by DNS rebinding."""
    app = Flask(__name__)
    app.config["TRUSTED_HOSTS"] = trusted_hosts
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Vietnamese, readable
    app.extensions["reading_room"] = Room(shelves, replay_port)
    app.before_request(_start_clock)
    app.after_request(_secure)
    app.register_error_handler(QueryError, _bad_query)
    app.register_error_handler(HTTPException, _http_error)
    app.add_url_rule("/", view_func=search_page)
    app.add_url_rule("/api/search", view_func=search_api)
    app.add_url_rule("/article/<path:key>", view_func=article_page)
    app.add_url_rule("/api/articles/<path:key>", view_func=articles_api)
    app.add_url_rule("/capture", view_func=capture)
    app.add_url_rule("/coverage", view_func=coverage_page)
    app.add_url_rule("/api/coverage", view_func=coverage_api)
    return app


def _room() -> Room:
    return current_app.extensions["reading_room"]


def _start_clock() -> None:
    g.started = (time.perf_counter(), time.thread_time())


def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if "started" in g:
        # The standard timing header (browsers' developer tools show it; the benchmark reads
        # the CPU time, which unlike the wall time does not depend on the machine's load).
        wall, cpu = time.perf_counter() - g.started[0], time.thread_time() - g.started[1]
        response.headers["Server-Timing"] = f"app;dur={wall * 1000:.1f}, cpu;dur={cpu * 1000:.1f}"
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _bad_query(error: QueryError) -> tuple[Any, int]:
    return _error(400, str(error))


def _http_error(error: HTTPException) -> tuple[Any, int]:
    return _error(error.code or 500, error.description or error.name)


def _error(status: int, message: str) -> tuple[Any, int]:
    if _wants_json():
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status


# -- search ---------------------------------------------------------------------------------


def _query() -> Query:
    args = request.args
    date_from, date_to = args.get("from", "").strip(), args.get("to", "").strip()
    return Query(
        text=args.get("q", ""),
        site=args.get("site") or None,
        section=args.get("section") or None,
        date_from=parse_day(date_from, end=False) if date_from else None,
        date_to=parse_day(date_to, end=True) if date_to else None,
    )


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if not text.isdecimal() or not low <= int(text) <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high}.")
    return int(text)


@dataclass
class Found:
    total: int
    hits: list[tuple[Shelf, Hit]]
    facets: dict[str, list[tuple[str, int]]]


def search_all(room: Room, query: Query, limit: int, offset: int, facets: bool = True) -> Found:
    """Search every collection: their results one after the other, each by rank."""
    found = Found(0, [], {})
    counts: dict[str, dict[str, int]] = {}
    skip = offset
    for shelf in room.shelves:
        shelf.refresh()
        wanted = limit - len(found.hits)
        results: Results = shelf.index().search(query, limit=wanted, offset=skip, facets=facets)
        found.total += results.total
        found.hits += [(shelf, hit) for hit in results.hits]
        skip = max(0, skip - results.total)
        for name, values in results.facets.items():
            for value, count in values:
                counts.setdefault(name, {})[value] = counts.get(name, {}).get(value, 0) + count
    found.facets = {
        name: sorted(values.items(), key=lambda pair: (-pair[1], pair[0]))
        for name, values in counts.items()
    }
    return found


def view_path(shelf: Shelf, key: str) -> str:
    return f"/article/{quote(key, safe='')}?c={quote(shelf.name)}"


def _result(shelf: Shelf, hit: Hit, query: Query) -> dict[str, Any]:
    item = read_line(shelf.items_path, hit.line_offset, hit.line_length)
    parts = snippet(item, query)
    html = Markup("").join(
        Markup("<mark>%s</mark>") % text if marked else escape(text) for text, marked in parts
    )
    return {
        "key": hit.key,
        "url": hit.url,
        "title": hit.title,
        "site": hit.site,
        "section": hit.section,
        "published": hit.published,
        "snippet": str(html),
        "view": view_path(shelf, hit.key),
    }


def search_api() -> Response:
    query = _query()
    limit = _whole_number("limit", PAGE_SIZE, 1, MAX_LIMIT)
    offset = _whole_number("offset", 0, 0, MAX_OFFSET)
    found = search_all(_room(), query, limit, offset, facets=False)  # the API has none
    results = [_result(shelf, hit, query) for shelf, hit in found.hits]
    return jsonify(total=found.total, results=results)


def search_page() -> str:
    query = _query()
    page = _whole_number("page", 1, 1, MAX_OFFSET // PAGE_SIZE)
    found = search_all(_room(), query, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    results = [_result(shelf, hit, query) for shelf, hit in found.hits]
    pages = max(1, -(-found.total // PAGE_SIZE))
    return render_template(
        "search.html",
        args=request.args,
        found=found,
        results=results,
        page=page,
        pages=pages,
        link=_link_with,
    )


def _link_with(**changes: str | int | None) -> str:
    """This page's URL with some parameters changed (None removes one); back to page 1."""
    args = {name: value for name, value in request.args.items() if name != "page"}
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = str(value)
    return url_for(request.endpoint or "search_page", **args)


# -- articles -------------------------------------------------------------------------------


def _versions(shelf: Shelf, key: str) -> list[dict[str, Any]]:
    shelf.refresh()
    versions = shelf.versions(key)
    if not versions:
        abort(404, f"There is no article {key!r} in this collection.")
    return versions


def articles_api(key: str) -> Response:
    room = _room()
    name = request.args.get("c")
    shelves = [room.shelf(name)] if name else room.shelves
    versions = []
    for shelf in shelves:
        shelf.refresh()
        versions += shelf.versions(key)
    if not versions:
        abort(404, f"There is no article {key!r} in these collections.")
    return jsonify(versions)


def article_page(key: str) -> str:
    room = _room()
    shelf = room.shelf(request.args.get("c") or _holding(room, key))
    versions = _versions(shelf, key)
    latest = versions[-1]
    return render_template(
        "article.html",
        shelf=shelf,
        item=latest,
        versions=versions,
        changes=version_changes(versions),
        capture_link=lambda url: f"/capture?c={quote(shelf.name)}&url={quote(url, safe='')}",
        replay=_replay_link(room, shelf, latest),
    )


def _holding(room: Room, key: str) -> str:
    for shelf in room.shelves:
        shelf.refresh()
        if shelf.index().versions(key):
            return shelf.name
    abort(404, f"There is no article {key!r} in these collections.")


def _replay_link(room: Room, shelf: Shelf, item: dict[str, Any]) -> str | None:
    url = item.get("url")
    if room.replay_port is None or not isinstance(url, str):
        return None
    # The host the reader reached us by, pywb's port: the same machine, another origin.
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    timestamp = re.sub(r"\D", "", str(item.get("fetched_at") or ""))[:14]
    return f"{request.scheme}://{host}:{room.replay_port}/{shelf.name}/{timestamp}/{url}"


def capture() -> Response:
    """A photo (shown inline) or any other archived file (downloaded), as archived."""
    room = _room()
    shelf = room.shelf(request.args.get("c"))
    url = request.args.get("url", "")
    if not url:
        raise QueryError("Say which archived URL: ?url=...")
    found = find_capture(shelf.directory, url)
    if found is None:
        abort(404, "That URL was not archived in this collection.")
    try:
        record = read_response(found.path, found.offset)
    except (ArchiveReadError, FileNotFoundError) as error:
        logger.error("capture of %s: %s", url, error)
        abort(404, "The archived copy of that URL cannot be read.")
    mime = (record.content_type or "").split(";")[0].strip().lower()
    response = Response(record.body, headers=CAPTURE_HEADERS)
    if _RASTER.fullmatch(mime):
        response.content_type = mime
    else:
        response.content_type = "application/octet-stream"
        response.headers["Content-Disposition"] = _attachment_name(url, mime)
    return response


def _attachment_name(url: str, mime: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "download"
    if "." not in name:
        name += mimetypes.guess_extension(mime) or ""
    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"


# -- coverage -------------------------------------------------------------------------------


def _coverage(room: Room) -> dict[str, dict[str, int]]:
    sites: dict[str, dict[str, int]] = {}
    for shelf in room.shelves:
        shelf.refresh()
        for site, months in shelf.index().coverage().items():
            into = sites.setdefault(site, {})
            for month, count in months.items():
                into[month] = into.get(month, 0) + count
    return {site: dict(sorted(months.items())) for site, months in sorted(sites.items())}


def coverage_api() -> Response:
    return jsonify(sites=_coverage(_room()))


def coverage_page() -> str:
    room = _room()
    sites = _coverage(room)  # brings the indexes up to date first
    undated: dict[str, int] = {}
    for shelf in room.shelves:
        for site, count in shelf.index().undated().items():
            undated[site] = undated.get(site, 0) + count
    return render_template(
        "coverage.html",
        charts=coverage_charts(sites),
        undated=undated,
        histories=[(shelf, shelf.reports()) for shelf in room.shelves],
    )
