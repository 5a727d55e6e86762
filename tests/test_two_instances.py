"""Two app instances on one PostgreSQL and one Redis, as a city runs them behind a load balancer.

Each instance is its own process serving HTTP and running the scheduler, as every instance of a
deployment may. Checked across the two: a revocation on one holds on the other at once, the
sign-in throttle counts the attempts made on both, a WeChat retry that reaches the other instance
is answered once and credits once, and each scheduled job runs once per due time.

Runs on PostgreSQL (TEST_DATABASE_URL), with Redis (TEST_REDIS_URL, db 11 by default) for the
Redis variants; without them it skips, except that with CI set a missing Redis fails the run.
"""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.dedupe import REDIS_PREFIX, dedupe_key
from carbon_credit.rules.install import install_default_rule_set
from carbon_credit.ingest import ingest_transit_file
from carbon_credit.models import Account, AuditLog, Credit, JobRun, Resident
from carbon_credit.timeutil import TZ, utcnow

from bot.simulator import read_reply

from .bot_support import crypto as safe_mode_crypto
from .bot_support import load_push, signed_request
from .conftest import TEST_WECHAT
from .factories import STAFF_PASSWORD, make_community, make_resident, make_staff
from .test_signin_throttle import REDIS_URL

pytestmark = pytest.mark.pg_only
ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key"  # the app fixture's, so resident_token mints tokens both servers accept
CARD_KEY = "c" * 32
TICK = "two_instances_tick"
# An instance: the app with one more job (every second, writing an audit row), its scheduler, and its server.
# SIGTERM stops the scheduler after the job in hand, so what the test reads afterwards is complete.
SERVE = f"""
import os, signal, sys
from werkzeug.serving import run_simple
from api import create_app
from api.extensions import db
from api.scheduler import jobs_of, start_background_scheduler
from carbon_credit.staff.audit import audit

def tick(app, now):
    audit(db.session, now, "test.tick", "job", None, actor_kind="system", pid=os.getpid())

app = create_app()
jobs_of(app).add("{TICK}", tick, "interval", seconds=1)
scheduler = start_background_scheduler(app)

def stop(signum, frame):
    scheduler.shutdown(wait=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the server exited: {child.stderr.read().decode(errors='replace')}")
        try:
            requests.get(f"{url}/ping", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError("the server did not come up within 60 s")


def redis_client():
    """The tests' Redis; skipped without one, except in CI, which must run these tests."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"the two-instance tests must run in CI: no Redis at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


class Instances(list):
    """The instances' base URLs; ``stop()`` ends them (their schedulers finish the job in hand first)."""

    def __init__(self):
        super().__init__()
        self.children: list[subprocess.Popen] = []

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=10)


