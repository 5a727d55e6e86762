"""The rewards endpoints: catalogue, redeeming with an Idempotency-Key, vouchers and cancellation."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carbon_credit.models import AuditLog, Redemption, Reward
from carbon_credit.timeutil import utcnow

from .factories import auth_header, make_community, make_resident
from .reward_support import balance, count, give_points, make_reward, stock_of


def reward_body(**kw):
    now = utcnow()
    body = {"kind": "donation", "title": "种一棵树", "description": "以你的名义在黄河岸边种树", "points_cost": 500,
            "stock": 20, "per_resident_limit": 1, "visible_from": (now - timedelta(days=1)).isoformat(),
            "visible_until": (now + timedelta(days=30)).isoformat(), "community_ids": []}
    body.update(kw)
    return body


def test_admin_adds_a_reward_and_bad_input_is_refused_with_nothing_written(client, session, admin_token):
    created = client.post("/api/v1/rewards", json=reward_body(), headers=auth_header(admin_token))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["kind"] == "donation" and created.get_json()["community_ids"] == []

    negative = client.post("/api/v1/rewards", json=reward_body(stock=-1), headers=auth_header(admin_token))
    assert negative.status_code == 422
    assert negative.get_json()["code"] == "validation_error" and "stock" in negative.get_json()["errors"]
    start = utcnow()
    backwards = client.post("/api/v1/rewards", headers=auth_header(admin_token), json=reward_body(
        visible_from=start.isoformat(), visible_until=(start - timedelta(days=1)).isoformat()))
    assert backwards.status_code == 422 and "visible_until" in backwards.get_json()["errors"]
    free = client.post("/api/v1/rewards", json=reward_body(points_cost=0), headers=auth_header(admin_token))
    assert free.status_code == 422 and "points_cost" in free.get_json()["errors"]
    assert count(session, Reward) == 1


def test_workers_manage_rewards_of_their_own_communities_only(client, session, worker_token):
    mine, theirs = make_community(session), make_community(session)
    token = worker_token(mine)
    outside = client.post("/api/v1/rewards", json=reward_body(community_ids=[theirs.id]), headers=auth_header(token))
    citywide = client.post("/api/v1/rewards", json=reward_body(community_ids=[]), headers=auth_header(token))
    # Another community is answered as an unknown one; a city-wide reward is beyond a worker's role.
    assert (outside.status_code, citywide.status_code) == (422, 403)
    assert outside.get_json()["errors"] == {"community_ids": [f"unknown ids {[theirs.id]}"]}
    ok = client.post("/api/v1/rewards", json=reward_body(community_ids=[mine.id]), headers=auth_header(token))
    assert ok.status_code == 201
    reward_id = ok.get_json()["id"]
    patched = client.patch(f"/api/v1/rewards/{reward_id}", json={"stock": 3}, headers=auth_header(token))
    assert patched.status_code == 200 and patched.get_json()["stock"] == 3
    bad = client.patch(f"/api/v1/rewards/{reward_id}", json={"stock": -2}, headers=auth_header(token))
    session.commit()  # end the test session's read snapshot (SQLite) before looking
    assert bad.status_code == 422 and stock_of(session, reward_id) == 3
    audit = session.execute(select(AuditLog.verb).order_by(AuditLog.id)).scalars().all()
    assert audit == ["reward.create", "reward.update"]


def test_resident_redeems_once_per_idempotency_key_and_sees_it(client, session, resident_token):
    community = make_community(session)
    resident = make_resident(session, community=community)
    give_points(session, resident, 250)
    now = utcnow()
    reward = make_reward(session, now=now, points_cost=100, stock=5, communities=[community])
    make_reward(session, now=now, title="别的社区", communities=[make_community(session)])
    session.commit()
    headers = {**auth_header(resident_token(resident)), "Idempotency-Key": "tap-1"}

    offered = client.get("/api/v1/me/rewards", headers=headers).get_json()
    assert [(r["id"], r["held"], r["redeemable"]) for r in offered] == [(reward.id, 0, True)]
    keyless = client.post("/api/v1/me/redemptions", json={"reward_id": reward.id}, headers=auth_header(resident_token(resident)))
    assert keyless.status_code == 422 and keyless.get_json()["errors"] == {
        "Idempotency-Key": ["Missing data for required field."]}
    first = client.post("/api/v1/me/redemptions", json={"reward_id": reward.id}, headers=headers)
    retry = client.post("/api/v1/me/redemptions", json={"reward_id": reward.id}, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.get_json()["voucher_code"] == retry.get_json()["voucher_code"]
    session.commit()
    assert balance(session, resident) == 150 and stock_of(session, reward.id) == 4
    mine = client.get("/api/v1/me/redemptions", headers=headers).get_json()
    assert [(r["id"], r["reward_title"], r["status"]) for r in mine] == [(first.get_json()["id"], "公交乘车券", "issued")]


@pytest.mark.parametrize("points, stock, code", [(50, 5, "insufficient_points"), (500, 0, "out_of_stock")])
def test_redemption_refused_with_409_writes_nothing(client, session, resident_token, points, stock, code):
    resident = make_resident(session)
    give_points(session, resident, points)
    reward = make_reward(session, now=utcnow(), points_cost=100, stock=stock)
    session.commit()
    response = client.post("/api/v1/me/redemptions", json={"reward_id": reward.id},
                           headers={**auth_header(resident_token(resident)), "Idempotency-Key": "k"})
    assert response.status_code == 409 and response.get_json()["code"] == code
    session.commit()
    assert count(session, Redemption) == 0
    assert balance(session, resident) == points and stock_of(session, reward.id) == stock


def test_worker_uses_voucher_once_and_staff_cancel_refunds(client, session, worker_token, resident_token):
    community = make_community(session)
    resident = make_resident(session, community=community)
    give_points(session, resident, 300)
    reward = make_reward(session, now=utcnow(), points_cost=100, stock=5, communities=[community])
    session.commit()
    token = worker_token(community)
    headers = {**auth_header(resident_token(resident)), "Idempotency-Key": "a"}
    code = client.post("/api/v1/me/redemptions", json={"reward_id": reward.id}, headers=headers).get_json()["voucher_code"]
    second = client.post("/api/v1/me/redemptions", json={"reward_id": reward.id},
                         headers={**headers, "Idempotency-Key": "b"}).get_json()

    assert client.post(f"/api/v1/vouchers/{code}/use", headers=auth_header(token)).status_code == 404
    used = client.post("/api/v1/vouchers/use", json={"code": code}, headers=auth_header(token))
    again = client.post("/api/v1/vouchers/use", json={"code": code}, headers=auth_header(token))
    assert used.status_code == 200 and used.get_json()["status"] == "used"
    assert again.status_code == 409 and again.get_json()["code"] == "voucher_already_used"

    cancel = client.post(f"/api/v1/redemptions/{second['id']}/cancel", json={"reason": "居民要求"},
                         headers=auth_header(token))
    twice = client.post(f"/api/v1/redemptions/{second['id']}/cancel", json={}, headers=auth_header(token))
    assert cancel.status_code == 200 and cancel.get_json()["status"] == "cancelled"
    assert twice.status_code == 409 and twice.get_json()["code"] == "redemption_cancelled"
    session.commit()
    assert balance(session, resident) == 200 and stock_of(session, reward.id) == 4
    listed = client.get("/api/v1/redemptions?status=cancelled", headers=auth_header(token)).get_json()
    assert [r["id"] for r in listed] == [second["id"]]
    verbs = session.execute(select(AuditLog.verb).order_by(AuditLog.id)).scalars().all()
    assert verbs == ["voucher.use", "redemption.cancel"]


def test_resident_cancels_own_unused_redemption(client, session, resident_token):
    resident = make_resident(session)
    give_points(session, resident, 100)
    reward = make_reward(session, now=utcnow(), points_cost=100, stock=1)
    session.commit()
    headers = {**auth_header(resident_token(resident)), "Idempotency-Key": "x"}
    redemption = client.post("/api/v1/me/redemptions", json={"reward_id": reward.id}, headers=headers).get_json()
    response = client.post(f"/api/v1/me/redemptions/{redemption['id']}/cancel", headers=headers)
    assert response.status_code == 200
    session.commit()
    assert balance(session, resident) == 100 and stock_of(session, reward.id) == 1
