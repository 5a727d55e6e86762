"""Staff accounts and blocked residents through the API: audited, and every old token refused at once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import texts
from carbon_credit.errors import ResidentInactive
from carbon_credit.models import AuditLog, Resident, Staff

from .api_helpers import assert_error, bearer, feed, install_rules, resident_in
from .bot_support import say, text
from .factories import STAFF_PASSWORD, login, make_community, make_staff

NEW_PASSWORD = "a brand new passphrase"


def audited(session, verb):
    session.commit()
    return session.scalars(select(AuditLog).where(AuditLog.verb == verb).order_by(AuditLog.id)).all()


@pytest.fixture
def admin(client, session):
    make_staff(session, "admin", "admin")
    session.commit()
    return bearer(login(client, "admin"))


# --- staff management ------------------------------------------------------------------------------

def test_admin_creates_a_worker_in_communities_and_lists_staff(client, session, admin):
    community = make_community(session)
    session.commit()
    body = {"username": "chen", "password": "chen-password-1", "role": "worker", "display_name": "陈",
            "community_ids": [community.id]}
    created = client.post("/api/v1/staff", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["community_ids"] == [community.id] and "password" not in created.get_json()
    assert [s["username"] for s in client.get("/api/v1/staff", headers=admin).get_json()] == ["admin", "chen"]
    assert [s["username"] for s in client.get("/api/v1/staff?role=worker", headers=admin).get_json()] == ["chen"]
    assert login(client, "chen", "chen-password-1")
    [entry] = audited(session, "create_staff")
    assert (entry.actor_kind, entry.target_id) == ("staff", str(created.get_json()["id"]))


@pytest.mark.parametrize("password, username", [("short", "zhang"), ("zhang.wei.99", "Zhang.Wei.99")])
def test_every_way_of_setting_a_password_applies_the_policy(client, session, admin, password, username):
    community = make_community(session)
    session.commit()
    body = {"username": username, "password": password, "role": "worker", "community_ids": [community.id]}
    assert_error(client.post("/api/v1/staff", json=body, headers=admin), 422, "invalid_input", ["password"])
    staff = make_staff(session, username, "worker", communities=[community])
    session.commit()
    reset = client.post(f"/api/v1/staff/{staff.id}/password", json={"new_password": password}, headers=admin)
    assert_error(reset, 422, "invalid_input", ["password"])
    own = bearer(login(client, username))
    change = client.post("/api/v1/auth/password", json={"old_password": STAFF_PASSWORD, "new_password": password},
                         headers=own)
    assert_error(change, 422, "invalid_input", ["password"])
    assert client.get("/api/v1/auth/me", headers=own).status_code == 200  # nothing was changed


def test_assigning_communities_takes_effect_on_the_workers_next_request(client, session, admin):
    first, second = make_community(session), make_community(session)
    worker = make_staff(session, "wu", "worker", communities=[first])
    session.commit()
    token = bearer(login(client, "wu"))
    answer = client.put(f"/api/v1/staff/{worker.id}/communities", json={"community_ids": [second.id]}, headers=admin)
    assert answer.status_code == 200 and answer.get_json()["community_ids"] == [second.id]
    assert client.get("/api/v1/auth/me", headers=token).get_json()["community_ids"] == [second.id]
    assert_error(client.put(f"/api/v1/staff/{worker.id}/communities", json={"community_ids": []}, headers=admin),
                 422, "validation_error", ["community_ids"])
    admin_id = session.scalar(select(Staff.id).where(Staff.username == "admin"))
    assert_error(client.put(f"/api/v1/staff/{admin_id}/communities", json={"community_ids": [first.id]},
                            headers=admin), 422, "not_a_worker")
    [entry] = audited(session, "staff.assign_communities")
    assert entry.detail == {"before": [first.id], "after": [second.id]}


def test_disabling_refuses_the_staff_members_tokens_at_once_and_their_sign_in(client, session, admin):
    worker = make_staff(session, "zheng", "worker", communities=[make_community(session)])
    session.commit()
    token = bearer(login(client, "zheng"))
    disabled = client.post(f"/api/v1/staff/{worker.id}/disable", json={"reason": "离职"}, headers=admin)
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False
    assert_error(client.get("/api/v1/auth/me", headers=token), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/token", json={"username": "zheng", "password": STAFF_PASSWORD}), 401,
                 "invalid_credentials")
    assert_error(client.post(f"/api/v1/staff/{worker.id}/disable", json={"reason": "again"}, headers=admin), 409,
                 "staff_already_disabled")
    assert client.post(f"/api/v1/staff/{worker.id}/enable", json={"reason": "返岗"}, headers=admin).status_code == 200
    assert_error(client.get("/api/v1/auth/me", headers=token), 401, "token_revoked")  # old tokens stay refused
    assert client.get("/api/v1/auth/me", headers=bearer(login(client, "zheng"))).status_code == 200
    assert [(e.verb, e.detail["reason"]) for e in audited(session, "staff.disable") + audited(session, "staff.enable")
            ] == [("staff.disable", "离职"), ("staff.enable", "返岗")]


def test_an_admin_cannot_disable_themselves(client, session, admin):
    admin_id = session.scalar(select(Staff.id).where(Staff.username == "admin"))
    assert_error(client.post(f"/api/v1/staff/{admin_id}/disable", json={"reason": "x"}, headers=admin), 409,
                 "cannot_disable_self")
    assert_error(client.post("/api/v1/staff/999999/disable", json={"reason": "x"}, headers=admin), 404,
                 "staff_not_found")


def test_a_password_change_needs_the_old_one_and_revokes_earlier_tokens(client, session):
    make_staff(session, "feng", "worker", communities=[make_community(session)])
    session.commit()
    laptop, phone = bearer(login(client, "feng")), bearer(login(client, "feng"))
    wrong = client.post("/api/v1/auth/password", json={"old_password": "not it", "new_password": NEW_PASSWORD},
                        headers=laptop)
    assert_error(wrong, 422, "wrong_password", ["old_password"])
    changed = client.post("/api/v1/auth/password", json={"old_password": STAFF_PASSWORD,
                                                         "new_password": NEW_PASSWORD}, headers=laptop)
    assert changed.status_code == 200
    for old in (laptop, phone):
        assert_error(client.get("/api/v1/auth/me", headers=old), 401, "token_revoked")
    assert client.get("/api/v1/auth/me", headers=bearer(changed.get_json()["access_token"])).status_code == 200
    assert login(client, "feng", NEW_PASSWORD)
    assert len(audited(session, "staff.change_password")) == 1


def test_an_admin_reset_revokes_the_tokens_and_sets_the_new_password(client, session, admin):
    worker = make_staff(session, "jiang", "worker", communities=[make_community(session)])
    session.commit()
    token = bearer(login(client, "jiang"))
    reset = client.post(f"/api/v1/staff/{worker.id}/password", json={"new_password": NEW_PASSWORD}, headers=admin)
    assert reset.status_code == 200
    assert_error(client.get("/api/v1/auth/me", headers=token), 401, "token_revoked")
    assert_error(client.post("/api/v1/auth/token", json={"username": "jiang", "password": STAFF_PASSWORD}), 401,
                 "invalid_credentials")
    assert login(client, "jiang", NEW_PASSWORD)
    [entry] = audited(session, "staff.reset_password")
    assert entry.target_id == str(worker.id) and "new_password" not in entry.detail


def test_logout_revokes_every_token_of_the_staff_member(client, session):
    make_staff(session, "han", "admin")
    session.commit()
    first, second = bearer(login(client, "han")), bearer(login(client, "han"))
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    for token in (first, second):
        assert_error(client.get("/api/v1/audit-log", headers=token), 401, "token_revoked")
    assert client.get("/api/v1/audit-log", headers=bearer(login(client, "han"))).status_code == 200
    assert len(audited(session, "staff.sign_out")) == 1


# --- blocking residents ----------------------------------------------------------------------------

@pytest.fixture
def resident(session):
    install_rules(session)
    resident = resident_in(session, make_community(session), "周敏", openid="o-blocked-1")
    session.commit()
    return resident


def test_blocking_refuses_the_residents_token_and_credits_and_unblocking_lets_them_in_afresh(
        client, session, admin, resident, resident_token):
    token = bearer(resident_token(resident))
    assert client.get("/api/v1/me/balance", headers=token).status_code == 200
    blocked = client.post(f"/api/v1/residents/{resident.id}/block", json={"reason": "盗用交通卡"}, headers=admin)
    assert blocked.status_code == 200 and blocked.get_json()["status"] == "blocked"
    assert_error(client.get("/api/v1/me/balance", headers=token), 401, "resident_blocked")
    session.commit()
    with pytest.raises(ResidentInactive):
        feed(session, session.get(Resident, resident.id))
    session.rollback()
    assert_error(client.post(f"/api/v1/residents/{resident.id}/block", json={"reason": "x"}, headers=admin), 409,
                 "resident_already_blocked")
    unblocked = client.post(f"/api/v1/residents/{resident.id}/unblock", json={"reason": "核实无误"}, headers=admin)
    assert unblocked.get_json()["status"] == "active"
    assert_error(client.get("/api/v1/me/balance", headers=token), 401, "token_revoked")
    session.commit()
    assert client.get("/api/v1/me/balance", headers=bearer(resident_token(session.get(Resident, resident.id)))
                      ).status_code == 200
    entries = audited(session, "resident.block") + audited(session, "resident.unblock")
    assert [(e.verb, e.detail["reason"]) for e in entries] == [("resident.block", "盗用交通卡"),
                                                              ("resident.unblock", "核实无误")]


def test_a_blocked_resident_is_told_politely_by_the_bot(client, session, admin, resident):
    assert say(client, text("o-blocked-1", "余额")) != texts.ACCOUNT_SUSPENDED
    client.post(f"/api/v1/residents/{resident.id}/block", json={"reason": "欺诈"}, headers=admin)
    for word in ("余额", "绑卡", "帮助"):
        assert say(client, text("o-blocked-1", word)) == texts.ACCOUNT_SUSPENDED
    assert say(client, text("o-someone-else", "帮助")) == texts.HELP


def test_a_blocked_resident_who_follows_again_is_told_and_stays_blocked(client, session, admin, resident):
    from .bot_support import load_push

    client.post(f"/api/v1/residents/{resident.id}/block", json={"reason": "欺诈"}, headers=admin)
    unfollow = load_push("event_unsubscribe", FromUserName="o-blocked-1", CreateTime="1781000001")
    follow = load_push("event_subscribe", FromUserName="o-blocked-1", CreateTime="1781000002")
    assert say(client, unfollow) is None
    assert say(client, follow) == texts.ACCOUNT_SUSPENDED
    session.commit()
    assert session.get(Resident, resident.id).status == "blocked"
