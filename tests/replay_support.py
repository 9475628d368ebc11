"""Shared helpers of the replay tests (no tests here): a running pywb, capture stamps."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archive.cdxj import build_index
from crawler.commands import stop_process
from tests.conftest import require_tool

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ours_and_pywbs_index(warc: Path, work: Path) -> tuple[str, list[str]]:
    """Our CDXJ index of the folder that holds ``warc``, and the lines (ends kept) of pywb's
    ``cdx-indexer -j -s`` (sorted CDXJ) over ``warc``."""
    indexer = require_tool("cdx-indexer")
    ours = work / "ours.cdxj"
    build_index(warc.parent, ours)
    theirs = subprocess.run(
        [indexer, "-j", "-s", warc.name],
        cwd=warc.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return ours.read_text(), theirs.splitlines(keepends=True)


def py_wacz_validate(wacz: Path) -> str:
    """What py-wacz's ``wacz validate`` says of ``wacz``, which it must accept."""
    result = subprocess.run(
        [require_tool("wacz"), "validate", "-f", str(wacz)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def stamp(iso: str) -> str:
    """``20261126120000`` from an ISO 8601 date (``fetched_at`` or ``WARC-Date``)."""
    return "".join(ch for ch in iso if ch.isdigit())[:14]


@contextmanager
def running_wayback(root: Path, collection: str = "") -> Iterator[str]:
    """pywb's ``wayback`` serving ``root`` (its config.yaml or collections/); yields the
    collection's replay prefix ``http://127.0.0.1:PORT/{collection}/`` (without a collection,
    the server's root) once pywb answers there."""
    wayback = require_tool("wayback")  # pywb, installed with '.[test]'
    port = free_port()
    process = subprocess.Popen(
        [wayback, "-b", "127.0.0.1", "-p", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/{collection}/" if collection else f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                NO_PROXY.open(base, timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # an answer, whatever its status: pywb is up
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"pywb did not start on port {port}") from None
                time.sleep(0.2)
        yield base
    finally:
        stop_process(process)
