"""One Idempotency-Key rule on every endpoint that takes one: the same length and characters, the same
422 validation_error naming the field when it is missing or malformed, and nothing stored then."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from carbon_credit.ledger.points import adjust_balance
from carbon_credit.org.stations import create_station
from carbon_credit.timeutil import utcnow

from .api_helpers import assert_error, bearer, install_rules, resident_in, snapshot
from .factories import make_community
from .reward_support import make_reward

HEADER = "Idempotency-Key"
BAD_KEYS = [None, "", "   ", "x" * 129, "has space", "a/b", "键"]
GOOD_KEYS = ["k", "x" * 128, "3f2c9a1e-5b7d-4c11-9a0e-2f6d8b4c7a10", "tap_2"]


@pytest.fixture
def world(session, worker_token, resident_token):
    install_rules(session)
    community = make_community(session)
    resident = resident_in(session, community, "小林")
    adjust_balance(session, resident.id, 1000, "测试", utcnow(), actor_id=None, reference="test-seed")
    station = create_station(session, {"name": "回收站", "kind": "recycling_station", "community_id": community.id},
                             utcnow())
    session.commit()
    reward = make_reward(session, now=utcnow(), communities=[community], points_cost=10, stock=100)
    session.commit()
    worker = bearer(worker_token(community))
    me = bearer(resident_token(resident))
    session.commit()
    return SimpleNamespace(resident=resident, me=me, worker=worker, station_id=station.id, reward_id=reward.id)


def requests_of(world) -> dict:
    """A valid request for each operation taking the key: (method, path) -> (url, body, headers)."""
    occurred = (utcnow() - timedelta(hours=2)).isoformat()
    return {
        ("post", "/api/v1/me/actions"): (
            "/api/v1/me/actions", {"action_type": "metro_ride", "quantity": 10, "unit": "km", "occurred_at": occurred},
            world.me),
        ("post", "/api/v1/me/redemptions"): ("/api/v1/me/redemptions", {"reward_id": world.reward_id}, world.me),
        ("post", "/api/v1/stations/{station_id}/weigh-ins"): (
            f"/api/v1/stations/{world.station_id}/weigh-ins",
            {"resident_id": world.resident.id, "category": "paper", "weight_kg": "2"}, world.worker),
    }


def keyed_operations(client) -> dict:
    spec = client.get("/api/v1/openapi.json").get_json()
    found = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "header" and parameter["name"].lower() == HEADER.lower():
                    found[(method, path)] = parameter
    return found


def test_every_keyed_operation_documents_the_same_rule(client, world):
    operations = keyed_operations(client)
    assert set(operations) == set(requests_of(world)), "a new keyed endpoint needs a request in requests_of()"
    documented = {repr(sorted(p.items())) for p in operations.values()}
    assert len(documented) == 1, operations
    parameter = next(iter(operations.values()))
    assert parameter["required"] is True
    assert (parameter["schema"]["minLength"], parameter["schema"]["maxLength"]) == (1, 128)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_missing_or_malformed_key_is_the_same_422_everywhere(client, session, world, key):
    for (method, path), (url, body, headers) in requests_of(world).items():
        before = snapshot(session)
        sent = {**headers, **({HEADER: key} if key is not None else {})}
        response = getattr(client, method)(url, json=body, headers=sent)
        assert_error(response, 422, "validation_error", [HEADER])
        assert snapshot(session) == before, path


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_a_valid_key_records_once_everywhere(client, session, world, key):
    for (method, path), (url, body, headers) in requests_of(world).items():
        first = getattr(client, method)(url, json=body, headers={**headers, HEADER: key})
        assert first.status_code == 201, (path, first.get_json())
        before = snapshot(session)
        again = getattr(client, method)(url, json=body, headers={**headers, HEADER: key})
        assert again.status_code in (200, 201), (path, again.get_json())
        assert snapshot(session) == before, path