@pytest.fixture(params=["redis", "database"])
def servers(request, db_url):
    """Two production-mode instances on the test's PostgreSQL database; throttle and WeChat de-dup in Redis
    or in the database."""
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": SECRET, "CARD_HASH_KEY": CARD_KEY,
           "PHONE_HASH_KEY": "p" * 32, "OPENID_HASH_KEY": "o" * 32, "SIGN_IN_MAX_PER_ACCOUNT": "3",
           "SIGN_IN_REDIS_PREFIX": f"test-signin:{uuid.uuid4().hex}:",
           **{name: value for name, value in TEST_WECHAT.items() if name != "WECHAT_SECRET"}}
    env.pop("REDIS_URL", None)
    if request.param == "redis":
        redis_client()
        env["REDIS_URL"] = REDIS_URL
    instances = Instances()
    try:
        for _ in range(2):
            port = _free_port()
            instances.children.append(subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=ROOT, env=env,
                                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            instances.append(f"http://127.0.0.1:{port}")
        for url, child in zip(instances, instances.children):
            _wait_until_up(url, child)
        yield instances
    finally:
        instances.stop()
        for child in instances.children:
            child.stderr.close()
        if request.param == "redis":
            client = redis_client()
            for key in client.scan_iter(f"{env['SIGN_IN_REDIS_PREFIX']}*"):
                client.delete(key)


def sign_in(url, username, password=STAFF_PASSWORD):
    return requests.post(f"{url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10)


def bearer(response) -> dict:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def me(url, headers):
    return requests.get(f"{url}/api/v1/auth/me", headers=headers, timeout=10)


def test_a_staff_token_revoked_on_one_server_is_refused_by_the_other_at_once(servers, session):
    one, other = servers
    make_staff(session, "admin", "admin")
    worker = make_staff(session, "worker", "worker", communities=[make_community(session)])
    session.commit()
    admin = bearer(sign_in(one, "admin"))
    worker_token = bearer(sign_in(one, "worker"))
    assert me(other, worker_token).status_code == 200 and me(other, admin).status_code == 200

    assert requests.post(f"{one}/api/v1/staff/{worker.id}/disable", json={"reason": "离职"}, headers=admin,
                         timeout=10).status_code == 200
    refused = me(other, worker_token)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"

    assert requests.post(f"{other}/api/v1/auth/logout", headers=admin, timeout=10).status_code == 204
    assert me(one, admin).json()["code"] == "token_revoked"


def test_a_resident_blocked_on_one_server_is_refused_by_the_other_at_once(servers, session, resident_token):
    one, other = servers
    make_staff(session, "admin", "admin")
    resident = make_resident(session, "o-two-servers")
    session.commit()
    token = {"Authorization": f"Bearer {resident_token(resident)}"}
    assert requests.get(f"{other}/api/v1/me/balance", headers=token, timeout=10).status_code == 200
    admin = bearer(sign_in(one, "admin"))
    assert requests.post(f"{one}/api/v1/residents/{resident.id}/block", json={"reason": "盗卡"}, headers=admin,
                         timeout=10).status_code == 200
    refused = requests.get(f"{other}/api/v1/me/balance", headers=token, timeout=10)
    assert refused.status_code == 401 and refused.json()["code"] == "resident_blocked"
    assert requests.post(f"{other}/api/v1/residents/{resident.id}/unblock", json={"reason": "核实无误"},
                         headers=admin, timeout=10).status_code == 200
    revoked = requests.get(f"{one}/api/v1/me/balance", headers=token, timeout=10)  # the block raised its epoch
    assert revoked.status_code == 401 and revoked.json()["code"] == "token_revoked"


def test_the_sign_in_throttle_counts_the_attempts_on_both_servers(servers, session):
    one, other = servers
    make_staff(session, "admin", "admin")
    session.commit()
    answers = [sign_in(url, "admin", "wrong password").status_code for url in (one, other, one)]
    assert answers == [401, 401, 401]
    refused = sign_in(other, "admin")
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_sign_in_attempts"
    assert int(refused.headers["Retry-After"]) > 0


def _unmatched_trip(session, tmp_path, card: str) -> None:
    """Yesterday's metro trip of a card nobody has bound yet: binding it within the claim window credits it."""
    now = utcnow()
    install_default_rule_set(session, now, now - timedelta(days=30))
    board = (now - timedelta(days=1)).astimezone(TZ).replace(hour=8, minute=0, second=0, microsecond=0)
    trips = tmp_path / "trips.csv"
    trips.write_text("trip_id,card_no,mode,board_time,alight_time,distance_km\n"
                     f"t-two-instances,{card},metro,{board:%Y-%m-%d %H:%M:%S},"
                     f"{board + timedelta(minutes=25):%Y-%m-%d %H:%M:%S},10\n", encoding="utf-8")
    ingest_transit_file(session, str(trips), now, key=CARD_KEY)
    session.commit()


def _deliver(url: str, params: dict, body: bytes) -> str | None:
    response = requests.post(f"{url}/wechat", params=params, data=body, headers={"Content-Type": "text/xml"},
                             timeout=30)
    assert response.status_code == 200, response.text
    fields = read_reply(response.text, safe_mode_crypto())
    return fields["Content"] if fields else None


def _forget_push(push: str) -> None:
    """Remove this push's Redis de-dup key (the Redis variant leaves one; the database variant's rows are truncated)."""
    import redis
    import xmltodict

    try:
        redis.Redis.from_url(REDIS_URL).delete(REDIS_PREFIX + dedupe_key(xmltodict.parse(push)["xml"]))
    except redis.RedisError:
        pass


def test_a_wechat_retry_that_reaches_the_other_instance_is_answered_once_and_credits_once(request, servers,
                                                                                          session, tmp_path):
    one, other = servers
    card = f"3100{random.randrange(10**11, 10**12)}"
    _unmatched_trip(session, tmp_path, card)
    make_resident(session, "o-two-instances", now=utcnow())
    session.commit()
    push = load_push("text", FromUserName="o-two-instances", Content=f"绑卡 {card}",
                     MsgId=str(random.randrange(10**17, 10**18)))
    params, body = signed_request(push, "safe")
    request.addfinalizer(lambda: _forget_push(push))

    start, together = threading.Barrier(2), {}

    def at_once(url):
        start.wait()
        together[url] = _deliver(url, params, body)

    threads = [threading.Thread(target=at_once, args=(url,)) for url in (one, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    retries = [_deliver(url, params, body) for url in (other, one)]  # WeChat's later retries, to either instance

    confirmation = retries[0]
    assert confirmation.startswith(f"已绑定尾号 {card[-4:]} 的交通卡。已补记这张卡最近 7 天的 1 次乘车")
    assert retries == [confirmation, confirmation]
    # At the same moment, one instance handles the push; the other sends the same answer, or "success"
    # while the first is still at work (the Redis claim), and WeChat keeps the answer it got.
    assert confirmation in together.values() and set(together.values()) <= {confirmation, None}
    session.rollback()
    credits = session.execute(select(Credit.points)).scalars().all()
    assert len(credits) == 1 and credits[0] > 0
    balance = session.scalar(select(Account.balance).join(Resident).where(Resident.openid == "o-two-instances"))
    assert balance == credits[0] and f"共 {balance} 分" in confirmation


def test_each_scheduled_job_runs_once_per_due_time_across_the_instances(servers, session):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until several due times have passed, however busy the machine is
        session.rollback()
        if session.scalar(select(func.count()).select_from(JobRun).where(JobRun.name == TICK,
                                                                         JobRun.status == "ok")) >= 4:
            break
        time.sleep(0.5)
    servers.stop()  # each scheduler finishes the run in hand, so every run below is complete
    session.rollback()
    runs = session.execute(select(JobRun.due_at, JobRun.status).where(JobRun.name == TICK)).all()
    ticks = session.execute(select(AuditLog.detail).where(AuditLog.verb == "test.tick")).scalars().all()
    due_times = [due for due, status in runs if status == "ok"]
    assert len(due_times) >= 4 and None not in due_times
    assert len(set(due_times)) == len(due_times)
    assert len(ticks) == len(due_times)  # the job itself ran once per due time, not once per instance
    assert {status for _, status in runs} <= {"ok", "skipped"}
    doubled = session.execute(select(JobRun.name, JobRun.due_at).where(JobRun.due_at.is_not(None))
                              .group_by(JobRun.name, JobRun.due_at).having(func.count() > 1)).all()
    assert doubled == []
