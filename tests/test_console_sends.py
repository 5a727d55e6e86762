"""发送记录: admins read what went to WeChat (template messages, mass sends, QR codes); workers are refused."""
from __future__ import annotations

from carbon_credit.models import MassSend, Notification, QRCode
from carbon_credit.models.wechat import TemplateSend
from carbon_credit.timeutil import utcnow

from .console_support import sign_in
from .factories import make_community, make_resident, make_staff


def test_an_admin_reads_each_kind_of_send_and_a_worker_is_refused(client, session):
    community = make_community(session, "滨河社区")
    make_staff(session, "admin", "admin")
    make_staff(session, "worker", "worker", communities=[community])
    resident = make_resident(session, community=community)
    now = utcnow()
    note = Notification(resident_id=resident.id, kind="credit", payload={"points": 12}, dedupe_key="credit:1",
                        status="sent", next_attempt_at=now, created_at=now, sent_at=now)
    voucher = Notification(resident_id=resident.id, kind="redemption", dedupe_key="redemption:1", status="sent",
                           payload={"reward": "乘车券", "voucher_code": "K7QM-2XPA-9RTD"}, next_attempt_at=now,
                           created_at=now, sent_at=now)
    session.add_all([note, voucher])
    session.flush()
    session.add_all([
        TemplateSend(notification_id=note.id, msg_id=1001, openid=resident.openid, template_id="TPL_CREDIT",
                     sent_at=now),
        TemplateSend(notification_id=voucher.id, msg_id=1002, openid=resident.openid, template_id="TPL_REDEEM",
                     sent_at=now),  # sent before the keyword values were kept: the payload shows, masked
        MassSend(campaign_id=1, publicity_kind="announce", text="垃圾分类周开始啦", status="sent", recipients=3,
                 created_at=now),
        QRCode(scene="station:1", permanent_scene="station:1", kind="permanent", ticket="t-1",
               url="http://weixin.qq.com/q/s1", created_at=now)])
    session.commit()
    sign_in(client, "worker")
    assert client.get("/console/sends").status_code == 403
    sign_in(client, "admin")
    assert "积分到账" in client.get("/console/sends").get_data(as_text=True)
    templates = client.get("/console/sends?tab=templates").get_data(as_text=True)
    assert "TPL_CREDIT" in templates and "points：12" in templates
    assert "K7QM-2XPA-9RTD" not in templates and "**********9RTD" in templates
    assert "垃圾分类周开始啦" in client.get("/console/sends?tab=mass").get_data(as_text=True)
    assert "station:1" in client.get("/console/sends?tab=qrcodes").get_data(as_text=True)


def test_a_days_digest_shows_what_it_said(client, session):
    """A digest keeps no payload: the record shows the keyword values it was sent with."""
    make_staff(session, "admin", "admin")
    resident = make_resident(session)
    now = utcnow()
    digest = Notification(resident_id=resident.id, kind="credit", digest_day=now.date(), status="sent",
                          next_attempt_at=now, created_at=now, sent_at=now)
    session.add(digest)
    session.flush()
    session.add(TemplateSend(notification_id=digest.id, msg_id=1003, openid=resident.openid, template_id="TPL_DAY",
                             data={"thing1": {"value": "公交出行、地铁出行"}, "character_string4": {"value": "1520"}},
                             sent_at=now))
    session.commit()
    sign_in(client, "admin")
    templates = client.get("/console/sends?tab=templates").get_data(as_text=True)
    assert "TPL_DAY" in templates and "thing1：公交出行、地铁出行" in templates and "character_string4：1520" in templates
