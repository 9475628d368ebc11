"""``bench/measure.py``: a measured command's figures are its own, not the benchmark's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def _measure() -> ModuleType:
    name = "bench_measure"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "measure.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_small_command_measured_by_a_large_benchmark_is_small(tmp_path: Path) -> None:
    measure = _measure()
    held = bytearray(400 << 20)  # the benchmark's pages and results
    held[:: 1 << 12] = b"\x01" * len(held[:: 1 << 12])  # touched: resident
    usage = measure.run_measured(_python("pass"), tmp_path / "small.log")
    assert usage.exit_code == 0
    assert usage.peak_rss_mb < 100, usage  # was the benchmark's 400 MB and more
    assert len(held) == 400 << 20


def test_a_large_command_is_large_and_its_cpu_and_exit_code_are_its_own(tmp_path: Path) -> None:
    measure = _measure()
    code = (
        "import sys, time\n"
        "block = bytearray(300 << 20); block[:: 1 << 12] = b'\\x01' * len(block[:: 1 << 12])\n"
        "end = time.process_time() + 0.3\n"
        "while time.process_time() < end: pass\n"
        "sys.exit(3)"
    )
    usage = measure.run_measured(_python(code), tmp_path / "large.log")
    assert usage.exit_code == 3
    assert usage.peak_rss_mb >= 300, usage
    assert 0.3 <= usage.cpu_s < usage.wall_s + 0.5, usage
