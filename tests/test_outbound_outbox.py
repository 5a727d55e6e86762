"""The notification outbox delivered as template messages, against recorded WeChat answers."""
from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from requests import ConnectionError as RequestsConnectionError
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from bot.outbound import deliver_outbox, deliver_outbox_job, record_template_result
from bot.outbound.templates import load_templates
from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.models import Account, GreenAction, Notification, TemplateRefusal, TemplateSend
from carbon_credit.outreach.notifications import enqueue_notification, skip_pending_notifications
from carbon_credit.residents.accounts import unfollow_resident

from .factories import FIXED_NOW, make_resident
from .ingest_helpers import NOW as FILE_READ_AT
from .ingest_helpers import ingest, resident_with_card, setup_rules, trip, write_file
from .outbound_support import (
    TEMPLATE_SEND,
    add_api,
    add_stable_token,
    body_of,
    calls_to,
    db_client,
    recorded,
    rsps,  # noqa: F401  (fixture)
)

NOW = FIXED_NOW
TEMPLATES_CONFIG = {
    "credit": {"template_id": "tpl-credit", "fields": {
        "thing1": "{action_name}", "character_string2": "{points}", "time3": "{occurred_at_text}",
        "character_string4": "{balance}"}},
    "review_result": {"template_id": "tpl-review", "fields": {"thing1": "{action_name}", "phrase2": "{approved_text}",
                                                              "thing3": "{reason_text}"}},
    "expiry_reminder": {"template_id": "tpl-expiry", "fields": {"character_string1": "{points}",
                                                                "time2": "{expires_on_text}"}},
}
TEMPLATES = load_templates(TEMPLATES_CONFIG)
# The configuration's defaults: WECHAT_OUTBOX_BATCH, _MAX_ATTEMPTS and _BASE_DELAY.
DELIVERY = {"limit": 50, "max_attempts": 6, "base_delay": 60}
CREDIT = {"action_type": "metro_ride", "points": 12, "grams": 1250, "balance": 340,
          "occurred_at": "2026-06-05T00:30:00+00:00"}
MSGID = recorded("template_send_ok")["msgid"]
_keys = itertools.count(1)


def _queue(session, resident, kind="credit", payload=None, key=None):
    note = enqueue_notification(session, resident.id, kind, payload or CREDIT, NOW,
                                dedupe_key=key or f"{kind}:{resident.id}:{next(_keys)}")
    session.commit()
    return note


def _deliver(session, engine, now=NOW, **kw):
    kw = {"templates": TEMPLATES, **DELIVERY, **kw}
    return deliver_outbox(session, db_client(engine), now, **kw)


def _reload(session, note) -> Notification:
    session.expire_all()
    return session.get(Notification, note.id)


def test_a_due_credit_goes_out_as_a_template_message(session, engine, rsps):
    resident = make_resident(session, "o-credit-1")
    note = _queue(session, resident)
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    report = _deliver(session, engine)
    assert (report.claimed, report.sent) == (1, 1)
    sent = body_of(calls_to(rsps, TEMPLATE_SEND)[0])
    assert sent["touser"] == "o-credit-1" and sent["template_id"] == "tpl-credit"
    assert sent["data"] == {"thing1": {"value": "metro_ride"}, "character_string2": {"value": "12"},
                            "time3": {"value": "2026-06-05 08:30"}, "character_string4": {"value": "340"}}
    assert "first" not in sent["data"] and "remark" not in sent["data"]
    assert all(set(v) == {"value"} for v in sent["data"].values())  # no colours since May 2023
    note = _reload(session, note)
    assert (note.status, note.attempts, note.sent_at) == ("sent", 1, NOW)
    send = session.scalar(select(TemplateSend).where(TemplateSend.notification_id == note.id))
    assert (send.msg_id, send.openid, send.status) == (MSGID, "o-credit-1", "sent")
    assert _deliver(session, engine).claimed == 0  # nothing is sent twice


