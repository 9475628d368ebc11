"""The system's Chromium in headless mode, driven by Playwright, for the browser tests
(ReplayWeb.page, the reading room). Never a downloaded browser: no ``playwright install``;
``.ci/run`` installs Debian's ``chromium`` and ``CHROMIUM`` names another executable."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import tool_missing

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (Playwright's ``Browser``), closed afterwards; where
    Playwright or Chromium is missing, the test fails under CI and skips elsewhere."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        tool_missing("playwright is not installed (pip install -e '.[test]')")
    if not shutil.which(CHROMIUM):
        tool_missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
