"""``wacz`` and fixity at ingest: a WARC file still as its writer recorded it (size, mtime) is
packaged with the recorded sums, on trust and without reading it back (a deliberately wrong
recorded SHA-256 shows in ``datapackage.json``); a file touched, resized or never recorded is
summed from its bytes, and ``--rehash`` sums every file."""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path

import pytest

from archive import fixity
from archive.fixity import MANIFEST_NAME, RECORDS_NAME
from archive.wacz import PackageInfo, Selection, write_wacz
from crawler import cli
from tests.test_fixity import _actual
from tests.test_wacz import _two_site_collection

WRONG = "0" * 64


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    _two_site_collection(tmp_path / "c")
    (warc,) = (tmp_path / "c" / "warc").glob("*.warc.gz")
    assert fixity.read(warc.parent) == {warc.name: _actual(warc)}
    return warc


def _wacz(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    """Package ``tmp_path/c``; the SHA-256 listed for its one WARC, and the sums line."""
    out = tmp_path / "x.wacz"
    assert cli.main(["wacz", str(tmp_path / "c"), "--out", str(out), *args]) == 0
    with zipfile.ZipFile(out) as package:
        assert package.testzip() is None, "every CRC-32 in the ZIP is its entry's"
        resources = json.loads(package.read("datapackage.json"))["resources"]
    (warc,) = [one for one in resources if one["path"].startswith("archive/")]
    (sums,) = [line for line in capsys.readouterr().out.splitlines() if "WARC sums" in line]
    return warc["hash"].removeprefix("sha256:"), sums


def test_wacz_takes_a_matching_record_on_trust(
    tmp_path: Path, collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record with a wrong SHA-256 but the file's size and mtime is taken as it is: the
    package lists the recorded sum, so the file was not read back."""
    fixity.record(collection.parent, dataclasses.replace(_actual(collection), sha256=WRONG))
    assert _wacz(tmp_path, capsys) == (
        WRONG,
        "WARC sums: 1 files from the fixity manifest, 0 read back",
    )


@pytest.mark.parametrize("change", ["mtime", "size"])
def test_wacz_sums_a_file_no_longer_as_recorded(
    tmp_path: Path, collection: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    actual = _actual(collection)
    if change == "mtime":  # touched since: same bytes, the record no longer vouches for them
        fixity.record(collection.parent, dataclasses.replace(actual, sha256=WRONG))
        os.utime(collection, ns=(actual.mtime_ns, actual.mtime_ns + 1))
    else:
        fixity.record(
            collection.parent, dataclasses.replace(actual, sha256=WRONG, size=actual.size + 1)
        )
    assert _wacz(tmp_path, capsys) == (
        actual.sha256,
        "WARC sums: 0 files from the fixity manifest, 1 read back",
    )


def test_wacz_sums_a_file_without_a_record(
    tmp_path: Path, collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A collection written before fixity at ingest (or a crash between sealing and recording)."""
    (collection.parent / MANIFEST_NAME).unlink()
    (collection.parent / RECORDS_NAME).unlink()
    expected = (
        _actual(collection).sha256,
        "WARC sums: 0 files from the fixity manifest, 1 read back",
    )
    assert _wacz(tmp_path, capsys) == expected


def test_rehash_sums_every_file(
    tmp_path: Path, collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixity.record(collection.parent, dataclasses.replace(_actual(collection), sha256=WRONG))
    assert _wacz(tmp_path, capsys, "--rehash") == (
        _actual(collection).sha256,
        "WARC sums: 0 files from the fixity manifest, 1 read back",
    )


def test_a_subset_is_summed(tmp_path: Path, collection: Path) -> None:
    """A cut is a new file: nothing was recorded of it."""
    fixity.record(collection.parent, dataclasses.replace(_actual(collection), sha256=WRONG))
    report = write_wacz(
        tmp_path / "c",
        tmp_path / "x.wacz",
        PackageInfo("x"),
        Selection(host="lapvo.dongthap.gov.vn"),
    )
    assert (report.summed, report.from_manifest) == (1, 0)
