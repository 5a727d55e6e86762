"""Recognising WeChat's retries of one push, across every worker and host.

WeChat re-sends a push it got no answer to within 5 seconds, three times, with
the same MsgId (messages) or the same sender, CreateTime, Event and EventKey
(events). The key is computed from the raw XML fields: wechatpy rewrites a
``subscribe`` with ``qrscene_`` into ``subscribe_scan`` and strips the prefix.

Two stores, one protocol. A push goes ``begin`` (None: first time; otherwise the
first answer, '' meaning ``success``) → handling → ``finish`` (before the commit)
→ ``settle`` (after it), or ``abandon`` when handling failed so a retry can
try again. A push that only reads is answered first and then ``keep`` stores the
answer under its key if none is there (None), or returns the answer already kept:
nothing was changed, so reading before claiming is safe, and it saves a round trip.
- Redis (``REDIS_URL``): SET NX with an expiry claims the key before handling;
  the first answer replaces the claim after the commit.
- The database otherwise: the answer is inserted under the unique key in the
  same transaction as the push's own writes, so either both commit or neither;
  a worker that loses the race rolls back and sends the winner's answer.
Crediting is idempotent in the domain as well, so even a store that forgets
never credits twice.
"""
from __future__ import annotations

import hashlib
import logging
import os
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from carbon_credit.models.bot import InboundMessage

log = logging.getLogger(__name__)

REDIS_TTL_SECONDS = 3600  # WeChat's retries come within about 15 seconds
REDIS_PREFIX = "wechat:inbound:"
PENDING = "\x00pending"
DB_KEEP = timedelta(days=2)


class DuplicatePush(Exception):
    """Another worker answered this push first; ``reply`` is its answer ('' = success)."""

    def __init__(self, reply: str):
        super().__init__("duplicate push")
        self.reply = reply


def dedupe_key(raw: dict) -> str:
    """sha1 of MsgId for messages; of sender, CreateTime, Event, EventKey (and MsgID) for events."""
    if raw.get("MsgType") != "event" and raw.get("MsgId"):
        parts = ("msg", raw["MsgId"])
    else:
        parts = ("event", raw.get("FromUserName"), raw.get("CreateTime"), raw.get("Event"),
                 raw.get("EventKey"), raw.get("MsgID"), raw.get("MsgType"))
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class NoStore:
    """Remembers nothing: for pushes that change nothing and say nothing (the stateless events of the handler table)."""

    def begin(self, session, key: str, now: datetime) -> str | None:
        return None

    def finish(self, session, key: str, reply: str, now: datetime) -> None:
        pass

    def settle(self, key: str, reply: str) -> None:
        pass

    def abandon(self, key: str) -> None:
        pass

    def keep(self, session, key: str, reply: str, now: datetime) -> str | None:
        return None


NO_STORE = NoStore()


class DatabaseStore(NoStore):
    """The answer is stored with the push's own transaction under a unique key.

    Nothing is read first: retries are rare (WeChat only retries what went
    unanswered), so a push is handled straight away and the unique key decides
    at the end; the loser's writes are rolled back and it sends the first answer.
    """

    def finish(self, session, key: str, reply: str, now: datetime) -> None:
        session.add(InboundMessage(dedupe_key=key, reply=reply, created_at=now))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()  # the whole push: the first delivery's writes stand instead
            first = session.execute(select(InboundMessage.reply).where(InboundMessage.dedupe_key == key)).first()
            raise DuplicatePush((first[0] if first else "") or "") from None

    def keep(self, session, key: str, reply: str, now: datetime) -> str | None:
        try:
            self.finish(session, key, reply, now)
            session.commit()
        except DuplicatePush as duplicate:
            return duplicate.reply
        return None


