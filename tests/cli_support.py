"""Scrapy components for the command-line tests, enabled with ``-s EXTENSIONS=...``."""

from __future__ import annotations

import os
from typing import Any

from archive.collection import CollectionError


class FailingExtension:
    """Raises while Scrapy builds the crawler, as a pipeline or spider may: a
    ``CollectionError`` (the user's to fix) or, with ``TEST_FAILURE=bug``, a plain bug."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> FailingExtension:
        if crawler.settings.get("TEST_FAILURE") == "bug":
            raise KeyError("an unexpected bug")
        raise CollectionError(f"collection refused by the test (pid {os.getpid()})")
