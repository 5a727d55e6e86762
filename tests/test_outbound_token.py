"""The shared access token: stable_token, one fetch for every process, one forced refresh on 40001."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from bot.outbound.client import STABLE_TOKEN_URL, SharedTokenClient
from bot.outbound.token_store import DatabaseTokenStore, token_key
from carbon_credit.models import WeChatKV

from .outbound_support import (
    APPID, SECRET, TEMPLATE_SEND, TIMEOUT, TOKEN, TOKEN_2, Clock, add_api, add_stable_token, body_of, calls_to,
    db_client, redis_conn, redis_store, rsps,  # noqa: F401  (fixtures)
)

SEND = ("o-openid-1", "tpl-credit", {"thing1": {"value": "地铁出行"}})


def test_two_clients_share_one_token_fetched_once_from_the_database(engine, rsps):
    add_stable_token(rsps)
    first, second = db_client(engine), db_client(engine)
    assert first.access_token == TOKEN
    assert second.access_token == TOKEN
    assert len(calls_to(rsps, STABLE_TOKEN_URL)) == 1
    assert body_of(rsps.calls[0]) == {"grant_type": "client_credential", "appid": APPID, "secret": SECRET,
                                      "force_refresh": False}
    assert rsps.calls[0].request.method == "POST"


def test_the_database_keeps_the_token_with_its_expiry(session, engine, rsps):
    add_stable_token(rsps)
    clock = Clock(1_780_000_000)
    db_client(engine, clock).access_token
    row = session.scalar(select(WeChatKV).where(WeChatKV.key == token_key(APPID)))
    assert row.value == TOKEN
    assert row.expires_at.timestamp() == pytest.approx(1_780_000_000 + 7200)


def test_two_clients_share_one_token_fetched_once_from_redis(redis_conn, rsps):
    add_stable_token(rsps)
    store_a, store_b = redis_store(redis_conn), redis_store(redis_conn)
    first = SharedTokenClient(APPID, SECRET, store_a, timeout=TIMEOUT)
    second = SharedTokenClient(APPID, SECRET, store_b, timeout=TIMEOUT)
    assert first.access_token == TOKEN == second.access_token
    assert len(calls_to(rsps, STABLE_TOKEN_URL)) == 1
    conn, prefix = redis_conn
    assert 7000 < conn.ttl(f"{prefix}:{token_key(APPID)}") <= 7200


def _expiry_is_refreshed(store, clock, rsps):
    add_stable_token(rsps)
    client = SharedTokenClient(APPID, SECRET, store, timeout=TIMEOUT)
    assert client.access_token == TOKEN
    clock.now += 7200 - 200  # inside the five-minute margin: refresh now, not after it died
    rsps.replace("POST", STABLE_TOKEN_URL, json={"access_token": TOKEN_2, "expires_in": 7200})
    assert client.access_token == TOKEN_2
    assert client.access_token == TOKEN_2
    assert len(calls_to(rsps, STABLE_TOKEN_URL)) == 2


def test_a_token_near_its_expiry_is_fetched_again_once_from_the_database(engine, rsps):
    clock = Clock(1_780_000_000)
    _expiry_is_refreshed(DatabaseTokenStore(engine, clock=clock), clock, rsps)


def test_a_token_near_its_expiry_is_fetched_again_once_from_redis(redis_conn, rsps):
    clock = Clock(1_780_000_000)
    _expiry_is_refreshed(redis_store(redis_conn, clock), clock, rsps)


def test_40001_forces_one_refresh_and_retries_the_call_once(engine, rsps):
    add_stable_token(rsps)
    add_stable_token(rsps, "stable_token_refreshed", force=True)
    add_api(rsps, TEMPLATE_SEND, "error_40001", token=TOKEN)
    add_api(rsps, TEMPLATE_SEND, "template_send_ok", token=TOKEN_2)
    client = db_client(engine)
    answer = client.message.send_template(*SEND)
    assert answer["msgid"] == 2893658164380401665
    token_calls = calls_to(rsps, STABLE_TOKEN_URL)
    assert [body_of(c)["force_refresh"] for c in token_calls] == [False, True]
    assert len(calls_to(rsps, TEMPLATE_SEND)) == 2
    # The refreshed token is the shared one now.
    assert db_client(engine).access_token == TOKEN_2


def test_a_token_refused_twice_raises_after_one_retry(engine, rsps):
    add_stable_token(rsps)
    add_stable_token(rsps, "stable_token_refreshed", force=True)
    add_api(rsps, TEMPLATE_SEND, "error_42001", token=None)
    with pytest.raises(WeChatClientException) as caught:
        db_client(engine).message.send_template(*SEND)
    assert caught.value.errcode == 42001
    assert len(calls_to(rsps, TEMPLATE_SEND)) == 2
    assert len(calls_to(rsps, STABLE_TOKEN_URL)) == 2


def test_a_forced_refresh_takes_the_token_another_process_already_renewed(engine, rsps):
    clock = Clock()
    store = DatabaseTokenStore(engine, clock=clock)
    add_stable_token(rsps)
    assert store.refresh(APPID, SharedTokenClient(APPID, SECRET, store, timeout=TIMEOUT)._fetch_stable_token) == TOKEN
    # This process saw TOKEN_2 refused... but the store holds TOKEN: someone refreshed already.
    fetched = []
    token = store.refresh(APPID, lambda force: fetched.append(force) or ("never", 7200), force=True, stale=TOKEN_2)
    assert token == TOKEN and fetched == []
    # Refused token == stored token: a real forced refresh.
    token = store.refresh(APPID, lambda force: fetched.append(force) or (TOKEN_2, 7200), force=True, stale=TOKEN)
    assert token == TOKEN_2 and fetched == [True]


def test_token_errors_from_stable_token_say_what_is_wrong(engine, rsps):
    rsps.post(STABLE_TOKEN_URL, json={"errcode": 40164, "errmsg": "invalid ip 203.0.113.7, not in whitelist"})
    with pytest.raises(WeChatClientException) as caught:
        db_client(engine).access_token
    assert caught.value.errcode == 40164


def _race(store, workers: int = 4) -> list:
    """Several processes find no token at once; count how often WeChat is asked."""
    fetched, results = [], []
    barrier = threading.Barrier(workers)

    def fetch(force):
        fetched.append(force)
        time.sleep(0.2)
        return TOKEN, 7200

    def worker():
        barrier.wait()
        results.append(store.refresh(APPID, fetch))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [TOKEN] * workers
    return fetched


def test_concurrent_refreshes_ask_wechat_once_with_redis(redis_conn):
    assert _race(redis_store(redis_conn)) == [False]


@pytest.mark.pg_only
def test_concurrent_refreshes_ask_wechat_once_with_the_database(engine):
    assert _race(DatabaseTokenStore(engine)) == [False]
