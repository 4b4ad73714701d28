"""Errors that stay errors: an id too large for the database names no record (404), never a 500."""
from __future__ import annotations

import re

from .support import client_for, post

HUGE = "99999999999999999999"


def test_every_url_with_an_id_answers_404_for_an_id_out_of_range(shared_world):
    client = client_for(shared_world.app, "admin")
    rules = [r for r in shared_world.app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) >= 15
    for rule in rules:
        url = re.sub(r"<int:\w+>", HUGE, rule.rule)
        url = re.sub(r"<\w+>", "x", url)
        response = client.get(url) if "GET" in rule.methods else post(client, url)
        assert response.status_code == 404, (url, response.status_code)


def test_ids_out_of_range_in_query_strings_and_forms_are_no_500(shared_world):
    client = client_for(shared_world.app, "auditor")
    for url in (f"/devices?department={HUGE}", f"/api/devices?department={HUGE}", f"/map?department={HUGE}",
                f"/ledger?department={HUGE}"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/documents/file?document=summary.docx&run={HUGE}").status_code < 500
    device = shared_world.device["JB-001"]
    response = post(client, f"/review/devices/{device}/keep", {"reason": "", "finding": HUGE})
    assert response.status_code == 303
