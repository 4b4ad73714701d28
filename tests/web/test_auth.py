"""Signing in and out: sessions, cookies, slowed-down guessing, no open redirect."""
from __future__ import annotations

import datetime as dt

from audit.registry.models import LoginThrottle

from .support import PASSWORDS, csrf, database_session, login, post


def test_login_sets_a_httponly_samesite_cookie_and_logout_ends_the_session(shared_world):
    client = shared_world.app.test_client()
    response = login(client, "auditor")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/devices").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/devices").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(shared_world):
    client = shared_world.app.test_client()
    wrong = login(client, "auditor", "not-the-password")
    unknown = login(client, "no-such-user", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text


def test_repeated_failures_slow_the_account_down_until_the_delay_passes(world):
    client = world.app.test_client()
    for _ in range(5):
        assert login(client, "clerk_a", "wrong-password").status_code == 401
    locked = login(client, "clerk_a", "wrong-password")
    assert locked.status_code == 429 and "秒后再试" in locked.text
    # Even the right password waits: the delay is checked before the password.
    assert login(client, "clerk_a").status_code == 429
    with database_session(world.app) as db:
        counter = db.get(LoginThrottle, "account:clerk_a")
        assert counter.failures == 5  # refused attempts are not even counted
        counter.last_failure_at -= dt.timedelta(hours=1)
        db.commit()
    assert login(client, "clerk_a").status_code == 302
    with database_session(world.app) as db:
        assert db.get(LoginThrottle, "account:clerk_a").failures == 0


def test_login_follows_only_local_next_urls(shared_world):
    client = shared_world.app.test_client()
    for target, expected in (("/devices?page=2", "/devices?page=2"), ("https://evil.example/", "/"),
                             ("//evil.example/", "/"), ("/\\evil.example", "/"), ("/devices\r\nSet-Cookie: x=1", "/"),
                             ("/\t/evil.example", "/")):
        response = client.post("/login", data={"username": "auditor", "password": PASSWORDS["auditor"],
                                                "next": target, "csrf_token": csrf(client)})
        assert response.headers["Location"] == expected, target
        post(client, "/logout")


def test_pages_send_anonymous_users_to_the_login_form(shared_world):
    response = shared_world.app.test_client().get("/devices?type=闯红灯")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/devices")


def test_security_headers(shared_world):
    client = shared_world.app.test_client()
    login(client, "auditor")
    page = client.get("/devices")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "object-src 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    # Only the map page runs (folium's) inline script.
    assert "'unsafe-inline'" in client.get("/map").headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]


def test_the_language_switch_keeps_the_page_and_survives_login(shared_world):
    client = shared_world.app.test_client()
    response = client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": csrf(client)})
    assert response.headers["Location"] == "/login"
    assert "Sign in" in client.get("/login").text
    login(client, "auditor")
    page = client.get("/devices").text
    assert "Device code" in page and "设备编号" not in page
