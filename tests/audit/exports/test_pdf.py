"""Each docx opens in LibreOffice and prints as expected: page count, orientation, the page number field.

Needs the Debian packages libreoffice-writer-nogui, poppler-utils and a Chinese font (fonts-wqy-zenhei);
skipped where `soffice` or `pdfinfo` is absent.
"""
from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess

import pytest

from tests.audit.exports import world
from tests.audit.exports.conftest import AS_OF

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


def words(pdf, page):
    """(text, xMin, yMin, xMax) of every word pdftotext finds on a page, and the page's width and height."""
    out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    width, height = map(float, re.search(r'<page width="([\d.]+)" height="([\d.]+)"', out).groups())
    found = [(html.unescape(t), float(x), float(y), float(x2)) for x, y, x2, t in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', out)]
    return found, width, height


@pytest.fixture
def long_names(filed):
    """The filed registry plus devices named as a real county names them (JL-JJ-0010, S217K79+325 …), suspended by
    "auditor", with a ledger item whose responsible person is 张三（交警大队秩序中队）, and the bureau's plan."""
    from audit.casework import decisions as D
    from audit.casework.plan import load_plan
    from audit.registry.models import Department, Device

    session = filed.session
    police = session.query(Department).filter_by(name=world.POLICE).one()
    codes = [f"JL-JJ-{n:04d}" for n in range(10, 40)]
    for n, code in enumerate(codes):
        session.add(Device(device_code=code, department_id=police.id, device_type="固定测速", status="在用",
                           name=f"S217K79+{300 + n}固定测速点", road="S217",
                           address=f"S217K79+{300 + n}（南口乡路段）", direction="由东向西",
                           in_service_on=dt.date(2024, 3, 1)))
    session.flush()
    devices = {d.device_code: d for d in session.query(Device).filter(Device.device_code.in_(codes))}
    for code in codes[:12]:
        D.suspend(session, devices[code].id, reason="强制检定设备无检定记录，依法停用", user="auditor",
                  on=dt.date(2024, 8, 1))
    for code in codes[12:20]:
        D.rectify(session, devices[code].id, measure="送检并取得检定证书", requirement="检定合格后方可使用",
                  deadline=dt.date(2024, 10, 31), responsible="张三（交警大队秩序中队）", user="auditor",
                  problem=f"{code} 无检定记录", on=dt.date(2024, 8, 1))
    load_plan(session, {"title": "将乐县罚款实施专项监督工作方案", "issuer": "将乐县司法局", "doc_prefix": "将司监督",
                        "tasks": [{"title": "报送自查报告", "deliverable": "自查报告", "deadline": "2024-07-25"},
                                  {"title": "报送工作总结", "deliverable": "工作总结", "deadline": "2024-12-01"}]},
              user="admin")
    session.commit()
    filed.codes = codes
    return filed


def test_new_documents_print_with_whole_codes_readable_names_and_outer_page_numbers(long_names, tmp_path):
    from audit.exports import letters

    f = long_names
    docs = [f.export("suspension-list", tmp_path / "suspension-list.docx"),
            f.export("self-report", tmp_path / "self-report.docx", department=world.POLICE),
            f.export("quarterly", tmp_path / "quarterly.docx", department=world.POLICE),
            f.export("summary", tmp_path / "summary.docx", department=world.POLICE),
            f.export("work-report", tmp_path / "work-report.docx"),
            f.export("bulletin", tmp_path / "bulletin.docx"),
            f.export("new-devices", tmp_path / "new-devices.docx"),
            f.export("site-review", tmp_path / "site-review.docx"),
            f.export("task-list", tmp_path / "task-list.docx")]
    req = letters.request(f.session, "transfer", department=world.POLICE, on=AS_OF, addressee="中共将乐县纪律检查委员会",
                          problem_ids=[world.problem(f.session, "JL-001", "REV01").id])
    docs.append(letters.preview(f.session, req, tmp_path / "transfer.docx"))
    pdfs = to_pdf(docs, tmp_path / "pdf", tmp_path)

    count, sizes = pages(pdfs["self-report"])
    assert 3 <= count <= 8 and sizes[0] == A4_PORTRAIT and sizes[-1] == A4_LANDSCAPE  # the list attached
    assert pages(pdfs["task-list"]) == (1, [A4_LANDSCAPE])
    assert pages(pdfs["site-review"])[1][0] == A4_LANDSCAPE and pages(pdfs["quarterly"])[0] <= 4
    for name, pdf in pdfs.items():
        count, _ = pages(pdf)
        text = "\n".join(page_text(pdf, n) for n in range(1, count + 1))
        # No device code broken across lines, in a table cell or in the text (JL-JJ-/0010 before).
        for code in f.codes + ["JL-001", "JL-002", "JL-003"]:
            pieces = [code[:k] for k in range(3, len(code))]
            for line in text.splitlines():
                stripped = line.rstrip()
                assert not any(stripped.endswith(p) and not stripped.endswith(code) for p in pieces
                               if p.endswith("-")), (name, line)
        assert "audi\n" not in text and ".geojson" not in text, name
    # Every code of the suspension list appears whole; the decision maker's name is not split (audi/tor before).
    listing = "\n".join(page_text(pdfs["suspension-list"], n) for n in range(1, pages(pdfs["suspension-list"])[0] + 1))
    for code in f.codes[:12]:
        assert code in listing
    assert listing.count("auditor") >= 12
    # The responsible person wraps in lines of several characters, never one a line (张/三/（/交 … before): the
    # lines of the cell (centred), read below each word that begins the name within its left and right edges.
    name = "张三（交警大队秩序中队）"
    pieces = []
    for n in range(1, pages(pdfs["summary"])[0] + 1):
        found = words(pdfs["summary"], n)[0]
        for w, x, y, right in found:
            if w.startswith("张三"):
                below = sorted((y2, w2) for w2, x2, y2, r2 in found
                               if x - 2 <= x2 and r2 <= right + 2 and y <= y2 < y + 60)
                got = []
                for _, w2 in below:
                    if "".join(got) == name or not name.startswith("".join(got) + w2):
                        break
                    got.append(w2)
                assert "".join(got) == name, got
                pieces.append(got)
    assert len(pieces) == 8 and all(len(got) <= 4 and min(map(len, got[:-1])) >= 3 for got in pieces), pieces
    # Page numbers on the outer side: odd pages right, even pages left (GB/T 9704).
    for name in ("self-report", "summary", "work-report"):
        for n in range(1, min(pages(pdfs[name])[0], 4) + 1):
            found, width, height = words(pdfs[name], n)
            [number] = [(x, y) for w, x, y, _ in found if w.strip("— ") == str(n) and y > height * 0.85]
            assert (number[0] > width / 2) is (n % 2 == 1), (name, n, number, width)
