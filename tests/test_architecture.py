"""The layering the design promises: archive/ and the parsers never need Scrapy."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE_MODULES = [
    "archive.writer",
    "archive.reader",
    "archive.collection",
    "archive.cdxj",
    "archive.repair",
    "crawler.parsers.article",
    "crawler.parsers.listing",
    "crawler.urls",
    "crawler.reextract",
]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_without_scrapy(module: str) -> None:
    code = f"import sys, {module}; sys.exit('scrapy' in sys.modules or 'twisted' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
