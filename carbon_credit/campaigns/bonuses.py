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

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from carbon_credit.campaigns import texts
from carbon_credit.campaigns.enrolment import claim_first_bonus, ensure_enrolment, release_first_bonus
from carbon_credit.campaigns.validation import CHECKIN_TYPE
from carbon_credit.models import (
    ActionType,
    Campaign,
    CampaignCheckin,
    CampaignEnrolment,
    Resident,
    campaign_communities,
)
from carbon_credit.rules import Adjustment

BONUS_STATUSES = ("published", "running", "ended")
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
    """Pipeline step (pipeline.py): the campaign multipliers and first-action bonuses for one action."""
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
    """Pipeline outcome step (pipeline.py): a capped action keeps no claim on the first-action bonus."""
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
        self.action_types = self.action_types or []

    def holds(self, occurred_at: datetime) -> bool:
        """The same window test as the one-at-a-time path: ``active_from <= occurred_at < active_until``."""
        return self.active_from <= occurred_at < self.active_until


class BatchCampaigns:
    """The campaign bonuses of one bulk batch: decided in memory, written by ``flush()``.

    Made after the batch's accounts are locked (a resident's one-at-a-time
    credits take the same lock first), so the claims read here stay true for
    the batch. While the batch's rows are streamed nothing is sent to the
    database: ``adjust`` gives each trip the adjustments the one-at-a-time path
    would give it (every multiplier of a campaign whose window holds the trip,
    in campaign order; the first-action bonus while the resident's claim is
    open), and ``settle`` keeps the claim only when the engine paid the bonus
    (as ``release_unused_bonus`` gives it back otherwise). ``flush()`` then
    writes the enrolments and claims, set-based, in the batch's transaction.
    """

    def __init__(self, session, now: datetime, since: datetime):
        self.session, self.now = session, now
        campaigns = session.execute(
            select(Campaign).where(Campaign.status.in_(BONUS_STATUSES), Campaign.active_until > since)
            .order_by(Campaign.id)).scalars().all()
        self.by_community: dict = {}
        for campaign in campaigns:
            if not campaign.multipliers and not campaign.action_types:
                continue
            snapshot = _Snapshot(campaign)
            for community_id in campaign.community_ids:
                self.by_community.setdefault(community_id, []).append(snapshot)
        self.community_of: dict = {}
        self.names: dict = {}
        self.claimed: set = set()  # (campaign, resident) whose first-action bonus is taken
        self.enrol: set = set()  # (campaign, resident) a qualifying trip of this batch enrols
        self.claims: dict = {}  # (campaign, resident) -> the action that claimed the bonus in this batch
        if not self.by_community:
            return
        self.names = _type_names(session)
        self.community_of = dict(session.execute(
            select(Resident.id, Resident.community_id).where(Resident.community_id.in_(list(self.by_community)))).all())
        self.claimed = {(c, r) for c, r in session.execute(
            select(CampaignEnrolment.campaign_id, CampaignEnrolment.resident_id)
            .where(CampaignEnrolment.campaign_id.in_({c.id for c in campaigns}),
                   CampaignEnrolment.first_bonus_claimed_at.is_not(None))).all()}

    def __bool__(self) -> bool:
        return bool(self.by_community)

    def adjust(self, facts, occurred_at: datetime) -> list:
        """The adjustments of one trip of ``facts.resident_id`` made at ``occurred_at``."""
        out = []
        for campaign in self.by_community.get(self.community_of.get(facts.resident_id), ()):
            if not campaign.holds(occurred_at):
                continue
            out.extend(_multiplier(campaign, facts.action_type, self.names))
            if facts.action_type not in campaign.action_types:
                continue
            key = (campaign.id, facts.resident_id)
            self.enrol.add(key)
            if campaign.first_action_bonus and key not in self.claimed:
                out.append(_first_bonus(campaign))
        return out

    def settle(self, resident_id: int, adjustments, paid: bool, action_id: int) -> None:
        """After the engine: a first-action bonus it paid is claimed by this action."""
        if not paid:
            return
        for adj in adjustments:
            if adj.ref.get("rule") == "first_action_bonus":
                key = (adj.ref["campaign_id"], resident_id)
                self.claimed.add(key)
                self.claims[key] = action_id

    def flush(self) -> None:
        """Write the batch's enrolments (existing ones stay as they are) and bonus claims."""
        enrol, self.enrol = sorted(self.enrol), set()
        claims, self.claims = self.claims, {}
        if enrol:
            table = CampaignEnrolment.__table__
            dialect = self.session.get_bind().dialect.name
            insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
            self.session.execute(insert.on_conflict_do_nothing(index_elements=["campaign_id", "resident_id"]), [
                {"campaign_id": c, "resident_id": r, "via": "action", "enrolled_at": self.now} for c, r in enrol])
        for (campaign_id, resident_id), action_id in sorted(claims.items()):
            self.session.execute(
                update(CampaignEnrolment)
                .where(CampaignEnrolment.campaign_id == campaign_id, CampaignEnrolment.resident_id == resident_id,
                       CampaignEnrolment.first_bonus_claimed_at.is_(None))
                .values(first_bonus_claimed_at=self.now, first_bonus_action_id=action_id)
                .execution_options(synchronize_session=False))
