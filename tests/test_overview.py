"""The month at a glance: this month against the last, by category, scoped to communities."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from carbon_credit.reporting.overview import (
    expiring_points,
    month_overview,
    narrow_scope,
    visible_communities,
)
from carbon_credit.staff.scope import OutOfScope
from carbon_credit.timeutil import expiry_for

from .domain_helpers import act, install_rules
from .factories import FIXED_NOW, make_community, make_resident

JUNE, MAY = date(2026, 6, 1), date(2026, 5, 1)


@pytest.fixture
def town(session):
    install_rules(session)
    here = make_community(session, "滨河社区")
    there = make_community(session, "孙耿社区")
    a, b = make_resident(session, community=here), make_resident(session, community=there)
    june = [act(session, a), act(session, a, "recyclables_dropoff", "2", "kg"), act(session, b)]
    early_may, late_may = FIXED_NOW - timedelta(days=33), FIXED_NOW - timedelta(days=20)  # 3 and 16 May
    may = [act(session, a, at=early_may, now=early_may)]
    later = [act(session, b, "bus_ride", at=late_may, now=late_may)]
    session.flush()
    return {"here": here, "there": there, "june": june, "may": may, "later_in_may": later}


def _points(results):
    return sum(r.credit.points for r in results)


def test_a_running_month_is_compared_with_the_same_days_of_the_one_before(session, town):
    overview = month_overview(session, JUNE, FIXED_NOW)
    assert overview["to_date"] == 5
    assert overview["points"] == {"this": _points(town["june"]), "last": _points(town["may"])}
    categories = {row["category"]: row for row in overview["categories"]}
    assert set(categories) == {"transit", "waste"}
    assert categories["waste"]["last"]["points"] == 0
    assert categories["transit"]["this"]["actions"] == 2
    assert overview["active_residents"] == {"this": 2, "last": 1}


def test_a_finished_month_is_compared_with_the_whole_month_before(session, town):
    overview = month_overview(session, JUNE, FIXED_NOW + timedelta(days=40))
    assert overview["to_date"] is None
    assert overview["points"]["last"] == _points(town["may"] + town["later_in_may"])
    assert len(overview["daily"]) == 30 and overview["daily"][0]["day"] == JUNE


def test_a_workers_communities_limit_every_figure(session, town):
    overview = month_overview(session, JUNE, FIXED_NOW, community_ids=[town["here"].id])
    assert overview["points"]["this"] == _points(town["june"][:2])
    assert overview["followers"]["this"] == 1
    assert [row["community"] for row in overview["top_communities"]] == ["滨河社区"]


def test_the_daily_trend_runs_from_the_first_to_today(session, town):
    daily = month_overview(session, JUNE, FIXED_NOW)["daily"]
    assert [d["day"].day for d in daily] == [1, 2, 3, 4, 5]
    assert sum(d["points"] for d in daily) == _points(town["june"])


def test_points_expiring_within_thirty_days_are_only_those_due(session, town):
    expiry = expiry_for(FIXED_NOW)  # every lot of 2026 expires then
    assert expiring_points(session, FIXED_NOW, days=30) == 0
    assert expiring_points(session, expiry - timedelta(days=31), days=30) == 0
    assert expiring_points(session, expiry - timedelta(days=29), days=30) == _points(town["june"] + town["may"] + town["later_in_may"])
    assert expiring_points(session, expiry, days=30) == 0


def test_a_filter_outside_the_callers_communities_reads_as_unknown(session, town):
    worker = (town["here"].id,)
    assert narrow_scope(session, worker) == worker
    assert narrow_scope(session, None) is None
    with pytest.raises(OutOfScope):
        narrow_scope(session, worker, community_id=town["there"].id)
    with pytest.raises(OutOfScope):
        narrow_scope(session, worker, street_id=town["there"].street_id)
    assert [c.name for c in visible_communities(session, worker)] == ["滨河社区"]
