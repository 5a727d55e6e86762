from datetime import datetime, timedelta, timezone

from carbon_credit.reporting.leaderboards import (
    RankInfo,
    community_leaderboard,
    mask_name,
    parse_month,
    resident_rank,
)

from .campaign_support import install_rules, weigh_in
from .factories import FIXED_NOW, make_community, make_resident

JUNE_1 = datetime(2026, 5, 31, 16, 0, tzinfo=timezone.utc)  # 00:00 on 1 June in Shanghai


def test_rank_counts_this_shanghai_month_only_and_breaks_ties_by_who_got_there_first(session):
    install_rules(session)
    home, other = make_community(session), make_community(session)
    early, late, leader, idle = (make_resident(session, community=home) for _ in range(4))
    stranger = make_resident(session, community=other)
    weigh_in(session, early, 2, FIXED_NOW - timedelta(hours=5))            # 20 points, first
    weigh_in(session, late, 2, FIXED_NOW - timedelta(hours=2))             # 20 points, later
    weigh_in(session, leader, 5, FIXED_NOW - timedelta(hours=3))           # 50 points
    weigh_in(session, stranger, 9, FIXED_NOW - timedelta(hours=3))         # other community
    weigh_in(session, late, 9, JUNE_1 - timedelta(minutes=1))              # 31 May in Shanghai: not June
    session.flush()
    assert resident_rank(session, leader, FIXED_NOW) == RankInfo(rank=1, participants=3, points=50, month="2026-06")
    info = resident_rank(session, early, FIXED_NOW)
    assert (info.rank, info.participants, info.points, info.month) == (2, 3, 20, "2026-06")
    info = resident_rank(session, late, FIXED_NOW)
    assert (info.rank, info.participants, info.points) == (3, 3, 20)
    info = resident_rank(session, idle, FIXED_NOW)
    assert (info.rank, info.participants, info.points) == (None, 3, 0)
    assert resident_rank(session, stranger, FIXED_NOW).rank == 1


def test_reaching_the_same_total_later_ranks_below(session):
    install_rules(session)
    home = make_community(session)
    a, b = make_resident(session, community=home), make_resident(session, community=home)
    weigh_in(session, a, 1, FIXED_NOW - timedelta(hours=6))
    weigh_in(session, b, 2, FIXED_NOW - timedelta(hours=5))
    weigh_in(session, a, 1, FIXED_NOW - timedelta(hours=4))  # a reaches 20 after b did
    assert resident_rank(session, b, FIXED_NOW).rank == 1
    assert resident_rank(session, a, FIXED_NOW).rank == 2


def test_community_leaderboard_shows_masked_names_only(session):
    install_rules(session)
    home = make_community(session)
    named = make_resident(session, community=home, display_name="张三明")
    nameless = make_resident(session, community=home)
    nameless.phone_tail = "1234"
    weigh_in(session, named, 3, FIXED_NOW - timedelta(hours=2))
    weigh_in(session, nameless, 1, FIXED_NOW - timedelta(hours=2))
    rows = community_leaderboard(session, home.id, parse_month("2026-06", FIXED_NOW))
    assert [(r.rank, r.name, r.points) for r in rows] == [(1, "张*明", 30), (2, "居民****1234", 10)]


def test_masking_rules():
    assert mask_name("张三", None, 1) == "张*"
    assert mask_name("欧阳小明", None, 1) == "欧**明"
    assert mask_name("", None, 56) == "居民****0056"
