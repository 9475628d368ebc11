"""``portal-archiver`` runs as a user sees them: the console, the log file, the summary, the
options that bound a crawl, and nothing written or listening outside the collection."""

from __future__ import annotations

import errno
import itertools
import json
import os
import pty
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from crawler.progress import ProgressExtension
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli, run_cli_raising
from tests.replica_process import ReplicaHandle, running_replica

SEED_PATH = "web/hlv/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id/4961961"
PROGRESS = re.compile(
    r"done (\d+) articles \((\d+) new\) \| queued (\d+) \| failed (\d+) \| "
    r"(\d+) responses, [\d.]+/s \| [\d.]+ MB"
)
QUIET = LOOPBACK_SETTINGS[:-2]
"""The loopback settings, without their LOG_LEVEL: the default level is what is tested."""
assert LOOPBACK_SETTINGS[-2:] == ("-s", "LOG_LEVEL=WARNING")


def report(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "report.json").read_text(encoding="utf-8"))


def log_text(directory: Path) -> str:
    files = sorted((directory / "logs").glob("*.log"))
    assert files, "every run writes a log file in the collection"
    return files[-1].read_text(encoding="utf-8")


def seed(replica: ReplicaHandle) -> str:
    return f"{replica.url}{SEED_PATH}?plidlayout=5101"


