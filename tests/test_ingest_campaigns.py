"""The bulk ingest credits campaign and budget trips exactly as the one-at-a-time partner path does.

One world (two overlapping campaigns in a community, a month's budget that the
trips cross, the daily trip and points caps) gets the same trips twice: once
one at a time through ``record_action`` (what a partner push does for each
event), once as a nightly file. Every credit, trace step, enrolment, bonus
claim, budget counter and balance must come out the same. The file is also
ingested by a script that imports only ``carbon_credit``: what a credit goes
through must not depend on what a program imported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.budgets.admin import create_budget
from carbon_credit.db import Base
from carbon_credit.ingest import BatchTimedOut
from carbon_credit.ingest.trips import MODES
from carbon_credit.ingest.writers import StatementDuringCopy
from carbon_credit.models import Account, BudgetCounter, CampaignEnrolment, Credit, GreenAction, Resident
from carbon_credit.models.cards import IngestRun, TransitCard
from carbon_credit.pipeline import CreditPipeline
from carbon_credit.residents.cards import card_hash

from .campaign_support import plain_campaign
from .factories import make_community, make_resident, make_staff
from .ingest_helpers import DAY, KEY, NOW, at, ingest, setup_rules, write_file

REPO = Path(__file__).resolve().parent.parent

# (trip id, who, mode, boarding hour, minute, distance km or "" for a flat-rate trip), listed out of time order.
TRIPS = [
    ("r1-5", "ann", "metro", 14, 0, "10"),     # ann's fifth ride of the day: the 4-ride cap
    ("r1-3", "ann", "metro", 10, 0, "30"),     # both campaigns: ×1.5 ×2 + bonuses, clipped by the 2,000-point cap
    ("r1-1", "ann", "metro", 7, 0, "5"),       # before 绿色出行周 starts: 全国低碳日 only, its first-action bonus
    ("r2-2", "bob", "bus", 9, 30, "4"),        # inside both: bus ×2 and 绿色出行周's bonus
    ("r1-2", "ann", "bus", 8, 0, "3"),         # no bus multiplier yet
    ("r3-1", "cai", "metro", 8, 30, "8"),      # another community: no campaign
    ("r2-1", "bob", "metro", 7, 30, ""),       # a metro trip without distance
    ("r1-4", "ann", "bus", 12, 0, "2"),        # ann's points cap is full: capped
    ("r2-3", "bob", "metro", 11, 0, "12"),     # the budget is crossed around here
    ("r3-2", "cai", "bus", 13, 0, "5"),
    ("r2-4", "bob", "metro", 9, 0, "25"),      # 绿色出行周 starts at 09:00 sharp: in
    ("r2-5", "bob", "bus", 8, 59, "3"),        # one minute before it: out
]
CARDS = {"ann": "310000000101", "bob": "310000000102", "cai": "310000000103"}


def _world(session):
    """Rules, two overlapping campaigns in one community, a June budget, three residents with cards."""
    setup_rules(session)
    home, elsewhere = make_community(session), make_community(session)
    day_start = DAY.astimezone(timezone.utc)
    plain_campaign(session, [home], title="全国低碳日", now=NOW, active_from=day_start, days=3,
                   multipliers={"metro_ride": "1.5"}, action_types=["metro_ride"], first_action_bonus=30)
    plain_campaign(session, [home], title="绿色出行周", now=NOW, active_from=day_start + timedelta(hours=9), days=7,
                   multipliers={"metro_ride": "2", "bus_ride": "2"}, action_types=["bus_ride", "metro_ride"],
                   first_action_bonus=20)
    admin = make_staff(session, "ingest-campaign-admin", "admin")
    create_budget(session, NOW, actor_id=admin.id, month=date(2026, 6, 1), points_limit=4000, mode="scale",
                  scale_factor=Decimal("0.5"))
    residents = {}
    for name, community in (("ann", home), ("bob", home), ("cai", elsewhere)):
        residents[name] = make_resident(session, community=community)
        bind_card(session, residents[name].id, CARDS[name], NOW - timedelta(days=20), key=KEY, claim_window=timedelta(days=7))
    session.commit()
    return residents


def _rows():
    return [[trip_id, CARDS[who], mode, at(hour, minute), at(hour, minute + 20), distance]
            for trip_id, who, mode, hour, minute, distance in TRIPS]


def _one_at_a_time(session, residents):
    """What a partner push does for each trip, in boarding order: one ``record_action`` per event."""
    for trip_id, who, mode, hour, minute, distance in sorted(TRIPS, key=lambda t: (t[3], t[4])):
        record_action(session, ActionInput(
            resident_id=residents[who].id, action_type=MODES[mode], quantity=Decimal(distance or 1),
            unit="km" if distance else "trip", occurred_at=(DAY + timedelta(hours=hour, minutes=minute)),
            source="partner_feed", evidence="partner", idem_scope="transit", external_id=trip_id,
            attributes={"mode": mode}), NOW)
        session.commit()


def _outcome(session) -> dict:
    """Everything the crediting decided, in terms both runs share (trip ids, titles, names)."""
    session.rollback()
    names = {r.id: name for name, r in _residents_by_name(session).items()}
    titles = dict(session.execute(text("SELECT id, title FROM campaigns")).all())
    trips = dict(session.execute(select(GreenAction.id, GreenAction.external_id)).all())
    credits = {}
    for credit, trip_id in session.execute(select(Credit, GreenAction.external_id)
                                           .join(GreenAction, GreenAction.id == Credit.id)).all():
        trace = credit.trace
        credits[trip_id] = {
            "status": credit.status, "points": credit.points, "grams": credit.grams, "cap_tag": credit.cap_tag,
            "caps": [(c["name"], c["used_before"], c["effect"]) for c in trace["caps"]],
            "adjustments": [(a["kind"], a["value"], a["label"], titles[a["ref"]["campaign_id"]], a["ref"]["rule"],
                             a["points_before"], a["points_after"]) for a in trace["adjustments"]],
            "budget": trace.get("budget") and [(b["issued_before"], b["points_before"], b["points_after"], b["effect"])
                                               for b in trace["budget"]["applied"]],
            "trace_points": trace["points"], "trace_grams": trace["grams"],
        }
    enrolments = sorted((titles[e.campaign_id], names[e.resident_id], e.first_bonus_claimed_at is not None,
                         trips.get(e.first_bonus_action_id))
                        for e in session.execute(select(CampaignEnrolment)).scalars())
    issued = session.execute(select(func.sum(BudgetCounter.points))).scalar_one()
    balances = {names[rid]: (balance, grams) for rid, balance, grams in session.execute(
        select(Account.resident_id, Account.balance, Account.grams_total)).all()}
    return {"credits": credits, "enrolments": enrolments, "issued": issued, "balances": balances}


def _residents_by_name(session) -> dict:
    names = {card_hash(card, KEY): name for name, card in CARDS.items()}
    return {names[digest]: resident for resident, digest in session.execute(
        select(Resident, TransitCard.active_hash).join(TransitCard, TransitCard.resident_id == Resident.id)).all()}


def _wipe(session) -> None:
    session.rollback()
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(table.delete())
    session.commit()


SCRIPT = textwrap.dedent("""
    import json, sys
    from datetime import datetime

    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from carbon_credit.ingest import ingest_transit_file

    url, path, now, key = sys.argv[1:]
    engine = create_engine(url)
    with sessionmaker(engine)() as session:
        summary = ingest_transit_file(session, path, datetime.fromisoformat(now), key=key)
    engine.dispose()
    faces = sorted(m for m in sys.modules if m.split(".")[0] in ("api", "bot", "flask", "flask_smorest", "wechatpy"))
    print(json.dumps({"summary": summary.as_dict(), "faces": faces}))
