"""Parametric QR codes: created once at WeChat, stored, reused while valid; the staff API and the CLI."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

import carbon_credit.models as models
from bot.outbound import qrcodes
from bot.outbound.qrcodes import QRLimitReached, ensure_qrcode, image_url
from carbon_credit.errors import InvalidInput
from carbon_credit.models import QRCode

from .factories import FIXED_NOW, auth_header, make_community
from .outbound_support import (
    QRCODE_CREATE, add_api, add_stable_token, body_of, calls_to, db_client, recorded,
    rsps,  # noqa: F401  (fixture)
)

NOW = FIXED_NOW
PERMANENT = recorded("qrcode_create_permanent")
TEMPORARY = recorded("qrcode_create_temporary")
THIRTY_DAYS = 2_592_000


def test_a_station_gets_one_permanent_code_stored_and_reused(session, engine, rsps):
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_permanent")
    client = db_client(engine)
    code, created = ensure_qrcode(session, client, "station:7", "permanent", NOW)
    assert created
    assert body_of(calls_to(rsps, QRCODE_CREATE)[0]) == {
        "action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "station:7"}}}
    assert (code.ticket, code.url, code.expires_at) == (PERMANENT["ticket"], PERMANENT["url"], None)
    session.commit()
    again, created = ensure_qrcode(session, client, "station:7", "permanent", NOW + timedelta(days=400))
    assert (again.id, created) == (code.id, False)
    assert len(calls_to(rsps, QRCODE_CREATE)) == 1


def test_a_campaign_code_is_temporary_and_reused_only_while_valid(session, engine, rsps):
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_temporary")
    client = db_client(engine)
    code, _ = ensure_qrcode(session, client, "campaign:12", "temporary", NOW, expire_seconds=THIRTY_DAYS)
    assert body_of(calls_to(rsps, QRCODE_CREATE)[0]) == {
        "action_name": "QR_STR_SCENE", "expire_seconds": THIRTY_DAYS,
        "action_info": {"scene": {"scene_str": "campaign:12"}}}
    assert code.expires_at == NOW + timedelta(seconds=THIRTY_DAYS)
    session.commit()
    reused, created = ensure_qrcode(session, client, "campaign:12", "temporary", NOW + timedelta(days=20),
                                    expire_seconds=THIRTY_DAYS)
    assert (reused.id, created) == (code.id, False)
    # With less than a day left it is no use on a poster: a new one is made.
    rsps.replace("POST", QRCODE_CREATE, json=recorded("qrcode_create_temporary_2"))
    fresh, created = ensure_qrcode(session, client, "campaign:12", "temporary", NOW + timedelta(days=29, hours=1),
                                   expire_seconds=604_800)
    assert created and fresh.id != code.id and fresh.ticket == recorded("qrcode_create_temporary_2")["ticket"]


@pytest.mark.parametrize("scene, kind, seconds", [
    ("", "permanent", None),
    ("s" * 65, "permanent", None),
    ("campaign:1", "temporary", THIRTY_DAYS + 1),
    ("campaign:1", "temporary", None),
    ("campaign:1", "forever", None),
])
def test_invalid_requests_are_refused_before_calling_wechat(scene, kind, seconds, session, engine, rsps):
    with pytest.raises(InvalidInput):
        ensure_qrcode(session, db_client(engine), scene, kind, NOW, expire_seconds=seconds)
    assert len(rsps.calls) == 0


def test_a_64_character_scene_is_accepted(session, engine, rsps):
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_permanent")
    code, _ = ensure_qrcode(session, db_client(engine), "s" * 64, "permanent", NOW)
    assert code.scene == "s" * 64


def test_permanent_codes_count_against_the_account_limit(session, engine, rsps, monkeypatch):
    monkeypatch.setattr(qrcodes, "PERMANENT_LIMIT", 1)
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_permanent")
    client = db_client(engine)
    ensure_qrcode(session, client, "station:1", "permanent", NOW)
    with pytest.raises(QRLimitReached):
        ensure_qrcode(session, client, "station:2", "permanent", NOW)
    assert len(calls_to(rsps, QRCODE_CREATE)) == 1
    # Temporary codes do not count.
    rsps.replace("POST", QRCODE_CREATE, json=TEMPORARY)
    ensure_qrcode(session, client, "campaign:1", "temporary", NOW, expire_seconds=600)


def test_the_image_url_carries_the_whole_ticket_url_encoded():
    ticket = "gQH47joAAAAAAAAAASxodHRw/Oi8v+d2VpeGlu=="
    url = image_url(ticket)
    assert url.startswith("https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=")
    encoded = url.split("ticket=", 1)[1]
    assert "/" not in encoded and "+" not in encoded and "=" not in encoded
    assert unquote(encoded) == ticket


def _campaign(session, *communities):
    campaign = models.Campaign(
        title="垃圾分类周", visible_from=NOW, visible_until=NOW + timedelta(days=10), active_from=NOW,
        active_until=NOW + timedelta(days=7), created_at=NOW, updated_at=NOW, communities=list(communities),
    )
    session.add(campaign)
    session.flush()
    return campaign


def test_a_worker_gets_a_code_for_their_communitys_campaign(client, session, worker_token, rsps):
    community = make_community(session)
    campaign = _campaign(session, community)
    token = worker_token(community)
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_temporary_2")
    response = client.post("/api/v1/qrcodes", json={"target_type": "campaign", "target_id": campaign.id, "days": 7},
                           headers=auth_header(token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["scene"] == f"campaign:{campaign.id}" and body["kind"] == "temporary" and body["created"]
    assert body["image_url"] == image_url(recorded("qrcode_create_temporary_2")["ticket"])
    assert body_of(calls_to(rsps, QRCODE_CREATE)[0])["expire_seconds"] == 7 * 86_400
    again = client.post("/api/v1/qrcodes", json={"target_type": "campaign", "target_id": campaign.id, "days": 7},
                        headers=auth_header(token)).get_json()
    assert (again["id"], again["created"]) == (body["id"], False)
    shown = client.get(f"/api/v1/qrcodes?target_type=campaign&target_id={campaign.id}", headers=auth_header(token))
    assert shown.status_code == 200 and shown.get_json()["ticket"] == body["ticket"]
    assert len(calls_to(rsps, QRCODE_CREATE)) == 1


def test_a_worker_is_refused_another_communitys_campaign(client, session, worker_token, rsps):
    campaign = _campaign(session, make_community(session))
    token = worker_token(make_community(session))
    response = client.post("/api/v1/qrcodes", json={"target_type": "campaign", "target_id": campaign.id},
                           headers=auth_header(token))
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    shown = client.get(f"/api/v1/qrcodes?target_type=campaign&target_id={campaign.id}", headers=auth_header(token))
    assert shown.status_code == 404
    assert len(rsps.calls) == 0
    assert session.scalar(select(func.count()).select_from(QRCode)) == 0


@pytest.mark.parametrize("body, status", [
    ({"target_type": "campaign", "target_id": 999}, 404),
    ({"target_type": "bus", "target_id": 1}, 422),
    ({"target_type": "campaign", "target_id": 1, "days": 31}, 422),
    ({"target_id": 1}, 422),
])
def test_bad_qr_requests_get_the_error_envelope(client, admin_token, body, status, rsps):
    response = client.post("/api/v1/qrcodes", json=body, headers=auth_header(admin_token))
    assert response.status_code == status
    assert set(response.get_json()) >= {"code", "message"}
    assert len(rsps.calls) == 0


def test_a_station_code_refuses_days(client, session, admin_token, rsps):
    station = models.Station(name="大桥社区回收点", kind="recycling", community_id=make_community(session).id,
                             created_at=NOW, updated_at=NOW)
    session.add(station)
    session.commit()
    response = client.post("/api/v1/qrcodes", json={"target_type": "station", "target_id": station.id, "days": 3},
                           headers=auth_header(admin_token))
    assert response.status_code == 422 and "days" in response.get_json()["errors"]


def test_a_campaign_that_chose_a_permanent_code_gets_one(client, session, admin_token, rsps):
    campaign = _campaign(session, make_community(session))
    campaign.checkin_qr = "permanent"
    session.commit()
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_permanent")
    response = client.post("/api/v1/qrcodes", json={"target_type": "campaign", "target_id": campaign.id},
                           headers=auth_header(admin_token))
    body = response.get_json()
    assert response.status_code == 200 and body["created"], body
    assert body["kind"] == "permanent" and body["expires_at"] is None


def test_wechat_refusing_a_code_is_a_502_with_the_reason(client, session, admin_token, rsps):
    campaign = _campaign(session, make_community(session))
    session.commit()
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "menu_create_48001")
    response = client.post("/api/v1/qrcodes", json={"target_type": "campaign", "target_id": campaign.id},
                           headers=auth_header(admin_token))
    assert response.status_code == 502
    assert response.get_json()["code"] == "wechat_api_error" and "48001" in response.get_json()["message"]


def test_flask_wechat_qrcode_campaign_prints_the_image_url(runner, session, rsps):
    campaign = _campaign(session, make_community(session))
    session.commit()
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_temporary_2")
    result = runner.invoke(args=["wechat", "qrcode", "campaign", str(campaign.id), "--days", "7"])
    assert result.exit_code == 0, result.output
    assert image_url(recorded("qrcode_create_temporary_2")["ticket"]) in result.output
    assert f"campaign:{campaign.id}" in result.output
    missing = runner.invoke(args=["wechat", "qrcode", "campaign", "999"])
    assert missing.exit_code != 0 and "999" in missing.output




def _station_id(session, community) -> int:
    """A station of ``community``."""
    station = models.Station(name="大桥社区回收点", kind="recycling", community_id=community.id, created_at=NOW,
                              updated_at=NOW)
    session.add(station)
    session.flush()
    return station.id


def test_flask_wechat_qrcode_station_makes_one_permanent_code(runner, session, rsps):
    station_id = _station_id(session, make_community(session))
    session.commit()
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_permanent")
    first = runner.invoke(args=["wechat", "qrcode", "station", str(station_id)])
    assert first.exit_code == 0, first.output
    assert f"created permanent QR code for scene station:{station_id}" in first.output
    assert "expires: never" in first.output and image_url(PERMANENT["ticket"]) in first.output
    second = runner.invoke(args=["wechat", "qrcode", "station", str(station_id)])
    assert "reused" in second.output and len(calls_to(rsps, QRCODE_CREATE)) == 1


def test_a_worker_prints_codes_for_their_own_stations_only(client, session, worker_token, rsps):
    mine, theirs = make_community(session), make_community(session)
    own, other = _station_id(session, mine), _station_id(session, theirs)
    token = worker_token(mine)
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_permanent")
    assert client.post("/api/v1/qrcodes", json={"target_type": "station", "target_id": other},
                       headers=auth_header(token)).status_code == 404
    made = client.post("/api/v1/qrcodes", json={"target_type": "station", "target_id": own}, headers=auth_header(token))
    assert made.status_code == 200 and made.get_json()["scene"] == f"station:{own}"
