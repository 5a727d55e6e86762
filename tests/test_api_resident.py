"""The resident's API: profile, balance, history, declaring actions idempotently, explanations."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from freezegun import freeze_time
from sqlalchemy import delete, event, text

from api.extensions import db
from carbon_credit.ledger.points import add_earn, adjust_balance, lock_account
from carbon_credit.models import Account
from carbon_credit.residents.accounts import erase_resident
from carbon_credit.rules import ActionFacts, Adjustment, compile_rule_set, evaluate
from carbon_credit.rules.explain import explain_credit
from carbon_credit.rules.install import install_default_rule_set
from carbon_credit.rules.usage import Usage
from carbon_credit.timeutil import local_date, start_of_local_day, utcnow

from .api_helpers import assert_error, balance_of, bearer, feed, install_rules, resident_in, snapshot
from .factories import make_community, make_street

ACTIONS = "/api/v1/me/actions"


@pytest.fixture
def me(session, resident_token):
    """A resident of 鹊山社区 (大桥街道) under the default rules: (resident, headers)."""
    install_rules(session)
    community = make_community(session, "鹊山社区", make_street(session, "大桥街道"))
    resident = resident_in(session, community, "小林")
    session.commit()
    headers = bearer(resident_token(resident))
    session.commit()  # end the read that made the token, so later writes see the app's commits (SQLite)
    return SimpleNamespace(resident=resident, headers=headers)


def ride(**overrides) -> dict:
    body = {"action_type": "metro_ride", "quantity": 10, "unit": "km",
            "occurred_at": (utcnow() - timedelta(hours=2)).isoformat()}
    return {**body, **overrides}


def declare(client, me, body, key="ride-1"):
    headers = {**me.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return client.post(ACTIONS, json=body, headers=headers)


# --- profile and balance ---------------------------------------------------------------------

def test_profile_shows_community_and_street(client, me):
    body = client.get("/api/v1/me", headers=me.headers).get_json()
    assert body["id"] == me.resident.id
    assert body["display_name"] == "小林"
    assert body["community"]["name"] == "鹊山社区"
    assert body["community"]["street"]["name"] == "大桥街道"
    assert body["status"] == "active"
    assert datetime.fromisoformat(body["joined"]) == me.resident.created_at


def test_balance_counts_points_grams_and_what_expires_within_30_days(client, session, resident_token):
    install_rules(session)
    resident = resident_in(session)
    account = lock_account(session, resident.id)
    # Earned in 2025: expires at the end of 2026 (Shanghai), inside the window seen from 10 December 2026.
    add_earn(session, account, datetime(2025, 6, 1, tzinfo=timezone.utc), points=300, grams=300)
    add_earn(session, account, datetime(2026, 6, 1, tzinfo=timezone.utc), points=50, grams=40)
    session.commit()
    with freeze_time("2026-12-10 04:00:00"):
        body = client.get("/api/v1/me/balance", headers=bearer(resident_token(resident))).get_json()
    assert (body["points"], body["grams"], body["earned_total"], body["expiring_soon"]) == (350, 340, 350, 300)
    assert datetime.fromisoformat(body["expiring_before"]) == datetime(2027, 1, 9, 4, tzinfo=timezone.utc)


def test_staff_cannot_use_resident_endpoints(client, admin_token):
    assert_error(client.get("/api/v1/me", headers=bearer(admin_token)), 403, "forbidden")
    assert_error(client.get("/api/v1/me/balance", headers=bearer(admin_token)), 403, "forbidden")
    assert_error(client.get("/api/v1/me/balance"), 401, "unauthorized")


def test_the_balance_shows_a_credit_and_a_spend_the_moment_they_are_made(client, session, me):
    assert client.get("/api/v1/me/balance", headers=me.headers).get_json()["points"] == 0
    recorded = declare(client, me, ride())
    assert recorded.status_code == 201
    earned = recorded.get_json()["credit"]["points"]
    assert earned > 0 and client.get("/api/v1/me/balance", headers=me.headers).get_json()["points"] == earned
    adjust_balance(session, me.resident.id, -earned, "兑换核销", utcnow(), actor_id=None, reference="adjust:spend")
    session.commit()
    assert client.get("/api/v1/me/balance", headers=me.headers).get_json()["points"] == 0


def test_the_balance_refuses_a_token_once_its_resident_left_or_it_expired(app, client, session, resident_token):
    leaving, lapsing = resident_in(session, openid="o-leaving"), resident_in(session, openid="o-lapsing")
    session.commit()
    leaving_token = bearer(resident_token(leaving))
    with freeze_time("2026-06-05 02:00:00") as frozen:
        lapsing_token = bearer(resident_token(lapsing))
        assert client.get("/api/v1/me/balance", headers=lapsing_token).status_code == 200
        frozen.tick(app.config["TOKEN_TTL_SECONDS"] + 1)
        assert_error(client.get("/api/v1/me/balance", headers=lapsing_token), 401, "unauthorized")
    assert client.get("/api/v1/me/balance", headers=leaving_token).status_code == 200
    erase_resident(session, leaving.id, utcnow())
    session.commit()
    assert_error(client.get("/api/v1/me/balance", headers=leaving_token), 401, "unauthorized")
    session.execute(delete(Account).where(Account.resident_id == lapsing.id))
    session.commit()
    assert_error(client.get("/api/v1/me/balance", headers=bearer(resident_token(lapsing))), 404,
                 "account_not_found")


def test_reading_the_balance_begins_no_transaction_on_postgresql(app, client, me, pg_only):
    """One statement in autocommit: no BEGIN before it and no COMMIT or ROLLBACK after it."""
    with app.app_context():
        engine = db.engine
    begun = []

    def heard(conn):
        begun.append(conn)

    event.listen(engine, "begin", heard)
    try:
        assert client.get("/api/v1/me/balance", headers=me.headers).status_code == 200
        assert begun == []
        assert client.get("/api/v1/me", headers=me.headers).status_code == 200  # the listener does hear
        assert begun
    finally:
        event.remove(engine, "begin", heard)


def _read_connections(engine):
    from carbon_credit.db import AutocommitReads

    return [conn for conn, _, _ in AutocommitReads.of(engine).idle]


def test_the_balance_reads_on_autocommit_connections_that_outlive_a_dropped_socket(app, client, session, me,
                                                                                  pg_only):
    """The read leaves its connection idle (no transaction open), and a connection the server dropped
    is replaced by a new one within the same request; disposing of the engine closes them."""
    with app.app_context():
        engine = db.engine
    assert client.get("/api/v1/me/balance", headers=me.headers).get_json()["points"] == 0
    (held,) = _read_connections(engine)
    state = session.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"),
                            {"pid": held.info.backend_pid}).scalar_one()
    assert state == "idle"
    session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": held.info.backend_pid})
    session.commit()
    adjust_balance(session, me.resident.id, 25, "现场补录", utcnow(), actor_id=None, reference="adjust:after-drop")
    session.commit()
    assert client.get("/api/v1/me/balance", headers=me.headers).get_json()["points"] == 25
    (replacement,) = _read_connections(engine)
    assert held.closed and replacement is not held and not replacement.closed
    engine.dispose()
    assert replacement.closed


# --- history ---------------------------------------------------------------------------------

def test_history_is_paged_newest_first_with_what_each_action_earned(client, session, me):
    now = utcnow()
    for hours in (30, 20, 10):
        feed(session, me.resident, quantity="5", at=now - timedelta(hours=hours))
    session.commit()
    response = client.get("/api/v1/me/history?page=1&page_size=2", headers=me.headers)
    items = response.get_json()
    assert [datetime.fromisoformat(i["occurred_at"]) for i in items] == [now - timedelta(hours=10),
                                                                        now - timedelta(hours=20)]
    first = items[0]
    assert (first["action_type"], first["action_type_name"], first["quantity"], first["unit"]) == (
        "metro_ride", "地铁出行", 5, "km")
    assert (first["status"], first["grams"], first["points"], first["rule_version"]) == ("credited", 234, 234, 1)
    paging = json.loads(response.headers["X-Pagination"])
    assert (paging["total"], paging["total_pages"], paging["next_page"]) == (3, 2, 2)


def test_history_filters_by_type_status_and_shanghai_dates(client, session, me):
    # 2026-06-03 23:30 and 2026-06-04 00:30 in Shanghai: one hour apart, different local days.
    late = datetime(2026, 6, 3, 15, 30, tzinfo=timezone.utc)
    early = datetime(2026, 6, 3, 16, 30, tzinfo=timezone.utc)
    now = datetime(2026, 6, 5, 2, tzinfo=timezone.utc)
    feed(session, me.resident, at=late, now=now)
    feed(session, me.resident, at=early, now=now)
    feed(session, me.resident, "walk_steps", "8000", "step", at=early + timedelta(hours=3), now=now)
    session.commit()

    def history(query):
        response = client.get(f"/api/v1/me/history?{query}", headers=me.headers)
        assert response.status_code == 200, response.get_json()
        return [(i["action_type"], datetime.fromisoformat(i["occurred_at"])) for i in response.get_json()]

    assert history("from=2026-06-04&to=2026-06-04") == [("walk_steps", early + timedelta(hours=3)),
                                                        ("metro_ride", early)]
    assert history("to=2026-06-03") == [("metro_ride", late)]
    assert history("action_type=walk_steps") == [("walk_steps", early + timedelta(hours=3))]
    assert history("status=capped") == []
    assert len(history("status=credited")) == 3


@pytest.mark.parametrize("query, field", [
    ("from=yesterday", "from"),
    ("from=2026-06-05&to=2026-06-01", "to"),
    ("status=approved", "status"),
    ("page_size=1000", "page_size"),
    ("page=0", "page"),
])
def test_bad_history_filters_are_422_with_the_field(client, me, query, field):
    assert_error(client.get(f"/api/v1/me/history?{query}", headers=me.headers), 422, "validation_error", [field])


def test_history_shows_only_my_actions(client, session, me):
    other = resident_in(session, name="别人")
    feed(session, other)
    session.commit()
    assert client.get("/api/v1/me/history", headers=me.headers).get_json() == []


# --- declaring an action ---------------------------------------------------------------------

def test_declared_ride_is_credited_at_the_self_declared_weight(client, session, me):
    before = snapshot(session)
    response = declare(client, me, ride(note="上班"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    action, credit = body["action"], body["credit"]
    assert (action["source"], action["evidence"], action["status"], action["note"]) == (
        "self_report", "self", "credited", "上班")
    # 10 km × 46.8 g/km × 0.5 (self-declared) = 234 g, 1 point per gram.
    assert (credit["grams"], credit["points"], credit["rule_version"]) == (234, 234, 1)
    assert "234" in body["explanation"]["summary"]
    after = snapshot(session)
    assert after["green_actions"] - before["green_actions"] == 1
    assert after["credits"] - before["credits"] == 1
    assert after["ledger_entries"] - before["ledger_entries"] == 1
    assert balance_of(session, me.resident) == 234


def test_unit_defaults_to_the_action_types_unit(client, me):
    body = ride()
    del body["unit"]
    response = declare(client, me, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["action"]["unit"] == "km"


def test_retry_with_the_same_key_and_body_returns_the_first_result_and_credits_nothing_more(client, session, me):
    body = ride()
    first = declare(client, me, body)
    assert first.status_code == 201
    before = snapshot(session)
    again = declare(client, me, body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert snapshot(session) == before
    assert balance_of(session, me.resident) == 234


def test_retry_written_differently_is_still_the_same_request(client, session, me):
    moment = utcnow() - timedelta(hours=2)
    first = declare(client, me, ride(quantity=10, occurred_at=moment.isoformat()))
    shanghai = moment.astimezone(timezone(timedelta(hours=8))).isoformat()
    again = declare(client, me, {"action_type": "metro_ride", "quantity": "10.0", "occurred_at": shanghai})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["credit"]["id"] == first.get_json()["credit"]["id"]


def test_same_key_with_another_body_is_409_and_writes_nothing(client, session, me):
    declare(client, me, ride())
    before = snapshot(session)
    response = declare(client, me, ride(quantity=12))
    assert_error(response, 409, "idempotency_key_reused")
    assert snapshot(session) == before


def test_keys_are_per_resident(client, session, me, resident_token):
    other = resident_in(session, name="邻居")
    session.commit()
    declare(client, me, ride())
    response = client.post(ACTIONS, json=ride(quantity=3), headers={**bearer(resident_token(other)),
                                                                    "Idempotency-Key": "ride-1"})
    assert response.status_code == 201, response.get_json()


def test_a_64_character_key_is_accepted(client, me):
    assert declare(client, me, ride(), key="A-z_0" * 12 + "abcd").status_code == 201


@pytest.mark.parametrize("overrides, status, code, field", [
    ({"action_type": "teleport"}, 422, "unknown_action_type", "action_type"),
    ({"action_type": "recyclables_dropoff", "unit": "kg", "quantity": 2}, 422, "not_self_reportable", "action_type"),
    ({"action_type": "appliance_purchase", "unit": "item", "quantity": 1}, 422, "use_appliance_endpoint",
     "action_type"),
    ({"quantity": -5}, 422, "quantity_out_of_range", "quantity"),
    ({"quantity": 0}, 422, "quantity_out_of_range", "quantity"),
    ({"quantity": 100000}, 422, "quantity_out_of_range", "quantity"),
    ({"quantity": "1e30"}, 422, "quantity_out_of_range", "quantity"),
    ({"quantity": "ten"}, 422, "validation_error", "quantity"),
    ({"quantity": "NaN"}, 422, "validation_error", "quantity"),
    ({"quantity": "1.0005"}, 422, "validation_error", "quantity"),
    ({"unit": "kg"}, 422, "unit_not_supported", "unit"),
    ({"occurred_at": "2026-06-01T10:00:00"}, 422, "validation_error", "occurred_at"),
    ({"occurred_at": "last tuesday"}, 422, "validation_error", "occurred_at"),
    ({"action_type": ""}, 422, "validation_error", "action_type"),
    ({"note": "很" * 201}, 422, "validation_error", "note"),
    ({"surprise": True}, 422, "validation_error", "surprise"),
])
def test_bad_declarations_are_refused_with_a_code_and_write_nothing(client, session, me, overrides, status,
                                                                     code, field):
    before = snapshot(session)
    assert_error(declare(client, me, ride(**overrides)), status, code, [field])
    assert snapshot(session) == before


def test_future_and_too_old_declarations_are_refused(client, session, me):
    before = snapshot(session)
    future = ride(occurred_at=(utcnow() + timedelta(days=1)).isoformat())
    assert_error(declare(client, me, future, key="f"), 422, "time_in_future", ["occurred_at"])
    old = ride(occurred_at=(utcnow() - timedelta(days=8)).isoformat())
    assert_error(declare(client, me, old, key="o"), 422, "too_old", ["occurred_at"])
    assert snapshot(session) == before


def test_malformed_bodies_write_nothing(client, session, me):
    before = snapshot(session)
    body = assert_error(declare(client, me, {}), 422, "validation_error", ["action_type", "quantity", "occurred_at"])
    assert set(body["errors"]) == {"action_type", "quantity", "occurred_at"}
    assert_error(declare(client, me, [1, 2]), 422, "validation_error")
    headers = {**me.headers, "Idempotency-Key": "k", "Content-Type": "application/json"}
    assert_error(client.post(ACTIONS, data="{not json", headers=headers), 400, "invalid_json")
    assert snapshot(session) == before


def test_fifth_ride_of_the_day_is_recorded_as_capped_with_the_cap_named(client, session, me):
    noon_yesterday = start_of_local_day(local_date(utcnow()) - timedelta(days=1)) + timedelta(hours=4)
    responses = [declare(client, me, ride(quantity=2, occurred_at=(noon_yesterday + timedelta(minutes=i)).isoformat()),
                         key=f"ride-{i}") for i in range(5)]
    last = responses[-1].get_json()
    assert (last["action"]["status"], last["credit"]["points"], last["credit"]["grams"]) == ("capped", 0, 0)
    assert "已达每日上限 4 次" in last["explanation"]["summary"]  # the cap transit_rides_daily, in words
    caps = [s for s in last["explanation"]["steps"] if s["step"] == "cap"]
    assert {"name": "transit_rides_daily", "effect": "capped", "used": "4", "limit": "4"}.items() <= next(
        c for c in caps if c["name"] == "transit_rides_daily").items()
    assert balance_of(session, me.resident) == 4 * 46


# --- reading actions and explanations ----------------------------------------------------------

def test_my_action_and_its_explanation_are_readable_and_others_are_404(client, session, me):
    mine = declare(client, me, ride()).get_json()
    other = resident_in(session, name="别人")
    theirs = feed(session, other)
    session.commit()
    got = client.get(f"{ACTIONS}/{mine['action']['id']}", headers=me.headers)
    assert got.status_code == 200 and got.get_json() == mine
    assert mine["credit"]["id"] == mine["credit"]["action_id"] == mine["action"]["id"]  # keyed by its action
    explanation = client.get(f"/api/v1/me/credits/{mine['action']['id']}/explanation", headers=me.headers)
    assert explanation.status_code == 200
    assert explanation.get_json()["steps"] == mine["explanation"]["steps"]
    assert_error(client.get(f"{ACTIONS}/{theirs.action.id}", headers=me.headers), 404, "action_not_found")
    assert_error(client.get(f"/api/v1/me/credits/{theirs.credit.id}/explanation", headers=me.headers),
                 404, "credit_not_found")
    assert_error(client.get(f"{ACTIONS}/999999", headers=me.headers), 404, "action_not_found")


def test_explanation_names_factor_source_weight_caps_rounding_and_version(client, me):
    body = declare(client, me, ride(quantity="12.3")).get_json()
    steps = {s["step"]: s for s in body["explanation"]["steps"]}
    assert steps["rule_set"]["version"] == 1 and "2024-01-01" in steps["rule_set"]["text"]
    assert steps["factor"]["grams_per_unit"] == "46.8" and "深圳" in steps["factor"]["source"]
    assert steps["base"]["text"] == "12.3 km × 46.8 g/km = 575.64 g CO2e"
    assert steps["evidence_weight"]["weight"] == "0.5" and "287.82" in steps["evidence_weight"]["text"]
    assert "向下取整" in steps["rounding"]["text"]
    assert (steps["result"]["grams"], steps["result"]["points"]) == (287, 287)
    assert [s["name"] for s in body["explanation"]["steps"] if s["step"] == "cap"] == [
        "transit_rides_daily", "points_daily"]


def test_points_only_and_appliance_fallback_credits_are_explained(client, session, me):
    kitchen = feed(session, me.resident, "kitchen_waste_sorting", "1", "drop")
    fridge = feed(session, me.resident, "appliance_purchase", "1", "item", evidence="worker", source="worker",
                  attributes={"category": "refrigerator", "label_kwh": 300})
    session.commit()
    text = client.get(f"/api/v1/me/credits/{kitchen.credit.id}/explanation", headers=me.headers).get_json()
    assert text["credit"]["points"] == 1 and text["credit"]["grams"] == 0
    assert any("只计积分" in s["text"] for s in text["steps"])
    assert next(s for s in text["steps"] if s["step"] == "factor")["grams_claimed"] == "0"
    text = client.get(f"/api/v1/me/credits/{fridge.credit.id}/explanation", headers=me.headers).get_json()
    assert text["credit"]["points"] == 500
    factor = next(s for s in text["steps"] if s["step"] == "factor")
    assert factor["fallback_points"] == "500" and factor["category"] == "refrigerator" and "冰箱" in factor["text"]


def test_appliance_kwh_with_a_baseline_and_campaign_bonus_are_explained(session):
    rule_set = install_default_rule_set(session, utcnow(), utcnow())
    compiled = compile_rule_set(rule_set)
    rule = compiled.rules["appliance_purchase"]
    rule = replace(rule, params={**rule.params, "baseline_kwh": {"refrigerator": "500"}})
    compiled = replace(compiled, rules={**compiled.rules, "appliance_purchase": rule})
    facts = ActionFacts(resident_id=1, action_type="appliance_purchase", quantity=Decimal(1), unit="item",
                        local_day=utcnow().date(), evidence="worker",
                        attributes={"category": "refrigerator", "label_kwh": "300"})
    outcome = evaluate(compiled, facts, lambda cap, day, tag: Usage(),
                       [Adjustment("multiplier", Decimal("1.5"), "节能宣传周", {"campaign_id": 7})])
    credit = SimpleNamespace(trace=outcome.trace, status=outcome.status, grams=outcome.grams, points=outcome.points,
                             rule_version=1)
    explained = explain_credit(credit, "一级能效家电购买")
    steps = {s["step"]: s for s in explained["steps"]}
    # (500 − 300) kWh × 636.1 g/kWh × 1 year = 127,220 g; points × 1.5 for the campaign, then the
    # 2,000-points daily cap clips them, past the bonus into the carbon's own points: the grams keep
    # the share of the 127,220 carbon points that the cap let through (2,000 g).
    assert steps["base"]["grams"] == "127220.0" and steps["base"]["saved_kwh"] == "200"
    assert "华北" in steps["factor"]["source"]
    assert steps["adjustment"]["label"] == "节能宣传周" and "× 1.5" in steps["adjustment"]["text"]
    assert "190830" in steps["adjustment"]["text"]
    clipped = next(s for s in explained["steps"] if s["step"] == "cap" and s["name"] == "points_daily")
    assert clipped["effect"] == "clipped" and "超出部分不计" in clipped["text"]
    assert (outcome.grams, outcome.points) == (2000, 2000)
    assert "127220" in steps["cap_grams"]["text"] and "2000 g CO2e" in steps["cap_grams"]["text"]
    assert "2000 g CO2e" in explained["summary"] and "2000 积分" in explained["summary"]


@pytest.mark.pg_only
def test_concurrent_retries_of_one_declaration_credit_once(app, session, me):
    """Twelve clients send the same key and body at once: one 201, the rest 200 with the same credit."""
    body, barrier = ride(), threading.Barrier(12)

    def send(_):
        client = app.test_client()
        barrier.wait()
        response = client.post(ACTIONS, json=body, headers={**me.headers, "Idempotency-Key": "same-tap"})
        return response.status_code, response.get_json()["credit"]["id"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(send, range(12)))
    assert sorted(status for status, _ in results) == [200] * 11 + [201]
    assert len({credit_id for _, credit_id in results}) == 1
    counts = snapshot(session)
    assert (counts["green_actions"], counts["credits"], counts["ledger_entries"]) == (1, 1, 1)
    assert balance_of(session, me.resident) == 234


def test_retry_without_the_unit_is_another_request_when_the_first_named_a_non_default_unit(client, session, me):
    first = declare(client, me, ride(quantity=1, unit="trip"))
    body = {k: v for k, v in ride(quantity=1, unit="trip", occurred_at=first.get_json()["action"]["occurred_at"])
            .items() if k != "unit"}
    assert first.status_code == 201
    assert_error(declare(client, me, body), 409, "idempotency_key_reused")
