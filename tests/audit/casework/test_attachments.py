"""Evidence files of a device: checked by content, stored once by hash with a thumbnail, recorded with who, when
and what for; a refused file records nothing; ledger steps carry their proof, and the ledger export lists it."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from sqlalchemy import func, select

from audit.casework import attachments as A
from audit.casework import decisions as D
from audit.casework import ledger as L
from audit.exports import export
from audit.registry.models import AppendOnlyError, Attachment, ChangeLog
from tests import filesamples as F
from tests.audit.exports import world


@pytest.fixture
def env(session, tmp_path):
    devices = world.build(session)
    return session, devices, tmp_path / "attachments"


def test_a_photo_is_stored_once_by_its_hash_with_a_thumbnail_and_who_gave_it(env):
    session, devices, folder = env
    photo = F.jpeg()
    first = A.attach(session, folder, [A.Upload(photo, "C:\\照片\\新标识.JPG")], device_id=devices["JL-002"].id,
                     purpose="标识照片", user="李四", note="府前路口东侧")
    again = A.attach(session, folder, [A.Upload(photo, "同一张.jpg")], device_id=devices["JL-002"].id,
                     purpose="整改佐证材料", user="王五")
    session.commit()
    a, b = first[0], again[0]
    assert (a.filename, a.purpose, a.user, a.note, a.kind, a.width) == ("新标识.jpg", "标识照片", "李四",
                                                                        "府前路口东侧", "image", 640)
    assert a.sha256 == b.sha256 and A.file_of(folder, a) == A.file_of(folder, b)
    assert A.file_of(folder, a).read_bytes() == photo
    assert [p.name for p in sorted(folder.rglob("*")) if p.is_file()] == [f"{a.sha256}.jpg", f"{a.sha256}.thumb.jpg"]
    assert A.thumb_of(folder, a).read_bytes()[:3] == b"\xff\xd8\xff"
    logged = session.scalars(select(ChangeLog.after).where(ChangeLog.entity == "attachment")).all()
    assert logged == ["标识照片：新标识.jpg", "整改佐证材料：同一张.jpg"]


def test_the_content_decides_the_extension(env):
    session, devices, folder = env
    [shot] = A.attach(session, folder, [A.Upload(F.png(), "截图.jpg")], device_id=devices["JL-001"].id,
                      purpose="公布截图", user="李四")
    assert (shot.filename, shot.mime) == ("截图.png", "image/png")
    assert A.file_of(folder, shot).suffix == ".png"


def test_one_refused_file_refuses_the_lot_and_nothing_is_written(env):
    session, devices, folder = env
    with pytest.raises(A.AttachmentError, match="“photo.jpg”不是 JPG、PNG 图片或 PDF 文件.*Windows 可执行程序"):
        A.attach(session, folder, [A.Upload(F.jpeg(), "好.jpg"), A.Upload(F.EXE, "photo.jpg")],
                 device_id=devices["JL-002"].id, purpose="标识照片", user="李四")
    session.rollback()
    assert session.scalar(select(func.count(Attachment.id))) == 0
    assert not folder.exists() or not any(folder.rglob("*"))


@pytest.mark.parametrize("changes, message", [
    ({"purpose": "照片"}, "附件用途“照片”无效"),
    ({"user": " "}, "请填写上传人"),
    ({"uploads": []}, "请选择要上传的文件"),
    ({"ledger_item_id": 999}, "整改台账中没有第 999 项"),
])
def test_refusals(env, changes, message):
    session, devices, folder = env
    args = {"uploads": [A.Upload(F.jpeg(), "a.jpg")], "purpose": "标识照片", "user": "李四"} | changes
    with pytest.raises(A.AttachmentError, match=message):
        A.attach(session, folder, args.pop("uploads"), device_id=devices["JL-002"].id, **args)


def test_attachments_are_never_edited(env):
    session, devices, folder = env
    [a] = A.attach(session, folder, [A.Upload(F.pdf(), "审核意见书.pdf")], device_id=devices["JL-001"].id,
                   purpose="审核文书", user="李四")
    session.commit()
    a.purpose = "其他"
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    session.delete(session.get(Attachment, a.id))
    with pytest.raises(AppendOnlyError):
        session.flush()


def test_proof_at_each_ledger_step_is_listed_by_the_ledger_export(env, tmp_path):
    session, devices, folder = env
    run = world.run(session)
    f = world.finding(session, run.id, "JL-002", "SGN01")
    _, item = D.rectify(session, devices["JL-002"].id, measure="设置标识", requirement="设置明显标识",
                        deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", finding_ids=[f.id],
                        on=dt.date(2024, 7, 1))
    event = L.advance(session, item.id, "已整改待核查", user="李四", note="已设置标识牌")
    A.attach(session, folder, [A.Upload(F.jpeg(), "新标识.jpg"), A.Upload(F.pdf(), "验收单.pdf")],
             device_id=devices["JL-002"].id, purpose="整改佐证材料", user="李四", ledger_item_id=item.id,
             ledger_event_id=event.id)
    session.commit()
    session.expire_all()
    assert [a.filename for a in L.get_item(session, item.id).attachments] == ["新标识.jpg", "验收单.pdf"]
    path = export(session, "ledger", tmp_path / "台账.xlsx", as_of=dt.date(2024, 7, 10))
    sheet = openpyxl.load_workbook(path).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    assert "整改佐证材料" in cells
    today = dt.date.today().isoformat()
    assert f"整改佐证材料：新标识.jpg（{today} 李四）；整改佐证材料：验收单.pdf（{today} 李四）" in cells
    with pytest.raises(A.AttachmentError, match="整改台账中没有第"):  # another device's item
        A.attach(session, folder, [A.Upload(F.jpeg(), "a.jpg")], device_id=devices["JL-001"].id,
                 purpose="整改佐证材料", user="李四", ledger_item_id=item.id)


def test_file_names_lose_folders_and_characters_windows_refuses():
    assert A.clean_filename("../../etc/passwd", ".jpg") == "passwd.jpg"
    assert A.clean_filename('a<b>:"c".exe', ".pdf") == "a_b_c.pdf"
    assert A.clean_filename("", ".png") == "附件.png"
    assert len(A.clean_filename("长" * 500 + ".jpg", ".jpg")) == A.MAX_FILENAME
