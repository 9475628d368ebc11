"""Writing exchanges to rotating, gzip-per-record WARC/1.1 files.

A file is written as ``{prefix}-{UTC YYYYMMDDHHMMSSffffff}-{serial:05d}.warc.gz.open`` and renamed
to drop ``.open`` when closed; it starts with a ``warcinfo`` record and is rotated before a record
would take it past ``max_size`` (records are never split; request and response stay together).

Every record is rendered and compressed in memory, then written with unbuffered writes, so after
each record the bytes are with the OS (a killed process loses at most the record being written).
``fsync`` happens only in :meth:`ArchiveWriter.sync` and :meth:`ArchiveWriter.close`. When a write
fails (ENOSPC, EIO) the file is truncated back to where the record started and
:class:`ArchiveWriteError` is raised: later records never build on a half-written one.

Fixity at ingest: the SHA-256 and CRC-32 of each file are taken from the bytes as they are
written (updated once a record is wholly written, so a roll-back leaves them right; about 0.6 ms
a MB, and nothing is read back), and recorded (:mod:`archive.fixity`) with the sealed file's size
and mtime once its rename is durable; ``wacz`` then packages it without reading it back.
See :mod:`archive.records` for the chunked rule and the compression levels.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import BinaryIO

from archive.atomic import fsync_directory
from archive.cdxj import capture_line
from archive.exchange import Exchange, WarcLocation
from archive.fixity import RunningSums, record_sealed
from archive.records import (
    DEFAULT_LEVEL,
    NOT_MODIFIED_PROFILE,
    REVISIT_PROFILE,
    archived_request,
    compression_level,
    gzip_member,
    head_headers,
    header_value,
    item_target,
    render_record,
    sha1_digest,
    stored_response_head,
    warc_date,
)
from archive.recovered import CopiedRecord

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
WARC_SUFFIX = ".warc.gz"
REQUEST_TYPE = "application/http; msgtype=request"
RESPONSE_TYPE = "application/http; msgtype=response"


class ArchiveWriteError(OSError):
    """A record could not be written; the file was cut back to its last complete record."""


def software_version() -> str:
    """``portal-archiver/{version}`` for the warcinfo record."""
    try:
        return f"portal-archiver/{version('portal-archiver')}"
    except PackageNotFoundError:
        return "portal-archiver"


def _new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def _now() -> datetime:
    return datetime.now(UTC)


def _open_append(path: Path) -> BinaryIO:
    # Unbuffered: a failed write must not leave bytes in a Python buffer to surface later.
    return open(path, "ab", buffering=0)


def _request_payload(request: bytes) -> bytes:
    _, sep, body = request.partition(b"\r\n\r\n")
    return body if sep else b""


class _Record:
    """A rendered, compressed record waiting to be written."""

    __slots__ = ("data", "record_id")

    def __init__(self, record_id: str, data: bytes) -> None:
        self.record_id = record_id
        self.data = data


class ArchiveWriter:
    """Appends records to the current WARC file of ``directory``, rotating by size."""

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "portal",
        max_size: int = 1_000_000_000,
        info: Mapping[str, str] = {},
        record_ids: Callable[[], str] | None = None,
        clock: Callable[[], datetime] | None = None,
        opener: Callable[[Path], BinaryIO] | None = None,
        index_sink: Callable[[str], None] | None = None,
    ) -> None:
        self._directory = Path(directory)
        self._index_sink = index_sink
        self._prefix = prefix
        self._max_size = max_size
        self._info = dict(info)
        self._record_ids = record_ids or _new_record_id
        self._clock = clock or _now
        self._opener = opener or _open_append
        self._serial = 0
        self._path: Path | None = None
        self._file: BinaryIO | None = None
        self._size = 0
        self._sums = RunningSums()
        self._records_in_file = 0
        self.bytes_written = 0
        """Bytes appended to WARC files by this writer, over all its files."""

    def add_info(self, fields: Mapping[str, str]) -> None:
        """Add warcinfo fields (seeds, crawl start) for the files started from now on."""
        self._info.update(fields)

    @property
    def current_file(self) -> str | None:
        """Final name (``....warc.gz``) of the file being written, or None between files."""
        return self._path.name.removesuffix(OPEN_SUFFIX) if self._path else None

    def write_exchange(self, ex: Exchange, *, payload_digest: str | None = None) -> WarcLocation:
        """Write the response and its request; return the response's location.

        ``payload_digest`` is :func:`archive.records.sha1_digest` of the body, for a caller
        that computed it already.
        """
        response_id = self._record_ids()
        fields = head_headers(ex.response_head)
        head = stored_response_head(ex.response_head, len(ex.body))
        digest = payload_digest or sha1_digest(ex.body)
        response = self._render(
            "response",
            response_id,
            ex,
            [("WARC-Payload-Digest", digest)],
            head + ex.body,
            RESPONSE_TYPE,
            compression_level(fields),
        )
        request = self._request(ex, response_id)
        location = self._write([response, request])
        self._index(ex, fields, location, len(response.data), digest, revisit=False)
        return location

    def write_recovered(
        self, ex: Exchange, *, fields: list[tuple[str, str]], payload_digest: str | None = None
    ) -> WarcLocation:
        """Write a response recovered from a web archive: no request record (we sent none to
        the original server); ``ex.response_head`` is the stored original head,
        ``ex.fetched_at`` the archive's capture time, ``fields`` say where it came from
        (:class:`archive.recovered.Provenance`)."""
        response_id = self._record_ids()
        head_fields = head_headers(ex.response_head)
        digest = payload_digest or sha1_digest(ex.body)
        response = self._render(
            "response",
            response_id,
            ex,
            [("WARC-Payload-Digest", digest), *fields],
            ex.response_head + ex.body,
            RESPONSE_TYPE,
            compression_level(head_fields),
        )
        location = self._write([response])
        self._index(ex, head_fields, location, len(response.data), digest, revisit=False)
        return location

    def copy_record(self, member: bytes, record: CopiedRecord) -> WarcLocation:
        """Append a WARC record from another archive exactly as it is (one gzip member), e.g.
        a Common Crawl record read by byte range; ``record`` describes it for the index."""
        location = self._write([_Record(record.record_id, member)])
        if self._index_sink is not None and record.indexable:
            self._index_sink(
                capture_line(
                    url=record.url,
                    warc_date=record.warc_date,
                    revisit=record.revisit,
                    status=record.status,
                    content_type=record.content_type,
                    digest=record.digest,
                    length=len(member),
                    offset=location.offset,
                    filename=location.file,
                )
            )
        return location

    def write_revisit(
        self,
        ex: Exchange,
        *,
        refers_to_uri: str,
        refers_to_date: str,
        payload_digest: str,
        refers_to_record: str | None = None,
        profile: str = REVISIT_PROFILE,
    ) -> WarcLocation:
        """Write the request and a revisit of a stored capture.

        ``profile`` is identical-payload-digest (a 200 repeating a stored payload: the
        revisit holds the response head) or :data:`archive.records.NOT_MODIFIED_PROFILE` (a
        304 to a conditional request: the revisit has no block). pywb and ReplayWeb.page
        replay a revisit with the head it holds, so one holding the 304's head would replay as
        an empty 304; with none they take the stored capture's head and payload, which is what
        the 304 said. ``payload_digest`` is the stored capture's: replay tools look it up by it.
        """
        revisit_id = self._record_ids()
        fields = [("WARC-Profile", profile)]
        if refers_to_record:
            fields.append(("WARC-Refers-To", refers_to_record))
        fields += [
            ("WARC-Refers-To-Target-URI", refers_to_uri),
            ("WARC-Refers-To-Date", refers_to_date),
            ("WARC-Payload-Digest", payload_digest),
        ]
        not_modified = profile == NOT_MODIFIED_PROFILE
        head = b"" if not_modified else stored_response_head(ex.response_head, len(ex.body))
        revisit = self._render(
            "revisit", revisit_id, ex, fields, head, RESPONSE_TYPE, DEFAULT_LEVEL
        )
        location = self._write([revisit, self._request(ex, revisit_id)])
        fields = head_headers(ex.response_head)
        self._index(ex, fields, location, len(revisit.data), payload_digest, revisit=True)
        return location

    def _index(
        self,
        ex: Exchange,
        fields: list[tuple[str, str]],
        location: WarcLocation,
        length: int,
        digest: str,
        *,
        revisit: bool,
    ) -> None:
        """Hand the record's CDXJ line to the index sink, if any (``fields``: the head's)."""
        if self._index_sink is None:
            return
        status_line = ex.response_head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        content_type = header_value(fields, "content-type")
        self._index_sink(
            capture_line(
                url=ex.url,
                warc_date=warc_date(ex.fetched_at),
                revisit=revisit,
                status=status_line[1] if len(status_line) > 1 else "",
                content_type=content_type,
                digest=digest,
                length=length,
                offset=location.offset,
                filename=location.file,
            )
        )

    def write_metadata(
        self,
        *,
        target_uri: str,
        concurrent_to: str,
        payload: bytes,
        content_type: str = "application/json",
    ) -> WarcLocation:
        """Write a metadata record about the response ``concurrent_to`` (the page at
        ``target_uri``), addressed by :func:`archive.records.item_target` so that no indexer
        takes it for the page; it refers to the response both ways WARC 1.1 allows."""
        record_id = self._record_ids()
        headers = [
            ("WARC-Type", "metadata"),
            ("WARC-Record-ID", record_id),
            ("WARC-Date", warc_date(self._clock())),
            ("WARC-Target-URI", item_target(target_uri)),
            ("WARC-Concurrent-To", concurrent_to),
            ("WARC-Refers-To", concurrent_to),
            ("WARC-Payload-Digest", sha1_digest(payload)),
        ]
        data = render_record("metadata", headers, payload, content_type)
        return self._write([_Record(record_id, gzip_member(data, DEFAULT_LEVEL))])

    def sync(self) -> None:
        """Make everything written so far durable (fsync the open file)."""
        if self._file is not None:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Finish the current file: fsync, rename ``.open`` away. A later write starts a new one."""
        if self._file is None or self._path is None:
            return
        self.sync()
        self._file.close()
        final = self._path.with_name(self._path.name.removesuffix(OPEN_SUFFIX))
        os.replace(self._path, final)
        fsync_directory(self._directory)
        logger.info("closed %s (%d bytes)", final.name, self._size)
        self._file = None
        self._path = None
        # Only now: a record never names bytes that could still change, nor a rename that a
        # power cut could undo (the .open file would come back and be repaired, and recorded).
        record_sealed(final, self._sums)

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, ex: Exchange, concurrent_to: str) -> _Record:
        fields = [
            ("WARC-Concurrent-To", concurrent_to),
            ("WARC-Payload-Digest", sha1_digest(_request_payload(ex.request))),
        ]
        return self._render(
            "request",
            self._record_ids(),
            ex,
            fields,
            archived_request(ex.request),
            REQUEST_TYPE,
            DEFAULT_LEVEL,
        )

    def _render(
        self,
        rec_type: str,
        record_id: str,
        ex: Exchange,
        fields: list[tuple[str, str]],
        block: bytes,
        content_type: str,
        level: int,
    ) -> _Record:
        headers = [
            ("WARC-Type", rec_type),
            ("WARC-Record-ID", record_id),
            ("WARC-Date", warc_date(ex.fetched_at)),
            ("WARC-Target-URI", ex.url),
        ]
        if ex.ip_address:
            headers.append(("WARC-IP-Address", ex.ip_address))
        data = render_record(rec_type, headers + fields, block, content_type)
        return _Record(record_id, gzip_member(data, level))

    def _write(self, records: list[_Record]) -> WarcLocation:
        size = sum(len(record.data) for record in records)
        if (
            self._file is not None
            and self._records_in_file > 0
            and self._size + size > self._max_size
        ):
            self.close()
        if self._file is None:
            self._start_file()
        name = self.current_file
        assert name is not None
        offset = self._size
        self._append(b"".join(record.data for record in records))
        self._records_in_file += len(records)
        return WarcLocation(file=name, offset=offset, record_id=records[0].record_id)

    def _start_file(self) -> None:
        started = self._clock()
        while True:
            stamp = started.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
            name = f"{self._prefix}-{stamp}-{self._serial:05d}{WARC_SUFFIX}"
            self._serial += 1
            path = self._directory / (name + OPEN_SUFFIX)
            if not path.exists() and not (self._directory / name).exists():
                break
        self._directory.mkdir(parents=True, exist_ok=True)
        self._file = self._opener(path)
        self._path = path
        self._size = 0
        self._sums = RunningSums()
        self._records_in_file = 0
        try:
            self._append(self._warcinfo(name, started))
        except ArchiveWriteError:
            self._abandon_file()
            raise

    def _abandon_file(self) -> None:
        assert self._file is not None and self._path is not None
        self._file.close()
        self._path.unlink(missing_ok=True)
        self._file = None
        self._path = None

    def _warcinfo(self, name: str, started: datetime) -> bytes:
        fields = {
            "software": software_version(),
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            **self._info,
        }
        block = "".join(f"{key}: {value}\r\n" for key, value in fields.items() if value)
        headers = [
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", self._record_ids()),
            ("WARC-Date", warc_date(started)),
            ("WARC-Filename", name),
        ]
        data = render_record("warcinfo", headers, block.encode("utf-8"), "application/warc-fields")
        return gzip_member(data, DEFAULT_LEVEL)

    def _append(self, data: bytes) -> None:
        assert self._file is not None and self._path is not None
        start = self._size
        try:
            view = memoryview(data)
            while view:
                written = self._file.write(view)
                if not written:
                    raise OSError(f"short write to {self._path}")
                view = view[written:]
        except OSError as error:
            self._roll_back(start, error)
        self._sums.update(data)  # only now: a roll-back leaves the sums those of the file
        self._size += len(data)
        self.bytes_written += len(data)

    def _roll_back(self, start: int, error: OSError) -> None:
        assert self._path is not None
        try:
            os.truncate(self._path, start)
        except OSError as truncate_error:
            raise ArchiveWriteError(
                error.errno,
                f"writing {self._path} failed ({error}); cutting it back to byte {start} failed "
                f"too ({truncate_error}): it will be repaired at the next start",
            ) from error
        raise ArchiveWriteError(
            error.errno,
            f"writing {self._path} failed ({error}); the file was cut back to its last "
            f"complete record at byte {start}",
        ) from error
