"""WeChat's retries of one push: the first answer again, and never a second credit."""
from __future__ import annotations

import itertools
import os
import threading
from datetime import timedelta

import pytest
import redis
import xmltodict
from freezegun import freeze_time
from sqlalchemy import event, func, select

from bot.dedupe import REDIS_PREFIX, RedisLink, RedisStore, dedupe_key, purge_answered_pushes, store_for
from carbon_credit.ledger.points import adjust_balance
from carbon_credit.models import Account, CampaignCheckin, Credit, InboundMessage, Resident

from .bot_support import MODES, load_push, reply_fields, say, signed_request, text
from .campaign_support import install_rules, running_campaign
from .factories import FIXED_NOW, make_community, make_resident

REDIS_URL = "redis://127.0.0.1:6379/5"
_times = itertools.count(1780900000)


def _count(session, model) -> int:
    session.rollback()  # a fresh snapshot
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture(params=["database", "redis"])
def store(request, app):
    """Run the test with the database store and with the Redis store (this suite's Redis db 5)."""
    if request.param == "database":
        yield "database"
        return
    client = _redis_or_skip()
    app.config["REDIS_URL"] = REDIS_URL
    app.extensions.pop("wechat_bot", None)
    yield "redis"
    _clear(client)


def _clear(client) -> None:
    keys = list(client.scan_iter(REDIS_PREFIX + "*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def checkin_scene(session):
    install_rules(session)
    home = make_community(session)
    campaign = running_campaign(session, [home], checkin_points=20, checkin_qr="temporary", title="全国低碳日")
    make_resident(session, "o-scanner", community=home)
    value = f"campaign:{campaign.id}"
    session.commit()
    return value


def test_the_key_comes_from_the_raw_fields():
    assert dedupe_key({"MsgType": "text", "MsgId": "1", "FromUserName": "a"}) == \
        dedupe_key({"MsgType": "text", "MsgId": "1", "FromUserName": "a", "CreateTime": "9"})
    base = {"MsgType": "event", "FromUserName": "a", "CreateTime": "1", "Event": "subscribe",
            "EventKey": "qrscene_campaign:1"}
    assert dedupe_key(base) != dedupe_key(dict(base, EventKey="campaign:1"))
    assert dedupe_key(base) != dedupe_key(dict(base, CreateTime="2"))
    assert dedupe_key(base) != dedupe_key(dict(base, FromUserName="b"))
    assert dedupe_key(dict(base, Event="SCAN")) != dedupe_key(base)


@pytest.mark.parametrize("mode", MODES)
def test_a_resent_message_gets_the_first_answer(client, session, store, mode):
    push = text("o-retry", "余额")
    first = say(client, push, mode)
    assert first.startswith("您的积分：0 分")
    resident_id = session.scalar(select(Resident.id).where(Resident.openid == "o-retry"))
    adjust_balance(session, resident_id, 150, "补发", FIXED_NOW, actor_id=None, reference="adjust:retry")
    session.commit()
    assert say(client, push, mode) == first  # the retry is not handled again
    assert say(client, text("o-retry", "余额"), mode).startswith("您的积分：150 分")  # a new MsgId is
    assert _count(session, Resident) == 1


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_a_resent_balance_of_a_known_follower_gets_the_answer_kept_first(client, session, store, mode):
    """余额 is read before its key is claimed: the first answer is kept with the key, and a retry sends it."""
    resident = make_resident(session, "o-known")
    session.commit()
    push = text("o-known", "余额")
    first = say(client, push, mode)
    assert first.startswith("您的积分：0 分")
    adjust_balance(session, resident.id, 150, "补发", FIXED_NOW, actor_id=None, reference="adjust:kept")
    session.commit()
    assert say(client, push, mode) == first
    assert say(client, text("o-known", "余额"), mode).startswith("您的积分：150 分")
    if store == "database":
        assert _count(session, InboundMessage) == 2
        assert session.scalar(select(InboundMessage.reply).where(
            InboundMessage.dedupe_key == dedupe_key(xmltodict.parse(push)["xml"]))) == first
    else:
        kept = redis.Redis.from_url(REDIS_URL).get(REDIS_PREFIX + dedupe_key(xmltodict.parse(push)["xml"]))
        assert kept.decode() == first


@pytest.mark.parametrize("mode", MODES)
def test_a_resent_scan_credits_once_and_repeats_the_confirmation(client, session, store, checkin_scene, mode):
    push = load_push("event_scan", FromUserName="o-scanner", EventKey=checkin_scene, CreateTime=str(next(_times)))
    with freeze_time(FIXED_NOW):
        replies = [say(client, push, mode) for _ in range(4)]  # the push and WeChat's three retries
    assert replies == ["签到成功：全国低碳日\n获得 20 分，当前积分 20 分。"] * 4
    assert _count(session, CampaignCheckin) == 1
    assert session.scalar(select(func.count()).select_from(Credit)) == 1
    assert session.scalar(select(Account.balance).join(Resident).where(Resident.openid == "o-scanner")) == 20


def test_a_resent_follow_by_scan_registers_and_credits_once(client, session, store, checkin_scene):
    push = load_push("event_subscribe_qrscene", FromUserName="o-new-scanner", EventKey="qrscene_" + checkin_scene,
                     CreateTime=str(next(_times)))
    with freeze_time(FIXED_NOW):
        first, second = say(client, push, "safe"), say(client, push, "safe")
    assert first == second
    assert _count(session, Resident) == 2  # the fixture's resident and the newcomer


def test_success_answers_are_remembered_too(client, session, store):
    push = load_push("event_unsubscribe", FromUserName="o-leaver", CreateTime=str(next(_times)))
    assert say(client, push) is None
    assert say(client, push) is None
    if store == "database":
        assert _count(session, InboundMessage) == 1
        assert session.scalar(select(InboundMessage.reply)) == ""


def test_location_reports_and_menu_links_leave_no_trace(client, session):
    """WeChat reports LOCATION every few seconds while a chat is open: nothing is written for it."""
    for name in ("event_location", "event_view"):
        push = load_push(name, FromUserName="o-walker", CreateTime=str(next(_times)))
        assert say(client, push) is None and say(client, push) is None
    assert _count(session, InboundMessage) == 0
    assert _count(session, Resident) == 0


def test_the_redis_store_keeps_the_first_answer_with_an_expiry(client, store):
    if store != "redis":
        pytest.skip("Redis only")
    push = text("o-redis", "帮助")
    first = say(client, push, "safe")
    client_redis = redis.Redis.from_url(REDIS_URL)
    keys = list(client_redis.scan_iter(REDIS_PREFIX + "*"))
    assert len(keys) == 1
    assert client_redis.get(keys[0]).decode() == first
    assert 0 < client_redis.ttl(keys[0]) <= 3600


def test_with_redis_down_pushes_are_still_answered_and_crediting_stays_idempotent(app, client, session,
                                                                                    checkin_scene, caplog):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/5"
    app.extensions.pop("wechat_bot", None)
    push = load_push("event_scan", FromUserName="o-scanner", EventKey=checkin_scene, CreateTime=str(next(_times)))
    with freeze_time(FIXED_NOW):
        first, retry = say(client, push, "safe"), say(client, push, "safe")
    assert first.startswith("签到成功")
    assert retry == "您今天已在“全国低碳日”签到过了，明天再来吧。"  # no de-dup, but no second credit
    assert _count(session, CampaignCheckin) == 1
    assert "de-dup store unreachable" in caplog.text


def _redis_or_skip():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    _clear(client)
    return client


def test_a_redis_connection_dropped_between_pushes_is_replaced_and_the_push_still_deduplicated():
    """Redis restarted or closed an idle connection: the next command goes again on a new one."""
    admin = _redis_or_skip()
    store = RedisStore(RedisLink(REDIS_URL))
    assert store.keep(None, "dropped", "第一次", FIXED_NOW) is None
    (held,) = store.link.idle
    admin.execute_command("CLIENT", "KILL", "ID", store.link.command(b"CLIENT", b"ID"))
    assert store.keep(None, "dropped", "第二次", FIXED_NOW) == "第一次"  # the retry finds the first answer
    assert store.link.idle and store.link.idle[0] is not held
    store.begin(None, "claimed", FIXED_NOW)
    assert store.begin(None, "claimed", FIXED_NOW) == ""  # still at work: success
    store.settle("claimed", "答复")
    assert store.begin(None, "claimed", FIXED_NOW) == "答复"
    store.abandon("claimed")
    assert admin.get(REDIS_PREFIX + "claimed") is None
    assert admin.get(REDIS_PREFIX + "dropped").decode() == "第一次"
    assert 0 < admin.ttl(REDIS_PREFIX + "dropped") <= 3600
    _clear(admin)


def test_a_forked_worker_opens_its_own_redis_connections():
    """gunicorn forks its workers: a child never writes on its parent's sockets."""
    admin = _redis_or_skip()
    store = RedisStore(RedisLink(REDIS_URL))
    assert store.keep(None, "parent", "父", FIXED_NOW) is None
    parent_id = store.link.command(b"CLIENT", b"ID")
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answers with its connection's id and what it read
        try:
            child_id = store.link.command(b"CLIENT", b"ID")
            seen = store.keep(None, "parent", "子", FIXED_NOW)
            os.write(writer, f"{child_id} {seen}".encode())
        finally:
            os._exit(0)
    os.close(writer)
    child_id, seen = os.read(reader, 100).decode().split()
    os.waitpid(pid, 0)
    assert seen == "父" and int(child_id) != parent_id
    assert store.link.command(b"CLIENT", b"ID") == parent_id  # the parent's connection is untouched
    _clear(admin)


def test_the_redis_url_says_which_database_keeps_the_answers():
    admin = _redis_or_skip()
    other = redis.Redis.from_url("redis://127.0.0.1:6379/6")
    store = store_for(REDIS_URL)
    assert store is store_for(REDIS_URL)  # one store and its connections per URL
    assert store.keep(None, "which-db", "在 5 号库", FIXED_NOW) is None
    assert admin.get(REDIS_PREFIX + "which-db") is not None and other.get(REDIS_PREFIX + "which-db") is None
    _clear(admin)


def test_old_answers_are_purged(session):
    session.add_all([InboundMessage(dedupe_key="old", reply="", created_at=FIXED_NOW - timedelta(days=3)),
                     InboundMessage(dedupe_key="new", reply="x", created_at=FIXED_NOW - timedelta(hours=1))])
    session.flush()
    assert purge_answered_pushes(session, FIXED_NOW) == 1
    assert session.scalars(select(InboundMessage.dedupe_key)).all() == ["new"]


@pytest.mark.pg_only
@pytest.mark.parametrize("store_kind", ["database", "redis"])
def test_concurrent_deliveries_of_one_scan_credit_once(app, session, checkin_scene, store_kind):
    """Two workers get the same push at the same moment (a retry racing the original)."""
    if store_kind == "redis":
        app.config["REDIS_URL"] = REDIS_URL
        _clear(redis.Redis.from_url(REDIS_URL))
    app.extensions.pop("wechat_bot", None)
    push = load_push("event_scan", FromUserName="o-scanner", EventKey=checkin_scene, CreateTime=str(next(_times)))
    barrier, replies = threading.Barrier(4), []

    def deliver(params, body):
        client = app.test_client()
        barrier.wait()
        response = client.post("/wechat", query_string=params, data=body)
        fields = reply_fields(response, "safe")
        replies.append(fields["Content"] if fields else None)

    with freeze_time(FIXED_NOW):
        threads = [threading.Thread(target=deliver, args=signed_request(push, "safe")) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    confirmation = "签到成功：全国低碳日\n获得 20 分，当前积分 20 分。"
    assert confirmation in replies and len(replies) == 4
    # Each answer is the first one, or "success" while the first is still being handled (Redis claim).
    assert set(replies) <= {confirmation, None}
    assert _count(session, CampaignCheckin) == 1
    assert session.scalar(select(Account.balance).join(Resident).where(Resident.openid == "o-scanner")) == 20
    if store_kind == "redis":
        _clear(redis.Redis.from_url(REDIS_URL))


def test_the_purge_job_is_registered_and_runs(app, session):
    from api.scheduler import jobs_of, run_job

    assert jobs_of(app)["purge_answered_pushes"].trigger == "cron"
    session.add(InboundMessage(dedupe_key="stale", reply="", created_at=FIXED_NOW - timedelta(days=5)))
    session.commit()
    outcome = run_job(app, "purge_answered_pushes", FIXED_NOW)
    assert (outcome.status, outcome.result) == ("ok", {"removed": 1})
    assert _count(session, InboundMessage) == 0


@pytest.mark.pg_only
def test_a_balance_tap_with_the_redis_store_begins_no_transaction(app, client, session, store):
    """The claim in Redis, the balance in one autocommit statement: nothing for the database to commit."""
    if store != "redis":
        pytest.skip("Redis only: the database store writes the answer in a transaction")
    make_resident(session, "o-tapper")
    session.commit()
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    begun = []

    def heard(conn):
        begun.append(conn)

    event.listen(engine, "begin", heard)
    try:
        assert say(client, text("o-tapper", "余额"), "safe").startswith("您的积分：0 分")
        assert begun == []
        assert say(client, text("o-newcomer", "余额"), "safe").startswith("您的积分：0 分")  # registered first
        assert begun
    finally:
        event.remove(engine, "begin", heard)
