"""Enrolment: a resident takes part by enrolling, by a first qualifying action or by a check-in.

One row per (campaign, resident), inserted in a savepoint so two requests at
once end with one row. The first-action bonus is claimed on that row with a
conditional update (``first_bonus_claimed_at IS NULL``): on PostgreSQL the
second of two concurrent claims waits for the first's row lock and then finds
the condition false, so the bonus is given once.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.campaigns.queries import VISIBLE_STATUSES, get_campaign
from carbon_credit.errors import Conflict, NotFound
from carbon_credit.models import CampaignEnrolment


def ensure_enrolment(session, campaign_id: int, resident_id: int, via: str, now: datetime
                     ) -> tuple[CampaignEnrolment, bool]:
    """The resident's enrolment, created if missing; returns (enrolment, created)."""
    enrolment = CampaignEnrolment(campaign_id=campaign_id, resident_id=resident_id, via=via, enrolled_at=now)
    try:
        with session.begin_nested():
            session.add(enrolment)
    except IntegrityError:
        existing = session.execute(select(CampaignEnrolment).where(
            CampaignEnrolment.campaign_id == campaign_id, CampaignEnrolment.resident_id == resident_id)
        ).scalar_one()
        return existing, False
    return enrolment, True


def claim_first_bonus(session, campaign_id: int, resident_id: int, now: datetime,
                      action_id: Optional[int] = None) -> bool:
    """True for exactly one qualifying action per resident and campaign."""
    ensure_enrolment(session, campaign_id, resident_id, "action", now)
    claimed = session.execute(
        update(CampaignEnrolment)
        .where(CampaignEnrolment.campaign_id == campaign_id, CampaignEnrolment.resident_id == resident_id,
               CampaignEnrolment.first_bonus_claimed_at.is_(None))
        .values(first_bonus_claimed_at=now, first_bonus_action_id=action_id)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def release_first_bonus(session, action_id: int) -> int:
    """Give the claim back when the action that claimed it was capped and earned nothing."""
    released = session.execute(
        update(CampaignEnrolment).where(CampaignEnrolment.first_bonus_action_id == action_id)
        .values(first_bonus_claimed_at=None, first_bonus_action_id=None)
        .execution_options(synchronize_session=False)
    )
    return released.rowcount


def enrol_resident(session, campaign_id: int, resident, now: datetime) -> tuple[CampaignEnrolment, bool]:
    """A resident enrolling themselves: the campaign must be open to them now."""
    campaign = get_campaign(session, campaign_id)
    if resident.community_id not in campaign.community_ids or campaign.status == "draft":
        raise NotFound("No such campaign.", code="campaign_not_found")  # not theirs to see: read as unknown
    if campaign.status not in VISIBLE_STATUSES or not campaign.visible_from <= now < campaign.visible_until:
        raise Conflict("This campaign is not open for enrolment.", code="campaign_not_open")
    return ensure_enrolment(session, campaign.id, resident.id, "self", now)