def test_the_nightly_transit_digest_names_every_action_type_of_the_day_in_chinese(session, engine, rsps, tmp_path):
    setup_rules(session)
    resident = resident_with_card(session, "310000000001")
    rows = [trip("t1", "310000000001", "bus", 8, distance="3"), trip("t2", "310000000001", "metro", 9, distance="6"),
            trip("t3", "310000000001", "bus", 18, distance="3")]
    summary = ingest(session, write_file(tmp_path, rows))
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    report = _deliver(session, engine, now=FILE_READ_AT)
    assert (report.claimed, report.sent) == (1, 1)
    sent = body_of(calls_to(rsps, TEMPLATE_SEND)[0])
    assert sent["touser"] == resident.openid
    assert sent["data"] == {"thing1": {"value": "公交出行、地铁出行"}, "character_string2": {"value": str(summary.points)},
                            "time3": {"value": "2026-06-05"}, "character_string4": {"value": str(summary.points)}}


def test_a_digest_says_the_balance_when_it_is_sent_and_the_send_keeps_what_it_said(session, engine, rsps, tmp_path):
    setup_rules(session)
    resident = resident_with_card(session, "310000000001")
    summary = ingest(session, write_file(tmp_path, [trip("t1", "310000000001", "bus", 8, distance="3")]))
    record_action(session, ActionInput(resident_id=resident.id, action_type="metro_ride", quantity=Decimal(12),
                                       unit="km", occurred_at=FILE_READ_AT, source="partner_feed", evidence="partner",
                                       idem_scope="partner:1", external_id="after-the-file"), FILE_READ_AT)
    session.commit()
    balance = session.scalar(select(Account.balance).where(Account.resident_id == resident.id))
    session.rollback()  # the outbox opens its own snapshot
    assert balance > summary.points
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    assert _deliver(session, engine, now=FILE_READ_AT).sent == 1
    sent = body_of(calls_to(rsps, TEMPLATE_SEND)[0])["data"]
    assert sent == {"thing1": {"value": "公交出行"}, "character_string2": {"value": str(summary.points)},
                    "time3": {"value": "2026-06-05"}, "character_string4": {"value": str(balance)}}
    session.expire_all()
    note = session.scalar(select(Notification).where(Notification.digest_day.is_not(None)))
    assert (note.status, note.payload) == ("sent", None)
    assert session.scalar(select(TemplateSend.data).where(TemplateSend.notification_id == note.id)) == sent


def test_an_unfollowed_residents_digest_is_never_sent(session, engine, rsps, tmp_path):
    setup_rules(session)
    resident = resident_with_card(session, "310000000001")
    ingest(session, write_file(tmp_path, [trip("t1", "310000000001", "bus", 8)]))
    unfollow_resident(session, resident.openid, FILE_READ_AT, hash_key="test-openid-key")
    session.commit()
    add_stable_token(rsps)
    assert _deliver(session, engine, now=FILE_READ_AT).sent == 0
    assert calls_to(rsps, TEMPLATE_SEND) == []
    note = session.scalar(select(Notification))
    assert (note.status, note.last_error) == ("skipped", "resident unfollowed; pushes stopped")


def test_a_digest_whose_day_earns_nothing_any_more_is_skipped_with_the_reason(session, engine, rsps, tmp_path):
    setup_rules(session)
    resident_with_card(session, "310000000001")
    ingest(session, write_file(tmp_path, [trip("t1", "310000000001", "bus", 8)]))
    session.execute(update(GreenAction).where(GreenAction.local_day.is_not(None)).values(status="capped", points=0, grams=0))
    session.commit()
    add_stable_token(rsps)
    assert _deliver(session, engine, now=FILE_READ_AT).skipped == 1
    assert calls_to(rsps, TEMPLATE_SEND) == []
    note = _reload(session, session.scalar(select(Notification)))
    assert note.status == "skipped" and note.last_error == "no credited points on 2026-06-05 any more; nothing to tell"


def test_a_digest_queued_with_its_payload_is_sent_as_it_was_queued(session, engine, rsps):
    """Digests queued before they were built at sending time keep their payload (the migration keeps them)."""
    resident = make_resident(session, "o-old-digest")
    session.add(Notification(resident_id=resident.id, kind="credit", digest_day=FILE_READ_AT.date(),
                             payload={"action_type": "bus_ride", "action_types": ["bus_ride"], "points": 7,
                                      "grams": 300, "balance": 70, "occurred_at": "2026-06-05", "trips": 1},
                             status="pending", attempts=0, next_attempt_at=NOW, created_at=NOW))
    session.commit()
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    assert _deliver(session, engine).sent == 1
    assert body_of(calls_to(rsps, TEMPLATE_SEND)[0])["data"] == {
        "thing1": {"value": "bus_ride"}, "character_string2": {"value": "7"}, "time3": {"value": "2026-06-05"},
        "character_string4": {"value": "70"}}


