"""Sign-in, bearer tokens, roles, and the resident's WeChat OAuth exchange."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import responses
from freezegun import freeze_time
from responses import matchers
from sqlalchemy import func, select

from api.auth import auth_required, current_principal, ensure_community_access
from carbon_credit.models import Account, Resident

from .factories import STAFF_PASSWORD, auth_header, login, make_community, make_resident, make_staff

WECHAT_FIXTURES = Path(__file__).parent / "fixtures" / "wechat"
OAUTH_URL = "https://api.weixin.qq.com/sns/oauth2/access_token"


def recorded(name: str) -> dict:
    return json.loads((WECHAT_FIXTURES / name).read_text())


def me(client, token):
    return client.get("/api/v1/auth/me", headers=auth_header(token))


# --- staff sign-in ---------------------------------------------------------------------------

def test_staff_sign_in_returns_a_bearer_token_that_identifies_them(client, session):
    community = make_community(session)
    worker = make_staff(session, "li.worker", "worker", STAFF_PASSWORD, [community])
    session.commit()
    response = client.post("/api/v1/auth/token", json={"username": "li.worker", "password": STAFF_PASSWORD})
    assert response.status_code == 200
    grant = response.get_json()
    assert grant["token_type"] == "Bearer"
    expires_at = datetime.fromisoformat(grant["expires_at"])
    assert timedelta(hours=11, minutes=59) < expires_at - datetime.now(timezone.utc) <= timedelta(hours=12)
    assert me(client, grant["access_token"]).get_json() == {
        "kind": "staff",
        "id": worker.id,
        "role": "worker",
        "community_ids": [community.id],
    }


def test_admins_act_in_all_communities(client, admin_token):
    assert me(client, admin_token).get_json()["community_ids"] is None


@pytest.mark.parametrize("username, password", [("li.worker", "wrong password"), ("nobody", STAFF_PASSWORD)])
def test_failed_sign_in_does_not_tell_which_part_was_wrong(client, session, username, password):
    make_staff(session, "li.worker", "worker", STAFF_PASSWORD, [make_community(session)])
    session.commit()
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.get_json() == {"code": "invalid_credentials", "message": "Unknown username or wrong password."}


def test_inactive_staff_cannot_sign_in(client, session):
    make_staff(session, "gone", "admin", active=False)
    session.commit()
    response = client.post("/api/v1/auth/token", json={"username": "gone", "password": STAFF_PASSWORD})
    assert response.get_json()["code"] == "invalid_credentials"


def test_token_of_deactivated_staff_is_refused_at_once(client, session, admin_token):
    from carbon_credit.models import Staff

    session.scalar(select(Staff).where(Staff.username == "admin")).active = False
    session.commit()
    response = me(client, admin_token)
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


# --- tokens ------------------------------------------------------------------------------------

def test_missing_token_is_401_with_bearer_challenge(client):
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic YWRtaW46cGFzcw==", "Bearer "])
def test_malformed_or_foreign_tokens_are_401(client, header):
    response = client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_token_signed_with_another_key_is_refused(app, client, admin_token):
    assert me(client, admin_token).status_code == 200  # verified once: this process remembers the token
    app.config["SECRET_KEY"] = "another-key"
    assert me(client, admin_token).status_code == 401


def test_token_expires_after_its_lifetime(app, client, session):
    make_staff(session, "admin", "admin")
    session.commit()
    ttl = app.config["TOKEN_TTL_SECONDS"]
    with freeze_time("2026-06-05 02:00:00") as frozen:
        token = login(client, "admin")
        frozen.tick(ttl)
        assert me(client, token).status_code == 200
        frozen.tick(1)
        response = me(client, token)
    assert response.status_code == 401
    assert response.get_json() == {"code": "unauthorized", "message": "The token has expired; sign in again."}


def test_expires_at_matches_when_the_token_stops_working(app, client, session):
    make_staff(session, "admin", "admin")
    session.commit()
    with freeze_time("2026-06-05 02:00:00"):
        grant = client.post("/api/v1/auth/token", json={"username": "admin", "password": STAFF_PASSWORD}).get_json()
    assert grant["expires_at"] == "2026-06-05T14:00:00+00:00"


# --- roles and communities -----------------------------------------------------------------

@pytest.fixture
def guarded_views(app):
    """Views protected the way resources protect theirs."""

    @auth_required("admin")
    def admin_only():
        return {"ok": True}

    @auth_required("worker", "admin")
    def community_stats(community_id):
        ensure_community_access(community_id)
        return {"community_id": community_id, "who": current_principal().role}

    app.add_url_rule("/test/admin-only", view_func=admin_only)
    app.add_url_rule("/test/communities/<int:community_id>/stats", view_func=community_stats)


def test_roles_outside_the_allowed_set_are_forbidden(client, session, guarded_views, admin_token, worker_token):
    worker = worker_token()
    resident = make_resident(session)
    session.commit()
    from api.auth import issue_resident_token

    with client.application.app_context():
        resident_token = issue_resident_token(resident)["access_token"]
    assert client.get("/test/admin-only", headers=auth_header(admin_token)).status_code == 200
    for token in (worker, resident_token):
        response = client.get("/test/admin-only", headers=auth_header(token))
        assert response.status_code == 403
        assert response.get_json()["code"] == "forbidden"


def test_workers_only_reach_their_own_communities(client, session, guarded_views, admin_token, worker_token):
    mine, other = make_community(session), make_community(session)
    session.commit()
    token = worker_token(mine)
    assert client.get(f"/test/communities/{mine.id}/stats", headers=auth_header(token)).status_code == 200
    response = client.get(f"/test/communities/{other.id}/stats", headers=auth_header(token))
    # Outside the worker's area reads exactly as an unknown community, so ids cannot be probed.
    assert response.status_code == 404
    assert response.get_json()["code"] == "community_not_found"
    unknown = client.get("/test/communities/999999/stats", headers=auth_header(token))
    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "community_not_found")
    assert client.get(f"/test/communities/{other.id}/stats", headers=auth_header(admin_token)).status_code == 200


def test_unknown_roles_are_a_programming_error():
    with pytest.raises(ValueError):
        auth_required("superuser")


# --- residents: WeChat OAuth ------------------------------------------------------------------

def oauth_reply(app, code, fixture, status=200):
    """Serve a recorded WeChat reply, only for the exact query WeChat documents."""
    params = {
        "appid": app.config["WECHAT_APPID"],
        "secret": app.config["WECHAT_SECRET"],
        "code": code,
        "grant_type": "authorization_code",
    }
    responses.get(OAUTH_URL, json=recorded(fixture), status=status, match=[matchers.query_param_matcher(params)])


@responses.activate
def test_first_exchange_registers_the_resident_and_the_second_reuses_them(app, client, session):
    oauth_reply(app, "CODE1", "sns_oauth2_access_token.json")
    oauth_reply(app, "CODE2", "sns_oauth2_access_token.json")

    first = client.post("/api/v1/auth/wechat", json={"code": "CODE1"})
    second = client.post("/api/v1/auth/wechat", json={"code": "CODE2"})

    assert first.status_code == 200 and second.status_code == 200
    resident = session.scalar(select(Resident).where(Resident.openid == "OPENID"))
    assert session.scalar(select(func.count()).select_from(Resident)) == 1
    assert resident.status == "active"
    assert session.scalar(select(Account.balance).where(Account.resident_id == resident.id)) == 0
    for grant in (first.get_json(), second.get_json()):
        assert grant["token_type"] == "Bearer"
        assert me(client, grant["access_token"]).get_json() == {
            "kind": "resident",
            "id": resident.id,
            "role": "resident",
            "community_ids": [],
        }


@responses.activate
@pytest.mark.parametrize(
    "fixture, detail",
    [
        ("sns_oauth2_access_token_40029.json", "invalid code (40029)"),
        ("sns_oauth2_access_token_40163.json", "code been used (40163)"),
    ],
)
def test_codes_wechat_refuses_are_a_400(app, client, session, fixture, detail):
    oauth_reply(app, "BADCODE", fixture)
    response = client.post("/api/v1/auth/wechat", json={"code": "BADCODE"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "wechat_oauth_failed"
    assert response.get_json()["errors"] == {"code": [detail]}
    assert session.scalar(select(func.count()).select_from(Resident)) == 0


@responses.activate
def test_unreachable_wechat_is_a_502(client):
    responses.get(OAUTH_URL, body=requests.ConnectionError("connection refused"))
    response = client.post("/api/v1/auth/wechat", json={"code": "CODE"})
    assert response.status_code == 502
    assert response.get_json()["code"] == "wechat_unavailable"


@responses.activate
def test_wechat_server_errors_are_a_502(client):
    responses.get(OAUTH_URL, body="busy", status=503)
    response = client.post("/api/v1/auth/wechat", json={"code": "CODE"})
    assert response.status_code == 502


def test_exchange_without_wechat_credentials_is_a_503(app, client):
    app.config["WECHAT_SECRET"] = ""
    response = client.post("/api/v1/auth/wechat", json={"code": "CODE"})
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat_not_configured"


def test_exchange_needs_a_code(client):
    response = client.post("/api/v1/auth/wechat", json={})
    assert response.status_code == 422
    assert "code" in response.get_json()["errors"]


@responses.activate
def test_blocked_resident_gets_no_token(app, client, session):
    make_resident(session, "OPENID").status = "blocked"
    session.commit()
    oauth_reply(app, "CODE", "sns_oauth2_access_token.json")
    response = client.post("/api/v1/auth/wechat", json={"code": "CODE"})
    assert response.status_code == 409
    assert response.get_json()["code"] == "resident_inactive"


def test_token_of_resident_who_unfollowed_is_refused(client, session, resident_token):
    resident = make_resident(session)
    session.commit()
    token = resident_token(resident)
    assert me(client, token).status_code == 200
    resident.status = "unfollowed"
    session.commit()
    assert me(client, token).status_code == 401


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_prints_a_working_resident_token(client, runner, session):
    make_resident(session, "o-demo-openid")
    session.commit()
    result = runner.invoke(args=["residents", "token", "o-demo-openid"])
    assert result.exit_code == 0, result.output
    assert me(client, result.output.strip()).get_json()["kind"] == "resident"


def test_cli_token_for_unknown_openid_fails_clearly(runner):
    result = runner.invoke(args=["residents", "token", "o-nobody"])
    assert result.exit_code != 0
    assert "No resident has the openid 'o-nobody'" in result.output


def test_cli_creates_staff_who_can_sign_in(client, runner, session):
    community = make_community(session)
    session.commit()
    args = ["staff", "create", "wang", "--role", "worker", "--password", "pw-12345678", "--community", str(community.id)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    token = login(client, "wang", "pw-12345678")
    assert me(client, token).get_json()["community_ids"] == [community.id]


def test_cli_refuses_a_taken_username(runner, session):
    make_staff(session, "wang", "admin")
    session.commit()
    result = runner.invoke(args=["staff", "create", "wang", "--role", "admin", "--password", "long-enough-pw"])
    assert result.exit_code != 0
    assert "This username is taken." in result.output
