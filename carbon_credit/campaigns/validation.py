"""Checking a campaign's settings before anything is written.

Every problem is collected and reported at once as field errors
({field: [messages]}), so a form can show them all.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from carbon_credit.errors import InvalidInput
from carbon_credit.models import ActionType, Community
from carbon_credit.models.campaigns import QR_KINDS

CHECKIN_TYPE = "campaign_checkin"
MULTIPLIER_MAX = Decimal(10)
FIRST_BONUS_MAX = 1000
CHECKIN_POINTS_MAX = 500
CHECKIN_DAILY_MAX = 10
CHECKIN_TOTAL_MAX = 1000
REMIND_DAYS_MAX = 30
TEXT_LIMITS = {"title": 64, "description": 4000, "cover_text": 256}


def _problems_of_windows(values: dict):
    vf, vu = values.get("visible_from"), values.get("visible_until")
    af, au = values.get("active_from"), values.get("active_until")
    for name in ("visible_from", "visible_until", "active_from", "active_until"):
        value = values.get(name)
        if value is None:
            yield name, "required"
        elif value.tzinfo is None:
            yield name, "needs a time zone offset"
    if None in (vf, vu, af, au) or any(v.tzinfo is None for v in (vf, vu, af, au)):
        return
    if vu <= vf:
        yield "visible_until", "must be after visible_from"
    if au <= af:
        yield "active_until", "must be after active_from"
    if af < vf:
        yield "active_from", "the visible window must contain the active window (visible_from ≤ active_from)"
    if au > vu:
        yield "active_until", "the visible window must contain the active window (active_until ≤ visible_until)"
    remind = values.get("remind_days_before")
    if remind is not None and au > af and remind * 86400 >= (au - af).total_seconds():
        yield "remind_days_before", "the reminder must fall inside the active window"


def _decimal(value):
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _problems_of_bonus_rules(session, values: dict):
    known = set(session.execute(select(ActionType.code).where(ActionType.active.is_(True))).scalars())
    known.discard(CHECKIN_TYPE)
    for code in values.get("action_types") or []:
        if code not in known:
            yield f"action_types.{code}", "unknown action type"
    for code, raw in (values.get("multipliers") or {}).items():
        if code not in known:
            yield f"multipliers.{code}", "unknown action type"
        value = _decimal(raw)
        if value is None or value <= 1 or value > MULTIPLIER_MAX:
            yield f"multipliers.{code}", f"must be greater than 1 and at most {MULTIPLIER_MAX}"
    yield from _bounded(values, "first_action_bonus", 0, FIRST_BONUS_MAX)
    yield from _bounded(values, "checkin_points", 0, CHECKIN_POINTS_MAX)
    yield from _bounded(values, "checkin_daily_limit", 1, CHECKIN_DAILY_MAX)
    if values.get("checkin_total_limit") is not None:
        yield from _bounded(values, "checkin_total_limit", 1, CHECKIN_TOTAL_MAX)
        if values["checkin_total_limit"] < (values.get("checkin_daily_limit") or 1):
            yield "checkin_total_limit", "must be at least the daily limit"
    if values.get("remind_days_before") is not None:
        yield from _bounded(values, "remind_days_before", 1, REMIND_DAYS_MAX)
    qr = values.get("checkin_qr")
    if qr is not None and qr not in QR_KINDS:
        yield "checkin_qr", f"one of {', '.join(QR_KINDS)}"
    if qr is not None and not values.get("checkin_points"):
        yield "checkin_qr", "a check-in QR needs check-in points"
    if values.get("first_action_bonus") and not (values.get("action_types") or values.get("multipliers")):
        yield "first_action_bonus", "name the action types that qualify (action_types or multipliers)"


def _bounded(values: dict, name: str, low: int, high: int):
    value = values.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        yield name, f"must be a whole number from {low} to {high}"


def _problems_of_texts(values: dict):
    if not str(values.get("title") or "").strip():
        yield "title", "required"
    for name, limit in TEXT_LIMITS.items():
        if len(str(values.get(name) or "")) > limit:
            yield name, f"at most {limit} characters"


def _problems_of_communities(session, values: dict, allowed):
    ids = values.get("community_ids")
    if not ids:
        yield "community_ids", "name at least one community"
        return
    found = set(session.execute(select(Community.id).where(Community.id.in_(ids))).scalars())
    for cid in ids:  # a community outside a worker's area is answered as an unknown one
        if cid not in found or (allowed is not None and cid not in allowed):
            yield f"community_ids.{cid}", "no such community"


def check_campaign(session, values: dict, allowed_community_ids=None) -> None:
    """Raise InvalidInput listing every problem of a complete set of campaign values."""
    problems = [
        *_problems_of_texts(values),
        *_problems_of_communities(session, values, allowed_community_ids),
        *_problems_of_windows(values),
        *_problems_of_bonus_rules(session, values),
    ]
    if problems:
        errors: dict = {}
        for name, message in problems:
            errors.setdefault(name, []).append(message)
        raise InvalidInput("The campaign settings are not valid.", code="campaign_invalid", errors=errors)


def normalise(values: dict) -> dict:
    """Store multipliers as strings of their exact decimal; qualifying types include the multiplied ones."""
    out = dict(values)
    if "multipliers" in out:
        out["multipliers"] = {code: format(_decimal(v).normalize(), "f") for code, v in (out["multipliers"] or {}).items()}
    types = list(dict.fromkeys([*(out.get("action_types") or []), *(out.get("multipliers") or {})]))
    out["action_types"] = types
    return out
