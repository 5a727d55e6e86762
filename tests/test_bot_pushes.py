"""Every message and event type WeChat.md lists, from recorded pushes, in every mode."""
from __future__ import annotations

import itertools

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot import texts
from carbon_credit.models import (
    Account,
    CampaignCheckin,
    MassSend,
    MassSendBatch,
    Notification,
    Resident,
    TemplateRefusal,
    TemplateSend,
)

from .bot_support import MODES, RECORDED_OPENID, load_push, say
from .campaign_support import install_rules, running_campaign
from .factories import FIXED_NOW, make_community, make_resident

_times = itertools.count(1780700000)


@pytest.fixture
def scene(session):
    """A follower of a community with a running campaign that gives 20 points per daily QR check-in."""
    install_rules(session)
    home = make_community(session, "大桥社区")
    campaign = running_campaign(session, [home], checkin_points=20, checkin_qr="temporary", title="全国低碳日")
    make_resident(session, RECORDED_OPENID, community=home)
    value = f"campaign:{campaign.id}"
    session.commit()
    return value


def _push(name, **fields):
    """A recorded push with a fresh CreateTime, so tests do not look like retries of each other."""
    if "event" in name:
        fields.setdefault("CreateTime", str(next(_times)))
    return load_push(name, **fields)


# fixture -> text the reply must contain (None: the answer is "success")
MESSAGES = {
    "text": "您的积分：0 分",
    "image": texts.IMAGE,
    "voice": texts.VOICE_UNRECOGNISED,
    "voice_recognition": "您的积分：0 分",
    "video": texts.VIDEO,
    "shortvideo": texts.VIDEO,
    "location": texts.LOCATION,
    "link": texts.LINK,
    "event_location": None,
    "event_view": None,
    "event_click": "您的积分：0 分",
    "event_templatesendjobfinish": None,
    "event_masssendjobfinish": None,
    "event_subscribe_msg_popup": None,
    "event_subscribe_msg_change": None,
    "event_subscribe_msg_sent": None,
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(MESSAGES))
def test_recorded_push_gets_its_answer(client, session, scene, name, mode):
    with freeze_time(FIXED_NOW):
        reply = say(client, _push(name), mode)
    expected = MESSAGES[name]
    if expected is None:
        assert reply is None
    else:
        assert expected in reply


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["event_scan", "event_scancode_push", "event_scancode_waitmsg"])
def test_scans_check_in_with_points_and_balance(client, session, scene, name, mode):
    fields = {"EventKey": scene} if name == "event_scan" else {"ScanResult": scene}
    with freeze_time(FIXED_NOW):
        reply = say(client, _push(name, **fields), mode)
    assert reply == "签到成功：全国低碳日\n获得 20 分，当前积分 20 分。"
    session.rollback()
    assert session.scalar(select(Account.balance).join(Resident).where(Resident.openid == RECORDED_OPENID)) == 20


def test_scancode_of_something_else_waits_for_a_note_or_stays_silent(client, session, scene):
    with freeze_time(FIXED_NOW):
        assert say(client, _push("event_scancode_waitmsg", ScanResult="https://example.com/x")) == \
            texts.SCANCODE_UNKNOWN
        assert say(client, _push("event_scancode_push", ScanResult="https://example.com/x")) is None


@pytest.mark.parametrize("mode", MODES)
def test_scan_refusals_are_explained(client, session, scene, mode):
    outsider = make_resident(session, "o-outsider", community=make_community(session))
    outsider_openid = outsider.openid
    session.commit()
    with freeze_time(FIXED_NOW):
        assert say(client, _push("event_scan", EventKey=scene), mode).startswith("签到成功")
        assert say(client, _push("event_scan", EventKey=scene), mode) == "您今天已在“全国低碳日”签到过了，明天再来吧。"
        assert say(client, _push("event_scan", FromUserName=outsider_openid, EventKey=scene), mode) == \
            "“全国低碳日”仅限活动所在社区的居民参加。"
        assert say(client, _push("event_scan", EventKey="campaign:99999"), mode) == texts.SCAN_RESULTS["unknown_scene"]
        assert say(client, _push("event_scan", EventKey="no-such-kind"), mode) == texts.SCAN_RESULTS["unknown_scene"]
    with freeze_time(FIXED_NOW.replace(year=2027)):
        assert say(client, _push("event_scan", EventKey=scene), mode) == "“全国低碳日”目前不在签到时间内，请留意活动时间。"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CampaignCheckin)) == 1


@pytest.mark.parametrize("key", ["station:99999", "station:abc", "station:99999999999999999999", "campaign:4294967296"])
def test_a_station_or_campaign_code_that_names_nothing_is_called_invalid_not_temporary(client, session, scene, key):
    with freeze_time(FIXED_NOW):
        reply = say(client, _push("event_scan", EventKey=key), "safe")
    assert reply in (texts.SCAN_RESULTS["unknown_station"], texts.SCAN_RESULTS["unknown_scene"])
    assert "无效" in reply or "无法识别" in reply
    assert "稍后" not in reply


