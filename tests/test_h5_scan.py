"""扫码签到 on the residents' pages: a scanned QR URL or a typed code checks the resident in."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carbon_credit.models import CampaignCheckin, QRCode
from carbon_credit.timeutil import utcnow

from .campaign_support import install_rules, plain_campaign
from .console_support import csrf_token
from .factories import make_community, make_resident
from .h5_support import demo_app, h5_sign_in  # noqa: F401


@pytest.fixture
def event(session):
    install_rules(session)
    home = make_community(session, "滨河社区")
    now = utcnow()
    campaign = plain_campaign(session, [home], title="垃圾分类周", now=now, active_from=now - timedelta(days=1),
                              checkin_points=10, checkin_qr="temporary")
    session.add(QRCode(scene=f"campaign:{campaign.id}", kind="temporary", ticket="ticket-h5",
                       url="http://weixin.qq.com/q/02h5scan", expire_seconds=86400,
                       expires_at=now + timedelta(days=1), created_at=now))
    resident = make_resident(session, community=home, display_name="王秀英")
    session.commit()
    return {"campaign": campaign, "resident": resident}


def _scan(client, code: str):
    token = csrf_token(client.get("/h5/scan").get_data(as_text=True))
    return client.post("/h5/scan", data={"code": code, "csrf_token": token})


def _checkins(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(CampaignCheckin))


def test_the_url_a_wechat_scan_returns_checks_the_resident_in(demo_app, client, session, event):
    h5_sign_in(client, event["resident"])
    html = _scan(client, "http://weixin.qq.com/q/02h5scan").get_data(as_text=True)
    assert "签到成功：垃圾分类周，获得 10 积分" in html
    assert _checkins(session) == 1


def test_a_typed_code_checks_in_and_a_second_time_is_refused_in_words(demo_app, client, session, event):
    h5_sign_in(client, event["resident"])
    assert "签到成功" in _scan(client, f"campaign：{event['campaign'].id}").get_data(as_text=True)
    again = _scan(client, f"campaign:{event['campaign'].id}")
    assert again.status_code == 422 and "今天已在「垃圾分类周」签到过了" in again.get_data(as_text=True)
    assert _checkins(session) == 1


def test_an_unknown_code_is_explained_and_stores_nothing(demo_app, client, session, event):
    h5_sign_in(client, event["resident"])
    response = _scan(client, "hello")
    assert response.status_code == 422 and "没有认出这个签到码" in response.get_data(as_text=True)
    assert _checkins(session) == 0


def test_outside_wechat_the_scan_button_stays_hidden(demo_app, client, event):
    h5_sign_in(client, event["resident"])
    html = client.get("/h5/scan").get_data(as_text=True)
    assert '<p class="wx-only" hidden>' in html and 'id="code"' in html
