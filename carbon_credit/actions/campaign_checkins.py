"""Campaign check-ins: by scanning the campaign's QR code, or by a worker on site.

A check-in is a row per (campaign, resident, Shanghai day, slot), slots running
1..daily limit, and a green action of type ``campaign_checkin`` recorded
through the domain, so it has a credit, a trace and a ledger lot like any
other action. The resident's account row is locked before the limits are
counted, so concurrent scans of one resident serialise and the limits hold;
the unique slot would stop a second writer anyway.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.campaigns.enrolment import ensure_enrolment
from carbon_credit.campaigns.queries import get_campaign
from carbon_credit.campaigns.validation import CHECKIN_TYPE
from carbon_credit.errors import Conflict, DomainError, InvalidInput, NotFound
from carbon_credit.ledger.points import lock_account
from carbon_credit.models import Campaign, CampaignCheckin, Resident
from carbon_credit.residents.accounts import find_resident_by_phone
from carbon_credit.residents.cards import resident_id_for_card
from carbon_credit.scenes import ScanResult, scene_id
from carbon_credit.staff.scope import OutOfScope, covers
from carbon_credit.timeutil import local_date

CHECKIN_STATUSES = ("published", "running")
# How a refused worker check-in is answered: {scan code: (error class, message)}.
WORKER_REFUSALS = {
    "not_open": (Conflict, "The campaign is not open for check-in now."),
    "outside_community": (InvalidInput, "The resident's community is not among the campaign's communities."),
    "already_checked_in": (Conflict, "The resident has reached today's check-in limit."),
    "limit_reached": (Conflict, "The resident has reached the campaign's check-in limit."),
}


def _refusal(campaign: Campaign, resident, now: datetime) -> Optional[str]:
    open_now = campaign.status in CHECKIN_STATUSES and campaign.active_from <= now < campaign.active_until
    if not open_now or campaign.checkin_points <= 0:
        return "not_open"
    if resident.community_id not in campaign.community_ids:
        return "outside_community"
    return None


def _counts(session, campaign_id: int, resident_id: int, day) -> tuple[int, int]:
    today, total = session.execute(
        select(func.count().filter(CampaignCheckin.local_day == day), func.count())
        .where(CampaignCheckin.campaign_id == campaign_id, CampaignCheckin.resident_id == resident_id)
    ).one()
    return today or 0, total or 0


def _insert_checkin(session, campaign, resident, day, slot, now, via, staff_id) -> Optional[CampaignCheckin]:
    checkin = CampaignCheckin(campaign_id=campaign.id, resident_id=resident.id, local_day=day, slot=slot,
                              via=via, staff_id=staff_id, checked_in_at=now)
    try:
        with session.begin_nested():
            session.add(checkin)
    except IntegrityError:
        return None
    return checkin


def check_in(session, campaign: Campaign, resident, now: datetime, *, via: str = "qr",
             staff_id: Optional[int] = None) -> ScanResult:
    """Check a resident in; a refusal is a ScanResult with ok=False and nothing written."""
    code = _refusal(campaign, resident, now)
    if code:
        return ScanResult(ok=False, code=code, title=campaign.title)
    account = lock_account(session, resident.id)
    day = local_date(now)
    today, total = _counts(session, campaign.id, resident.id, day)
    if today >= campaign.checkin_daily_limit:
        return ScanResult(ok=False, code="already_checked_in", balance=account.balance, title=campaign.title)
    if campaign.checkin_total_limit is not None and total >= campaign.checkin_total_limit:
        return ScanResult(ok=False, code="limit_reached", balance=account.balance, title=campaign.title)
    checkin = _insert_checkin(session, campaign, resident, day, today + 1, now, via, staff_id)
    if checkin is None:
        return ScanResult(ok=False, code="already_checked_in", balance=account.balance, title=campaign.title)
    result = record_action(session, ActionInput(
        resident_id=resident.id, action_type=CHECKIN_TYPE, quantity=Decimal(1), unit="checkin", occurred_at=now,
        source="qr_checkin" if via == "qr" else "worker", evidence="qr" if via == "qr" else "worker",
        idem_scope="campaign_checkin", external_id=f"{campaign.id}:{resident.id}:{day.isoformat()}:{today + 1}",
        attributes={"campaign_id": campaign.id, "checkin_id": checkin.id}, recorded_by=staff_id), now)
    checkin.action_id = result.action.id
    checkin.points = result.credit.points if result.credit else 0
    ensure_enrolment(session, campaign.id, resident.id, "checkin" if via == "qr" else "worker", now)
    session.flush()
    return ScanResult(ok=True, code="checked_in", points=checkin.points, balance=account.balance,
                      title=campaign.title, detail={"campaign_id": campaign.id, "slot": checkin.slot,
                                                    "action_id": result.action.id, "resident_id": resident.id})


def scan_campaign(session, resident, ident: str, now: datetime) -> ScanResult:
    """The bot's QR scan of ``campaign:<id>``."""
    campaign_id = scene_id(ident)
    campaign = session.get(Campaign, campaign_id) if campaign_id is not None else None
    if campaign is None or campaign.status in ("draft",):
        return ScanResult(ok=False, code="unknown_scene")
    return check_in(session, campaign, resident, now, via="qr")


def _by_resident_id(session, value, keys) -> Optional[int]:
    return int(value) if session.get(Resident, int(value)) is not None else None


def _by_card(session, value, keys) -> Optional[int]:
    return resident_id_for_card(session, value, key=keys.get("card"))


def _by_phone(session, value, keys) -> Optional[int]:
    resident = find_resident_by_phone(session, value, key=keys.get("phone"))
    return resident.id if resident is not None else None


# The ways a worker can name a resident on site.
RESIDENT_LOOKUPS = {"resident_id": _by_resident_id, "card_no": _by_card, "phone": _by_phone}


def find_resident_on_site(session, ident: dict, keys: Optional[dict] = None) -> Resident:
    """The resident named by exactly one of resident_id, phone or card_no."""
    given = {k: v for k, v in ident.items() if v not in (None, "")}
    if len(given) != 1:
        raise InvalidInput("Name the resident by exactly one of resident_id, phone or card_no.",
                           code="resident_identifier_required",
                           errors={k: ["give exactly one"] for k in ("resident_id", "phone", "card_no")})
    (kind, value), = given.items()
    resident_id = RESIDENT_LOOKUPS[kind](session, value, keys or {})
    if resident_id is None:
        raise NotFound("No resident matches.", code="resident_not_found", errors={kind: ["no resident matches"]})
    return session.get(Resident, resident_id)


def check_in_on_site(session, campaign_id: int, ident: dict, now: datetime, *, staff_id: int,
                     keys: Optional[dict] = None, scope=None) -> ScanResult:
    """A worker checks in a resident without a phone; refusals are errors (4xx), nothing written.

    ``scope`` is the worker's communities (None for an admin): a resident outside
    them is answered as one nobody matches.
    """
    campaign = get_campaign(session, campaign_id)
    resident = find_resident_on_site(session, ident, keys)
    if not covers(scope, resident.community_id):
        raise OutOfScope("No resident matches.", code="resident_not_found",
                         errors={next(k for k, v in ident.items() if v not in (None, "")): ["no resident matches"]})
    result = check_in(session, campaign, resident, now, via="worker", staff_id=staff_id)
    if not result.ok:
        error, message = WORKER_REFUSALS.get(result.code, (DomainError, "Check-in refused."))
        raise error(message, code=f"checkin_{result.code}")
    return result
