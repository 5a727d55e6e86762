"""Campaign bonuses as adjustments to the rules engine.

Which campaigns apply to an action: every campaign that targets the resident's
community, is published, running or ended (an action from inside the window
may arrive late, e.g. in the transit operator's nightly file), and whose active
window holds the action's time (``active_from ≤ occurred_at < active_until``).
Drafts and cancelled campaigns never apply.

How they stack (rules/engine.py, step 5): every applicable multiplier
multiplies in turn (two campaigns ×2 and ×1.5 give ×3), then one-off bonuses
add, then the points caps may clip the sum. Each adjustment appears in the
credit's trace with its label and ``ref`` {"campaign_id", "rule"}.

The first-action bonus is claimed on the enrolment row (see enrolment.py);
if the action ends up capped and earns nothing, the claim is given back.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from ..models import ActionType, Campaign, CampaignCheckin, CampaignEnrolment, Resident, campaign_communities
from ..rules import Adjustment
from ..timeutil import start_of_local_day
from . import texts
from .enrolment import claim_first_bonus, ensure_enrolment, release_first_bonus
from .validation import CHECKIN_TYPE

BONUS_STATUSES = ("published", "running", "ended")
# How far back the bulk path looks for campaigns (late files older than this earn no bonus).
BATCH_LOOKBACK = timedelta(days=62)
_CLAIMS_KEY = "campaign_first_bonus_claims"


def _type_names(session) -> dict:
    return dict(session.execute(select(ActionType.code, ActionType.name)).all())


def _multiplier(campaign, action_type: str, names: dict) -> list:
    value = (campaign.multipliers or {}).get(action_type)
    if value is None:
        return []
    label = texts.multiplier_label(campaign.title, names.get(action_type, action_type), value)
    return [Adjustment("multiplier", Decimal(value), label, {"campaign_id": campaign.id, "rule": "multiplier"})]


def _first_bonus(campaign) -> Adjustment:
    return Adjustment("bonus", Decimal(campaign.first_action_bonus),
                      texts.first_bonus_label(campaign.title, campaign.first_action_bonus),
                      {"campaign_id": campaign.id, "rule": "first_action_bonus"})


def _campaigns_for_action(session, resident_id: int, occurred_at: datetime) -> list:
    return list(session.execute(
        select(Campaign)
        .join(campaign_communities, campaign_communities.c.campaign_id == Campaign.id)
        .join(Resident, Resident.community_id == campaign_communities.c.community_id)
        .where(Resident.id == resident_id, Campaign.status.in_(BONUS_STATUSES),
               Campaign.active_from <= occurred_at, Campaign.active_until > occurred_at)
        .order_by(Campaign.id)
    ).scalars())


def _checkin_points(session, action) -> list:
    """A check-in earns the campaign's check-in points, but only through the check-in service."""
    checkin_id = (action.attributes or {}).get("checkin_id")
    checkin = session.get(CampaignCheckin, checkin_id) if isinstance(checkin_id, int) else None
    if checkin is None or checkin.resident_id != action.resident_id or checkin.action_id not in (None, action.id):
        return []
    campaign = session.get(Campaign, checkin.campaign_id)
    points = campaign.checkin_points
    return [Adjustment("multiplier", Decimal(points), texts.checkin_label(campaign.title, points),
                       {"campaign_id": campaign.id, "rule": "checkin_points"})]


def campaign_adjustments(session, action, facts, now: datetime) -> list:
    """ADJUSTMENT_PROVIDERS entry: the campaign multipliers and first-action bonuses for one action."""
    if action.action_type == CHECKIN_TYPE:
        return _checkin_points(session, action)
    campaigns = _campaigns_for_action(session, action.resident_id, action.occurred_at)
    if not campaigns:
        return []
    names, out = _type_names(session), []
    for campaign in campaigns:
        out.extend(_multiplier(campaign, action.action_type, names))
        if action.action_type not in (campaign.action_types or []):
            continue
        if campaign.first_action_bonus and claim_first_bonus(session, campaign.id, action.resident_id, now, action.id):
            session.info.setdefault(_CLAIMS_KEY, set()).add(action.id)
            out.append(_first_bonus(campaign))
        elif not campaign.first_action_bonus:
            ensure_enrolment(session, campaign.id, action.resident_id, "action", now)
    return out


