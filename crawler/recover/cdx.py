"""Reading CDX server answers: the Wayback Machine's JSON rows and pywb's JSON lines.

The Wayback Machine's CDX server answers ``output=json`` with a JSON array: a header row
naming the fields, one row per capture, and, with ``showResumeKey=true``, an empty row
followed by a one-element row holding the key that continues the listing. pywb (and the
Common Crawl index server, which is pywb) answers with one JSON object per line. Both
name the same things differently (``original``/``url``, ``statuscode``/``status``, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crawler.urls import well_formed


class CdxError(ValueError):
    """A CDX answer that is neither format: the archive is not a CDX server, or is broken."""


@dataclass(frozen=True, slots=True)
class Capture:
    """One capture an archive lists: enough to fetch it and to decide whether to."""

    url: str
    """The original URL, as the archive's crawler requested it."""
    timestamp: str
    """``YYYYMMDDhhmmss`` (UTC), the archive's name of the moment of capture."""
    status: str | None = None
    """The original HTTP status as the archive lists it (``200``, ``302``), ``-`` for revisits."""
    mime: str | None = None
    digest: str | None = None
    """SHA-1 (base 32) of the original payload."""
    length: int | None = None
    """Length of the (compressed) WARC record; with ``offset`` and ``filename`` for byte ranges."""
    offset: int | None = None
    filename: str | None = None

    @property
    def captured_at(self) -> datetime:
        stamp = self.timestamp.ljust(14, "0")[:14]
        return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)

    @property
    def is_revisit(self) -> bool:
        return self.mime == "warc/revisit" or self.status in (None, "", "-")


_ALIASES = {
    "original": "url",
    "statuscode": "status",
    "mimetype": "mime",
    "mime-type": "mime",
}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _capture(fields: dict[str, Any]) -> Capture | None:
    named = {_ALIASES.get(key, key): value for key, value in fields.items()}
    url, timestamp = named.get("url"), named.get("timestamp")
    if not url or not timestamp or not str(timestamp).isdecimal() or not well_formed(str(url)):
        return None
    return Capture(
        url=str(url),
        timestamp=str(timestamp),
        status=named.get("status"),
        mime=named.get("mime"),
        digest=named.get("digest"),
        length=_int(named.get("length")),
        offset=_int(named.get("offset")),
        filename=named.get("filename"),
    )


@dataclass(frozen=True, slots=True)
class CdxPage:
    """One answer of a CDX server."""

    captures: list[Capture]
    resume_key: str | None = None
    """Where the listing continues (Wayback ``showResumeKey``), or None when it is complete."""
    skipped: int = 0
    """Rows that named no URL or timestamp."""
    pages: int | None = None
    """How many pages the listing has, when the answer says only that (``showNumPages``)."""


def parse_cdx(body: bytes) -> CdxPage:
    """The captures of a CDX answer in either JSON format (an empty body lists none).

    A pywb index in pages (Common Crawl's) answers ``showNumPages=true`` with
    ``{"pages": N, ...}``: that gives ``pages``; an index not in pages ignores the
    parameter and lists the captures."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return CdxPage([])
    if text.startswith("{") and "\n" not in text:
        pages = _page_count(text)
        if pages is not None:
            return CdxPage([], pages=pages)
    if text.startswith("["):
        return _parse_rows(text)
    return _parse_lines(text)


def _page_count(text: str) -> int | None:
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        return None
    pages = answer.get("pages") if isinstance(answer, dict) else None
    return pages if isinstance(pages, int) and "url" not in answer else None


def _parse_rows(text: str) -> CdxPage:
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as error:
        raise CdxError(f"CDX answer is not JSON: {error}") from None
    if not rows:
        return CdxPage([])
    header, *rest = rows
    if not isinstance(header, list) or not all(isinstance(name, str) for name in header):
        raise CdxError(f"CDX answer has no header row: {text[:80]!r}")
    resume_key = None
    if len(rest) >= 2 and rest[-2] == [] and isinstance(rest[-1], list) and len(rest[-1]) == 1:
        resume_key = str(rest[-1][0])
        rest = rest[:-2]
    captures, skipped = [], 0
    for row in rest:
        # A row that is no list (an archive's error object, a number) is no capture.
        fields = dict(zip(header, row, strict=False)) if row and isinstance(row, list) else None
        capture = _capture(fields) if fields else None
        if capture is None:
            skipped += 1
        else:
            captures.append(capture)
    return CdxPage(captures, resume_key, skipped)


def _parse_lines(text: str) -> CdxPage:
    captures, skipped = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as error:
            raise CdxError(f"CDX line is not JSON: {error}") from None
        capture = _capture(fields) if isinstance(fields, dict) else None
        if capture is None:
            skipped += 1
        else:
            captures.append(capture)
    return CdxPage(captures, None, skipped)
