"""Database set-up for the ingest benchmark and the raw-load baselines it compares with."""
from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import time

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from tripgen import card_number

import carbon_credit.models  # noqa: F401
from api.config import configure_sqlite_engine, normalise_database_url
from carbon_credit.db import Base
from carbon_credit.residents.cards import card_hash
from carbon_credit.rules.install import install_default_rule_set

OUTPUT_TABLES = ("green_actions", "trace_forms", "ledger_entries", "unmatched_trips", "notifications")
REFERENCE_TABLES = ("streets", "communities", "staff", "residents", "accounts", "action_types", "rule_sets", "rules")
RAW_SCHEMA = "rawcopy"


def prepare_database(url: str, effective_from, now):
    """A fresh schema with the default rule set in force."""
    engine = create_engine(normalise_database_url(url))
    configure_sqlite_engine(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {RAW_SCHEMA} CASCADE"))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        install_default_rule_set(session, now, effective_from)
        session.commit()
    return engine


def _rows(count: int, key: str, now):
    stamp = now.isoformat()
    for i in range(1, count + 1):
        digest = card_hash(card_number(i - 1), key)
        yield (i, f"o-bench-{i}", stamp), (i, i, stamp), (i, i, digest, card_number(i - 1)[-4:], stamp)


def load_residents(engine, count: int, key: str, now) -> None:
    """Residents, empty accounts and one bound card each, set-based."""
    residents, accounts, cards = (list(t) for t in zip(*_rows(count, key, now)))
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            cur = raw.cursor()
            _copy(cur, "residents (id, openid, display_name, status, created_at, updated_at)",
                  (f"{i}\t{o}\t\tactive\t{s}\t{s}\n" for i, o, s in residents))
            _copy(cur, "accounts (id, resident_id, balance, earned_total, grams_total, updated_at)",
                  (f"{i}\t{r}\t0\t0\t0\t{s}\n" for i, r, s in accounts))
            _copy(cur, "transit_cards (id, resident_id, card_hash, active_hash, last4, bound_at)",
                  (f"{i}\t{r}\t{h}\t{h}\t{l4}\t{s}\n" for i, r, h, l4, s in cards))
            for table in ("residents", "accounts", "transit_cards"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})")
            cur.execute("ANALYZE")
        else:
            stamp = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            raw.executemany("INSERT INTO residents (id, openid, display_name, status, created_at, updated_at) "
                            "VALUES (?, ?, '', 'active', ?, ?)", ((i, o, stamp, stamp) for i, o, _ in residents))
            raw.executemany("INSERT INTO accounts (id, resident_id, balance, earned_total, grams_total, updated_at) "
                            "VALUES (?, ?, 0, 0, 0, ?)", ((i, r, stamp) for i, r, _ in accounts))
            raw.executemany("INSERT INTO transit_cards (id, resident_id, card_hash, active_hash, last4, bound_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)", ((i, r, h, h, l4, stamp) for i, r, h, l4, _ in cards))
        raw.commit()
    finally:
        raw.close()


def _copy(cur, target: str, lines) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines):
            buffer.write(line)
            if n % 5000 == 4999:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def _columns(table: str) -> list[str]:
    return [c.name for c in Base.metadata.tables[table].columns]


def raw_psql_copy(engine, url: str, workdir: str) -> tuple[float, int]:
    """The physical limit: psql \\copy of the ingest's output rows into an identical indexed schema."""
    plain_url = normalise_database_url(url).replace("postgresql+psycopg://", "postgresql://")
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {RAW_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {RAW_SCHEMA}"))
    Base.metadata.create_all(engine.execution_options(schema_translate_map={None: RAW_SCHEMA}))
    commands, total = [], 0
    with engine.begin() as conn:
        for table in REFERENCE_TABLES:
            conn.execute(text(f"INSERT INTO {RAW_SCHEMA}.{table} SELECT * FROM public.{table}"))
        for table in OUTPUT_TABLES:
            cols = ", ".join(_columns(table))
            path = os.path.join(workdir, f"{table}.copy")
            conn.connection.driver_connection.commit()
            with open(path, "wb") as handle, conn.connection.driver_connection.cursor().copy(
                    f"COPY (SELECT {cols} FROM public.{table} ORDER BY id) TO STDOUT") as copy:
                for block in copy:
                    handle.write(block)
            total += conn.execute(text(f"SELECT count(*) FROM public.{table}")).scalar()
            commands += ["-c", f"\\copy {RAW_SCHEMA}.{table} ({cols}) FROM '{path}'"]
    started = time.perf_counter()
    subprocess.run(["psql", plain_url, "-q", "-v", "ON_ERROR_STOP=1", *commands], check=True)
    return time.perf_counter() - started, total


def raw_sqlite_executemany(engine, workdir: str) -> tuple[float, int]:
    """Raw executemany of the same output rows into an identical SQLite file, one transaction."""
    source_path = engine.url.database
    raw_path = os.path.join(workdir, "raw.sqlite3")
    if os.path.exists(raw_path):
        os.remove(raw_path)
    raw_engine = create_engine(f"sqlite:///{raw_path}")
    configure_sqlite_engine(raw_engine)
    Base.metadata.create_all(raw_engine)
    raw_engine.dispose()
    target = sqlite3.connect(raw_path, isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    # The application's connections check foreign keys, and PostgreSQL's raw \copy always does: so does this.
    target.execute("PRAGMA foreign_keys=ON")
    target.execute(f"ATTACH DATABASE '{source_path}' AS src")
    for table in REFERENCE_TABLES:
        target.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
    source = sqlite3.connect(source_path)
    seconds, total = 0.0, 0
    target.execute("BEGIN")
    for table in OUTPUT_TABLES:
        cols = _columns(table)
        cursor = source.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id")
        insert = f"INSERT INTO main.{table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        while chunk := cursor.fetchmany(50_000):
            started = time.perf_counter()
            target.executemany(insert, chunk)
            seconds += time.perf_counter() - started
            total += len(chunk)
    started = time.perf_counter()
    target.execute("COMMIT")
    seconds += time.perf_counter() - started
    return seconds, total
