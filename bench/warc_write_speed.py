"""How long deflating an already-compressed 40 KB payload takes at each zlib level.

Why ``archive.records`` stores JPEG/gzip bodies at level 0: every other level spends time
searching for matches that random-looking bytes do not have, and saves nothing.
Run: ``python bench/warc_write_speed.py``.
"""

from __future__ import annotations

import os
import time

from archive.records import gzip_member

PAYLOAD = os.urandom(40_000)  # stands in for a JPEG or a gzip body
ROUNDS = 200


def main() -> None:
    for level in (0, 1, 6, 9):
        start = time.perf_counter()
        for _ in range(ROUNDS):
            size = len(gzip_member(PAYLOAD, level))
        per_call = (time.perf_counter() - start) / ROUNDS * 1000
        print(f"level {level}: {per_call:.3f} ms per 40 KB, member {size} bytes")


if __name__ == "__main__":
    main()
