"""Random transit files credit exactly as the rules engine credits the same trips one at a time.

The bulk ingest takes shortcuts (a shared outcome per kind of trip while every
cap has room, outcomes memoised on the caps' exact figures, caps seeded from
what earlier runs committed); the one-at-a-time path (``record_action``) asks
the engine and the database for every trip. Seeded random trips of several
residents over two and a half weeks go through both, in a world with
multipliers and first-action bonuses of two campaigns, daily, weekly and
monthly caps on trips, kilometres, grams and points, and a metro budget that
runs out part-way. Every credit (status, grams, points, the whole trace), every
ledger lot, enrolment, budget counter and balance must be the same.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.budgets.admin import create_budget
from carbon_credit.ingest.trips import MODES
from carbon_credit.ledger.points import earn_lot_mismatches
from carbon_credit.models import Account, BudgetCounter, CampaignEnrolment, Credit, GreenAction, LedgerEntry, RuleSet
from carbon_credit.timeutil import TZ

from .campaign_support import plain_campaign
from .factories import make_community, make_resident, make_staff
from .ingest_helpers import KEY, NOW, ingest, setup_rules, write_file

FIRST_DAY = date(2026, 5, 20)  # a Wednesday: the trips cross two week starts and a month start
DAYS = 17  # up to 2026-06-05, the day of NOW
CAPS = [
    dict(name="transit_rides_daily", action_types=["bus_ride", "metro_ride", "bike_ride"], period="day",
         metric="count", limit=4),
    dict(name="transit_km_weekly", action_types=["bus_ride", "metro_ride"], period="week", metric="units",
         limit=70),
    dict(name="bike_rides_weekly", action_types=["bike_ride"], period="week", metric="count", limit=5),
    dict(name="transit_grams_monthly", action_types=["bus_ride", "metro_ride", "bike_ride"], period="month",
         metric="grams", limit=5000),
    dict(name="points_daily", action_types=None, period="day", metric="points", limit=900),
]
DISTANCES = ["", "", "0.8", "2", "3.5", "5.50", "7.25", "12", "18.6", "30"]
# (seed, trips, the metro budget's mode)
SCENARIOS = [(11, 320, "scale"), (23, 300, "stop"), (47, 340, "scale")]


def _world(session) -> dict:
    """The rules with the caps above, two campaigns in one community, June's metro budget, six residents."""
    setup_rules(session)
    rule_set = session.execute(select(RuleSet)).scalar_one()
    rule_set.caps = [dict(cap) for cap in CAPS]
    home, elsewhere = make_community(session), make_community(session)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), TZ).astimezone(timezone.utc)
    plain_campaign(session, [home], title="全国低碳日", now=NOW, active_from=start + timedelta(days=3, hours=7),
                   days=9, multipliers={"metro_ride": "1.5"}, action_types=["metro_ride"], first_action_bonus=30)
    plain_campaign(session, [home], title="绿色出行周", now=NOW, active_from=start + timedelta(days=8), days=6,
                   multipliers={"bus_ride": "2", "bike_ride": "1.2"}, action_types=["bus_ride", "bike_ride"],
                   first_action_bonus=20)
    admin = make_staff(session, "equivalence-admin", "admin")
    residents = {}
    for n in range(6):
        resident = make_resident(session, community=home if n < 4 else elsewhere)
        bind_card(session, resident.id, _card(n), NOW - timedelta(days=40), key=KEY, claim_window=timedelta(days=7))
        residents[n] = resident.id
    session.commit()
    return {"admin": admin.id, "residents": residents}


def _card(n: int) -> str:
    return f"3100000009{n:02d}"


def _trips(seed: int, count: int) -> list[dict]:
    """Random trips, some residents far busier than others, in no particular order."""
    rng = random.Random(seed)
    weights = [6, 4, 3, 2, 2, 1]
    trips = []
    for n in range(count):
        who = rng.choices(range(6), weights)[0]
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        board = datetime(day.year, day.month, day.day, rng.randrange(6, 21), rng.randrange(60), tzinfo=TZ)
        trips.append(dict(trip_id=f"s{seed}-{n}", who=who, mode=rng.choice(["bus", "bus", "metro", "metro", "bike"]),
                          board=board, distance=rng.choice(DISTANCES)))
    return trips


def _files(trips: list[dict]) -> list[list[dict]]:
    """Three nightly files of consecutive days, each listing its trips in file order (not time order)."""
    cuts = (FIRST_DAY + timedelta(days=6), FIRST_DAY + timedelta(days=12))
    files = [[], [], []]
    for trip in trips:
        day = trip["board"].date()
        files[0 if day < cuts[0] else 1 if day < cuts[1] else 2].append(trip)
    return files


def _row(trip: dict) -> list:
    board = trip["board"]
    return [trip["trip_id"], _card(trip["who"]), trip["mode"], board.strftime("%Y-%m-%d %H:%M:%S"),
            (board + timedelta(minutes=25)).strftime("%Y-%m-%d %H:%M:%S"), trip["distance"]]


