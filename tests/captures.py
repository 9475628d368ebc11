"""How a re-crawl captured each page, read from the WARC with warcio (not our reader)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

NOT_MODIFIED = "not-modified"
"""The server answered 304 to a conditional request."""
IDENTICAL = "identical-payload"
"""The server sent the page again, and its payload was one the collection held."""


def capture_kind(record: ArcWarcRecord) -> str:
    """``not-modified``, ``identical-payload``, or ``response STATUS`` for a full capture.

    A 304 is kept either as the ``response`` it was or as a WARC 1.1 ``server-not-modified``
    revisit (issue 13 moves from the first to the second): both say that the server answered
    304, which is what the tests check; neither is an identical-payload revisit.
    """
    status = record.http_headers.get_statuscode() if record.http_headers else ""
    if record.rec_type == "revisit":
        profile = record.rec_headers.get_header("WARC-Profile") or ""
        if profile.endswith("/server-not-modified"):
            return NOT_MODIFIED
        assert profile.endswith("/identical-payload-digest"), profile
        return IDENTICAL
    return NOT_MODIFIED if status == "304" else f"response {status}"


def records(warcs: Iterable[Path], *types: str) -> list[ArcWarcRecord]:
    """The records of ``types`` in ``warcs``, headers parsed (the payload is not kept)."""
    found = []
    for warc in warcs:
        with warc.open("rb") as stream:
            found += [record for record in ArchiveIterator(stream) if record.rec_type in types]
    return found


def captures_by_uri(warcs: Iterable[Path]) -> dict[str, str]:
    """The kind of capture of each target URI (the last one, when captured twice)."""
    return {
        record.rec_headers.get_header("WARC-Target-URI"): capture_kind(record)
        for record in records(warcs, "response", "revisit")
    }
