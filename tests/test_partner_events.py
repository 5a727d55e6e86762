"""Partner event batches: idempotent per (partner, event_id), one result per event, bad events alone rejected."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.actions.partner_events import MAX_BATCH
from carbon_credit.models import Account, Credit, GreenAction, Notification
from carbon_credit.org.stations import create_station
from carbon_credit.residents.accounts import set_phone

from .factories import make_community, make_resident
from .partner_support import install_rules, push_events, register_partner

CARD = "3101 2345 6789"
PHONE = "13800138000"


@pytest.fixture
def world(app, client, session, admin_token):
    """A smart-bin partner serving one station, and two residents: one with a card, one with a phone."""
    install_rules(session)
    community = make_community(session)
    station = create_station(session, {"name": "大桥社区回收点", "kind": "smart_bin", "community_id": community.id},
                             datetime.now(timezone.utc))
    other = create_station(session, {"name": "别家的桶", "kind": "smart_bin", "community_id": community.id},
                           datetime.now(timezone.utc))
    carded, phoned = make_resident(session, community=community), make_resident(session, community=community)
    bind_card(session, carded.id, CARD, datetime.now(timezone.utc), key=app.config["CARD_HASH_KEY"],
              claim_window=timedelta(days=app.config["CARD_CLAIM_WINDOW_DAYS"]))
    set_phone(session, phoned.id, PHONE, datetime.now(timezone.utc), key=app.config["PHONE_HASH_KEY"])
    ids = {"station": station.id, "other_station": other.id, "carded": carded.id, "phoned": phoned.id}
    session.commit()
    ids["partner"] = register_partner(client, admin_token, station_ids=[ids["station"]])
    return ids


def ago(minutes=30) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat()


def weigh(event_id, resident, category="paper", kg=2.5, **extra):
    return {"event_id": event_id, "action_type": {"textiles": "textiles_dropoff",
                                                  "kitchen_waste": "kitchen_waste_sorting"}.get(category,
                                                                                               "recyclables_dropoff"),
            "resident": resident, "quantity": kg, "category": category, "occurred_at": ago(), **extra}


def results(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return {r["event_id"]: r for r in response.get_json()["results"]}


def balance(session, resident_id) -> int:
    session.commit()  # a fresh snapshot: the app committed on its own connection
    return session.scalar(select(Account.balance).where(Account.resident_id == resident_id))


def test_smart_bin_batch_credits_residents_once_however_often_it_is_resent(client, session, world):
    station = world["station"]
    batch = [weigh("bin-1", {"card_no": CARD}, "paper", 2.5, station_id=station),
             weigh("bin-2", {"phone": PHONE}, "textiles", 1.5, station_id=station),
             weigh("bin-3", {"phone": PHONE}, "kitchen_waste", 0.8, station_id=station)]
    first = results(push_events(client, world["partner"], batch))
    assert {k: (r["status"], r["points"], r["grams"]) for k, r in first.items()} == {
        "bin-1": ("credited", 25, 0), "bin-2": ("credited", 1920, 1920), "bin-3": ("credited", 1, 0)}
    balances = (balance(session, world["carded"]), balance(session, world["phoned"]))
    assert balances == (25, 1921)
    for _ in range(3):
        again = results(push_events(client, world["partner"], batch))
        assert {k: (r["status"], r["points"]) for k, r in again.items()} == {
            "bin-1": ("duplicate", 25), "bin-2": ("duplicate", 1920), "bin-3": ("duplicate", 1)}
    assert (balance(session, world["carded"]), balance(session, world["phoned"])) == balances
    assert session.scalar(select(func.count(Credit.id))) == 3
    kitchen = session.scalar(select(GreenAction).where(GreenAction.external_id == "bin-3"))
    assert (kitchen.unit, kitchen.quantity, kitchen.attributes["weight_kg"]) == ("drop", 1, "0.8")
    assert kitchen.source == "station_device" and kitchen.idem_scope == f"partner:{world['partner']['id']}"
    notes = session.scalars(select(Notification.payload).where(Notification.kind == "credit")).all()
    assert sorted(n["points"] for n in notes) == [1, 25, 1920]


def test_bad_events_are_rejected_with_their_reason_and_disturb_nothing(client, session, world):
    station, partner = world["station"], world["partner"]
    future = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    batch = [
        weigh("ok-1", {"resident_id": world["carded"]}, "metal", 1, station_id=station),
        weigh("neg", {"resident_id": world["carded"]}, "paper", -3, station_id=station),
        weigh("absurd", {"resident_id": world["carded"]}, "paper", 5000, station_id=station),
        weigh("future", {"resident_id": world["carded"]}, "glass", 1, station_id=station, occurred_at=future),
        {"event_id": "no-qty", "action_type": "recyclables_dropoff", "resident": {"resident_id": world["carded"]},
         "occurred_at": ago(), "station_id": station},
        {**weigh("unknown-type", {"resident_id": world["carded"]}, station_id=station), "action_type": "teleport"},
        weigh("not-allowed", {"resident_id": world["carded"]}, station_id=station) | {"action_type": "bus_ride"},
        weigh("other-station", {"resident_id": world["carded"]}, station_id=world["other_station"]),
        weigh("no-station", {"resident_id": world["carded"]}),
        weigh("nobody", {"phone": "13900000000"}, station_id=station),
        weigh("bad-cat", {"resident_id": world["carded"]}, "plutonium", 1, station_id=station)
        | {"action_type": "recyclables_dropoff"},
        "not an object",
        weigh("ok-2", {"resident_id": world["carded"]}, "plastic", 0.5, station_id=station),
    ]
    answer = results(push_events(client, partner, batch))
    codes = {k: (r["status"], r.get("error", {}).get("code")) for k, r in answer.items()}
    assert codes == {
        "ok-1": ("credited", None), "neg": ("rejected", "quantity_out_of_range"),
        "absurd": ("rejected", "quantity_out_of_range"), "future": ("rejected", "time_in_future"),
        "no-qty": ("rejected", "missing_field"), "unknown-type": ("rejected", "unknown_action_type"),
        "not-allowed": ("rejected", "action_type_not_allowed"), "other-station": ("rejected", "station_not_allowed"),
        "no-station": ("rejected", "station_required"), "nobody": ("unknown_resident", "unknown_resident"),
        "bad-cat": ("rejected", "unknown_category"), None: ("rejected", "missing_field"),
        "ok-2": ("credited", None),
    }
    assert balance(session, world["carded"]) == 10 + 5
    assert session.scalar(select(func.count(GreenAction.id))) == 2


def test_an_event_id_resent_with_other_content_is_refused(client, session, world):
    first = weigh("same-id", {"resident_id": world["carded"]}, "paper", 1, station_id=world["station"])
    results(push_events(client, world["partner"], [first]))
    changed = {**first, "quantity": 9}
    answer = results(push_events(client, world["partner"], [changed]))["same-id"]
    assert (answer["status"], answer["error"]["code"]) == ("rejected", "idempotency_key_reused")
    assert balance(session, world["carded"]) == 10


def test_a_partner_sends_only_its_allowed_types(client, session, admin_token, world):
    operator = register_partner(client, admin_token, kind="transit_operator", action_types=["metro_ride"])
    ride = {"resident": {"card_no": CARD}, "quantity": 10, "unit": "km", "occurred_at": ago()}
    answer = results(push_events(client, operator, [
        {"event_id": "m-1", "action_type": "metro_ride", **ride},
        {"event_id": "b-1", "action_type": "bus_ride", **ride},
        {"event_id": "r-1", "action_type": "recyclables_dropoff", "category": "paper", **ride},
    ]))
    assert {k: (r["status"], r["points"], r.get("error", {}).get("code")) for k, r in answer.items()} == {
        "m-1": ("credited", 468, None), "b-1": ("rejected", 0, "action_type_not_allowed"),
        "r-1": ("rejected", 0, "action_type_not_allowed")}


def test_the_same_event_id_from_two_partners_is_two_events(client, session, admin_token, world):
    second = register_partner(client, admin_token, kind="transit_operator", action_types=["metro_ride"])
    first_op = register_partner(client, admin_token, kind="transit_operator", action_types=["metro_ride"])
    ride = {"event_id": "trip-1", "action_type": "metro_ride", "resident": {"card_no": CARD}, "quantity": 1,
            "unit": "trip", "occurred_at": ago()}
    assert results(push_events(client, first_op, [ride]))["trip-1"]["status"] == "credited"
    assert results(push_events(client, second, [ride]))["trip-1"]["status"] == "credited"
    assert balance(session, world["carded"]) == 92


def test_batches_over_the_documented_size_are_refused(client, world):
    events = [weigh(f"e{i}", {"resident_id": world["carded"]}, station_id=world["station"])
              for i in range(MAX_BATCH + 1)]
    response = push_events(client, world["partner"], events)
    assert (response.status_code, response.get_json()["code"]) == (413, "batch_too_large")


def test_stored_fingerprints_cannot_be_recomputed_from_a_guessed_phone(client, session, world):
    from carbon_credit.actions.record import request_fingerprint

    event = weigh("fp-1", {"phone": PHONE}, "paper", 1, station_id=world["station"])
    assert results(push_events(client, world["partner"], [event]))["fp-1"]["status"] == "credited"
    stored = session.scalar(select(GreenAction.request_hash).where(GreenAction.external_id == "fp-1"))
    assert stored and stored != request_fingerprint(event)
    assert results(push_events(client, world["partner"], [event]))["fp-1"]["status"] == "duplicate"
