"""Every spider callback passes the check WARN_ON_GENERATOR_RETURN_VALUE would make at run time.

The project switches that check off (crawler/settings.py): it parses a callback's source
again and again during a crawl. A generator callback that returns a value drops that value
silently, so the check runs here instead, with Scrapy's own function.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from scrapy.utils.misc import is_generator_with_return_value

from crawler.spiders.base import ArchivingSpider
from crawler.spiders.fetch import FetchSpider
from crawler.spiders.portal import PortalSpider


def _callbacks() -> dict[str, Callable[..., Any]]:
    """Every function our spider classes define: any of them may serve as a callback."""
    return {
        f"{spider.__name__}.{name}": function
        for spider in (ArchivingSpider, FetchSpider, PortalSpider)
        for name, function in inspect.getmembers(spider, inspect.isfunction)
        if function.__module__.startswith("crawler.")
    }


@pytest.mark.parametrize("name", sorted(_callbacks()))
def test_no_callback_is_a_generator_that_returns_a_value(name: str) -> None:
    assert not is_generator_with_return_value(_callbacks()[name])


def test_the_check_catches_a_generator_that_returns_a_value() -> None:
    def bad_callback(response: object):  # type: ignore[no-untyped-def]
        yield response
        return 1

    assert is_generator_with_return_value(bad_callback)


def test_the_callbacks_requests_name_are_among_those_checked() -> None:
    names = set(_callbacks())
    assert {"PortalSpider.parse_article", "PortalSpider.parse_listing"} <= names
    assert {"PortalSpider.parse_home", "PortalSpider.on_idle", "FetchSpider.parse_article"} <= names
