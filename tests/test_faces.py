"""The host and its faces: one-way imports, faces found by entry point, each registering its own parts."""
from __future__ import annotations

from pathlib import Path

import pytest

from api import create_app
from api.host import installed_faces
from api.scheduler import jobs_of

from .conftest import TEST_WECHAT
from .factories import auth_header, login, make_staff

ROOT = Path(__file__).resolve().parent.parent
BOT_JOBS = {"deliver_outbox", "campaign_publicity", "purge_answered_pushes"}


def _lines_naming(package: str, words: tuple[str, ...]) -> list[str]:
    """Like ``grep -rn "from X\\|import X" package``: every line of the package's source naming another face."""
    found = []
    for path in sorted((ROOT / package).rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".html", ".txt", ".j2"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(word in line for word in words):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("package", ["bot", "web"])
def test_no_face_imports_the_api(package):
    assert _lines_naming(package, ("from api", "import api")) == []


@pytest.mark.parametrize("package", ["api", "web"])
def test_neither_the_api_nor_the_console_imports_the_bot(package):
    assert _lines_naming(package, ("from bot", "import bot")) == []


def test_the_faces_are_found_through_their_entry_points():
    assert {"bot", "web"} <= set(installed_faces())


def test_an_app_names_the_faces_it_registered(app):
    assert app.extensions["carbon_faces"] == ("bot", "web")


def test_a_face_that_is_not_installed_is_refused(db_url):
    with pytest.raises(LookupError, match="telegram"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "k"}, faces=("telegram",))


def test_an_install_without_declared_faces_is_told_to_reinstall(db_url, monkeypatch):
    import api.host

    monkeypatch.setattr(api.host, "entry_points", lambda group: [])
    with pytest.raises(LookupError, match="pip install -e"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "k"})


@pytest.fixture
def api_only(db_url):
    from api.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test-secret-key",
                      "REDIS_URL": None, **TEST_WECHAT}, faces=())
    yield app
    with app.app_context():
        db.session.remove()


def _paths(app) -> set[str]:
    return set(app.test_client().get("/api/v1/openapi.json").get_json()["paths"])


def test_an_app_with_only_the_api_face_still_serves_the_api(api_only, session):
    make_staff(session, "admin1", "admin")
    session.commit()
    client = api_only.test_client()

    token = login(client, "admin1")
    listed = client.get("/api/v1/staff", headers=auth_header(token))

    assert listed.status_code == 200
    assert [s["username"] for s in listed.get_json()] == ["admin1"]
    assert client.post("/wechat").status_code == 404
    assert client.get("/console/").status_code == 404
    assert "/api/v1/qrcodes" not in _paths(api_only)
    assert not BOT_JOBS & set(jobs_of(api_only))
    assert {"expire_points", "advance_campaigns"} <= set(jobs_of(api_only))


def test_the_bot_adds_its_qr_resource_and_jobs_to_the_hosts(app, api_only):
    assert _paths(app) == _paths(api_only) | {"/api/v1/qrcodes"}
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert set(spec["paths"]["/api/v1/qrcodes"]) == {"get", "post"}
    assert {"QRCode", "QRCodeBody"} <= set(spec["components"]["schemas"])
    assert BOT_JOBS <= set(jobs_of(app))


def test_the_console_without_the_bot_says_wechat_is_not_configured(db_url, session):
    from api.extensions import db
    from carbon_credit.errors import WeChatNotConfigured

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "k", "REDIS_URL": None},
                     faces=("web",))
    try:
        with app.test_request_context():
            from web.wechat import get_client

            with pytest.raises(WeChatNotConfigured):
                get_client()
    finally:
        with app.app_context():
            db.session.remove()
