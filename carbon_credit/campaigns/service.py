"""Creating, editing, publishing, ending and cancelling campaigns, and moving them along in time.

States: draft → published → running → ended, and cancelled from any state
before ended. Publishing and cancelling are people's decisions; running and
ended follow the clock and are applied by ``advance_campaigns`` (a scheduled
job, safe to run any number of times) and at once when a campaign is
published inside its active window. A running campaign may also be ended
early by a person (``end_campaign``): its active window is cut at that
moment, so every rule that reads the window (bonuses, check-ins, enrolment,
publicity) treats it as over from then on, while what was earned stays.

Structural fields (communities, windows, bonus rules, check-in settings,
publicity schedule) change only while the campaign is a draft; the wording
(title, description, cover text) may be corrected until the campaign ends.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import or_, select

from carbon_credit.campaigns.queries import get_campaign
from carbon_credit.campaigns.validation import check_campaign, normalise
from carbon_credit.errors import Conflict
from carbon_credit.models import Campaign, Community, campaign_communities
from carbon_credit.staff.audit import audit
from carbon_credit.staff.scope import OutOfScope, covers_all, covers_any

TEXT_FIELDS = ("title", "description", "cover_text")
STRUCTURAL_FIELDS = (
    "community_ids", "visible_from", "visible_until", "active_from", "active_until", "action_types",
    "multipliers", "first_action_bonus", "checkin_points", "checkin_daily_limit", "checkin_total_limit",
    "checkin_qr", "announce_start", "remind_days_before", "announce_results",
)
DEFAULTS = dict(description="", cover_text="", action_types=[], multipliers={}, first_action_bonus=0,
                checkin_points=0, checkin_daily_limit=1, checkin_total_limit=None, checkin_qr=None,
                announce_start=True, remind_days_before=None, announce_results=True)
# Allowed moves by a person: {action: (from states, to state)}.
TRANSITIONS = {
    "publish": (("draft",), "published"),
    "cancel": (("draft", "published", "running"), "cancelled"),
    "end": (("running",), "ended"),
}


def _values_of(campaign: Campaign) -> dict:
    values = {name: getattr(campaign, name) for name in TEXT_FIELDS + STRUCTURAL_FIELDS if name != "community_ids"}
    values["community_ids"] = campaign.community_ids
    return values


def _audit_detail(values: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}


def _apply(session, campaign: Campaign, values: dict) -> None:
    for name, value in values.items():
        if name == "community_ids":
            campaign.communities = list(session.execute(
                select(Community).where(Community.id.in_(value)).order_by(Community.id)).scalars())
        else:
            setattr(campaign, name, value)


def check_access(campaign: Campaign, allowed_community_ids) -> None:
    """A worker acts only on campaigns all of whose communities are theirs (admins pass None);
    any other campaign is answered as an unknown one."""
    if not covers_all(allowed_community_ids, campaign.community_ids):
        raise OutOfScope("No such campaign in your area.", code="campaign_not_found")


def check_readable(campaign: Campaign, allowed_community_ids) -> Campaign:
    """A worker reads campaigns reaching at least one of their communities; others read as unknown."""
    if not covers_any(allowed_community_ids, campaign.community_ids):
        raise OutOfScope("No such campaign.", code="campaign_not_found")
    return campaign


def create_campaign(session, values: dict, now: datetime, *, actor_id=None, allowed_community_ids=None) -> Campaign:
    """A new draft; ``allowed_community_ids`` is the worker's communities (None for an admin)."""
    values = normalise({**DEFAULTS, **values})
    check_campaign(session, values, allowed_community_ids)
    campaign = Campaign(status="draft", created_by=actor_id, created_at=now, updated_at=now)
    _apply(session, campaign, values)
    session.add(campaign)
    session.flush()
    audit(session, now, "campaign.create", "campaign", campaign.id, actor_id=actor_id, **_audit_detail(values))
    return campaign


def update_campaign(session, campaign_id: int, changes: dict, now: datetime, *, actor_id=None,
                    allowed_community_ids=None) -> Campaign:
    campaign = get_campaign(session, campaign_id, lock=True)
    check_access(campaign, allowed_community_ids)
    structural = sorted(set(changes) & set(STRUCTURAL_FIELDS))
    if campaign.status in ("ended", "cancelled"):
        raise Conflict(f"The campaign is {campaign.status}; it can no longer be edited.", code="campaign_closed")
    if structural and campaign.status != "draft":
        raise Conflict("Only a draft's communities, windows and rules can change; edit the wording only.",
                       code="campaign_not_draft", errors={name: ["only while draft"] for name in structural})
    before = _values_of(campaign)
    merged = normalise({**before, **changes})
    check_campaign(session, merged, allowed_community_ids)
    _apply(session, campaign, {k: merged[k] for k in changes if k in merged})
    campaign.updated_at = now
    session.flush()
    audit(session, now, "campaign.update", "campaign", campaign.id, actor_id=actor_id,
          before=_audit_detail({k: before[k] for k in changes if k in before}),
          after=_audit_detail({k: merged[k] for k in changes if k in merged}))
    return campaign


