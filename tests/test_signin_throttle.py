"""The staff sign-in throttle: per account and per address, in the database or in Redis."""
from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carbon_credit.models import SignInCounter
from carbon_credit.staff.signin import (
    DatabaseStore,
    InvalidCredentials,
    RedisStore,
    SignInThrottled,
    ThrottlePolicy,
    sign_in_staff,
    throttle_store,
)

from .api_helpers import assert_error
from .factories import FIXED_NOW, STAFF_PASSWORD, make_staff

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
POLICY = ThrottlePolicy(per_account=3, per_address=5, window_seconds=600)


def _check(stored_hash, password):
    from werkzeug.security import check_password_hash

    return stored_hash is not None and check_password_hash(stored_hash, password)


def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


@pytest.fixture(params=["database", "redis"])
def store(request, session):
    """Both stores; Redis keys get a prefix of their own and are removed afterwards."""
    if request.param == "database":
        yield throttle_store(session, None)
        return
    client = redis_client()
    prefix = f"test-signin:{uuid.uuid4().hex}:"
    yield RedisStore(client, DatabaseStore(session.get_bind()), prefix)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def attempt(session, store, username, password, *, address="10.0.0.1", now=FIXED_NOW):
    try:
        return sign_in_staff(session, now, username, password, address=address, check_password=_check,
                             store=store, policy=POLICY)
    except (InvalidCredentials, SignInThrottled) as error:
        return error


def test_an_account_is_locked_after_its_limit_even_for_the_right_password(session, store):
    make_staff(session, "zhao", "admin")
    session.commit()
    failures = [attempt(session, store, "zhao", "wrong password", address=f"10.0.0.{i}") for i in range(3)]
    assert all(isinstance(f, InvalidCredentials) for f in failures)
    locked = attempt(session, store, "zhao", STAFF_PASSWORD, address="10.0.0.9", now=FIXED_NOW + timedelta(seconds=1))
    assert isinstance(locked, SignInThrottled)
    # FIXED_NOW is 02:00 UTC, a window boundary: the 10-minute window has 599 seconds left.
    assert locked.status == 429 and locked.retry_after == 599 and locked.headers == {"Retry-After": "599"}
    later = attempt(session, store, "zhao", STAFF_PASSWORD, now=FIXED_NOW + timedelta(minutes=10))
    assert later.username == "zhao"


def test_an_address_is_locked_after_its_limit_across_usernames(session, store):
    make_staff(session, "qian", "admin")
    session.commit()
    for i in range(5):
        assert isinstance(attempt(session, store, f"guess{i}", "x"), InvalidCredentials)
    assert isinstance(attempt(session, store, "qian", STAFF_PASSWORD), SignInThrottled)
    assert attempt(session, store, "qian", STAFF_PASSWORD, address="10.0.0.2").username == "qian"


def test_a_success_clears_its_account_but_not_other_accounts_failures_from_the_address(session, store):
    make_staff(session, "sun", "admin")
    session.commit()
    for _ in range(2):
        assert isinstance(attempt(session, store, "sun", "wrong"), InvalidCredentials)
    for i in range(2):
        assert isinstance(attempt(session, store, f"other{i}", "x"), InvalidCredentials)
    assert attempt(session, store, "sun", STAFF_PASSWORD).username == "sun"  # account 3 of 3, address 5 of 5
    # The address still holds four failures: one more is allowed, the next is refused.
    assert isinstance(attempt(session, store, "other2", "x"), InvalidCredentials)
    assert isinstance(attempt(session, store, "sun", STAFF_PASSWORD), SignInThrottled)
    # sun's own failures were forgiven: from another address sun signs in at once.
    assert attempt(session, store, "sun", STAFF_PASSWORD, address="10.0.0.2").username == "sun"


def test_a_disabled_account_and_an_unknown_name_fail_alike_and_count(session, store):
    make_staff(session, "li", "worker", active=False)
    session.commit()
    assert isinstance(attempt(session, store, "nobody\x00", "x"), InvalidCredentials)
    for _ in range(3):
        assert isinstance(attempt(session, store, "li", STAFF_PASSWORD), InvalidCredentials)
    assert isinstance(attempt(session, store, "li", STAFF_PASSWORD), SignInThrottled)


