"""What the documents are made of: device lists count devices, not findings."""
from __future__ import annotations

from audit.exports.data import device_list


def test_a_device_with_several_findings_is_listed_once():
    assert device_list(["JL-JJ-0018", "JL-JJ-0018", "JL-JJ-0019", None, "JL-JJ-0018", "JL-JJ-0020"]) == \
        "JL-JJ-0018、JL-JJ-0019、JL-JJ-0020（共 3 台）"
    assert device_list(["JL-JJ-0018", "JL-JJ-0018"]) == "JL-JJ-0018"
    assert device_list([None]) == "—"
    many = [f"D-{i:03d}" for i in range(60)] * 2
    assert device_list(many).endswith(" 等（共 60 台）")
