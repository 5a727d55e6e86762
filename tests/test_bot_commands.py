"""The resident's commands: by text (full-width, spaces, case, synonyms) and by menu CLICK key."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot import texts
from bot.handlers import build_handlers
from bot.handlers.registry import normalise
from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.ingest import ingest_transit_file
from carbon_credit.ledger.points import adjust_balance
from carbon_credit.models.cards import UnmatchedTrip
from carbon_credit.residents import cards
from carbon_credit.texts import error_text, format_carbon

from .bot_support import load_push, say, text
from .campaign_support import install_rules, plain_campaign, running_campaign, weigh_in
from .factories import FIXED_NOW, make_community, make_resident
from .ingest_helpers import DAY, trip, write_file

_times = itertools.count(1780800000)
OPENID = "o-commands"


def click(key: str, openid: str = OPENID) -> str:
    return load_push("event_click", FromUserName=openid, EventKey=key, CreateTime=str(next(_times)))


@pytest.fixture
def resident(session):
    install_rules(session)
    person = make_resident(session, OPENID, community=make_community(session, "崔寨社区"))
    session.commit()
    return person


def _bus(session, resident, km, at, ext):
    return record_action(session, ActionInput(
        resident_id=resident.id, action_type="bus_ride", quantity=Decimal(km), unit="km", occurred_at=at,
        source="partner_feed", evidence="partner", idem_scope="transit:test", external_id=ext), at)


@pytest.mark.parametrize("words", ["余额", "积分", "查积分", " 余 额 ", "余额？", "余额?", "BALANCE", "ｂａｌａｎｃｅ",
                                   "Balance!", "我的积分"])
def test_balance_synonyms_and_widths_all_reach_the_balance(words):
    found = build_handlers().commands.match_text(words)
    assert found is not None and found[0].name == "balance"


def test_normalise_folds_full_width_and_spaces():
    assert normalise("  ＨＥＬＰ　") == "help"
    assert normalise("绑卡　３１００　１２３４") == "绑卡31001234"
    assert normalise("？") == "?"


def test_balance_shows_points_carbon_and_what_expires_soon(client, session, resident):
    weigh_in(session, resident, "2.5", FIXED_NOW - timedelta(hours=2))
    session.commit()
    with freeze_time(FIXED_NOW):
        reply = say(client, text(OPENID, "余额"), "safe")
    points, grams = resident.account.balance, resident.account.grams_total
    assert points > 0
    assert reply == texts.BALANCE.format(points=points, carbon=format_carbon(grams))
    # Points earned in 2026 expire at the end of 2027: a month before, the reminder shows.
    with freeze_time(FIXED_NOW.replace(year=2027, month=12, day=10)):
        reply = say(client, text(OPENID, "积分"), "safe")
    assert f"其中 {points} 分将在 30 天内到期" in reply


def test_the_balance_states_carbon_rounded_down(client, session, resident):
    resident.account.grams_total = 1_999  # as if credited: the reply must not round it up to 2 千克
    session.commit()
    assert "累计减碳：1.99 千克二氧化碳当量" in say(client, text(OPENID, "余额"), "safe")


def test_an_empty_account_gets_a_hint(client, resident):
    reply = say(client, click("BALANCE"))
    assert reply.startswith("您的积分：0 分") and texts.BALANCE_EMPTY_HINT.strip() in reply


def test_history_lists_the_last_five_credits_with_caps_explained(client, session, resident):
    day = FIXED_NOW - timedelta(hours=5)
    for n in range(5):  # the daily cap is 4 rides: the fifth is capped
        _bus(session, resident, "10", day + timedelta(minutes=n), f"ride-{n}")
    weigh_in(session, resident, "1", FIXED_NOW - timedelta(hours=1))
    session.commit()
    with freeze_time(FIXED_NOW):
        reply = say(client, text(OPENID, "明细"), "safe")
    lines = reply.split("\n")
    assert lines[0] == "最近 5 笔积分变动："
    assert len(lines) == 6
    assert lines[1].startswith("6月5日 可回收物投递 +")
    assert lines[2] == "6月5日 公交出行 0 分（已达每日上限）"
    assert all(line.startswith("6月5日 公交出行 +") for line in lines[3:])


def test_history_lists_spends_refunds_adjustments_and_expiries_newest_first(client, session, resident):
    from carbon_credit.ledger.points import expire_due_accounts
    from carbon_credit.rewards.redemptions import cancel_redemption, redeem_reward
    from carbon_credit.timeutil import TZ

    from .reward_support import give_points, make_reward

    weigh_in(session, resident, "2.5", FIXED_NOW - timedelta(hours=1))  # a credit of 25 points
    give_points(session, resident, 200)
    reward = make_reward(session, title="公交乘车券", points_cost=100)
    redemption, _ = redeem_reward(session, resident.id, reward.id, FIXED_NOW + timedelta(days=1))
    cancel_redemption(session, redemption.id, FIXED_NOW + timedelta(days=2), resident_id=resident.id)
    adjust_balance(session, resident.id, -5, "重复投递", FIXED_NOW + timedelta(days=3), actor_id=None,
                   reference="adjust:dup")
    session.commit()
    with freeze_time(FIXED_NOW + timedelta(days=4)):
        before = say(client, text(OPENID, "明细"), "safe")
    assert before == "\n".join(["最近 4 笔积分变动：", "6月8日 积分调整（重复投递） -5 分",
                                 "6月7日 取消兑换「公交乘车券」退回 +100 分", "6月6日 兑换「公交乘车券」 -100 分",
                                 "6月5日 可回收物投递 +25 分"])
    # Points of 2026 expire when 2027 ends: two lots are left (120 of the oldest, after the spend
    # and the adjustment took theirs, and the 100 refunded).
    expire_due_accounts(session, datetime(2028, 1, 1, 1, 0, tzinfo=TZ))
    session.commit()
    with freeze_time(datetime(2028, 1, 2, 1, 0, tzinfo=TZ)):
        after = say(client, click("HISTORY"), "safe")
    lines = after.split("\n")
    assert lines[0] == "最近 5 笔积分变动："
    assert sorted(lines[1:3]) == ["1月1日 积分到期 -100 分", "1月1日 积分到期 -120 分"]
    assert lines[3:] == ["6月8日 积分调整（重复投递） -5 分", "6月7日 取消兑换「公交乘车券」退回 +100 分",
                         "6月6日 兑换「公交乘车券」 -100 分"]


def test_history_of_a_newcomer(client, resident):
    assert say(client, click("HISTORY")) == texts.HISTORY_EMPTY


def test_campaigns_lists_what_is_open_in_the_residents_community(client, session, resident):
    plain_campaign(session, [resident.community], title="垃圾分类周", days=7, active_from=FIXED_NOW - timedelta(days=1))
    plain_campaign(session, [make_community(session)], title="别的社区的活动")
    session.commit()
    with freeze_time(FIXED_NOW):
        reply = say(client, click("CAMPAIGNS"), "safe")
    assert reply == "本社区正在进行的活动：\n· 垃圾分类周（至6月11日）"
    with freeze_time(FIXED_NOW):
        assert say(client, text(OPENID, "活 动"), "safe") == reply


def test_campaigns_when_nothing_is_on_or_no_community(client, session, resident):
    make_resident(session, "o-homeless")
    session.commit()
    assert say(client, text(OPENID, "活动")) == texts.CAMPAIGNS_EMPTY
    assert say(client, text("o-homeless", "活动")) == texts.NO_COMMUNITY
    assert say(client, text("o-homeless", "排行")) == texts.NO_COMMUNITY


def test_rank_shows_the_place_in_the_community_this_month(client, session, resident):
    rival = make_resident(session, "o-rival", community=resident.community)
    weigh_in(session, rival, "5", FIXED_NOW - timedelta(hours=3))
    session.commit()
    with freeze_time(FIXED_NOW):
        assert say(client, click("RANK")) == texts.RANK_NONE
    weigh_in(session, resident, "1", FIXED_NOW - timedelta(hours=2))
    session.commit()
    with freeze_time(FIXED_NOW):
        reply = say(client, text(OPENID, "排名"), "safe")
    assert reply.startswith("本月您在崔寨社区排第 2 名（共 2 人），本月获得 ")


def test_bind_card_by_text_binds_the_card(client, session, resident):
    assert say(client, click("BIND_CARD")) == texts.BIND_CARD_HOW
    assert say(client, text(OPENID, "绑卡 ３１００ １２３４ ５６７８")) == (
        "已绑定尾号 5678 的交通卡。这张卡最近 7 天没有待补记的乘车记录。之后的乘车记录会自动记积分。")
    assert say(client, text(OPENID, "绑卡 3100 1234 5678")) == "尾号 5678 的交通卡已绑定在您的账户上，乘车记录会自动记积分。"
    assert say(client, text("o-other", "绑卡 3100-1234-5678")) == texts.BIND_CARD_FAILED.format(
        reason=error_text("card_already_bound"))
    assert say(client, text(OPENID, "绑卡 12ab")) == texts.BIND_CARD_HOW
    session.rollback()
    assert [card.last4 for card in cards.active_cards(session, resident.id)] == ["5678"]


@pytest.mark.parametrize("window_days, claimed", [(7, 1), (2, 0)])
def test_binding_by_text_claims_the_trips_of_the_configured_claim_window(app, client, session, resident, tmp_path,
                                                                          window_days, claimed):
    app.config["CARD_CLAIM_WINDOW_DAYS"] = window_days
    three_days_ago = trip("u1", "310012345678", "metro", 9, day=DAY - timedelta(days=3))
    ingest_transit_file(session, write_file(tmp_path, [three_days_ago]), FIXED_NOW, key=app.config["CARD_HASH_KEY"])
    with freeze_time(FIXED_NOW):
        assert say(client, text(OPENID, "绑卡 3100 1234 5678")).startswith("已绑定尾号 5678 的交通卡。")
    session.rollback()
    assert session.execute(select(UnmatchedTrip.claimed_by)).scalars().all() == [resident.id if claimed else None]


def test_binding_by_text_says_how_many_trips_and_points_it_claimed(app, client, session, resident, tmp_path):
    from carbon_credit.ingest import IngestOptions, ingest_transit_file

    app.config["CARD_CLAIM_WINDOW_DAYS"] = 3
    app.extensions.pop("wechat_bot", None)
    trips = tmp_path / "trips.csv"
    trips.write_text("trip_id,card_no,mode,board_time,alight_time,distance_km\n"
                     "t1,3100555566667777,metro,2026-06-04 08:00:00,2026-06-04 08:20:00,10\n"
                     "t2,3100555566667777,bus,2026-06-04 18:00:00,2026-06-04 18:30:00,\n"
                     "t-old,3100555566667777,bus,2026-05-30 18:00:00,2026-05-30 18:30:00,\n", encoding="utf-8")
    ingest_transit_file(session, str(trips), FIXED_NOW, key=app.config["CARD_HASH_KEY"], options=IngestOptions())
    session.commit()
    with freeze_time(FIXED_NOW):
        reply = say(client, text(OPENID, "绑卡 3100555566667777"), "safe")
    # 10 km × 46.8 g = 468 points and one bus trip of 80; the trip of 5月30日 is older than the 3-day window.
    assert reply == ("已绑定尾号 7777 的交通卡。已补记这张卡最近 3 天的 2 次乘车，共 548 分。"
                     "之后的乘车记录会自动记积分。")
    session.rollback()
    assert resident.account.balance == 548


@pytest.mark.parametrize("words", ["帮助", "help", "ＨＥＬＰ", "？", "?", "菜单"])
def test_help_lists_every_command(client, resident, words):
    reply = say(client, text(OPENID, words))
    assert reply == texts.HELP
    for command in ("余额", "明细", "活动", "排行", "绑卡", "帮助"):
        assert command in reply


@pytest.mark.parametrize("words", ["你们是谁", "余额不足怎么办呀", "12345", "😀"])
def test_anything_else_gets_a_helpful_answer(client, resident, words):
    assert say(client, text(OPENID, words), "safe") == texts.UNKNOWN_TEXT


def test_an_unknown_menu_key_gets_the_command_list(client, resident):
    assert say(client, click("NO_SUCH_KEY")) == texts.UNKNOWN_CLICK


def test_every_menu_key_of_the_published_menu_is_answered(client, resident):
    from bot.outbound.menu import MENU_KEYS

    for key in MENU_KEYS:
        reply = say(client, click(key))
        assert reply and reply not in (texts.UNKNOWN_CLICK, texts.UNKNOWN_TEXT)


def test_a_voice_message_is_read_as_its_recognised_words(client, resident):
    push = load_push("voice_recognition", FromUserName=OPENID, Recognition="明细。")
    assert say(client, push, "safe") == texts.HISTORY_EMPTY


def test_a_follower_unknown_to_the_platform_is_registered_on_first_message(client, session):
    assert say(client, text("o-before-launch", "余额")).startswith("您的积分：0 分")


def test_running_campaign_with_checkin_shows_in_campaigns(client, session, resident):
    running_campaign(session, [resident.community], checkin_points=20, checkin_qr="temporary", title="全国低碳日")
    session.commit()
    with freeze_time(FIXED_NOW):
        assert "· 全国低碳日（至" in say(client, text(OPENID, "活动"))


def test_balance_after_an_admin_adjustment(client, session, resident):
    adjust_balance(session, resident.id, 150, "活动补发", FIXED_NOW, actor_id=None, reference="adjust:test")
    session.commit()
    with freeze_time(FIXED_NOW):
        assert say(client, text(OPENID, "余额")).startswith("您的积分：150 分\n累计减碳：0 克二氧化碳当量")


def test_balance_typed_spoken_or_clicked_reads_the_same_figures(client, session, resident):
    adjust_balance(session, resident.id, 150, "活动补发", FIXED_NOW, actor_id=None, reference="adjust:three-ways")
    session.commit()
    with freeze_time(FIXED_NOW):
        replies = [say(client, text(OPENID, "余额"), "safe"), say(client, click("BALANCE"), "safe"),
                   say(client, load_push("voice_recognition", FromUserName=OPENID, Recognition="查积分。"), "safe")]
    assert replies[0].startswith("您的积分：150 分") and replies == [replies[0]] * 3


def test_balance_of_someone_who_unfollowed_goes_the_ordinary_way(client, session, resident):
    resident.status = "unfollowed"
    session.commit()
    assert say(client, text(OPENID, "余额")).startswith("您的积分：0 分")
