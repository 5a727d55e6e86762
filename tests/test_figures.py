import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from carbon_credit.errors import InvalidInput
from carbon_credit.reporting.exports import community_table, street_board_table, to_csv, to_xlsx
from carbon_credit.reporting.figures import check_range, community_figures
from carbon_credit.reporting.leaderboards import street_leaderboard

from .campaign_support import install_rules, weigh_in
from .factories import FIXED_NOW, make_community, make_resident, make_street


def test_community_figures_by_day_and_iso_week(session):
    install_rules(session)
    home = make_community(session)
    a, b = make_resident(session, community=home), make_resident(session, community=home)
    weigh_in(session, a, 1, datetime(2026, 6, 5, 2, tzinfo=timezone.utc))                      # Fri, W23
    weigh_in(session, b, 0.5, datetime(2026, 6, 7, 2, tzinfo=timezone.utc), action_type="textiles_dropoff")  # Sun
    weigh_in(session, a, 2, datetime(2026, 6, 7, 17, tzinfo=timezone.utc))                     # Mon 8 June, W24
    days = community_figures(session, home.id, date(2026, 6, 1), date(2026, 6, 8), "day")
    assert [(s["period"], s["participants"], s["points"]) for s in days["series"]] == [
        ("2026-06-05", 1, 10), ("2026-06-07", 1, 640), ("2026-06-08", 1, 20)]
    weeks = community_figures(session, home.id, date(2026, 6, 1), date(2026, 6, 8), "week")
    assert [(s["period"], s["participants"], s["grams"]) for s in weeks["series"]] == [
        ("2026-W23", 2, 640), ("2026-W24", 1, 0)]
    assert (weeks["participants"], weeks["actions"]) == (2, 3)
    headers, rows = community_table(weeks)
    assert headers[0] == "周" and rows[-1][:5] == ["合计", 2, 3, 640, 670]
    parsed = list(csv.reader(io.StringIO(to_csv(headers, rows).decode("utf-8-sig"))))
    assert parsed[1][0] == "2026-W23" and parsed[0][-1] == "垃圾分类与回收减排量(克)"
    assert to_xlsx("社区", headers, rows)[:2] == b"PK"


def test_bad_ranges_are_refused():
    with pytest.raises(InvalidInput):
        check_range(date(2026, 6, 5), date(2026, 6, 1), "day", FIXED_NOW)
    with pytest.raises(InvalidInput):
        check_range(date(2025, 1, 1), date(2026, 6, 1), "day", FIXED_NOW)
    with pytest.raises(InvalidInput):
        check_range(None, None, "month", FIXED_NOW)


def test_street_ranks_communities_by_points_or_by_grams_per_participant(session):
    install_rules(session)
    street = make_street(session)
    big, small, quiet = (make_community(session, street=street) for _ in range(3))
    for _ in range(3):
        weigh_in(session, make_resident(session, community=big), 0.2, FIXED_NOW - timedelta(hours=1),
                 action_type="textiles_dropoff")  # 256 g each
    weigh_in(session, make_resident(session, community=small), 0.3, FIXED_NOW - timedelta(hours=1),
             action_type="textiles_dropoff")  # 384 g
    june = date(2026, 6, 1)
    by_points = street_leaderboard(session, street.id, june, "points")
    assert [(r.community_id, r.points) for r in by_points] == [(big.id, 768), (small.id, 384), (quiet.id, 0)]
    per_head = street_leaderboard(session, street.id, june, "grams_per_participant")
    assert [(r.community_id, r.grams_per_participant) for r in per_head] == [(small.id, 384), (big.id, 256), (quiet.id, 0)]
    assert street_board_table(per_head)[1][0][:2] == [1, small.name]
