"""The disk queue of scheduled requests: Scrapy's pickle FIFO, cheaper where it can be.

Scrapy stores a queued request as ``Request.to_dict(spider=...)``, which finds the name of
each callback by listing every member of the spider (``inspect.getmembers``): about 45 µs
per request, more than the rest of the queue's work. Here a callback's name comes from the
function and is checked against the spider; anything else goes to Scrapy's own search.
The dict is Scrapy's (a method known by two names may be stored by the other one), so the
queue's files read back the same with either class.

Most requests are taken from the queue soon after they are put in it, and Scrapy closes a
priority's queue each time it empties: a disk queue then creates, writes and removes its
directory over and over, and every request is rebuilt from its dict. So the newest requests
wait in memory (a bounded number: memory stays flat however large the site) and go to disk
together when there are too many; a queue that never grows past that touches no file.
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from queuelib import FifoDiskQueue
from scrapy import Request
from scrapy.utils.request import request_from_dict

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

IN_MEMORY = 256
"""Requests a queue keeps in memory before it writes them to disk. Scrapy keeps a queue per
host and priority, so a province crawl of a dozen district hosts may hold a few dozen of these
at once: 256 (some 2-3 kB each, with their bytes) bounds them to tens of MB, and still keeps
the queues that drain soon (an article's photos, a listing's next page) off the disk."""


def method_name(spider: Spider, callback: Callable[..., Any]) -> str | None:
    """The name under which ``spider`` has the bound method ``callback``, or None."""
    function = getattr(callback, "__func__", None)
    name = getattr(function, "__name__", None)
    if name is None or getattr(callback, "__self__", None) is not spider:
        return None
    # What the queue's reader will do with the name: getattr on the spider.
    found = getattr(spider, name, None)
    return name if getattr(found, "__func__", None) is function else None


def request_to_dict(request: Request, spider: Spider) -> dict[str, Any]:
    """``request.to_dict(spider=spider)``, without searching the spider's members."""
    names = {}
    for attribute in ("callback", "errback"):
        callback = getattr(request, attribute)
        if not callable(callback):
            names[attribute] = callback
            continue
        name = method_name(spider, callback)
        if name is None:
            return request.to_dict(spider=spider)
        names[attribute] = name
    data = {"url": request.url, **names, "headers": dict(request.headers)}
    for attribute in request.attributes:
        data.setdefault(attribute, getattr(request, attribute))
    if type(request) is not Request:
        data["_class"] = f"{type(request).__module__}.{type(request).__name__}"
    return data


def _serialized(request: Request, spider: Spider) -> bytes:
    """What Scrapy's pickle queue writes; ValueError when it cannot (Scrapy's scheduler then
    keeps the request in its memory queue)."""
    data = request_to_dict(request, spider)
    try:
        return pickle.dumps(data, protocol=4)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(str(error)) from error


class RequestDiskQueue:
    """A FIFO of requests, its older part in Scrapy's pickle format on disk at ``path``.

    Every request is serialized when pushed, so that one Scrapy cannot store is refused then,
    as by Scrapy's queue; the newest ``in_memory`` are kept as they are, with their bytes, and
    only written when more arrive or the queue closes (after the older ones: the files read
    back in order with ``scrapy.squeues.PickleFifoDiskQueue``).
    """

    def __init__(self, spider: Spider, path: str, *, in_memory: int = IN_MEMORY) -> None:
        self.spider = spider
        self._path = path
        self._in_memory = in_memory
        self._newest: deque[tuple[Request, bytes]] = deque()
        # What an earlier run left on disk comes first.
        self._disk: FifoDiskQueue | None = FifoDiskQueue(path) if Path(path).exists() else None

    @classmethod
    def from_crawler(cls, crawler: Crawler, key: str, *args: Any, **kwargs: Any) -> Self:
        return cls(crawler.spider, key)

    def push(self, request: Request) -> None:
        self._newest.append((request, _serialized(request, self.spider)))
        if len(self._newest) > self._in_memory:
            self._write_newest()

    def pop(self) -> Request | None:
        if self._disk is not None and len(self._disk):
            data = self._disk.pop()
            return request_from_dict(pickle.loads(data), spider=self.spider)
        return self._newest.popleft()[0] if self._newest else None

    def peek(self) -> Request | None:
        if self._disk is not None and len(self._disk):
            data = self._disk.peek()
            return request_from_dict(pickle.loads(data), spider=self.spider)
        return self._newest[0][0] if self._newest else None

    def close(self) -> None:
        if self._newest:
            self._write_newest()
        if self._disk is not None:
            self._disk.close()
            self._disk = None

    def __len__(self) -> int:
        return len(self._newest) + (len(self._disk) if self._disk is not None else 0)

    def _write_newest(self) -> None:
        if self._disk is None:
            self._disk = FifoDiskQueue(self._path)
        while self._newest:
            self._disk.push(self._newest.popleft()[1])
