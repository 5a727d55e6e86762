"""Signing in to the console: cookie, CSRF, sign-out and password change end the session on the server."""
from __future__ import annotations

from sqlalchemy import func, select

from carbon_credit.models import Staff, StaffSession

from .console_support import csrf_token, post_form, sign_in
from .factories import STAFF_PASSWORD, auth_header, make_community, make_staff


def _worker(session, username="worker"):
    staff = make_staff(session, username, "worker", communities=[make_community(session)])
    session.commit()
    return staff


def _sessions(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(StaffSession))


def test_the_console_asks_strangers_to_sign_in(client):
    response = client.get("/console/campaigns?status=draft")
    assert response.status_code == 302
    assert "/console/login?next=" in response.headers["Location"]


def test_signing_in_sets_an_httponly_samesite_cookie(client, session):
    _worker(session)
    response = sign_in(client, "worker")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/console/").status_code == 200


def test_a_wrong_password_is_refused_in_chinese_and_opens_no_session(client, session):
    _worker(session)
    response = sign_in(client, "worker", "wrong password!")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert _sessions(session) == 0


def test_a_disabled_account_cannot_sign_in(client, session):
    staff = _worker(session)
    staff.active = False
    session.commit()
    assert sign_in(client, "worker").status_code == 401


def test_a_form_without_its_csrf_token_is_refused(client, session):
    _worker(session)
    response = client.post("/console/login", data={"username": "worker", "password": STAFF_PASSWORD})
    assert response.status_code == 400
    assert "安全校验" in response.get_data(as_text=True)
    assert _sessions(session) == 0


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(app, client, session):
    _worker(session)
    sign_in(client, "worker")
    copy = app.test_client()
    copy.set_cookie("console_session", client.get_cookie("console_session").value)
    assert copy.get("/console/").status_code == 200
    assert post_form(client, "/console/", "/console/logout", {}).status_code == 302
    assert copy.get("/console/").status_code == 302


def test_disabling_an_account_ends_its_open_session(client, session):
    staff = _worker(session)
    sign_in(client, "worker")
    session.get(Staff, staff.id).active = False
    session.commit()
    assert client.get("/console/").status_code == 302


def test_a_password_change_follows_the_policy_and_ends_all_sessions(app, client, session):
    _worker(session)
    sign_in(client, "worker")
    short = post_form(client, "/console/password", "/console/password",
                      {"current": STAFF_PASSWORD, "new": "short", "repeat": "short"})
    assert short.status_code == 422 and "至少 10 个字符" in short.get_data(as_text=True)
    other_device = app.test_client()
    sign_in(other_device, "worker")
    changed = post_form(client, "/console/password", "/console/password",
                        {"current": STAFF_PASSWORD, "new": "a brand new password", "repeat": "a brand new password"})
    assert changed.status_code == 302
    assert other_device.get("/console/").status_code == 302
    assert sign_in(client, "worker", "a brand new password").status_code == 302


def test_sign_in_never_sends_people_off_the_console(client, session):
    _worker(session)
    page = client.get("/console/login?next=//evil.example/")
    response = client.post("/console/login", data={"username": "worker", "password": STAFF_PASSWORD,
                                                    "next": "//evil.example/",
                                                    "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/console/"


def test_vendor_files_are_served_by_the_app_itself(client):
    response = client.get("/console/vendor/htmx.min.js")
    assert response.status_code == 200 and b"htmx" in response.data
    assert client.get("/console/vendor/../package.json").status_code == 404


def test_console_sign_in_shares_the_api_throttle(app, client, session):
    """Wrong passwords on the console and the API count together; over the limit both say 429."""
    _worker(session)
    app.config["SIGN_IN_MAX_PER_ACCOUNT"] = 3
    for _ in range(2):
        assert sign_in(client, "worker", "wrong password!").status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "worker", "password": "wrong password!"}
                       ).status_code == 401
    refused = sign_in(client, "worker")  # the right password, but the account is locked for this window
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "登录尝试次数过多" in refused.get_data(as_text=True)
    assert _sessions(session) == 0
    assert client.post("/api/v1/auth/token", json={"username": "worker", "password": STAFF_PASSWORD}
                       ).status_code == 429


def test_an_admin_disabling_or_resetting_through_the_api_ends_console_sessions(app, client, session, admin_token):
    staff = _worker(session)
    sign_in(client, "worker")
    assert client.get("/console/").status_code == 200
    reset = app.test_client().post(f"/api/v1/staff/{staff.id}/password", json={"new_password": "another long secret"},
                                   headers=auth_header(admin_token))
    assert reset.status_code == 200
    assert client.get("/console/").status_code == 302
    assert sign_in(client, "worker", "another long secret").status_code == 302
    disabled = app.test_client().post(f"/api/v1/staff/{staff.id}/disable", json={"reason": "left the job"},
                                      headers=auth_header(admin_token))
    assert disabled.status_code == 200
    assert client.get("/console/").status_code == 302


def test_a_password_changed_in_the_console_refuses_the_old_api_tokens(app, client, session):
    _worker(session)
    api = app.test_client()
    token = api.post("/api/v1/auth/token", json={"username": "worker", "password": STAFF_PASSWORD}
                     ).get_json()["access_token"]
    assert api.get("/api/v1/campaigns", headers=auth_header(token)).status_code == 200
    sign_in(client, "worker")
    changed = post_form(client, "/console/password", "/console/password",
                        {"current": STAFF_PASSWORD, "new": "a brand new password", "repeat": "a brand new password"})
    assert changed.status_code == 302
    assert api.get("/api/v1/campaigns", headers=auth_header(token)).status_code == 401
