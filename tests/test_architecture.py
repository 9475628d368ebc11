"""The layering the design promises: archive/ and the parsers never need Scrapy."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Every module of these packages, found on disk: a module added later is checked too.
PURE_PACKAGES = ["archive", "crawler.parsers"]
PURE_MODULES = [
    *(
        f"{package}.{module.name}"
        for package in PURE_PACKAGES
        for module in pkgutil.iter_modules([str(REPO / package.replace(".", "/"))])
    ),
    "crawler.urls",
    "crawler.reextract",
]


def test_the_pure_packages_are_found() -> None:
    assert {"archive.writer", "archive.reader", "crawler.parsers.article"} <= set(PURE_MODULES)


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_without_scrapy(module: str) -> None:
    code = f"import sys, {module}; sys.exit('scrapy' in sys.modules or 'twisted' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
