"""Fixtures of the web tests: an app on a temporary SQLite database, seeded with two departments."""
from __future__ import annotations

import pytest

from .support import World, make_app, populate


@pytest.fixture(autouse=True)
def _instance(tmp_path, monkeypatch):
    # Uploads and the instance folder of every app built in a test go to the test's own folder.
    monkeypatch.setenv("CAMAUDIT_INSTANCE_PATH", str(tmp_path / "instance"))


@pytest.fixture
def world(tmp_path) -> World:
    """A fresh, seeded app for tests that change data."""
    app = make_app(tmp_path)
    return populate(app, tmp_path)


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory) -> World:
    """One seeded app per module, for tests that only read (or whose changes others do not see)."""
    tmp = tmp_path_factory.mktemp("web")
    mp = pytest.MonkeyPatch()
    mp.setenv("CAMAUDIT_INSTANCE_PATH", str(tmp / "instance"))
    app = make_app(tmp)
    yield populate(app, tmp)
    mp.undo()
