"""A tiny run of ``bench/benchmark.py``: every figure is there (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler import settings as project_settings
from tests.conftest import tool_missing

REPO = Path(__file__).resolve().parents[1]
HAS_TRAFILATURA = importlib.util.find_spec("trafilatura") is not None


def require_trafilatura() -> None:
    """The comparisons need trafilatura (in the ``test`` extra): missing in CI is a failure."""
    if not HAS_TRAFILATURA:
        tool_missing("trafilatura is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("bench")
    out = work / "results.json"
    # A workdir kept from an earlier run (--workdir is for keeping them): its shipped-crawl
    # collection must not be crawled into again, or every figure of it counts two crawls.
    leftover = work / "run" / "full" / "warc"
    leftover.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "data" / "warc" / "wget-chunked.warc.gz", leftover)
    command = [sys.executable, str(REPO / "bench" / "benchmark.py"), "--articles", "40"]
    command += ["--rounds", "1", "--rss-articles", "0", "--serve-articles", "60"]
    command += ["--recover-articles", "5"]
    command += ["--json", str(out)]
    command += ["--workdir", str(work / "run")]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Budgets:" in done.stdout
    return json.loads(out.read_text(encoding="utf-8"))


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@pytest.mark.parametrize("side", ["plain", "plain_tuned", "ours_html_only", "ours_full"])
def test_each_crawl_has_its_costs(results: dict[str, Any], side: str) -> None:
    figures = results["crawl"][side]
    for name in ("cpu_s", "wall_s", "peak_rss_mb", "cpu_s_per_article_page"):
        assert _positive(figures[name]), name
    assert _positive(figures["article_pages_per_s"])
    assert figures["exit_code"] == 0


def test_the_baseline_fetches_the_same_pages(results: dict[str, Any]) -> None:
    crawl = results["crawl"]
    assert crawl["plain"]["article_pages"] == crawl["ours_html_only"]["article_pages"]
    assert crawl["plain"]["article_pages"] >= crawl["replica_articles"]
    assert crawl["plain"]["requests"] == crawl["ours_html_only"]["requests"]
    # Images and attached files are what the shipped crawl adds.
    assert crawl["ours_full"]["requests"] > crawl["ours_html_only"]["requests"]


def test_the_tuned_baseline_is_the_plain_spider_with_our_settings(
    results: dict[str, Any],
) -> None:
    crawl = results["crawl"]
    assert crawl["plain"]["gc_collections"] == {}
    assert crawl["plain"]["concurrent_items"] == 100  # Scrapy's default
    assert set(crawl["plain_tuned"]["gc_collections"]) == {"0", "1", "2"}
    assert crawl["plain_tuned"]["concurrent_items"] == project_settings.CONCURRENT_ITEMS
    assert crawl["plain_tuned"]["article_pages"] == crawl["plain"]["article_pages"]
    assert len(crawl["rounds"]) == 1


def test_ratios_and_warc_size(results: dict[str, Any]) -> None:
    crawl = results["crawl"]
    assert _positive(crawl["cpu_ratio_html_only"])
    assert _positive(crawl["cpu_ratio_vs_tuned"])
    assert _positive(crawl["cpu_ratio_full"])
    full, pages_only = crawl["ours_full"], crawl["ours_html_only"]
    assert full["warc_bytes_per_article_page"] > pages_only["warc_bytes_per_article_page"] > 0


def test_reextraction_figures(results: dict[str, Any]) -> None:
    require_trafilatura()
    reextract = results["reextract"]
    archived = results["crawl"]["ours_full"]["articles_archived"]
    extract = reextract["extract_full_warcs"]
    assert extract["articles"] == archived
    assert extract["identical_to_crawl"] is True
    assert reextract["archived_article_pages"] == archived
    assert _positive(extract["cpu_ms_per_article"])
    assert reextract["ours_parse_only"]["pages"] == archived
    assert reextract["trafilatura"]["pages"] == archived
    (only_round,) = reextract["rounds"]
    assert only_round["extract_full_warcs"] == extract
    trafilatura_ms = reextract["trafilatura"]["cpu_ms_per_page"]
    assert reextract["speedup"] == pytest.approx(trafilatura_ms / extract["cpu_ms_per_article"])
    assert reextract["speedup_range"] == [reextract["speedup"]] * 2


def test_quality_table(results: dict[str, Any]) -> None:
    require_trafilatura()
    ours, trafilatura = results["quality"]["ours"], results["quality"]["trafilatura"]
    assert ours["pages"] == trafilatura["pages"] == len(ours["per_page"]) > 0
    # The specimens are what our parser is built and golden-tested on.
    for name in ("title_accuracy", "byline_accuracy", "caption_accuracy", "body_token_f1"):
        assert ours[name] >= max(0.9, trafilatura[name]), name
    assert ours["leaks"] == ours["pages_with_leaks"] == 0
    assert trafilatura["leaks"] >= trafilatura["pages_with_leaks"]


def test_wacz_against_copying(results: dict[str, Any]) -> None:
    wacz = results["wacz"]
    (only_round,) = wacz["rounds"]
    assert only_round["wacz_exit_code"] == wacz["small"]["wacz_exit_code"] == 0
    for name in ("warc_mb", "copy_mb_per_s", "wacz_mb_per_s", "time_ratio_vs_copy"):
        assert _positive(wacz[name]), name
    assert wacz["time_ratio_vs_copy_range"] == [wacz["time_ratio_vs_copy"]] * 2
    assert _positive(wacz["rehash_time_ratio_vs_copy"]) and _positive(wacz["rehash_mb_per_s"])
    assert only_round["rehash_exit_code"] == 0
    # A crawl's collection: every WARC file is packaged with the sums its writer recorded.
    assert wacz["recorded_files"] == wacz["warc_files"] > 0
    assert wacz["warc_mb"] == pytest.approx(
        results["crawl"]["ours_full"]["warc_bytes"] / 2**20, rel=0.01
    )
    # The pages-only collection is the smaller one the memory is compared with.
    assert wacz["size_ratio_large_vs_small"] > 1
    assert wacz["rss_ratio_large_vs_small"] == pytest.approx(
        wacz["peak_rss_mb"] / wacz["small"]["wacz_peak_rss_mb"]
    )


def test_serve_figures(results: dict[str, Any]) -> None:
    serve = results["serve"]
    assert serve["articles"] == 60
    assert 0 < serve["build_lines"] <= 60
    for name in ("build_s", "search_p50_ms", "search_p95_ms", "server_peak_rss_mb"):
        assert _positive(serve[name]), name


def test_recover_figures(results: dict[str, Any]) -> None:
    recover = results["recover"]
    (only_round,) = recover["rounds"]
    for side in ("crawl", "recover"):
        assert only_round[side]["exit_code"] == 0
        assert only_round[side]["captures"] > 0 and only_round[side]["articles"] > 0
        assert _positive(only_round[side]["cpu_ms_per_capture"]), side
    assert recover["ratio"] == pytest.approx(
        only_round["recover"]["cpu_ms_per_capture"] / only_round["crawl"]["cpu_ms_per_capture"]
    )
    assert recover["ratio_range"] == [recover["ratio"]] * 2


def _verdict(budget: dict[str, Any]) -> bool:
    value, limit = budget["value"], budget["limit"]
    return value <= limit if budget["at_most"] else value >= limit


def test_budgets(results: dict[str, Any]) -> None:
    require_trafilatura()
    budgets = results["budgets"]
    assert set(budgets) == {
        "crawl_cpu_ratio",
        "reextract_speedup",
        "rss_mb",
        "serve_build_s",
        "serve_search_p95_ms",
        "wacz_time_ratio",
        "wacz_rss_ratio",
        "recover_cpu_ratio",
    }
    crawl, speedup = budgets["crawl_cpu_ratio"], budgets["reextract_speedup"]
    assert (crawl["value"], crawl["limit"]) == (results["crawl"]["cpu_ratio_html_only"], 1.2)
    assert (speedup["value"], speedup["limit"]) == (results["reextract"]["speedup"], 10.0)
    assert crawl["pass"] is _verdict(crawl)
    assert speedup["pass"] is _verdict(speedup)
    assert budgets["serve_search_p95_ms"]["value"] == results["serve"]["search_p95_ms"]
    assert budgets["serve_build_s"]["pass"] is _verdict(budgets["serve_build_s"])
    wacz = results["wacz"]
    assert budgets["wacz_time_ratio"]["value"] == wacz["time_ratio_vs_copy"]
    assert budgets["wacz_rss_ratio"]["value"] == wacz["rss_ratio_large_vs_small"]
    assert budgets["recover_cpu_ratio"]["value"] == results["recover"]["ratio"]
    for name in ("wacz_time_ratio", "wacz_rss_ratio", "recover_cpu_ratio"):
        assert budgets[name]["pass"] is _verdict(budgets[name]), name
    assert budgets["rss_mb"]["pass"] is None  # skipped with --rss-articles 0
    assert results["rss"] is None
