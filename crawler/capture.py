"""Wire-level capture: the exact bytes of each HTTP exchange, before Scrapy touches them.

Scrapy's HTTP/1.1 handler keeps neither the reason phrase nor header order, case or
repetition (one ``Set-Cookie`` of several survives in some paths), and by the time a
spider sees a response the body is already un-gzipped. Archives need all of it, so
this handler records what Twisted sent and received on the socket:

* the request as written to the transport (request line with query, every header);
* the response head as received (status line, header lines in order, raw case);
* the body, de-chunked but still content-encoded (what ``_ResponseReader`` collects).

The capture is handed on in ``request.meta["archive_capture"]`` and consumed by the
archive extension on the ``response_downloaded`` signal.

This leans on Scrapy's private HTTP/1.1 classes (``_ScrapyAgent``,
``_LenientHTTP11ClientProtocol``), and on ``wrap_twisted_exceptions`` from the private
``scrapy.utils._download_handlers``, so that a download failing here raises the same Scrapy
errors as in Scrapy's own handler: Scrapy offers no public hook for the wire bytes.
pyproject.toml pins the Scrapy range it was written for and the capture tests fail loudly
if a release changes them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
    _ScrapyAgent,
)
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.internet.defer import Deferred
    from twisted.web.iweb import IResponse

CAPTURE_META_KEY = "archive_capture"


@dataclass(slots=True)
class WireCapture:
    """What crossed the socket for one request (the body is added by Scrapy's reader)."""

    request: bytes
    response_head: bytes
    started_at: datetime


class _RecordingTransport:
    """Forwards writes to the real transport and keeps a copy of every byte."""

    def __init__(self, transport: Any, sink: bytearray) -> None:
        self._transport = transport
        self._sink = sink

    def write(self, data: bytes) -> None:
        self._sink += data
        self._transport.write(data)

    def writeSequence(self, data: list[bytes]) -> None:
        for chunk in data:
            self._sink += chunk
        self._transport.writeSequence(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _RecordingParser(_LenientHTTPClientParser):
    """Keeps every status and header line exactly as received."""

    def lineReceived(self, line: bytes) -> None:
        self.__dict__.setdefault("_raw_head", bytearray()).extend(line + b"\n")
        super().lineReceived(line)

    def allHeadersReceived(self) -> None:
        self.response._archive_capture = WireCapture(  # type: ignore[attr-defined]
            request=bytes(self.__dict__.get("_sent", b"")),
            response_head=_crlf(bytes(self.__dict__.pop("_raw_head", b""))),
            started_at=self.__dict__.get("_started_at", datetime.now(UTC)),
        )
        # Popping the head above also means an interim 1xx response (which Twisted
        # skips) does not leak into the final response's head.
        super().allHeadersReceived()


def _crlf(head: bytes) -> bytes:
    # LineReceiver splits on LF; a server that sent bare LFs gets CRLFs in the archive
    # (the one normalisation we make, since WARC readers expect CRLF).
    lines = head.split(b"\n")[:-1]
    return b"".join(line.removesuffix(b"\r") + b"\r\n" for line in lines)


class _RecordingProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: Any) -> Deferred[IResponse]:
        sent = bytearray()
        started_at = datetime.now(UTC)
        write_to = request.writeTo
        request.writeTo = lambda transport: write_to(_RecordingTransport(transport, sent))
        d = super().request(request)
        # The same class swap Scrapy does for its lenient parser; the parser keeps no
        # state of its own beyond what __dict__ receives here.
        self._parser.__class__ = _RecordingParser
        self._parser.__dict__.update(_sent=sent, _started_at=started_at)
        return d


class _RecordingFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: Any) -> _RecordingProtocol:
        return _RecordingProtocol(self._quiescentCallback)


class _RecordingAgent(_ScrapyAgent):
    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        capture = getattr(txresponse, "_archive_capture", None)
        if capture is not None:
            request.meta[CAPTURE_META_KEY] = capture
        return super()._cb_bodyready(txresponse, request)


class ArchivingDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, recording each exchange's wire bytes."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool._factory = _RecordingFactory

    async def download_request(self, request: Request) -> Response:
        agent = _RecordingAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))


def ip_of(response: Response) -> str | None:
    address = getattr(response, "ip_address", None)
    return str(ipaddress.ip_address(address)) if address is not None else None