class RedisStore:
    """Claim first (SET NX EX), answer after the commit; a Redis outage only loses de-duplication."""

    def __init__(self, link: "RedisLink", ttl: int = REDIS_TTL_SECONDS):
        self.link = link
        self.ttl = str(ttl).encode()

    def begin(self, session, key: str, now: datetime) -> str | None:
        try:
            return self._claim(key, PENDING)
        except Exception:  # redis.RedisError and socket errors alike: answer the push anyway
            log.warning("wechat de-dup store unreachable; handling the push without it", exc_info=True)
            return None

    def finish(self, session, key: str, reply: str, now: datetime) -> None:
        pass

    def keep(self, session, key: str, reply: str, now: datetime) -> str | None:
        """One SET NX EX with the answer itself; on a retry, the answer kept first."""
        try:
            return self._claim(key, reply)
        except Exception:
            log.warning("wechat de-dup store unreachable; answering without it", exc_info=True)
            return None

    def _claim(self, key: str, value: str) -> str | None:
        """None when ``value`` is now kept under the key; otherwise what a retry sends instead."""
        name = (REDIS_PREFIX + key).encode()
        if self.link.command(b"SET", name, value.encode("utf-8"), b"NX", b"EX", self.ttl) is not None:
            return None
        return _first_answer(self.link.command(b"GET", name))

    def settle(self, key: str, reply: str) -> None:
        self._quietly(b"SET", (REDIS_PREFIX + key).encode(), reply.encode("utf-8"), b"XX", b"EX", self.ttl)

    def abandon(self, key: str) -> None:
        self._quietly(b"DEL", (REDIS_PREFIX + key).encode())

    def _quietly(self, *command: bytes) -> None:
        try:
            self.link.command(*command)
        except Exception:
            log.warning("wechat de-dup store unreachable", exc_info=True)


def _first_answer(stored) -> str | None:
    """What a retry sends: the kept answer, '' (success) while the first is still at work, None once expired."""
    if stored is None:  # expired between the two calls: treat as new
        return None
    stored = stored.decode("utf-8") if isinstance(stored, bytes) else stored
    return "" if stored == PENDING else stored


class RedisLink:
    """A few Redis connections of the callback's own: a command is one write and one read on one of them.

    redis-py's client checks a connection out of its pool for every command, polls the socket
    for stray data, retries, and records metrics; for the one or two commands of a push that
    cost more CPU than the push's decryption and encryption together. Here a command takes an
    idle connection (or opens one, as the URL says: password, database, TLS, unix socket), sends
    the command, reads the one reply, and puts the connection back, keeping at most ``IDLE``
    (one per thread at work in practice). A connection that fails is closed, never reused; the
    command goes once more on a new one only when the failed one had been idle (Redis restarted
    or dropped it meanwhile), which every command here tolerates (a second SET NX finds the first).
    A forked process starts with none of its parent's sockets.
    """

    IDLE = 4

    def __init__(self, url: str):
        import redis

        pool = redis.ConnectionPool.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._connection_class, self._kwargs = pool.connection_class, pool.connection_kwargs
        self._broken = (redis.ConnectionError, redis.TimeoutError, OSError)
        self.idle: list = []
        self.pid = os.getpid()

    def command(self, *parts: bytes):
        """The command's reply: bytes, an int, or None (a nil); raises redis.RedisError or OSError."""
        if self.pid != os.getpid():
            self.idle, self.pid = [], os.getpid()
        try:
            conn, reused = self.idle.pop(), True
        except IndexError:
            conn, reused = self._connection_class(**self._kwargs), False
        try:
            reply = _send(conn, parts)
        except self._broken:
            conn.disconnect()
            if not reused:
                raise
            conn = self._connection_class(**self._kwargs)
            reply = self._send_or_close(conn, parts)
        except BaseException:
            conn.disconnect()
            raise
        if len(self.idle) < self.IDLE:
            self.idle.append(conn)
        else:
            conn.disconnect()
        return reply

    @staticmethod
    def _send_or_close(conn, parts):
        try:
            return _send(conn, parts)
        except BaseException:
            conn.disconnect()
            raise


def _send(conn, parts):
    conn.send_command(*parts, check_health=False)
    return conn.read_response()


_redis_stores: dict[str, RedisStore] = {}


def store_for(redis_url: str | None):
    """The store for this configuration; a Redis store (and its connections) is shared per URL."""
    if not redis_url:
        return DatabaseStore()
    store = _redis_stores.get(redis_url)
    if store is None:
        store = _redis_stores.setdefault(redis_url, RedisStore(RedisLink(redis_url)))
    return store


def purge_answered_pushes(session, now: datetime, keep: timedelta = DB_KEEP) -> int:
    """Drop database de-dup rows older than ``keep`` (a daily job); returns how many went."""
    result = session.execute(delete(InboundMessage).where(InboundMessage.created_at < now - keep))
    return result.rowcount or 0
