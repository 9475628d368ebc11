"""Where each web archive keeps its CDX API and its captures.

``--archive`` takes ``ia`` (the Wayback Machine), ``cc`` (Common Crawl, one source per
chosen crawl) or the URL of any pywb or Wayback-compatible collection. The endpoints of
``ia`` and ``cc`` are settings, so tests (and mirrors) point them elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode, urlsplit

from crawler.recover.cdx import Capture


class Flavour(StrEnum):
    """How an archive's CDX API is asked and how its captures are read."""

    WAYBACK = "wayback"
    """The Wayback Machine's CDX server: JSON rows, ``collapse``, resume keys; ``id_`` replay."""
    PYWB = "pywb"
    """A pywb (or compatible) collection: ``{URL}/cdx`` JSON lines; ``{URL}/{ts}id_/{url}``."""
    COMMON_CRAWL = "cc"
    """Common Crawl: a pywb index per crawl; records by byte range from its WARC files."""


@dataclass(frozen=True, slots=True)
class ArchiveSource:
    """One archive to recover from."""

    name: str
    """``ia``, ``cc/CC-MAIN-2024-10`` or the collection URL: in items and WARC records."""
    flavour: Flavour
    cdx_endpoint: str
    base: str
    """Replay prefix (``{base}{timestamp}id_/{url}``), or Common Crawl's data prefix."""

    def cdx_url(
        self,
        url: str,
        *,
        match: str = "prefix",
        resume_key: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page_size: int = 5000,
        page: int | None = None,
        readable_only: bool = False,
    ) -> str:
        """The CDX query listing the captures of ``url`` (``match``: exact, prefix, host).

        Wayback listings go on with resume keys; Common Crawl's are asked how many pages
        they have, then for each ``page``. ``readable_only`` asks a Wayback
        server to leave out captures listed as redirects and errors (not revisits)."""
        params: list[tuple[str, str]] = [("url", url), ("matchType", match), ("output", "json")]
        if since:
            params.append(("from", since))
        if until:
            params.append(("to", until))
        if self.flavour is Flavour.WAYBACK:
            params.append(("fl", "original,timestamp,statuscode,mimetype,digest,length"))
            if match == "exact":
                # One URL's rows (one urlkey): a row with the payload of the row before it
                # holds nothing new. Not on a listing of many URLs: the server drops a row
                # whose digest is the previous ROW's, whatever its URL, so of two URLs with
                # identical bodies (empty redirects, one page at two addresses) the second
                # would go unlisted. Several collapse params make no pair (a row that any of
                # them drops is dropped), so those listings come whole and the plan drops
                # each URL's repeats (crawler.recover.plan._repeats). Traffic: the server
                # scans the same index lines either way (collapse filters what it read); the
                # extra rows cost more pages of ``page_size`` rows, each one request paced
                # like every other (DOWNLOAD_DELAY, the pauses after 429s), and no capture
                # is fetched for them.
                params.append(("collapse", "digest"))
            params += [("showResumeKey", "true"), ("limit", str(page_size))]
            if resume_key:
                params.append(("resumeKey", resume_key))
            if readable_only:
                params.append(("filter", "!statuscode:[345].."))
        elif self.flavour is Flavour.COMMON_CRAWL:
            # (not asked of other pywb collections: pywb then ignores from and to)
            params.append(("showNumPages", "true") if page is None else ("page", str(page)))
        return f"{self.cdx_endpoint}?{urlencode(params)}"

    def capture_url(self, capture: Capture) -> str:
        """Where the capture's bytes are fetched: its raw (``id_``) memento, or its WARC file."""
        if self.flavour is Flavour.COMMON_CRAWL:
            return f"{self.base}{capture.filename}"
        return f"{self.base}{capture.timestamp}id_/{capture.url}"


def _trimmed(url: str) -> str:
    return url.rstrip("/")


def wayback(endpoint: str) -> ArchiveSource:
    root = _trimmed(endpoint)
    return ArchiveSource("ia", Flavour.WAYBACK, f"{root}/cdx/search/cdx", f"{root}/web/")


def pywb_collection(url: str) -> ArchiveSource:
    root = _trimmed(url)
    return ArchiveSource(root, Flavour.PYWB, f"{root}/cdx", f"{root}/")


def common_crawl(index_template: str, data_url: str, crawl: str) -> ArchiveSource:
    data = data_url if data_url.endswith("/") else data_url + "/"
    return ArchiveSource(
        f"cc/{crawl}", Flavour.COMMON_CRAWL, index_template.format(crawl=crawl), data
    )


def resolve_archives(
    specs: list[str],
    *,
    ia_url: str,
    cc_index: str,
    cc_data: str,
    cc_crawls: list[str],
) -> list[ArchiveSource]:
    """The sources named by ``--archive`` values; ValueError (one sentence) for a bad one."""
    sources: list[ArchiveSource] = []
    for spec in specs:
        spec = spec.strip()
        if spec == "ia":
            sources.append(wayback(ia_url))
        elif spec == "cc":
            if not cc_crawls:
                raise ValueError(
                    "--archive cc needs the crawls to search: --cc-crawl CC-MAIN-YYYY-WW "
                    "(repeatable; see https://index.commoncrawl.org/)"
                )
            sources += [common_crawl(cc_index, cc_data, crawl) for crawl in cc_crawls]
        elif urlsplit(spec).scheme in ("http", "https") and urlsplit(spec).netloc:
            sources.append(pywb_collection(spec))
        else:
            raise ValueError(
                f"unknown archive {spec!r}: give ia, cc, or the URL of a pywb/Wayback collection"
            )
    if not sources:
        raise ValueError("no archive to recover from: give --archive ia, cc or a collection URL")
    names = [source.name for source in sources]
    return [source for i, source in enumerate(sources) if source.name not in names[:i]]
