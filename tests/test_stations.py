"""Stations: the API with worker scoping, QR visits that attribute a device's weigh-in, worker weigh-ins."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from carbon_credit.models import Account, AuditLog, GreenAction, Resident
from carbon_credit.models.stations import StationVisit
from carbon_credit.org.stations import VISIT_LENGTH, create_station
from carbon_credit.residents.accounts import set_phone
from carbon_credit.scans import scan_scene

from .factories import auth_header, make_community, make_resident
from .partner_support import install_rules, push_events, register_partner

PHONE = "13911112222"


def now():
    return datetime.now(timezone.utc)


def balance(session, resident_id) -> int:
    session.commit()  # a fresh snapshot: the app committed on its own connection
    return session.scalar(select(Account.balance).where(Account.resident_id == resident_id))


def test_workers_manage_stations_of_their_communities_only(client, session, worker_token, admin_token):
    mine, theirs = make_community(session), make_community(session)
    mine_id, theirs_id = mine.id, theirs.id
    token = worker_token(mine)
    headers = auth_header(token)
    made = client.post("/api/v1/stations", json={"name": "大桥回收站", "kind": "recycling_station",
                                                  "community_id": mine_id, "address": "大桥路 1 号"}, headers=headers)
    assert made.status_code == 201, made.get_json()
    station = made.get_json()
    assert station["qr_scene"] == f"station:{station['id']}"
    refused = client.post("/api/v1/stations", json={"name": "x", "kind": "kiosk", "community_id": theirs_id},
                          headers=headers)
    # Another community is answered as an unknown one, so a worker cannot probe ids.
    assert (refused.status_code, refused.get_json()["errors"]) == (422, {"community_id": ["unknown community"]})
    other = client.post("/api/v1/stations", json={"name": "崔寨碳惠小屋", "kind": "kiosk", "community_id": theirs_id},
                        headers=auth_header(admin_token)).get_json()
    assert [s["id"] for s in client.get("/api/v1/stations", headers=headers).get_json()] == [station["id"]]
    assert len(client.get("/api/v1/stations", headers=auth_header(admin_token)).get_json()) == 2
    foreign = client.patch(f"/api/v1/stations/{other['id']}", json={"active": False}, headers=headers)
    assert (foreign.status_code, foreign.get_json()["code"]) == (404, "station_not_found")
    moved = client.patch(f"/api/v1/stations/{station['id']}", json={"community_id": theirs_id}, headers=headers)
    assert moved.status_code == 422
    renamed = client.patch(f"/api/v1/stations/{station['id']}", json={"name": "大桥再生资源站"}, headers=headers)
    assert renamed.get_json()["name"] == "大桥再生资源站"
    verbs = session.scalars(select(AuditLog.verb).where(AuditLog.target_type == "station")
                          .order_by(AuditLog.id)).all()
    assert verbs == ["station.create", "station.create", "station.update"]


@pytest.fixture
def bin_world(app, client, session, admin_token):
    install_rules(session)
    community = make_community(session)
    station = create_station(session, {"name": "智能回收箱", "kind": "smart_bin", "community_id": community.id}, now())
    resident, other = make_resident(session, community=community), make_resident(session, community=community)
    ids = {"station": station.id, "resident": resident.id, "other": other.id, "community": community.id}
    session.commit()
    ids["partner"] = register_partner(client, admin_token, station_ids=[ids["station"]])
    return ids


def scan(session, resident_id, scene, at):
    result = scan_scene(session, session.get(Resident, resident_id), scene, at)
    session.commit()
    return result


def anonymous_weigh_in(event_id, station_id, kg=3, at=None):
    return {"event_id": event_id, "action_type": "recyclables_dropoff", "category": "paper", "quantity": kg,
            "station_id": station_id, "occurred_at": (at or now()).isoformat()}


def test_scanning_a_station_opens_a_visit_that_takes_the_next_anonymous_weigh_in(client, session, bin_world):
    station = bin_world["station"]
    result = scan(session, bin_world["resident"], f"station:{station}", now() - timedelta(minutes=2))
    assert (result.ok, result.code, result.detail["station_id"]) == (True, "station_visit_open", station)
    response = push_events(client, bin_world["partner"], [anonymous_weigh_in("w-1", station),
                                                           anonymous_weigh_in("w-2", station)])
    answers = {r["event_id"]: r["status"] for r in response.get_json()["results"]}
    assert answers == {"w-1": "credited", "w-2": "unknown_resident"}
    assert balance(session, bin_world["resident"]) == 30
    visit = session.scalar(select(StationVisit))
    action = session.scalar(select(GreenAction).where(GreenAction.external_id == "w-1"))
    assert (visit.action_id, action.resident_id, action.attributes["visit_id"]) == (
        action.id, bin_world["resident"], visit.id)


def test_visits_are_served_first_come_first_weighed_and_expire(client, session, bin_world):
    station, start = bin_world["station"], now() - timedelta(minutes=30)
    scan(session, bin_world["resident"], f"station:{station}", start)
    scan(session, bin_world["other"], f"station:{station}", start + timedelta(minutes=1))
    late = start + VISIT_LENGTH + timedelta(minutes=5)
    response = push_events(client, bin_world["partner"], [
        anonymous_weigh_in("a", station, at=start + timedelta(minutes=2)),
        anonymous_weigh_in("b", station, at=start + timedelta(minutes=3)),
        anonymous_weigh_in("c", station, at=late)])
    assert [r["status"] for r in response.get_json()["results"]] == ["credited", "credited", "unknown_resident"]
    owners = dict(session.execute(select(GreenAction.external_id, GreenAction.resident_id)).all())
    assert owners == {"a": bin_world["resident"], "b": bin_world["other"]}


def test_scanning_an_inactive_or_unknown_station_says_so(session, bin_world):
    assert scan(session, bin_world["resident"], "station:999999", now()).code == "unknown_station"
    from carbon_credit.models import Station
    session.get(Station, bin_world["station"]).active = False
    result = scan(session, bin_world["resident"], f"station:{bin_world['station']}", now())
    assert (result.ok, result.code) == (False, "station_inactive")
    assert session.scalar(select(StationVisit)) is None


def test_a_worker_records_a_weigh_in_once_per_idempotency_key(app, client, session, worker_token):
    install_rules(session)
    community = make_community(session)
    station = create_station(session, {"name": "回收点", "kind": "recycling_station", "community_id": community.id},
                             now())
    resident = make_resident(session, community=community)
    set_phone(session, resident.id, PHONE, now(), key=app.config["PHONE_HASH_KEY"])
    station_id, resident_id = station.id, resident.id
    token = worker_token(community)
    headers = {**auth_header(token), "Idempotency-Key": "weigh-0001-abcd"}
    body = {"phone": "139 1111 2222", "category": "textiles", "weight_kg": "2.5"}
    first = client.post(f"/api/v1/stations/{station_id}/weigh-ins", json=body, headers=headers)
    # 2.5 kg × 1280 g = 3200 g measured; the daily points cap (2000) lets 2000 of its 3200 points
    # through, and the credit reports the same share of its grams (METHODOLOGY, caps).
    assert first.status_code == 201, first.get_json()
    assert {k: first.get_json()[k] for k in ("action_type", "status", "points", "grams", "replayed")} == {
        "action_type": "textiles_dropoff", "status": "credited", "points": 2000, "grams": 2000, "replayed": False}
    again = client.post(f"/api/v1/stations/{station_id}/weigh-ins", json=body, headers=headers)
    assert again.get_json()["replayed"] is True and again.get_json()["action_id"] == first.get_json()["action_id"]
    other = client.post(f"/api/v1/stations/{station_id}/weigh-ins", json={**body, "weight_kg": "3"}, headers=headers)
    assert (other.status_code, other.get_json()["code"]) == (409, "idempotency_key_reused")
    action = session.scalar(select(GreenAction))
    assert (action.source, action.evidence, action.resident_id) == ("worker", "worker", resident_id)
    assert balance(session, resident_id) == first.get_json()["points"]


def test_worker_weigh_in_checks_scope_resident_and_weight(app, client, session, worker_token):
    install_rules(session)
    mine, theirs = make_community(session), make_community(session)
    station = create_station(session, {"name": "点", "kind": "recycling_station", "community_id": theirs.id}, now())
    own = create_station(session, {"name": "本社区", "kind": "recycling_station", "community_id": mine.id}, now())
    resident_id, station_id, own_id = make_resident(session, community=mine).id, station.id, own.id
    stranger_id = make_resident(session, community=theirs).id
    headers = {**auth_header(worker_token(mine)), "Idempotency-Key": "weigh-0002-abcd"}
    body = {"resident_id": resident_id, "category": "paper", "weight_kg": "1"}
    foreign = client.post(f"/api/v1/stations/{station_id}/weigh-ins", json=body, headers=headers)
    assert (foreign.status_code, foreign.get_json()["code"]) == (404, "station_not_found")
    # A resident of another community is answered as one nobody matches, and earns nothing.
    stranger = client.post(f"/api/v1/stations/{own_id}/weigh-ins", json={**body, "resident_id": stranger_id},
                           headers=headers)
    assert (stranger.status_code, stranger.get_json()["code"]) == (404, "unknown_resident")
    nobody = client.post(f"/api/v1/stations/{own_id}/weigh-ins", json={**body, "resident_id": 987654},
                         headers=headers)
    assert (nobody.status_code, nobody.get_json()["code"]) == (404, "unknown_resident")
    heavy = client.post(f"/api/v1/stations/{own_id}/weigh-ins", json={**body, "weight_kg": "900"}, headers=headers)
    assert (heavy.status_code, heavy.get_json()["code"]) == (422, "quantity_out_of_range")
    two = client.post(f"/api/v1/stations/{own_id}/weigh-ins", json={**body, "phone": PHONE}, headers=headers)
    assert two.status_code == 422


def test_a_resident_records_a_phone_kept_only_as_hash_and_tail(app, client, session, resident_token):
    first, second = make_resident(session), make_resident(session)
    first_id, tokens = first.id, (resident_token(first), resident_token(second))
    session.commit()
    saved = client.put("/api/v1/me/phone", json={"phone": "+86 139-1111-2222"}, headers=auth_header(tokens[0]))
    assert (saved.status_code, saved.get_json()) == (200, {"phone_tail": "2222"})
    stored = session.get(Resident, first_id)
    assert "13911112222" not in (stored.phone_hash or "") and stored.phone_tail == "2222"
    taken = client.put("/api/v1/me/phone", json={"phone": "13911112222"}, headers=auth_header(tokens[1]))
    assert (taken.status_code, taken.get_json()["code"]) == (409, "phone_taken")
    bad = client.put("/api/v1/me/phone", json={"phone": "12345678901x"}, headers=auth_header(tokens[1]))
    assert (bad.status_code, bad.get_json()["code"]) == (422, "invalid_phone")
