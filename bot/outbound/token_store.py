"""One access token for every process, kept in Redis or in the database.

WeChat's access token lives 7200 s. Each process fetching its own would, with
the old ``GET /cgi-bin/token``, invalidate the others' tokens; even with
``stable_token`` every process would spend quota. So the token and its expiry
live in one shared store, and refreshing happens under a lock: the first
process that finds the token stale fetches it, the others wait and then read
what it stored.

A store offers ``get(appid)`` and ``refresh(appid, fetch, force=, stale=)``,
where ``fetch(force)`` asks WeChat and returns ``(token, expires_in)``.
``force`` with ``stale`` means "WeChat said this token is bad": if another
process already replaced it, that newer token is used and WeChat is not asked.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from carbon_credit.models import WeChatKV

# Refresh this long before the expiry WeChat announced, so no call runs on a dying token.
REFRESH_MARGIN_SECONDS = 300
LOCK_TIMEOUT_SECONDS = 15

Fetch = Callable[[bool], tuple[str, int]]


@dataclass(frozen=True)
class CachedToken:
    token: str
    expires_at: float  # epoch seconds

    def usable(self, now: float) -> bool:
        return bool(self.token) and self.expires_at - now > REFRESH_MARGIN_SECONDS


def token_key(appid: str, kind: str = "access_token") -> str:
    """The key of one of the account's credentials: its access token, or its JS-SDK ticket (jsapi_ticket)."""
    return f"wechat:{appid}:{kind}"


def _keep_current(current: CachedToken | None, now: float, force: bool, stale: str | None) -> bool:
    """Whether the stored token can be handed out instead of asking WeChat."""
    if current is None or not current.usable(now):
        return False
    if not force:
        return True
    # Forced because WeChat refused ``stale``: a different stored token was refreshed meanwhile.
    return stale is not None and current.token != stale


class RedisTokenStore:
    """The token as JSON under one key; a Redis lock lets one process refresh at a time."""

    def __init__(self, redis, *, prefix: str, clock: Callable[[], float] = time.time):
        self.redis = redis
        self.prefix = prefix
        self.clock = clock

    def _key(self, appid: str, kind: str = "access_token") -> str:
        return f"{self.prefix}:{token_key(appid, kind)}"

    def get(self, appid: str, kind: str = "access_token") -> CachedToken | None:
        raw = self.redis.get(self._key(appid, kind))
        if not raw:
            return None
        data = json.loads(raw)
        return CachedToken(data["token"], float(data["expires_at"]))

    def refresh(self, appid: str, fetch: Fetch, *, force: bool = False, stale: str | None = None,
                kind: str = "access_token") -> str:
        key = self._key(appid, kind)
        with self.redis.lock(f"{key}:lock", timeout=LOCK_TIMEOUT_SECONDS, blocking_timeout=LOCK_TIMEOUT_SECONDS):
            current = self.get(appid, kind)
            if _keep_current(current, self.clock(), force, stale):
                return current.token
            token, expires_in = fetch(force)
            expires_at = self.clock() + expires_in
            self.redis.set(key, json.dumps({"token": token, "expires_at": expires_at}), ex=max(1, int(expires_in)))
            return token


class DatabaseTokenStore:
    """The token in the ``wechat_kv`` table; the row lock lets one process refresh at a time.

    It uses its own connections, never the caller's session, so storing a token
    commits nothing of the caller's work.
    """

    def __init__(self, engine, *, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.clock = clock

    def get(self, appid: str, kind: str = "access_token") -> CachedToken | None:
        with Session(self.engine) as session:
            row = session.get(WeChatKV, token_key(appid, kind))
            return _cached(row)

    def refresh(self, appid: str, fetch: Fetch, *, force: bool = False, stale: str | None = None,
                kind: str = "access_token") -> str:
        key = token_key(appid, kind)
        with Session(self.engine) as session, session.begin():
            row = _locked_row(session, key, self._moment())
            current = _cached(row)
            if _keep_current(current, self.clock(), force, stale):
                return current.token
            token, expires_in = fetch(force)
            row.value = token
            row.expires_at = datetime.fromtimestamp(self.clock() + expires_in, timezone.utc)
            row.updated_at = self._moment()
            return token

    def _moment(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), timezone.utc)


def _cached(row: WeChatKV | None) -> CachedToken | None:
    if row is None or not row.value or row.expires_at is None:
        return None
    return CachedToken(row.value, row.expires_at.timestamp())


def _locked_row(session: Session, key: str, now: datetime) -> WeChatKV:
    """The key's row, created if missing (a unique insert), locked until the transaction ends.

    On SQLite the insert statement itself takes the database's write lock, which
    serialises refreshing just the same.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(WeChatKV).values(key=key, value="", expires_at=None, updated_at=now).on_conflict_do_nothing()
    )
    return session.execute(select(WeChatKV).where(WeChatKV.key == key).with_for_update()).scalar_one()
