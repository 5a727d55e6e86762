"""Points expiry and the reminder 30 days before (METHODOLOGY.md: end of the year after earning).

Lots carry their ``expires_at`` from the day they are written (timeutil.expiry_for;
an account's earns of one year share one lot), so the job only has to turn due
lots into ``expire`` entries. Both jobs are safe to run again at any time: an
expired lot has ``remaining = 0`` and its entry a unique reference
(``points.expire_reference``); a reminder has a unique dedupe key per resident
and expiry date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import func, select

from carbon_credit.ledger.points import REMINDER_WINDOW, expire_due_accounts
from carbon_credit.models import Account, LedgerEntry, Notification
from carbon_credit.outreach.notifications import enqueue_notification
from carbon_credit.timeutil import local_date

BATCH_SIZE = 1000


@dataclass
class ExpiryResult:
    accounts: int = 0
    points: int = 0
    batches: int = 0


def expire_points(session, now: datetime, *, batch_size: int = BATCH_SIZE,
                  on_batch: Optional[Callable[[], None]] = None) -> ExpiryResult:
    """Expire every due lot, a batch of accounts at a time.

    ``on_batch`` (the job passes the session's commit) ends each batch's
    transaction so locks are short and a crash loses at most one batch, which the
    next run redoes. Without it everything stays in the caller's transaction.
    """
    result = ExpiryResult()
    while True:
        accounts, points = expire_due_accounts(session, now, limit=batch_size)
        if accounts == 0:
            return result
        result.accounts += accounts
        result.points += points
        result.batches += 1
        if on_batch is not None:
            on_batch()


def reminder_key(resident_id: int, expires_at: datetime) -> str:
    return f"expiry_reminder:{resident_id}:{local_date(expires_at).isoformat()}"


def _expiring_batch(session, now: datetime, after_account: int, batch_size: int):
    """(account, resident, expires_at, points) for lots expiring within the window, by account."""
    horizon = now + REMINDER_WINDOW
    accounts = select(LedgerEntry.account_id).where(
        LedgerEntry.remaining > 0, LedgerEntry.expires_at > now, LedgerEntry.expires_at <= horizon,
        LedgerEntry.account_id > after_account,
    ).group_by(LedgerEntry.account_id).order_by(LedgerEntry.account_id).limit(batch_size).subquery()
    return session.execute(
        select(LedgerEntry.account_id, Account.resident_id, LedgerEntry.expires_at,
               func.sum(LedgerEntry.remaining))
        .join(Account, Account.id == LedgerEntry.account_id)
        .where(LedgerEntry.account_id.in_(select(accounts.c.account_id)), LedgerEntry.remaining > 0,
               LedgerEntry.expires_at > now, LedgerEntry.expires_at <= horizon)
        .group_by(LedgerEntry.account_id, Account.resident_id, LedgerEntry.expires_at)
        .order_by(LedgerEntry.account_id)
    ).all()


def remind_expiring(session, now: datetime, *, batch_size: int = BATCH_SIZE,
                    on_batch: Optional[Callable[[], None]] = None) -> int:
    """Queue one "expiry_reminder" per resident and expiry date for points expiring within 30 days.

    Keys already queued are skipped in bulk, so a second run is cheap and queues nothing.
    Returns the number of reminders queued by this run.
    """
    queued, after = 0, 0
    while True:
        rows = _expiring_batch(session, now, after, batch_size)
        if not rows:
            return queued
        after = rows[-1][0]
        keys = {reminder_key(resident_id, expires_at): (resident_id, expires_at, int(points))
                for _, resident_id, expires_at, points in rows}
        known = set(session.execute(select(Notification.dedupe_key)
                                    .where(Notification.dedupe_key.in_(list(keys)))).scalars())
        for key, (resident_id, expires_at, points) in keys.items():
            if key in known:
                continue
            note = enqueue_notification(session, resident_id, "expiry_reminder",
                                        {"points": points, "expires_at": expires_at.isoformat()}, now,
                                        dedupe_key=key)
            queued += note is not None
        session.flush()
        if on_batch is not None:
            on_batch()


__all__ = ["ExpiryResult", "expire_points", "remind_expiring", "reminder_key"]
