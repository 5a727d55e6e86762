"""Staff endpoints: streets and communities, resident search, ledgers, adjustments, the audit log,
and who may reach what."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from carbon_credit.ledger.points import adjust_balance
from carbon_credit.timeutil import utcnow

from .api_helpers import assert_error, balance_of, bearer, feed, install_rules, resident_in, snapshot
from .factories import FIXED_NOW, auth_header, make_community, make_resident, make_street

ADMIN_ONLY = [
    ("post", "/api/v1/residents/{rid}/adjustments", {"points": 5, "reason": "补录"}),
    ("post", "/api/v1/action-types", {"code": "x_type", "name": "x", "unit": "km", "category": "t"}),
    ("patch", "/api/v1/action-types/metro_ride", {"active": False}),
    ("get", "/api/v1/rule-sets", None),
    ("post", "/api/v1/rule-sets", {}),
    ("get", "/api/v1/rule-sets/1", None),
    ("patch", "/api/v1/rule-sets/1/rules/metro_ride", {"source": "x"}),
    ("put", "/api/v1/rule-sets/1/caps", {"caps": []}),
    ("post", "/api/v1/rule-sets/1/validate", None),
    ("post", "/api/v1/rule-sets/1/preview", {}),
    ("post", "/api/v1/rule-sets/1/activate", {}),
    ("delete", "/api/v1/rule-sets/1", None),
    ("get", "/api/v1/rule-sets/diff?from=1&to=1", None),
    ("get", "/api/v1/audit-log", None),
    ("post", "/api/v1/residents/{rid}/block", {"reason": "x"}),
    ("post", "/api/v1/residents/{rid}/unblock", {"reason": "x"}),
    ("get", "/api/v1/staff", None),
    ("post", "/api/v1/staff", {"username": "x", "password": "x", "role": "admin"}),
    ("get", "/api/v1/staff/1", None),
    ("put", "/api/v1/staff/1/communities", {"community_ids": [1]}),
    ("post", "/api/v1/staff/1/disable", {"reason": "x"}),
    ("post", "/api/v1/staff/1/enable", {"reason": "x"}),
    ("post", "/api/v1/staff/1/password", {"new_password": "x"}),
]
STAFF_ONLY = [
    ("get", "/api/v1/streets", None),
    ("get", "/api/v1/communities", None),
    ("post", "/api/v1/residents/search", {}),
    ("get", "/api/v1/residents/{rid}", None),
    ("get", "/api/v1/residents/{rid}/ledger", None),
]


@pytest.fixture
def area(session, admin_token, worker_token, resident_token):
    """Two streets; the worker works in 鹊山 only. Residents: 王芳 and 王强 in 鹊山, 李娜 in 崔寨."""
    install_rules(session)
    daqiao, cuizhai = make_street(session, "大桥街道"), make_street(session, "崔寨街道")
    queshan, qiaonan = make_community(session, "鹊山社区", daqiao), make_community(session, "桥南社区", daqiao)
    cuizhai_c = make_community(session, "崔寨社区", cuizhai)
    wang_fang = resident_in(session, queshan, "王芳", openid="oWF-0001")
    wang_qiang = resident_in(session, queshan, "王强", openid="oWQ-0002")
    li_na = resident_in(session, cuizhai_c, "李娜", openid="oLN-0003")
    session.commit()
    area = SimpleNamespace(daqiao=daqiao, cuizhai=cuizhai, queshan=queshan, qiaonan=qiaonan, cuizhai_c=cuizhai_c,
                           wang_fang=wang_fang, wang_qiang=wang_qiang, li_na=li_na, admin=bearer(admin_token),
                           worker=bearer(worker_token(queshan)), resident=bearer(resident_token(li_na)))
    session.commit()
    return area


# --- who may reach what ----------------------------------------------------------------------

@pytest.mark.parametrize("method, url, body", ADMIN_ONLY)
def test_residents_and_workers_cannot_reach_admin_endpoints(client, session, area, method, url, body):
    before = snapshot(session)
    for who in (area.resident, area.worker):
        response = getattr(client, method)(url.format(rid=area.wang_fang.id), json=body, headers=who)
        assert_error(response, 403, "forbidden")
    assert_error(getattr(client, method)(url.format(rid=area.wang_fang.id), json=body), 401, "unauthorized")
    assert snapshot(session) == before


@pytest.mark.parametrize("method, url, body", STAFF_ONLY)
def test_residents_cannot_reach_staff_endpoints(client, area, method, url, body):
    assert_error(getattr(client, method)(url.format(rid=area.li_na.id), json=body, headers=area.resident), 403,
                 "forbidden")


# --- streets and communities -----------------------------------------------------------------

def test_admin_sees_every_street_and_community(client, area):
    streets = client.get("/api/v1/streets", headers=area.admin).get_json()
    assert [(s["name"], [c["name"] for c in s["communities"]]) for s in streets] == [
        ("大桥街道", ["鹊山社区", "桥南社区"]), ("崔寨街道", ["崔寨社区"])]
    communities = client.get(f"/api/v1/communities?street_id={area.daqiao.id}", headers=area.admin).get_json()
    assert [(c["name"], c["street_name"]) for c in communities] == [("鹊山社区", "大桥街道"), ("桥南社区", "大桥街道")]


def test_worker_sees_only_their_communities(client, area):
    streets = client.get("/api/v1/streets", headers=area.worker).get_json()
    assert [(s["name"], [c["name"] for c in s["communities"]]) for s in streets] == [("大桥街道", ["鹊山社区"])]
    assert [c["name"] for c in client.get("/api/v1/communities", headers=area.worker).get_json()] == ["鹊山社区"]
    assert_error(client.get("/api/v1/communities?street_id=x", headers=area.worker), 422, "validation_error",
                 ["street_id"])


# --- resident search and detail --------------------------------------------------------------

def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [r["display_name"] for r in response.get_json()]


def test_admin_searches_by_name_openid_prefix_community_and_status(client, session, area):
    area.li_na.status = "blocked"
    session.add(area.li_na)
    session.commit()
    def search(body, query=""):
        return client.post(f"/api/v1/residents/search{query}", json=body, headers=area.admin)

    assert names(search({"q": "王"})) == ["王芳", "王强"]
    assert names(search({"q": "oLN"})) == ["李娜"]
    assert names(search({"q": "LN-0003"})) == []  # openid matches by prefix only
    assert names(search({"q": "%"})) == []  # a literal %, not a wildcard
    assert names(search({"community_id": area.cuizhai_c.id})) == ["李娜"]
    assert names(search({"status": "blocked"})) == ["李娜"]
    response = search({}, "?page_size=2&page=2")
    assert names(response) == ["李娜"]
    assert json.loads(response.headers["X-Pagination"])["total"] == 3


def test_worker_searches_only_their_communities(client, area):
    def search(body):
        return client.post("/api/v1/residents/search", json=body, headers=area.worker)

    assert names(search({})) == ["王芳", "王强"]
    assert names(search({"q": "李"})) == []
    assert_error(search({"community_id": area.cuizhai_c.id}), 404, "community_not_found")
    assert_error(search({"status": "sleeping"}), 422, "validation_error", ["status"])
    assert_error(search({"q": ""}), 422, "validation_error", ["q"])


def test_searches_by_openid_or_phone_are_not_taken_in_the_url(client, area):
    """Search text must not reach proxies' and access logs' URLs: the old GET form is gone."""
    assert_error(client.get("/api/v1/residents?q=oLN", headers=area.admin), 404, "not_found")


def test_resident_detail_has_the_balance_and_workers_see_only_theirs(client, session, area):
    feed(session, area.wang_fang, quantity="10")
    session.commit()
    body = client.get(f"/api/v1/residents/{area.wang_fang.id}", headers=area.worker).get_json()
    assert (body["display_name"], body["community_name"], body["openid"]) == ("王芳", "鹊山社区", "oWF-0001")
    assert (body["balance"]["points"], body["balance"]["grams"]) == (468, 468)
    assert_error(client.get(f"/api/v1/residents/{area.li_na.id}", headers=area.worker), 404, "resident_not_found")
    assert_error(client.get("/api/v1/residents/999999", headers=area.admin), 404, "resident_not_found")
    assert client.get(f"/api/v1/residents/{area.li_na.id}", headers=area.admin).status_code == 200


def test_ledger_is_paged_newest_first(client, session, area):
    credits = [feed(session, area.wang_qiang, quantity=quantity).credit for quantity in ("1", "2", "3")]
    adjust_balance(session, area.wang_qiang.id, 7, "补发", utcnow(), actor_id=None, reference="adjust:paged")
    session.commit()
    response = client.get(f"/api/v1/residents/{area.wang_qiang.id}/ledger?page_size=2", headers=area.worker)
    entries = response.get_json()
    assert [(e["kind"], e["points"]) for e in entries] == [("adjust", 7), ("earn", sum(c.points for c in credits))]
    # The three credits share one earn lot (they expire on the same date); each is in the resident's history.
    assert entries[1]["remaining"] == entries[1]["points"] and "credit_id" not in entries[1]
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    assert_error(client.get(f"/api/v1/residents/{area.li_na.id}/ledger", headers=area.worker), 404,
                 "resident_not_found")


# --- adjustments -----------------------------------------------------------------------------

def test_admin_adjusts_a_balance_with_a_reason_and_it_is_audited(client, session, area):
    url = f"/api/v1/residents/{area.li_na.id}/adjustments"
    response = client.post(url, json={"points": 120, "reason": "线下活动补录"}, headers=area.admin)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["entry"]["kind"], body["entry"]["points"], body["entry"]["reason"]) == ("adjust", 120, "线下活动补录")
    assert body["entry"]["reference"].startswith("adjust:") and body["balance"]["points"] == 120
    taken = client.post(url, json={"points": -20, "reason": "重复发放"}, headers=area.admin).get_json()
    assert taken["balance"]["points"] == 100 and taken["entry"]["points"] == -20
    assert balance_of(session, area.li_na) == 100
    log = client.get(f"/api/v1/audit-log?verb=balance.adjust&target_id={area.li_na.id}", headers=area.admin)
    assert [(e["detail"]["points"], e["detail"]["reason"]) for e in log.get_json()] == [
        (-20, "重复发放"), (120, "线下活动补录")]


@pytest.mark.parametrize("body, status, code, field", [
    ({"points": -1, "reason": "扣减"}, 409, "insufficient_points", None),
    ({"points": 0, "reason": "无"}, 422, "invalid_points", "points"),
    ({"points": 10}, 422, "validation_error", "reason"),
    ({"points": 10, "reason": "   "}, 422, "invalid_input", "reason"),
    ({"points": 1.5, "reason": "x"}, 422, "validation_error", "points"),
    ({"points": "10", "reason": "x"}, 422, "validation_error", "points"),
    ({"points": 10 ** 9, "reason": "x"}, 422, "validation_error", "points"),
])
def test_bad_adjustments_are_refused_and_write_nothing(client, session, area, body, status, code, field):
    before = snapshot(session)
    response = client.post(f"/api/v1/residents/{area.li_na.id}/adjustments", json=body, headers=area.admin)
    assert_error(response, status, code, [field] if field else [])
    assert snapshot(session) == before


def test_adjusting_an_unknown_resident_is_404(client, area):
    response = client.post("/api/v1/residents/999999/adjustments", json={"points": 5, "reason": "x"},
                           headers=area.admin)
    assert_error(response, 404, "resident_not_found")


# --- the audit log ---------------------------------------------------------------------------

def test_audit_log_filters_by_verb_target_and_actor(client, area):
    client.post(f"/api/v1/residents/{area.wang_fang.id}/adjustments", json={"points": 5, "reason": "a"},
                headers=area.admin)
    client.patch("/api/v1/action-types/walk_steps", json={"name": "健步走"}, headers=area.admin)
    admin_id = client.get("/api/v1/auth/me", headers=area.admin).get_json()["id"]
    every = client.get("/api/v1/audit-log", headers=area.admin).get_json()
    assert [e["verb"] for e in every][:2] == ["action_type.update", "balance.adjust"]
    by_target = client.get("/api/v1/audit-log?target_type=action_type&target_id=walk_steps", headers=area.admin)
    assert [e["verb"] for e in by_target.get_json()] == ["action_type.update"]
    mine = client.get(f"/api/v1/audit-log?actor_id={admin_id}", headers=area.admin).get_json()
    assert {e["verb"] for e in mine} == {"action_type.update", "balance.adjust"}
    assert client.get(f"/api/v1/audit-log?actor_id={admin_id + 1000}", headers=area.admin).get_json() == []
    assert_error(client.get("/api/v1/audit-log?actor_id=me", headers=area.admin), 422, "validation_error",
                 ["actor_id"])


def test_openapi_document_lists_the_endpoints_and_says_how_numbers_are_computed(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/me/actions", "/api/v1/me/credits/{credit_id}/explanation", "/api/v1/rule-sets/diff",
                 "/api/v1/rule-sets/{rule_set_id}/preview", "/api/v1/residents/{resident_id}/adjustments",
                 "/api/v1/audit-log"):
        assert path in spec["paths"]
    header = spec["paths"]["/api/v1/me/actions"]["post"]["parameters"][0]
    assert (header["in"], header["name"], header["required"]) == ("header", "Idempotency-Key", True)
    description = spec["info"]["description"]
    for phrase in ("rounded down to whole numbers", "1 point per gram", "self-declared 0.5", "Asia/Shanghai",
                   "capped", "X-Pagination"):
        assert phrase in description
    assert client.get("/api/v1/docs").status_code == 200


def test_staff_find_a_resident_by_mobile_number(client, session, admin_token):
    from carbon_credit.residents.accounts import set_phone

    resident = make_resident(session, display_name="王芳")
    other = make_resident(session, display_name="李强")
    set_phone(session, resident.id, "138 0013 8000", FIXED_NOW, key=client.application.config["PHONE_HASH_KEY"])
    session.commit()
    response = client.post("/api/v1/residents/search", json={"q": "13800138000"}, headers=auth_header(admin_token))
    assert response.status_code == 200
    assert [r["id"] for r in response.get_json()] == [resident.id]
    assert other.id not in [r["id"] for r in response.get_json()]
