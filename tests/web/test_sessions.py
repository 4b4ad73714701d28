"""Sessions that end on the server: a cookie kept from before logout, a new password or a disabled user no longer
reads or writes anything; throttling that counts parallel attempts one by one and answers alike for any name."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from audit.cli import main
from audit.registry.models import LoginSession, LoginThrottle, ProblemReview, User, utcnow
from audit.registry.users import SCRYPT, check_password, hash_password

from .support import PASSWORDS, csrf, database_session, login, make_app, post

COOKIE = "session"


def signed_in(app, name):
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def replay(app, cookie):
    """A fresh client that presents a saved session cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client


def saved_cookie(client):
    return client.get_cookie(COOKIE).value


def test_a_cookie_saved_before_logout_gets_the_login_page(world):
    client = signed_in(world.app, "auditor")
    cookie = saved_cookie(client)
    assert replay(world.app, cookie).get("/api/devices").status_code == 200
    assert post(client, "/logout").status_code == 302
    thief = replay(world.app, cookie)
    assert thief.get("/api/devices").status_code == 401
    page = thief.get("/review")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    # Nor can it write: a review POST with the old cookie (and a CSRF token for it) goes to the login page.
    response = post(thief, f"/review/problems/{world.problem['a']}", {"decision": "dismiss", "reason": "x"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with database_session(world.app) as db:
        assert db.scalar(select(func.count()).select_from(ProblemReview)) == 0
        ended = db.scalars(select(LoginSession.end_reason).where(LoginSession.ended_at.isnot(None))).all()
        assert ended == ["logout"]


def test_other_sessions_survive_a_logout_but_not_a_new_password(world, monkeypatch, tmp_path):
    first, second = signed_in(world.app, "clerk_a"), signed_in(world.app, "clerk_a")
    post(first, "/logout")
    assert second.get("/devices").status_code == 200
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", world.app.config["DATABASE_URL"])
    result = CliRunner().invoke(main, ["user", "passwd", "clerk_a", "--password-stdin"], input="a-new-long-secret\n")
    assert result.exit_code == 0, result.output
    assert second.get("/devices").status_code == 302
    assert login(world.app.test_client(), "clerk_a", "a-new-long-secret").status_code == 302


def test_a_disabled_user_is_refused_at_once_and_cannot_sign_in(world):
    clerk = signed_in(world.app, "clerk_a")
    admin = signed_in(world.app, "admin")
    with database_session(world.app) as db:
        clerk_id = db.scalar(select(User.id).where(User.name == "clerk_a"))
    assert post(admin, f"/admin/users/{clerk_id}/disable").status_code == 303
    assert clerk.get("/devices").status_code == 302
    refused = login(world.app.test_client(), "clerk_a")
    assert refused.status_code == 403 and "已停用" in refused.text
    assert post(admin, f"/admin/users/{clerk_id}/enable").status_code == 303
    assert login(world.app.test_client(), "clerk_a").status_code == 302


def test_parallel_wrong_passwords_check_no_more_than_the_free_attempts(world, monkeypatch):
    from audit.registry import users

    checked = []
    real = users.check_password

    def counting(stored, password):
        checked.append(password)
        return real(stored, password)

    monkeypatch.setattr("web.auth.views.check_password", counting)
    clients = [world.app.test_client() for _ in range(12)]
    tokens = [csrf(c) for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses = []

    def attempt(client, token):
        barrier.wait()
        statuses.append(client.post("/login", data={"username": "auditor", "password": "wrong-password-x",
                                                    "csrf_token": token}).status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checked) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 7


def test_unknown_and_known_names_are_answered_alike_and_both_slowed_down(world):
    answers = {}
    for name in ("auditor", "nobody-here"):
        client = world.app.test_client()
        answers[name] = [(r.status_code, r.get_data(as_text=True).count("用户名或密码错误"))
                         for r in (login(client, name, "wrong-password-x") for _ in range(6))]
    assert answers["auditor"] == answers["nobody-here"]
    assert [code for code, _ in answers["auditor"]] == [401] * 5 + [429]


def test_the_real_users_browser_is_not_slowed_down_by_someone_guessing_its_password(world):
    mine = signed_in(world.app, "clerk_b")
    post(mine, "/logout")
    attacker = world.app.test_client()
    for _ in range(6):
        login(attacker, "clerk_b", "wrong-password-x")
    assert login(attacker, "clerk_b").status_code == 429
    assert login(mine, "clerk_b").status_code == 302  # the browser that signed in before counts on its own


def test_one_address_cannot_try_many_names(world):
    client = world.app.test_client()
    statuses = [login(client, f"user{i}", "wrong-password-x").status_code for i in range(21)]
    assert statuses == [401] * 20 + [429]
    with database_session(world.app) as db:
        assert db.get(LoginThrottle, "address:127.0.0.1").failures == 20


def test_an_old_hash_is_replaced_at_login(world):
    with database_session(world.app) as db:
        user = db.scalar(select(User).where(User.name == "auditor"))
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(PASSWORDS["auditor"].encode(), salt=salt, n=2**14, r=8, p=1)
        user.password_hash = "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()
        db.commit()
    assert login(world.app.test_client(), "auditor").status_code == 302
    with database_session(world.app) as db:
        stored = db.scalar(select(User.password_hash).where(User.name == "auditor"))
    assert stored.startswith(f"scrypt${SCRYPT['n']}:{SCRYPT['r']}:{SCRYPT['p']}$")
    assert check_password(stored, PASSWORDS["auditor"])


def test_the_login_page_warns_while_demo_accounts_keep_the_published_password(world):
    assert "demo-accounts" not in world.app.test_client().get("/login").text
    with database_session(world.app) as db:
        db.scalar(select(User).where(User.name == "auditor")).password_hash = hash_password("camaudit-demo")
        db.commit()
    page = world.app.test_client().get("/login").text
    assert 'id="demo-accounts"' in page and "auditor" in page


def _failed_login_from(app, forwarded_for):
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert login(client, "auditor", "wrong-password-x").status_code == 401


def test_behind_a_trusted_proxy_the_client_address_is_counted_and_otherwise_the_header_is_ignored(world, tmp_path):
    _failed_login_from(world.app, "10.9.9.9")  # no proxy configured: the header is the client's own claim
    behind_proxy = make_app(tmp_path, TRUSTED_PROXIES=1)
    _failed_login_from(behind_proxy, "10.1.1.1")
    with database_session(world.app) as db:
        keys = set(db.scalars(select(LoginThrottle.key).where(LoginThrottle.key.like("address:%"))))
    assert keys == {"address:127.0.0.1", "address:10.1.1.1"}


def test_a_trusted_proxies_setting_that_is_not_a_count_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        make_app(tmp_path, TRUSTED_PROXIES="nginx")


def test_an_audit_workers_setting_out_of_range_is_refused_at_start(tmp_path):
    for bad in (0, "two", 65):
        with pytest.raises(ValueError, match=f"审查的并行进程数“{bad}”无效"):
            make_app(tmp_path, AUDIT_WORKERS=bad)
    assert make_app(tmp_path, AUDIT_WORKERS=3).config["AUDIT_WORKERS"] == 3


def test_counters_older_than_a_day_are_removed_at_the_next_attempt(world):
    old = utcnow() - dt.timedelta(days=2)
    with database_session(world.app) as db:
        db.add_all([LoginThrottle(key=f"account:gone{i}", failures=3, last_failure_at=old) for i in range(50)])
        db.commit()
    client = world.app.test_client()
    assert login(client, "someone-new", "wrong-password-x").status_code == 401
    with database_session(world.app) as db:
        keys = set(db.scalars(select(LoginThrottle.key)))
    assert not {k for k in keys if k.startswith("account:gone")}
    assert {"account:someone-new", "address:127.0.0.1"} <= keys
