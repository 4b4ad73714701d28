"""Every state-changing request without a valid CSRF token is refused and changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from audit.registry.models import ChangeLog

from .support import client_for, csrf, database_session

POSTS = [
    "/audit/run", "/review/problems/{problem}", "/review/problems", "/review/suspend-recommended",
    "/review/devices/{device}/suspend", "/review/devices/{device}/rectify", "/review/devices/{device}/keep",
    "/review/devices/{device}/restore", "/review/devices/{device}/remove", "/upload",
    "/ledger/{ledger}/advance", "/ledger/{ledger}/close", "/ledger/{ledger}/reopen", "/logout", "/lang", "/login",
    "/admin/users", "/admin/users/{user}/password", "/admin/users/{user}/labels", "/admin/users/{user}/disable",
    "/admin/users/{user}/enable", "/admin/users/{user}/remove",
    "/ledger/{ledger}/attach", "/attachments/device/{device}", "/problems/{problem}/responses",
    "/responses/{response}/accept", "/responses/{response}/reject", "/spotchecks",
    "/spotchecks/{check}/devices/{device}",
]


def _urls(world):
    ids = {"problem": world.problem["b"], "device": world.device["JB-001"], "ledger": world.ledger_b, "user": 1,
           "response": 1, "check": 1}
    return [u.format(**ids) for u in POSTS]


def _changes(app):
    with database_session(app) as db:
        return db.scalar(select(func.count()).select_from(ChangeLog))


def test_every_post_route_is_listed(shared_world):
    posts = {r.rule for r in shared_world.app.url_map.iter_rules() if "POST" in r.methods}
    listed = {u for u in POSTS} | {"/upload/<token>/confirm", "/upload/<token>/cancel"}
    generic = {r.replace("{problem}", "<int:problem_id>").replace("{device}", "<int:device_id>")
               .replace("{ledger}", "<int:item_id>").replace("{user}", "<int:user_id>")
               .replace("{response}", "<int:response_id>").replace("{check}", "<int:check_id>") for r in listed}
    assert posts == generic


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_posts_without_a_valid_token_are_refused(shared_world, token):
    client = client_for(shared_world.app, "auditor")
    before = _changes(shared_world.app)
    for url in _urls(shared_world):
        data = {"reason": "x", "decision": "confirm", "to_status": "整改中", "username": "auditor",
                "password": "auditor-pass-1", "lang": "en", "profile": "national"}
        if token:
            data["csrf_token"] = token
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert "CSRF" in response.text
    assert _changes(shared_world.app) == before
    # The session is still signed in: logout without a token did not log out.
    assert client.get("/").status_code == 200


def test_json_posts_need_the_header(shared_world):
    client = shared_world.app.test_client()
    body = {"username": "auditor", "password": "auditor-pass-1"}
    refused = client.post("/login", json=body)
    assert refused.status_code == 400 and "error" in refused.get_json()
    accepted = client.post("/login", json=body, headers={"X-CSRFToken": csrf(client)})
    assert accepted.status_code == 200 and accepted.get_json()["role"] == "auditor"


def test_a_token_of_another_session_is_refused(shared_world):
    one, other = client_for(shared_world.app, "auditor"), client_for(shared_world.app, "auditor")
    url = f"/review/devices/{shared_world.device['JB-001']}/suspend"
    response = other.post(url, data={"csrf_token": csrf(one), "reason": "应停用"})
    assert response.status_code == 400
