"""Shared fixtures: a replica portal per session, and collections crawled from it."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.replica_process import ReplicaHandle, running_replica

LOOPBACK_SETTINGS = (
    # The replica is on loopback: no politeness delays, no backoff sleeps in tests.
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s", "PORTAL_RETRY_BACKOFF_BASE=0",
    "-s", "LOG_LEVEL=WARNING",
)  # fmt: skip


def in_ci() -> bool:
    """True where ``CI`` is set (``.ci/run`` sets ``CI=true``): there, no tool may be missing."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def tool_missing(reason: str) -> NoReturn:
    """An optional tool a test needs is absent: fail in CI, else skip saying why.

    A test that skips in CI proves nothing while looking green, so CI must install every
    tool (``.ci/run``); a developer without one gets a printed reason instead of a failure.
    """
    if in_ci():
        pytest.fail(f"{reason}, and CI must run this test: install it in .ci/run", pytrace=False)
    print(f"skipping: {reason}", file=sys.stderr)
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """The path of the executable ``name``: beside this interpreter (the virtual environment's
    own, e.g. pywb's ``wayback``) or on ``PATH`` (Debian's ``wget``, ``chromium``)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        tool_missing(f"{name} is not installed")
    return found


def run_cli(
    *args: str, timeout: float = 180, max_file_size: int | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``portal-archiver ARGS`` in a subprocess (a Twisted reactor runs once per process);
    with ``max_file_size``, as on a disk that is full once a file reaches that size; in
    ``cwd`` when given."""
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        preexec_fn=None if max_file_size is None else lambda: limit_file_size(max_file_size),
    )


def limit_file_size(limit: int) -> None:
    """In a child process before it runs: writes past ``limit`` bytes of any file fail with
    EFBIG, as a full disk fails them with ENOSPC (SIGXFSZ would kill the process instead)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


# ``portal-archiver`` with one function of ours patched, in the command's own process, to raise
# on one page: a bug, or a page no one foresaw. The patched function takes a page or an item's
# fields (anything with a ``url``).
_RAISING = """
import sys
import {module}
real = {module}.{name}
def patched(value):
    url = value["url"] if isinstance(value, dict) else value.url
    if {needle!r} in url:
        raise RuntimeError("a fault on one page")
    return real(value)
{module}.{name} = patched
sys.argv = ["portal-archiver", *sys.argv[1:]]
from crawler.cli import run
run()
"""


def run_cli_raising(
    target: str, needle: str, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``portal-archiver ARGS`` with ``target`` (``module.function``) raising on the pages
    whose URL holds ``needle``."""
    module, name = target.rsplit(".", 1)
    script = _RAISING.format(module=module, name=name, needle=needle)
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_items(directory: Path) -> list[dict[str, Any]]:
    path = directory / "items.jsonl"
    if not path.exists():
        return []
    # Complete lines only: a test may read while a crawl is still appending its last line.
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1].decode("utf-8")
    return [json.loads(line) for line in complete.splitlines()]


@dataclass
class Crawled:
    """A collection crawled from a replica, and what the replica knew."""

    directory: Path
    replica: ReplicaHandle
    result: subprocess.CompletedProcess[str]

    @property
    def items(self) -> list[dict[str, Any]]:
        return read_items(self.directory)

    @property
    def warcs(self) -> list[Path]:
        return sorted((self.directory / "warc").glob("*.warc.gz"))


@pytest.fixture(scope="session")
def replica() -> Iterator[ReplicaHandle]:
    with running_replica("--articles", "40", "--chunked-all") as handle:
        yield handle


@pytest.fixture(scope="session")
def crawled(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """One crawl of the Lấp Vò site, shared by the tests that only read it."""
    directory = tmp_path_factory.mktemp("collection")
    result = run_cli("crawl", f"{replica.url}web/hlv", "--out", str(directory), *LOOPBACK_SETTINGS)
    assert result.returncode == 0, result.stderr + result.stdout
    return Crawled(directory, replica, result)
