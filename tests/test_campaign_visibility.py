from datetime import timedelta

from carbon_credit.campaigns import open_campaigns_for

from .campaign_support import plain_campaign
from .factories import FIXED_NOW, make_community, make_resident


def test_resident_sees_published_and_running_campaigns_of_their_community_only(session):
    home, other = make_community(session), make_community(session)
    resident = make_resident(session, community=home)
    running = plain_campaign(session, [home, other], title="垃圾分类周")
    published = plain_campaign(session, [home], status="published", active_from=FIXED_NOW + timedelta(days=2),
                               title="全国低碳日")
    plain_campaign(session, [home], status="draft", title="草稿")
    plain_campaign(session, [home], status="cancelled", title="取消")
    plain_campaign(session, [other], title="别的社区")
    seen = open_campaigns_for(session, resident, FIXED_NOW)
    assert [c.id for c in seen] == [running.id, published.id]
    assert seen[0].summary == "分类投放得双倍积分"
    assert seen[0].active_from < seen[0].active_until


def test_visible_window_bounds_what_a_resident_sees(session):
    home = make_community(session)
    resident = make_resident(session, community=home)
    campaign = plain_campaign(session, [home])
    assert open_campaigns_for(session, resident, campaign.visible_from - timedelta(seconds=1)) == []
    assert open_campaigns_for(session, resident, campaign.visible_from) == [campaign]
    assert open_campaigns_for(session, resident, campaign.visible_until - timedelta(seconds=1)) == [campaign]
    assert open_campaigns_for(session, resident, campaign.visible_until) == []


def test_resident_without_community_sees_no_campaign(session):
    plain_campaign(session, [make_community(session)])
    assert open_campaigns_for(session, make_resident(session), FIXED_NOW) == []
