"""奖品 pages: a voucher is used once, a cancellation refunds, and workers keep to their communities."""
from __future__ import annotations

from carbon_credit.models import Redemption, Reward
from carbon_credit.rewards.redemptions import redeem_reward

from .console_support import post_form, sign_in
from .factories import FIXED_NOW, make_community, make_resident, make_staff
from .reward_support import balance, give_points, make_reward


def _setup(session):
    mine, theirs = make_community(session, "滨河社区"), make_community(session, "孙耿社区")
    make_staff(session, "worker", "worker", communities=[mine])
    resident = make_resident(session, community=mine)
    give_points(session, resident, 500)
    reward = make_reward(session, communities=[mine])
    city_wide = make_reward(session, title="全市乘车券")
    redemption, _ = redeem_reward(session, resident.id, reward.id, FIXED_NOW)
    session.commit()
    return {"resident": resident, "reward": reward, "city_wide": city_wide, "redemption": redemption,
            "theirs": theirs}


def test_a_voucher_is_used_once_and_a_second_try_is_refused_in_chinese(client, session):
    data = _setup(session)
    sign_in(client, "worker")
    code = data["redemption"].voucher_code.lower().replace("-", " ")
    first = post_form(client, "/console/vouchers", "/console/vouchers", {"code": code})
    assert first.status_code == 200 and "核销成功" in first.get_data(as_text=True)
    again = post_form(client, "/console/vouchers", "/console/vouchers", {"code": code})
    assert again.status_code == 409 and "已经核销过了" in again.get_data(as_text=True)
    unknown = post_form(client, "/console/vouchers", "/console/vouchers", {"code": "ZZZZ-ZZZZ-ZZZZ"})
    assert unknown.status_code == 404 and "没有这个券码" in unknown.get_data(as_text=True)


def test_cancelling_a_redemption_refunds_the_points_and_the_stock(client, session):
    data = _setup(session)
    sign_in(client, "worker")
    before = balance(session, data["resident"])
    session.commit()
    response = post_form(client, "/console/redemptions", f"/console/redemptions/{data['redemption'].id}/cancel",
                         {"reason": "居民不需要了"}, follow_redirects=True)
    assert "积分已退回居民账户" in response.get_data(as_text=True)
    session.rollback()  # end this session's read snapshot (SQLite WAL) to see what the app committed
    assert session.get(Redemption, data["redemption"].id).status == "cancelled"
    assert balance(session, data["resident"]) == before + data["redemption"].points
    assert session.get(Reward, data["reward"].id).stock == 10


def test_a_worker_cannot_change_a_city_wide_reward_or_offer_one_to_another_community(client, session):
    data = _setup(session)
    sign_in(client, "worker")
    assert client.get(f"/console/rewards/{data['city_wide'].id}/edit").status_code == 403
    own = client.get(f"/console/rewards/{data['reward'].id}/edit")
    assert own.status_code == 200 and 'value="公交乘车券"' in own.get_data(as_text=True)
    response = post_form(client, "/console/rewards/new", "/console/rewards/new", {
        "kind": "goods", "title": "环保袋", "points_cost": "50", "stock": "20", "visible_from": "2026-06-01",
        "visible_until": "2026-06-30", "community_ids": str(data["theirs"].id), "active": "y"})
    assert response.status_code == 422 and "不在您负责的范围内" in response.get_data(as_text=True)
    response = post_form(client, "/console/rewards/new", "/console/rewards/new", {
        "kind": "goods", "title": "环保袋", "points_cost": "0", "stock": "20", "visible_from": "2026-06-01",
        "visible_until": "2026-06-30", "active": "y"})
    assert response.status_code == 422 and "须为大于 0 的整数" in response.get_data(as_text=True)
    session.expire_all()
    assert session.query(Reward).filter(Reward.title == "环保袋").count() == 0
