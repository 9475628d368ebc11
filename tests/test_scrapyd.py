"""Scheduled crawls through a real Scrapyd: deploy the project as an egg, schedule it twice.

Scrapyd runs on loopback with its own eggs, logs and dbs in a temp dir; the egg is built the
way ``scrapyd-deploy`` builds it (``setup.py clean -a bdist_egg``) from a copy of the project,
so the working tree gets no build output.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.commands import stop_process
from crawler.urls import UrlKind, article_key, classify
from tests.captures import NOT_MODIFIED, captures_by_uri, records
from tests.replica_process import ReplicaHandle, running_replica

pytestmark = pytest.mark.scrapyd

REPO = Path(__file__).resolve().parents[1]
PROJECT = "portal_archiver"
EGG_VERSION = "1"
LOOPBACK_SETTINGS = {
    # The replica is on loopback: no politeness delays.
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
}
START_TIMEOUT = 20.0
JOB_TIMEOUT = 60.0
POLL = 0.2
SCRAPYD_CONF = """\
[scrapyd]
bind_address = 127.0.0.1
http_port = {port}
eggs_dir = {root}/eggs
logs_dir = {root}/logs
dbs_dir = {root}/dbs
items_dir =
jobs_dir =
poll_interval = {poll}
max_proc = 1
"""
# Never go through a proxy: everything here is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# -- Scrapyd ----------------------------------------------------------------------------


class ScrapydError(RuntimeError):
    """Scrapyd answered with status "error"."""


@dataclass
class Scrapyd:
    """A running Scrapyd: its URL and its directory (config, eggs, logs)."""

    url: str
    root: Path
    process: subprocess.Popen[bytes]

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        query = urllib.parse.urlencode(params)
        return self._answer(urllib.request.Request(f"{self.url}{endpoint}?{query}"))

    def post(self, endpoint: str, body: bytes, content_type: str) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + endpoint, data=body, headers={"Content-Type": content_type}
        )
        return self._answer(request)

    def add_version(self, egg: Path) -> dict[str, Any]:
        fields = {"project": PROJECT, "version": EGG_VERSION}
        body, content_type = multipart(fields, "egg", egg.name, egg.read_bytes())
        return self.post("addversion.json", body, content_type)

    def schedule(self, spider: str, settings: dict[str, str], **args: str) -> str:
        fields = [("project", PROJECT), ("spider", spider), *args.items()]
        fields += [("setting", f"{name}={value}") for name, value in settings.items()]
        body = urllib.parse.urlencode(fields).encode()
        answer = self.post("schedule.json", body, "application/x-www-form-urlencoded")
        return answer["jobid"]

    def wait_finished(self, job: str, timeout: float = JOB_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            finished = self.get("listjobs.json", project=PROJECT)["finished"]
            if any(entry["id"] == job for entry in finished):
                return
            time.sleep(POLL)
        raise AssertionError(f"job {job} still running after {timeout} s:\n{self.job_log(job)}")

    def job_log(self, job: str, spider: str = "portal") -> str:
        path = self.root / "logs" / PROJECT / spider / f"{job}.log"
        return path.read_text(encoding="utf-8") if path.exists() else f"(no log at {path})"

    def _answer(self, request: urllib.request.Request) -> dict[str, Any]:
        with _OPENER.open(request, timeout=30) as response:
            answer = json.loads(response.read())
        if answer.get("status") != "ok":
            raise ScrapydError(answer.get("message", answer))
        return answer


def multipart(
    fields: dict[str, str], file_field: str, filename: str, content: bytes
) -> tuple[bytes, str]:
    """A multipart/form-data body (what ``addversion.json`` takes) and its content type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrapyd_environment() -> dict[str, str]:
    """This environment minus what would hide the egg (PYTHONPATH, a settings module) or
    send loopback requests through a proxy."""
    cleared = {"PYTHONPATH", "SCRAPY_SETTINGS_MODULE", "SCRAPY_PROJECT"}
    return {
        name: value
        for name, value in os.environ.items()
        if name not in cleared and not name.lower().endswith("_proxy")
    }


