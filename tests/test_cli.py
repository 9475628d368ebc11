"""The ``portal-archiver`` command as a user meets it: help, exit statuses, clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from archive.reader import iter_records
from crawler.commands import stop_process
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli
from tests.golden import SPECIMENS
from tests.replica_process import running_replica

SEED_PATH = "/web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"
SEED_SPECIMEN = SPECIMENS / "a01-dtp.json"


def responses(directory: Path) -> list:
    return list(iter_records(sorted((directory / "warc").glob("*.warc.gz"))))


def report(directory: Path) -> dict:
    return json.loads((directory / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("command", ["fetch", "crawl", "extract", "index", "demo", "replica"])
def test_every_subcommand_has_help(command: str) -> None:
    overview = run_cli("--help")
    assert overview.returncode == 0 and command in overview.stdout
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "usage: portal-archiver " + command in result.stdout


def test_console_script_is_installed() -> None:
    script = shutil.which("portal-archiver") or str(Path(sys.executable).parent / "portal-archiver")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("portal-archiver ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "--out", "x"], "the following arguments are required: TARGET"),
        (["crawl", "no-such-site", "--out", "{tmp}/c"], "no-such-site"),
        (["extract", "{tmp}/missing.warc.gz", "--out", "{tmp}/x.jsonl"], "no such WARC file"),
        (["fetch", "http://127.0.0.1:9/", "--out", "{tmp}/file/sub"], "cannot write to"),
        (["fetch", "http://127.0.0.1:9/", "--out", "{tmp}/c", "-s", "nonsense"], "NAME=VALUE"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_sentence(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = run_cli(*[arg.format(tmp=tmp_path) for arg in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_host_exits_1_and_names_the_url(tmp_path: Path) -> None:
    result = run_cli(
        "fetch", "http://127.0.0.1:9/nothing-here", "--out", str(tmp_path), *LOOPBACK_SETTINGS
    )
    assert result.returncode == 1
    assert "failed (connection-refused): http://127.0.0.1:9/nothing-here" in result.stdout
    assert "Traceback" not in result.stderr
    assert report(tmp_path)["errors_by_kind"] == {"connection-refused": 1}


def test_demo_archives_the_seed_article(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "The seed article, as archived" in result.stdout
    expected = json.loads(SEED_SPECIMEN.read_text(encoding="utf-8"))
    seed = next(item for item in read_items(out) if item["asset_id"] == "4961961")
    assert seed["title"] == expected["title"]
    assert seed["paragraphs"] == expected["paragraphs"] and len(seed["paragraphs"]) == 3
    assert seed["captions"] == expected["captions"] and len(seed["captions"]) == 2
    assert seed["byline"] == "Đăng Khoa"
    raw = (out / "items.jsonl").read_text(encoding="utf-8")
    assert "Đăng Khoa" in raw, "items.jsonl is UTF-8, not ASCII-escaped"
    assert list((out / "warc").glob("*.warc.gz")) and (out / "indexes" / "index.cdxj").exists()
    # The log the summary names is a crawl's log, as the demo is to show one (it was empty).
    (log,) = (out / "logs").glob("*.log")
    assert f"log: {log}" in result.stdout
    assert "Spider opened" in log.read_text(encoding="utf-8")
    first_count = len(read_items(out))
    again = run_cli("demo", "--out", str(out))
    assert again.returncode == 0
    assert len(read_items(out)) == first_count, "a demo directory starts empty again"


def test_fetch_captures_specific_urls_with_retries_and_errors(tmp_path: Path) -> None:
    with running_replica("--articles", "20", "--fail-first", f"{SEED_PATH}=2") as replica:
        seed = f"{replica.url}{SEED_PATH.lstrip('/')}?plidlayout=5101"
        missing = f"{replica.url}web/hlv/khong-ton-tai"
        result = run_cli("fetch", seed, missing, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
    assert result.returncode == 1, "one URL failed"
    assert f"failed (http-404): {missing}" in result.stdout
    items = read_items(tmp_path)
    assert [item["asset_id"] for item in items] == ["4961961"]
    statuses = [(r.url, r.status) for r in responses(tmp_path)]
    assert statuses.count((seed, 500)) == 2, "server errors are archived too"
    assert (seed, 200) in statuses and (missing, 404) in statuses
    images = [image["url"] for image in items[0]["images"]]
    assert all((url, 200) in statuses for url in images), "page requisites come along"


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    with running_replica("--articles", "20", "--retry-after", f"{SEED_PATH}=1") as replica:
        seed = f"{replica.url}{SEED_PATH.lstrip('/')}?plidlayout=5101"
        result = run_cli("fetch", seed, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
    assert result.returncode == 0, result.stdout + result.stderr
    stats = report(tmp_path)
    assert stats["responses_by_status"]["503"] == 1
    assert stats["retry_backoff_seconds"] >= 1.0, "waited as long as Retry-After asked"


def test_endless_body_is_cut_at_the_size_limit(tmp_path: Path) -> None:
    with running_replica("--articles", "20") as replica:
        huge = f"{replica.url}documents/huge"
        result = run_cli(
            "fetch",
            huge,
            "--out",
            str(tmp_path),
            *LOOPBACK_SETTINGS,
            "-s",
            "DOWNLOAD_MAXSIZE=2000000",
        )
    assert result.returncode == 1
    assert f"failed (too-large): {huge}" in result.stdout
    assert "Traceback" not in result.stderr


def test_broken_page_is_archived_without_a_crash(tmp_path: Path) -> None:
    with running_replica("--articles", "20", "--broken-html") as replica:
        broken = next(a for a in replica.manifest()["articles"] if a["broken"])
        result = run_cli("fetch", broken["url"], "--out", str(tmp_path), *LOOPBACK_SETTINGS)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert [r.url for r in responses(tmp_path) if r.url == broken["url"]]


def test_soft_404_is_archived_but_gives_no_item(tmp_path: Path) -> None:
    with running_replica("--articles", "20") as replica:
        soft = replica.manifest()["soft404"][0]
        result = run_cli("fetch", soft, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
    assert result.returncode == 0
    assert read_items(tmp_path) == []
    assert report(tmp_path)["articles_rejected"] == {"soft-404": 1}
    # Exit 0 (the page was captured), but the summary says why there is no article.
    assert result.stdout.startswith(
        "articles: 0 archived, 0 unchanged, 1 page gave none (soft-404: 1)\n"
    )
    assert [r.status for r in responses(tmp_path) if r.url == soft] == [200]


def test_index_rebuilds_the_cdxj(tmp_path: Path) -> None:
    with running_replica("--articles", "20") as replica:
        seed = f"{replica.url}{SEED_PATH.lstrip('/')}?plidlayout=5101"
        assert run_cli("fetch", seed, "--out", str(tmp_path), *LOOPBACK_SETTINGS).returncode == 0
    index = tmp_path / "indexes" / "index.cdxj"
    before = index.read_text()
    index.unlink()
    result = run_cli("index", str(tmp_path))
    assert result.returncode == 0
    assert index.read_text() == before


def test_redirects_are_archived_and_followed(tmp_path: Path) -> None:
    with running_replica("--articles", "20") as replica:
        old = f"{replica.url}web/hlv/home"
        result = run_cli("fetch", old, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
    assert result.returncode == 0, result.stdout
    statuses = [(r.url, r.status) for r in responses(tmp_path)]
    assert (old, 301) in statuses
    assert (f"{replica.url}web/hlv/trang-chu", 200) in statuses


def test_theme_assets_unless_switched_off(tmp_path: Path) -> None:
    with running_replica("--articles", "20") as replica:
        seed = f"{replica.url}{SEED_PATH.lstrip('/')}?plidlayout=5101"
        themed = run_cli("fetch", seed, "--out", str(tmp_path / "themed"), *LOOPBACK_SETTINGS)
        plain = run_cli(
            "fetch", seed, "--out", str(tmp_path / "plain"), *LOOPBACK_SETTINGS,
            "-s", "ARCHIVE_THEME_ASSETS=False",
        )  # fmt: skip
    assert plain.returncode == themed.returncode == 0
    css = f"{replica.url}o/dongthap-theme/css/main.css"
    assert not [r for r in responses(tmp_path / "plain") if r.url.startswith(css)]
    assert [r for r in responses(tmp_path / "themed") if r.url.startswith(css) and r.status == 200]


def test_scrapy_list_and_crawl_work_from_the_repository(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    listed = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.stdout.split() == ["fetch", "portal", "recover"]
    with running_replica("--articles", "20") as replica:
        command = [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "portal",
            "-a",
            f"targets={replica.url}web/hlv",
        ]
        command += ["-s", f"ARCHIVE_DIR={tmp_path}", *LOOPBACK_SETTINGS]
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        expected = {
            str(a["asset_id"])
            for a in replica.manifest()["articles"]
            if a["site"] == "hlv" and a["url"] not in replica.manifest()["soft404"]
        }
    assert result.returncode == 0, result.stderr
    assert {item["asset_id"] for item in read_items(tmp_path)} == expected


def test_replica_command_serves_the_portal() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "replica", "--port", "0", "--articles", "10"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"{url}web/hlv", timeout=10
        ) as page:
            assert "Lấp Vò" in page.read().decode("utf-8")
    finally:
        stop_process(process)


def test_demo_never_empties_a_real_collection(tmp_path: Path) -> None:
    (tmp_path / "items.jsonl").write_text("{}\n")
    result = run_cli("demo", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert (tmp_path / "items.jsonl").read_text() == "{}\n"
