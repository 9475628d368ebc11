"""``wacz`` over the stored-entry writer: a package with ZIP64 records that py-wacz, zipfile and
ReplayWeb.page read; a full disk and a WARC changing underneath are one sentence, and leave
no package and no temporary file."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import archive.zipstore
from archive.wacz import PackageInfo, WaczError, write_wacz
from archive.zipstore import KernelCopy
from crawler import cli
from tests.conftest import Crawled
from tests.replay_support import py_wacz_validate, stamp
from tests.replaywebpage_support import replaywebpage_browser, serving
from tests.test_replaywebpage import _embed, _page_list
from tests.test_wacz import _two_site_collection

WAIT_MS = 90_000
UNUSED = frozenset({"scrapy", "twisted", "cryptography", "lxml"})
"""Packages an unsigned ``wacz`` run has no use for."""


@pytest.fixture(scope="module")
def zip64_package(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crawl packaged with the ZIP64 limit lowered to 1,000 bytes: every WARC entry has
    ZIP64 fields, the central directory is past the limit, so the ZIP64 end records are there."""
    out = tmp_path_factory.mktemp("zip64") / "lapvo.wacz"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(archive.zipstore, "ZIP64_LIMIT", 1000)
        write_wacz(crawled.directory, out, PackageInfo("Lấp Vò"))
    return out


def test_a_zip64_package_is_valid(zip64_package: Path) -> None:
    with zipfile.ZipFile(zip64_package) as package:
        assert package.testzip() is None
        assert all(info.header_offset > 1000 for info in package.infolist()[1:])
    data = zip64_package.read_bytes()
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
    assert "Validation succeeded" in py_wacz_validate(zip64_package)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with replaywebpage_browser() as launched:
        yield launched


def test_replaywebpage_reads_a_zip64_package(
    browser: Any, zip64_package: Path, crawled: Crawled
) -> None:
    items = crawled.items
    seed = next(item for item in items if item["asset_id"] == "4961961")
    context = browser.new_context()
    try:
        page = context.new_page()
        with serving(zip64_package) as site:
            entries = _page_list(_embed(page, site, view="pages"), lambda n: n == len(items))
            assert any(seed["title"] in entry for entry in entries)
            app = _embed(page, site, url=seed["url"], ts=stamp(seed["fetched_at"]))
            title = app.frame_locator("iframe").locator("span.asset-title")
            title.wait_for(timeout=WAIT_MS)
            assert seed["title"] in title.inner_text()
    finally:
        context.close()


def test_a_full_disk_is_one_sentence_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_site_collection(tmp_path / "c")
    out = tmp_path / "x.wacz"
    out.write_bytes(b"PK\x03\x04 the previous package")

    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "copy_file_range", full)
    assert cli.main(["wacz", str(tmp_path / "c"), "--out", str(out)]) == 2
    stderr = capsys.readouterr().err
    assert stderr == f"portal-archiver: {out} was not written: No space left on device\n"
    assert sorted(os.listdir(tmp_path)) == ["c", "x.wacz"]
    assert out.read_bytes() == b"PK\x03\x04 the previous package"


class _Appending(KernelCopy):
    """Copies, and once the first WARC's first bytes are copied, something writes to it."""

    def __init__(self) -> None:
        super().__init__()
        self.appended = False

    def copy(self, source: int, target: int, source_at: int, target_at: int, count: int) -> int:
        copied = super().copy(source, target, source_at, target_at, count)
        if not self.appended:
            with open(f"/proc/self/fd/{source}", "ab") as again:
                again.write(b"a record written by someone else")
            self.appended = True
        return copied


def test_a_warc_changing_underneath_writes_no_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_site_collection(tmp_path / "c")
    (warc,) = (tmp_path / "c" / "warc").glob("*.warc.gz")
    monkeypatch.setattr(archive.zipstore, "_COPY_CHUNK", 512)
    monkeypatch.setattr(archive.zipstore, "KernelCopy", _Appending)
    message = f"{warc} changed size while it was packaged (is something writing to the collection"
    with pytest.raises(WaczError, match=re.escape(message)):
        write_wacz(tmp_path / "c", tmp_path / "x.wacz", PackageInfo("x"))
    assert os.listdir(tmp_path) == ["c"]


def test_packaging_imports_no_crawler_and_no_signing(tmp_path: Path) -> None:
    """``wacz`` starts in a fraction of the copy's time: Scrapy, Twisted and cryptography
    (needed to crawl, or to sign) are not imported by an unsigned package's run."""
    _two_site_collection(tmp_path / "c")
    command = [sys.executable, "-X", "importtime", "-m", "crawler.cli", "wacz"]
    result = subprocess.run(
        [*command, str(tmp_path / "c"), "--out", str(tmp_path / "x.wacz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "archive.zipstore" in imported
    assert not {name for name in imported if name.split(".")[0] in UNUSED}
