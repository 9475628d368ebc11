"""``replacing``: the destination holds its previous content until the new one is whole."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from archive.atomic import replacing


def test_the_new_content_replaces_the_old_once_the_block_ends(tmp_path: Path) -> None:
    destination = tmp_path / "out.jsonl"
    destination.write_bytes(b"old\n")
    with replacing(destination, suffix=".part") as (fd, temp):
        os.write(fd, b"new\n")
        assert destination.read_bytes() == b"old\n"
        assert temp.parent == tmp_path
        assert temp.name.startswith(f".out.jsonl.{os.getpid()}@{socket.gethostname()}.")
        assert temp.name.endswith(".part")
    assert destination.read_bytes() == b"new\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_an_error_in_the_block_leaves_the_old_content_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "out.jsonl"
    destination.write_bytes(b"old\n")
    with pytest.raises(KeyboardInterrupt), replacing(destination) as (fd, _):
        os.write(fd, b"half of the ne")
        raise KeyboardInterrupt
    assert destination.read_bytes() == b"old\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_a_failed_rename_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = tmp_path / "absent" / "out.jsonl"
    (tmp_path / "absent").mkdir()

    def refused(source: object, target: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(OSError, match="Read-only"), replacing(destination) as (fd, _):
        os.write(fd, b"new\n")
    assert os.listdir(tmp_path / "absent") == []


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_what_killed_runs_left_on_this_machine_is_removed_by_the_next(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    destination = tmp_path / "lapvo.wacz"
    host = socket.gethostname()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        killed = tmp_path / f".lapvo.wacz.{_dead_pid()}@{host}.0123456789ab.part"
        running = tmp_path / f".lapvo.wacz.{sleeper.pid}@{host}.0123456789ab.part"
        elsewhere = tmp_path / f".lapvo.wacz.{_dead_pid()}@another-host.0123456789ab.part"
        older = tmp_path / ".lapvo.wacz.0123456789abcdef0123456789abcdef.part"  # no owner
        other = tmp_path / f".other.wacz.{_dead_pid()}@{host}.0123456789ab.part"
        for path in (killed, running, elsewhere, older, other):
            path.write_bytes(b"half a package")
        with replacing(destination, suffix=".part") as (fd, _):
            os.write(fd, b"a package")
        assert destination.read_bytes() == b"a package"
        left = {path.name for path in tmp_path.iterdir()}
        assert left == {destination.name, *(p.name for p in (running, elsewhere, older, other))}
        assert f"removed {killed}, left by a run that was killed (14 bytes)" in caplog.text
    finally:
        sleeper.kill()
        sleeper.wait()
