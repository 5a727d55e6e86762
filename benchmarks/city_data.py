"""A city's worth of data in a PostgreSQL database of its own, loaded set-based, for the read benchmarks.

    .venv/bin/python benchmarks/city_data.py --database-url URL [--residents 500000] [--credits 10000000]
    .venv/bin/python benchmarks/city_data.py --database-url URL --sizes   # only print what each table takes

Empties the database's public schema, installs the default rules, then loads the
residents (each with an account and a bound card, as the ingest benchmark does)
and a year of credited transit trips spread over them: one green action and one
credit per trip, and one earn lot per account and expiry date, shaped like the
rows the bulk ingest writes.
Rows come from generate_series inside the server (INSERT … SELECT); the three
big tables get their secondary indexes, unique keys and foreign keys after the
load, as pg_restore does, then VACUUM ANALYZE. Balances are summed from the lots
set-based. Prints the time of each step and the bytes each table takes (heap,
indexes and TOAST), per credited trip.

The residents' openids are ``o-bench-<id>`` and their ids run from 1, so the
benchmarks that use this database (city_reads.py, wechat_burst.py) can address
any of them without reading them back.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex  # noqa: E402

from _harness import reset_pg_database  # noqa: E402
from api.config import normalise_database_url  # noqa: E402
from benchsetup import load_residents, prepare_database  # noqa: E402
from carbon_credit.db import Base, built_on  # noqa: E402

CARD_KEY = "benchmark-card-key"
BIG_TABLES = ("green_actions", "ledger_entries")
SIZE_TABLES = ("residents", "accounts", "transit_cards", "green_actions", "trace_forms",
               "ledger_entries", "unmatched_trips", "notifications")
SPAN = timedelta(days=365)

# One trip per row g of generate_series: resident (g-1) % R + 1, in blocks of one trip per resident spread
# over the year, so a resident's rows lie far apart as a year of nightly ingests leaves them. Each action
# row holds its credit, as the ingest writes it.
ACTIONS = """
INSERT INTO green_actions (id, resident_id, action_type, quantity, unit, occurred_at, source, evidence,
                           idem_scope, external_id, attributes, status, review_note, created_at,
                           local_day, rule_set_id, rule_version, cap_tag, grams, points, trace, trace_form_id,
                           credited_at)
SELECT g, (g - 1) %% %(r)s + 1, t.action_type, t.quantity, 'km', t.occurred_at, 'partner_feed', 'partner',
       'transit:bench', 'bench-' || lpad(g::text, 10, '0'),
       json_build_object('mode', t.mode, 'ride_s', 1500),
       'credited', '', t.occurred_at + interval '1 day',
       (t.occurred_at AT TIME ZONE 'Asia/Shanghai')::date, %(rule_set)s, 1, NULL, t.grams, t.grams, '["0"]',
       %(form)s, t.occurred_at + interval '1 day'
FROM generate_series(%(low)s::bigint, %(high)s::bigint) AS g,
LATERAL (SELECT CASE WHEN g %% 6 = 0 THEN 'metro_ride' ELSE 'bus_ride' END AS action_type,
                CASE WHEN g %% 6 = 0 THEN 'metro' ELSE 'bus' END AS mode,
                round(2 + (g %% 97) / 10.0, 3) AS quantity,
                %(start)s + ((g - 1) / %(r)s) * %(step)s + make_interval(secs => 21600 + (g * 7919) %% 57600)
                    AS occurred_at) AS t0,
LATERAL (SELECT t0.*, CASE WHEN t0.action_type = 'metro_ride' THEN round(t0.quantity * 46.8)::bigint ELSE 80 END
                AS grams) AS t
"""
LOTS = """
INSERT INTO ledger_entries (account_id, kind, points, grams, remaining, expires_at, reason, created_at)
SELECT c.resident_id, 'earn', sum(c.points), sum(c.grams), sum(c.points), e.expires_at, '', min(c.created_at)
FROM credits c,
LATERAL (SELECT make_date(extract(year FROM c.created_at AT TIME ZONE 'Asia/Shanghai')::int + 2, 1, 1)::timestamp
                AT TIME ZONE 'Asia/Shanghai' AS expires_at) AS e
