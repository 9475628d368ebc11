"""Shared helpers of the replay tests (no tests here): a running pywb, capture stamps."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crawler.commands import stop_process
from tests.conftest import require_tool

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stamp(iso: str) -> str:
    """``20261126120000`` from an ISO 8601 date (``fetched_at`` or ``WARC-Date``)."""
    return "".join(ch for ch in iso if ch.isdigit())[:14]


@contextmanager
def running_wayback(root: Path, collection: str) -> Iterator[str]:
    """pywb's ``wayback`` serving ``root`` (its config.yaml or collections/); yields the
    collection's replay prefix ``http://127.0.0.1:PORT/{collection}/``."""
    wayback = require_tool("wayback")  # pywb, installed with '.[test]'
    port = free_port()
    process = subprocess.Popen(
        [wayback, "-b", "127.0.0.1", "-p", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/{collection}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                NO_PROXY.open(base, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"pywb did not start on port {port}") from None
                time.sleep(0.2)
        yield base
    finally:
        stop_process(process)
