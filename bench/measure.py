"""Running a command as a measured subprocess: its CPU, wall time and peak RSS."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Usage:
    """What one subprocess cost."""

    cpu_s: float
    """User + system CPU seconds."""
    wall_s: float
    peak_rss_mb: float
    exit_code: int


def run_measured(command: Sequence[str], log: Path) -> Usage:
    """Run ``command`` from the repository root, output to ``log``; its rusage."""
    start = time.perf_counter()
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
        _, status, rusage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    # wait4 reaped the child: tell Popen, or it would wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    return Usage(
        cpu_s=rusage.ru_utime + rusage.ru_stime,
        wall_s=wall,
        peak_rss_mb=rusage.ru_maxrss / 1024,  # KB on Linux
        exit_code=process.returncode,
    )
