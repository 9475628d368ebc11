"""``replacing``: the destination holds its previous content until the new one is whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archive.atomic import replacing


def test_the_new_content_replaces_the_old_once_the_block_ends(tmp_path: Path) -> None:
    destination = tmp_path / "out.jsonl"
    destination.write_bytes(b"old\n")
    with replacing(destination, suffix=".part") as (fd, temp):
        os.write(fd, b"new\n")
        assert destination.read_bytes() == b"old\n"
        assert temp.parent == tmp_path and temp.name.startswith(".out.jsonl.")
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
