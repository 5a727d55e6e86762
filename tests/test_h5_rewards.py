"""奖品 on the residents' pages: redeem after confirming, a voucher with its QR code, cancel, nobody else's."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from carbon_credit.models import Redemption
from carbon_credit.timeutil import utcnow

from .factories import make_community, make_resident
from .h5_support import demo_app, form_token, h5_sign_in  # noqa: F401
from .reward_support import balance, give_points, make_reward, stock_of


@pytest.fixture
def shop(session):
    now = utcnow()
    community = make_community(session, "滨河社区")
    resident = make_resident(session, community=community, display_name="王秀英")
    other = make_resident(session, community=community, display_name="李建国")
    give_points(session, resident, 150, at=now)
    give_points(session, other, 150, at=now)
    reward = make_reward(session, now=now, title="公交乘车券", points_cost=100, stock=3, per_resident_limit=1)
    session.commit()
    return {"resident": resident, "other": other, "reward": reward}


def _redeem(client, reward_id: int):
    url = f"/h5/rewards/{reward_id}/redeem"
    page = client.get(url).get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    return client.post(url, data={"csrf_token": form_token(client, url), "key": key})


def test_catalogue_shows_cost_stock_and_limit(demo_app, client, shop):
    h5_sign_in(client, shop["resident"])
    html = client.get("/h5/rewards").get_data(as_text=True)
    assert "公交乘车券" in html and "100</strong> 积分" in html and "剩余 3 份" in html and "每人限兑 1 次" in html


def test_opening_the_confirmation_spends_nothing(demo_app, client, session, shop):
    h5_sign_in(client, shop["resident"])
    html = client.get(f"/h5/rewards/{shop['reward'].id}/redeem").get_data(as_text=True)
    assert "确认兑换" in html and "扣除 <strong>100</strong> 积分" in html
    assert balance(session, shop["resident"]) == 150 and stock_of(session, shop["reward"].id) == 3


def test_confirming_redeems_and_shows_the_voucher_with_qr_and_code(demo_app, client, session, shop):
    h5_sign_in(client, shop["resident"])
    response = _redeem(client, shop["reward"].id)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "/h5/vouchers/" in response.headers["Location"], response.headers["Location"]
    voucher = client.get(response.headers["Location"]).get_data(as_text=True)
    session.rollback()  # a fresh snapshot: the page's request committed on its own connection
    redemption = session.scalar(select(Redemption).where(Redemption.resident_id == shop["resident"].id))
    assert redemption.voucher_code in voucher and '<svg role="img" aria-label="券码二维码"' in voucher
    assert balance(session, shop["resident"]) == 50 and stock_of(session, shop["reward"].id) == 2


def test_a_second_redemption_over_the_limit_is_refused_in_words(demo_app, client, session, shop):
    h5_sign_in(client, shop["resident"])
    _redeem(client, shop["reward"].id)
    session.rollback()
    give_points(session, shop["resident"], 200)
    session.commit()
    response = _redeem(client, shop["reward"].id)
    assert response.status_code == 409 and "每人可兑换的次数您已用完" in response.get_data(as_text=True)
    session.rollback()
    assert stock_of(session, shop["reward"].id) == 2


def test_cancelling_after_confirming_refunds_the_points(demo_app, client, session, shop):
    h5_sign_in(client, shop["resident"])
    voucher_url = _redeem(client, shop["reward"].id).headers["Location"]
    cancel_url = voucher_url + "/cancel"
    assert "确认取消" in client.get(cancel_url).get_data(as_text=True)
    response = client.post(cancel_url, data={"csrf_token": form_token(client, cancel_url)})
    assert response.status_code == 302 and "已取消" in client.get(voucher_url).get_data(as_text=True)
    session.rollback()
    assert balance(session, shop["resident"]) == 150 and stock_of(session, shop["reward"].id) == 3


def test_another_residents_voucher_cannot_be_opened_or_cancelled(demo_app, client, session, shop):
    h5_sign_in(client, shop["other"])
    voucher_url = _redeem(client, shop["reward"].id).headers["Location"]
    client.post("/h5/logout", data={"csrf_token": form_token(client, "/h5/settings")})
    h5_sign_in(client, shop["resident"])
    assert client.get(voucher_url).status_code == 404
    token = form_token(client, "/h5/settings")
    assert client.post(voucher_url + "/cancel", data={"csrf_token": token}).status_code == 404
    session.rollback()
    redemption = session.scalar(select(Redemption).where(Redemption.resident_id == shop["other"].id))
    assert redemption.status == "issued"
