"""The daily statistics job: per community, day and action type, recomputed idempotently."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from carbon_credit.models import DailyStat
from carbon_credit.reporting.daily_stats import compute_daily_stats, recompute_recent_days

from .campaign_support import install_rules, weigh_in
from .factories import FIXED_NOW, make_community, make_resident

DAY = date(2026, 6, 5)


def rows(session):
    return sorted((s.day, s.community_id, s.action_type, s.residents, s.actions, s.grams, s.points)
                  for s in session.execute(select(DailyStat)).scalars())


def test_daily_stats_count_residents_actions_grams_points_and_recompute_the_same(session):
    install_rules(session)
    east, west = make_community(session), make_community(session)
    a, b, c = make_resident(session, community=east), make_resident(session, community=east), make_resident(session, community=west)
    at = FIXED_NOW - timedelta(hours=1)
    for resident, kg in ((a, 2), (a, 1), (b, 3), (c, 1)):
        weigh_in(session, resident, kg, at)
    weigh_in(session, a, 5, at - timedelta(days=1))  # the day before

    assert compute_daily_stats(session, DAY, FIXED_NOW) == 2
    first = rows(session)
    assert first == [(DAY, east.id, "recyclables_dropoff", 2, 3, 0, 60),
                     (DAY, west.id, "recyclables_dropoff", 1, 1, 0, 10)]
    compute_daily_stats(session, DAY, FIXED_NOW + timedelta(hours=1))
    session.commit()
    assert rows(session) == first  # run again (after a crash): the same table


def test_the_job_recomputes_the_last_days_including_late_credits(session):
    install_rules(session)
    resident = make_resident(session, community=make_community(session))
    weigh_in(session, resident, 1, FIXED_NOW - timedelta(days=1), now=FIXED_NOW)  # yesterday's, credited today
    written = recompute_recent_days(session, FIXED_NOW + timedelta(days=1))
    assert written == {"2026-06-03": 0, "2026-06-04": 1, "2026-06-05": 0}
    assert [r[4] for r in rows(session)] == [1]