def test_messages_queued_one_at_a_time_stay_once_per_key_and_several_per_resident(session):
    resident = make_resident(session)
    first = _queue(session, resident, key="credit:1")
    assert _queue(session, resident, key="credit:1").id == first.id
    _queue(session, resident, "review_result", {"approved": True}, key="review:1")
    session.expire_all()
    rows = session.execute(select(Notification.dedupe_key, Notification.digest_day, Notification.last_error)
                           .order_by(Notification.id)).all()
    assert rows == [("credit:1", None, None), ("review:1", None, None)]


def test_field_values_are_cut_to_twenty_characters(session, engine, rsps):
    resident = make_resident(session)
    _queue(session, resident, "review_result",
           {"action_type": "appliance_purchase", "approved": False, "points": 0,
            "reason": "发票抬头与登记姓名不一致，且购买日期早于活动开始日期，请重新上传"})
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    _deliver(session, engine)
    data = body_of(calls_to(rsps, TEMPLATE_SEND)[0])["data"]
    assert data["phrase2"]["value"] == "未通过"
    assert len(data["thing3"]["value"]) == 20 and data["thing3"]["value"].endswith("…")
    assert data["thing3"]["value"].startswith("发票抬头与登记姓名不一致")


@pytest.mark.parametrize("first_error", ["error_45009", "system_busy"])
def test_transient_errors_back_off_exponentially_then_fail(first_error, session, engine, rsps):
    resident = make_resident(session)
    note = _queue(session, resident)
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, first_error)
    waits, now = [], NOW
    for _ in range(5):
        report = _deliver(session, engine, now, max_attempts=6, base_delay=60)
        assert report.retried == 1
        current = _reload(session, note)
        assert current.status == "pending" and recorded(first_error)["errmsg"][:20] in current.last_error
        waits.append((current.next_attempt_at - now).total_seconds())
        assert _deliver(session, engine, current.next_attempt_at - timedelta(seconds=1)).claimed == 0
        now = current.next_attempt_at
    assert waits == [60, 120, 240, 480, 960]
    assert _deliver(session, engine, now, max_attempts=6).failed == 1
    assert (_reload(session, note).status, _reload(session, note).attempts) == ("failed", 6)
    assert len(calls_to(rsps, TEMPLATE_SEND)) == 6


def test_a_network_failure_is_retried_later(session, engine, rsps):
    note = _queue(session, make_resident(session))
    add_stable_token(rsps)
    rsps.post(TEMPLATE_SEND, body=RequestsConnectionError("connection reset by peer"))
    assert _deliver(session, engine).retried == 1
    note = _reload(session, note)
    assert note.status == "pending" and note.next_attempt_at == NOW + timedelta(seconds=60)
    assert "无法连接微信服务器" in note.last_error


def test_a_refusal_is_recorded_and_respected_for_that_kind(session, engine, rsps):
    resident = make_resident(session)
    first = _queue(session, resident, key="c1")
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_43101")
    assert _deliver(session, engine).skipped == 1
    assert _reload(session, first).status == "skipped" and "43101" in _reload(session, first).last_error
    assert session.scalar(select(TemplateRefusal.kind).where(TemplateRefusal.resident_id == resident.id)) == "credit"
    # The next credit is not even offered to WeChat; another kind still is.
    second = _queue(session, resident, key="c2")
    reminder = _queue(session, resident, "expiry_reminder", {"points": 80, "expires_at": "2028-01-01T00:00:00+08:00"})
    rsps.replace("POST", TEMPLATE_SEND, json=recorded("template_send_ok"))
    report = _deliver(session, engine)
    assert (report.skipped, report.sent) == (1, 1)
    assert "refused" in _reload(session, second).last_error
    calls = calls_to(rsps, TEMPLATE_SEND)
    assert len(calls) == 2 and body_of(calls[-1])["template_id"] == "tpl-expiry"
    assert body_of(calls[-1])["data"]["time2"]["value"] == "2027-12-31"
    assert _reload(session, reminder).status == "sent"