def test_a_closed_station_says_its_code_is_no_longer_valid(client, session, scene):
    from carbon_credit.org.stations import create_station

    station = create_station(session, {"name": "桥南回收点", "kind": "recycling_station", "active": False,
                                       "community_id": make_community(session).id}, FIXED_NOW)
    session.commit()
    with freeze_time(FIXED_NOW):
        reply = say(client, _push("event_scan", EventKey=f"station:{station.id}"), "safe")
    assert reply == "“桥南回收点”已停用，这个二维码不再有效。请到附近其他回收站点投递。"


def test_every_scan_result_a_scene_can_give_has_its_own_text():
    import ast
    import pathlib

    import carbon_credit

    codes = set()
    for path in pathlib.Path(carbon_credit.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ScanResult":
                codes |= {kw.value.value for kw in node.keywords
                          if kw.arg == "code" and isinstance(kw.value, ast.Constant)}
    assert codes and codes <= set(texts.SCAN_RESULTS), codes - set(texts.SCAN_RESULTS)
    assert "稍后" not in texts.SCAN_RESULT_OTHER


@pytest.mark.parametrize("mode", MODES)
def test_follow_creates_the_resident_and_welcomes_them(client, session, mode):
    reply = say(client, _push("event_subscribe", FromUserName="o-newcomer"), mode)
    assert reply == texts.WELCOME
    resident = session.scalar(select(Resident).where(Resident.openid == "o-newcomer"))
    assert resident.status == "active" and resident.account.balance == 0


@pytest.mark.parametrize("mode", MODES)
def test_follow_by_scanning_a_campaign_code_registers_and_checks_in(client, session, scene, mode):
    with freeze_time(FIXED_NOW):
        reply = say(client, _push("event_subscribe_qrscene", FromUserName="o-scanner",
                                  EventKey="qrscene_" + scene), mode)
    # A brand-new follower has no community yet, so the campaign says why not.
    assert reply.startswith(texts.WELCOME_SHORT)
    assert "仅限活动所在社区的居民参加" in reply
    assert session.scalar(select(Resident).where(Resident.openid == "o-scanner")) is not None


def test_follow_by_scanning_as_a_known_resident_checks_in(client, session, scene):
    with freeze_time(FIXED_NOW):
        reply = say(client, _push("event_subscribe_qrscene", EventKey="qrscene_" + scene), "safe")
    assert reply == texts.WELCOME_SHORT + "\n签到成功：全国低碳日\n获得 20 分，当前积分 20 分。"


@pytest.mark.parametrize("mode", MODES)
def test_unfollow_answers_success_and_unlinks(client, session, scene, mode):
    assert say(client, _push("event_unsubscribe"), mode) is None
    assert session.scalar(select(Resident).where(Resident.openid == RECORDED_OPENID)) is None
    assert session.scalar(select(Resident.status)) == "unfollowed"


def test_template_send_finished_reaches_the_outbox_and_a_block_is_a_refusal(client, session, scene):
    resident_id = session.scalar(select(Resident.id).where(Resident.openid == RECORDED_OPENID))
    note = Notification(resident_id=resident_id, kind="credit", payload={}, dedupe_key="credit:1", status="sent",
                        attempts=1, next_attempt_at=FIXED_NOW, created_at=FIXED_NOW, sent_at=FIXED_NOW)
    session.add(note)
    session.flush()
    session.add(TemplateSend(notification_id=note.id, msg_id=3147483652, openid=RECORDED_OPENID,
                             template_id="tpl", status="sent", sent_at=FIXED_NOW))
    session.commit()
    assert say(client, _push("event_templatesendjobfinish"), "safe") is None
    session.rollback()  # a fresh snapshot (SQLite reads are snapshots)
    assert session.scalar(select(TemplateSend.status)) == "failed:user block"
    assert session.scalar(select(TemplateRefusal.kind).where(TemplateRefusal.resident_id == resident_id)) == "credit"


def test_mass_send_finished_records_the_counts(client, session):
    mass = MassSend(campaign_id=1, publicity_kind="start", text="全国低碳日", status="sent", created_at=FIXED_NOW)
    session.add(mass)
    session.flush()
    session.add(MassSendBatch(mass_send_id=mass.id, msg_id=1000001625, recipients=100, sent_at=FIXED_NOW))
    session.commit()
    assert say(client, _push("event_masssendjobfinish"), "safe") is None
    session.rollback()  # a fresh snapshot (SQLite reads are snapshots)
    batch = session.scalar(select(MassSendBatch))
    assert (batch.status, batch.total_count, batch.filter_count, batch.sent_count, batch.error_count) == \
        ("send success", 100, 80, 75, 5)


def test_a_location_report_stores_nothing(client, session, scene):
    before = session.scalar(select(Resident).where(Resident.openid == RECORDED_OPENID))
    snapshot = {c.key: getattr(before, c.key) for c in Resident.__table__.columns}
    assert say(client, _push("event_location"), "safe") is None
    assert say(client, _push("location"), "safe") == texts.LOCATION
    session.rollback()  # a fresh snapshot (SQLite reads are snapshots)
    after = session.scalar(select(Resident).where(Resident.openid == RECORDED_OPENID))
    assert {c.key: getattr(after, c.key) for c in Resident.__table__.columns} == snapshot
