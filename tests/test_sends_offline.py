"""WeChat offline (the demo, an intranet trial): the real flows run and record what they would have sent.

The demo configuration is the app with the demo's stand-in WeChat credentials:
nothing may reach WeChat (every HTTP call would fail the test), and each send is
recorded, as it happens, in the tables the console's 发送记录 lists.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api import create_app
from api.config import DEMO_WECHAT
from api.scheduler import run_job
from bot.outbound.client import SharedTokenClient, client_from_config, get_client
from bot.outbound.menu import menu_for
from bot.outbound.offline import OfflineClient
from bot.outbound.qrcodes import ensure_qrcode
from bot.outbound.templates import OFFLINE_TEMPLATES, render_data, templates_for
from carbon_credit.campaigns import create_campaign, publish_campaign
from carbon_credit.errors import WeChatNotConfigured
from carbon_credit.models import (MassSend, MassSendBatch, MassSendRecipient, MenuPublication, Notification, QRCode,
                                  Station)
from carbon_credit.models.wechat import TemplateSend
from carbon_credit.rewards.redemptions import redeem_reward
from carbon_credit.reporting.resident_pages import scene_for_code
from carbon_credit.timeutil import utcnow

from .campaign_support import campaign_values, install_rules
from .console_support import post_form, sign_in
from .factories import FIXED_NOW, make_community, make_resident, make_staff
from .outbound_support import (QRCODE_CREATE, add_api, add_stable_token, calls_to, db_client,  # noqa: F401
                               offline_app, rsps)  # (fixtures)
from .reward_support import give_points, make_reward

NOW = FIXED_NOW


@pytest.fixture
def offline_client(offline_app):
    return offline_app.test_client()


def _redemption(session, community=None):
    """A follower redeems a voucher: the outbox holds a "redemption" notification for them."""
    resident = make_resident(session, community=community or make_community(session))
    give_points(session, resident, 500)
    reward = make_reward(session, title="社区超市代金券")
    redemption, _ = redeem_reward(session, resident.id, reward.id, NOW, idempotency_key="offline-test")
    session.commit()
    return resident, redemption


@pytest.mark.parametrize("settings, offline", [
    (DEMO_WECHAT, True),  # the demo's stand-ins
    ({"WECHAT_APPID": "", "WECHAT_SECRET": ""}, True),  # no account configured
    ({"WECHAT_APPID": "wxreal", "WECHAT_SECRET": ""}, True),
    ({"WECHAT_APPID": "wxreal", "WECHAT_SECRET": "s"}, False),
    ({"WECHAT_APPID": "wxreal", "WECHAT_SECRET": "s", "WECHAT_OFFLINE": True}, True),  # a trial with a real id
])
def test_the_client_is_chosen_in_one_place_from_the_configuration(settings, offline, db_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "k", "REDIS_URL": None,
                      "WECHAT_TOKEN": "t", **settings})
    assert app.config["WECHAT_OFFLINE"] is offline
    with app.app_context():
        client = get_client(app)
    assert isinstance(client, OfflineClient if offline else SharedTokenClient)


def test_offline_refused_keeps_missing_credentials_an_error():
    with pytest.raises(WeChatNotConfigured):
        client_from_config({"WECHAT_OFFLINE": False, "WECHAT_APPID": "", "WECHAT_SECRET": ""}, engine=None)


def test_the_outbox_records_exactly_the_template_message_it_would_send(offline_app, session, rsps):
    resident, redemption = _redemption(session)
    note = session.scalars(select(Notification).where(Notification.resident_id == resident.id)).one()
    outcome = run_job(offline_app, "deliver_outbox", NOW + timedelta(minutes=1))
    assert (outcome.status, outcome.result["sent"]) == ("ok", 1)
    assert len(rsps.calls) == 0  # WeChat was never called
    session.rollback()  # a fresh snapshot: the jobs wrote on their own connections
    send = session.scalars(select(TemplateSend)).one()
    spec = templates_for(offline_app.config)["redemption"]
    assert spec.template_id == OFFLINE_TEMPLATES["redemption"]["template_id"] == send.template_id
    assert send.openid == resident.openid
    assert send.data == render_data(spec, note.payload)  # what send_template was given, keyword by keyword
    assert send.data["character_string2"]["value"] == redemption.voucher_code
    assert (send.offline, send.status, send.sent_at) == (True, "sent", NOW + timedelta(minutes=1))
    assert session.get(Notification, note.id).status == "sent"
    # Delivered once: a second run finds nothing due.
    assert run_job(offline_app, "deliver_outbox", NOW + timedelta(hours=1)).result["claimed"] == 0


def test_configured_templates_win_over_the_stand_ins_offline(offline_app, session, rsps):
    offline_app.config["WECHAT_TEMPLATES"] = {
        "redemption": {"template_id": "TPL-REAL-REDEEM", "fields": {"thing1": "{reward}"}}}
    _redemption(session)
    run_job(offline_app, "deliver_outbox", NOW + timedelta(minutes=1))
    session.rollback()  # a fresh snapshot: the jobs wrote on their own connections
    send = session.scalars(select(TemplateSend)).one()
    assert (send.template_id, send.data, send.offline) == ("TPL-REAL-REDEEM", {"thing1": {"value": "社区超市代金券"}},
                                                           True)


def test_campaign_publicity_is_mass_sent_offline_to_the_communitys_followers(offline_app, session, rsps):
    install_rules(session)
    home, elsewhere = make_community(session), make_community(session)
    followers = [make_resident(session, community=home) for _ in range(3)]
    make_resident(session, community=elsewhere)
    campaign = create_campaign(session, campaign_values([home]), NOW)
    publish_campaign(session, campaign.id, NOW)
    session.commit()
    outcome = run_job(offline_app, "campaign_publicity", NOW)
    assert outcome.status == "ok" and len(rsps.calls) == 0
    session.rollback()  # a fresh snapshot: the jobs wrote on their own connections
    mass = session.scalars(select(MassSend)).one()
    assert (mass.campaign_id, mass.publicity_kind, mass.status, mass.recipients) == (campaign.id, "start", "sent", 3)
    assert mass.text.startswith("【垃圾分类周】开始啦")
    batch = session.scalars(select(MassSendBatch)).one()
    assert (batch.offline, batch.recipients, batch.sent_at) == (True, 3, NOW)
    reached = set(session.scalars(select(MassSendRecipient.resident_id).where(MassSendRecipient.outcome == "sent")))
    assert reached == {r.id for r in followers}


def test_the_menu_is_recorded_as_published_offline(offline_app, session, rsps):
    result = offline_app.test_cli_runner().invoke(args=["wechat", "menu"])
    assert result.exit_code == 0, result.output
    assert "recorded, not published" in result.output and len(rsps.calls) == 0
    publication = session.scalars(select(MenuPublication)).one()
    assert publication.menu == menu_for(offline_app.config) and publication.offline is True
    assert publication.answer["errcode"] == 0


def test_a_console_qr_request_records_an_offline_code_that_checks_in_by_its_scene(offline_app, offline_client,
                                                                                  session, rsps):
    install_rules(session)
    home = make_community(session)
    make_staff(session, "worker", "worker", communities=[home])
    campaign = create_campaign(session, campaign_values([home], checkin_points=20, checkin_qr="temporary"), NOW)
    publish_campaign(session, campaign.id, NOW)
    session.commit()
    sign_in(offline_client, "worker")
    poster = f"/console/campaigns/{campaign.id}/poster"
    post_form(offline_client, poster, f"/console/campaigns/{campaign.id}/qrcode", {})
    page = offline_client.get(poster).get_data(as_text=True)
    assert "离线签到码已生成" in page and f"签到码 campaign:{campaign.id}" in page and "<svg" in page
    assert "连接微信后可在这里重新申请" in page and "请重新申请正式的二维码" not in page
    assert len(rsps.calls) == 0
    session.rollback()
    code = session.scalars(select(QRCode)).one()
    assert (code.scene, code.url, code.kind, code.offline) == (f"campaign:{campaign.id}", f"campaign:{campaign.id}",
                                                               "temporary", True)
    assert scene_for_code(session, code.url) == code.scene  # the H5 page and the menu's scanner read it


def test_an_offline_code_is_never_handed_out_once_wechat_is_called(session, engine, rsps):
    offline, _ = ensure_qrcode(session, OfflineClient(), "station:7", "permanent", NOW)
    session.commit()
    assert (offline.offline, offline.permanent_scene) == (True, None)
    again, created = ensure_qrcode(session, OfflineClient(), "station:7", "permanent", NOW)
    assert (again.id, created) == (offline.id, False)
    session.commit()  # as the callers do: no read transaction open while the token store writes (SQLite)
    add_stable_token(rsps)
    add_api(rsps, QRCODE_CREATE, "qrcode_create_permanent")
    real, created = ensure_qrcode(session, db_client(engine), "station:7", "permanent", NOW + timedelta(days=1))
    assert created and real.id != offline.id and not real.offline and real.permanent_scene == "station:7"
    assert len(calls_to(rsps, QRCODE_CREATE)) == 1


def test_once_online_the_poster_offers_a_real_code_instead_of_the_offline_one(client, session):
    community = make_community(session)
    make_staff(session, "worker", "worker", communities=[community])
    now = utcnow()
    station = Station(name="滨河回收站", kind="recycling_station", community_id=community.id, created_at=now,
                      updated_at=now)
    session.add(station)
    session.flush()
    ensure_qrcode(session, OfflineClient(), f"station:{station.id}", "permanent", now)
    session.commit()
    sign_in(client, "worker")  # the test app has the account's credentials: WeChat is called
    page = client.get(f"/console/stations/{station.id}/poster").get_data(as_text=True)
    assert "离线签到码" in page and "请重新申请正式的二维码" in page
    assert f'action="/console/stations/{station.id}/qrcode"' in page


def test_the_console_lists_what_was_recorded_offline(offline_app, offline_client, session, rsps):
    make_staff(session, "admin", "admin")
    resident, redemption = _redemption(session)
    run_job(offline_app, "deliver_outbox", NOW + timedelta(minutes=1))
    offline_app.test_cli_runner().invoke(args=["wechat", "menu"])
    sign_in(offline_client, "admin")
    templates = offline_client.get("/console/sends?tab=templates").get_data(as_text=True)
    assert "offline-redemption" in templates and "兑换成功" in templates and "离线记录" in templates
    assert f"居民 {resident.id}" in templates and "thing1：社区超市代金券" in templates
    assert redemption.voucher_code not in templates and redemption.voucher_code[-4:] in templates  # masked
    menus = offline_client.get("/console/sends?tab=menus").get_data(as_text=True)
    assert "我的积分：积分余额、积分明细" in menus and "离线记录" in menus


def test_the_demo_seed_fills_the_send_records_through_the_real_flows(offline_app, session, rsps):
    from api.cli_demo import seed_demo_app

    created = seed_demo_app(offline_app, NOW, residents=12, days=3)
    assert len(rsps.calls) == 0
    session.rollback()  # a fresh snapshot: the jobs wrote on their own connections
    stations = session.scalar(select(func.count()).select_from(Station))
    assert created["wechat"] == {"menus": 1, "qrcodes": stations + 1, "mass_sends": 1,
                                 "template_messages": created["redemptions"]}
    codes = session.scalars(select(QRCode)).all()
    assert len(codes) == stations + 1 and all(c.offline and c.url == c.scene and c.created_at == NOW for c in codes)
    mass = session.scalars(select(MassSend)).one()
    assert mass.publicity_kind == "start" and mass.recipients >= 2
    assert all(b.offline for b in session.scalars(select(MassSendBatch)))
    sends = session.scalars(select(TemplateSend)).all()
    assert len(sends) == created["redemptions"] and all(s.offline and s.data for s in sends)
    assert session.scalar(select(func.count()).select_from(Notification).where(Notification.status == "pending")) == 0
    assert session.scalars(select(MenuPublication)).one().offline
