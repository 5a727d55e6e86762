"""Reading campaigns: what a resident sees now, and look-ups by id."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from carbon_credit.errors import NotFound
from carbon_credit.models import Campaign, campaign_communities

# States in which residents see a campaign (inside its visible window).
VISIBLE_STATUSES = ("published", "running")


def get_campaign(session, campaign_id: int, *, lock: bool = False) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    campaign = session.execute(query).scalar_one_or_none()
    if campaign is None:
        raise NotFound("No such campaign.", code="campaign_not_found")
    return campaign


def open_campaigns_for(session, resident, now: datetime) -> list[Campaign]:
    """Published or running campaigns of the resident's community whose visible window holds ``now``.

    Ordered by the start of the active window (the soonest first), then id.
    A resident without a community sees none: campaigns are community drives.
    """
    if resident is None or resident.community_id is None:
        return []
    query = (
        select(Campaign)
        .join(campaign_communities, campaign_communities.c.campaign_id == Campaign.id)
        .where(campaign_communities.c.community_id == resident.community_id,
               Campaign.status.in_(VISIBLE_STATUSES),
               Campaign.visible_from <= now, Campaign.visible_until > now)
        .order_by(Campaign.active_from, Campaign.id)
    )
    return list(session.execute(query).scalars())
