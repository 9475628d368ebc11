"""pywb on its own port, replaying the collections' archived pages as captured.

Archived pages carry the portal's scripts. Served from another port they run in another origin
than the reading room's, so they can read nothing of it (the reading room sets no cookie, and
its pages forbid scripts anyway). pywb runs as a child process, from a configuration written in
a temporary directory: each collection's own CDXJ index and WARC files, nothing copied, no live
web (pywb fetches nothing that was not archived).
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from crawler.commands import stop_process
from reading_room.shelf import Shelf

logger = logging.getLogger(__name__)

START_TIMEOUT = 60.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ReplayUnavailable(RuntimeError):
    """pywb is not installed or did not start."""


def wayback_command() -> str | None:
    """pywb's ``wayback`` script beside this Python, or on the PATH."""
    beside = Path(sys.executable).parent / "wayback"
    return str(beside) if beside.exists() else shutil.which("wayback")


class Replay:
    """A running pywb over ``shelves``; :meth:`stop` ends it and removes its configuration."""

    def __init__(self, shelves: list[Shelf], host: str) -> None:
        wayback = wayback_command()
        if wayback is None:
            raise ReplayUnavailable("pywb is not installed (its `wayback` command is missing)")
        self.root = Path(tempfile.mkdtemp(prefix="reading-room-pywb-"))
        (self.root / "config.yaml").write_text(_config(shelves), encoding="utf-8")
        self.port = _free_port(host)
        self.base = f"http://{url_host(host)}:{self.port}/"
        self.process = subprocess.Popen(
            [wayback, "-b", host, "-p", str(self.port)],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ReplayUnavailable(f"pywb exited at start (status {self.process.returncode})")
            try:
                _NO_PROXY.open(self.base, timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise ReplayUnavailable(f"pywb did not answer within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_process(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


def _config(shelves: list[Shelf]) -> str:
    # JSON strings are valid YAML scalars: paths with spaces or colons stay intact.
    lines = ["collections:"]
    for shelf in shelves:
        lines += [
            f"  {shelf.name}:",
            f"    index_paths: {json.dumps(str(shelf.directory / 'indexes'))}",
            f"    archive_paths: {json.dumps(str(shelf.directory / 'warc') + '/')}",
        ]
    return "\n".join(lines) + "\n"


def _free_port(host: str) -> int:
    # pywb takes a port number, not a socket: a free one is picked and released just before.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
