"""One runner per job at a time, across processes and hosts, held in the database.

PostgreSQL: a session-level ``pg_try_advisory_lock`` on a stable 64-bit hash of
the job name, held on a dedicated connection for the whole run; if the process
dies the connection closes and the lock goes with it.
Other databases (SQLite): a lease row taken with a conditional UPDATE that only
succeeds when the lease is free or expired, so a crashed holder blocks the job
for at most the lease length.
"""
from __future__ import annotations

import hashlib
import os
import socket
import uuid
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

from sqlalchemy import insert, or_, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from carbon_credit.models import JobLock
from carbon_credit.timeutil import utcnow

DEFAULT_LEASE = timedelta(hours=1)


def lock_key(name: str) -> int:
    """A signed 64-bit key, the same in every process (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(f"job:{name}".encode(), digest_size=8).digest(), "big", signed=True)


def new_holder() -> str:
    """Who holds a lease: host, process and a random part, so leases of two runs never mix."""
    return f"{socket.gethostname()[:48]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@contextmanager
def job_lock(engine: Engine, name: str, *, holder: str | None = None,
             lease: timedelta = DEFAULT_LEASE) -> Iterator[bool]:
    """Yield True while this process holds the job's lock, or False at once if another does."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name) as acquired:
            yield acquired
    else:
        with _lease_lock(engine, name, holder or new_holder(), lease) as acquired:
            yield acquired


@contextmanager
def _advisory_lock(engine: Engine, name: str) -> Iterator[bool]:
    key = lock_key(name)
    conn = engine.connect()
    try:
        acquired = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()  # session-level lock: it outlives the transaction, the connection is not left idle in one
        try:
            yield acquired
        finally:
            if acquired:
                _advisory_unlock(conn, key)
    finally:
        conn.close()


def _advisory_unlock(conn, key: int) -> None:
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        conn.commit()
    except Exception:
        # A broken connection must never go back to the pool still holding the lock.
        conn.invalidate()
        raise


@contextmanager
def _lease_lock(engine: Engine, name: str, holder: str, lease: timedelta) -> Iterator[bool]:
    acquired = take_lease(engine, name, holder, lease)
    try:
        yield acquired
    finally:
        if acquired:
            release_lease(engine, name, holder)


def take_lease(engine: Engine, name: str, holder: str, lease: timedelta = DEFAULT_LEASE) -> bool:
    """Take the lease row if it is free or expired; one conditional UPDATE decides between racers."""
    _ensure_lease_row(engine, name)
    now = utcnow()
    table = JobLock.__table__
    with engine.begin() as conn:
        result = conn.execute(
            update(table).where(table.c.name == name,
                                or_(table.c.locked_until.is_(None), table.c.locked_until < now))
            .values(holder=holder, locked_until=now + lease, locked_at=now)
        )
        return result.rowcount == 1


def release_lease(engine: Engine, name: str, holder: str) -> None:
    table = JobLock.__table__
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.name == name, table.c.holder == holder)
                     .values(locked_until=None))


def _ensure_lease_row(engine: Engine, name: str) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(insert(JobLock.__table__).values(name=name, holder="", locked_until=None))
    except IntegrityError:
        pass  # the row exists already (the usual case)


__all__ = ["DEFAULT_LEASE", "job_lock", "lock_key", "new_holder", "release_lease", "take_lease"]
