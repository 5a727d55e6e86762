"""Staff sign-in, throttled per account and per address.

Every face that signs staff in with a password calls the one function here, so
the API's ``POST /api/v1/auth/token`` and the browser console's sign-in form
share the counts and the lock-out::

    staff = sign_in_staff(
        db.session, utcnow(), username, password,
        address=request.remote_addr,
        check_password=check_password,          # the face's hash check, see below
        store=throttle_store(db.session, app.config["REDIS_URL"]),
        policy=policy_from_config(app.config),
    )

``check_password(stored_hash, password) -> bool`` is the face's business (the
domain never hashes); it is called with ``stored_hash=None`` for an unknown
username and should then spend as long as for a known one (check against a
dummy hash), so the answer time does not tell which usernames exist.

How counting works: each attempt is counted *before* the password is checked,
in fixed windows (``window_seconds``), once for the account and once for the
address; an attempt over either limit is refused with ``SignInThrottled``
(429, ``Retry-After`` = the seconds left in the window) without checking the
password. Counting first means a burst of parallel guesses cannot slip past the
limit. A successful sign-in clears its account's count and takes back only its
own attempt from the address, so the failures of other accounts from that
address still count.

Stores: Redis (``REDIS_URL``) shares the counts between every instance; without
it the database holds them (table ``sign_in_counters``), written on a
connection of their own and committed at once, so a failed sign-in's count
stays whatever happens to the request's transaction. A Redis outage falls back
to the database rather than letting guesses through or refusing everyone.
"""
from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional, Protocol

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from carbon_credit.errors import DomainError
from carbon_credit.models import SignInCounter, Staff

log = logging.getLogger(__name__)
REDIS_PREFIX = "signin:"


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 401
    message = "Unknown username or wrong password."
    headers = {"WWW-Authenticate": "Bearer"}


class SignInThrottled(DomainError):
    code = "too_many_sign_in_attempts"
    status = 429
    message = "Too many sign-in attempts; try again later."

    def __init__(self, retry_after: int):
        super().__init__(f"Too many sign-in attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class ThrottlePolicy:
    """Attempts allowed per window: per account (username) and per address."""

    per_account: int = 10
    per_address: int = 50
    window_seconds: int = 900

    def window_start(self, now: datetime) -> datetime:
        seconds = math.floor(now.timestamp() / self.window_seconds) * self.window_seconds
        return datetime.fromtimestamp(seconds, tz=timezone.utc)

    def retry_after(self, now: datetime) -> int:
        end = self.window_start(now) + timedelta(seconds=self.window_seconds)
        return max(1, math.ceil((end - now).total_seconds()))


DEFAULT_POLICY = ThrottlePolicy()


def policy_from_config(config) -> ThrottlePolicy:
    """The policy from ``SIGN_IN_MAX_PER_ACCOUNT``, ``SIGN_IN_MAX_PER_ADDRESS``, ``SIGN_IN_WINDOW_SECONDS``."""
    return ThrottlePolicy(
        per_account=int(config.get("SIGN_IN_MAX_PER_ACCOUNT") or DEFAULT_POLICY.per_account),
        per_address=int(config.get("SIGN_IN_MAX_PER_ADDRESS") or DEFAULT_POLICY.per_address),
        window_seconds=int(config.get("SIGN_IN_WINDOW_SECONDS") or DEFAULT_POLICY.window_seconds),
    )


class ThrottleStore(Protocol):
    """Counts per key within one window; a new window starts every key at zero."""

    def hit(self, key: str, window_start: datetime, ttl: int) -> int:
        """Add one attempt and return the key's count in this window (atomically)."""

    def take_back(self, key: str, window_start: datetime) -> None:
        """Remove one attempt of this window again."""

    def clear(self, key: str, window_start: datetime) -> None:
        """Forget the key's count in this window."""


def counter_key(kind: str, value: str) -> str:
    """``account:<sha256>`` / ``address:<sha256>``: any text (even a NUL byte) makes a safe key."""
    digest = hashlib.sha256(value.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:{digest[:64]}"


def sign_in_staff(session: Session, now: datetime, username: str, password: str, *, address: Optional[str],
                  check_password: Callable[[Optional[str], str], bool], store: ThrottleStore,
                  policy: ThrottlePolicy = DEFAULT_POLICY) -> Staff:
    """The active staff member with these credentials, unless the account or address is throttled.

    Raises SignInThrottled (429) over a limit, InvalidCredentials (401) for every other failure
    (unknown username, wrong password, disabled account alike). Writes nothing in ``session``.
    """
    account, origin = counter_key("account", username), counter_key("address", address or "unknown")
    window = policy.window_start(now)
    over = [store.hit(account, window, policy.window_seconds) > policy.per_account,
            store.hit(origin, window, policy.window_seconds) > policy.per_address]
    if any(over):
        raise SignInThrottled(policy.retry_after(now))
    staff = _staff_named(session, username)
    verified = check_password(staff.password_hash if staff is not None else None, password)
    if staff is None or not verified or not staff.active:
        raise InvalidCredentials()
    store.clear(account, window)
    store.take_back(origin, window)
    return staff


def _staff_named(session: Session, username: str) -> Optional[Staff]:
    if "\x00" in username:  # no stored username holds one, and PostgreSQL refuses it in a query
        return None
    return session.scalar(select(Staff).where(Staff.username == username))


class DatabaseStore:
    """Counts in ``sign_in_counters``, each change committed at once on its own connection."""

    def __init__(self, engine):
        self.engine = engine

    def hit(self, key: str, window_start: datetime, ttl: int) -> int:
        table = SignInCounter.__table__
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.window_start < window_start))
            insert = _dialect_insert(self.engine)(table).values(key=key, window_start=window_start, count=1)
            same_window = table.c.window_start == insert.excluded.window_start
            upsert = insert.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={"count": case((same_window, table.c.count + 1), else_=1),
                      "window_start": insert.excluded.window_start},
            ).returning(table.c.count)
            return conn.execute(upsert).scalar_one()

    def take_back(self, key: str, window_start: datetime) -> None:
        table = SignInCounter.__table__
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.key == key, table.c.window_start == window_start,
                                             table.c.count > 0).values(count=table.c.count - 1))

    def clear(self, key: str, window_start: datetime) -> None:
        table = SignInCounter.__table__
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.key == key))


