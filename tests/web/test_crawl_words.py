"""Every Chinese page, as each role reaches it by following links, shows no English key, no command-line option,
no raw JSON and no database id: what a person reads is Chinese words (data people typed in excepted)."""
from __future__ import annotations

import io
import re
from collections import Counter, deque
from urllib.parse import parse_qsl, urljoin, urlsplit

import lxml.html
import pytest
from sqlalchemy import select

from audit.registry.models import Attachment, Finding, ProblemResponse, SpotCheckItem
from tests import filesamples

from .support import PASSWORDS, ROWS_A, client_for, confirm, database_session, make_app, populate, post, token_of, upload
from .test_upload import csv_bytes

MAX_PAGES = 250
MAX_VARIANTS = 4  # pages of one path with the same query keys (pages, sort orders …) that are fetched
SKIP = re.compile(r"^/(static|api)/|^/logout|\.(csv|xlsx|docx|geojson|pdf)$|^/documents/file|^/upload/template/")
SHOWN_DATA = ("data-loading", "data-failed", "data-busy", "data-too-large", "data-shown-template", "data-empty",
              "data-uploading", "data-checking")
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
INTERNAL_WORDS = ("create", "update", "missing", "reappear", "boundary", "unreviewed", "confirmed", "dismissed",
                  "national", "guangdong", "suspend", "rectify", "restore", "remove", "keep", "fixed", "department",
                  "none", "null", "true", "false", "dry-run")
PROBLEMS = {
    "command-line option": re.compile(r"(?<![\w/-])--[a-z][a-z0-9-]*"),
    "key": re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\b[A-Z]+_[A-Z0-9_]+\b"),
    "JSON": re.compile(r"\{\s*\""),
    "internal word": re.compile(r"\b(" + "|".join(map(re.escape, INTERNAL_WORDS)) + r")\b"),
    "database id": re.compile(r"#\d"),
}


def shown_text(html: str) -> str:
    """What a person reads: the text of the page without scripts, and the texts attributes put on screen."""
    page = lxml.html.fromstring(html)
    for element in page.xpath("//script | //style"):
        element.drop_tree()
    texts = [page.text_content()]
    for element in page.iter():
        if not isinstance(element.tag, str):
            continue
        texts += [element.get(a) for a in (*SHOWN_ATTRIBUTES, *SHOWN_DATA) if element.get(a)]
        if element.tag in ("button", "input") and element.get("type") in ("submit", "button"):
            texts.append(element.get("value") or "")
    return "\n".join(texts)


def findings_in(text: str, data: tuple[str, ...]) -> list[str]:
    for value in data:  # login names and other data people typed in are not the interface's words
        text = text.replace(value, " ")
    return [f"{kind}: {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 40]!r}…"
            for kind, pattern in PROBLEMS.items() for m in pattern.finditer(text)]


def crawl(client, starts: list[str]) -> dict[str, str]:
    """Pages reached from the start pages by links (GET), path → first problem-free HTML; fails on a 5xx."""
    seen: set[str] = set()
    variants: Counter = Counter()
    queue = deque(starts)
    pages: dict[str, str] = {}
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        parts = urlsplit(url)
        shape = (parts.path, tuple(sorted(k for k, _ in parse_qsl(parts.query))))
        if url in seen or SKIP.search(parts.path) or variants[shape] >= MAX_VARIANTS:
            continue
        seen.add(url)
        variants[shape] += 1
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        pages[url] = response.text
        for href in lxml.html.fromstring(response.text).xpath("//a/@href"):
            target = urlsplit(urljoin(url, href))
            if not target.netloc or target.netloc == "localhost":
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return pages


