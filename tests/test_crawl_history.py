"""Each run's report kept in the collection's crawl history, shown by the reading room, and the
search index brought up to date by the run itself (issue 15): through the command line, against
a replica that publishes a new edition between two crawls."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lxml import html

from archive.search import Query, SearchIndex
from reading_room.app import create_app
from reading_room.shelf import shelves
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
from tests.replica_process import ReplicaHandle, running_replica

HISTORY_NAME = re.compile(r"\d{8}T\d{6}\.\d{3}Z-portal(-\d+)?\.json")


def crawl(replica: ReplicaHandle, directory: Path) -> None:
    result = run_cli("crawl", f"{replica.url}web/hlv", "--out", str(directory), *LOOPBACK_SETTINGS)
    assert result.returncode == 0, result.stdout + result.stderr


def history(directory: Path) -> list[dict[str, Any]]:
    paths = sorted((directory / "reports").glob("*.json"))
    assert all(HISTORY_NAME.fullmatch(path.name) for path in paths), paths
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def hlv_articles(replica: ReplicaHandle) -> list[dict[str, Any]]:
    manifest = replica.manifest()
    soft = set(manifest["soft404"])
    return [a for a in manifest["articles"] if a["site"] == "hlv" and a["url"] not in soft]


def found(directory: Path, title: str) -> list[str]:
    """URLs the search index finds for ``title``, read as the crawl left it (not updated)."""
    with SearchIndex(directory) as index:
        return [hit.url for hit in index.search(Query(f'"{title}"'), facets=False).hits]


def test_each_run_adds_its_report_and_its_articles_to_the_search(tmp_path: Path) -> None:
    with running_replica("--articles", "20") as replica:
        crawl(replica, tmp_path)
        first_articles = hlv_articles(replica)
        [first] = history(tmp_path)
        assert first["articles_new"] == len(first_articles) and first["articles_edited"] == 0
        assert first["spider"] == "portal" and first["finish_reason"] == "finished"
        assert first["remaining"] == 0 and first["failed"] == 0
        assert first["started_at"] <= first["finished_at"]
        article = first_articles[0]
        assert found(tmp_path, article["title"]) == [article["url"]]

        replica.set_edition(1)
        crawl(replica, tmp_path)
        articles = hlv_articles(replica)
        new = [a for a in articles if a["new"]]
        edited = [a for a in articles if a["edited"]]
        assert new and edited
        runs = history(tmp_path)
        assert runs[0] == first and len(runs) == 2
        second = runs[1]
        assert second["articles_new"] == len(new)
        assert second["articles_edited"] == len(edited)
        assert second["articles_unchanged"] == len(first_articles) - len(edited)
        assert first["finished_at"] <= second["started_at"]
        report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
        assert report == second, "report.json is the last run's report"
        for article in new + edited:
            assert found(tmp_path, article["title"]) == [article["url"]]
    assert len(read_items(tmp_path)) == len(first_articles) + len(new) + len(edited)
    check_the_coverage_page(tmp_path, [first, second])


def check_the_coverage_page(directory: Path, runs: list[dict[str, Any]]) -> None:
    """One row per run (report.json, the last run's, is not shown twice), oldest first."""
    with create_app(shelves([directory])).test_client() as client:
        page = html.fromstring(client.get("/coverage").text)
    rows = page.xpath("//table[@class='history']/tbody/tr")
    shown = [[cell.text_content() for cell in row.xpath("td")] for row in rows]
    expected = [
        [
            run["finished_at"],
            "portal",
            str(run["articles_new"]),
            str(run["articles_edited"]),
            str(run["articles_unchanged"]),
            "0",
            "0",
            "finished",
        ]
        for run in runs
    ]
    assert shown == expected
