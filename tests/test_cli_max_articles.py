"""``crawl --max-articles N``: a crawl that stops at the limit the user asked for is finished
(exit 0, nothing "UNFINISHED"), says that more is left, and the same command run again archives
the next N articles instead of fetching the first N again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
from tests.replica_process import ReplicaHandle, running_replica

LIMIT = 3


def capped_crawl(replica: ReplicaHandle, out: Path) -> str:
    result = run_cli(
        "crawl", f"{replica.url}web/hlv", "--out", str(out), "--max-articles", str(LIMIT),
        *LOOPBACK_SETTINGS,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "UNFINISHED" not in result.stdout
    return result.stdout


def fetched_articles(replica: ReplicaHandle, keys: dict[str, str]) -> set[str]:
    """URLs of the articles ``keys`` (URL path and query → URL) the replica was asked for."""
    targets = {entry["target"] for entry in replica.requests()["requests"]}
    return {url for target, url in keys.items() if target in targets}


def test_the_next_run_of_a_capped_crawl_archives_the_next_articles(tmp_path: Path) -> None:
    with running_replica("--articles", "20") as replica:
        manifest = replica.manifest()
        soft = set(manifest["soft404"])
        site = f"{replica.url}web/hlv/"
        listed = [a["url"] for a in manifest["articles"] if a["url"].startswith(site)]
        paths = {url.removeprefix(replica.url.rstrip("/")): url for url in listed}
        assert len(set(listed) - soft) > 2 * LIMIT

        first = capped_crawl(replica, tmp_path)
        assert f"limit reached: --max-articles {LIMIT}" in first
        assert f"run the same command again for the next {LIMIT}" in first
        report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
        assert report["finish_reason"] == "finished" and report["limit_reached"]
        archived = {item["url"] for item in read_items(tmp_path)}
        assert len(archived) == LIMIT

        replica.reset()
        capped_crawl(replica, tmp_path)
        items = read_items(tmp_path)
        assert len(items) == 2 * LIMIT and all(item["version"] == 1 for item in items)
        assert not fetched_articles(replica, paths) & archived, "no article fetched again"
