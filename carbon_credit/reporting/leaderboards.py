"""Monthly leaderboards: residents within a community, communities within a street.

A month is a Shanghai calendar month; what counts is the points and grams of
credits (status credited) whose action fell in that month. Ties go to whoever
got there first: the earlier time the last credit that made up the total was
written, then the lower id. Residents are shown only by a masked name.

Communities within a street are ranked by points credited (``by="points"``) or
by grams CO2e per participant (``by="grams_per_participant"``: grams credited
divided by residents with at least one credit that month), so a small
community with committed residents can lead a large one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

from sqlalchemy import func, select

from carbon_credit.errors import InvalidInput, NotFound
from carbon_credit.models import Community, Credit, Resident, Street
from carbon_credit.timeutil import local_date, period_end

STREET_ORDERS = ("points", "grams_per_participant")


@dataclass(frozen=True)
class RankInfo:
    rank: Optional[int]  # None when the resident has no points this month
    participants: int  # residents of the community with points this month
    points: int
    month: str  # "YYYY-MM"


@dataclass(frozen=True)
class ResidentRow:
    rank: int
    resident_id: int
    name: str  # masked
    points: int
    grams: int
    reached_at: datetime


@dataclass(frozen=True)
class CommunityRow:
    rank: int
    community_id: int
    name: str
    participants: int
    points: int
    grams: int
    grams_per_participant: int
    reached_at: Optional[datetime]


def parse_month(value: Optional[str], now: datetime) -> date:
    """'2026-06' -> date(2026, 6, 1); None -> the current Shanghai month."""
    if not value:
        return local_date(now).replace(day=1)
    try:
        year, month = (int(part) for part in str(value).split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise InvalidInput("A month looks like 2026-06.", errors={"month": ["use YYYY-MM"]}) from None


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def mask_name(display_name: str, phone_tail: Optional[str], resident_id: int) -> str:
    """张三明 -> 张*明, 张三 -> 张*, no name -> 居民****1234 (phone tail, else the id's last digits)."""
    name = (display_name or "").strip()
    if len(name) >= 3:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    if len(name) == 2:
        return name[0] + "*"
    tail = phone_tail or f"{resident_id % 10000:04d}"
    return f"居民****{tail}"


def _month_credits(month: date):
    return (Credit.status == "credited", Credit.local_day >= month,
            Credit.local_day < period_end(month, "month"))


def _resident_totals(community_id: int, month: date):
    """Per resident of the community: points, grams and when the total was reached, ranked."""
    totals = (
        select(Credit.resident_id.label("resident_id"), func.sum(Credit.points).label("points"),
               func.sum(Credit.grams).label("grams"), func.max(Credit.created_at).label("reached_at"))
        .join(Resident, Resident.id == Credit.resident_id)
        .where(Resident.community_id == community_id, Credit.points > 0, *_month_credits(month))
        .group_by(Credit.resident_id)
        .subquery()
    )
    order = (totals.c.points.desc(), totals.c.reached_at.asc(), totals.c.resident_id.asc())
    return select(totals, func.row_number().over(order_by=order).label("rank"),
                  func.count().over().label("participants")).subquery()


def resident_rank(session, resident, now: datetime) -> RankInfo:
    """The resident's place in their community this Shanghai month."""
    month = parse_month(None, now)
    label = month_label(month)
    if resident.community_id is None:
        return RankInfo(rank=None, participants=0, points=0, month=label)
    ranked = _resident_totals(resident.community_id, month)
    row = session.execute(select(ranked.c.rank, ranked.c.participants, ranked.c.points)
                          .where(ranked.c.resident_id == resident.id)).one_or_none()
    if row is not None:
        return RankInfo(rank=row.rank, participants=row.participants, points=int(row.points), month=label)
    participants = session.execute(select(func.count()).select_from(ranked)).scalar_one()
    return RankInfo(rank=None, participants=participants, points=0, month=label)


def community_leaderboard(session, community_id: int, month: date, limit: int = 100) -> list[ResidentRow]:
    """The top ``limit`` residents of a community for a month, masked."""
    if session.get(Community, community_id) is None:
        raise NotFound("No such community.", code="community_not_found")
    ranked = _resident_totals(community_id, month)
    rows = session.execute(
        select(ranked, Resident.display_name, Resident.phone_tail)
        .join(Resident, Resident.id == ranked.c.resident_id)
        .order_by(ranked.c.rank).limit(limit)
    ).all()
    return [ResidentRow(rank=r.rank, resident_id=r.resident_id,
                        name=mask_name(r.display_name, r.phone_tail, r.resident_id),
                        points=int(r.points), grams=int(r.grams), reached_at=r.reached_at) for r in rows]


def street_leaderboard(session, street_id: int, month: date, by: str = "points") -> list[CommunityRow]:
    """Every community of the street, ranked by points or by grams per participant."""
    if by not in STREET_ORDERS:
        raise InvalidInput(errors={"by": [f"one of {', '.join(STREET_ORDERS)}"]})
    street = session.get(Street, street_id)
    if street is None:
        raise NotFound("No such street.", code="street_not_found")
    stats = session.execute(
        select(Resident.community_id, func.count(func.distinct(Credit.resident_id)),
               func.coalesce(func.sum(Credit.points), 0), func.coalesce(func.sum(Credit.grams), 0),
               func.max(Credit.created_at))
        .join(Resident, Resident.id == Credit.resident_id)
        .join(Community, Community.id == Resident.community_id)
        .where(Community.street_id == street_id, *_month_credits(month))
        .group_by(Resident.community_id)
    ).all()
    by_community = {row[0]: row for row in stats}
    rows = []
    for community in street.communities:
        _, participants, points, grams, reached = by_community.get(community.id, (None, 0, 0, 0, None))
        per = int(grams) // participants if participants else 0
        rows.append((community, int(participants), int(points), int(grams), per, reached))
    metric = 2 if by == "points" else 4
    # Higher first; a community without credits goes last; then who got there first; then id.
    rows.sort(key=lambda r: (-r[metric], r[5] is None, r[5] or datetime.min, r[0].id))
    return [CommunityRow(rank=i, community_id=c.id, name=c.name, participants=p, points=pts, grams=g,
                         grams_per_participant=per, reached_at=reached)
            for i, (c, p, pts, g, per, reached) in enumerate(rows, start=1)]
