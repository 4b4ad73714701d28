"""Text stored before validation cleaned it (or written by another tool) never makes a document fail."""
from __future__ import annotations

from sqlalchemy import select, update

from audit.registry.models import Device

from .support import DEPT_A, database_session


def test_the_public_notice_with_control_characters_in_stored_text_is_served(world):
    with database_session(world.app) as db:
        db.execute(update(Device).where(Device.device_code == "JA-002")
                   .values(name="府前路\x01闯红灯", address="府前路\x07与\x0b金溪路口", road="府\ufffe前路"))
        db.commit()
        assert "\x07" in db.scalar(select(Device.address).where(Device.device_code == "JA-002"))
    client = world.app.test_client()
    for suffix in ("xlsx", "docx"):
        response = client.get(f"/public/notice.{suffix}?department={DEPT_A}")
        assert response.status_code == 200, suffix
        assert response.data[:2] == b"PK"
