"""Every ``-s NAME=VALUE`` and every command-line value, checked before anything is created.

A setting's type is read from its default (the project's ``crawler/settings.py`` first,
then Scrapy's): a boolean default wants a boolean, an integer an integer, and so on, the way
Scrapy's ``getbool``/``getint``/``getfloat`` will read it later, when a bad value would stop
the crawl half-way with a traceback. ``RULES`` adds what a default cannot say: a number read
as a float although its default is an integer, a count that must be at least 1, a list of
status codes, a choice. Numbers are otherwise never negative, except the few ``SIGNED`` ones.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit


class UsageError(Exception):
    """A problem the user can fix; reported as one sentence, exit status 2."""


@dataclass(frozen=True, slots=True)
class Rule:
    """What a setting's value must be."""

    kind: str
    """bool, int, float, dict, components, object, codes, ints3, choice or text (anything)."""
    low: float | None = 0
    """Smallest allowed number (None: any); ``above`` makes it exclusive."""
    above: bool = False
    choices: tuple[str, ...] = ()
    unit: str = ""


_POSITIVE_INT = Rule("int", 1)
_POSITIVE_FLOAT = Rule("float", 0, above=True)
_SIGNED = Rule("int", None)
_CODES = Rule("codes")

RULES: dict[str, Rule] = {
    "CONCURRENT_REQUESTS": _POSITIVE_INT,
    "CONCURRENT_REQUESTS_PER_DOMAIN": _POSITIVE_INT,
    "CONCURRENT_ITEMS": _POSITIVE_INT,
    "REACTOR_THREADPOOL_MAXSIZE": _POSITIVE_INT,
    "ARCHIVE_COMMIT_EVERY": _POSITIVE_INT,
    "ARCHIVE_WARC_MAX_SIZE": Rule("int", 1, unit="bytes"),
    "DOWNLOAD_MAXSIZE": Rule("int", 0, unit="bytes"),
    "DOWNLOAD_WARNSIZE": Rule("int", 0, unit="bytes"),
    "PORTAL_MAX_URL_LENGTH": _POSITIVE_INT,
    "DOWNLOAD_DELAY": Rule("float", 0, unit="seconds"),
    "DOWNLOAD_TIMEOUT": Rule("float", 0, above=True, unit="seconds"),
    "DNS_TIMEOUT": Rule("float", 0, above=True, unit="seconds"),
    "CLOSESPIDER_TIMEOUT": Rule("float", 0, unit="seconds"),
    "CLOSESPIDER_TIMEOUT_NO_ITEM": Rule("float", 0, unit="seconds"),
    "METAREFRESH_MAXDELAY": Rule("float", 0, unit="seconds"),
    "HTTPCACHE_EXPIRATION_SECS": Rule("float", 0, unit="seconds"),
    "AUTOTHROTTLE_START_DELAY": Rule("float", 0, unit="seconds"),
    "AUTOTHROTTLE_MAX_DELAY": Rule("float", 0, unit="seconds"),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": _POSITIVE_FLOAT,
    "PORTAL_PROGRESS_INTERVAL": Rule("float", 0, above=True, unit="seconds"),
    "PORTAL_RETRY_BACKOFF_BASE": Rule("float", 0, unit="seconds"),
    "PORTAL_RETRY_BACKOFF_MAX": Rule("float", 0, unit="seconds"),
    "PORTAL_STOP_TIMEOUT": Rule("float", 0, above=True, unit="seconds"),
    "TELNETCONSOLE_ENABLED": Rule("bool"),
    "RETRY_HTTP_CODES": _CODES,
    "HTTPERROR_ALLOWED_CODES": _CODES,
    "PORTAL_GC_THRESHOLDS": Rule("ints3"),
    "LOG_LEVEL": Rule("choice", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    # Priorities move requests up or down the queue: negative is meaningful.
    "RETRY_PRIORITY_ADJUST": _SIGNED,
    "REDIRECT_PRIORITY_ADJUST": _SIGNED,
    "DEPTH_PRIORITY": _SIGNED,
}

SET_BY_THE_COMMAND = {
    "ARCHIVE_DIR": "--out",
    "JOBDIR": "--out (the queue lives in DIR/jobs/)",
}
"""Settings the command line derives from its options: a second source would disagree."""

OUR_PREFIXES = ("ARCHIVE_", "PORTAL_")


def _defaults() -> dict[str, Any]:
    from scrapy.settings import default_settings

    import crawler.settings as project

    values: dict[str, Any] = {}
    for module in (default_settings, project):
        values.update(_upper(module))
    return values


def _upper(module: ModuleType) -> dict[str, Any]:
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


def rule_for(name: str, default: Any) -> Rule:
    if name in RULES:
        return RULES[name]
    if isinstance(default, bool):
        return Rule("bool")
    if isinstance(default, int):
        return Rule("int")
    if isinstance(default, float):
        return Rule("float")
    if isinstance(default, dict):
        components = bool(default) and all(_looks_like_path(key) for key in default)
        return Rule("components" if components else "dict")
    if isinstance(default, str) and _looks_like_path(default):
        return Rule("object")
    return Rule("text")


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _looks_like_path(text: object) -> bool:
    """A Python object path such as ``scrapy.resolver.CachingThreadedResolver``."""
    return isinstance(text, str) and _DOTTED.fullmatch(text) is not None


def check_settings(overrides: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``-s`` pairs once every one is known to be readable (a choice in the case Python
    wants it: ``LOG_LEVEL=debug`` is DEBUG); else UsageError."""
    defaults = _defaults()
    checked = []
    for name, value in overrides:
        if name in SET_BY_THE_COMMAND:
            raise UsageError(f"{name} is set by {SET_BY_THE_COMMAND[name]}; do not give it with -s")
        if name not in defaults:
            _check_unknown(name, defaults)
            checked.append((name, value))
            continue
        rule = rule_for(name, defaults[name])
        problem = _problem(rule, value)
        if problem:
            raise UsageError(f"-s {name}={value}: {name} must be {problem}")
        checked.append((name, value.upper() if rule.kind == "choice" else value))
    return checked


def _check_unknown(name: str, known: Iterable[str]) -> None:
    """Our own prefixes are ours: an unknown one is a typo. Other names may belong to a
    third-party Scrapy component, so only a near miss of a known name is refused."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.85)
    hint = f" (did you mean {close[0]}?)" if close else ""
    if name.startswith(OUR_PREFIXES) or close:
        raise UsageError(f"-s {name}: no such setting{hint}")


def _problem(rule: Rule, value: str) -> str | None:
    """Why ``value`` does not fit ``rule``, as the end of a sentence; None when it fits."""
    kind = rule.kind
    if kind == "bool":
        ok = value in {"0", "1", "True", "False", "true", "false"}
        return None if ok else "True or False (or 1 or 0)"
    if kind in ("int", "float"):
        return _number_problem(rule, value)
    if kind == "codes":
        ok = all(_is_int(part) and 100 <= int(part) <= 599 for part in _parts(value))
        return None if ok else "a comma-separated list of HTTP status codes"
    if kind == "ints3":
        parts = _parts(value)
        ok = not parts or (len(parts) == 3 and all(_is_int(p) and int(p) >= 0 for p in parts))
        return None if ok else "three whole numbers separated by commas, or empty"
    if kind == "choice":
        return None if value.upper() in rule.choices else "one of " + ", ".join(rule.choices)
    if kind == "dict":
        return None if _is_json_object(value) else "a JSON object"
    if kind == "object":
        return None if _importable(value) else "the path of an importable Python object"
    if kind == "components":
        return _components_problem(value)
    return None


def _components_problem(value: str) -> str | None:
    wanted = 'a JSON object of importable component paths and orders, e.g. {"a.b.C": 500}'
    if not _is_json_object(value):
        return wanted
    for path, order in json.loads(value).items():
        bad_order = order is not None and (isinstance(order, bool) or not isinstance(order, int))
        if bad_order or not _importable(path):
            return f"{wanted} ({path!r} is not)"
    return None


def _importable(path: str) -> bool:
    from scrapy.utils.misc import load_object

    try:
        load_object(path)
    except (ImportError, AttributeError, NameError, ValueError):
        try:
            importlib.import_module(path)  # a module path (NEWSPIDER_MODULE)
        except ImportError:
            return False
    return True


def _number_problem(rule: Rule, value: str) -> str | None:
    noun = "a whole number" if rule.kind == "int" else "a number"
    unit = f" of {rule.unit}" if rule.unit else ""
    bound = ""
    if rule.low is not None:
        bound = f" (above {rule.low:g})" if rule.above else f" ({rule.low:g} or more)"
    wanted = f"{noun}{unit}{bound}"
    try:
        number = int(value) if rule.kind == "int" else float(value)
    except ValueError:
        return wanted
    if not math.isfinite(number):
        return wanted
    if rule.low is not None and (number <= rule.low if rule.above else number < rule.low):
        return wanted
    return None


def _parts(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def check_urls(urls: Sequence[str]) -> list[str]:
    """The URLs to fetch, when every one is an http(s) URL with a host; else UsageError naming
    all the bad ones: a command that fetched only some would look like a success."""
    bad = [url for url in urls if not _is_web_url(url)]
    if bad:
        names = ", ".join(repr(url) for url in bad)
        raise UsageError(
            f"not an http(s) URL: {names}; nothing was fetched (fix or remove it and run again)"
        )
    return list(urls)


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad port number or an unbalanced bracket
        return False


# argparse types: each turns a text into a value or says, in a phrase, what it must be.


def iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; give YYYY-MM-DD, e.g. 2024-01-31"
        ) from None


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


def non_negative_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0 or more)")
    return number


def port_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number (0 to 65535; 0 picks a free one)"
        )
    return number
