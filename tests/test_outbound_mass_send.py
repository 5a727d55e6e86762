"""Campaign publicity by mass send: active followers only, at most four a month each, never twice."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.outbound import record_mass_send_result, send_publicity
from bot.outbound.mass_send import plan_batches
from carbon_credit.models import MassSend, MassSendBatch, MassSendRecipient
from carbon_credit.outreach.mass_send_quota import MONTHLY_MASS_SENDS, monthly_count, quota_month

from .factories import FIXED_NOW, make_community, make_resident
from .outbound_support import (
    MASS_SEND,
    add_api,
    add_stable_token,
    body_of,
    calls_to,
    db_client,
    recorded,
    rsps,  # noqa: F401  (fixture)
)

NOW = FIXED_NOW
TEXT = "【垃圾分类周】6月5日至11日，在社区回收点投递可回收物积分翻倍，扫码签到再得5积分。"
MSG = recorded("mass_send_ok")


def _serve(rsps, *names):
    add_stable_token(rsps)
    for name in names or ("mass_send_ok",):
        add_api(rsps, MASS_SEND, name)


def _sent_to(rsps) -> list[list[str]]:
    return [body_of(c)["touser"] for c in calls_to(rsps, MASS_SEND)]


def test_publicity_reaches_the_communitys_active_followers_once(session, engine, rsps):
    community, elsewhere = make_community(session), make_community(session)
    residents = [make_resident(session, f"o-mass-{i}", community) for i in range(3)]
    make_resident(session, "o-other-community", elsewhere)
    gone = make_resident(session, "o-unfollowed", community)
    gone.status = "unfollowed"
    session.commit()
    _serve(rsps)
    report = send_publicity(session, db_client(engine), campaign_id=12, text=TEXT, now=NOW,
                            community_ids=[community.id])
    assert (report.sent, report.batches, report.over_quota, report.error) == (3, 1, 0, "")
    body = body_of(calls_to(rsps, MASS_SEND)[0])
    assert body["touser"] == [r.openid for r in residents]
    assert body["msgtype"] == "text" and body["text"] == {"content": TEXT}
    batch = session.scalar(select(MassSendBatch))
    assert (batch.msg_id, batch.msg_data_id, batch.recipients) == (MSG["msg_id"], MSG["msg_data_id"], 3)
    mass = session.scalar(select(MassSend))
    assert (mass.status, mass.recipients, mass.campaign_id, mass.publicity_kind) == ("sent", 3, 12, "announce")
    assert [monthly_count(session, r.id, NOW) for r in residents] == [1, 1, 1]
    # The job runs again: nothing goes out twice.
    again = send_publicity(session, db_client(engine), campaign_id=12, text=TEXT, now=NOW,
                           community_ids=[community.id])
    assert again.already_done and again.sent == 0
    assert len(calls_to(rsps, MASS_SEND)) == 1
    assert [monthly_count(session, r.id, NOW) for r in residents] == [1, 1, 1]


def test_a_fifth_mass_send_in_a_month_skips_that_resident(session, engine, rsps):
    busy, fresh_a, fresh_b = (make_resident(session) for _ in range(3))
    session.commit()
    _serve(rsps)
    client = db_client(engine)
    for campaign_id in range(1, MONTHLY_MASS_SENDS + 1):
        send_publicity(session, client, campaign_id=campaign_id, text=TEXT, now=NOW, resident_ids=[busy.id, fresh_a.id])
    assert monthly_count(session, busy.id, NOW) == 4
    report = send_publicity(session, client, campaign_id=99, text=TEXT, now=NOW,
                            resident_ids=[busy.id, fresh_a.id, fresh_b.id])
    # fresh_a has had four too; only fresh_b is left, and WeChat needs two openids: nobody over quota is sent.
    assert report.over_quota == 2
    report = send_publicity(session, client, campaign_id=100, text=TEXT, now=NOW, kind="remind",
                            resident_ids=[busy.id, fresh_b.id, make_resident(session).id])
    assert report.sent == 2 and report.over_quota == 1
    assert busy.openid not in _sent_to(rsps)[-1]
    assert monthly_count(session, busy.id, NOW) == 4
    outcome = session.scalar(select(MassSendRecipient.outcome).where(MassSendRecipient.resident_id == busy.id,
                                                                     MassSendRecipient.outcome == "over_quota"))
    assert outcome == "over_quota"
    # A new Shanghai month (1 July 00:10 local is 30 June 16:10 UTC) starts a new count.
    july = datetime(2026, 6, 30, 16, 10, tzinfo=timezone.utc)
    assert quota_month(july).month == 7
    report = send_publicity(session, client, campaign_id=101, text=TEXT, now=july, resident_ids=[busy.id, fresh_a.id])
    assert report.sent == 2 and monthly_count(session, busy.id, july) == 1


def test_a_lone_recipient_is_not_sent_and_keeps_their_quota(session, engine, rsps):
    only = make_resident(session)
    session.commit()
    _serve(rsps)
    report = send_publicity(session, db_client(engine), campaign_id=5, text=TEXT, now=NOW, resident_ids=[only.id])
    assert (report.sent, report.too_few) == (0, 1)
    assert calls_to(rsps, MASS_SEND) == []
    assert monthly_count(session, only.id, NOW) == 0


def test_batches_hold_two_to_ten_thousand_openids():
    assert plan_batches(list(range(5)), 3) == [[0, 1, 2], [3, 4]]
    assert plan_batches(list(range(4)), 3) == [[0, 1], [2, 3]]
    assert [len(b) for b in plan_batches(list(range(20_001)))] == [10_000, 9_999, 2]
    assert plan_batches([], 10) == []


def test_a_batch_wechat_refuses_is_sent_by_the_next_run_and_costs_no_quota(session, engine, rsps):
    residents = [make_resident(session) for _ in range(4)]
    session.commit()
    _serve(rsps, "mass_send_ok", "error_45009")
    client = db_client(engine)
    ids = [r.id for r in residents]
    report = send_publicity(session, client, campaign_id=7, text=TEXT, now=NOW, resident_ids=ids, batch_size=3)
    assert report.sent == 2 and "45009" in report.error
    assert [monthly_count(session, rid, NOW) for rid in ids] == [1, 1, 0, 0]
    mass = session.scalar(select(MassSend))
    assert mass.status == "sending" and "45009" in mass.last_error
    rsps.replace("POST", MASS_SEND, json=recorded("mass_send_ok_2"))
    report = send_publicity(session, client, campaign_id=7, text=TEXT, now=NOW, resident_ids=ids, batch_size=3)
    assert report.sent == 2 and report.error == ""
    assert _sent_to(rsps)[0] == [r.openid for r in residents[:2]]
    assert _sent_to(rsps)[-1] == [r.openid for r in residents[2:]]
    assert [monthly_count(session, rid, NOW) for rid in ids] == [1, 1, 1, 1]
    session.refresh(mass)
    assert (mass.status, mass.recipients) == ("sent", 4)


def test_the_finish_event_stores_wechats_counts(session, engine, rsps):
    residents = [make_resident(session) for _ in range(2)]
    session.commit()
    _serve(rsps)
    send_publicity(session, db_client(engine), campaign_id=3, text=TEXT, now=NOW, resident_ids=[r.id for r in residents])
    assert record_mass_send_result(session, 123, {"total": 2}, NOW) is None
    batch = record_mass_send_result(session, MSG["msg_id"], {"Status": "send success", "TotalCount": 2,
                                                             "FilterCount": 2, "SentCount": 2, "ErrorCount": 0}, NOW)
    session.commit()
    assert (batch.status, batch.total_count, batch.sent_count, batch.error_count) == ("send success", 2, 2, 0)


@pytest.mark.pg_only
def test_concurrent_campaigns_never_give_anyone_a_fifth_mass_send(session, engine, rsps):
    residents = [make_resident(session) for _ in range(6)]
    session.commit()
    ids = [r.id for r in residents]
    _serve(rsps)
    client = db_client(engine)
    for campaign_id in (1, 2, 3):
        send_publicity(session, client, campaign_id=campaign_id, text=TEXT, now=NOW, resident_ids=ids)
    barrier = threading.Barrier(2)
    reports = []

    def run(campaign_id):
        with sessionmaker(engine)() as own:
            barrier.wait()
            reports.append(send_publicity(own, db_client(engine), campaign_id=campaign_id, text=TEXT, now=NOW,
                                          resident_ids=ids, batch_size=3))

    threads = [threading.Thread(target=run, args=(cid,)) for cid in (10, 11)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.expire_all()
    assert [monthly_count(session, rid, NOW) for rid in ids] == [4] * 6
    reached = [openid for batch in _sent_to(rsps)[3:] for openid in batch]
    assert sorted(reached) == sorted(r.openid for r in residents)  # each exactly once across both campaigns
    assert sum(r.sent + r.over_quota + r.too_few for r in reports) == 12
