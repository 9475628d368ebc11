"""The index a crawl writes is readable by whoever may read the rest of the collection.

pywb, or a web server handing the collection out, often runs as another user: an index
written through a private temporary file (mode 0600) would refuse it while the WARC files
beside it are readable.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.cdxj import build_index
from tests.archive_support import exchange, make_writer


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_index_gets_the_mode_the_umask_gives_any_new_file(tmp_path: Path, umask_022: None) -> None:
    with make_writer(tmp_path / "warc") as writer:
        writer.write_exchange(exchange())
    index = tmp_path / "indexes" / "index.cdxj"
    build_index(tmp_path / "warc", index)
    assert stat.S_IMODE(index.stat().st_mode) == 0o644
    # Rebuilt over an existing index: still the umask's mode, and no temporary file left.
    build_index(tmp_path / "warc", index)
    assert stat.S_IMODE(index.stat().st_mode) == 0o644
    assert sorted(path.name for path in index.parent.iterdir()) == ["index.cdxj"]


def test_a_wacz_package_gets_the_mode_the_umask_gives_any_new_file(
    tmp_path: Path, umask_022: None
) -> None:
    # A package is written to be shared: a private file (mkstemp's 0600) defeats that.
    from archive.collection import Collection
    from archive.wacz import PackageInfo, Selection, write_wacz

    with Collection(tmp_path / "c") as collection:
        with collection.open_writer() as writer:
            writer.write_exchange(exchange())
        collection.build_index()
    out = tmp_path / "c.wacz"
    write_wacz(tmp_path / "c", out, PackageInfo(title="c"), Selection())
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert sorted(path.name for path in tmp_path.iterdir()) == ["c", "c.wacz"]
