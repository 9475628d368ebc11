"""Write a WARC laid out as Browsertrix-Crawler 1.x writes one, from live pages of the replica.

Browsertrix needs Chromium driven through its own Node.js crawler and cannot run in the tests,
so this is an imitation, kept faithful to what its source writes (``src/util/recorder.ts``,
``warcwriter.ts``, ``reqresp.ts``, and warcio.js's ``WARCRecord.create`` and serializer):

- ``WARC/1.1`` records, one gzip member each; a ``warcinfo`` first (``software``, ``format:
  WARC File Format 1.1``), ``application/warc-fields``;
- per resource a ``response`` record, then its ``request`` record with ``WARC-Concurrent-To``;
  both carry ``WARC-Page-ID`` (the page's UUID) and ``WARC-Resource-Type`` (``document``,
  ``image``); WARC headers in warcio.js's order (given headers, then ``WARC-Target-URI``,
  ``WARC-Date`` with milliseconds, ``WARC-Type``, ``WARC-Record-ID``, ``Content-Type``, the
  ``sha256:`` hex digests, ``Content-Length``);
- the body as the browser hands it over, already decoded: ``Content-Encoding`` and
  ``Transfer-Encoding`` renamed ``x-orig-...`` and ``Content-Length`` set to the stored body;
- a second load of a page with the same payload as a ``revisit`` (WARC/1.1
  ``identical-payload-digest``) keeping the HTTP headers and no body;
- per page a ``resource`` record ``urn:pageinfo:{page URL}`` (``application/json``: ``pageid``,
  ``url``, ``urls`` with status, mime and type of each resource, ``counts``).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

SOFTWARE = "Browsertrix-Crawler 1.6.3 (with warcio.js 2.4.4)"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_RENAMED = ("content-encoding", "transfer-encoding")


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    """Decoded, as the browser gives it."""


def fetch(url: str) -> Fetched:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with _OPENER.open(request, timeout=30) as response:
        body = response.read()
        headers = list(response.headers.items())
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return Fetched(url, response.status, response.reason, headers, body)


def _timestamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _mime(fetched: Fetched) -> str:
    return dict(fetched.headers).get("Content-Type", "").split(";")[0]


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BrowsertrixWriter:
    def __init__(self, stream: BinaryIO, filename: str) -> None:
        self.stream = stream
        self.now = dt.datetime(2025, 6, 27, 3, 14, 15, 926000, tzinfo=dt.UTC)
        info = f"software: {SOFTWARE}\r\nformat: WARC File Format 1.1\r\n".encode()
        given = [("WARC-Filename", filename)]
        self._record("warcinfo", given, None, "application/warc-fields", info, self._tick())

    def _tick(self) -> str:
        self.now += dt.timedelta(milliseconds=37)
        return _timestamp(self.now)

    def _record(
        self,
        kind: str,
        given: list[tuple[str, str]],
        url: str | None,
        content_type: str,
        block: bytes,
        date: str,
        payload: bytes | None = None,
    ) -> str:
        record_id = f"<urn:uuid:{uuid.uuid4()}>"
        headers = [*given]
        if url is not None:
            headers.append(("WARC-Target-URI", url))
        headers += [
            ("WARC-Date", date),
            ("WARC-Type", kind),
            ("WARC-Record-ID", record_id),
            ("Content-Type", content_type),
        ]
        if payload is not None:
            headers.append(("WARC-Payload-Digest", _sha256(payload)))
        headers += [("WARC-Block-Digest", _sha256(block)), ("Content-Length", str(len(block)))]
        head = "WARC/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
        self.stream.write(gzip.compress(head.encode() + b"\r\n" + block + b"\r\n\r\n"))
        return record_id

    @staticmethod
    def _http_head(fetched: Fetched) -> bytes:
        lines = [f"HTTP/1.1 {fetched.status} {fetched.reason}"]
        for name, value in fetched.headers:
            if name.lower() in _RENAMED:
                name = "x-orig-" + name
            elif name.lower() == "content-length":
                value = str(len(fetched.body))
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def exchange(self, fetched: Fetched, page_id: str, resource_type: str) -> str:
        """Write the response and request records; return their ``WARC-Date``."""
        given = [("WARC-Page-ID", page_id), ("WARC-Resource-Type", resource_type)]
        block = self._http_head(fetched) + fetched.body
        date = self._tick()
        kind = "application/http; msgtype=response"
        response_id = self._record("response", given, fetched.url, kind, block, date, fetched.body)
        parts = urlsplit(fetched.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        request += (
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36\r\n\r\n"
        )
        concurrent = [("WARC-Concurrent-To", response_id), *given]
        kind = "application/http; msgtype=request"
        self._record("request", concurrent, fetched.url, kind, request.encode(), date)
        return date

    def revisit(self, fetched: Fetched, page_id: str, refers_to_date: str) -> None:
        given = [
            ("WARC-Page-ID", page_id),
            ("WARC-Resource-Type", "document"),
            ("WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"),
            ("WARC-Refers-To-Target-URI", fetched.url),
            ("WARC-Refers-To-Date", refers_to_date),
        ]
        head = self._http_head(fetched)
        kind = "application/http; msgtype=response"
        self._record("revisit", given, fetched.url, kind, head, self._tick(), fetched.body)

    def pageinfo(self, page: Fetched, resources: list[tuple[Fetched, str]], page_id: str) -> None:
        urls = {
            f.url: {"status": f.status, "mime": _mime(f), "type": kind} for f, kind in resources
        }
        info = {"pageid": page_id, "urls": urls, "url": page.url, "counts": {"jsErrors": 0}}
        body = json.dumps(info, indent=2).encode()
        url = f"urn:pageinfo:{page.url}"
        self._record("resource", [], url, "application/json", body, self._tick(), body)


def write_browsertrix_warc(path: Path, pages: list[tuple[str, list[str]]], revisit: str) -> None:
    """Capture each (page URL, image URLs) from a live server into ``path``, as Browsertrix
    would, then load ``revisit`` (one of the pages) a second time."""
    with path.open("wb") as stream:
        writer = BrowsertrixWriter(stream, path.name)
        first_seen: dict[str, str] = {}
        for url, images in pages:
            page_id = str(uuid.uuid4())
            page = fetch(url)
            first_seen[url] = writer.exchange(page, page_id, "document")
            resources = [(page, "document")]
            for image in images:
                fetched = fetch(image)
                writer.exchange(fetched, page_id, "image")
                resources.append((fetched, "image"))
            writer.pageinfo(page, resources, page_id)
        writer.revisit(fetch(revisit), str(uuid.uuid4()), first_seen[revisit])
