"""Evidence files are judged by their content: what the first bytes say, whether the picture or PDF opens, and the
size, pixel and page limits; the name a file is sent under decides nothing."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from audit.intake import filecheck
from audit.intake.filecheck import FileRefused, check, thumbnail
from tests import filesamples as F


def test_photos_screenshots_and_scans_are_taken_with_their_size_and_pages():
    photo = check(F.jpeg(1024, 768), "标识.jpg")
    assert (photo.kind, photo.mime, photo.extension, photo.width, photo.height) == ("image", "image/jpeg", ".jpg",
                                                                                     1024, 768)
    shot = check(F.png(), "公布截图.png")
    assert (shot.kind, shot.mime, shot.width) == ("image", "image/png", 400)
    scan = check(F.pdf(pages=3), "证书.pdf")
    assert (scan.kind, scan.mime, scan.pages) == ("pdf", "application/pdf", 3)
    assert len(scan.sha256) == 64 and scan.size == len(F.pdf(pages=3))


def test_a_renamed_program_is_refused_and_named_for_what_it_is():
    with pytest.raises(FileRefused, match=r"“photo\.jpg”不是 JPG、PNG 图片或 PDF 文件（按文件内容判断，实为 Windows 可执行程序）"):
        check(F.EXE, "photo.jpg")


@pytest.mark.parametrize("data, message", [
    (b"", "是空的"),
    (b"PK\x03\x04" + b"\x00" * 40, "压缩包或 Word/Excel 文档"),
    (b"<html><script>alert(1)</script></html>", "网页或 XML 文本"),
    (b"GIF89a" + b"\x00" * 40, "GIF 动图"),
    (b"just some text", "请上传照片、截图"),
])
def test_other_files_are_refused_with_what_to_do(data, message):
    with pytest.raises(FileRefused, match=message):
        check(data, "附件.jpg")


def test_a_truncated_photo_or_a_broken_pdf_is_refused():
    photo = F.jpeg()
    with pytest.raises(FileRefused, match="已损坏或不完整"):
        check(photo[: len(photo) // 2], "半张.jpg")
    with pytest.raises(FileRefused, match="已加密或已损坏"):
        check(b"%PDF-1.7\n" + b"0" * 500, "坏.pdf")


def test_a_picture_over_the_pixel_limit_is_refused_before_it_is_decoded():
    with pytest.raises(FileRefused, match=r"为 9000×6000 像素，超过上限（5000 万像素"):
        check(F.png_header_only(9000, 6000), "大图.png")
    with pytest.raises(FileRefused, match=r"像素数远超上限"):  # so large that Pillow itself will not open it
        check(F.png_header_only(30000, 30000), "炸弹.png")


def test_size_and_page_limits(monkeypatch):
    with pytest.raises(FileRefused, match=r"超过上限 0\.0 MB"):
        check(F.jpeg(), "大.jpg", max_bytes=1000)
    monkeypatch.setattr(filecheck, "MAX_PDF_PAGES", 2)
    with pytest.raises(FileRefused, match="共 3 页，超过上限 2 页"):
        check(F.pdf(pages=3), "长.pdf")
    assert check(F.pdf(pages=2), "两页.pdf").pages == 2  # the last page allowed


def test_thumbnails_are_small_upright_jpegs_of_the_photo_or_the_first_page():
    for data, name in ((F.jpeg(1600, 1200), "a.jpg"), (F.png(), "b.png"), (F.pdf(pages=2), "c.pdf")):
        small = Image.open(io.BytesIO(thumbnail(data, check(data, name))))
        assert small.format == "JPEG" and max(small.size) <= filecheck.THUMB_SIDE
    page = Image.open(io.BytesIO(thumbnail(F.pdf(), check(F.pdf(), "c.pdf"))))
    assert page.height > page.width  # an A4 page stands upright
    assert page.convert("RGB").getpixel((page.width // 2, page.height // 10))[0] > 150  # the red band drawn on it
