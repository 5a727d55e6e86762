"""One earn lot per account and expiry date: every credit that earns tops it up, and the credits explain it.

The invariant, on every backend and after every kind of write: an account's earn
lots hold exactly the points and grams of its credited credits.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.ledger.expiry import expire_points
from carbon_credit.ledger.points import (adjust_balance, earn_lot_mismatches, ledger_is_consistent, lock_account,
                                         take_points)
from carbon_credit.ledger.statement import recent_changes, statement_page
from carbon_credit.models import Credit, GreenAction, LedgerEntry
from carbon_credit.timeutil import expiry_for

from .domain_helpers import act, install_rules
from .factories import FIXED_NOW, make_resident
from .ingest_helpers import NOW, ingest, resident_with_card, setup_rules, trip, write_file

LAST_YEAR = datetime(2025, 6, 1, 4, tzinfo=timezone.utc)


def _earn_lots(session, account_id: int) -> dict:
    session.expire_all()
    return {lot.expires_at: lot for lot in session.scalars(select(LedgerEntry).where(
        LedgerEntry.account_id == account_id, LedgerEntry.kind == "earn"))}


def test_credits_of_one_year_share_one_lot_and_each_year_has_its_own(session):
    install_rules(session)
    resident = make_resident(session)
    old = [act(session, resident, "bus_ride", "1", "trip", now=LAST_YEAR + timedelta(hours=h)).credit for h in (0, 1)]
    new = [act(session, resident, "metro_ride", km, "km").credit for km in ("10", "3")]
    account = lock_account(session, resident.id)
    lots = _earn_lots(session, account.id)
    assert set(lots) == {expiry_for(LAST_YEAR), expiry_for(FIXED_NOW)}
    for credits in (old, new):
        lot = lots[expiry_for(credits[0].created_at)]
        assert (lot.points, lot.grams, lot.remaining) == (sum(c.points for c in credits),
                                                          sum(c.grams for c in credits), sum(c.points for c in credits))
        assert lot.created_at == credits[0].created_at  # the lot's first earn
    assert earn_lot_mismatches(session) == {} and ledger_is_consistent(session, account.id)


def test_the_invariant_holds_after_spends_adjustments_and_expiry(session):
    install_rules(session)
    resident = make_resident(session)
    earned = sum(act(session, resident, "bus_ride", "1", "trip", now=LAST_YEAR + timedelta(hours=h)).credit.points
                 for h in range(3))
    act(session, resident, "metro_ride", "10", "km")
    account = lock_account(session, resident.id)
    take_points(session, account, FIXED_NOW, kind="spend", points=100, reference="redemption:1")
    adjust_balance(session, resident.id, -5, "更正", FIXED_NOW, actor_id=None, reference="adjust:1")
    adjust_balance(session, resident.id, 9, "补发", FIXED_NOW, actor_id=None, reference="adjust:2")
    session.commit()
    expired = expire_points(session, expiry_for(FIXED_NOW) - timedelta(seconds=1))  # last year's lot is due
    session.commit()
    lots = _earn_lots(session, account.id)
    assert expired.points == earned - 100 - 5 > 0 and lots[expiry_for(LAST_YEAR)].remaining == 0
    assert lots[expiry_for(LAST_YEAR)].points == earned  # what it earned stays, only what is left expired
    act(session, resident, "metro_ride", "3", "km")  # earns after all that still top the lot of their year up
    assert earn_lot_mismatches(session) == {}
    assert ledger_is_consistent(session, lock_account(session, resident.id).id)


def test_a_lot_topped_up_after_it_expired_expires_again_for_the_new_points_only(session):
    """A backfill may credit an action of a year whose lot has already expired."""
    install_rules(session)
    resident = make_resident(session)
    first = act(session, resident, "bus_ride", "1", "trip", now=LAST_YEAR).credit.points
    session.commit()
    due = expiry_for(LAST_YEAR)
    assert expire_points(session, due).points == first
    session.commit()
    late = act(session, resident, "metro_ride", "2", "km", now=LAST_YEAR + timedelta(hours=2)).credit.points
    session.commit()
    assert expire_points(session, due + timedelta(days=1)).points == late != first
    session.commit()
    expiries = session.scalars(select(LedgerEntry.reference).where(LedgerEntry.kind == "expire")).all()
    assert len(set(expiries)) == 2
    assert lock_account(session, resident.id).balance == 0 and earn_lot_mismatches(session) == {}


def test_the_database_refuses_a_second_earn_lot_of_one_expiry_date(session):
    install_rules(session)
    resident = make_resident(session)
    act(session, resident, "bus_ride", "1", "trip")
    account = lock_account(session, resident.id)
    session.add(LedgerEntry(account_id=account.id, kind="earn", points=1, grams=0, remaining=1,
                            expires_at=expiry_for(FIXED_NOW), reason="", created_at=FIXED_NOW))
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_invariant_catches_a_lot_that_its_credits_do_not_explain(session):
    install_rules(session)
    resident = make_resident(session)
    credit = act(session, resident, "bus_ride", "1", "trip").credit
    account = lock_account(session, resident.id)
    session.execute(update(LedgerEntry).where(LedgerEntry.kind == "earn").values(points=LedgerEntry.points + 1))
    assert earn_lot_mismatches(session) == {account.id: ((credit.points + 1, credit.grams),
                                                         (credit.points, credit.grams))}
    assert earn_lot_mismatches(session, [account.id + 1]) == {}


def test_a_bulk_ingest_tops_up_the_lot_a_single_credit_made(session, tmp_path):
    setup_rules(session)
    rider = resident_with_card(session, "62001234567")
    act(session, rider, "bus_ride", "1", "trip", now=NOW - timedelta(days=1))
    session.commit()
    ingest(session, write_file(tmp_path, [trip("t1", "62001234567", "bus", 8), trip("t2", "62001234567", "metro", 9, distance="7.5")]))
    day_two = NOW + timedelta(days=1)
    ingest(session, write_file(tmp_path, [trip("t3", "62001234567", "bus", 8, day=day_two.replace(hour=0))],
                               name="day2.csv"), now=day_two)
    session.rollback()
    account = lock_account(session, rider.id)
    lots = _earn_lots(session, account.id)
    credits = session.scalars(select(Credit).where(Credit.resident_id == rider.id, Credit.status == "credited")).all()
    assert len(credits) == 4 and list(lots) == [expiry_for(NOW)]
    assert lots[expiry_for(NOW)].points == sum(c.points for c in credits) == account.balance
    assert lots[expiry_for(NOW)].created_at == NOW - timedelta(days=1)  # the single credit made it
    assert earn_lot_mismatches(session) == {} and ledger_is_consistent(session, account.id)


def test_the_statement_lists_every_credit_and_other_change_and_pages_across_both(session):
    install_rules(session)
    resident = make_resident(session)
    moments = [FIXED_NOW - timedelta(days=3, hours=h) for h in range(6)]
    credits = [act(session, resident, "metro_ride", "2", "km", now=m, at=m - timedelta(minutes=5)).credit
               for m in moments]
    account = lock_account(session, resident.id)
    # A spend at the very moment of an action: the credit comes first, then the entry.
    tie = moments[2] - timedelta(minutes=5)
    take_points(session, account, tie, kind="spend", points=3, reference="redemption:9", reason="")
    adjust_balance(session, resident.id, 4, "补发", moments[0] + timedelta(hours=1), actor_id=None,
                   reference="adjust:9")
    session.commit()
    seen, after = [], None
    while True:
        page, more = statement_page(session, resident.id, after=after, limit=3)
        seen += page
        if not more:
            break
        after = page[-1].key
    assert [line.kind for line in seen] == ["adjust", "credit", "credit", "credit", "spend", "credit", "credit",
                                            "credit"]
    assert [line.credit.id for line in seen if line.credit] == [c.id for c in credits]
    assert [line.at for line in seen] == sorted((line.at for line in seen), reverse=True)
    assert recent_changes(session, resident.id, 4) == seen[:4]
    occurred = session.scalar(select(GreenAction.occurred_at).where(GreenAction.id == credits[2].action_id))
    assert occurred == tie and seen[3].credit.id == credits[2].id and seen[4].kind == "spend"
    # A key of another resident's line, or of nothing, starts at the top.
    other = make_resident(session)
    foreign = act(session, other, "metro_ride", "2", "km").credit
    assert statement_page(session, resident.id, after=f"c{foreign.id}", limit=3)[0] == seen[:3]
    assert statement_page(session, resident.id, after="x1", limit=3)[0] == seen[:3]
