"""SURT keys as pywb computes them (``surt.surt()`` with the default IA canonicaliser).

The CDXJ index is looked up by these keys, so they must agree with pywb's byte for byte:
Google-style escaping and path normalisation, then the Internet Archive rules (lower case,
``www``/``www2`` dropped, default port dropped, session ids stripped, trailing slash dropped,
query arguments sorted), then the host reversed: ``vn,gov,dongthap)/path?a=1&b=2``.
"""

from __future__ import annotations

import contextlib
import re
import socket
from urllib.parse import SplitResultBytes, quote_from_bytes, unquote_to_bytes

_URI = re.compile(rb"^(([a-zA-Z][a-zA-Z0-9+.-]*):)?((//([^/?#]*))?([^?#]*)(\?([^#]*))?)?(#(.*))?$")
_HAS_SCHEME = re.compile(rb"^[a-zA-Z][a-zA-Z0-9+\-.]*:")
_REPEATED_SCHEMES = re.compile(rb"^(https?://)+")
_CONTROL = re.compile(rb"[\n\r\t]")
_WWW = re.compile(rb"www\d*\.")
_DECIMAL_IP = re.compile(rb"^([1-9][0-9]*)(\.[0-9]+)?(\.[0-9]+)?(\.[0-9]+)?$")
_OCTAL_IP = re.compile(rb"^(0[0-7]*)(\.[0-7]+)?(\.[0-7]+)?(\.[0-7]+)?$")
_SAFE = b"!\"$&'()*+,-./:;<=>?@[\\]^_`{|}~"
_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_PATH_SESSION_IDS = (
    re.compile(rb"^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^\?]+\.aspx.*)$", re.I),
    re.compile(rb"^(.*/)(\([0-9a-z]{24}\)/)([^\?]+\.aspx.*)$", re.I),
)
_QUERY_SESSION_IDS = (
    re.compile(rb"^(.*)(?:jsessionid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:phpsessid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:sid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$", re.I),
)


def surt(url: str) -> str:
    """The SURT key pywb indexes and looks up ``url`` by."""
    raw = url.encode("utf-8")
    if not raw:
        return "-"
    if raw.startswith(b"filedesc"):
        return url
    scheme, host, port, path, query = _split(raw)
    host = _canonical_host(host) if host else host
    path = _escape_once(_normalize_path(_unescape(path)) if host else _unescape(path))
    if host and port == _DEFAULT_PORTS.get(scheme.lower()):
        port = None
    path = _ia_path(path)
    query = _ia_query(query)
    return _render(scheme, host, port, path, query).decode("utf-8")


def _split(raw: bytes) -> tuple[bytes, bytes | None, int | None, bytes | None, bytes | None]:
    raw = _CONTROL.sub(b"", raw.strip())
    if not _HAS_SCHEME.match(raw):
        raw = b"http://" + raw
    raw = _REPEATED_SCHEMES.sub(lambda m: m.group(1), raw)
    match = _URI.match(raw)
    assert match, "the URI pattern matches any string"
    parts = SplitResultBytes(
        match.group(2) or b"", match.group(5) or b"", match.group(6) or b"", b"", b""
    )
    if parts.netloc.endswith(b":"):
        parts = parts._replace(netloc=parts.netloc.rstrip(b":"))
    host = parts.hostname or None
    path = parts.path or None
    if parts.scheme.startswith(b"http") and host is None and path is not None:
        host, _, rest = path.lstrip(b"/").partition(b"/")
        path = b"/" + rest
    return parts.scheme, host, parts.port or None, path, match.group(8) or None


def _canonical_host(host: bytes) -> bytes:
    host = _unescape(host) or b""
    if not host.isascii():
        with contextlib.suppress(ValueError):
            host = host.decode("utf-8", "ignore").encode("idna")
    host = host.replace(b"..", b".").strip(b".")
    host = _ip_address(host) or _escape_once(host.lower()) or b""
    host = host.lower()
    match = _WWW.match(host)
    return host[match.end() :] if match else host


def _ip_address(host: bytes) -> bytes | None:
    if host.isdigit():  # bytes: ASCII digits only
        return socket.inet_ntoa((int(host) & 0xFFFFFFFF).to_bytes(4, "big")).encode("ascii")
    if _DECIMAL_IP.match(host) or _OCTAL_IP.match(host):
        # inet_aton reads the same dotted forms the resolver does, without asking DNS.
        try:
            return socket.inet_ntoa(socket.inet_aton(host.decode("ascii"))).encode("ascii")
        except OSError:
            return None
    return None


def _normalize_path(path: bytes | None) -> bytes:
    if not path:
        return b"/"
    kept: list[bytes] = []
    for segment in path.split(b"/")[1:]:
        if segment == b".":
            continue
        if segment == b".." and kept:
            kept.pop()
        else:
            kept.append(segment)
    if not kept:
        return b"/"
    # Empty inner segments vanish (``//`` folds); a trailing empty one keeps the slash.
    return b"/" + b"".join(segment + b"/" for segment in kept[:-1] if segment) + kept[-1]


def _ia_path(path: bytes | None) -> bytes | None:
    if not path:
        return path
    path = path.lower()
    for pattern in _PATH_SESSION_IDS:
        match = pattern.match(path)
        if match:
            path = match.group(1) + match.group(3)
    if path.endswith(b"/") and len(path) > 1:
        path = path[:-1]
    return path


def _ia_query(query: bytes | None) -> bytes | None:
    if not query:
        return None
    query = _escape_once(_unescape(query)) or b""
    for pattern in _QUERY_SESSION_IDS:
        match = pattern.match(query)
        if match:
            query = match.group(1) + match.group(2) if match.group(2) else match.group(1)
    query = _sort_query(query.lower())
    return query or None


def _sort_query(query: bytes) -> bytes:
    if len(query) <= 1:
        return query
    pairs = sorted(tuple(arg.split(b"=", 1)) for arg in query.split(b"&"))
    return b"&".join(b"=".join(pair) for pair in pairs)


def _render(
    scheme: bytes, host: bytes | None, port: int | None, path: bytes | None, query: bytes | None
) -> bytes:
    if not host:
        out = scheme + b":"
    else:
        out = b",".join(reversed(host.split(b".")))
        if port is not None:
            out += b":%d" % port
        out += b")"
    if path:
        out += path
    elif query is not None:
        out += b"/"
    if query is not None:
        out += b"?" + query
    return out


def _escape_once(value: bytes | None) -> bytes | None:
    return quote_from_bytes(value, safe=_SAFE).encode("ascii") if value else value


def _unescape(value: bytes | None) -> bytes | None:
    if value is None:
        return None
    while True:
        unescaped = unquote_to_bytes(value)
        if unescaped == value:
            return value
        value = unescaped
