"""Partner administration and the request signature (good, bad, stale, replayed, unknown, tampered)."""
from __future__ import annotations

import json
import os
import secrets
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from carbon_credit.models import AuditLog, Partner, PartnerNonce
from carbon_credit.partners.signing import NONCE_TTL, DatabaseNonces, RedisNonces, string_to_sign

from .factories import auth_header, make_resident
from .partner_support import EVENTS_PATH, install_rules, push_events, register_partner, signed_headers

EVENT = {"event_id": "e-1", "action_type": "bus_ride", "quantity": 5, "unit": "km"}


@pytest.fixture
def partner(client, session, admin_token):
    install_rules(session)
    return register_partner(client, admin_token, kind="transit_operator", action_types=["bus_ride", "metro_ride"])


def one_event(session, **overrides):
    resident_id = make_resident(session).id
    session.commit()  # ends the transaction: the app's writes must not meet a stale SQLite snapshot
    occurred = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    return {**EVENT, "event_id": secrets.token_hex(6), "resident": {"resident_id": resident_id},
            "occurred_at": occurred, **overrides}


def code(response):
    return response.get_json()["code"]


def test_string_to_sign_is_the_documented_lines():
    text = string_to_sign("post", "/api/v1/partner/events", "1717550000", "n0nce-123", b"{}")
    assert text.split("\n") == ["POST", "/api/v1/partner/events", "1717550000", "n0nce-123",
                                "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"]


def test_creation_shows_the_secret_once_and_stores_it_encrypted(client, session, admin_token, partner):
    assert partner["key_id"].startswith("pk_") and len(partner["secret"]) >= 40
    stored = session.get(Partner, partner["id"])
    assert partner["secret"] not in stored.secret_encrypted
    listed = client.get("/api/v1/partners", headers=auth_header(admin_token)).get_json()
    assert [p["id"] for p in listed] == [partner["id"]] and "secret" not in listed[0]
    assert session.scalar(select(AuditLog.verb).where(AuditLog.target_id == str(partner["id"]))) == "partner.create"


def test_only_admins_manage_partners(client, worker_token):
    response = client.get("/api/v1/partners", headers=auth_header(worker_token()))
    assert response.status_code == 403


def test_unknown_action_type_for_a_partner_is_refused(client, session, admin_token):
    install_rules(session)
    response = client.post("/api/v1/partners", json={"name": "x", "kind": "smart_bin", "action_types": ["teleport"]},
                           headers=auth_header(admin_token))
    assert response.status_code == 422 and "action_types" in response.get_json()["errors"]


def test_signed_request_is_accepted(client, session, partner):
    response = push_events(client, partner, [one_event(session)])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["results"][0]["status"] == "credited"


def test_bad_signature_is_refused(client, session, partner):
    response = push_events(client, {**partner, "secret": "not-the-secret"}, [one_event(session)])
    assert (response.status_code, code(response)) == (401, "bad_signature")


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_timestamp_is_refused(client, session, partner, offset):
    response = push_events(client, partner, [one_event(session)], timestamp=int(time.time()) + offset)
    assert (response.status_code, code(response)) == (401, "stale_timestamp")


def test_reused_nonce_is_refused(client, session, partner):
    first = push_events(client, partner, [one_event(session)], nonce="same-nonce-1")
    again = push_events(client, partner, [one_event(session)], nonce="same-nonce-1")
    assert first.status_code == 200
    assert (again.status_code, code(again)) == (401, "nonce_reused")


def test_unknown_and_inactive_keys_are_refused(client, session, admin_token, partner):
    unknown = push_events(client, {**partner, "key_id": "pk_nobody"}, [one_event(session)])
    assert (unknown.status_code, code(unknown)) == (401, "unknown_partner_key")
    client.patch(f"/api/v1/partners/{partner['id']}", json={"active": False}, headers=auth_header(admin_token))
    inactive = push_events(client, partner, [one_event(session)])
    assert (inactive.status_code, code(inactive)) == (401, "unknown_partner_key")


@pytest.mark.parametrize("tamper", ["method", "path", "body"])
def test_signature_covers_method_path_and_body(client, session, partner, tamper):
    body = json.dumps({"events": [one_event(session)]}).encode()
    signed = {"method": "POST", "path": EVENTS_PATH, "body": body}
    signed[tamper] = {"method": "PUT", "path": "/api/v1/partner/other", "body": body + b" "}[tamper]
    headers = signed_headers(partner["key_id"], partner["secret"], signed["method"], signed["path"], signed["body"])
    response = client.post(EVENTS_PATH, data=body, headers=headers)
    assert (response.status_code, code(response)) == (401, "bad_signature")


def test_missing_headers_and_malformed_nonce_are_refused(client, session, partner):
    body = b'{"events": []}'
    assert code(client.post(EVENTS_PATH, data=body, headers={"Content-Type": "application/json"})) == \
        "signature_missing"
    short = push_events(client, partner, [one_event(session)], nonce="short")
    assert (short.status_code, code(short)) == (401, "bad_nonce")


def test_rotation_issues_a_new_secret_and_retires_the_old(client, session, admin_token, partner):
    rotated = client.post(f"/api/v1/partners/{partner['id']}/rotate-key", headers=auth_header(admin_token)).get_json()
    assert rotated["key_id"] != partner["key_id"] and rotated["secret"] != partner["secret"]
    assert push_events(client, partner, [one_event(session)]).status_code == 401
    assert push_events(client, {**partner, **rotated}, [one_event(session)]).status_code == 200
    verbs = session.scalars(select(AuditLog.verb).where(AuditLog.target_type == "partner")).all()
    assert verbs == ["partner.create", "partner.rotate_key"]


def test_old_nonces_are_pruned_and_replays_inside_the_window_refused(session, partner):
    now = datetime.now(timezone.utc)
    nonces = DatabaseNonces(session)
    assert nonces.remember(partner["id"], "nonce-aaaa", now - NONCE_TTL - timedelta(seconds=1))
    assert nonces.remember(partner["id"], "nonce-bbbb", now)
    assert not nonces.remember(partner["id"], "nonce-bbbb", now)
    kept = session.scalars(select(PartnerNonce.nonce)).all()
    assert kept == ["nonce-bbbb"]


def test_redis_nonce_store_refuses_a_replay_and_expires():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4"))
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis answers")
    store = RedisNonces(client, prefix=f"test-nonce-{secrets.token_hex(4)}")
    now = datetime.now(timezone.utc)
    assert store.remember(7, "nonce-cccc", now)
    assert not store.remember(7, "nonce-cccc", now)
    assert store.remember(8, "nonce-cccc", now)
    assert 0 < client.ttl(f"{store.prefix}:7:nonce-cccc") <= NONCE_TTL.total_seconds()
    client.delete(f"{store.prefix}:7:nonce-cccc", f"{store.prefix}:8:nonce-cccc")


def test_the_readme_worked_example_signs_as_documented():
    from carbon_credit.partners.signing import sign

    body = ('{"events":[{"event_id":"bin7-000123","action_type":"recyclables_dropoff","category":"paper",'
            '"quantity":2.5,"station_id":7,"occurred_at":"2026-06-05T10:02:11+08:00",'
            '"resident":{"card_no":"3101234567"}}]}').encode()
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    assert body.decode() in readme
    signature = sign("example-secret-do-not-use", "POST", "/api/v1/partner/events", "1780624931",
                     "9f86d081884c7d65", body)
    assert signature in readme
