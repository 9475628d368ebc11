"""The console: a progress line that log lines never glue onto, and what it shows by default."""

from __future__ import annotations

import errno
import io
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.logs import CONSOLE, Console, ConsoleHandler, RunLogFile, configure, log_path


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_message_clears_and_redraws_the_progress_line() -> None:
    screen = Terminal()
    console = Console(screen)
    console.status("done 1")
    console.message("2026-12-07 [x] ERROR: boom")
    console.status("done 2")
    assert screen.getvalue() == (
        "\r\x1b[Kdone 1" + "\r\x1b[K" + "2026-12-07 [x] ERROR: boom\n" + "\r\x1b[Kdone 1"
        "\r\x1b[Kdone 2"
    )


def test_elsewhere_each_progress_line_is_a_line() -> None:
    stream = io.StringIO()
    console = Console(stream)
    console.status("done 1")
    console.message("hello")
    assert stream.getvalue() == "done 1\nhello\n"


def record(name: str, level: int, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, "message", (), None)
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize(
    ("name", "level", "shown"),
    [
        ("crawler.archiving", logging.ERROR, True),
        ("archive.writer", logging.ERROR, True),
        ("crawler.spiders.base", logging.WARNING, False),
        ("scrapy.downloadermiddlewares.retry", logging.ERROR, False),
        ("scrapy.core.engine", logging.CRITICAL, True),
        ("twisted", logging.ERROR, False),
    ],
)
def test_by_default_the_console_shows_our_errors_not_scrapys_log(
    name: str, level: int, shown: bool
) -> None:
    handler = ConsoleHandler(Console(io.StringIO()), ours=logging.ERROR, others=logging.CRITICAL)
    assert handler.filter(record(name, level)) is shown


def test_what_the_console_has_shown_is_not_shown_twice() -> None:
    handler = ConsoleHandler(Console(io.StringIO()), ours=logging.DEBUG, others=logging.DEBUG)
    assert handler.filter(record("crawler.progress", logging.INFO, on_console=True)) is False
    assert handler.filter(record("crawler.progress", logging.INFO)) is True


def test_configure_writes_everything_at_the_level_to_the_file(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        handlers = configure(tmp_path / "logs" / "run.log", verbose=False, level="INFO")
        logging.getLogger("scrapy.core.engine").info("Spider opened")
        logging.getLogger("scrapy.core.engine").debug("not at INFO")
        for handler in handlers:
            handler.flush()
        text = (tmp_path / "logs" / "run.log").read_text(encoding="utf-8")
        assert "[scrapy.core.engine] INFO: Spider opened" in text
        assert "not at INFO" not in text
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[1]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved[0])
        CONSOLE.active = False


def test_a_live_line_never_wraps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    screen = Terminal()
    Console(screen).status("x" * 100)
    assert screen.getvalue() == "\r\x1b[K" + "x" * 39


def test_runs_started_within_one_second_keep_a_log_each(tmp_path: Path) -> None:
    now = datetime(2026, 12, 7, 13, 4, 3, 120_000, tzinfo=UTC)
    first = log_path(tmp_path, "fetch", now)
    first.parent.mkdir()
    first.touch()
    later = log_path(tmp_path, "fetch", now + timedelta(milliseconds=500))  # the same second
    again = log_path(tmp_path, "fetch", now)  # the same millisecond
    assert len({first, later, again}) == 3  # never one run appended to another's log
    assert sorted([later, first]) == [first, later]  # the names sort as the runs started


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_log_file_on_a_full_disk_is_given_up_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The log file is on the collection's disk: once full, each message was a "--- Logging
    error ---" traceback on the console, burying the one line that says what happened."""
    console = Console(io.StringIO())
    path = tmp_path / "run.log"
    handler = RunLogFile(path, console)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record("crawler.archiving", logging.INFO))
    handler.flush()
    handler.stream = _FullDisk()
    for _ in range(3):
        handler.handle(record("crawler.archiving", logging.ERROR))
    said = console.stream.getvalue()
    assert said == (
        f"portal-archiver: the log file {path} cannot be written (No space left on device): "
        "the rest of this run's log is not kept\n"
    )
    assert capsys.readouterr().err == ""  # no "--- Logging error ---"
    assert path.read_text(encoding="utf-8") == "message\n"
    handler.close()
