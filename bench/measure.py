"""Running a command as a measured subprocess: its CPU, wall time and peak RSS.

The peak RSS Linux reports for a process (``ru_maxrss``) is never below the memory of the
process it was forked from: at ``exec`` the kernel counts the high-water mark of the memory the
process leaves, which is its parent's copy (``fork``) or its parent's own (``vfork``). A
benchmark holding a few hundred MB (pages, results) would lend them to every command it
measures: a 60 MB ``wacz`` showed as 142 MB, and two sizes of collection as equally "flat".
So the command is started by a small launcher (this file run as a script, a fresh Python of
about 10 MB), which waits for it and writes its rusage to a file: the command's own figures,
with the launcher's size as the floor of the peak RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = (
    "DOWNLOAD_DELAY=0",
    "AUTOTHROTTLE_ENABLED=False",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "LOG_LEVEL=WARNING",
)
"""``portal-archiver crawl`` settings for the replica on loopback: no politeness delay."""
HTML_ONLY = ("ARCHIVE_REQUISITES=False", "ARCHIVE_THEME_ASSETS=False")
"""A crawl of pages only, no images, files or theme assets."""


def settings_args(values: Sequence[str]) -> list[str]:
    """``-s NAME=VALUE`` arguments of ``values``."""
    return [arg for value in values for arg in ("-s", value)]


@dataclass(frozen=True, slots=True)
class Usage:
    """What one subprocess cost."""

    cpu_s: float
    """User + system CPU seconds."""
    wall_s: float
    peak_rss_mb: float
    exit_code: int


def run_measured(command: Sequence[str], log: Path) -> Usage:
    """Run ``command`` from the repository root, output to ``log``; its own rusage."""
    with tempfile.TemporaryDirectory(prefix="measure-") as scratch:
        usage_file = Path(scratch) / "usage.json"
        launcher = [sys.executable, __file__, str(usage_file), *command]
        start = time.perf_counter()
        with log.open("wb") as sink:
            subprocess.run(launcher, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, check=False)
        wall = time.perf_counter() - start
        measured = json.loads(usage_file.read_text(encoding="utf-8"))
    return Usage(
        cpu_s=measured["cpu_s"],
        wall_s=wall,
        peak_rss_mb=measured["peak_rss_mb"],
        exit_code=measured["exit_code"],
    )


def _launch(usage_file: Path, command: list[str]) -> int:
    """Run ``command``, wait for it, write its rusage to ``usage_file``; its exit code."""
    process = subprocess.Popen(command)
    _, status, rusage = os.wait4(process.pid, 0)
    # wait4 reaped the child: tell Popen, or it would wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    usage = {
        "cpu_s": rusage.ru_utime + rusage.ru_stime,
        "peak_rss_mb": rusage.ru_maxrss / 1024,  # KB on Linux
        "exit_code": process.returncode,
    }
    usage_file.write_text(json.dumps(usage), encoding="utf-8")
    return process.returncode


if __name__ == "__main__":
    sys.exit(_launch(Path(sys.argv[1]), sys.argv[2:]))
