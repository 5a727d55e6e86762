"""Community and campaign figures: participants, actions, grams CO2e and points.

Counted from credits with status ``credited`` (capped and rejected actions earn
nothing and are not counted). Days are Shanghai calendar days (the credit's
``local_day``); weeks are ISO weeks ("2026-W23"). A resident counts for the
community they belong to now. Campaign figures count the campaign's
qualifying action types done inside its active window by residents of its
communities, plus its check-ins.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Optional

from sqlalchemy import func, select

from carbon_credit.errors import InvalidInput, NotFound
from carbon_credit.models import (
    ActionType,
    Campaign,
    CampaignCheckin,
    CampaignEnrolment,
    Community,
    Credit,
    GreenAction,
    Resident,
)
from carbon_credit.timeutil import local_date

GROUPS = ("day", "week")
MAX_DAYS = 366


def period_key(day: date, group: str) -> str:
    if group == "day":
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def check_range(start: Optional[date], end: Optional[date], group: str, now: datetime) -> tuple[date, date]:
    """Inclusive Shanghai dates; defaults to the last 30 days up to today."""
    if group not in GROUPS:
        raise InvalidInput(errors={"group": [f"one of {', '.join(GROUPS)}"]})
    end = end or local_date(now)
    start = start or end - timedelta(days=29)
    if end < start:
        raise InvalidInput("The range ends before it starts.", code="invalid_range", errors={"to": ["must not be before from"]})
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"At most {MAX_DAYS} days at once.", code="invalid_range",
                           errors={"to": [f"at most {MAX_DAYS} days after from"]})
    return start, end


def _rows(session, conditions, joins=()):
    """(local_day, category, resident_id, actions, grams, points) grouped per resident and day."""
    query = (select(Credit.local_day, ActionType.category, Credit.resident_id, func.count(Credit.id),
                    func.sum(Credit.grams), func.sum(Credit.points))
             .join(ActionType, ActionType.code == Credit.action_type)
             .join(Resident, Resident.id == Credit.resident_id))
    for target, on in joins:
        query = query.join(target, on)
    query = query.where(Credit.status == "credited", *conditions).group_by(
        Credit.local_day, ActionType.category, Credit.resident_id)
    return session.execute(query).all()


def _fold(rows, group: str) -> dict:
    """Totals, per category and per period, from per-resident-and-day rows."""
    empty = lambda: {"actions": 0, "grams": 0, "points": 0}  # noqa: E731
    totals, categories = empty(), defaultdict(empty)
    periods: dict = defaultdict(lambda: {**empty(), "residents": set(), "by_category": defaultdict(int)})
    residents = set()
    for day, category, resident_id, actions, grams, points in rows:
        grams, points = int(grams or 0), int(points or 0)
        for bucket in (totals, categories[category]):
            bucket["actions"] += actions
            bucket["grams"] += grams
            bucket["points"] += points
        period = periods[period_key(day, group)]
        period["actions"] += actions
        period["grams"] += grams
        period["points"] += points
        period["residents"].add(resident_id)
        period["by_category"][category] += grams
        residents.add(resident_id)
    series = [{"period": key, "participants": len(p["residents"]), "actions": p["actions"], "grams": p["grams"],
               "points": p["points"], "grams_by_category": dict(sorted(p["by_category"].items()))}
              for key, p in sorted(periods.items())]
    by_category = [{"category": name, **values} for name, values in sorted(categories.items())]
    return {"participants": len(residents), **totals, "by_category": by_category, "series": series}


def community_figures(session, community_id: int, start: date, end: date, group: str = "day") -> dict:
    community = session.get(Community, community_id)
    if community is None:
        raise NotFound("No such community.", code="community_not_found")
    rows = _rows(session, (Resident.community_id == community_id, Credit.local_day >= start,
                           Credit.local_day <= end))
    return {"community_id": community.id, "community": community.name, "street": community.street.name,
            "from": start, "to": end, "group": group, **_fold(rows, group)}


def _campaign_conditions(campaign: Campaign, community_ids):
    return (Resident.community_id.in_(community_ids), Credit.action_type.in_(campaign.action_types or [""]),
            GreenAction.occurred_at >= campaign.active_from, GreenAction.occurred_at < campaign.active_until)


def _checkin_totals(session, campaign_id: int):
    count, points, residents = session.execute(
        select(func.count(CampaignCheckin.id), func.coalesce(func.sum(CampaignCheckin.points), 0),
               func.count(func.distinct(CampaignCheckin.resident_id)))
        .where(CampaignCheckin.campaign_id == campaign_id)).one()
    return int(count), int(points), int(residents)


def campaign_figures(session, campaign_id: int, group: str = "day") -> dict:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.", code="campaign_not_found")
    if group not in GROUPS:
        raise InvalidInput(errors={"group": [f"one of {', '.join(GROUPS)}"]})
    joins = ((GreenAction, GreenAction.id == Credit.id),)
    folded = _fold(_rows(session, _campaign_conditions(campaign, campaign.community_ids), joins), group)
    per_community = []
    for community in campaign.communities:
        part = _fold(_rows(session, _campaign_conditions(campaign, [community.id]), joins), group)
        per_community.append({"community_id": community.id, "community": community.name,
                              **{k: part[k] for k in ("participants", "actions", "grams", "points")}})
    checkins, checkin_points, checkin_residents = _checkin_totals(session, campaign.id)
    enrolled = session.execute(select(func.count(CampaignEnrolment.id))
                               .where(CampaignEnrolment.campaign_id == campaign.id)).scalar_one()
    return {"campaign_id": campaign.id, "title": campaign.title, "status": campaign.status,
            "active_from": campaign.active_from, "active_until": campaign.active_until, "group": group,
            "enrolled": int(enrolled), "checkins": checkins, "checkin_points": checkin_points,
            "checkin_participants": checkin_residents, **folded, "by_community": per_community}
