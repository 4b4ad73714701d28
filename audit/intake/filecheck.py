"""Evidence files (sign photos, publication screenshots, certificates, review documents) checked by their content.

Only JPEG and PNG images and PDF documents are taken, whatever the file is called: the first bytes say what a file
is (a renamed program stays a program), images are decoded in full within a pixel limit (no decompression bomb,
no truncated photo), PDFs are opened and their pages counted (no encrypted or broken file). `check` returns what
the file is or raises FileRefused with a message for the clerk; `thumbnail` draws the small picture pages show.
"""
from __future__ import annotations

import hashlib
import io
import threading
import warnings
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageOps

MAX_BYTES = 10 * 2**20
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; larger ones are refused before they are decoded
MAX_SIDE = 20_000
MAX_PDF_PAGES = 100
THUMB_SIDE = 320

KINDS = {  # first bytes → (kind, MIME type, extension, Pillow format)
    b"\xff\xd8\xff": ("image", "image/jpeg", ".jpg", "JPEG"),
    b"\x89PNG\r\n\x1a\n": ("image", "image/png", ".png", "PNG"),
    b"%PDF-": ("pdf", "application/pdf", ".pdf", None),
}
# What a refused file most likely is, to tell the clerk (first bytes → name).
OTHER_KINDS = {
    b"MZ": "Windows 可执行程序",
    b"\x7fELF": "可执行程序",
    b"#!": "脚本",
    b"PK\x03\x04": "压缩包或 Word/Excel 文档",
    b"\xd0\xcf\x11\xe0": "旧版 Word/Excel 文档",
    b"Rar!": "压缩包",
    b"7z\xbc\xaf": "压缩包",
    b"GIF8": "GIF 动图",
    b"<": "网页或 XML 文本",
}
# PDFium is not thread-safe: one call into it at a time (the web server runs threads).
_PDFIUM = threading.Lock()


class FileRefused(ValueError):
    """A file that is not taken, with a message saying why and what to do."""


@dataclass(frozen=True)
class CheckedFile:
    kind: str  # image | pdf
    mime: str
    extension: str
    size: int
    sha256: str
    width: int | None = None  # pixels of an image
    height: int | None = None
    pages: int | None = None  # pages of a PDF


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}"


def sniff(data: bytes) -> tuple[str, str, str, str | None] | None:
    for magic, kind in KINDS.items():
        if data.startswith(magic):
            return kind
    return None


def check(data: bytes, filename: str, *, max_bytes: int = MAX_BYTES) -> CheckedFile:
    """What the file is, by its content; FileRefused when it is not a readable JPEG, PNG or PDF within the limits."""
    name = filename or "未命名文件"
    if not data:
        raise FileRefused(f"文件“{name}”是空的（0 字节）：请重新选择文件。")
    if len(data) > max_bytes:
        raise FileRefused(f"文件“{name}”有 {_megabytes(len(data))} MB，超过上限 {_megabytes(max_bytes)} MB："
                          "请压缩图片或只扫描相关页后上传。")
    found = sniff(data)
    if found is None:
        what = next((label for magic, label in OTHER_KINDS.items() if data.lstrip()[:8].startswith(magic)), None)
        raise FileRefused(f"文件“{name}”不是 JPG、PNG 图片或 PDF 文件（按文件内容判断{'，实为' + (' ' if what[0].isascii() else '') + what if what else ''}）："
                          "请上传照片、截图（JPG、PNG）或扫描件（PDF）；Word 文档请先另存为 PDF。")
    kind, mime, extension, fmt = found
    digest = hashlib.sha256(data).hexdigest()
    if kind == "image":
        width, height = _check_image(data, fmt or "", name)
        return CheckedFile(kind, mime, extension, len(data), digest, width=width, height=height)
    return CheckedFile(kind, mime, extension, len(data), digest, pages=_check_pdf(data, name))


def _check_image(data: bytes, fmt: str, name: str) -> tuple[int, int]:
    broken = f"图片“{name}”已损坏或不完整，无法打开：请重新拍摄或重新导出后上传。"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                    raise FileRefused(f"图片“{name}”为 {width}×{height} 像素，超过上限（{MAX_PIXELS // 10_000} 万像素，"
                                      f"边长 {MAX_SIDE} 像素）：请缩小后上传。")
                img.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                img.load()
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # far beyond the limit
        raise FileRefused(f"图片“{name}”的像素数远超上限（{MAX_PIXELS // 10_000} 万像素）：请缩小后上传。") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise FileRefused(broken) from exc
    if width < 1 or height < 1:
        raise FileRefused(broken)
    return width, height


def _check_pdf(data: bytes, name: str) -> int:
    with _PDFIUM:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise FileRefused(f"PDF 文件“{name}”已加密或已损坏，无法打开：请去除密码或重新导出后上传。") from exc
        try:
            pages = len(doc)
        finally:
            doc.close()
    if pages < 1:
        raise FileRefused(f"PDF 文件“{name}”没有页面：请重新导出后上传。")
    if pages > MAX_PDF_PAGES:
        raise FileRefused(f"PDF 文件“{name}”共 {pages} 页，超过上限 {MAX_PDF_PAGES} 页：请只上传相关页。")
    return pages


def thumbnail(data: bytes, checked: CheckedFile) -> bytes:
    """A JPEG at most THUMB_SIDE pixels wide and high: the photo turned upright, or a PDF's first page."""
    if checked.kind == "image":
        fmt = KINDS[next(m for m in KINDS if data.startswith(m))][3]
        with Image.open(io.BytesIO(data), formats=[fmt or ""]) as img:
            picture = ImageOps.exif_transpose(img)
            picture.thumbnail((THUMB_SIDE, THUMB_SIDE))
            picture = _flatten(picture)
    else:
        with _PDFIUM:
            doc = pdfium.PdfDocument(data)
            try:
                page = doc[0]
                width, height = page.get_size()
                bitmap = page.render(scale=THUMB_SIDE / max(width, height, 1))
                picture = _flatten(bitmap.to_pil())
                page.close()
            finally:
                doc.close()
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=82)
    return out.getvalue()


def _flatten(picture: Image.Image) -> Image.Image:
    """RGB on white (transparent screenshots and palette images included)."""
    if picture.mode in ("RGBA", "LA", "P"):
        picture = picture.convert("RGBA")
        back = Image.new("RGB", picture.size, "white")
        back.paste(picture, mask=picture.getchannel("A"))
        return back
    return picture.convert("RGB")


__all__ = ["CheckedFile", "FileRefused", "check", "thumbnail", "sniff", "MAX_BYTES", "MAX_PIXELS", "MAX_PDF_PAGES"]
