from datetime import timedelta

import pytest

from carbon_credit.campaigns import (advance_campaigns, cancel_campaign, create_campaign, publish_campaign,
                                     run_campaign_publicity, update_campaign)
from carbon_credit.errors import Conflict, InvalidInput, NotFound
from carbon_credit.models import Campaign, CampaignPublicity

from .campaign_support import campaign_values, install_rules, running_campaign, weigh_in
from .factories import FIXED_NOW, make_community, make_resident


@pytest.mark.parametrize("changes, field", [
    ({"multipliers": {"recyclables_dropoff": 0}}, "multipliers.recyclables_dropoff"),
    ({"multipliers": {"recyclables_dropoff": 1}}, "multipliers.recyclables_dropoff"),
    ({"multipliers": {"recyclables_dropoff": 1000}}, "multipliers.recyclables_dropoff"),
    ({"multipliers": {"no_such_type": 2}}, "multipliers.no_such_type"),
    ({"active_until": FIXED_NOW - timedelta(days=3)}, "active_until"),
    ({"visible_until": FIXED_NOW - timedelta(days=9)}, "visible_until"),
    ({"visible_from": FIXED_NOW}, "active_from"),
    ({"first_action_bonus": 5000}, "first_action_bonus"),
    ({"checkin_qr": "permanent"}, "checkin_qr"),
    ({"community_ids": []}, "community_ids"),
])
def test_bad_settings_are_refused_with_field_errors_and_nothing_written(session, changes, field):
    install_rules(session)
    values = campaign_values([make_community(session)], **changes)
    with pytest.raises(InvalidInput) as raised:
        create_campaign(session, values, FIXED_NOW)
    assert field in raised.value.errors
    assert session.query(Campaign).count() == 0


def test_worker_may_target_only_their_communities(session):
    install_rules(session)
    mine, theirs = make_community(session), make_community(session)
    with pytest.raises(InvalidInput) as raised:
        create_campaign(session, campaign_values([mine, theirs]), FIXED_NOW, allowed_community_ids=[mine.id])
    assert f"community_ids.{theirs.id}" in raised.value.errors
    campaign = create_campaign(session, campaign_values([theirs]), FIXED_NOW)
    with pytest.raises(NotFound):
        publish_campaign(session, campaign.id, FIXED_NOW, allowed_community_ids=[mine.id])


def test_structure_is_frozen_after_publishing_but_wording_may_change(session):
    install_rules(session)
    campaign = running_campaign(session, [make_community(session)])
    with pytest.raises(Conflict) as raised:
        update_campaign(session, campaign.id, {"multipliers": {"recyclables_dropoff": 3}}, FIXED_NOW)
    assert raised.value.code == "campaign_not_draft"
    assert update_campaign(session, campaign.id, {"title": "垃圾分类宣传周"}, FIXED_NOW).title == "垃圾分类宣传周"


def test_states_follow_the_clock_and_invalid_moves_conflict(session):
    install_rules(session)
    start = FIXED_NOW + timedelta(days=1)
    campaign = create_campaign(session, campaign_values([make_community(session)], start=start), FIXED_NOW)
    assert publish_campaign(session, campaign.id, FIXED_NOW).status == "published"
    with pytest.raises(Conflict):
        publish_campaign(session, campaign.id, FIXED_NOW)
    assert advance_campaigns(session, FIXED_NOW) == {"running": 0, "ended": 0}
    assert advance_campaigns(session, start) == {"running": 1, "ended": 0}
    assert advance_campaigns(session, start) == {"running": 0, "ended": 0}
    assert advance_campaigns(session, campaign.active_until) == {"running": 0, "ended": 1}
    assert campaign.status == "ended"
    with pytest.raises(Conflict) as raised:
        cancel_campaign(session, campaign.id, campaign.active_until)
    assert raised.value.code == "invalid_transition"


def test_publicity_goes_out_once_per_kind_on_schedule(session):
    install_rules(session)
    home = make_community(session)
    campaign = running_campaign(session, [home], remind_days_before=2)
    weigh_in(session, make_resident(session, community=home), 2, FIXED_NOW)
    sent = []

    def send(**kw):
        sent.append(kw)
        return {"msg_id": len(sent)}

    assert run_campaign_publicity(session, FIXED_NOW, send)["sent"] == 1
    assert run_campaign_publicity(session, FIXED_NOW, send)["sent"] == 0
    near_end = campaign.active_until - timedelta(days=1)
    run_campaign_publicity(session, near_end, send)
    run_campaign_publicity(session, campaign.active_until, send)
    run_campaign_publicity(session, campaign.active_until + timedelta(hours=1), send)
    assert [s["community_ids"] for s in sent] == [[home.id]] * 3
    start, reminder, results = (s["text"] for s in sent)
    assert "开始" in start and "×2" in start
    assert "还有 1 天" in reminder
    assert "1 位居民" in results and "40" in results
    kinds = {p.kind: p.status for p in session.query(CampaignPublicity)}
    assert kinds == {"start": "sent", "reminder": "sent", "results": "sent"}


def test_failed_publicity_is_retried_then_sent(session):
    install_rules(session)
    running_campaign(session, [make_community(session)])

    def broken(**kw):
        raise ConnectionError("wechat down")

    assert run_campaign_publicity(session, FIXED_NOW, broken) == {"claimed": 1, "retried": 0, "sent": 0, "failed": 1}
    assert run_campaign_publicity(session, FIXED_NOW, lambda **kw: {"ok": True})["sent"] == 1
    assert session.query(CampaignPublicity).one().attempts == 2
