"""The disk queue of scheduled requests: Scrapy's pickle FIFO, naming callbacks cheaply.

Scrapy stores a queued request as ``Request.to_dict(spider=...)``, which finds the name of
each callback by listing every member of the spider (``inspect.getmembers``): about 45 µs
per request, more than the rest of the queue's work. Here a callback's name comes from the
function and is checked against the spider; anything else goes to Scrapy's own search.
The dict is Scrapy's (a method known by two names may be stored by the other one), so the
queue's files read back the same with either class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.squeues import PickleFifoDiskQueue

if TYPE_CHECKING:
    from scrapy import Spider


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


class RequestDiskQueue(PickleFifoDiskQueue):  # type: ignore[misc,valid-type]
    """``scrapy.squeues.PickleFifoDiskQueue`` with :func:`request_to_dict`."""

    def push(self, request: Request) -> None:
        # Past Scrapy's request-to-dict step, to its pickling queue.
        super(PickleFifoDiskQueue, self).push(request_to_dict(request, self.spider))
