"""Every operation of the OpenAPI document, called by every kind of caller, gets the answer the README's
access rules give it.

The operations are read from the document itself (a new endpoint is probed without touching this
file), with the roles each may be called by (``x-roles``). The callers: nobody, a resident, a worker
of community A, a worker of community B, an admin, a blocked resident and a staff token revoked by
logging out. Path ids name real objects of both communities. For every call: never a 5xx, the status
is one the operation lists by number, and a 4xx is the error envelope. Beyond that:

- no token: 401 ``unauthorized``; a blocked resident's token: 401 ``resident_blocked``; a revoked
  token: 401 ``token_revoked`` (on every operation that takes a bearer token);
- a role the operation does not list: 403 ``forbidden``;
- a worker or resident naming an object of the other community gets exactly the answer an id that
  names nothing gets (status and code), and nothing of that object in the body.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses

from carbon_credit.residents.accounts import block_resident
from carbon_credit.rewards.redemptions import redeem_reward
from carbon_credit.timeutil import utcnow

from .api_helpers import feed, install_rules
from .campaign_support import running_campaign
from .console_support import pending_claim
from .factories import login, make_community, make_resident, make_staff, make_street
from .outbound_support import QRCODE_CREATE, add_api, add_stable_token, rsps  # noqa: F401  (fixture)
from .reward_support import give_points, make_reward
from .test_openapi import OAUTH_REFUSED, SPEC_PATH, WECHAT, error_envelope_problem

NOWHERE = 2_000_000_000  # an id no object of the probe has
# Operations that end the caller's session or account: called last, so the other calls keep their token.
ENDING = {("post", "/api/v1/auth/logout"), ("delete", "/api/v1/me"), ("post", "/api/v1/auth/password")}
# Path parameters whose objects do not belong to a community (or are the caller's own business):
# only an admin reaches their operations, so the probe names the same object for both sides.
UNSCOPED = {"code", "action_type", "rule_set_id", "partner_id", "budget_id", "staff_id"}


def _operations(document) -> list[tuple[str, str, dict]]:
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                found.append((method, path, operation))
    return sorted(found, key=lambda op: ((op[0], op[1]) in ENDING, op[1], op[0]))


def _side(world, side: str) -> dict:
    """Path parameter -> id of one community's objects ('own': A's, 'other': B's)."""
    return {name: ids[0 if side == "own" else 1] for name, ids in world["ids"].items()}


def _query(operation, ids) -> dict:
    query = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query" or not parameter.get("required"):
            continue
        schema = parameter.get("schema", {})
        if parameter["name"] in ids:
            query[parameter["name"]] = ids[parameter["name"]]
        elif "enum" in schema:
            query[parameter["name"]] = schema["enum"][0]
        elif schema.get("type") == "integer":
            query[parameter["name"]] = ids.get("rule_set_id", 1)
        else:
            query[parameter["name"]] = "1"
    return query


