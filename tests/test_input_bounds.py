"""No input gets a 500: values beyond the columns, NUL bytes, the calendar's edges, deep JSON and
large bodies each answer a 4xx with the one error envelope, and store nothing."""
from __future__ import annotations

import io
import json

import pytest

from api import create_app

from .api_helpers import assert_error, bearer, feed, install_rules, resident_in, snapshot
from .conftest import TEST_WECHAT
from .test_appliances import JPEG, URL, form

INT32_PAST = 2**31
INT64_PAST = 2**63


def _key(n: int) -> dict:
    return {"Idempotency-Key": f"bounds-test-key-{n}"}


@pytest.fixture
def resident_headers(session, resident_token):
    install_rules(session)
    resident = resident_in(session)
    feed(session, resident)
    session.commit()
    return bearer(resident_token(resident))


# --- integers beyond their columns ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/rewards/2147483648", "/api/v1/campaigns/2147483648",
                                  "/api/v1/stations/99999999999999999999", "/api/v1/residents/9223372036854775808"])
def test_a_path_id_beyond_its_column_is_not_found(client, admin_token, path):
    assert_error(client.get(path, headers=bearer(admin_token)), 404, "not_found")


def test_a_resident_path_id_beyond_64_bits_is_not_found(client, resident_headers):
    response = client.get("/api/v1/me/actions/9223372036854775808", headers=resident_headers)
    assert_error(response, 404, "not_found")


def test_a_body_integer_beyond_its_column_is_a_validation_error(client, session, resident_headers):
    before = snapshot(session)
    response = client.post("/api/v1/me/redemptions", json={"reward_id": INT32_PAST},
                           headers={**resident_headers, **_key(1)})
    assert_error(response, 422, "validation_error", fields=["reward_id"])
    assert snapshot(session) == before


@pytest.mark.parametrize("field", ["stock", "points_cost", "per_resident_limit"])
def test_reward_counts_beyond_32_bits_are_refused(client, session, admin_token, field):
    body = {"kind": "coupon", "title": "公交券", "points_cost": 100, "stock": 5,
            "visible_from": "2026-06-01T00:00:00+08:00", "visible_until": "2026-07-01T00:00:00+08:00",
            field: INT32_PAST}
    before = snapshot(session)
    response = client.post("/api/v1/rewards", json=body, headers=bearer(admin_token))
    assert_error(response, 422, "validation_error", fields=[field])
    assert snapshot(session) == before


@pytest.mark.parametrize("query", [f"page={INT64_PAST}", f"page={INT32_PAST}", f"page_size={INT32_PAST}"])
def test_query_integers_beyond_their_range_are_refused(client, admin_token, query):
    response = client.post(f"/api/v1/residents/search?{query}", json={}, headers=bearer(admin_token))
    assert_error(response, 422, "validation_error", fields=[query.split("=")[0]])


def test_a_search_body_integer_beyond_its_column_is_refused(client, admin_token):
    response = client.post("/api/v1/residents/search", json={"community_id": INT32_PAST}, headers=bearer(admin_token))
    assert_error(response, 422, "validation_error", fields=["community_id"])


