"""Credits per second with and without a monthly budget, same run, concurrent writers.

The budget adds one read of its shard sums and one UPDATE of a random shard to
each credit's transaction. This prints both rates and their ratio; compare the
ratio, not the absolute numbers (shared machines vary 2.5x between runs).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        .venv/bin/python benchmarks/budget_credits.py --threads 8 --residents 400
"""
from __future__ import annotations

import argparse
import itertools
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.budgets.admin import create_budget
from carbon_credit.db import Base
from carbon_credit.models import Staff
from carbon_credit.residents.accounts import register_resident
from carbon_credit.rules.install import install_default_rule_set

NOW = datetime(2026, 6, 5, 2, 0, tzinfo=timezone.utc)
_ext = itertools.count()


def setup(engine, residents: int) -> list[int]:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with sessionmaker(engine)() as session:
        install_default_rule_set(session, NOW, datetime(2026, 1, 1, tzinfo=timezone.utc))
        ids = [register_resident(session, f"bench-{i}", NOW).id for i in range(residents)]
        session.add(Staff(username="bench", password_hash="-", role="admin", created_at=NOW))
        session.commit()
        return ids


def run(engine, resident_ids: list[int], threads: int, rides: int) -> float:
    """Each thread credits ``rides`` bus trips for each of its residents; returns credits/s."""
    make = sessionmaker(engine)
    chunks = [resident_ids[i::threads] for i in range(threads)]

    def work(ids):
        with make() as session:
            for rid in ids:
                for _ in range(rides):
                    inp = ActionInput(resident_id=rid, action_type="bus_ride", quantity=Decimal(1), unit="trip",
                                      occurred_at=NOW - timedelta(minutes=5), source="partner_feed",
                                      evidence="partner", idem_scope="bench", external_id=f"b-{next(_ext)}")
                    record_action(session, inp, NOW)
                    session.commit()

    workers = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(resident_ids) * rides / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--residents", type=int, default=400)
    parser.add_argument("--rides", type=int, default=2, help="per resident and pass (the daily cap is 4)")
    args = parser.parse_args()
    engine = create_engine(os.environ.get("DATABASE_URL", "sqlite:///bench.sqlite3"),
                           pool_size=args.threads + 2)
    ids = setup(engine, args.residents)
    without = run(engine, ids, args.threads, args.rides)
    with sessionmaker(engine)() as session:
        create_budget(session, NOW, actor_id=1, month=NOW.date().replace(day=1), points_limit=10**12, mode="stop")
        session.commit()
    with_budget = run(engine, ids, args.threads, args.rides)
    print(f"{engine.dialect.name}, {args.threads} threads, {args.residents * args.rides} credits per pass")
    print(f"without a budget: {without:8.0f} credits/s")
    print(f"with a budget:    {with_budget:8.0f} credits/s")
    print(f"ratio:            {with_budget / without:8.2f}")


if __name__ == "__main__":
    main()
