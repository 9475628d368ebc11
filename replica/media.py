"""Binary files of the portal: photos, PDFs, icons and theme assets, made on demand."""

from __future__ import annotations

import hashlib
import random
import struct
import zlib

MIN_JPEG = 30_000
MAX_JPEG = 300_000

_QUANT = bytes([0]) + bytes(range(2, 66))
_DHT = (
    b"\x00"  # DC table 0: one code of length 1 for category 0
    + bytes([1] + [0] * 15)
    + b"\x00"
    + b"\x10"  # AC table 0: one code of length 1 for end-of-block
    + bytes([1] + [0] * 15)
    + b"\x00"
)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _seed(key: str) -> int:
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")


def jpeg_size(key: str) -> int:
    """Approximate size in bytes of the photo served for ``key`` (30–300 KB)."""
    return MIN_JPEG + _seed(key) % (MAX_JPEG - MIN_JPEG)


def jpeg(key: str) -> bytes:
    """A JPEG frame (SOI, JFIF, tables, SOS … EOI) around incompressible pseudo-random data."""
    seed = _seed(key)
    width, height = (600, 400) if seed & 1 else (800, 533)
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x00\x03\x11\x00"
    scan = b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"
    head = (
        b"\xff\xd8"
        + _segment(0xE0, jfif)
        + _segment(0xDB, _QUANT)
        + _segment(0xC0, frame)
        + _segment(0xC4, _DHT)
        + _segment(0xDA, scan)
    )
    # Byte stuffing keeps the entropy-coded data free of stray markers.
    data = random.Random(seed).randbytes(jpeg_size(key) - len(head) - 2)
    return head + data.replace(b"\xff", b"\xff\x00") + b"\xff\xd9"


def pdf(title: str) -> bytes:
    """A small valid one-page PDF (correct cross-reference table) naming ``title``."""
    text = title.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\xc0\x20\x20"))
    + _png_chunk(b"IEND", b"")
)
CSS = (
    b"/* dongthap-theme main.css */\n"
    # A Liferay theme's stylesheet names its fonts and chrome images relative to itself.
    b'@font-face{font-family:"Roboto";src:url("../fonts/roboto-regular.woff2") format("woff2")}\n'
    b"body{font-family:Roboto,Arial,sans-serif;margin:0}"
    b".hide-accessible{position:absolute;left:-9999px}\n"
    b"#banner{background:#0b5fa5 url(../images/header-bg.png) repeat-x}"
    b"#navigation ul{display:flex;list-style:none}.content-detail img{max-width:100%}\n"
    b".portlet-title-text{background:url('../images/title-icon.png') no-repeat left center}\n"
)
# Enough of a WOFF2 file for a crawler: the signature, then bytes.
WOFF2 = b"wOF2\x00\x01\x00\x00" + bytes(range(256)) * 4
JS = b"/* liferay combo */\nvar Liferay=window.Liferay||{};Liferay.Portlet=Liferay.Portlet||{};\n"
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><symbol id="angle-left" viewBox="0 0 512 512">'
    b'<path d="M320 96 160 256l160 160"/></symbol></svg>'
)


def theme_asset(path: str) -> tuple[bytes, str] | None:
    """Body and content type of a theme or combo file, by extension; None if unknown."""
    for ext, body, kind in (
        (".css", CSS, "text/css"),
        (".js", JS, "application/javascript"),
        (".svg", SVG, "image/svg+xml"),
        (".ico", PNG, "image/x-icon"),
        (".png", PNG, "image/png"),
        (".woff2", WOFF2, "font/woff2"),
    ):
        if path.endswith(ext):
            return body, kind
    return None
