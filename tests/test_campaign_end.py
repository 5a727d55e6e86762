"""Ending a running campaign early: from that moment no bonus, check-in or enrolment; what was earned stays."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carbon_credit.campaigns import (BatchCampaigns, advance_campaigns, create_campaign, end_campaign, enrol_resident,
                                     publish_campaign, run_campaign_publicity)
from carbon_credit.scans import scan_scene
from carbon_credit.errors import Conflict, NotFound
from carbon_credit.ledger.points import ledger_is_consistent
from carbon_credit.models import Account, AuditLog, CampaignEnrolment, Credit
from carbon_credit.rules import ActionFacts
from carbon_credit.timeutil import local_date, utcnow

from .campaign_support import campaign_values, install_rules, running_campaign, weigh_in
from .factories import FIXED_NOW, auth_header, make_community, make_resident, make_street

END = FIXED_NOW + timedelta(hours=2)


@pytest.fixture
def week(session):
    """A running 垃圾分类周 (recyclables ×2, 50 points for the first weigh-in, check-ins of 20) and two residents."""
    install_rules(session)
    home = make_community(session)
    campaign = running_campaign(session, [home], first_action_bonus=50, checkin_points=20)
    early, late = make_resident(session, community=home), make_resident(session, community=home)
    return campaign, home, early, late


def test_a_bonus_after_the_end_is_not_given_and_earlier_credits_stay(session, week):
    campaign, _, early, late = week
    before = weigh_in(session, early, 3, FIXED_NOW).credit
    assert before.points == 30 * 2 + 50  # doubled, plus the first-action bonus
    balance = early.account.balance

    ended = end_campaign(session, campaign.id, END, actor_id=None, reason="场地改作他用")
    planned = FIXED_NOW + timedelta(days=6)  # campaign_values: from a day before FIXED_NOW, for a week
    assert (ended.status, ended.active_until, ended.planned_until) == ("ended", END, planned)

    after = weigh_in(session, early, 3, END + timedelta(minutes=1)).credit
    newcomer = weigh_in(session, late, 3, END + timedelta(hours=1)).credit
    assert (after.points, after.trace["adjustments"]) == (30, [])
    assert (newcomer.points, newcomer.trace["adjustments"]) == (30, [])  # no first-action bonus either
    assert session.scalar(select(CampaignEnrolment.id).where(CampaignEnrolment.resident_id == late.id)) is None
    # A weigh-in from before the end that arrives afterwards (a station's late upload) still counts.
    arrived_late = weigh_in(session, late, 1, END - timedelta(minutes=5), now=END + timedelta(hours=3)).credit
    assert arrived_late.points == 10 * 2 + 50

    session.refresh(before)
    assert before.points == 110 and before.trace["adjustments"][0]["ref"]["campaign_id"] == campaign.id
    session.refresh(early.account)
    assert early.account.balance == balance + 30
    accounts = session.scalars(select(Account).where(Account.resident_id.in_([early.id, late.id]))).all()
    assert all(ledger_is_consistent(session, a.id) for a in accounts)
    assert sum(session.scalars(select(Credit.points).where(Credit.resident_id == early.id))) == 110 + 30


def test_check_ins_and_enrolment_close_at_the_end(session, week):
    campaign, home, early, _ = week
    assert scan_scene(session, early, f"campaign:{campaign.id}", FIXED_NOW).code == "checked_in"
    end_campaign(session, campaign.id, END)
    refused = scan_scene(session, make_resident(session, community=home), f"campaign:{campaign.id}",
                         END + timedelta(minutes=1))
    assert (refused.ok, refused.code) == (False, "not_open")
    with pytest.raises(Conflict) as raised:
        enrol_resident(session, campaign.id, make_resident(session, community=home), END + timedelta(minutes=1))
    assert raised.value.code == "campaign_not_open"


def test_the_bulk_path_gives_no_bonus_after_the_end(session, week):
    campaign, _, early, _ = week
    end_campaign(session, campaign.id, END)
    batch = BatchCampaigns(session, END + timedelta(hours=1), FIXED_NOW)
    facts = ActionFacts(resident_id=early.id, action_type="recyclables_dropoff", quantity=3, unit="kg",
                        local_day=local_date(END), evidence="partner")
    assert batch.adjust(facts, END + timedelta(minutes=1)) == []
    assert [a.ref["rule"] for a in batch.adjust(facts, END - timedelta(minutes=1))] == ["multiplier",
                                                                                         "first_action_bonus"]


def test_ending_is_audited_once_and_cannot_be_repeated_or_undone_by_the_clock(session, week):
    campaign, *_ = week
    end_campaign(session, campaign.id, END, reason="提前完成")
    (entry,) = session.scalars(select(AuditLog).where(AuditLog.verb == "campaign.end")).all()
    assert (entry.target_type, entry.target_id) == ("campaign", str(campaign.id))
    assert entry.detail["reason"] == "提前完成" and entry.detail["planned_until"].startswith("2026-06-11")
    with pytest.raises(Conflict) as raised:
        end_campaign(session, campaign.id, END + timedelta(minutes=1))
    assert raised.value.code == "invalid_transition"
    assert advance_campaigns(session, END + timedelta(days=1)) == {"running": 0, "ended": 0}
    assert campaign.status == "ended"


def test_the_results_are_announced_after_an_early_end(session, week):
    campaign, home, early, _ = week
    weigh_in(session, early, 2, FIXED_NOW)
    end_campaign(session, campaign.id, END)
    sent = []
    run_campaign_publicity(session, END + timedelta(minutes=15), lambda **kw: sent.append(kw) or {"ok": True})
    assert [kw["kind"] for kw in sent] == ["results"] and "圆满结束" in sent[0]["text"]


def test_a_campaign_that_has_not_started_is_cancelled_not_ended(session):
    install_rules(session)
    start = FIXED_NOW + timedelta(days=2)
    campaign = create_campaign(session, campaign_values([make_community(session)], start=start), FIXED_NOW)
    with pytest.raises(Conflict) as raised:
        end_campaign(session, campaign.id, FIXED_NOW)
    assert raised.value.code == "invalid_transition"  # a draft
    publish_campaign(session, campaign.id, FIXED_NOW)
    with pytest.raises(Conflict) as raised:
        end_campaign(session, campaign.id, FIXED_NOW)
    assert raised.value.code == "campaign_not_started"
    # Once its window opened, ending it is allowed even before the clock job marked it running.
    assert end_campaign(session, campaign.id, start + timedelta(hours=1)).status == "ended"


def test_a_worker_ends_only_campaigns_of_their_communities(session, week):
    campaign, home, *_ = week
    with pytest.raises(NotFound):
        end_campaign(session, campaign.id, END, allowed_community_ids=[make_community(session).id])
    assert campaign.status == "running"
    assert end_campaign(session, campaign.id, END, allowed_community_ids=[home.id]).status == "ended"


def _api_campaign(session):
    """A campaign running now by the real clock (the API stamps the end with it)."""
    install_rules(session)
    street, other_street = make_street(session, "大桥街道"), make_street(session, "崔寨街道")
    home, elsewhere = make_community(session, "鹊山社区", street), make_community(session, "崔寨社区", other_street)
    now = utcnow()
    campaign = create_campaign(session, campaign_values([home], start=now - timedelta(days=1)), now)
    publish_campaign(session, campaign.id, now)
    resident = make_resident(session, community=home, now=now - timedelta(days=2))
    session.commit()
    return campaign, home, elsewhere, resident


def test_api_ends_a_running_campaign_for_the_worker_of_its_street(client, session, worker_token):
    campaign, home, _, resident = _api_campaign(session)
    earned = weigh_in(session, resident, 2, utcnow() - timedelta(minutes=5)).credit.points
    session.commit()
    token = worker_token(home)
    answer = client.post(f"/api/v1/campaigns/{campaign.id}/end", json={"reason": "暴雨停办"},
                         headers=auth_header(token))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "ended" and body["planned_until"] and body["active_until"] < body["planned_until"]
    session.commit()  # a fresh snapshot: the API wrote meanwhile
    after = weigh_in(session, resident, 2, utcnow() + timedelta(seconds=1)).credit
    assert (earned, after.points) == (40, 20)
    again = client.post(f"/api/v1/campaigns/{campaign.id}/end", json={}, headers=auth_header(token))
    assert (again.status_code, again.get_json()["code"]) == (409, "invalid_transition")


def test_api_answers_a_worker_of_another_street_as_if_there_were_no_such_campaign(client, session, worker_token,
                                                                                  resident_token):
    campaign, _, elsewhere, resident = _api_campaign(session)
    answer = client.post(f"/api/v1/campaigns/{campaign.id}/end", json={},
                         headers=auth_header(worker_token(elsewhere, username="cuizhai")))
    assert (answer.status_code, answer.get_json()["code"]) == (404, "campaign_not_found")
    as_resident = client.post(f"/api/v1/campaigns/{campaign.id}/end", json={},
                              headers=auth_header(resident_token(resident)))
    assert as_resident.status_code == 403
    too_long = client.post(f"/api/v1/campaigns/{campaign.id}/end", json={"reason": "长" * 300},
                           headers=auth_header(worker_token(elsewhere, username="cuizhai2")))
    assert too_long.status_code == 422
    session.commit()
    session.refresh(campaign)
    assert campaign.status == "running"


def test_the_end_endpoint_is_documented(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/campaigns/{campaign_id}/end"]["post"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(operation["responses"])
