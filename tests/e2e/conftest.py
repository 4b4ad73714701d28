"""Browser tests: Debian's chromium driven by Playwright against the app served by waitress on loopback.

Skipped cleanly where /usr/bin/chromium or the playwright package is absent (never `playwright install`).
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The seeded test app (tests/web/support.py) served by waitress; yields (world, base URL)."""
    from tests.web.support import make_app, populate

    tmp = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    mp.setenv("CAMAUDIT_INSTANCE_PATH", str(tmp / "instance"))
    app = make_app(tmp, TESTING=False)
    world = populate(app, tmp)
    with serving(app) as url:
        yield world, url
    mp.undo()


@contextlib.contextmanager
def serving(app):
    """The app served by waitress on a free loopback port in a thread; yields its base URL."""
    from waitress.server import create_server

    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.effective_port}"
    finally:
        srv.close()
        thread.join(timeout=5)


@pytest.fixture
def page(browser, server, tmp_path):
    """A fresh browser context; fails the test on a JavaScript error, a dialog (alert) or a request off loopback."""
    _, base = server
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("request", lambda req: None if req.url.startswith((base, "data:")) else problems.append(req.url))
    page.base = base
    page.shots = tmp_path
    yield page
    context.close()
    assert problems == []


def login(page, user: str, password: str) -> None:
    page.goto(page.base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(page.base + "/")
