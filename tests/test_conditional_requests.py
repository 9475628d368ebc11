"""Re-crawls ask "has it changed?": the validators of the stored capture are sent, and a 304
is archived as a 304, distinct from a page sent again whole (identical-payload revisit).

Each mode crawls a replica twice into one collection: ``conditional`` answers the validators
with 304, ``ignored`` (``--no-conditional``) ignores them as many portals do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from crawler.urls import UrlKind, article_key, classify
from tests.captures import IDENTICAL, NOT_MODIFIED, captures_by_uri, records
from tests.conftest import LOOPBACK_SETTINGS, run_cli
from tests.replica_process import running_replica

T = TypeVar("T")


@dataclass(frozen=True)
class Recrawl:
    mode: str
    """``conditional`` (the replica answers validators with 304) or ``ignored``."""
    base: str
    """The replica's base URL without the trailing slash."""
    articles: set[str]
    """Keys of the site's real articles (soft 404s have no validators)."""
    first: list[Path]
    """WARC files of the first run."""
    second: list[Path]
    """WARC files the second run added."""
    requests: list[dict[str, Any]]
    """What the replica received during the second run."""


def warc_files(directory: Path) -> list[Path]:
    return sorted((directory / "warc").glob("*.warc.gz"))


@pytest.fixture(scope="module", params=["conditional", "ignored"])
def recrawl(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Recrawl]:
    flags = [] if request.param == "conditional" else ["--no-conditional"]
    directory = tmp_path_factory.mktemp(request.param)
    with running_replica("--articles", "20", *flags) as replica:
        manifest = replica.manifest()
        soft = set(manifest["soft404"])
        urls = {a["url"] for a in manifest["articles"] if a["site"] == "hlv"} - soft
        articles = {article_key(url) for url in urls}
        command = ("crawl", f"{replica.url}web/hlv", "--out", str(directory), *LOOPBACK_SETTINGS)
        assert run_cli(*command).returncode == 0
        first = warc_files(directory)
        replica.reset()
        again = run_cli(*command)
        assert again.returncode == 0, again.stderr
        second = [path for path in warc_files(directory) if path not in first]
        yield Recrawl(
            request.param,
            replica.url.rstrip("/"),
            articles,
            first,
            second,
            replica.requests()["requests"],
        )


def by_article(pairs: Iterable[tuple[str, T]]) -> dict[str, T]:
    """Values by article key, whatever URL form an article was requested under."""
    return {article_key(url): value for url, value in pairs if classify(url) is UrlKind.ARTICLE}


def stored_validators(warcs: list[Path]) -> dict[str, tuple[str, str]]:
    """(ETag, Last-Modified) of each article the first run stored whole."""
    return by_article(
        (
            record.rec_headers.get_header("WARC-Target-URI"),
            (
                record.http_headers.get_header("ETag"),
                record.http_headers.get_header("Last-Modified"),
            ),
        )
        for record in records(warcs, "response")
        if record.http_headers.get_header("ETag")
    )


def test_articles_are_asked_with_the_stored_validators(recrawl: Recrawl) -> None:
    stored = stored_validators(recrawl.first)
    assert recrawl.articles <= set(stored), "the replica gives every article validators"
    asked = by_article((recrawl.base + r["target"], r["headers"]) for r in recrawl.requests)
    for key in recrawl.articles:
        etag, last_modified = stored[key]
        assert asked[key].get("If-None-Match") == etag, key
        assert asked[key].get("If-Modified-Since") == last_modified, key


def test_only_articles_are_asked_conditionally(recrawl: Recrawl) -> None:
    conditional = [
        recrawl.base + r["target"]
        for r in recrawl.requests
        if "If-None-Match" in r["headers"] or "If-Modified-Since" in r["headers"]
    ]
    assert all(classify(url) is UrlKind.ARTICLE for url in conditional), conditional
    assert {article_key(url) for url in conditional} == recrawl.articles


def test_request_records_show_the_validators_sent(recrawl: Recrawl) -> None:
    written = by_article(
        (record.rec_headers.get_header("WARC-Target-URI"), record.http_headers)
        for record in records(recrawl.second, "request")
    )
    stored = stored_validators(recrawl.first)
    for key in recrawl.articles:
        assert written[key].get_header("If-None-Match") == stored[key][0], key
        assert written[key].get_header("If-Modified-Since") == stored[key][1], key


def test_unchanged_articles_are_archived_as_the_server_answered(recrawl: Recrawl) -> None:
    kinds = by_article(captures_by_uri(recrawl.second).items())
    expected = {"conditional": NOT_MODIFIED, "ignored": IDENTICAL}[recrawl.mode]
    assert {kinds[key] for key in recrawl.articles} == {expected}, kinds
