"""The monthly street report (街道月报) the city's performance assessment asks for.

kg CO2e and points by category and by community, per resident, the share of
residents who took part, and the campaigns held; with an XLSX of the same tables.
"""
from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import Workbook
from sqlalchemy import func, select

from carbon_credit.budgets.limits import month_bounds
from carbon_credit.errors import NotFound
from carbon_credit.models import ActionType, Campaign, Community, Credit, Resident, Street
from carbon_credit.models.campaigns import CampaignCheckin, campaign_communities
from carbon_credit.reporting.overview import _credited, _followers, month_days
from carbon_credit.timeutil import local_date


def street_communities(session, street_id: int, scope) -> tuple[Street, list[Community]]:
    """The street and the caller's communities in it; a street outside the scope reads as unknown."""
    street = session.get(Street, street_id)
    communities = [c for c in (street.communities if street else []) if scope is None or c.id in scope]
    if street is None or not communities:
        raise NotFound("No such street in your area.", code="street_not_found")
    return street, communities


def _by_community(session, month: date, ids: list[int]) -> dict[int, dict]:
    rows = session.execute(
        select(Resident.community_id, func.count(func.distinct(Credit.resident_id)),
               func.coalesce(func.sum(Credit.grams), 0), func.coalesce(func.sum(Credit.points), 0))
        .join(Resident, Resident.id == Credit.resident_id).where(*_credited(month, ids))
        .group_by(Resident.community_id)).all()
    return {cid: {"participants": int(n), "grams": int(g), "points": int(p)} for cid, n, g, p in rows}


def _by_category(session, month: date, ids: list[int]) -> list[dict]:
    rows = session.execute(
        select(ActionType.category, func.count(Credit.id), func.coalesce(func.sum(Credit.grams), 0),
               func.coalesce(func.sum(Credit.points), 0))
        .join(ActionType, ActionType.code == Credit.action_type).join(Resident, Resident.id == Credit.resident_id)
        .where(*_credited(month, ids)).group_by(ActionType.category).order_by(ActionType.category)).all()
    return [{"category": c, "actions": int(n), "grams": int(g), "points": int(p)} for c, n, g, p in rows]


def _campaigns(session, month: date, ids: list[int]) -> list[dict]:
    start, end = month_bounds(month)
    in_street = select(campaign_communities.c.campaign_id).where(campaign_communities.c.community_id.in_(ids))
    campaigns = session.scalars(
        select(Campaign).where(Campaign.id.in_(in_street), Campaign.status.not_in(("draft", "cancelled")),
                               Campaign.active_from < end, Campaign.active_until > start)
        .order_by(Campaign.active_from, Campaign.id)).all()
    checkins = dict(session.execute(
        select(CampaignCheckin.campaign_id, func.count(CampaignCheckin.id))
        .where(CampaignCheckin.campaign_id.in_([c.id for c in campaigns] or [-1]))
        .group_by(CampaignCheckin.campaign_id)).all())
    return [{"title": c.title, "active_from": c.active_from, "active_until": c.active_until, "status": c.status,
             "communities": [x.name for x in c.communities if x.id in ids], "checkins": int(checkins.get(c.id, 0))}
            for c in campaigns]


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def street_report(session, street_id: int, month: date, now: datetime, *, scope=None) -> dict:
    street, communities = street_communities(session, street_id, scope)
    month = month.replace(day=1)
    ids = [c.id for c in communities]
    end = min(month_bounds(month)[1], now)
    per_community = _by_community(session, month, ids)
    rows = []
    for community in communities:
        figures = per_community.get(community.id, {"participants": 0, "grams": 0, "points": 0})
        residents = _followers(session, end, [community.id])
        rows.append({"community": community.name, "residents": residents, **figures,
                     "grams_per_resident": round(figures["grams"] / residents) if residents else 0,
                     "participation": _ratio(figures["participants"], residents)})
    totals = {key: sum(r[key] for r in rows) for key in ("residents", "participants", "grams", "points")}
    totals["grams_per_resident"] = round(totals["grams"] / totals["residents"]) if totals["residents"] else 0
    totals["participation"] = _ratio(totals["participants"], totals["residents"])
    daily = dict(session.execute(
        select(Credit.local_day, func.coalesce(func.sum(Credit.grams), 0)).join(Resident, Resident.id == Credit.resident_id)
        .where(*_credited(month, ids)).group_by(Credit.local_day)).all())
    today = local_date(now)
    return {"street": street.name, "street_id": street.id, "month": month, "communities": rows, "totals": totals,
            "categories": _by_category(session, month, ids), "campaigns": _campaigns(session, month, ids),
            "daily": [{"day": d, "grams": int(daily.get(d, 0))} for d in month_days(month) if d <= today]}


def report_xlsx(report: dict, names: dict) -> bytes:
    """The report's tables as sheets; ``names`` gives Chinese labels for categories and statuses."""
    book = Workbook()
    sheet = book.active
    sheet.title = "分类"
    sheet.append(["类别", "次数", "减排量 kg CO2e", "积分"])
    for row in report["categories"]:
        sheet.append([names.get(row["category"], row["category"]), row["actions"], row["grams"] / 1000, row["points"]])
    sheet = book.create_sheet("社区")
    sheet.append(["社区", "居民", "参与人数", "参与率", "减排量 kg CO2e", "人均 kg CO2e", "积分"])
    for row in [*report["communities"], {"community": "合计", **report["totals"]}]:
        sheet.append([row["community"], row["residents"], row["participants"], row["participation"],
                      row["grams"] / 1000, row["grams_per_resident"] / 1000, row["points"]])
    sheet = book.create_sheet("活动")
    sheet.append(["活动", "开始", "结束", "社区", "签到人次", "状态"])
    for row in report["campaigns"]:
        sheet.append([row["title"], local_date(row["active_from"]).isoformat(),
                      local_date(row["active_until"]).isoformat(), "、".join(row["communities"]), row["checkins"],
                      names.get(row["status"], row["status"])])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
