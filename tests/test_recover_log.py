"""``DIR/recover.sqlite`` holds a capture as read only once it is saved (after a commit)."""

from __future__ import annotations

from pathlib import Path

from crawler.recover.state import CaptureRead, RecoveryLog

READ = CaptureRead("ia", "https://a.example/x", "20200101000000", "a.example#1", "D1", "http-200")


def test_a_noted_capture_counts_as_read_but_reaches_the_file_only_when_saved(
    tmp_path: Path,
) -> None:
    path = tmp_path / "recover.sqlite"
    log = RecoveryLog(path)
    log.want("https://a.example/p.jpg", article=READ.key, site="a", timestamp=READ.timestamp)
    log.add(READ)
    log.settle("https://a.example/p.jpg")
    assert log.done() == {(READ.source, READ.url, READ.timestamp)}
    assert log.digests() == {READ.key: {"D1"}}
    assert log.wanted()  # the settle is not saved yet
    log.close()  # a run that stops before its save (killed, or its archive failed)

    reopened = RecoveryLog(path)
    assert reopened.done() == set()
    assert [row[0] for row in reopened.wanted()] == ["https://a.example/p.jpg"]
    reopened.add(READ)
    reopened.settle("https://a.example/p.jpg")
    reopened.save()
    reopened.close()

    saved = RecoveryLog(path)
    assert saved.done() == {(READ.source, READ.url, READ.timestamp)}
    assert saved.wanted() == []
    assert saved.unsaved == 0
    saved.close()