def wait_ready(scrapyd: Scrapyd) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if scrapyd.process.poll() is not None:
            output = (scrapyd.root / "scrapyd.out").read_text(errors="replace")
            raise RuntimeError(f"scrapyd exited with {scrapyd.process.returncode}:\n{output}")
        try:
            scrapyd.get("daemonstatus.json")
            return
        except OSError:
            time.sleep(POLL)
    raise RuntimeError(f"scrapyd did not answer within {START_TIMEOUT} s")


@contextmanager
def running_scrapyd(root: Path) -> Iterator[Scrapyd]:
    """Scrapyd on a free loopback port, set up by ``root/scrapyd.conf``, until the block exits."""
    port = free_port()
    (root / "scrapyd.conf").write_text(SCRAPYD_CONF.format(port=port, root=root, poll=POLL))
    with (root / "scrapyd.out").open("wb") as output:
        # The working directory is where Scrapyd finds scrapyd.conf; being outside the
        # repository, no scrapy.cfg there can stand in for the deployed egg.
        process = subprocess.Popen(
            [sys.executable, "-m", "scrapyd"],
            cwd=root,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=scrapyd_environment(),
        )
        scrapyd = Scrapyd(f"http://127.0.0.1:{port}/", root, process)
        try:
            wait_ready(scrapyd)
            yield scrapyd
        finally:
            stop_process(process)


# -- the egg ------------------------------------------------------------------------------


def copy_project(target: Path) -> Path:
    """The files setuptools needs to build the project: its configuration and its packages."""
    target.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in REPO.iterdir():
        if (package / "__init__.py").is_file() and package.name != "tests":
            shutil.copytree(package, target / package.name, ignore=ignore)
    return target


