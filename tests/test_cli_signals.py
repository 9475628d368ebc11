"""Stopping a crawl: the first SIGTERM/SIGINT within seconds, with an "unfinished" summary and
a collection that the same command, run again, completes; a second signal at once.

Some article pages of the replica answer only after a minute, so requests are in flight when
the signal comes: Scrapy's own graceful stop would wait for them (DOWNLOAD_TIMEOUT and its
retries). The waits below are bounds that catch a hang, far above a clean stop."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from archive.reader import iter_records
from archive.search import Query, SearchIndex
from crawler import settings as project_settings
from replica.server import Faults, ReplicaServer, start
from replica.server import Options as ReplicaOptions
from tests.conftest import LOOPBACK_SETTINGS, read_items, run_cli

STALL = 60.0
"""Seconds the stalled pages take to answer."""
STOP_BOUND = 30.0
"""How long a stopped crawl may take to exit: a hang, or waiting for the stalled pages, fails."""


@contextmanager
def stalling_replica() -> Iterator[tuple[ReplicaServer, list[str]]]:
    """A replica in this process whose first few Lấp Vò articles stall; yields it and the
    stalled URLs."""
    server = start(options=ReplicaOptions(articles=30))
    try:
        articles = _site_articles(server)
        stalled = [url.removeprefix(server.url.rstrip("/")) for url in articles[:3]]
        options = dataclasses.replace(server.options, slow=dict.fromkeys(stalled, STALL))
        server.faults = Faults(options)
        yield server, articles
    finally:
        server.shutdown()
        server.server_close()


def _site_articles(server: ReplicaServer) -> list[str]:
    manifest = json.loads(server.manifest_json())
    target = server.url + "web/hlv/"
    soft = set(manifest["soft404"])
    return [
        a["url"]
        for a in manifest["articles"]
        if a["url"].startswith(target) and a["url"] not in soft
    ]


def start_crawl(server: ReplicaServer, out: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "crawler.cli", "crawl", server.url + "web/hlv"]
    command += ["--out", str(out), *LOOPBACK_SETTINGS]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_stalled_requests(server: ReplicaServer, stalled: list[str]) -> None:
    """Until the crawl has asked for a stalled page (it is then in flight)."""
    paths = {url.removeprefix(server.url.rstrip("/")) for url in stalled}
    deadline = time.monotonic() + 60
    while not paths & {entry["target"] for entry in server.log.snapshot()["requests"]}:
        assert time.monotonic() < deadline, "the crawl never reached the stalled pages"
        time.sleep(0.1)


def stop(process: subprocess.Popen[str], *signals: int) -> tuple[str, str]:
    for signum in signals:
        process.send_signal(signum)
        time.sleep(0.05)
    try:
        return process.communicate(timeout=STOP_BOUND)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("the crawl did not stop within seconds of the signal") from None


def finish_and_check(server: ReplicaServer, out: Path, articles: list[str]) -> None:
    """The rerun, with nothing stalling, completes the crawl: every article once."""
    server.faults = Faults(dataclasses.replace(server.options, slow={}))
    rerun = run_cli("crawl", server.url + "web/hlv", "--out", str(out), *LOOPBACK_SETTINGS)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "UNFINISHED" not in rerun.stdout
    items = read_items(out)
    keys = collections.Counter(item["key"] for item in items)
    assert max(keys.values()) == 1, "no article archived twice"
    assert {item["url"] for item in items} >= set(articles)
    records = list(iter_records(sorted((out / "warc").glob("*.warc.gz"))))
    assert records, "every WARC file reads to its end"


def listening_ports(pid: int) -> list[int]:
    """TCP ports the process listens on, from /proc (Linux)."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            target = os.readlink(fd)
            if target.startswith("socket:["):
                sockets.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in sockets:  # 0A: LISTEN
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_sigterm_stops_within_seconds_and_a_rerun_finishes(tmp_path: Path) -> None:
    with stalling_replica() as (server, articles):
        process = start_crawl(server, tmp_path)
        wait_for_stalled_requests(server, articles[:3])
        assert listening_ports(process.pid) == [], "no remote control, no telnet console"
        stdout, stderr = stop(process, signal.SIGTERM)
        assert process.returncode == 1, stdout + stderr
        assert "Traceback" not in stderr
        assert "the crawl did not start" not in stderr
        assert "UNFINISHED: stopped by SIGTERM" in stdout
        assert "Run the same command again to finish it." in stdout
        assert "Received SIGTERM: stopping" in stderr
        stopped = report(tmp_path)
        assert stopped["finish_reason"] == "shutdown" and stopped["stopped_by"] == "SIGTERM"
        assert not stopped["stopped_at_once"]
        assert stopped["abandoned_requests"] >= 1
        assert stopped["errors"] == 0, "abandoned requests are owed, not failed"
        assert not list((tmp_path / "warc").glob("*.open")), "the WARC file was closed"
        [kept] = (tmp_path / "reports").glob("*-portal.json")
        assert json.loads(kept.read_text(encoding="utf-8")) == stopped, "kept in the history"
        finish_and_check(server, tmp_path, articles)
        assert len(list((tmp_path / "reports").glob("*.json"))) == 2


