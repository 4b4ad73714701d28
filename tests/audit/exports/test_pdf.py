"""Each docx opens in LibreOffice and prints as expected: page count, orientation, the page number field.

Needs the Debian packages libreoffice-writer-nogui, poppler-utils and a Chinese font (fonts-wqy-zenhei);
skipped where `soffice` or `pdfinfo` is absent.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.audit.exports import world

pytestmark = pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdfinfo")),
                                reason="LibreOffice (soffice) and poppler (pdfinfo) are not installed")

A4_PORTRAIT, A4_LANDSCAPE = (595, 842), (842, 595)


def to_pdf(docx_paths, out_dir, tmp_path):
    profile = (tmp_path / "lo-profile").as_uri()  # a private LibreOffice profile: tests may run in parallel
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out_dir), *map(str, docx_paths)], check=True, capture_output=True, timeout=300)
    return {p.stem: out_dir / f"{p.stem}.pdf" for p in docx_paths}


def pages(pdf):
    """Page count and each page's size in points (rounded)."""
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    sizes = [(round(float(w)), round(float(h)))
             for w, h in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info, re.M)]
    return count, sizes


def page_text(pdf, page):
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                          check=True, capture_output=True, text=True).stdout


def test_every_docx_converts_with_the_expected_pages(filed, tmp_path):
    docs = [filed.export("suspension-list", tmp_path / "suspension-list.docx"),
            filed.export("self-inspection", tmp_path / "self-inspection.docx"),
            filed.export("public-notice", tmp_path / "public-notice.docx"),
            filed.export("opinion-letter", tmp_path / "opinion-letter.docx", department=world.POLICE),
            filed.export("summary", tmp_path / "summary.docx", case_finding_id=filed.rev01.id)]
    pdfs = to_pdf(docs, tmp_path / "pdf", tmp_path)

    # Two suspended devices (page 1) and the devices proposed for suspension (page 2); three devices in use.
    assert pages(pdfs["suspension-list"]) == (2, [A4_LANDSCAPE, A4_LANDSCAPE])
    assert "拟停用清单" in page_text(pdfs["suspension-list"], 2)
    assert pages(pdfs["public-notice"]) == (1, [A4_PORTRAIT])
    count, sizes = pages(pdfs["self-inspection"])
    assert 1 <= count <= 3 and set(sizes) == {A4_LANDSCAPE}
    count, sizes = pages(pdfs["opinion-letter"])
    assert 1 <= count <= 3 and set(sizes) == {A4_PORTRAIT}
    # The summary: portrait report pages, then the ledger attachment on landscape pages.
    count, sizes = pages(pdfs["summary"])
    assert count >= 3 and sizes[0] == A4_PORTRAIT and sizes[-1] == A4_LANDSCAPE
    assert sizes == sorted(sizes, key=lambda s: s == A4_LANDSCAPE)

    # The PAGE field is rendered between em dashes: "— 1 —" on page 1, "— 2 —" on page 2.
    assert re.search(r"—\s*1\s*—", page_text(pdfs["summary"], 1))
    assert re.search(r"—\s*2\s*—", page_text(pdfs["summary"], 2))
    assert "JL-001" in page_text(pdfs["suspension-list"], 1)
