"""Site profiles: the Đồng Tháp sites we know, plus any the user adds in a TOML file.

A profiles file holds one table per site::

    [profiles.lapvo]
    host = "lapvo.dongthap.gov.vn"
    site_code = "hlv"
    listings = ["/tin-tuc", "/thong-bao"]
    # start_url = "https://lapvo.dongthap.gov.vn/web/hlv"   (default: derived)

Listing paths are relative to the site root (`https://{host}[/web/{code}]`) unless
they are absolute URLs. Fields given for a built-in name override only those fields.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.urls import Scope, site_of

_DEFAULT_LISTINGS = ("/tin-tuc", "/thong-bao")


@dataclass(frozen=True)
class SiteProfile:
    """One site to crawl: where it lives and which listings it is known to have."""

    name: str
    host: str
    site_code: str | None = None
    listings: tuple[str, ...] = ()
    start_url: str = ""
    """Where the crawl starts; defaults to the site root."""

    def __post_init__(self) -> None:
        if not self.start_url:
            object.__setattr__(self, "start_url", self.site_root)

    @property
    def site_root(self) -> str:
        """`{scheme}://{host}[/web/{code}]`, scheme from `start_url` (https by default)."""
        scheme = urlsplit(self.start_url).scheme or "https"
        code = f"/web/{self.site_code}" if self.site_code else ""
        return f"{scheme}://{self.host}{code}"

    @property
    def scope(self) -> Scope:
        return Scope.from_url(self.site_root)

    def listing_urls(self) -> list[str]:
        """The known listings as absolute URLs."""
        root = self.site_root + "/"
        return [urljoin(root, path.lstrip("/")) for path in self.listings]


def _builtin(name: str, subdomain: str | None, code: str | None = None) -> SiteProfile:
    host = f"{subdomain}.dongthap.gov.vn" if subdomain else "dongthap.gov.vn"
    return SiteProfile(name=name, host=host, site_code=code, listings=_DEFAULT_LISTINGS)


# Site codes are known only for a few sites; the others are crawled from their host root.
BUILTIN: dict[str, SiteProfile] = {
    profile.name: profile
    for profile in (
        _builtin("lapvo", "lapvo", "hlv"),
        _builtin("sadec", "sadec", "tpsd"),
        _builtin("tpcaolanh", "tpcaolanh"),
        _builtin("caolanh", "caolanh"),
        _builtin("chauthanh", "chauthanh"),
        _builtin("hongngu", "hongngu"),
        _builtin("laivung", "laivung"),
        _builtin("tamnong", "tamnong"),
        _builtin("tanhong", "tanhong"),
        _builtin("thanhbinh", "thanhbinh"),
        _builtin("thapmuoi", "thapmuoi", "htm"),
        _builtin("txhongngu", "txhongngu"),
        _builtin("snnptnt", "snnptnt", "snnptnt"),
        _builtin("vksnd", "vksnd"),
        _builtin("dongthap", None),
    )
}

_FIELDS = {"host", "site_code", "listings", "start_url"}


# host[:port]: a name or an IPv4 address (what a URL's authority holds, no scheme, no path).
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:(\d{1,5}))?")
_SITE_CODE = re.compile(r"[A-Za-z0-9_-]+")


def _checked_fields(name: str, table: dict[str, Any]) -> dict[str, Any]:
    """The table's fields, each of the type and form a crawl can use: a profile file is the
    user's, and a wrong one must be one sentence before anything is made or requested (a
    string of listings was read letter by letter; a URL given as the host was looked up)."""
    unknown = set(table) - _FIELDS
    if unknown:
        raise ValueError(f"profile {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    fields = dict(table)
    start_url = fields.get("start_url")
    if start_url is not None and not (
        isinstance(start_url, str)
        and urlsplit(start_url).scheme in ("http", "https")
        and urlsplit(start_url).hostname
    ):
        raise ValueError(f"profile {name!r}: start_url must be an http(s) URL, not {start_url!r}")
    host = fields.get("host")
    if host is not None and not _is_host(host):
        raise ValueError(
            f"profile {name!r}: host must be a host name with an optional :port "
            f"(lapvo.dongthap.gov.vn, 127.0.0.1:8080), not {host!r}"
        )
    code = fields.get("site_code")
    if code is not None and not (isinstance(code, str) and _SITE_CODE.fullmatch(code)):
        raise ValueError(
            f"profile {name!r}: site_code must be the code of /web/CODE (letters, digits, - "
            f"and _), not {code!r}"
        )
    listings = fields.get("listings")
    if listings is not None:
        if not (isinstance(listings, list) and all(isinstance(p, str) and p for p in listings)):
            raise ValueError(
                f"profile {name!r}: listings must be a list of paths or URLs "
                f'(["/tin-tuc", "/thong-bao"]), not {listings!r}'
            )
        fields["listings"] = tuple(listings)
    return fields


def _is_host(host: object) -> bool:
    if not isinstance(host, str):
        return False
    match = _HOST.fullmatch(host)
    return match is not None and (match.group(3) is None or 0 < int(match.group(3)) <= 65535)


def _profile_from_table(name: str, table: object, base: SiteProfile | None) -> SiteProfile:
    if not isinstance(table, dict):
        raise ValueError(f"profile {name!r} must be a table ([profiles.{name}]), not {table!r}")
    fields = _checked_fields(name, table)
    if fields.get("start_url"):
        # A start URL alone says where the site is.
        scope = Scope.from_url(fields["start_url"])
        fields.setdefault("host", scope.host)
        if scope.site_prefix:
            fields.setdefault("site_code", scope.site_prefix.removeprefix("/web/"))
    if base is not None:
        # A start URL derived from the old host or code must be derived again.
        if base.start_url == base.site_root and "start_url" not in fields:
            fields["start_url"] = ""
        return dataclasses.replace(base, **fields)
    if "host" not in fields:
        raise ValueError(f"profile {name!r}: needs a host or a start_url")
    return SiteProfile(name=name, **fields)


def load_profiles(path: Path | None) -> dict[str, SiteProfile]:
    """The built-in profiles, overridden and extended by the `[profiles.NAME]` tables of `path`."""
    profiles = dict(BUILTIN)
    if path is None:
        return profiles
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    tables = data.get("profiles", {})
    if not isinstance(tables, dict):
        raise ValueError(f"profiles must be tables ([profiles.NAME]), not {tables!r}")
    for name, table in tables.items():
        profiles[name] = _profile_from_table(name, table, profiles.get(name))
    return profiles


def _profile_for_url(url: str) -> SiteProfile:
    scope = Scope.from_url(url)
    code = scope.site_prefix.removeprefix("/web/") if scope.site_prefix else None
    return SiteProfile(name=site_of(url), host=scope.host, site_code=code, start_url=url)


def resolve_target(target: str, profiles: dict[str, SiteProfile]) -> SiteProfile:
    """A profile name, or an http(s) URL of a site's home or listing page."""
    target = target.strip()
    if target in profiles:
        return profiles[target]
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.netloc:
        return _profile_for_url(target)
    names = ", ".join(sorted(profiles))
    raise ValueError(f"unknown target {target!r}: give an http(s) URL or a profile name ({names})")


def split_arguments(value: str | list[str] | None) -> list[str]:
    """A spider argument's values: one string (``-a targets=a,b`` or ``"a b"``) or a list."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    return [part for item in value for part in re.split(r"[,\s]+", item) if part]


def resolve_targets(
    targets: str | list[str] | None, profiles_file: str | Path | None
) -> list[SiteProfile]:
    """The sites a spider's ``targets`` and ``profiles_file`` arguments name (at least one)."""
    profiles = load_profiles(Path(profiles_file) if profiles_file else None)
    sites = [resolve_target(target, profiles) for target in split_arguments(targets)]
    if not sites:
        raise ValueError("no targets: give URLs or profile names")
    return sites
