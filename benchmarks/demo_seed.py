"""How long the demo takes to seed (what `flask demo` does before it serves): migrate, seed, WeChat offline.

Runs on a fresh SQLite file in a temporary folder (the demo's database; its own
instance folder is left alone), with the demo's stand-in WeChat credentials, and
prints wall-clock and CPU seconds with what was created. ``--one-at-a-time``
records the months of history with ``record_action`` per action instead of the
bulk path, for comparison (the content is the same; only the time differs).

    .venv/bin/python benchmarks/demo_seed.py [--one-at-a-time]
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def one_at_a_time(session, items):
    """The bulk path's stand-in: each input through record_action, refusals skipped as the demo once did."""
    from carbon_credit.actions.record import record_action
    from carbon_credit.actions.bulk import BulkResult
    from carbon_credit.errors import DomainError

    result = BulkResult()
    for inp, now in items:
        try:
            record_action(session, inp, now)
            result.recorded += 1
        except DomainError:
            result.refused += 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one-at-a-time", action="store_true", help="record the history one action at a time")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    os.chdir(ROOT)  # the migrations folder, as `flask demo` finds it
    from api import create_app
    from api.cli_demo import prepare_demo
    from api.config import DEMO_WECHAT

    if args.one_at_a_time:
        from carbon_credit.demo import operations as demo_operations
        from carbon_credit.demo import seed as demo_seed

        demo_seed.record_actions_in_bulk = one_at_a_time
        demo_operations.record_actions_in_bulk = one_at_a_time
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{Path(folder) / 'carbon_credit.sqlite3'}"
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "benchmark",
                          **DEMO_WECHAT})
        wall, cpu = time.perf_counter(), time.process_time()
        created = prepare_demo(app)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    mode = "one action at a time" if args.one_at_a_time else "bulk"
    print(f"demo seed ({mode}): {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(f"  {created['residents']} residents, {created['actions']} detailed and {created['older_actions']} older "
          f"actions, {created['stations']} stations, {created['claims']} claims, {created['redemptions']} redemptions")
    print(f"  WeChat offline: {created.get('wechat')}")


if __name__ == "__main__":
    main()
