"""Shared pieces of the outbound WeChat tests: recorded API answers, clients, stores."""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
import responses
from responses import matchers

from bot.outbound.client import STABLE_TOKEN_URL, SharedTokenClient
from bot.outbound.token_store import DatabaseTokenStore, RedisTokenStore

FIXTURES = Path(__file__).parent / "fixtures" / "wechat" / "api"
API = "https://api.weixin.qq.com/cgi-bin/"
TEMPLATE_SEND = API + "message/template/send"
MASS_SEND = API + "message/mass/send"
MENU_CREATE = API + "menu/create"
QRCODE_CREATE = API + "qrcode/create"
APPID, SECRET = "wx0000000000test", "test-app-secret"
TIMEOUT = 10.0  # seconds, the configuration's default WECHAT_API_TIMEOUT
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/6")


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


TOKEN = recorded("stable_token")["access_token"]
TOKEN_2 = recorded("stable_token_refreshed")["access_token"]


class Clock:
    """Epoch seconds that a test moves by hand."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now


def stable_token_body(force: bool = False, appid: str = APPID, secret: str = SECRET) -> dict:
    return {"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force}


def add_stable_token(rsps, name: str = "stable_token", *, force: bool = False):
    """Serve a recorded stable_token answer, only to the exact body the client must send."""
    return rsps.post(STABLE_TOKEN_URL, json=recorded(name), match=[matchers.json_params_matcher(stable_token_body(force))])


def add_api(rsps, url: str, name: str, token: str | None = TOKEN):
    match = [matchers.query_param_matcher({"access_token": token})] if token else []
    return rsps.post(url, json=recorded(name), match=match)


def calls_to(rsps, url: str) -> list:
    return [c for c in rsps.calls if c.request.url.split("?")[0] == url]


def body_of(call) -> dict:
    return json.loads(call.request.body)


def db_client(engine, clock=None) -> SharedTokenClient:
    return SharedTokenClient(APPID, SECRET, DatabaseTokenStore(engine, clock=clock or Clock()), timeout=TIMEOUT)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def redis_conn():
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex}"
    yield conn, prefix
    for key in conn.scan_iter(f"{prefix}:*"):
        conn.delete(key)
    conn.close()


def redis_store(redis_conn, clock=None) -> RedisTokenStore:
    conn, prefix = redis_conn
    return RedisTokenStore(conn, prefix=prefix, clock=clock or Clock())


@pytest.fixture
def offline_app(db_url):
    """The app as the demo configures it: the demo's stand-in WeChat credentials, so WeChat is offline."""
    from api import create_app
    from api.config import DEMO_WECHAT
    from api.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test-secret-key",
                      "REDIS_URL": None, **DEMO_WECHAT})
    yield app
    with app.app_context():
        db.session.remove()
