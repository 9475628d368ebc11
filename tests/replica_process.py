"""Start the replica portal (``python -m replica``) as a subprocess for tests.

Usage::

    with running_replica("--articles", "60") as replica:
        replica.url              # "http://127.0.0.1:PORT/"
        replica.manifest()       # ground truth: articles, soft 404s, editions
        replica.requests()       # request log and counters
        replica.reset()          # clear the request log
        replica.set_edition(1)   # serve edition 1 from now on, at the same URL
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.commands import stop_process

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
# Never go through a proxy: the replica is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class ReplicaHandle:
    """A running replica: its base URL and its control endpoints."""

    url: str
    """Base URL with a trailing slash: ``http://127.0.0.1:PORT/``."""
    process: subprocess.Popen[str]

    def _call(self, name: str, method: str = "GET") -> Any:
        request = urllib.request.Request(self.url + "__replica/" + name, method=method)
        with _OPENER.open(request, timeout=30) as response:
            return json.loads(response.read())

    def manifest(self) -> dict[str, Any]:
        return self._call("manifest")

    def requests(self) -> dict[str, Any]:
        return self._call("requests")

    def reset(self) -> None:
        self._call("reset", method="POST")

    def set_edition(self, edition: int) -> None:
        self._call(f"edition?k={edition}", method="POST")


def _read_url_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=START_TIMEOUT):
            raise RuntimeError("replica did not print its URL in time")
    line = process.stdout.readline().strip()
    if not line.startswith("http://"):
        raise RuntimeError(f"replica failed to start (exit {process.poll()}): {line!r}")
    return line


@contextmanager
def running_replica(*args: str) -> Iterator[ReplicaHandle]:
    """Run ``python -m replica --port 0 *args`` until the block exits."""
    command = [sys.executable, "-m", "replica", "--port", "0", *args]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        yield ReplicaHandle(_read_url_line(process), process)
    finally:
        stop_process(process)
        if process.stdout:
            process.stdout.close()
