"""活动 on the residents' pages: the community's open campaigns, enrolling, my check-ins."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carbon_credit.models import CampaignEnrolment
from carbon_credit.timeutil import utcnow

from .campaign_support import install_rules, plain_campaign
from .factories import make_community, make_resident
from .h5_support import demo_app, form_token, h5_sign_in  # noqa: F401


@pytest.fixture
def drive(session):
    install_rules(session)
    home, elsewhere = make_community(session, "滨河社区"), make_community(session, "孙耿社区")
    now = utcnow()
    mine = plain_campaign(session, [home], title="垃圾分类周", now=now, active_from=now - timedelta(days=1),
                          multipliers={"recyclables_dropoff": "2"}, checkin_points=10)
    theirs = plain_campaign(session, [elsewhere], title="全国低碳日", now=now, active_from=now - timedelta(days=1))
    resident = make_resident(session, community=home, display_name="王秀英")
    session.commit()
    return {"resident": resident, "mine": mine, "theirs": theirs}


def test_a_resident_sees_their_communitys_campaigns_and_enrols(demo_app, client, session, drive):
    h5_sign_in(client, drive["resident"])
    html = client.get("/h5/campaigns").get_data(as_text=True)
    assert "垃圾分类周" in html and "全国低碳日" not in html and "积分 × 2" in html
    response = client.post(f"/h5/campaigns/{drive['mine'].id}/enrol",
                           data={"csrf_token": form_token(client, "/h5/campaigns")})
    assert response.status_code == 302
    assert "✓ 已报名" in client.get("/h5/campaigns").get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CampaignEnrolment)) == 1


def test_another_communitys_campaign_cannot_be_joined_by_its_id(demo_app, client, session, drive):
    h5_sign_in(client, drive["resident"])
    response = client.post(f"/h5/campaigns/{drive['theirs'].id}/enrol",
                           data={"csrf_token": form_token(client, "/h5/campaigns")})
    assert response.status_code == 404
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CampaignEnrolment)) == 0