def build_egg(workdir: Path) -> Path:
    """``setup.py clean -a bdist_egg -d DIR``, the command scrapyd-deploy runs."""
    source = copy_project(workdir / "project")
    out = workdir / "dist"
    command = [sys.executable, "setup.py", "clean", "-a", "bdist_egg", "-d", str(out)]
    result = subprocess.run(command, cwd=source, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    (egg,) = out.glob("*.egg")
    return egg


# -- collections --------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A collection after a scheduled crawl, and the job's log."""

    items: list[dict[str, Any]]
    warcs: dict[str, int]
    """WARC file name -> size."""
    report: dict[str, Any]
    log: str


def snapshot(collection: Path, log: str) -> Snapshot:
    items_path = collection / "items.jsonl"
    lines = items_path.read_text(encoding="utf-8").splitlines() if items_path.exists() else []
    report_path = collection / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    warcs = {path.name: path.stat().st_size for path in (collection / "warc").glob("*.warc.gz")}
    return Snapshot([json.loads(line) for line in lines], warcs, report, log)


def scheduled_crawl(scrapyd: Scrapyd, portal: ReplicaHandle, collection: Path) -> Snapshot:
    settings = {
        "ARCHIVE_DIR": str(collection),
        # The request queue on disk, where `portal-archiver crawl` keeps it: a killed job resumes.
        "JOBDIR": str(collection / "jobs" / "portal"),
        **LOOPBACK_SETTINGS,
    }
    job = scrapyd.schedule("portal", settings, targets=f"{portal.url}web/hlv")
    scrapyd.wait_finished(job)
    return snapshot(collection, scrapyd.job_log(job))


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portal() -> Iterator[ReplicaHandle]:
    with running_replica("--articles", "30") as handle:
        yield handle


@pytest.fixture(scope="module")
def hlv_asset_ids(portal: ReplicaHandle) -> set[str]:
    return {str(a["asset_id"]) for a in portal.manifest()["articles"] if a["site"] == "hlv"}


@pytest.fixture(scope="module")
def egg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_egg(tmp_path_factory.mktemp("egg"))


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    with running_scrapyd(tmp_path_factory.mktemp("scrapyd")) as handle:
        yield handle


@pytest.fixture(scope="module")
def deployed(scrapyd: Scrapyd, egg: Path) -> dict[str, Any]:
    return scrapyd.add_version(egg)


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("collection")


@pytest.fixture(scope="module")
def first_run(
    scrapyd: Scrapyd, deployed: dict[str, Any], portal: ReplicaHandle, collection: Path
) -> Snapshot:
    return scheduled_crawl(scrapyd, portal, collection)


@pytest.fixture(scope="module")
def second_run(
    scrapyd: Scrapyd, first_run: Snapshot, portal: ReplicaHandle, collection: Path
) -> Snapshot:
    return scheduled_crawl(scrapyd, portal, collection)


# -- tests --------------------------------------------------------------------------------


def test_egg_names_the_settings_module(egg: Path) -> None:
    with zipfile.ZipFile(egg) as archive:
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
        names = set(archive.namelist())
    assert "[scrapy]\nsettings = crawler.settings" in entry_points, (
        "pyproject.toml needs [project.entry-points.scrapy] settings = 'crawler.settings'"
    )
    assert {"crawler/settings.py", "crawler/spiders/portal.py", "archive/collection.py"} <= names


def test_deployed_project_lists_its_spiders(scrapyd: Scrapyd, deployed: dict[str, Any]) -> None:
    assert deployed["project"] == PROJECT
    assert scrapyd.get("listversions.json", project=PROJECT)["versions"] == [EGG_VERSION]
    spiders = scrapyd.get("listspiders.json", project=PROJECT)["spiders"]
    assert {"fetch", "portal"} <= set(spiders)


def test_scheduled_crawl_archives_every_article_of_the_site(
    first_run: Snapshot, hlv_asset_ids: set[str]
) -> None:
    assert {item["asset_id"] for item in first_run.items} == hlv_asset_ids, first_run.log
    assert len(first_run.items) == len(hlv_asset_ids)
    assert len(first_run.warcs) == 1
    assert all(size > 0 for size in first_run.warcs.values())


def test_scheduled_crawl_finishes_cleanly(first_run: Snapshot) -> None:
    assert first_run.report["finish_reason"] == "finished", first_run.log
    assert first_run.report["failed_urls"] == []
    assert "Spider closed (finished)" in first_run.log


def test_second_run_adds_no_items(first_run: Snapshot, second_run: Snapshot) -> None:
    assert second_run.items == first_run.items, second_run.log
    assert second_run.report["articles"] == 0
    assert second_run.report["articles_unchanged"] == len(first_run.items)


def test_second_run_grows_the_warc_a_little(first_run: Snapshot, second_run: Snapshot) -> None:
    assert {name: second_run.warcs[name] for name in first_run.warcs} == first_run.warcs
    added = set(second_run.warcs) - set(first_run.warcs)
    assert added, second_run.log
    growth = sum(second_run.warcs[name] for name in added)
    assert 0 < growth < sum(first_run.warcs.values()) / 4


def test_second_run_asks_and_keeps_the_servers_304s(
    first_run: Snapshot, second_run: Snapshot, collection: Path
) -> None:
    added = [collection / "warc" / name for name in set(second_run.warcs) - set(first_run.warcs)]
    articles = {
        article_key(uri): kind
        for uri, kind in captures_by_uri(added).items()
        if classify(uri) is UrlKind.ARTICLE
    }
    archived = {item["key"] for item in first_run.items}
    # The replica answers validators with 304: an identical-payload revisit here would mean
    # the validators were never sent and the whole page was downloaded again.
    assert {articles[key] for key in archived} == {NOT_MODIFIED}, second_run.log
    asked = {
        article_key(uri): record.http_headers.get_header("If-None-Match")
        for record in records(added, "request")
        if classify(uri := record.rec_headers.get_header("WARC-Target-URI")) is UrlKind.ARTICLE
    }
    assert all(asked[key] for key in archived), asked
