from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from carbon_credit.campaigns import BatchCampaigns, cancel_campaign
from carbon_credit.models import CampaignEnrolment
from carbon_credit.rules import ActionFacts
from carbon_credit.timeutil import local_date

from .campaign_support import install_rules, running_campaign, weigh_in
from .factories import FIXED_NOW, make_community, make_resident


def _setup(session, **kw):
    install_rules(session)
    home, other = make_community(session), make_community(session)
    campaign = running_campaign(session, [home], **kw)
    return campaign, home, other


def test_weigh_in_inside_the_window_earns_double_with_the_campaign_in_the_trace(session):
    campaign, home, _ = _setup(session)
    credit = weigh_in(session, make_resident(session, community=home), 3, FIXED_NOW).credit
    assert credit.points == 60
    (adj,) = credit.trace["adjustments"]
    assert adj["kind"] == "multiplier" and adj["value"] == "2"
    assert adj["ref"] == {"campaign_id": campaign.id, "rule": "multiplier"} and "垃圾分类周" in adj["label"]


def test_bonus_never_escapes_the_window_edges(session):
    campaign, home, _ = _setup(session)
    resident = make_resident(session, community=home)
    first = weigh_in(session, resident, 1, campaign.active_from, now=FIXED_NOW).credit
    before = weigh_in(session, resident, 1, campaign.active_from - timedelta(microseconds=1), now=FIXED_NOW).credit
    assert (first.points, before.points) == (20, 10)
    last = weigh_in(session, resident, 1, campaign.active_until - timedelta(seconds=1),
                    now=campaign.active_until).credit
    after = weigh_in(session, resident, 1, campaign.active_until, now=campaign.active_until).credit
    assert (last.points, after.points) == (20, 10)
    assert after.trace["adjustments"] == []


def test_other_communities_and_other_types_earn_no_bonus(session):
    _, home, other = _setup(session)
    assert weigh_in(session, make_resident(session, community=other), 3, FIXED_NOW).credit.points == 30
    textiles = weigh_in(session, make_resident(session, community=home), 1, FIXED_NOW,
                        action_type="textiles_dropoff").credit
    assert textiles.points == 1280 and textiles.trace["adjustments"] == []


def test_cancelled_campaign_gives_nothing(session):
    campaign, home, _ = _setup(session)
    cancel_campaign(session, campaign.id, FIXED_NOW)
    assert weigh_in(session, make_resident(session, community=home), 3, FIXED_NOW).credit.points == 30


def test_first_action_bonus_once_per_resident_and_enrols_them(session):
    campaign, home, _ = _setup(session, first_action_bonus=50)
    resident = make_resident(session, community=home)
    first = weigh_in(session, resident, 1, FIXED_NOW).credit
    second = weigh_in(session, resident, 1, FIXED_NOW + timedelta(minutes=5)).credit
    assert (first.points, second.points) == (70, 20)  # (10 × 2) + 50, then 10 × 2
    assert [a["ref"]["rule"] for a in first.trace["adjustments"]] == ["multiplier", "first_action_bonus"]
    enrolment = session.query(CampaignEnrolment).filter_by(campaign_id=campaign.id, resident_id=resident.id).one()
    assert enrolment.via == "action" and enrolment.first_bonus_action_id == first.action_id


def test_multipliers_of_two_campaigns_multiply_then_bonuses_add(session):
    campaign, home, _ = _setup(session, first_action_bonus=5)
    running_campaign(session, [home], title="全国低碳日", multipliers={"recyclables_dropoff": "1.5"})
    credit = weigh_in(session, make_resident(session, community=home), 2, FIXED_NOW).credit
    assert credit.points == 65  # 20 × 2 × 1.5 + 5
    assert [a["kind"] for a in credit.trace["adjustments"]] == ["multiplier", "multiplier", "bonus"]


def test_capped_action_gives_the_first_bonus_back(session):
    install_rules(session)
    home = make_community(session)
    campaign = running_campaign(session, [home], multipliers={}, action_types=["kitchen_waste_sorting"],
                                first_action_bonus=30)
    resident = make_resident(session, community=home)
    kitchen = dict(action_type="kitchen_waste_sorting", unit="drop")
    # Two drops on the campaign's first day, but before it starts: the daily cap of 2 is full.
    weigh_in(session, resident, 2, campaign.active_from - timedelta(hours=1), now=FIXED_NOW, **kitchen)
    capped = weigh_in(session, resident, 1, campaign.active_from + timedelta(minutes=5), now=FIXED_NOW, **kitchen)
    assert capped.credit.status == "capped" and capped.credit.points == 0
    next_day = weigh_in(session, resident, 1, FIXED_NOW, **kitchen).credit
    assert next_day.points == 31
    assert next_day.trace["adjustments"][0]["ref"] == {"campaign_id": campaign.id, "rule": "first_action_bonus"}


def test_the_batch_step_applies_the_same_bonuses_once_and_claims_only_what_was_paid(session):
    campaign, home, other = _setup(session, first_action_bonus=50)
    resident, stranger = make_resident(session, community=home), make_resident(session, community=other)
    batch = BatchCampaigns(session, FIXED_NOW, campaign.active_from)

    def facts(who):
        return ActionFacts(resident_id=who.id, action_type="recyclables_dropoff", quantity=Decimal(1), unit="kg",
                           local_day=local_date(FIXED_NOW), evidence="partner")

    first = batch.adjust(facts(resident), FIXED_NOW)
    assert [a.kind for a in first] == ["multiplier", "bonus"]
    batch.settle(resident.id, first, False, 0)  # the engine did not pay it (capped): the claim stays open
    assert [a.kind for a in batch.adjust(facts(resident), FIXED_NOW)] == ["multiplier", "bonus"]
    batch.settle(resident.id, first, True, None)
    assert [a.kind for a in batch.adjust(facts(resident), FIXED_NOW + timedelta(hours=1))] == ["multiplier"]
    assert batch.adjust(facts(stranger), FIXED_NOW) == []
    # The window is the one-at-a-time path's: active_from <= occurred_at < active_until, to the microsecond.
    assert batch.adjust(facts(resident), campaign.active_until) == []
    assert batch.adjust(facts(resident), campaign.active_from - timedelta(microseconds=1)) == []
    assert [a.kind for a in batch.adjust(facts(resident), campaign.active_from)] == ["multiplier"]
    assert session.execute(select(func.count(CampaignEnrolment.id))).scalar_one() == 0  # nothing sent yet
    batch.flush()
    enrolment = session.execute(select(CampaignEnrolment)).scalar_one()
    assert enrolment.resident_id == resident.id and enrolment.first_bonus_claimed_at is not None
    # The per-action path sees the bulk path's claim: no second bonus.
    assert weigh_in(session, resident, 1, FIXED_NOW).credit.points == 20
