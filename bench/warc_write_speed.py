"""How long deflating a WARC record's payload takes, and what it stores: zlib at each level
against what ``archive.records.gzip_member`` writes (zlib's stored blocks at level 0, ISA-L
at level 3 otherwise).

Two payloads: 40 KB of random bytes standing in for a JPEG or a gzip body, and the seed
article page. Why ``archive.records`` stores the first kind at level 0 (every other level
searches for matches that random-looking bytes do not have, and saves nothing) and deflates
text with ISA-L at level 3 (zlib level 3's size in about half its time).
Run: ``python bench/warc_write_speed.py``.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable

from quality import SPECIMENS

from archive.records import DEFAULT_LEVEL, STORED_LEVEL, gzip_member

PAYLOADS = {
    "40 KB already compressed": os.urandom(40_000),
    "portal article page": (SPECIMENS / "a01-dtp.html").read_bytes(),
}
ROUNDS = 200


def _zlib(level: int) -> Callable[[bytes], bytes]:
    def deflate(data: bytes) -> bytes:
        compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        return compressor.compress(data) + compressor.flush()

    return deflate


def _timed(deflate: Callable[[bytes], bytes], payload: bytes) -> tuple[float, int]:
    start = time.perf_counter()
    for _ in range(ROUNDS):
        size = len(deflate(payload))
    return (time.perf_counter() - start) / ROUNDS * 1000, size


def main() -> None:
    ways: dict[str, Callable[[bytes], bytes]] = {
        f"zlib level {level}": _zlib(level) for level in (0, 1, 3, 6, 9)
    }
    ways["gzip_member, stored"] = lambda data: gzip_member(data, STORED_LEVEL)
    ways["gzip_member, default"] = lambda data: gzip_member(data, DEFAULT_LEVEL)
    for name, payload in PAYLOADS.items():
        print(f"{name} ({len(payload)} bytes)")
        for way, deflate in ways.items():
            per_call, size = _timed(deflate, payload)
            print(f"  {way:<22} {per_call:.3f} ms, member {size} bytes")


if __name__ == "__main__":
    main()