def test_a_resident_who_does_not_follow_is_skipped(session, engine, rsps):
    note = _queue(session, make_resident(session))
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_43004")
    assert _deliver(session, engine).skipped == 1
    assert _reload(session, note).status == "skipped" and "43004" in _reload(session, note).last_error


def test_an_unfollowed_resident_gets_nothing(session, engine, rsps):
    resident = make_resident(session)
    queued = _queue(session, resident, key="a")
    later = _queue(session, resident, key="b")
    assert skip_pending_notifications(session, resident.id, NOW) == 2
    session.commit()
    assert _reload(session, queued).status == "skipped"
    # A row that slipped in anyway (queued before the status changed) is still not sent.
    note = _queue(session, resident, key="c")
    resident.status = "unfollowed"
    session.commit()
    add_stable_token(rsps)
    assert _deliver(session, engine).skipped == 1
    assert calls_to(rsps, TEMPLATE_SEND) == []
    assert "unfollowed" in _reload(session, note).last_error and _reload(session, later).status == "skipped"


def test_a_kind_without_a_template_is_skipped_with_a_clear_reason(session, engine, rsps):
    note = _queue(session, make_resident(session), "redemption", {"reward": "公交卡充值10元", "voucher_code": "X7", "points": 500})
    add_stable_token(rsps)
    assert _deliver(session, engine).skipped == 1
    assert "no template configured for kind 'redemption'" in _reload(session, note).last_error
    assert calls_to(rsps, TEMPLATE_SEND) == []


def test_a_permanent_wechat_error_fails_the_row_at_once(session, engine, rsps):
    note = _queue(session, make_resident(session))
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_40037")
    assert _deliver(session, engine).failed == 1
    assert _reload(session, note).status == "failed" and "40037" in _reload(session, note).last_error


def test_template_finish_events_record_the_outcome_and_user_blocks(session, engine, rsps):
    resident = make_resident(session, "o-finish-1")
    _queue(session, resident)
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    _deliver(session, engine)
    assert record_template_result(session, "o-someone-else", MSGID, "success", NOW) is None
    send = record_template_result(session, "o-finish-1", MSGID, "failed:user block", NOW + timedelta(seconds=3))
    session.commit()
    assert (send.status, send.finished_at) == ("failed:user block", NOW + timedelta(seconds=3))
    assert session.scalar(select(TemplateRefusal).where(TemplateRefusal.resident_id == resident.id)).kind == "credit"


def test_the_job_delivers_with_the_apps_configuration(app, session, rsps):
    app.config["WECHAT_TEMPLATES"] = TEMPLATES_CONFIG
    residents = [make_resident(session) for _ in range(3)]
    for resident in residents:
        _queue(session, resident)
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    app.config["WECHAT_OUTBOX_BATCH"] = 2  # two batches
    result = deliver_outbox_job(app, NOW)
    assert (result["claimed"], result["sent"]) == (3, 3)
    assert sorted(body_of(c)["touser"] for c in calls_to(rsps, TEMPLATE_SEND)) == sorted(r.openid for r in residents)


@pytest.mark.pg_only
def test_two_deliverers_never_send_one_notification_twice(session, engine, rsps):
    residents = [make_resident(session) for _ in range(30)]
    for resident in residents:
        _queue(session, resident)
    add_stable_token(rsps)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok")
    db_client(engine).access_token  # one token for both
    barrier = threading.Barrier(2)
    reports = []

    def deliverer():
        with sessionmaker(engine)() as own:
            barrier.wait()
            for _ in range(10):
                reports.append(deliver_outbox(own, db_client(engine), NOW, **(DELIVERY | {"limit": 4}),
                                              templates=TEMPLATES))

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sends = Counter(body_of(c)["touser"] for c in calls_to(rsps, TEMPLATE_SEND))
    assert sends == Counter({r.openid: 1 for r in residents})
    assert sum(r.sent for r in reports) == 30
    session.expire_all()
    assert {n.status for n in session.scalars(select(Notification))} == {"sent"}