GROUP BY c.resident_id, e.expires_at
"""
BALANCES = """
UPDATE accounts AS a SET balance = s.points, earned_total = s.points, grams_total = s.grams
FROM (SELECT account_id, sum(points) AS points, sum(grams) AS grams FROM ledger_entries GROUP BY account_id) AS s
WHERE a.id = s.account_id
"""
CHUNK = 1_000_000


def _keys(table: str):
    """What is dropped before the load and built after it: every index, unique key and foreign key but the primary key."""
    meta = Base.metadata.tables[table]
    foreign = [c for c in meta.foreign_key_constraints]
    unique = [c for c in meta.constraints if c.__class__.__name__ == "UniqueConstraint" and built_on(c, "postgresql")]
    return foreign, unique, [index for index in meta.indexes if built_on(index, "postgresql")]


def _step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label}: {now - started:.1f} s", flush=True)
    return now


def load(url: str, residents: int, credits: int) -> None:
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    engine = prepare_database(reset_pg_database(url), now - SPAN - timedelta(days=30), now)
    load_residents(engine, residents, CARD_KEY, now)
    started = _step(f"{residents:,} residents, accounts and bound cards", started)
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        cur = raw.cursor()
        cur.execute("SET maintenance_work_mem = '512MB'")
        rule_set = cur.execute("SELECT id FROM rule_sets ORDER BY version LIMIT 1").fetchone()[0]
        form = cur.execute("INSERT INTO trace_forms (digest, body, created_at) VALUES ('bench', %s, %s) "
                           "RETURNING id", ('{"method": "transit", "caps": [{"period": "day"}]}', now)).fetchone()[0]
        for table in BIG_TABLES:
            foreign, unique, indexes = _keys(table)
            for constraint in foreign + unique:
                cur.execute(str(DropConstraint(constraint).compile(dialect=engine.dialect)))
            for index in indexes:
                cur.execute(str(DropIndex(index).compile(dialect=engine.dialect)))
        blocks = -(-credits // residents)
        params = {"r": residents, "start": now - SPAN, "step": SPAN / blocks, "rule_set": rule_set, "form": form}
        for label, sql in (("green actions with their credits", ACTIONS),):
            for low in range(1, credits + 1, CHUNK):
                cur.execute(sql, {**params, "low": low, "high": min(credits, low + CHUNK - 1)})
            started = _step(f"{credits:,} {label}", started)
        cur.execute(LOTS)  # one earn lot per account and expiry date, summing its credits
        started = _step("ledger lots", started)
        for table in BIG_TABLES:
            foreign, unique, indexes = _keys(table)
            for index in indexes:
                cur.execute(str(CreateIndex(index).compile(dialect=engine.dialect)))
            for constraint in unique + foreign:
                cur.execute(str(AddConstraint(constraint).compile(dialect=engine.dialect)))
            started = _step(f"indexes and keys of {table}", started)
        for table in ("green_actions", "ledger_entries", "trace_forms"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))")
        cur.execute(BALANCES)
        started = _step("balances, set-based", started)
        cur.execute("VACUUM (ANALYZE)")
        _step("VACUUM ANALYZE", started)
    finally:
        raw.close()
        engine.dispose()


def print_sizes(url: str) -> None:
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        trips = conn.execute(text("SELECT count(*) FROM credits")).scalar()
        print(f"{'table':<18}{'rows':>14}{'MB':>10}{'bytes per credit':>18}")
        total = 0
        for table in SIZE_TABLES:
            rows = conn.execute(text(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")).scalar()
            size = conn.execute(text(f"SELECT pg_total_relation_size('{table}')")).scalar()
            total += size
            print(f"{table:<18}{max(rows or 0, 0):>14,}{size / 2**20:>10.0f}{size / max(trips, 1):>18.0f}")
        print(f"{'all of them':<18}{trips:>14,}{total / 2**20:>10.0f}{total / max(trips, 1):>18.0f}  "
              f"(rows: planner estimates; the first column of the last line counts credits)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database of its own (emptied first)")
    parser.add_argument("--residents", type=int, default=500_000)
    parser.add_argument("--credits", type=int, default=10_000_000)
    parser.add_argument("--sizes", action="store_true", help="only print the tables' sizes")
    args = parser.parse_args()
    if not args.sizes:
        print(f"loading {args.residents:,} residents and {args.credits:,} credited trips into {args.database_url}")
        started = time.perf_counter()
        load(args.database_url, args.residents, args.credits)
        print(f"loaded in {time.perf_counter() - started:.0f} s")
    print_sizes(args.database_url)


if __name__ == "__main__":
    main()
