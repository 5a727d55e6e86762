"""Binding and unbinding transit cards through /api/v1/me/cards."""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import AuditLog
from carbon_credit.models.cards import TransitCard

from .factories import auth_header, make_resident


def _resident(session, resident_token):
    resident = make_resident(session)
    session.commit()
    return resident, auth_header(resident_token(resident))


def test_bind_list_and_unbind_a_card(client, session, resident_token):
    resident, headers = _resident(session, resident_token)
    response = client.post("/api/v1/me/cards", json={"number": "3101 0000 1234 5678"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["card"]["last4"] == "5678" and body["created"] is True
    assert body["claimed_trips"] == 0 and body["claimed_points"] == 0
    listed = client.get("/api/v1/me/cards", headers=headers).get_json()
    assert [c["last4"] for c in listed] == ["5678"]
    assert client.delete(f"/api/v1/me/cards/{body['card']['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me/cards", headers=headers).get_json() == []
    again = client.delete(f"/api/v1/me/cards/{body['card']['id']}", headers=headers)
    assert again.status_code == 409 and again.get_json()["code"] == "card_not_bound"


def test_card_number_is_stored_only_as_hash_and_last_four(client, session, resident_token):
    _resident_obj, headers = _resident(session, resident_token)
    client.post("/api/v1/me/cards", json={"number": "3101000012345678"}, headers=headers)
    session.rollback()  # see what the request committed
    card = session.execute(select(TransitCard)).scalar_one()
    assert card.last4 == "5678" and len(card.card_hash) == 64 and "3101000012345678" not in card.card_hash
    stored = [str(v) for v in (card.card_hash, card.active_hash, card.last4)]
    stored += [str(a.detail) for a in session.execute(select(AuditLog)).scalars()]
    assert not any("3101000012345678" in value for value in stored)


def test_bad_card_numbers_get_field_errors(client, session, resident_token):
    _resident_obj, headers = _resident(session, resident_token)
    for number in ("12ab5678", "1234567", "1" * 21, "１２３４５６７８９"):
        response = client.post("/api/v1/me/cards", json={"number": number}, headers=headers)
        assert response.status_code == 422, number
        assert response.get_json()["code"] == "invalid_card_number"
        assert "number" in response.get_json()["errors"]
    missing = client.post("/api/v1/me/cards", json={}, headers=headers)
    assert missing.status_code == 422 and "number" in str(missing.get_json()["errors"])


def test_a_card_bound_elsewhere_is_refused_and_rebinding_your_own_is_a_no_op(client, session, resident_token):
    _first, first_headers = _resident(session, resident_token)
    _second, second_headers = _resident(session, resident_token)
    assert client.post("/api/v1/me/cards", json={"number": "310000000001"}, headers=first_headers).status_code == 201
    again = client.post("/api/v1/me/cards", json={"number": "3100-0000-0001"}, headers=first_headers)
    assert again.status_code == 201 and again.get_json()["created"] is False
    taken = client.post("/api/v1/me/cards", json={"number": "310000000001"}, headers=second_headers)
    assert taken.status_code == 409 and taken.get_json()["code"] == "card_already_bound"


def test_only_your_own_cards_can_be_unbound(client, session, resident_token):
    _first, first_headers = _resident(session, resident_token)
    _second, second_headers = _resident(session, resident_token)
    card = client.post("/api/v1/me/cards", json={"number": "310000000001"}, headers=first_headers).get_json()["card"]
    response = client.delete(f"/api/v1/me/cards/{card['id']}", headers=second_headers)
    assert response.status_code == 404 and response.get_json()["code"] == "card_not_found"


def test_staff_and_anonymous_callers_cannot_bind(client, admin_token):
    assert client.post("/api/v1/me/cards", json={"number": "310000000001"}).status_code == 401
    response = client.post("/api/v1/me/cards", json={"number": "310000000001"}, headers=auth_header(admin_token))
    assert response.status_code == 403
