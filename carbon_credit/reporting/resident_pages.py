"""Read-side figures for a resident's own pages: the 30-day trend, the next expiry, their credits.

Plain queries over the ledger and the credits, so every face (the H5 pages, the
API) can show a resident the same numbers without arithmetic of its own. The
statement itself is ``ledger.statement``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Optional

from sqlalchemy import func, select

from carbon_credit.models import ActionType, Credit, GreenAction, LedgerEntry, QRCode, credit_days
from carbon_credit.models.residents import Account
from carbon_credit.scenes import parse_scene
from carbon_credit.timeutil import local_date

TREND_DAYS = 30


@dataclass(frozen=True)
class NextExpiry:
    points: int
    expires_at: datetime


@dataclass(frozen=True)
class Trend:
    days: list[date]
    # action type name -> points per day, aligned with ``days``
    series: dict[str, list[int]]
    grams: int
    points: int


def own_credit(session, resident_id: int, credit_id: int) -> Credit | None:
    """The credit if it is the resident's own; None for anyone else's (the caller answers 404)."""
    return session.execute(select(Credit).where(Credit.id == credit_id, Credit.resident_id == resident_id)
                           ).scalar_one_or_none()


def next_expiry(session, resident_id: int, now: datetime) -> NextExpiry | None:
    """The earliest date open points expire after ``now``, and how many points expire then."""
    first = session.execute(
        select(func.min(LedgerEntry.expires_at)).join(Account, Account.id == LedgerEntry.account_id)
        .where(Account.resident_id == resident_id, LedgerEntry.remaining > 0, LedgerEntry.expires_at > now)
    ).scalar_one()
    if first is None:
        return None
    points = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).join(Account, Account.id == LedgerEntry.account_id)
        .where(Account.resident_id == resident_id, LedgerEntry.remaining > 0, LedgerEntry.expires_at == first)
    ).scalar_one()
    return NextExpiry(points=int(points), expires_at=first)


def trend(session, resident_id: int, now: datetime, days: int = TREND_DAYS) -> Trend:
    """Points credited per Shanghai day and action type over the last ``days`` days (today included)."""
    today = local_date(now)
    start = today - timedelta(days=days - 1)
    rows = session.execute(
        select(Credit.local_day, ActionType.name, func.sum(Credit.points), func.sum(Credit.grams))
        .join(ActionType, ActionType.code == Credit.action_type)
        .join(GreenAction, GreenAction.id == Credit.id)
        .where(GreenAction.resident_id == resident_id, *credit_days(start, today + timedelta(days=1)),
               Credit.status == "credited")
        .group_by(Credit.local_day, ActionType.name)
    ).all()
    day_list = [start + timedelta(days=i) for i in range(days)]
    index = {day: i for i, day in enumerate(day_list)}
    series: dict[str, list[int]] = {}
    grams = points = 0
    for day, name, day_points, day_grams in rows:
        series.setdefault(name, [0] * days)[index[day]] += int(day_points or 0)
        points += int(day_points or 0)
        grams += int(day_grams or 0)
    ordered = dict(sorted(series.items(), key=lambda item: -sum(item[1])))
    return Trend(days=day_list, series=ordered, grams=grams, points=points)


def own_redemption(session, resident_id: int, redemption_id: int):
    """The redemption (voucher) if it is the resident's own; None for anyone else's."""
    from carbon_credit.models import Redemption

    return session.execute(select(Redemption).where(Redemption.id == redemption_id,
                                                    Redemption.resident_id == resident_id)).scalar_one_or_none()


def appliance_claims(session, resident_id: int, claim_id: int | None = None) -> list[tuple]:
    """The resident's appliance claims, newest first, each with the reviewer's note (or one claim by id)."""
    from carbon_credit.models import ApplianceClaim, GreenAction

    query = (select(ApplianceClaim, GreenAction.review_note)
             .outerjoin(GreenAction, GreenAction.id == ApplianceClaim.action_id)
             .where(ApplianceClaim.resident_id == resident_id).order_by(ApplianceClaim.id.desc()))
    if claim_id is not None:
        query = query.where(ApplianceClaim.id == claim_id)
    return [(row[0], row[1] or "") for row in session.execute(query).all()]


@dataclass(frozen=True)
class CampaignActivity:
    enrolled: bool
    checkins: int
    checkin_points: int
    first_bonus_at: Optional[datetime]


def campaign_activity(session, resident_id: int, campaign_ids: list[int]) -> dict[int, CampaignActivity]:
    """Per campaign: whether the resident is enrolled, their check-ins and points from them, the first-action bonus."""
    from carbon_credit.models import CampaignCheckin, CampaignEnrolment

    if not campaign_ids:
        return {}
    enrolments = {row.campaign_id: row for row in session.execute(select(CampaignEnrolment).where(
        CampaignEnrolment.resident_id == resident_id, CampaignEnrolment.campaign_id.in_(campaign_ids))).scalars()}
    checkins = {cid: (int(n), int(p or 0)) for cid, n, p in session.execute(
        select(CampaignCheckin.campaign_id, func.count(), func.sum(CampaignCheckin.points))
        .where(CampaignCheckin.resident_id == resident_id, CampaignCheckin.campaign_id.in_(campaign_ids))
        .group_by(CampaignCheckin.campaign_id)).all()}
    result = {}
    for cid in campaign_ids:
        enrolment = enrolments.get(cid)
        count, points = checkins.get(cid, (0, 0))
        result[cid] = CampaignActivity(enrolled=enrolment is not None, checkins=count, checkin_points=points,
                                       first_bonus_at=enrolment.first_bonus_claimed_at if enrolment else None)
    return result


def action_type_names(session) -> dict[str, str]:
    """Every action type's code → its Chinese name."""
    return dict(session.execute(select(ActionType.code, ActionType.name)).all())


def scene_for_code(session, code: str) -> str | None:
    """The check-in scene a scanned or typed code names.

    A scan inside WeChat gives the QR code's URL (looked up among the codes
    issued, newest first); a typed code is the scene itself, e.g. ``station:7``
    (a full-width colon and spaces are tolerated).
    """
    text = (code or "").strip().replace("：", ":").replace(" ", "")
    if not text:
        return None
    if text.startswith(("http://", "https://")):
        return session.execute(select(QRCode.scene).where(QRCode.url == text).order_by(QRCode.id.desc())
                               .limit(1)).scalar_one_or_none()
    return text.lower() if parse_scene(text.lower()) else None
