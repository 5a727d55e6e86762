"""A resident's own data: export it (GET /api/v1/me/export) or have it erased (DELETE /api/v1/me)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.outbound import deliver_outbox
from bot.outbound.templates import OFFLINE_TEMPLATES, load_templates
from carbon_credit.models import Account, Notification, Resident
from carbon_credit.outreach.notifications import enqueue_notification

from .campaign_support import install_rules, weigh_in
from .factories import FIXED_NOW, auth_header, make_community, make_resident
from .ingest_helpers import NOW, ingest, resident_with_card, setup_rules, trip, write_file
from .outbound_support import TEMPLATE_SEND, add_api, add_stable_token, db_client
from .outbound_support import rsps  # noqa: F401  (fixture)


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


def test_export_lists_a_days_digest_with_what_it_said(client, session, engine, resident_token, rsps, tmp_path):
    setup_rules(session)
    resident = resident_with_card(session, "310000000001")
    summary = ingest(session, write_file(tmp_path, [trip("t1", "310000000001", "bus", 8)]))
    pending = client.get("/api/v1/me/export", headers=auth_header(resident_token(resident))).get_json()
    told = {"action_type": "bus_ride", "action_types": ["bus_ride"], "points": summary.points,
            "grams": summary.grams, "trips": 1, "balance": None, "occurred_at": "2026-06-05"}
    assert [(n["kind"], n["status"], n["payload"], n["sent"]) for n in pending["notifications"]] == [
        ("credit", "pending", told, None)]
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    session.rollback()
    assert deliver_outbox(session, db_client(engine), NOW, limit=10, max_attempts=3, base_delay=60,
                          templates=load_templates(OFFLINE_TEMPLATES)).sent == 1
    sent = client.get("/api/v1/me/export", headers=auth_header(resident_token(resident))).get_json()
    [note] = sent["notifications"]
    assert (note["status"], note["payload"]) == ("sent", told)
    assert note["sent"] == {"thing1": "公交出行", "character_string2": str(summary.points), "time3": "2026-06-05",
                            "character_string4": str(summary.points)}