""")


def _ingest_in_a_script(db_url: str, path: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, db_url, path, NOW.isoformat(), KEY], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("where", ["this_process", "a_script_importing_only_carbon_credit"])
def test_a_file_credits_campaign_and_budget_trips_exactly_as_one_at_a_time(session, db_url, tmp_path, where):
    _one_at_a_time(session, _world(session))
    expected = _outcome(session)
    # The scenario reaches what it is meant to: both campaigns on one credit, first-action bonuses, a cap
    # clipping points, a ride over the count cap, a budget scaling a credit.
    credits = expected["credits"]
    assert {a[3] for a in credits["r1-3"]["adjustments"]} == {"全国低碳日", "绿色出行周"}
    assert any(a[4] == "first_action_bonus" for a in credits["r1-1"]["adjustments"])
    assert any(effect == "clipped" for c in credits.values() for _n, _u, effect in c["caps"])
    assert credits["r1-5"]["status"] == "capped"
    assert any(c["budget"] and c["budget"][0][3] == "scaled" for c in credits.values())
    assert not any(a[3] == "绿色出行周" for a in credits["r2-5"]["adjustments"])
    assert any(a[3] == "绿色出行周" for a in credits["r2-4"]["adjustments"])

    _wipe(session)
    _world(session)
    path = write_file(tmp_path, _rows())
    if where == "this_process":
        summary = ingest(session, path).as_dict()
    else:
        ran = _ingest_in_a_script(db_url, path)
        assert ran["faces"] == []
        summary = ran["summary"]
    assert summary["credited"] + summary["capped"] == len(TRIPS)
    got = _outcome(session)
    assert got["credits"] == expected["credits"]
    assert got == expected


def _chatty(session, now, since):
    """A batch step that (wrongly) asks the database something while the batch is being credited."""

    class Chatty:
        def __bool__(self):
            return True

        def adjust(self, facts, occurred_at):
            session.execute(text("SELECT 1"))
            return []

        def settle(self, *args):
            pass

        def flush(self):
            pass

    return Chatty()


@pytest.mark.pg_only
def test_a_statement_sent_while_the_rows_stream_fails_the_batch_at_once_and_stores_nothing(session, tmp_path):
    _world(session)
    path = write_file(tmp_path, _rows())
    with pytest.raises(StatementDuringCopy, match="green_actions"):
        ingest(session, path, pipeline=CreditPipeline(batch_adjustments=(_chatty,)))
    session.rollback()
    assert session.execute(select(func.count(GreenAction.id))).scalar_one() == 0
    assert session.execute(select(IngestRun.rows_done)).scalar_one() == 0


@pytest.mark.pg_only
def test_a_batch_that_waits_past_the_statement_timeout_fails_clearly_and_stores_nothing(session, db_url, tmp_path):
    residents = _world(session)
    path = write_file(tmp_path, _rows())
    blocker = create_engine(db_url)
    try:
        with blocker.connect() as conn:
            conn.execute(select(Account.id).where(Account.resident_id == residents["bob"].id).with_for_update())
            with pytest.raises(BatchTimedOut, match="statement timeout") as caught:
                ingest(session, path, statement_timeout=1)
            assert caught.value.code == "ingest_batch_timeout"
            session.rollback()
            assert session.execute(select(func.count(GreenAction.id))).scalar_one() == 0
            assert session.execute(select(func.count(CampaignEnrolment.id))).scalar_one() == 0
            assert session.execute(select(func.sum(BudgetCounter.points))).scalar_one() == 0
            conn.rollback()
    finally:
        blocker.dispose()
    # Once the lock is gone the same file goes through.
    assert ingest(session, path).credited > 0


@pytest.mark.pg_only
def test_the_command_reports_a_batch_past_its_statement_timeout_and_exits_non_zero(app, runner, session, db_url,
                                                                                     tmp_path):
    setup_rules(session)
    resident = make_resident(session)
    bind_card(session, resident.id, CARDS["ann"], NOW - timedelta(days=1), key=app.config["CARD_HASH_KEY"], claim_window=timedelta(days=7))
    session.commit()
    path = write_file(tmp_path, [[f"t{n}", CARDS["ann"], "bus", at(7 + n), at(7 + n, 20), "3"] for n in range(3)])
    blocker = create_engine(db_url)
    try:
        with blocker.connect() as conn:
            conn.execute(select(Account.id).where(Account.resident_id == resident.id).with_for_update())
            result = runner.invoke(args=["ingest", "transit", path, "--statement-timeout", "0.5"])
            conn.rollback()
    finally:
        blocker.dispose()
    assert result.exit_code != 0
    assert "statement timeout (0.5 s)" in result.output and "nothing of it was stored" in result.output
    session.rollback()
    assert session.execute(select(func.count(GreenAction.id))).scalar_one() == 0