def _dialect_insert(engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


# Decrement only a count that still exists, so a late take-back never leaves a key without expiry.
_TAKE_BACK = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


class RedisStore:
    """Counts in Redis (INCR with an expiry), shared by every instance; the database stands in when Redis fails."""

    def __init__(self, client, fallback: DatabaseStore, prefix: str = REDIS_PREFIX):
        self.client, self.fallback, self.prefix = client, fallback, prefix

    def _key(self, key: str, window_start: datetime) -> str:
        return f"{self.prefix}{key}:{int(window_start.timestamp())}"

    def hit(self, key: str, window_start: datetime, ttl: int) -> int:
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(self._key(key, window_start))
            pipe.expire(self._key(key, window_start), ttl)
            return int(pipe.execute()[0])
        except Exception as error:  # redis.RedisError and socket errors alike
            log.warning("sign-in throttle: Redis failed (%s); counting in the database", error)
            return self.fallback.hit(key, window_start, ttl)

    def take_back(self, key: str, window_start: datetime) -> None:
        self._quietly(lambda: self.client.eval(_TAKE_BACK, 1, self._key(key, window_start)))

    def clear(self, key: str, window_start: datetime) -> None:
        self._quietly(lambda: self.client.delete(self._key(key, window_start)))

    @staticmethod
    def _quietly(call) -> None:
        try:
            call()
        except Exception as error:
            log.warning("sign-in throttle: Redis failed (%s)", error)


_redis_clients: dict[str, object] = {}


def throttle_store(session: Session, redis_url: Optional[str], *, prefix: str = REDIS_PREFIX) -> ThrottleStore:
    """Redis when ``redis_url`` is set (clients shared per URL), the session's database otherwise."""
    database = DatabaseStore(session.get_bind())
    if not redis_url:
        return database
    client = _redis_clients.get(redis_url)
    if client is None:
        import redis

        client = _redis_clients.setdefault(
            redis_url, redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1))
    return RedisStore(client, database, prefix)