def test_the_database_store_keeps_only_the_current_window(session):
    store = throttle_store(session, None)
    attempt(session, store, "zhou", "x")
    attempt(session, store, "zhou", "x", now=FIXED_NOW + timedelta(minutes=25))
    session.rollback()
    rows = session.scalars(select(SignInCounter)).all()
    assert {r.count for r in rows} == {1} and len(rows) == 2  # one account, one address, both restarted
    assert all(not r.key.endswith("zhou") and "10.0.0.1" not in r.key for r in rows)


def test_a_failed_count_survives_the_rollback_of_the_callers_transaction(session):
    store = throttle_store(session, None)
    attempt(session, store, "wu", "x")
    session.rollback()
    assert session.scalar(select(func.sum(SignInCounter.count))) == 2


# --- through the API -------------------------------------------------------------------------------

@pytest.fixture
def throttled_app(app):
    app.config.update(SIGN_IN_MAX_PER_ACCOUNT=3, SIGN_IN_MAX_PER_ADDRESS=5)
    return app


def test_the_api_answers_429_with_retry_after_and_the_error_envelope(throttled_app, session):
    client = throttled_app.test_client()
    make_staff(session, "admin", "admin")
    session.commit()
    wrong = {"username": "admin", "password": "wrong password"}
    answers = [client.post("/api/v1/auth/token", json=wrong) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 401]
    refused = client.post("/api/v1/auth/token", json={"username": "admin", "password": STAFF_PASSWORD})
    assert_error(refused, 429, "too_many_sign_in_attempts")
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    other_address = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"},
                                environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert_error(other_address, 401, "invalid_credentials")


def test_the_api_throttles_one_address_trying_many_usernames(throttled_app, session):
    client = throttled_app.test_client()
    make_staff(session, "admin", "admin")
    session.commit()
    for i in range(5):
        assert client.post("/api/v1/auth/token", json={"username": f"u{i}", "password": "p"}).status_code == 401
    good = {"username": "admin", "password": STAFF_PASSWORD}
    assert_error(client.post("/api/v1/auth/token", json=good), 429, "too_many_sign_in_attempts")
    assert client.post("/api/v1/auth/token", json=good, environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 200


def test_the_openapi_document_names_the_429(client):
    responses = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "Retry-After" in responses["429"]["headers"]


# --- behind a load balancer ------------------------------------------------------------------------

def _app_behind(db_url, hops: int):
    from api import create_app

    from .conftest import TEST_WECHAT

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test-secret-key",
                       "REDIS_URL": None, "PROXY_HOPS": hops, "SIGN_IN_MAX_PER_ACCOUNT": 50,
                       "SIGN_IN_MAX_PER_ADDRESS": 3, **TEST_WECHAT})


def _sign_in(client, forwarded_for: str):
    return client.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong"},
                       headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": "10.0.0.2"})


def test_behind_one_balancer_each_client_address_is_counted_on_its_own(db_url, session):
    client = _app_behind(db_url, 1).test_client()
    # The balancer (10.0.0.2) appends the address it saw; whatever the client put before it is not trusted.
    for _ in range(3):
        assert _sign_in(client, "198.51.100.1").status_code == 401
    assert_error(_sign_in(client, "198.51.100.1"), 429, "too_many_sign_in_attempts")
    assert_error(_sign_in(client, "203.0.113.9, 198.51.100.1"), 429, "too_many_sign_in_attempts")
    assert _sign_in(client, "198.51.100.2").status_code == 401  # another resident behind the same balancer
    # Two clients' counts (their addresses are stored as digests), none for the balancer's own address.
    assert session.scalar(select(func.count()).where(SignInCounter.key.like("address:%"))) == 2


def test_without_proxy_hops_the_forwarded_header_is_ignored(db_url, session):
    client = _app_behind(db_url, 0).test_client()
    for n in range(3):
        assert _sign_in(client, f"198.51.100.{n}").status_code == 401
    # A client cannot leave the throttle by inventing a new X-Forwarded-For for each try.
    assert_error(_sign_in(client, "198.51.100.77"), 429, "too_many_sign_in_attempts")
    assert session.scalar(select(func.count()).where(SignInCounter.key.like("address:%"))) == 1
