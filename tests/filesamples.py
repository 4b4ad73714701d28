"""Evidence files made in memory: real JPEG, PNG and PDF bytes, and the hostile ones a clerk might send."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

# The start of a real Windows program (DOS header and stub), as a renamed "photo.jpg" would carry it.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + \
    b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 200


def jpeg(width: int = 640, height: int = 480, color: str = "#2e7d32", text: str = "标识") -> bytes:
    img = Image.new("RGB", (width, height), color)
    ImageDraw.Draw(img).rectangle([width // 4, height // 4, 3 * width // 4, 3 * height // 4], fill="white")
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def png(width: int = 400, height: int = 300) -> bytes:
    img = Image.new("RGBA", (width, height), (21, 101, 192, 255))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def pdf(pages: int = 1) -> bytes:
    images = [Image.new("RGB", (595, 842), "white") for _ in range(pages)]
    for img in images:
        ImageDraw.Draw(img).rectangle([60, 60, 535, 160], fill="#c62828")
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size (a decompression bomb's shape) with almost no pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + \
        chunk(b"IEND", b"")