def test_quiet_console_full_log_file_and_nothing_outside(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "c"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
    with running_replica("--articles", "20") as replica:
        command = [sys.executable, "-m", "crawler.cli", "fetch", seed(replica)]
        result = subprocess.run(
            [*command, "--out", str(out), *QUIET],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "by default only the progress line (none in 1 s) and summary"
    assert result.stdout.startswith("articles: 1 archived")
    assert len(result.stdout.splitlines()) <= 8
    log = log_text(out)
    assert "Scrapy 2." in log and "Enabled extensions" in log and "Dumping Scrapy stats" in log
    assert f"log: {out / 'logs'}" in result.stdout
    extensions = log.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "RemoteControl" not in extensions and "Telnet" not in extensions
    assert "Remote control" not in log
    assert list(home.rglob("*")) == [], "nothing written outside the collection"


def test_verbose_shows_the_log(tmp_path: Path) -> None:
    with running_replica("--articles", "20") as replica:
        result = run_cli("fetch", seed(replica), "--out", str(tmp_path), "-v", *QUIET)
    assert result.returncode == 0
    assert "Enabled extensions" in result.stderr and "Dumping Scrapy stats" in result.stderr


def test_progress_lines_say_what_is_done_queued_and_failed(tmp_path: Path) -> None:
    """Outside a terminal: a line every PORTAL_PROGRESS_INTERVAL, on stderr and in the log."""
    with running_replica("--articles", "20", "--slow", f"/{SEED_PATH}=1.5") as replica:
        missing = f"{replica.url}web/hlv/khong-ton-tai"
        result = run_cli(
            "fetch", seed(replica), missing, "--out", str(tmp_path), *QUIET,
            "-s", "PORTAL_PROGRESS_INTERVAL=0.2",
        )  # fmt: skip
    assert result.returncode == 1
    lines = [PROGRESS.fullmatch(line) for line in result.stderr.splitlines()]
    assert lines and all(lines), result.stderr
    counts = [tuple(int(n) for n in match.groups()) for match in lines if match]
    assert any(done == 0 and queued >= 1 for done, _, queued, _, _ in counts), "seed in flight"
    assert any(failed == 1 for _, _, _, failed, _ in counts), "the 404 is counted at once"
    for earlier, later in itertools.pairwise(counts):
        for column in (0, 1, 3, 4):  # done, new, failed and responses only grow
            assert earlier[column] <= later[column], counts
    assert max(done for done, *_ in counts) <= 1 and max(c[3] for c in counts) <= 1
    assert log_text(tmp_path).count("Progress: done") == len(lines)


def test_progress_line_reports_the_stats() -> None:
    stats = {
        "articles/archived": 7,
        "articles/unchanged": 3,
        "errors/total": 2,
        "response_received_count": 40,
        "archive/bytes_written": 2_500_000,
    }
    scheduler = [1] * 5
    engine = SimpleNamespace(scheduler=scheduler, downloader=SimpleNamespace(active={1, 2}))
    crawler = SimpleNamespace(
        stats=SimpleNamespace(get_stats=lambda: stats), engine=engine, spider=None
    )
    extension = ProgressExtension(crawler, 30.0, None)  # type: ignore[arg-type]
    match = PROGRESS.fullmatch(extension.line())
    assert match is not None, extension.line()
    assert match.groups() == ("10", "7", "7", "2", "40")
    assert extension.line().endswith("| 2.5 MB")


def test_progress_on_a_terminal_is_never_glued_to_log_lines(tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    with running_replica("--articles", "20", "--slow", f"/{SEED_PATH}=2.5") as replica:
        missing = f"{replica.url}web/hlv/khong-ton-tai"
        command = [sys.executable, "-m", "crawler.cli", "fetch", seed(replica), missing]
        command += ["--out", str(tmp_path), "-v", *QUIET]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=secondary, text=True)
        os.close(secondary)
        stdout, _ = process.communicate(timeout=120)
    shown = _read_all(primary)
    assert process.returncode == 1, stdout
    drawn = shown.count("\r\x1b[K")
    assert drawn >= 2, "a live line, redrawn"
    for line in shown.replace("\r\n", "\n").split("\n"):
        visible = line.rsplit("\r\x1b[K", 1)[-1]
        assert not (PROGRESS.search(visible) and re.search(r"\d\d:\d\d:\d\d", visible)), line
    assert any(PROGRESS.fullmatch(part) for part in shown.split("\r\x1b[K"))


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError as error:
            # EIO: the terminal's other side is closed, all was read; anything else is a failure.
            if error.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def test_summary_counts_every_warc_byte(tmp_path: Path) -> None:
    """Without requisites the last record written is the article's metadata record."""
    with running_replica("--articles", "20") as replica:
        result = run_cli(
            "fetch", seed(replica), "--out", str(tmp_path), *LOOPBACK_SETTINGS,
            "-s", "ARCHIVE_REQUISITES=False",
        )  # fmt: skip
    assert result.returncode == 0
    on_disk = sum(path.stat().st_size for path in (tmp_path / "warc").glob("*.warc.gz"))
    assert report(tmp_path)["warc_bytes"] == on_disk
    assert f"WARC bytes: {on_disk:,}" in result.stdout


def test_crawl_options_through_the_command_line(replica: ReplicaHandle, tmp_path: Path) -> None:
    target = f"{replica.url}web/hlv"
    articles = [a for a in replica.manifest()["articles"] if a["url"].startswith(target + "/")]
    dates = sorted((a["date"][:10] for a in articles), reverse=True)
    since = dates[len(dates) // 4]
    bounded = run_cli(
        "crawl", target, "--out", str(tmp_path / "since"), "--since", since, *LOOPBACK_SETTINGS
    )
    assert bounded.returncode == 0, bounded.stderr
    items = read_items(tmp_path / "since")
    assert items and len(items) < len(articles)
    dated = {str(a["asset_id"]): a["date"][:10] for a in articles}
    assert all(dated[item["asset_id"]] >= since for item in items)

    capped = run_cli(
        "crawl", target, "--out", str(tmp_path / "max"), "--max-articles", "3", *LOOPBACK_SETTINGS
    )
    assert capped.returncode == 0, capped.stderr
    assert 1 <= len(read_items(tmp_path / "max")) <= 3

    profiles = tmp_path / "sites.toml"
    profiles.write_text(f'[profiles.mine]\nstart_url = "{target}"\n', encoding="utf-8")
    assert tomllib.loads(profiles.read_text())["profiles"]["mine"]["start_url"] == target
    named = run_cli(
        "crawl", "mine", "--profiles", str(profiles), "--out", str(tmp_path / "p"),
        "--max-articles", "2", *LOOPBACK_SETTINGS,
    )  # fmt: skip
    assert named.returncode == 0, named.stderr
    mine = read_items(tmp_path / "p")
    assert mine and all(item["url"].startswith(target + "/") for item in mine)


def test_expected_failures_stay_off_the_console(tmp_path: Path) -> None:
    """Scrapy logs a refused connection as an ERROR; the summary names the URL and points to
    the log instead."""
    url = "http://127.0.0.1:9/nothing-here"
    result = run_cli("fetch", url, "--out", str(tmp_path), *QUIET, "-s", "RETRY_TIMES=0")
    assert result.returncode == 1
    assert result.stderr == ""
    assert f"failed (connection-refused): {url}" in result.stdout
    assert re.search(r"^log: .*\.log \(\d+ errors? logged there\)$", result.stdout, re.M)


# A parser, then a store, that raise on one page (``run_cli_raising``): Scrapy logs the
# exception and goes on; the run must say the URL failed.
SEED_ID = "/id/4961961?"


def _fetch_with_a_fault(target: str, tmp_path: Path) -> tuple[Any, str, str]:
    with running_replica("--articles", "20") as replica:
        other = replica.manifest()["articles"][0]["url"]
        assert SEED_ID not in other
        args = ("fetch", seed(replica), other, "--out", str(tmp_path), *LOOPBACK_SETTINGS)
        return run_cli_raising(target, SEED_ID, *args), seed(replica), other


def test_a_callback_that_raises_fails_its_url_and_the_run(tmp_path: Path) -> None:
    result, failed, other = _fetch_with_a_fault("crawler.extract.parse_article", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"failed (callback-error): {failed}" in result.stdout
    found = report(tmp_path)
    assert found["errors_by_kind"] == {"callback-error": 1}
    assert found["failed_urls"] == [{"url": failed, "kind": "callback-error"}]
    # The page's bytes are archived all the same (re-extracted later), the other's item made.
    assert [item["url"] for item in read_items(tmp_path)] == [other]
    assert "RuntimeError: a fault on one page" in log_text(tmp_path)


def test_an_item_the_pipeline_fails_on_fails_its_url_and_the_run(tmp_path: Path) -> None:
    result, failed, other = _fetch_with_a_fault("crawler.archiving.encode_item", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"failed (item-error): {failed}" in result.stdout
    assert report(tmp_path)["errors_by_kind"] == {"item-error": 1}
    assert [item["url"] for item in read_items(tmp_path)] == [other]
