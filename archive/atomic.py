"""Temporary files beside their destination, for writes that end in a rename, and making
the rename (or a new file's entry) durable.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask, so a file renamed
from it stays private to the writer: pywb or a web server running as another user could read
the WARC files of a collection but not the index or package written beside them. Files made
here get the mode any new file gets (0666 less the umask).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def create_beside(destination: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """Create a new, empty, uniquely named hidden file in ``destination``'s folder.

    Returns its open file descriptor (for writing) and its path; rename it over
    ``destination`` once complete, or unlink it.
    """
    temp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}{suffix}")
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