def test_second_signal_stops_at_once_and_a_rerun_finishes(tmp_path: Path) -> None:
    with stalling_replica() as (server, articles):
        process = start_crawl(server, tmp_path)
        wait_for_stalled_requests(server, articles[:3])
        stdout, stderr = stop(process, signal.SIGINT, signal.SIGINT)
        assert process.returncode == 1, stdout + stderr
        assert "Traceback" not in stderr
        assert "UNFINISHED: stopped by SIGINT" in stdout
        assert "Run the same command again to finish it." in stdout
        finish_and_check(server, tmp_path, articles)


def test_a_retry_waiting_out_its_backoff_is_abandoned_and_owed(tmp_path: Path) -> None:
    """A retry waiting for the server's Retry-After (here two minutes) does not hold the stop:
    it is abandoned within PORTAL_STOP_TIMEOUT (2 s here), and the rerun fetches it."""
    with stalling_replica() as (server, articles):
        busy = articles[5].removeprefix(server.url.rstrip("/"))
        options = dataclasses.replace(server.options, slow={}, retry_after={busy: 1})
        server.faults = Faults(options)
        process = start_crawl_with(
            server, tmp_path, "PORTAL_RETRY_BACKOFF_BASE=120", "LOG_LEVEL=DEBUG"
        )
        # Scrapy logs the retry, then our middleware waits before sending it again.
        wait_for_log(tmp_path, f"Retrying <GET {server.url.rstrip('/')}{busy}>")
        stdout, stderr = stop(process, signal.SIGTERM)
        assert process.returncode == 1, stdout + stderr
        assert "did not stop within" not in stderr
        assert "UNFINISHED: stopped by SIGTERM;" in stdout
        stopped = report(tmp_path)
        assert not stopped["stopped_at_once"] and stopped["finish_reason"] == "shutdown"
        assert stopped["errors"] == 0, "the abandoned retry is owed, not failed"
        assert server.url.rstrip("/") + busy not in read_keys_archived(tmp_path)
        finish_and_check(server, tmp_path, articles)


def test_a_stop_that_cannot_close_cleanly_is_forced_after_the_timeout(tmp_path: Path) -> None:
    """A close stuck where no abandoning reaches it (a component whose spider_closed never
    ends) cannot hold the stop beyond PORTAL_STOP_TIMEOUT."""
    with stalling_replica() as (server, articles):
        stuck = json.dumps({**project_settings.EXTENSIONS, "tests.stop_support.StuckClose": 0})
        process = start_crawl_with(server, tmp_path, f"EXTENSIONS={stuck}")
        wait_for_stalled_requests(server, articles[:3])
        stdout, stderr = stop(process, signal.SIGTERM)
        assert process.returncode == 1, stdout + stderr
        assert "did not stop within 2 s" in stderr
        assert "Traceback" not in stderr
        assert "UNFINISHED: stopped by SIGTERM, at once" in stdout
        assert report(tmp_path)["stopped_at_once"]
        [kept] = (tmp_path / "reports").glob("*-portal.json")  # kept in the history too
        assert json.loads(kept.read_text(encoding="utf-8")) == report(tmp_path)
        finish_and_check(server, tmp_path, articles)


@pytest.mark.parametrize("component", ["SignalWhileOpening", "SignalWhileStarting"])
def test_a_signal_before_the_engine_runs_stops_the_crawl(tmp_path: Path, component: str) -> None:
    """A signal that lands while the spider is being opened or the engine started (before it
    runs), which Scrapy's own stop does not reach: the crawl stops cleanly all the same, and
    does not run on for ever with its spider closed."""
    with stalling_replica() as (server, articles):
        extensions = {**project_settings.EXTENSIONS, f"tests.stop_support.{component}": 0}
        process = start_crawl_with(server, tmp_path, f"EXTENSIONS={json.dumps(extensions)}")
        stdout, stderr = stop(process)
        assert process.returncode == 1, stdout + stderr
        assert "Traceback" not in stderr
        assert "did not stop within" not in stderr
        assert "UNFINISHED: stopped by SIGTERM;" in stdout
        stopped = report(tmp_path)
        assert stopped["finish_reason"] == "shutdown" and stopped["stopped_by"] == "SIGTERM"
        assert not stopped["stopped_at_once"]
        assert not list((tmp_path / "warc").glob("*.open")), "the WARC file was closed"
        finish_and_check(server, tmp_path, articles)


