"""Two server processes on one PostgreSQL (and one Redis): a revocation on one holds on the other at once,
and the sign-in throttle counts the attempts made on both."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from .factories import STAFF_PASSWORD, make_community, make_resident, make_staff
from .test_signin_throttle import REDIS_URL, redis_client

pytestmark = pytest.mark.pg_only
ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key"  # the app fixture's, so resident_token mints tokens both servers accept
SERVE = ("import sys; from werkzeug.serving import run_simple; from api import create_app; "
         "run_simple('127.0.0.1', int(sys.argv[1]), create_app(), threaded=True)")


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


@pytest.fixture(params=["redis", "database"])
def servers(request, db_url):
    """Two production-mode servers on the test's PostgreSQL database; the throttle in Redis or in the database."""
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": SECRET, "CARD_HASH_KEY": "c" * 32,
           "PHONE_HASH_KEY": "p" * 32, "OPENID_HASH_KEY": "o" * 32, "SIGN_IN_MAX_PER_ACCOUNT": "3",
           "SIGN_IN_REDIS_PREFIX": f"test-signin:{uuid.uuid4().hex}:"}
    env.pop("REDIS_URL", None)
    if request.param == "redis":
        redis_client()
        env["REDIS_URL"] = REDIS_URL
    children, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            child = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            children.append(child)
            urls.append(f"http://127.0.0.1:{port}")
        for url, child in zip(urls, children):
            _wait_until_up(url, child)
        yield urls
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=10)
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


def test_the_sign_in_throttle_counts_the_attempts_on_both_servers(servers, session):
    one, other = servers
    make_staff(session, "admin", "admin")
    session.commit()
    answers = [sign_in(url, "admin", "wrong password").status_code for url in (one, other, one)]
    assert answers == [401, 401, 401]
    refused = sign_in(other, "admin")
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_sign_in_attempts"
    assert int(refused.headers["Retry-After"]) > 0
