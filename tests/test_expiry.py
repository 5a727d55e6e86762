"""Points expire at the end of the year after they were earned, with one reminder 30 days before."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from carbon_credit.ledger.expiry import expire_points, remind_expiring
from carbon_credit.ledger.points import ledger_is_consistent, lock_account, take_points
from carbon_credit.models import LedgerEntry, Notification
from carbon_credit.timeutil import TZ

from .factories import make_resident
from .reward_support import count, give_points

EARNED = datetime(2025, 3, 1, 10, 0, tzinfo=TZ)
EXPIRES = datetime(2027, 1, 1, 0, 0, tzinfo=TZ)


def test_a_lot_earned_in_march_2025_expires_at_new_year_2027_shanghai(session):
    lot = give_points(session, make_resident(session), 120, at=EARNED)
    assert lot.expires_at == EXPIRES.astimezone(timezone.utc) == datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)


def test_expiry_job_writes_one_expire_entry_and_a_rerun_writes_nothing(session):
    resident = make_resident(session)
    lot = give_points(session, resident, 120, at=EARNED)
    account = lock_account(session, resident.id)
    take_points(session, account, EARNED + timedelta(days=30), kind="spend", points=20, reference="spend:1")
    session.commit()

    before = expire_points(session, EXPIRES - timedelta(seconds=1))
    assert (before.accounts, before.points) == (0, 0)
    first = expire_points(session, EXPIRES)
    session.commit()
    again = expire_points(session, EXPIRES + timedelta(hours=1))
    session.commit()

    assert (first.accounts, first.points) == (1, 100)
    assert (again.accounts, again.points) == (0, 0)
    entries = session.execute(select(LedgerEntry).where(LedgerEntry.kind == "expire")).scalars().all()
    assert [(e.points, e.reference) for e in entries] == [(-100, f"expire:{lot.id}:120")]
    assert lock_account(session, resident.id).balance == 0
    assert ledger_is_consistent(session, account.id)


def test_expiry_runs_in_batches_that_each_commit(session):
    for _ in range(5):
        give_points(session, make_resident(session), 10, at=EARNED)
    session.commit()
    commits = []
    result = expire_points(session, EXPIRES, batch_size=2, on_batch=lambda: commits.append(session.commit()))
    assert (result.accounts, result.points, result.batches) == (5, 50, 3)
    assert len(commits) == 3


def test_reminder_is_queued_30_days_before_once_per_resident_and_date(session):
    resident = make_resident(session)
    give_points(session, resident, 100, at=EARNED)
    give_points(session, resident, 50, at=EARNED + timedelta(days=60))  # same expiry date
    give_points(session, resident, 70, at=datetime(2026, 2, 1, tzinfo=TZ))  # expires a year later
    session.commit()

    assert remind_expiring(session, EXPIRES - timedelta(days=31)) == 0
    assert remind_expiring(session, EXPIRES - timedelta(days=30)) == 1
    session.commit()
    assert remind_expiring(session, EXPIRES - timedelta(days=29)) == 0
    assert remind_expiring(session, EXPIRES - timedelta(days=1)) == 0
    session.commit()

    notes = session.execute(select(Notification).where(Notification.kind == "expiry_reminder")).scalars().all()
    assert len(notes) == 1
    assert notes[0].payload == {"points": 150, "expires_at": EXPIRES.astimezone(timezone.utc).isoformat()}
    assert notes[0].dedupe_key == f"expiry_reminder:{resident.id}:2027-01-01"


def test_no_reminder_for_points_already_spent_or_inactive_residents(session):
    spender = make_resident(session)
    give_points(session, spender, 100, at=EARNED)
    take_points(session, lock_account(session, spender.id), EARNED, kind="spend", points=100, reference="spend:2")
    gone = make_resident(session)
    give_points(session, gone, 100, at=EARNED)
    gone.status = "unfollowed"
    session.commit()
    assert remind_expiring(session, EXPIRES - timedelta(days=10)) == 0
    assert count(session, Notification) == 0
