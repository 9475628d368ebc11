"""Dates as Vietnamese portals show them, rendered as ISO 8601 in Vietnam time (+07:00)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from lxml import etree

VIETNAM = timezone(timedelta(hours=7))
# Uploads before this are not plausible for these portals; keeps garbage `t=` values out.
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
_EARLIEST_MILLIS = int(_EARLIEST.timestamp() * 1000)
_LATEST_MILLIS = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp() * 1000)

_DIGIT = re.compile(r"\d")
_DMY = re.compile(r"(?<![\d/.-])(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})(?![\d/.-])")
_WORDY = re.compile(
    r"(?<!\d)(\d{1,2})\s+tháng\s+(\d{1,2})(?:\s*,\s*|\s+năm\s+|\s+)(\d{4})(?!\d)", re.IGNORECASE
)
_ISO = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_TIME = re.compile(
    r"(?<![\d/.:])(\d{1,2})\s*(?::|h|giờ)\s*(\d{2})(?::(\d{2}))?(?![\d/.])\s*(AM|PM|SA|CH)?",
    re.IGNORECASE,
)
_UPDATE = re.compile(r"cập nhật|chỉnh sửa|sửa đổi|update|modified", re.IGNORECASE)
# What may surround a date on a date line: weekdays, labels, view counts, separators.
_DATE_LINE_NOISE = re.compile(
    r"thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật|\bcn\b|\bt[2-7]\b"
    r"|ngày\s+(?:đăng|cập\s+nhật|xuất\s+bản|ban\s+hành)|đăng\s+(?:ngày|lúc)|ngày|lúc|đăng"
    r"|cập\s+nhật|xuất\s+bản|thời\s+gian|posted|published|updated|date|gmt\s*\+\s*7"
    r"|(?:số\s+)?lượt\s+(?:xem|đọc|truy\s+cập)\s*:?\s*[\d.,]*|[\d.,]+\s+lượt\s+(?:xem|đọc)"
    r"|\bviews?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PageDate:
    """A date, with its time of day when the page shows one."""

    day: date
    clock: time | None = None

    def iso(self) -> str:
        """``2022-06-30T16:30:00+07:00`` or ``2022-06-30``."""
        if self.clock is None:
            return self.day.isoformat()
        return datetime.combine(self.day, self.clock, VIETNAM).isoformat()


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _clock(hour: int, minute: int, second: int = 0, meridiem: str | None = None) -> time | None:
    meridiem = (meridiem or "").upper()
    if meridiem in ("PM", "CH") and hour < 12:
        hour += 12
    elif meridiem in ("AM", "SA") and hour == 12:
        hour = 0
    try:
        return time(hour, minute, second)
    except ValueError:
        return None


def _from_iso(match: re.Match[str]) -> PageDate | None:
    day = _make_date(int(match[1]), int(match[2]), int(match[3]))
    if day is None or match[4] is None:
        return PageDate(day) if day else None
    clock = _clock(int(match[4]), int(match[5]), int(match[6] or 0))
    if clock is None:
        return PageDate(day)
    zone = match[7]
    if not zone:
        return PageDate(day, clock)
    offset = timedelta(0)
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 23 or minutes > 59:
            # No such zone (a typo in the template): the clock is still the page's word.
            return PageDate(day, clock)
        offset = sign * timedelta(hours=hours, minutes=minutes)
    local = datetime.combine(day, clock, timezone(offset)).astimezone(VIETNAM)
    return PageDate(local.date(), local.time())


def _time_in(text: str, exclude: tuple[int, int]) -> time | None:
    for match in _TIME.finditer(text):
        if exclude[0] <= match.start() < exclude[1]:
            continue
        clock = _clock(int(match[1]), int(match[2]), int(match[3] or 0), match[4])
        if clock is not None:
            return clock
    return None


def find_date(text: str) -> PageDate | None:
    """The first date in a short text, with the time of day written next to it if any.

    Handles ``16:30 30/06/2022``, ``30/06/2022``, ``Thứ năm, 30/06/2022 - 15:30``,
    ``Ngày đăng: 30/06/2022``, ``30.06.2022``, ``ngày 30 tháng 6 năm 2022``, Joomla's
    ``16 Tháng 8 2012 09:12`` and ISO 8601.
    """
    # Every form has digits: most lines (titles, captions, links) have none to look around.
    if _DIGIT.search(text) is None:
        return None
    iso = _ISO.search(text)
    if iso:
        found = _from_iso(iso)
        if found:
            return found
    for match in _DMY.finditer(text):
        day = _make_date(_year(match[4]), int(match[3]), int(match[1]))
        if day:
            return PageDate(day, _time_in(text, match.span()))
    for match in _WORDY.finditer(text):
        day = _make_date(int(match[3]), int(match[2]), int(match[1]))
        if day:
            return PageDate(day, _time_in(text, match.span()))
    return None


def is_date_line(text: str) -> bool:
    """True when a line holds a date and nothing but date furniture (weekday, label, views)."""
    if len(text) > 90 or find_date(text) is None:
        return False
    rest = _ISO.sub(" ", text)
    rest = _DMY.sub(" ", rest)
    rest = _WORDY.sub(" ", rest)
    rest = _TIME.sub(" ", rest)
    rest = _DATE_LINE_NOISE.sub(" ", rest)
    return not any(ch.isalnum() for ch in rest)


def is_update_label(text: str) -> bool:
    """True when a date line names a modification time rather than the publication."""
    return _UPDATE.search(text) is not None


def image_upload_time(url: str) -> PageDate | None:
    """Upload time from a Liferay document URL's ``?t={epochMillis}``, in Vietnam time."""
    values = parse_qs(urlsplit(url).query).get("t")
    if not values or not values[0].isdecimal() or len(values[0]) > 15:
        return None
    # Bounded before it is a date: 15 digits are a year past any calendar's (a ValueError).
    millis = int(values[0])
    if not _EARLIEST_MILLIS <= millis <= _LATEST_MILLIS:
        return None
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    local = moment.astimezone(VIETNAM)
    return PageDate(local.date(), local.time().replace(microsecond=0))


