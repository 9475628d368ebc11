"""Temporary files beside their destination, for writes that end in a rename, and making
the rename (or a new file's entry) durable.

Every file a command writes for the user (an ``extract``'s items, a WACZ, the CDXJ index) is
written through :func:`replacing`: the destination holds the previous file, whole, until the
new one is complete and on disk; a full disk, an error or a kill leaves it as it was.

A run that is killed leaves its hidden file behind (a WACZ's may be gigabytes): it is named
after its process and machine (``.NAME.PID@HOST.HEX.part``), and the next write of the same
destination on that machine removes those whose process is gone.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask, so a file renamed
from it stays private to the writer: pywb or a web server running as another user could read
the WARC files of a collection but not the index or package written beside them. Files made
here get the mode any new file gets (0666 less the umask).
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

_HOST = socket.gethostname()


def create_beside(destination: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """Create a new, empty, uniquely named hidden file in ``destination``'s folder, named after
    this process and machine.

    Returns its open file descriptor (for writing) and its path; rename it over
    ``destination`` once complete, or unlink it.
    """
    owner = f"{os.getpid()}@{_HOST}"
    temp = destination.with_name(f".{destination.name}.{owner}.{uuid.uuid4().hex[:12]}{suffix}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    return os.open(temp, flags, 0o666), temp


def fsync_directory(directory: Path) -> None:
    """Make ``directory``'s entries durable: a rename, or a file created in it, is only as
    durable as the directory entry."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def replacing(destination: Path, suffix: str = ".tmp") -> Iterator[tuple[int, Path]]:
    """A new hidden file beside ``destination`` (its descriptor and path), renamed over it
    once the block ends without error, fsynced before and after the rename; on any error or
    interruption it is unlinked and ``destination`` keeps its previous content.

    The block writes through the descriptor; it is closed here. A kill leaves the hidden file
    (a name no reader takes for the destination), never a part of it in its place.
    """
    remove_leftovers(destination, suffix)
    fd, temp = create_beside(destination, suffix)
    try:
        yield fd, temp
        os.fsync(fd)
        os.replace(temp, destination)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    fsync_directory(destination.parent)


def os_reason(error: OSError) -> str:
    """An OS error as the end of a sentence: ``No space left on device (/path)``."""
    where = f" ({error.filename})" if error.filename else ""
    return f"{error.strerror or error}{where}"


# Less free space than this, where a write failed, is the reason it failed.
_NEARLY_FULL = 1 << 20


def full_disk_note(path: Path) -> str:
    """``" (the disk is full)"`` when ``path``'s file system has (almost) no space left, else
    nothing: SQLite reports a full disk as a mere "disk I/O error"."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return ""
    return " (the disk is full)" if free < _NEARLY_FULL else ""


def remove_leftovers(destination: Path, suffix: str) -> None:
    """Remove the hidden files that killed runs on this machine left for ``destination``
    (their process is gone: no run is writing them)."""
    prefix = f".{destination.name}."
    for path in destination.parent.glob(f"{glob.escape(prefix)}*{suffix}"):
        owner = path.name[len(prefix) : len(path.name) - len(suffix)].rsplit(".", 1)[0]
        pid, at, host = owner.partition("@")
        if not (at and host == _HOST and pid.isdecimal()) or _alive(int(pid)):
            continue
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue  # another run removed it first
        logger.warning("removed %s, left by a run that was killed (%d bytes)", path, size)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