@pytest.fixture(scope="module")
def busy_world(tmp_path_factory):
    """The seeded app after a day's work: uploads (one refused, one pending, one imported with changes), reviews,
    decisions and a ledger item moved on, so that the change log, reports and messages have something to say."""
    tmp = tmp_path_factory.mktemp("crawl")
    mp = pytest.MonkeyPatch()
    mp.setenv("CAMAUDIT_INSTANCE_PATH", str(tmp / "instance"))
    app = make_app(tmp)
    world = populate(app, tmp)
    clerk = client_for(app, "dept_a")
    imported = token_of(upload(clerk, "变更.csv", csv_bytes(ROWS_A[0], ROWS_A[1].replace("府前路闯红灯", "府前路口"))))
    confirm(clerk, imported)
    refused = token_of(upload(clerk, "坏表.csv", csv_bytes("JA-020,坏行,无人机,某路,,,abc,26.7,WGS84,,在用,,,,,,,,")))
    pending = token_of(upload(clerk, "待确认.csv", csv_bytes(*ROWS_A)))
    auditor = client_for(app, "auditor")
    with database_session(app) as db:
        sgn01 = db.scalar(select(Finding.problem_id).where(Finding.device_code == "JA-002", Finding.rule == "SGN01"))
        rev01 = db.scalar(select(Finding.problem_id).where(Finding.device_code == "JB-001", Finding.rule == "REV01"))
    post(auditor, f"/review/problems/{rev01}", {"decision": "confirm"})
    post(auditor, f"/review/problems/{sgn01}", {"decision": "dismiss", "reason": "现场已有标识"})
    post(auditor, f"/review/devices/{world.device['JB-002']}/suspend", {"reason": "标志距离不符"})
    post(auditor, f"/ledger/{world.ledger_b}/advance", {"to_status": "整改中", "note": "已开始"})
    # The dossier's files, a department's answers (one rejected, one waiting) and a spot check with a result.
    photo = {"purpose": "标识照片", "note": "路口东侧", "files": (io.BytesIO(filesamples.jpeg()), "新标识.jpg")}
    post(clerk, f"/attachments/device/{world.device['JA-002']}", photo, content_type="multipart/form-data")
    with database_session(app) as db:
        rev01_a = db.scalar(select(Finding.problem_id).where(Finding.device_code == "JA-001", Finding.rule == "REV01"))
        other_a = db.scalar(select(Finding.problem_id).where(Finding.device_code == "JA-001", Finding.rule != "REV01",
                                                             Finding.problem_id.isnot(None)))
    post(clerk, f"/problems/{other_a}/responses", {"kind": "申辩", "text": "现场已设标识牌，见照片。",
                                                 "files": (io.BytesIO(filesamples.pdf()), "说明.pdf")},
         content_type="multipart/form-data")
    post(clerk, f"/problems/{rev01_a}/responses", {"kind": "说明", "text": "法制审核意见书正在补办"})
    with database_session(app) as db:
        first = db.scalar(select(ProblemResponse.id).where(ProblemResponse.problem_id == rev01_a))
    post(auditor, f"/responses/{first}/reject", {"reason": "未附审核意见书"})
    post(auditor, "/spotchecks", {"devices": "2", "roster": "张三\n李四\n王五", "seed": "20240630"})
    with database_session(app) as db:
        item = db.scalar(select(SpotCheckItem).order_by(SpotCheckItem.id).limit(1))
        post(auditor, f"/spotchecks/{item.spot_check_id}/devices/{item.device_id}",
             {"result": "不合格", "note": "标识被遮挡"})
        assert len(db.scalars(select(Attachment)).all()) == 2
        assert sorted(db.scalars(select(ProblemResponse.status))) == ["pending", "rejected"]
    world.token = {"imported": imported, "refused": refused, "pending": pending}
    yield world
    mp.undo()


def starts_for(world, role: str) -> list[str]:
    if role == "anonymous":
        return ["/public/notice", "/login"]
    pages = ["/", f"/ledger/{world.ledger_b}"] if role != "dept_a" else ["/"]
    if role in ("dept_a", "admin"):
        pages += [f"/upload/{token}" for token in world.token.values()]
    devices = [i for code, i in world.device.items() if role != "dept_a" or code.startswith("JA-")]
    return pages + [f"/map/popup/{i}" for i in devices] + [f"/devices/{i}" for i in devices] + [
        "/documents/file?document=opinion-letter.docx", "/devices?pending=1", "/devices?unassessed=1"]


@pytest.mark.parametrize("role", ["admin", "auditor", "dept_a", "anonymous"])
def test_no_english_key_or_command_line_option_on_any_chinese_page(busy_world, role):
    client = client_for(busy_world.app, role)
    pages = crawl(client, starts_for(busy_world, role))
    reached = {urlsplit(u).path.split("/")[1] for u in pages}
    expected = {"public", "login"} if role == "anonymous" else {"", "map", "devices", "upload", "ledger", "documents",
                                                                "todo"}
    assert expected <= reached, reached
    if role in ("admin", "auditor"):
        assert {"review", "spotchecks"} <= reached
    data = (*PASSWORDS, "setup", "变更.csv", "坏表.csv", "待确认.csv")
    problems = {url: found for url, html in pages.items() if (found := findings_in(shown_text(html), data))}
    assert problems == {}


@pytest.mark.parametrize("text, kind", [
    ("试导入（--dry-run）：未写入数据库。", "command-line option"),
    ("变更 JL-001：missing_since_batch_id", "key"),
    ('{"device_code": "JL-001", "name": "测速"}', "JSON"),
    ("2024-06-30 clerk update name", "internal word"),
    ("审查配置 national", "internal word"),
    ("已确认问题 432", None),  # a bare number says nothing by itself: the flash test (test_words) checks these
    ("REV01 #1035 严重", "database id"),
    ("监督意见书须指明一个单位（命令行用 --department）", "command-line option"),
])
def test_the_check_finds_the_words_the_issue_found(text, kind):
    found = [f.partition(":")[0] for f in findings_in(text, ())]
    assert (kind in found) if kind else found == []