def release_unused_bonus(session, action, outcome, now: datetime) -> None:
    """OUTCOME_HOOKS entry: a capped action keeps no claim on the first-action bonus."""
    claims = session.info.get(_CLAIMS_KEY)
    if not claims or action.id not in claims:
        return
    claims.discard(action.id)
    applied = any(adj.get("ref", {}).get("rule") == "first_action_bonus" for adj in outcome.trace.get("adjustments", []))
    if outcome.status != "credited" or not applied:
        release_first_bonus(session, action.id)


class _Snapshot:
    """A campaign's bonus rules as plain values, so the bulk path touches no ORM object per row."""

    __slots__ = ("id", "title", "multipliers", "action_types", "first_action_bonus", "active_from", "active_until")

    def __init__(self, campaign):
        for name in self.__slots__:
            setattr(self, name, getattr(campaign, name))

    def holds(self, facts) -> bool:
        """Exact when the facts carry ``occurred_at``; otherwise only days wholly inside the window count."""
        at = (facts.attributes or {}).get("occurred_at")
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        if isinstance(at, datetime) and at.tzinfo is not None:
            return self.active_from <= at < self.active_until
        day_start = start_of_local_day(facts.local_day)
        return self.active_from <= day_start and start_of_local_day(facts.local_day + timedelta(days=1)) <= self.active_until


def _batch_state(session, now: datetime):
    campaigns = session.execute(
        select(Campaign).where(Campaign.status.in_(BONUS_STATUSES), Campaign.active_until > now - BATCH_LOOKBACK)
    ).scalars().all()
    by_community: dict = {}
    for campaign in campaigns:
        if not campaign.multipliers and not campaign.action_types:
            continue
        for community_id in campaign.community_ids:
            by_community.setdefault(community_id, []).append(_Snapshot(campaign))
    return by_community, {c.id for c in campaigns}


def prepare_batch_adjustments(session, now: datetime):
    """BATCH_ADJUSTMENT_PREPARERS entry: the same bonuses for a bulk batch.

    One query for the campaigns, one for their residents' communities and one
    for existing enrolments; then only a resident's first qualifying action in
    a campaign writes (enrolment and bonus claim), once.
    """
    by_community, campaign_ids = _batch_state(session, now)
    if not by_community:
        return lambda facts: []
    names = _type_names(session)
    community_of = dict(session.execute(
        select(Resident.id, Resident.community_id).where(Resident.community_id.in_(list(by_community)))).all())
    done = {(c, r) for c, r, claimed in session.execute(
        select(CampaignEnrolment.campaign_id, CampaignEnrolment.resident_id, CampaignEnrolment.first_bonus_claimed_at)
        .where(CampaignEnrolment.campaign_id.in_(campaign_ids))).all() if claimed is not None}
    enrolled = set(done)

    def adjust(facts) -> list:
        out = []
        for campaign in by_community.get(community_of.get(facts.resident_id), ()):
            if not campaign.holds(facts):
                continue
            out.extend(_multiplier(campaign, facts.action_type, names))
            key = (campaign.id, facts.resident_id)
            if facts.action_type not in campaign.action_types or key in enrolled:
                continue
            enrolled.add(key)
            if campaign.first_action_bonus and claim_first_bonus(session, campaign.id, facts.resident_id, now):
                out.append(_first_bonus(campaign))
            elif not campaign.first_action_bonus:
                ensure_enrolment(session, campaign.id, facts.resident_id, "action", now)
        return out

    return adjust