def _move(session, campaign_id: int, action: str, now: datetime, actor_id, allowed) -> Campaign:
    campaign = get_campaign(session, campaign_id, lock=True)
    check_access(campaign, allowed)
    sources, target = TRANSITIONS[action]
    if campaign.status not in sources:
        raise Conflict(f"A {campaign.status} campaign cannot be {target}.", code="invalid_transition",
                       status_now=campaign.status)
    return campaign


def publish_campaign(session, campaign_id: int, now: datetime, *, actor_id=None, allowed_community_ids=None):
    campaign = _move(session, campaign_id, "publish", now, actor_id, allowed_community_ids)
    if campaign.active_until <= now:
        raise Conflict("The campaign's active window is already over.", code="campaign_window_over")
    campaign.status, campaign.published_at, campaign.updated_at = "published", now, now
    _advance_one(campaign, now)
    session.flush()
    audit(session, now, "campaign.publish", "campaign", campaign.id, actor_id=actor_id, status=campaign.status)
    return campaign


def cancel_campaign(session, campaign_id: int, now: datetime, *, actor_id=None, allowed_community_ids=None,
                    reason: str = ""):
    campaign = _move(session, campaign_id, "cancel", now, actor_id, allowed_community_ids)
    before = campaign.status
    campaign.status, campaign.cancelled_at, campaign.updated_at = "cancelled", now, now
    session.flush()
    audit(session, now, "campaign.cancel", "campaign", campaign.id, actor_id=actor_id, before=before, reason=reason)
    return campaign


def end_campaign(session, campaign_id: int, now: datetime, *, actor_id=None, allowed_community_ids=None,
                 reason: str = ""):
    """End a running campaign now, before its planned end.

    The active window closes at ``now`` (the planned end is kept in
    ``planned_until``): actions from ``now`` on earn no multiplier or
    first-action bonus, check-ins and enrolment close, and credits already
    given stay. Late data from before ``now`` still counts, as after any end.
    A campaign that has not started yet is cancelled instead (409).
    """
    campaign = get_campaign(session, campaign_id, lock=True)
    check_access(campaign, allowed_community_ids)
    _advance_one(campaign, now)  # the clock first: a published campaign may be running (or over) by now
    if campaign.status == "published":
        raise Conflict("The campaign has not started; cancel it instead.", code="campaign_not_started")
    sources, target = TRANSITIONS["end"]
    if campaign.status not in sources:
        raise Conflict(f"A {campaign.status} campaign cannot be {target}.", code="invalid_transition",
                       status_now=campaign.status)
    planned = campaign.active_until
    campaign.planned_until, campaign.active_until = planned, now
    campaign.status, campaign.updated_at = "ended", now
    session.flush()
    audit(session, now, "campaign.end", "campaign", campaign.id, actor_id=actor_id, before="running",
          planned_until=planned.isoformat(), reason=reason)
    return campaign


def _advance_one(campaign: Campaign, now: datetime) -> Optional[str]:
    """The state the clock puts a published or running campaign in, applied; None when unchanged."""
    if campaign.status not in ("published", "running"):
        return None
    target = "ended" if now >= campaign.active_until else ("running" if now >= campaign.active_from else "published")
    if target == campaign.status:
        return None
    campaign.status, campaign.updated_at = target, now
    return target


def advance_campaigns(session, now: datetime) -> dict:
    """Start campaigns whose active window opened and end those whose window closed.

    Rows are locked and re-read, so two runs at once (or a person cancelling
    meanwhile) never move a campaign twice; a second run finds nothing to do.
    """
    due = session.execute(
        select(Campaign).where(
            or_((Campaign.status == "published") & (Campaign.active_from <= now),
                Campaign.status.in_(("published", "running")) & (Campaign.active_until <= now)))
        .order_by(Campaign.id).with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).scalars().all()
    moved = {"running": 0, "ended": 0}
    for campaign in due:
        before = campaign.status
        target = _advance_one(campaign, now)
        if target:
            moved[target] = moved.get(target, 0) + 1
            audit(session, now, f"campaign.{target}", "campaign", campaign.id, actor_kind="system", before=before)
    session.flush()
    return moved


def list_campaigns(session, *, community_ids=None, status: Optional[str] = None, limit: int = 50,
                   offset: int = 0) -> list[Campaign]:
    """Newest first; ``community_ids`` limits to campaigns reaching any of them (a worker's view)."""
    query = select(Campaign).order_by(Campaign.active_from.desc(), Campaign.id.desc())
    if community_ids is not None:
        reach = select(campaign_communities.c.campaign_id).where(
            campaign_communities.c.community_id.in_(community_ids))
        query = query.where(Campaign.id.in_(reach))
    if status:
        query = query.where(Campaign.status == status)
    return list(session.execute(query.limit(limit).offset(offset)).scalars())
