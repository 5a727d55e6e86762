"""What the platform holds about one resident, for their own export request.

Everything tied to the person: profile, account, green actions with their
credits and traces, ledger entries and notifications. Erasure is
``residents.erase_resident``; an unfollow is ``residents.unfollow_resident``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from carbon_credit.errors import NotFound
from carbon_credit.models import Account, Credit, GreenAction, LedgerEntry, Notification, Resident
from carbon_credit.models.wechat import TemplateSend
from carbon_credit.outreach.notifications import digest_payloads


def export_resident_data(session, resident_id: int, now: datetime) -> dict:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("No such resident.", code="resident_not_found")
    account = session.scalar(select(Account).where(Account.resident_id == resident_id))
    return {
        "exported_at": now,
        "resident": resident,
        "community": resident.community.name if resident.community else None,
        "account": account,
        "actions": _actions(session, resident_id),
        "ledger": _ledger(session, account.id) if account else [],
        "notifications": _notifications(session, resident_id),
    }


def _actions(session, resident_id: int) -> list[dict]:
    rows = session.execute(
        select(GreenAction, Credit).outerjoin(Credit, Credit.id == GreenAction.id)
        .where(GreenAction.resident_id == resident_id).order_by(GreenAction.occurred_at, GreenAction.id)
    ).all()
    return [{"action": action, "credit": credit} for action, credit in rows]


def _notifications(session, resident_id: int) -> list[dict]:
    """Each message with what it is about and, once sent, what it said (the template's keyword values).

    A digest of a day's trips is about that day's credits as they stand now; the
    balance it told is among the values it was sent with.
    """
    notes = list(session.scalars(select(Notification).where(Notification.resident_id == resident_id)
                                 .order_by(Notification.created_at, Notification.id)))
    built = digest_payloads(session, notes, with_balance=False)
    sent = dict(session.execute(select(TemplateSend.notification_id, TemplateSend.data)
                                .join(Notification, Notification.id == TemplateSend.notification_id)
                                .where(Notification.resident_id == resident_id)).all())
    return [{"kind": note.kind, "payload": built[note.id] if note.id in built else note.payload,
             "sent": _said(sent.get(note.id)), "status": note.status, "created_at": note.created_at,
             "sent_at": note.sent_at} for note in notes]


def _said(data) -> dict | None:
    """{keyword: value} of a template send's data ({keyword: {"value": …}}); None before it was sent."""
    if not data:
        return None
    return {name: (item or {}).get("value") for name, item in data.items()}


def _ledger(session, account_id: int) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account_id)
                                .order_by(LedgerEntry.created_at, LedgerEntry.id)))
