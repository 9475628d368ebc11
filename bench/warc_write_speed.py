"""How long deflating a WARC record's payload takes at each zlib level, and what it stores.

Two payloads: 40 KB of random bytes standing in for a JPEG or a gzip body, and the seed
article page. Why ``archive.records`` stores the first kind at level 0 (every other level
searches for matches that random-looking bytes do not have, and saves nothing) and deflates
text at level 3 (most of level 6's saving at about 60% of its time).
Run: ``python bench/warc_write_speed.py``.
"""

from __future__ import annotations

import os
import time

from quality import SPECIMENS

from archive.records import gzip_member

PAYLOADS = {
    "40 KB already compressed": os.urandom(40_000),
    "portal article page": (SPECIMENS / "a01-dtp.html").read_bytes(),
}
ROUNDS = 200


def main() -> None:
    for name, payload in PAYLOADS.items():
        print(f"{name} ({len(payload)} bytes)")
        for level in (0, 1, 3, 6, 9):
            start = time.perf_counter()
            for _ in range(ROUNDS):
                size = len(gzip_member(payload, level))
            per_call = (time.perf_counter() - start) / ROUNDS * 1000
            print(f"  level {level}: {per_call:.3f} ms, member {size} bytes")


if __name__ == "__main__":
    main()