def _one_at_a_time(session, world: dict, files: list[list[dict]]) -> None:
    """Each file's trips in the order its one batch credits them (boarding time, then line), one action each."""
    for trips in files:
        for line, trip in sorted(enumerate(trips), key=lambda pair: (pair[1]["board"], pair[0])):
            record_action(session, ActionInput(
                resident_id=world["residents"][trip["who"]], action_type=MODES[trip["mode"]],
                quantity=Decimal(trip["distance"] or 1), unit="km" if trip["distance"] else "trip",
                occurred_at=trip["board"].astimezone(timezone.utc), source="partner_feed", evidence="partner",
                idem_scope="transit", external_id=trip["trip_id"], attributes={"mode": trip["mode"]}), NOW)
            session.commit()


def _as_files(session, tmp_path, files: list[list[dict]]) -> None:
    for n, trips in enumerate(files):
        summary = ingest(session, write_file(tmp_path, [_row(t) for t in trips], name=f"trips-{n}.csv"))
        assert summary.credited + summary.capped == len(trips) and summary.rejected == 0


def _outcome(session) -> dict:
    """Everything the crediting decided, by trip id."""
    session.rollback()
    session.expire_all()
    credits, lots = {}, {}
    for credit, trip_id in session.execute(select(Credit, GreenAction.external_id)
                                           .join(GreenAction, GreenAction.id == Credit.id)).all():
        credits[trip_id] = (credit.status, credit.grams, credit.points, credit.cap_tag, credit.trace)
    for lot, resident_id in session.execute(select(LedgerEntry, Account.resident_id)
                                            .join(Account, Account.id == LedgerEntry.account_id)).all():
        lots[(resident_id, lot.kind, lot.expires_at)] = (lot.points, lot.grams, lot.remaining, lot.reason)
    assert earn_lot_mismatches(session) == {}
    enrolments = sorted((e.campaign_id, e.resident_id, e.first_bonus_claimed_at is not None,
                         e.first_bonus_action_id and session.get(GreenAction, e.first_bonus_action_id).external_id)
                        for e in session.execute(select(CampaignEnrolment)).scalars())
    balances = sorted(session.execute(select(Account.resident_id, Account.balance, Account.earned_total,
                                             Account.grams_total)).all())
    issued = session.execute(select(func.sum(BudgetCounter.points))).scalar_one()
    return {"credits": credits, "lots": lots, "enrolments": enrolments, "balances": balances, "issued": issued}


def _forget_the_credits(session) -> None:
    """Back to the world before any trip: same residents, campaigns, budget and rules (same ids)."""
    session.rollback()
    for table in ("ledger_entries", "campaign_enrolments", "notifications", "green_actions",
                  "trace_forms", "unmatched_trips", "ingest_runs"):
        session.execute(text(f"DELETE FROM {table}"))
    session.execute(text("UPDATE budget_counters SET points = 0"))
    session.execute(text("UPDATE accounts SET balance = 0, earned_total = 0, grams_total = 0"))
    session.commit()


def _reaches_what_it_is_meant_to(credits: dict, session) -> None:
    """The scenario exercises what it claims: the fast paths, every cap period, both campaigns, the budget."""
    traces = [trace for *_, trace in credits.values()]
    effects = {(step["name"], step["effect"]) for trace in traces for step in trace["caps"]}
    for name in ("transit_rides_daily", "transit_km_weekly", "transit_grams_monthly", "points_daily"):
        assert {(name, "capped"), (name, "clipped")} & effects, name
    rules = {(adj["kind"], adj["ref"]["rule"]) for trace in traces for adj in trace["adjustments"]}
    assert rules == {("multiplier", "multiplier"), ("bonus", "first_action_bonus")}
    budget = [entry["effect"] for trace in traces if "budget" in trace for entry in trace["budget"]["applied"]]
    assert "within" in budget and {"scaled", "stopped", "clipped"} & set(budget), "the budget runs out mid-file"
    shared = session.execute(select(Credit).where(Credit.trace_form_id.is_not(None))).scalars().all()
    assert len(shared) > len(credits) // 4, "many bus and bike trips take the template path"
    shared_rules = {adj["ref"]["rule"] for credit in shared for adj in credit.trace["adjustments"]}
    assert shared_rules == {"multiplier", "first_action_bonus"}, "templates carry campaign adjustments too"


@pytest.mark.parametrize("seed,count,mode", SCENARIOS)
def test_random_files_credit_exactly_as_the_engine_one_trip_at_a_time(session, tmp_path, seed, count, mode):
    world = _world(session)
    create_budget(session, NOW, actor_id=world["admin"], month=date(2026, 6, 1), points_limit=2500, mode=mode,
                  action_type="metro_ride", scale_factor=Decimal("0.4") if mode == "scale" else None)
    session.commit()
    files = _files(_trips(seed, count))

    _one_at_a_time(session, world, files)
    expected = _outcome(session)
    _forget_the_credits(session)
    _as_files(session, tmp_path, files)
    got = _outcome(session)

    assert len(got["credits"]) == count
    _reaches_what_it_is_meant_to(got["credits"], session)
    for trip_id, credit in expected["credits"].items():
        assert got["credits"][trip_id] == credit, trip_id
    assert got["lots"] == expected["lots"]
    assert got == expected
