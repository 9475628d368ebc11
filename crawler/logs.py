"""Where a run's messages go: the console (standard error) and the collection's log file.

By default the console shows the progress line, the summary (which counts the errors logged
and names the log file), and the errors of our own code, which are written for the user (a
full disk, an index not rebuilt). Of Scrapy's log it shows nothing: neither its start-up
chatter (versions, settings, middleware lists, the stats dump) nor its errors for downloads
that failed, which the summary lists anyway. ``-v`` shows the whole log.
Every run writes all of it to ``DIR/logs/{UTC start time}-{spider}.log``, one file per run.

On a terminal the progress line is redrawn in place; a message printed while it is shown
first clears it, so that a log line never ends up glued onto it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from archive.atomic import os_reason

LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"
CONSOLE_LEVEL = logging.CRITICAL
"""What the console shows of other loggers (Scrapy's, Twisted's) without ``-v``."""
OUR_CONSOLE_LEVEL = logging.ERROR
"""What it shows of the project's own loggers without ``-v``."""
OUR_PACKAGES = frozenset({"crawler", "archive", "replica"})


class Console:
    """Standard error, shared by the progress line and log messages."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._status = ""
        self.active = False
        """True once ``configure`` has put it in charge of standard error (not under
        ``scrapy crawl``, whose log handler owns it)."""

    @property
    def stream(self) -> TextIO:
        # Looked up when used: tests and embedding code may swap sys.stderr.
        return self._stream or sys.stderr

    @property
    def tty(self) -> bool:
        try:
            return self.stream.isatty()
        except ValueError:  # closed at interpreter exit
            return False

    def status(self, line: str) -> None:
        """The progress line: redrawn in place on a terminal, one line each time elsewhere."""
        if self.tty:
            # A line that wraps could not be cleared in place: cut it to the width.
            line = line[: self._width() - 1]
            self._status = line
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError):  # not a file descriptor, or not a terminal after all
            columns = 0
        # A terminal that reports no size (0 columns) gets the environment's or 80.
        return columns or shutil.get_terminal_size().columns

    def clear_status(self) -> None:
        if self._status:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._status = ""

    def message(self, text: str) -> None:
        """A whole line, below which the progress line (if any) is drawn again."""
        status = self._status
        self.clear_status()
        self.stream.write(text + "\n")
        if status:
            self.status(status)
        else:
            self.stream.flush()


CONSOLE = Console()


class ConsoleHandler(logging.Handler):
    """Log records to the console, clear of the progress line."""

    def __init__(self, console: Console = CONSOLE, *, ours: int, others: int) -> None:
        super().__init__(min(ours, others))
        self.console = console
        self.ours = ours
        self.others = others

    def filter(self, record: logging.LogRecord) -> bool:
        # Records the console has shown already (the progress line, the stop messages).
        if getattr(record, "on_console", False):
            return False
        ours = record.name.partition(".")[0] in OUR_PACKAGES
        return record.levelno >= (self.ours if ours else self.others)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.message(self.format(record))
        except Exception:  # logging's contract: a handler reports its own failures
            self.handleError(record)


class RunLogFile(logging.FileHandler):
    """A run's log file. Once it cannot be written (it is on the collection's disk, which may
    fill up), it is closed with one line on the console; logging's own report of a failed
    handler would print a traceback for every message after, burying that line."""

    def __init__(self, path: Path, console: Console = CONSOLE) -> None:
        super().__init__(path, encoding="utf-8")
        self.console = console
        self.given_up = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.given_up:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)
            return
        self.given_up = True
        with contextlib.suppress(OSError):  # what is still buffered cannot be written either
            self.close()
        self.console.message(
            f"portal-archiver: the log file {self.baseFilename} cannot be written "
            f"({os_reason(error)}): the rest of this run's log is not kept"
        )


def log_path(directory: Path, spider: str, now: datetime | None = None) -> Path:
    """The run's log file: never another run's (one whole log per run)."""
    return run_file(directory / "logs", now or datetime.now(UTC), spider, ".log")


def run_file(directory: Path, started: datetime, spider: str, suffix: str) -> Path:
    """A new file of one run in ``directory`` (its log, its report), named by its start to the
    millisecond so that the names sort as the runs started (``ls``, the reading room's
    history): two runs often start within one second. A name taken already gets ``-2``..."""
    base = f"{started.strftime('%Y%m%dT%H%M%S.%f')[:-3]}Z-{spider}"
    path, number = directory / f"{base}{suffix}", 1
    while path.exists():
        number += 1
        path = directory / f"{base}-{number}{suffix}"
    return path


def configure(
    log_file: Path | None, *, verbose: bool, level: str, extra_file: str | None = None
) -> list[logging.Handler]:
    """Send the log to the console (our errors, or everything at ``level`` with ``verbose``) and
    to ``log_file`` and ``extra_file`` (``-s LOG_FILE``) at ``level``; return the handlers."""
    formatter = logging.Formatter(LOG_FORMAT)
    file_level = logging.getLevelName(level.upper())
    if verbose:
        console = ConsoleHandler(ours=file_level, others=file_level)
    else:
        console = ConsoleHandler(
            ours=max(file_level, OUR_CONSOLE_LEVEL), others=max(file_level, CONSOLE_LEVEL)
        )
    console.setFormatter(formatter)
    handlers: list[logging.Handler] = [console]
    for path in (log_file, Path(extra_file) if extra_file else None):
        if path is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RunLogFile(path)
        handler.setLevel(file_level)
        handler.setFormatter(formatter)
        handlers.append(handler)
    root = logging.getLogger()
    root.setLevel(min(handler.level for handler in handlers))
    console.console.active = True
    for handler in handlers:
        root.addHandler(handler)
    return handlers