def test_integer_bounds_are_in_the_document(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    stock = schemas["RewardBody"]["properties"]["stock"]
    assert (stock["minimum"], stock["maximum"]) == (0, 2**31 - 1)


# --- NUL bytes ----------------------------------------------------------------------------------

def test_a_nul_in_the_sign_in_username_is_a_validation_error(client):
    response = client.post("/api/v1/auth/token", json={"username": "admin\u0000", "password": "secret"})
    assert_error(response, 422, "validation_error", fields=["username"])


def test_a_nul_in_a_search_or_a_name_is_a_validation_error(client, session, admin_token):
    assert_error(client.post("/api/v1/residents/search", json={"q": "小\u0000"}, headers=bearer(admin_token)),
                 422, "validation_error", fields=["q"])
    before = snapshot(session)
    response = client.post("/api/v1/action-types", headers=bearer(admin_token), json={
        "code": "cup_reuse", "name": "自带\u0000杯", "unit": "item", "category": "waste"})
    assert_error(response, 422, "validation_error", fields=["name"])
    assert snapshot(session) == before


def test_a_nul_in_free_form_json_is_a_validation_error(client, session, admin_token):
    install_rules(session)
    session.commit()
    headers = bearer(admin_token)
    draft = client.post("/api/v1/rule-sets", json={"note": "draft"}, headers=headers).get_json()
    response = client.patch(f"/api/v1/rule-sets/{draft['id']}/rules/metro_ride",
                            json={"params": {"note": "a\u0000b"}}, headers=headers)
    assert_error(response, 422, "validation_error", fields=["params"])


def test_a_nul_in_a_path_matches_no_route(client, admin_token):
    response = client.patch("/api/v1/action-types/metro%00ride", json={"name": "地铁"}, headers=bearer(admin_token))
    assert_error(response, 404, "not_found")


# --- the calendar's edges ------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["to=9999-12-31", "from=0001-01-01"])
def test_history_dates_outside_the_calendar_are_refused(client, resident_headers, query):
    response = client.get(f"/api/v1/me/history?{query}", headers=resident_headers)
    assert_error(response, 422, "validation_error", fields=[query.split("=")[0]])


@pytest.mark.parametrize("path", ["/api/v1/budgets?month=9999-12", "/api/v1/leaderboards/communities/1?month=9999-12",
                                  "/api/v1/leaderboards/streets/1?month=0000-01"])
def test_months_outside_the_calendar_are_refused(client, admin_token, path):
    assert_error(client.get(path, headers=bearer(admin_token)), 422, "validation_error", fields=["month"])


def test_a_self_declared_action_at_the_end_of_time_is_refused(client, session, resident_headers):
    before = snapshot(session)
    response = client.post("/api/v1/me/actions", headers={**resident_headers, **_key(2)}, json={
        "action_type": "walk_steps", "quantity": 8000, "occurred_at": "9999-12-31T23:59:59-12:00"})
    assert_error(response, 422, "validation_error", fields=["occurred_at"])
    assert snapshot(session) == before


def test_reward_and_campaign_windows_near_year_9999_are_refused(client, session, admin_token):
    headers = bearer(admin_token)
    before = snapshot(session)
    reward = client.post("/api/v1/rewards", headers=headers, json={
        "kind": "coupon", "title": "公交券", "points_cost": 100, "stock": 5,
        "visible_from": "2026-06-01T00:00:00+08:00", "visible_until": "9999-12-31T23:59:59"})
    assert_error(reward, 422, "validation_error", fields=["visible_until"])
    campaign = client.post("/api/v1/campaigns", headers=headers, json={
        "title": "全国低碳日", "community_ids": [], "visible_from": "2026-06-01T00:00:00+08:00",
        "visible_until": "9999-12-31T23:59:59+08:00", "active_from": "2026-06-01T00:00:00+08:00",
        "active_until": "9999-12-31T00:00:00-12:00"})
    assert_error(campaign, 422, "validation_error", fields=["visible_until", "active_until"])
    assert snapshot(session) == before


def test_an_overflow_left_in_the_arithmetic_is_a_validation_error(app, client):
    def overflow():
        raise OverflowError("date value out of range")

    app.add_url_rule("/overflow-probe", "overflow_probe", overflow)
    assert_error(client.get("/overflow-probe"), 422, "validation_error")


# --- deep JSON and large bodies ------------------------------------------------------------------

def test_json_nested_100000_levels_deep_is_invalid_json(client):
    response = client.post("/api/v1/auth/token", data="[" * 100_000 + "]" * 100_000,
                           content_type="application/json")
    assert_error(response, 400, "invalid_json")


def test_a_body_over_the_application_limit_is_refused_unread(client):
    body = json.dumps({"username": "admin", "password": "x" * (1024 * 1024)})
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert_error(response, 413, "request_entity_too_large")


def test_the_body_limit_is_configurable(db_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test-secret-key",
                      "REDIS_URL": None, "MAX_CONTENT_LENGTH": 512, **TEST_WECHAT})
    response = app.test_client().post("/api/v1/auth/token", json={"username": "admin", "password": "x" * 600})
    assert_error(response, 413, "request_entity_too_large")


def test_partner_events_keep_their_larger_limit(client):
    """1.5 MB is over the application's limit but within a partner batch's: refused for its signature, not size."""
    body = json.dumps({"events": [{"pad": "x" * (1536 * 1024)}]})
    response = client.post("/api/v1/partner/events", data=body, content_type="application/json")
    assert response.status_code == 401, response.get_json()


def test_every_resource_loads_its_input_through_the_bounded_parser(app):
    import flask_smorest

    from api.inputs import Blueprint

    resources = [bp for bp in app.blueprints.values() if isinstance(bp, flask_smorest.Blueprint)]
    assert len(resources) > 15
    assert all(isinstance(bp, Blueprint) for bp in resources), [bp.name for bp in resources]


def test_resident_ids_in_bodies_have_the_64_bits_of_their_column(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    resident_id = schemas["WeighIn"]["properties"]["resident_id"]
    assert (resident_id["format"], resident_id["maximum"]) == ("int64", 2**63 - 1)


def test_an_invoice_photo_over_the_application_limit_is_still_accepted(client, session, resident_token):
    """Appliance photos keep their 5 MB: a 2 MB photo is over the 1 MB application limit but is taken."""
    install_rules(session)
    resident = resident_in(session)
    session.commit()
    photo = JPEG + b"\x00" * (2 * 1024 * 1024)
    response = client.post(URL, data=form(photo=(io.BytesIO(photo), "invoice.jpg")),
                           headers=bearer(resident_token(resident)), content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()


def test_every_api_blueprint_parses_its_arguments_with_the_bounds(app):
    """A resource module that took flask-smorest's Blueprint directly would skip every bound above."""
    import flask_smorest

    from api.inputs import Blueprint as BoundedBlueprint

    smorest = [bp for bp in app.blueprints.values() if isinstance(bp, flask_smorest.Blueprint)]
    assert len(smorest) > 10
    assert [bp.name for bp in smorest if not isinstance(bp, BoundedBlueprint)] == []
