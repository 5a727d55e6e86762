"""A resident's own data: export it (GET /api/v1/me/export) or have it erased (DELETE /api/v1/me)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from carbon_credit.models import Account, Notification, Resident
from carbon_credit.outreach.notifications import enqueue_notification

from .campaign_support import install_rules, weigh_in
from .factories import FIXED_NOW, auth_header, make_community, make_resident


def _member(session):
    install_rules(session)
    resident = make_resident(session, "o-private", community=make_community(session, "孙耿社区"),
                             display_name="李四")
    resident.phone_hash, resident.phone_tail = "e" * 64, "8888"
    weigh_in(session, resident, "2", FIXED_NOW - timedelta(hours=1))
    enqueue_notification(session, resident.id, "credit", {"points": 2}, FIXED_NOW, dedupe_key="credit:private")
    session.commit()
    return resident


def test_export_contains_the_residents_data_and_nobody_elses(client, session, resident_token):
    resident = _member(session)
    other = make_resident(session, "o-someone-else")
    weigh_in(session, other, "5", FIXED_NOW - timedelta(hours=2))
    session.commit()
    response = client.get("/api/v1/me/export", headers=auth_header(resident_token(resident)))
    assert response.status_code == 200
    data = response.get_json()
    assert data["resident"]["openid"] == "o-private" and data["resident"]["phone_tail"] == "8888"
    assert "phone_hash" not in data["resident"]
    assert data["community"] == "孙耿社区"
    assert data["account"]["balance"] == resident.account.balance > 0
    assert [a["action_type"] for a in data["actions"]] == ["recyclables_dropoff"]
    assert data["actions"][0]["credit"]["points"] == resident.account.balance
    assert data["actions"][0]["credit"]["trace"]["rule_set"]["version"] == 1
    assert [e["kind"] for e in data["ledger"]] == ["earn"]
    assert [n["kind"] for n in data["notifications"]] == ["credit"]


def test_export_needs_a_resident_token(client, session, admin_token):
    assert client.get("/api/v1/me/export").status_code == 401
    response = client.get("/api/v1/me/export", headers=auth_header(admin_token))
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_erasure_unlinks_for_good_and_keeps_the_totals(client, session, resident_token):
    resident = _member(session)
    token = resident_token(resident)
    totals = session.execute(select(func.sum(Account.balance), func.sum(Account.grams_total))).one()
    response = client.delete("/api/v1/me", headers=auth_header(token))
    assert response.status_code == 204
    session.rollback()
    erased = session.get(Resident, resident.id)
    assert (erased.status, erased.openid, erased.openid_hash, erased.display_name, erased.phone_hash) == \
        ("anonymised", None, None, "", None)
    assert session.execute(select(func.sum(Account.balance), func.sum(Account.grams_total))).one() == totals
    assert session.scalar(select(Notification.status)) == "skipped"
    # The token no longer opens anything.
    assert client.get("/api/v1/me/export", headers=auth_header(token)).status_code == 401
    assert client.delete("/api/v1/me", headers=auth_header(token)).status_code == 401
