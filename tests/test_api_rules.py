"""Admins' action types and rule-set versions, and the whole change-a-factor flow through the API."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from carbon_credit.timeutil import utcnow

from .api_helpers import assert_error, bearer, feed, install_rules, resident_in, snapshot
from .factories import STAFF_PASSWORD, login, make_staff

RULE_SETS = "/api/v1/rule-sets"
WUHAN_2025 = "武汉 2025 地铁 78.4 g/km"
METRO_FACTORS = [
    {"unit": "km", "grams_per_unit": "78.4", "source": WUHAN_2025, "max_quantity": 100},
    {"unit": "trip", "grams_per_unit": 46, "source": "北京绿色生活季 减排手册", "max_quantity": 1},
]


@pytest.fixture
def admin(client, session, admin_token):
    install_rules(session)
    session.commit()
    return bearer(admin_token)


@pytest.fixture
def draft(client, admin) -> dict:
    response = client.post(RULE_SETS, json={"note": "地铁因子更新"}, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- action types ----------------------------------------------------------------------------

def test_everyone_signed_in_reads_action_types(client, session, admin, resident_token):
    resident = resident_in(session)
    session.commit()
    types = client.get("/api/v1/action-types", headers=bearer(resident_token(resident))).get_json()
    metro = next(t for t in types if t["code"] == "metro_ride")
    assert (metro["unit"], metro["units"], metro["self_report"]) == ("km", ["km", "trip"], True)
    assert next(t for t in types if t["code"] == "recyclables_dropoff")["self_report"] is False


def test_admin_adds_an_action_type_and_it_is_audited(client, session, admin):
    body = {"code": "tableware_reuse", "name": "自带餐具", "unit": "meal", "category": "waste",
            "self_report": True}
    response = client.post("/api/v1/action-types", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["units"] == ["meal"]
    log = client.get("/api/v1/audit-log?verb=action_type.create", headers=admin).get_json()
    assert log[0]["target_id"] == "tableware_reuse"


@pytest.mark.parametrize("body, status, code, field", [
    ({"code": "metro_ride", "name": "x", "unit": "km", "category": "transit"}, 409, "action_type_exists", None),
    ({"code": "Bad Code", "name": "x", "unit": "km", "category": "transit"}, 422, "validation_error", "code"),
    ({"code": "ok_code", "unit": "km", "category": "transit"}, 422, "validation_error", "name"),
    ({"code": "ok_code", "name": "x", "unit": "km", "units": ["kg"], "category": "t"}, 422, "invalid_input", "units"),
    ({"code": "ok_code", "name": "x", "unit": "km", "category": "t", "evidence": "rumour"}, 422,
     "validation_error", "evidence"),
])
def test_bad_action_types_are_refused_and_nothing_is_written(client, session, admin, body, status, code, field):
    before = snapshot(session)
    assert_error(client.post("/api/v1/action-types", json=body, headers=admin), status, code,
                 [field] if field else [])
    assert snapshot(session) == before


def test_admin_stops_self_declaring_a_type_and_residents_are_refused(client, session, admin, resident_token):
    resident = resident_in(session)
    session.commit()
    response = client.patch("/api/v1/action-types/metro_ride", json={"self_report": False, "name": "地铁"},
                            headers=admin)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["self_report"], response.get_json()["name"]) == (False, "地铁")
    declared = client.post("/api/v1/me/actions", headers={**bearer(resident_token(resident)), "Idempotency-Key": "k"},
                           json={"action_type": "metro_ride", "quantity": 5,
                                 "occurred_at": (utcnow() - timedelta(hours=1)).isoformat()})
    assert_error(declared, 422, "not_self_reportable", ["action_type"])
    entry = client.get("/api/v1/audit-log?verb=action_type.update&target_id=metro_ride", headers=admin).get_json()[0]
    assert entry["detail"]["before"] == {"self_report": True, "name": "地铁出行"}
    assert entry["detail"]["after"] == {"self_report": False, "name": "地铁"}


@pytest.mark.parametrize("code, body, status, error, field", [
    ("metro_ride", {}, 422, "validation_error", None),
    ("metro_ride", {"unit": "kg"}, 422, "validation_error", "unit"),
    ("metro_ride", {"active": "maybe"}, 422, "validation_error", "active"),
    ("teleport", {"active": False}, 404, "action_type_not_found", None),
])
def test_bad_action_type_changes_are_refused(client, session, admin, code, body, status, error, field):
    before = snapshot(session)
    assert_error(client.patch(f"/api/v1/action-types/{code}", json=body, headers=admin), status, error,
                 [field] if field else [])
    assert snapshot(session) == before


# --- rule sets -------------------------------------------------------------------------------

def test_versions_are_listed_with_their_state(client, admin, draft):
    listed = client.get(RULE_SETS, headers=admin).get_json()
    assert [(r["version"], r["state"]) for r in listed] == [(2, "draft"), (1, "active")]
    assert listed[0]["note"] == "地铁因子更新" and listed[0]["based_on_id"] == listed[1]["id"]
    assert listed[0]["created_by"] is not None and listed[1]["effective_from"].startswith("2024-01-01")


def test_a_version_shows_its_rules_with_factor_sources_and_its_caps(client, admin):
    current = client.get(RULE_SETS, headers=admin).get_json()[0]
    detail = client.get(f"{RULE_SETS}/{current['id']}", headers=admin).get_json()
    metro = next(r for r in detail["rules"] if r["action_type"] == "metro_ride")
    assert metro["method"] == "per_unit" and metro["evidence_weights"]["self"] == 0.5
    assert {"unit": "km", "grams_per_unit": 46.8, "max_quantity": 100}.items() <= metro["factors"][0].items()
    assert "深圳" in metro["factors"][0]["source"]
    kitchen = next(r for r in detail["rules"] if r["action_type"] == "kitchen_waste_sorting")
    assert (kitchen["method"], kitchen["points_per_unit"]) == ("points_only", 1)
    assert {c["name"] for c in detail["caps"]} >= {"transit_rides_daily", "points_daily"}
    assert_error(client.get(f"{RULE_SETS}/999", headers=admin), 404, "rule_set_not_found")


def test_draft_copies_the_active_version(client, admin, draft):
    active = client.get(f"{RULE_SETS}/{draft['based_on_id']}", headers=admin).get_json()
    assert draft["state"] == "draft" and draft["version"] == 2
    assert draft["rules"] == active["rules"] and draft["caps"] == active["caps"]
    assert_error(client.post(RULE_SETS, json={"based_on_id": 999}, headers=admin), 404, "rule_set_not_found")


def test_editing_a_draft_rule_changes_only_the_draft(client, admin, draft):
    url = f"{RULE_SETS}/{draft['id']}/rules/metro_ride"
    response = client.patch(url, json={"factors": METRO_FACTORS, "max_quantity": "120"}, headers=admin)
    assert response.status_code == 200, response.get_json()
    rule = response.get_json()
    assert rule["factors"][0] == {"unit": "km", "grams_per_unit": 78.4, "source": WUHAN_2025, "max_quantity": 100}
    assert rule["max_quantity"] == 120
    active = client.get(f"{RULE_SETS}/{draft['based_on_id']}", headers=admin).get_json()
    assert next(r for r in active["rules"] if r["action_type"] == "metro_ride")["factors"][0]["grams_per_unit"] == 46.8


def test_a_draft_rule_for_a_new_type_can_be_added(client, admin, draft):
    client.post("/api/v1/action-types", headers=admin,
                json={"code": "tableware_reuse", "name": "自带餐具", "unit": "meal", "category": "waste"})
    response = client.patch(f"{RULE_SETS}/{draft['id']}/rules/tableware_reuse", headers=admin,
                            json={"method": "points_only", "points_per_unit": 5, "source": "试点: 每次 5 积分"})
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["method"], response.get_json()["points_per_unit"]) == ("points_only", 5)


@pytest.mark.parametrize("body, status, code, field", [
    ({"factors": [{"unit": "km", "grams_per_unit": 50}]}, 422, "validation_error", "factors"),
    ({"factors": [{"unit": "km", "grams_per_unit": -1, "source": "x"}]}, 422, "validation_error", "factors"),
    ({"method": "magic"}, 422, "rule_set_invalid", "rules.metro_ride.method"),
    ({"factors": []}, 422, "rule_set_invalid", "rules.metro_ride.factors"),
    ({"evidence_weights": {"self": 1.5}}, 422, "rule_set_invalid", "rules.metro_ride.evidence_weights.self"),
    ({"evidence_weights": {"psychic": 1}}, 422, "validation_error", "evidence_weights"),
    ({"points_per_gram": "lots"}, 422, "validation_error", "points_per_gram"),
    ({"min_quantity": 5, "max_quantity": 2}, 422, "rule_set_invalid", "rules.metro_ride.max_quantity"),
    ({}, 422, "validation_error", None),
    ({"colour": "green"}, 422, "validation_error", "colour"),
])
def test_bad_rule_edits_are_refused_with_field_errors(client, session, admin, draft, body, status, code, field):
    before = snapshot(session)
    response = client.patch(f"{RULE_SETS}/{draft['id']}/rules/metro_ride", json=body, headers=admin)
    assert_error(response, status, code, [field] if field else [])
    assert snapshot(session) == before
    rule = next(r for r in client.get(f"{RULE_SETS}/{draft['id']}", headers=admin).get_json()["rules"]
                if r["action_type"] == "metro_ride")
    assert rule == next(r for r in draft["rules"] if r["action_type"] == "metro_ride")


def test_rule_of_an_unknown_type_is_404(client, admin, draft):
    response = client.patch(f"{RULE_SETS}/{draft['id']}/rules/teleport", json={"source": "x"}, headers=admin)
    assert_error(response, 404, "unknown_action_type")


def test_an_activated_version_is_frozen(client, session, admin, draft):
    active_id = draft["based_on_id"]
    before = snapshot(session)
    response = client.patch(f"{RULE_SETS}/{active_id}/rules/metro_ride", json={"factors": METRO_FACTORS},
                            headers=admin)
    assert_error(response, 409, "rule_set_frozen")
    assert_error(client.put(f"{RULE_SETS}/{active_id}/caps", json={"caps": []}, headers=admin), 409, "rule_set_frozen")
    assert_error(client.delete(f"{RULE_SETS}/{active_id}", headers=admin), 409, "rule_set_frozen")
    assert_error(client.post(f"{RULE_SETS}/{active_id}/activate", json={}, headers=admin), 409, "rule_set_frozen")
    assert snapshot(session) == before


def test_a_changed_factor_needs_a_citation_of_its_new_value(client, session, admin, draft):
    url = f"{RULE_SETS}/{draft['id']}/rules/metro_ride"
    factors = next(r for r in draft["rules"] if r["action_type"] == "metro_ride")["factors"]
    assert "46.8" in factors[0]["source"]
    before = snapshot(session)
    same_citation = [{**factors[0], "grams_per_unit": "60"}, factors[1]]
    response = client.patch(url, json={"factors": same_citation}, headers=admin)
    assert_error(response, 422, "rule_set_invalid", ["rules.metro_ride.factors.0.source"])
    assert "from 46.8 to 60" in response.get_json()["errors"]["rules.metro_ride.factors.0.source"][0]
    assert snapshot(session) == before
    # Another limit or a new citation is fine; an admin-written rule source is left as written.
    assert client.patch(url, json={"factors": [{**factors[0], "max_quantity": 90}, factors[1]]},
                        headers=admin).status_code == 200
    assert client.patch(url, json={"source": "地铁: 深圳方法学与北京减排手册"}, headers=admin).status_code == 200
    cited = [{**factors[0], "grams_per_unit": "60", "source": "某市 2026 地铁因子"}, factors[1]]
    rule = client.patch(url, json={"factors": cited}, headers=admin).get_json()
    assert (rule["factors"][0]["grams_per_unit"], rule["source"]) == (60, "地铁: 深圳方法学与北京减排手册")


def test_the_diff_shows_numbers_one_way_whether_stored_as_numbers_or_text(client, session, admin, draft):
    factors = next(r for r in draft["rules"] if r["action_type"] == "metro_ride")["factors"]
    as_numbers = [{**f, "grams_per_unit": float(f["grams_per_unit"]), "max_quantity": int(f["max_quantity"])}
                  for f in factors]
    client.patch(f"{RULE_SETS}/{draft['id']}/rules/metro_ride", json={"factors": as_numbers}, headers=admin)
    caps = draft["caps"]
    caps_as_text = [{**cap, "limit": str(cap["limit"])} for cap in caps]
    caps_as_text[0]["limit"] = "5"
    assert client.put(f"{RULE_SETS}/{draft['id']}/caps", json={"caps": caps_as_text}, headers=admin).status_code == 200
    changes = client.get(f"{RULE_SETS}/diff?from={draft['based_on_id']}&to={draft['id']}", headers=admin).get_json()
    assert [c["path"] for c in changes["changes"]] == [f"caps.{caps[0]['name']}"]
    change = changes["changes"][0]
    assert (change["from"]["limit"], change["to"]["limit"]) == (str(caps[0]["limit"]), "5")
    assert {k: v for k, v in change["from"].items() if k != "limit"} == \
        {k: v for k, v in change["to"].items() if k != "limit"}


def test_caps_are_replaced_in_a_draft_and_checked(client, session, admin, draft):
    caps = [{"name": "transit_rides_daily", "action_types": ["metro_ride", "bus_ride"], "period": "day",
             "metric": "count", "limit": 6},
            {"name": "points_daily", "action_types": None, "period": "day", "metric": "points", "limit": "1500.5"}]
    response = client.put(f"{RULE_SETS}/{draft['id']}/caps", json={"caps": caps}, headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["caps"] == [{**caps[0]}, {**caps[1], "limit": "1500.5"}]
    before = snapshot(session)
    bad = [{**caps[0], "period": "fortnight"}]
    assert_error(client.put(f"{RULE_SETS}/{draft['id']}/caps", json={"caps": bad}, headers=admin), 422,
                 "validation_error", ["caps"])
    assert_error(client.put(f"{RULE_SETS}/{draft['id']}/caps", json={}, headers=admin), 422, "validation_error",
                 ["caps"])
    assert snapshot(session) == before


def test_validation_lists_problems_and_an_invalid_draft_cannot_be_activated(client, session, admin, draft):
    url = f"{RULE_SETS}/{draft['id']}"
    assert client.post(f"{url}/validate", headers=admin).get_json() == {"valid": True, "problems": []}
    twice = {"name": "same", "period": "day", "metric": "count", "limit": 1}
    client.put(f"{url}/caps", json={"caps": [twice, twice]}, headers=admin)
    result = client.post(f"{url}/validate", headers=admin).get_json()
    assert result["valid"] is False
    assert {"field": "caps", "message": "cap names must be unique"} in result["problems"]
    before = snapshot(session)
    assert_error(client.post(f"{url}/activate", json={}, headers=admin), 422, "rule_set_invalid", ["caps"])
    assert_error(client.post(f"{url}/preview", json={}, headers=admin), 422, "rule_set_invalid", ["caps"])
    assert snapshot(session) == before


@pytest.mark.parametrize("days", [0, 91, "a month"])
def test_preview_window_is_1_to_90_days(client, admin, draft, days):
    response = client.post(f"{RULE_SETS}/{draft['id']}/preview", json={"days": days}, headers=admin)
    assert_error(response, 422, "validation_error", ["days"])


def test_activation_can_be_scheduled_but_never_in_the_past(client, session, admin, draft):
    url = f"{RULE_SETS}/{draft['id']}/activate"
    before = snapshot(session)
    past = (utcnow() - timedelta(hours=1)).isoformat()
    assert_error(client.post(url, json={"effective_from": past}, headers=admin), 422, "invalid_input",
                 ["effective_from"])
    assert_error(client.post(url, json={"effective_from": "2030-01-01T00:00:00"}, headers=admin), 422,
                 "validation_error", ["effective_from"])
    assert snapshot(session) == before
    later = (utcnow() + timedelta(days=3)).isoformat()
    response = client.post(url, json={"effective_from": later}, headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "scheduled"
    another = client.post(RULE_SETS, json={}, headers=admin).get_json()
    earlier = (utcnow() + timedelta(days=1)).isoformat()
    assert_error(client.post(f"{RULE_SETS}/{another['id']}/activate", json={"effective_from": earlier},
                             headers=admin), 409, "effective_date_conflict")


def test_a_discarded_draft_stays_listed_as_discarded(client, admin, draft):
    response = client.delete(f"{RULE_SETS}/{draft['id']}", headers=admin)
    assert response.status_code == 200 and response.get_json()["state"] == "discarded"
    assert_error(client.patch(f"{RULE_SETS}/{draft['id']}/rules/metro_ride", json={"source": "x"}, headers=admin),
                 409, "rule_set_frozen")
    assert [r["state"] for r in client.get(RULE_SETS, headers=admin).get_json()] == ["discarded", "active"]


def test_diff_needs_two_known_versions(client, admin, draft):
    assert_error(client.get(f"{RULE_SETS}/diff?from={draft['id']}", headers=admin), 422, "validation_error", ["to"])
    assert_error(client.get(f"{RULE_SETS}/diff?from=1&to=x", headers=admin), 422, "validation_error", ["to"])
    assert_error(client.get(f"{RULE_SETS}/diff?from=1&to=99", headers=admin), 404, "rule_set_not_found")
    same = client.get(f"{RULE_SETS}/diff?from={draft['based_on_id']}&to={draft['id']}", headers=admin).get_json()
    assert same["changes"] == [] and (same["from"]["version"], same["to"]["version"]) == (1, 2)


# --- the "done when" flow ------------------------------------------------------------

def test_admin_changes_a_factor_previews_activates_and_old_credits_keep_their_trace(client, session,
                                                                                      resident_token):
    install_rules(session)
    make_staff(session, "ops", "admin", STAFF_PASSWORD)
    resident = resident_in(session, name="通勤者")
    now = utcnow()
    old_rides = [feed(session, resident, quantity="10", at=now - timedelta(days=d, hours=1)) for d in (1, 2, 3)]
    session.commit()
    old_credit_id = old_rides[0].credit.id
    me = bearer(resident_token(resident))
    session.commit()

    admin = bearer(login(client, "ops", STAFF_PASSWORD))
    draft = client.post(RULE_SETS, json={"note": "武汉 2025 地铁因子"}, headers=admin).get_json()
    edited = client.patch(f"{RULE_SETS}/{draft['id']}/rules/metro_ride", json={"factors": METRO_FACTORS},
                          headers=admin)
    assert edited.status_code == 200, edited.get_json()
    changes = client.get(f"{RULE_SETS}/diff?from={draft['based_on_id']}&to={draft['id']}", headers=admin).get_json()
    # The rule's own source is its factors' citations: it follows them instead of quoting 46.8.
    assert [c["path"] for c in changes["changes"]] == ["rules.metro_ride.factors", "rules.metro_ride.source"]
    assert changes["changes"][1]["to"] == WUHAN_2025 + "; 北京绿色生活季 减排手册"

    preview = client.post(f"{RULE_SETS}/{draft['id']}/preview", json={"days": 7}, headers=admin).get_json()
    metro = next(t for t in preview["by_action_type"] if t["action_type"] == "metro_ride")
    # Three recorded 10 km partner rides: 3 × 468 points now, 3 × 784 points under the draft.
    assert (metro["current"]["points"], metro["draft"]["points"], metro["points_change"]) == (1404, 2352, 948)
    assert (preview["current_version"], preview["draft_version"], preview["actions"]) == (1, 2, 3)
    assert (preview["residents"]["gaining"], preview["residents"]["total_change"]) == (1, 948)

    activated = client.post(f"{RULE_SETS}/{draft['id']}/activate", json={}, headers=admin).get_json()
    assert activated["state"] == "active"
    assert datetime.fromisoformat(activated["effective_from"]) >= now
    states = {r["version"]: r["state"] for r in client.get(RULE_SETS, headers=admin).get_json()}
    assert states == {1: "superseded", 2: "active"}

    new = client.post("/api/v1/me/actions", headers={**me, "Idempotency-Key": "after-change"},
                      json={"action_type": "metro_ride", "quantity": 10, "occurred_at": utcnow().isoformat()})
    assert new.status_code == 201, new.get_json()
    credit = new.get_json()["credit"]
    assert (credit["rule_version"], credit["grams"], credit["points"]) == (2, 392, 392)  # 10 × 78.4 × 0.5
    new_factor = next(s for s in new.get_json()["explanation"]["steps"] if s["step"] == "factor")
    assert (new_factor["grams_per_unit"], new_factor["source"]) == ("78.4", WUHAN_2025)

    old = client.get(f"/api/v1/me/credits/{old_credit_id}/explanation", headers=me).get_json()
    old_factor = next(s for s in old["steps"] if s["step"] == "factor")
    assert old_factor["grams_per_unit"] == "46.8" and "深圳" in old_factor["source"]
    assert next(s for s in old["steps"] if s["step"] == "rule_set")["version"] == 1
    assert (old["credit"]["rule_version"], old["credit"]["points"]) == (1, 468)

    verbs = [e["verb"] for e in client.get("/api/v1/audit-log?target_type=rule_set", headers=admin).get_json()]
    assert verbs == ["rule_set.activate", "rule_set.rule_update", "rule_set.draft"]