def read_keys_archived(out: Path) -> set[str]:
    return {item["url"] for item in read_items(out)}


def wait_for_log(out: Path, text: str) -> None:
    deadline = time.monotonic() + 60
    while not any(text in log.read_text("utf-8") for log in (out / "logs").glob("*.log")):
        assert time.monotonic() < deadline, f"never logged: {text}"
        time.sleep(0.1)


def start_crawl_with(server: ReplicaServer, out: Path, *settings: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "crawler.cli", "crawl", server.url + "web/hlv"]
    command += ["--out", str(out), *LOOPBACK_SETTINGS, "-s", "PORTAL_STOP_TIMEOUT=2"]
    for setting in settings:
        command += ["-s", setting]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_scrapy_crawl_stops_within_seconds_too(tmp_path: Path) -> None:
    """Under `scrapy crawl` (and Scrapyd) Scrapy's own handlers start the stop."""
    with stalling_replica() as (server, articles):
        command = [sys.executable, "-m", "scrapy", "crawl", "portal"]
        command += ["-a", f"targets={server.url}web/hlv", "-s", f"ARCHIVE_DIR={tmp_path}"]
        process = subprocess.Popen(
            [*command, *LOOPBACK_SETTINGS],
            cwd=Path(__file__).resolve().parents[1],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for_stalled_requests(server, articles[:3])
        _, stderr = stop(process, signal.SIGTERM)
        assert "Traceback" not in stderr
        stopped = report(tmp_path)
        assert stopped["finish_reason"] == "shutdown"
        assert stopped["stopped_by"] == "a stop request" and stopped["abandoned_requests"] >= 1
        with SearchIndex(tmp_path) as index:  # brought up to date under `scrapy crawl` too
            assert index.search(Query(), facets=False).total == len(read_items(tmp_path)) > 0
        finish_and_check(server, tmp_path, articles)


def test_a_signal_while_the_command_exits_keeps_its_status() -> None:
    """A second signal that lands after the command finished (while the interpreter joins
    Scrapy's threads) exits at once with the command's status, not by the signal."""
    script = (
        "import os, signal, threading, time\n"
        "import crawler.cli as cli\n"
        "cli.main = lambda argv=None: 1\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(5)\n"
        "threading.Thread(target=late).start()\n"
        "cli.run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr


class _InterruptedImport:
    """An import finder that finds Ctrl-C pressed while ``name`` loads."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name == self.name:
            raise KeyboardInterrupt


def test_ctrl_c_while_the_commands_load_is_an_interruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C in the first tenth of a second, while Scrapy and the commands load, printed a
    traceback instead of "interrupted"."""
    import crawler
    from crawler import cli

    monkeypatch.delitem(sys.modules, "crawler.commands")
    monkeypatch.delattr(crawler, "commands")
    monkeypatch.setattr(sys, "meta_path", [_InterruptedImport("crawler.commands"), *sys.meta_path])
    assert cli.main(["index", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "portal-archiver: interrupted\n"


@pytest.mark.parametrize("command", ["extract", "wacz", "index"])
def test_sigterm_unwinds_a_command_that_writes_through_a_temporary_file(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A scheduler's timeout (SIGTERM) killed extract, wacz and index where they stood: exit
    143, nothing said, and their hidden temporary file (a WACZ's may be gigabytes) left until
    the same output was written again. They now unwind as on Ctrl-C."""
    from archive.collection import Collection
    from crawler import cli

    collection = tmp_path / "c"
    Collection(collection).open().close()
    warc = Path(__file__).parent / "data" / "extract" / "crawl-1.warc.gz"
    (collection / "warc" / warc.name).write_bytes(warc.read_bytes())
    assert cli.main(["index", str(collection)]) == 0
    out = tmp_path / ("out.jsonl" if command == "extract" else "out.wacz")
    argv = {
        "extract": ["extract", str(collection / "warc" / warc.name), "--out", str(out)],
        "wacz": ["wacz", str(collection), "--out", str(out)],
        "index": ["index", str(collection)],
    }[command]
    real_fsync = os.fsync

    def terminated_before_syncing(fd: int) -> None:
        # The output is written whole, not yet synced nor renamed: a kill here cost it all.
        os.kill(os.getpid(), signal.SIGTERM)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", terminated_before_syncing)
    before = signal.getsignal(signal.SIGTERM)
    index = collection / "indexes" / "index.cdxj"
    index_before = index.read_bytes()
    capsys.readouterr()
    assert cli.main(argv) == 143
    assert capsys.readouterr().err.endswith("portal-archiver: stopped by SIGTERM\n")
    assert signal.getsignal(signal.SIGTERM) == before, "the handler is put back"
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith((".part", ".tmp"))]
    assert leftovers == []
    assert not out.exists() and index.read_bytes() == index_before