_PUBLISHED_META = etree.XPath(
    "//meta[@property='article:published_time' or @name='article:published_time'"
    " or @itemprop='datePublished' or @name='pubdate' or @name='date']/@content"
    " | //*[@itemprop='datePublished']/@datetime",
    smart_strings=False,
)
_STRUCTURED_HINTS = (b"published_time", b"datePublished", b"pubdate", b'name="date"')
_JSON_LD = etree.XPath("//script[@type='application/ld+json']/text()", smart_strings=False)
_ARTICLE_TYPES = frozenset({"NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle"})


def structured_date(tree: etree._Element, body: bytes) -> PageDate | None:
    """The publication date a page declares in its metadata (``article:published_time``,
    ``itemprop=datePublished``, JSON-LD ``NewsArticle.datePublished``), or None.

    ``body`` is the page's bytes: most pages have no such data, and a plain search of them
    says so before the tree is walked.
    """
    if not any(hint in body for hint in _STRUCTURED_HINTS):
        return None
    for value in _PUBLISHED_META(tree):
        found = find_date(value)
        if found:
            return found
    for script in _JSON_LD(tree):
        for value in _json_ld_dates(script):
            found = find_date(value)
            if found:
                return found
    return None


def _json_ld_dates(script: str) -> list[str]:
    try:
        data = json.loads(script)
    except ValueError:
        return []  # a broken script is no evidence; the page's own text still counts
    nodes = data if isinstance(data, list) else [data]
    if isinstance(data, dict) and isinstance(data.get("@graph"), list):
        nodes = data["@graph"]
    dates = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kinds = node.get("@type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        value = node.get("datePublished")
        if _ARTICLE_TYPES.intersection(k for k in kinds if isinstance(k, str)) and isinstance(
            value, str
        ):
            dates.append(value)
    return dates