def _resolve(document, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _value(document, name: str, schema: dict, ids: dict, body_ids: dict):
    """A plausible value for one field: enough for the body to pass validation, so scope decides."""
    schema = _resolve(document, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return body_ids.get(name, 1)
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return _body(document, schema, ids, body_ids)
    if schema.get("format") == "date-time":
        return utcnow().isoformat()
    if schema.get("format") == "date":
        return utcnow().date().isoformat()
    return "探针"


def _body(document, schema: dict, ids: dict, body_ids: dict) -> dict:
    """The required fields, and any field naming one of the probe's objects (e.g. ``resident_id``)."""
    schema = _resolve(document, schema)
    properties = schema.get("properties", {})
    names = [n for n in properties if n in schema.get("required", []) or n in body_ids]
    return {name: _value(document, name, properties[name], ids, body_ids) for name in names}


def _call(client, method, path, operation, ids, token, document=None, body_ids=None):
    url = path
    for name, value in ids.items():
        url = url.replace("{" + name + "}", str(value))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
        headers["Idempotency-Key"] = "role-probe-1"
    content = operation.get("requestBody", {}).get("content", {})
    kwargs = {"query_string": _query(operation, ids), "headers": headers}
    if "application/json" in content:
        schema = content["application/json"].get("schema", {})
        kwargs["json"] = _body(document, schema, ids, body_ids or ids) if document else {}
    elif content:
        kwargs["data"] = {}
    return client.open(url, method=method.upper(), **kwargs)


def _world(app, client, session, rsps):  # noqa: F811
    install_rules(session)
    now = utcnow()
    streets = [make_street(session, "甲街道"), make_street(session, "乙街道")]
    communities = [make_community(session, "甲社区", streets[0]), make_community(session, "乙社区", streets[1])]
    residents = [make_resident(session, f"o-probe-{n}", c, display_name=f"居民{n}") for n, c in
                 zip("AB", communities)]
    blocked = make_resident(session, "o-probe-blocked", communities[0], display_name="封禁居民")
    admin = make_staff(session, "admin", "admin")
    workers = [make_staff(session, f"worker-{n}", "worker", communities=[c]) for n, c in zip("ab", communities)]
    make_staff(session, "worker-revoked", "worker", communities=[communities[0]])
    credits = [feed(session, r, now=now) for r in residents]
    campaigns = [running_campaign(session, [c], now=now, start=now - timedelta(days=1)) for c in communities]
    rewards = [make_reward(session, communities=[c], now=now, title=f"{c.name}奖品") for c in communities]
    redemptions = []
    for resident, reward in zip(residents, rewards):
        give_points(session, resident, 1000, at=now)
        redemptions.append(redeem_reward(session, resident.id, reward.id, now)[0])
    claims = [pending_claim(session, r, invoice_no=f"04400190011{n}-1234567{n}", now=now)
              for n, r in enumerate(residents)]
    from carbon_credit.org.stations import create_station

    stations = [create_station(session, {"name": f"{c.name}回收站", "kind": "recycling_station", "community_id": c.id,
                                         "address": "东侧", "active": True}, now) for c in communities]
    session.commit()
    tokens = {"admin": login(client, "admin"), "worker A": login(client, "worker-a"),
              "worker B": login(client, "worker-b")}
    revoked = login(client, "worker-revoked")
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {revoked}"}).status_code == 204
    from api.auth import issue_resident_token

    with app.app_context():
        tokens["resident"] = issue_resident_token(residents[0])["access_token"]
        resident_b = issue_resident_token(residents[1])["access_token"]
        blocked_token = issue_resident_token(blocked)["access_token"]
    block_resident(session, blocked.id, now, actor_id=admin.id, reason="probe")
    session.commit()
    admin_headers = {"Authorization": f"Bearer {tokens['admin']}"}
    cards = []
    for token, number in ((tokens["resident"], "31010000111122"), (resident_b, "31010000333344")):
        answer = client.post("/api/v1/me/cards", json={"number": number}, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201, answer.get_json()
        cards.append(answer.get_json()["card"]["id"])
    partner = client.post("/api/v1/partners", headers=admin_headers, json={
        "name": "探针公交", "kind": "transit_operator", "action_types": ["bus_ride"], "active": True})
    assert partner.status_code == 201, partner.get_json()
    budget = client.post("/api/v1/budgets", headers=admin_headers, json={
        "month": now.strftime("%Y-%m"), "points_limit": 100000, "mode": "scale", "scale_factor": "0.5"})
    assert budget.status_code == 201, budget.get_json()
    rule_set = client.get("/api/v1/rule-sets", headers=admin_headers).get_json()[0]["id"]
    pair = lambda objects: [o.id for o in objects]  # noqa: E731
    ids = {
        "street_id": pair(streets), "community_id": pair(communities), "resident_id": pair(residents),
        "staff_id": pair(workers), "station_id": pair(stations), "campaign_id": pair(campaigns),
        "reward_id": pair(rewards), "redemption_id": pair(redemptions), "action_id": [c.id for c in claims],
        "credit_id": [c.credit.id for c in credits], "card_id": cards,
        "partner_id": [partner.get_json()["id"]] * 2, "budget_id": [budget.get_json()["id"]] * 2,
        "rule_set_id": [rule_set] * 2, "code": ["metro_ride"] * 2, "action_type": ["metro_ride"] * 2,
    }
    # What of community B no caller of community A may read: names, and titles of its objects.
    secrets_of_b = ["乙社区", "居民B", "乙社区奖品", "乙社区回收站"]
    return {"ids": ids, "tokens": tokens, "blocked": blocked_token, "revoked": revoked, "secrets_of_b": secrets_of_b}


def _stub_wechat(mock) -> None:
    """WeChat issues tokens and QR codes (each call of the probe its own answer) and refuses sign-in codes."""
    add_stable_token(mock)
    for _ in range(10):
        add_api(mock, QRCODE_CREATE, "qrcode_create_temporary")
    mock.add(responses.GET, WECHAT, json=OAUTH_REFUSED)
    mock.add(responses.POST, WECHAT, json=OAUTH_REFUSED)


def _problems(method, path, operation, caller, answer) -> list[str]:
    where = f"{caller}: {method.upper()} {path} -> {answer.status_code} {answer.get_data(as_text=True)[:200]}"
    listed = set(operation["responses"]) - {"default"}
    found = []
    if answer.status_code >= 500:
        found.append(f"server error: {where}")
    elif str(answer.status_code) not in listed:
        found.append(f"status not listed {sorted(listed)}: {where}")
    problem = error_envelope_problem(_Answer(answer))
    if problem:
        found.append(f"error body {problem}: {where}")
    return found


class _Answer:
    """A Flask test response read the way error_envelope_problem reads a schemathesis one."""

    def __init__(self, response):
        self.status_code = response.status_code
        self._response = response

    def json(self):
        return json.loads(self._response.get_data(as_text=True))


def _expect(answer, status: int, code: str) -> bool:
    body = answer.get_json(silent=True) or {}
    return answer.status_code == status and body.get("code") == code


def test_every_operation_answers_every_caller_as_the_access_rules_say(app, client, session, db_url,
                                                                       rsps):  # noqa: F811
    _stub_wechat(rsps)
    world = _world(app, client, session, rsps)
    document = client.get(SPEC_PATH).get_json()
    operations = _operations(document)
    own, other = _side(world, "own"), _side(world, "other")
    nowhere = {name: (value if name in UNSCOPED else NOWHERE) for name, value in own.items()}
    failures, calls = [], 0
    for method, path, operation in operations:
        security = operation.get("security") or []
        bearer = {"bearerAuth": []} in security
        for caller, token, status, code in (("nobody", None, 401, "unauthorized"),
                                            ("blocked resident", world["blocked"], 401, "resident_blocked"),
                                            ("revoked token", world["revoked"], 401, "token_revoked")):
            if not security:
                continue
            if caller != "nobody" and not bearer:
                continue
            answer = _call(client, method, path, operation, own, token)
            calls += 1
            failures += _problems(method, path, operation, caller, answer)
            if not bearer:  # signed partner requests: 401 with the signature's own code
                code = (answer.get_json(silent=True) or {}).get("code") if answer.status_code == 401 else code
            if not _expect(answer, status, code):
                failures.append(f"{caller} wanted {status} {code}: {method.upper()} {path} -> {answer.status_code} "
                                f"{answer.get_data(as_text=True)[:200]}")
    roles = {"resident": "resident", "worker A": "worker", "worker B": "worker", "admin": "admin"}
    for caller in ("resident", "worker A", "worker B", "admin"):
        token = world["tokens"][caller]
        for method, path, operation in operations:
            if (method, path) in ENDING and caller != "resident":
                continue  # ends the staff caller's token; the revoked-token caller covers what follows
            allowed = operation.get("x-roles")
            if operation.get("security") == [{"bearerAuth": []}] and not allowed:
                failures.append(f"{method.upper()} {path} does not list the roles that may call it (x-roles)")
            mine, theirs = (other, own) if caller == "worker B" else (own, other)
            answer = _call(client, method, path, operation, mine, token, document)
            calls += 1
            failures += _problems(method, path, operation, caller, answer)
            if allowed is not None and roles[caller] not in allowed:
                if not _expect(answer, 403, "forbidden"):
                    failures.append(f"{caller} wanted 403 forbidden: {method.upper()} {path} -> {answer.status_code}")
                continue
            if caller == "admin" or "{" not in path or set(_names(path)) <= UNSCOPED:
                continue
            # The body names the caller's own objects; only the path names the other community's.
            foreign = _call(client, method, path, operation, theirs, token, document, mine)
            absent = _call(client, method, path, operation, nowhere, token, document, mine)
            calls += 2
            failures += _problems(method, path, operation, caller, foreign)
            seen = (foreign.status_code, (foreign.get_json(silent=True) or {}).get("code"))
            unknown = (absent.status_code, (absent.get_json(silent=True) or {}).get("code"))
            if seen != unknown:
                failures.append(f"{caller} tells the other community's object from none: {method.upper()} {path} "
                                f"-> {seen} against {unknown}: {foreign.get_data(as_text=True)[:200]}")
            if caller != "worker B":
                text = foreign.get_data(as_text=True)
                leaked = [s for s in world["secrets_of_b"] if s in text]
                if leaked:
                    failures.append(f"{caller} reads {leaked}: {method.upper()} {path}")
    print(f"role probe: {len(operations)} operations, {calls} calls, {len(failures)} failures")
    assert len(operations) > 90
    assert not failures, f"{len(failures)} of {calls} calls answered against the access rules:\n" + "\n".join(failures)


def _names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@pytest.mark.parametrize("caller", ["worker A", "resident"])
def test_lists_never_show_the_other_communitys_objects(app, client, session, db_url, rsps, caller):  # noqa: F811
    add_stable_token(rsps)
    world = _world(app, client, session, rsps)
    headers = {"Authorization": f"Bearer {world['tokens'][caller]}"}
    document = client.get(SPEC_PATH).get_json()
    role = "worker" if caller == "worker A" else "resident"
    read = 0
    for method, path, operation in _operations(document):
        if method != "get" or "{" in path or role not in (operation.get("x-roles") or []):
            continue
        answer = client.get(path, headers=headers, query_string=_query(operation, _side(world, "own")))
        read += 1
        text = answer.get_data(as_text=True)
        assert answer.status_code < 500, (path, text[:300])
        leaked = [s for s in world["secrets_of_b"] if s in text]
        assert not leaked, f"{caller} reads {leaked} in GET {path}"
    assert read > 5
