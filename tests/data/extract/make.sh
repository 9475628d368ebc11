#!/usr/bin/env bash
# Rebuilds the frozen extract fixture: two crawls of the replica (edition 0, then edition 1
# without conditional requests, so unchanged articles come back as full 200 responses),
# photos shrunk to 2-3 KB so that the files stay small. Run from the repository root:
#   bash tests/data/extract/make.sh DIR      (then copy DIR/coll/warc/*.warc.gz here)
# and regenerate expected.jsonl with the `extract` of the code you trust.
set -euo pipefail
out=${1:?usage: make.sh DIR}
settings=(-s DOWNLOAD_DELAY=0 -s AUTOTHROTTLE_ENABLED=False -s LOG_LEVEL=WARNING -s ARCHIVE_OPERATOR=test)
replica() {
  python -c 'import sys, replica.media as m; m.MIN_JPEG, m.MAX_JPEG = 2000, 3000
from replica.__main__ import main; sys.argv[0] = "replica"; main()' --port 18801 --articles 4 "$@" &
  pid=$!
  sleep 3
}
replica
python -m crawler.cli crawl http://127.0.0.1:18801/ --out "$out/coll" "${settings[@]}"
kill "$pid"; wait "$pid" || true
replica --edition 1 --no-conditional --chunked-all
python -m crawler.cli crawl http://127.0.0.1:18801/ --out "$out/coll" "${settings[@]}"
kill "$pid"; wait "$pid" || true

# wget's own WARC of three article pages (one fetched twice), a photo and a listing, chunked
# and gzip-encoded by the server: raw chunked bodies, as wget stores them.
replica --chunked-all
base=http://127.0.0.1:18801/web/hlv
page=$base/chi-tiet-bai-viet/-/asset_publisher/1mOzUrGkrdAE/content/id
(cd "$out" && wget -q --compression=gzip --warc-file=wget --no-warc-keep-log -O /dev/null \
  "$page/17835569?plidlayout=5101" "$page/19261708?plidlayout=5101" \
  "$page/4961961?plidlayout=5101" "$page/4961961?plidlayout=5101" \
  "http://127.0.0.1:18801/documents/481930/0/dai+bieu+tham+du+(1).jpg/1f3ff701-5bcc-aa55-11e2-3d9d08e5b702?t=1656574380000" \
  "$base/tin-tuc") || true
kill "$pid"; wait "$pid" || true
