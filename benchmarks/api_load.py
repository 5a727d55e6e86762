"""Load on the resident API under gunicorn on PostgreSQL, against a bare endpoint in the same run.

    .venv/bin/python benchmarks/api_load.py [--database-url URL] [--duration 10] [--connections 16]

Seeds the demo data into its own database (default: a `bench_api` database on
the local PostgreSQL), starts gunicorn, and drives three endpoints with wrk:
the bare `/ping`, `GET /api/v1/me/balance` (rotating over residents' tokens)
and `POST /api/v1/me/actions` (a self-declared walk with a fresh
Idempotency-Key each time). Prints req/s, p50 and p99 and the ratios to /ping
(targets in shared PERFORMANCE.md: balance ÷ ping ≥ 0.5, balance p99 ≤ 2× ping
p99). benchmarks/city_reads.py measures the same read against a city's database.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import gunicorn, print_results, reset_pg_database, wrk  # noqa: E402

BALANCE_LUA = """
tokens = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/me/balance", {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1]})
end
"""

RECORD_LUA = """
tokens = {%s}
local id = 0
local n = 0
setup = function(thread)
  id = id + 1
  thread:set("tid", id)
end
request = function()
  n = n + 1
  local body = '{"action_type": "walk_steps", "quantity": 800, "occurred_at": "' .. os.date("!%%Y-%%m-%%dT%%H:%%M:%%S+00:00", os.time() - 60) .. '"}'
  local headers = {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1],
                   ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = "bench-" .. tid .. "-" .. n .. "-" .. os.time()}
  return wrk.format("POST", "/api/v1/me/actions", headers, body)
end
"""


def prepare(url: str, residents: int) -> list[str]:
    """Migrate and seed the benchmark database; return the residents' bearer tokens."""
    from flask_migrate import upgrade

    from api import create_app
    from api.auth import hash_password, issue_resident_token
    from api.extensions import db
    from carbon_credit.demo.seed import seed_demo
    from carbon_credit.models import Resident
    from carbon_credit.timeutil import utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **secrets()})
    with app.app_context():
        upgrade()
        seed_demo(db.session, utcnow(), hash_password, residents=residents, days=7)
        db.session.commit()
        return [issue_resident_token(r)["access_token"] for r in db.session.query(Resident).order_by(Resident.id)]


def secrets() -> dict:
    """The secrets production requires; the benchmark's own, stable across its processes."""
    return {name: os.environ["SECRET_KEY"] + "-" + name
            for name in ("CARD_HASH_KEY", "PHONE_HASH_KEY", "OPENID_HASH_KEY")} | {"SECRET_KEY": os.environ["SECRET_KEY"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_api")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--residents", type=int, default=48)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-key")
    url = reset_pg_database(args.database_url)
    tokens = prepare(url, args.residents)
    quoted = ", ".join(json.dumps(t) for t in tokens)
    env = {"DATABASE_URL": url, **secrets()}
    print(f"gunicorn -w {args.workers}, wrk -c {args.connections}, {args.duration}s each, database {url}")
    with gunicorn(env, args.workers) as base:
        load = dict(duration=args.duration, connections=args.connections)
        wrk("warm-up", base + "/api/v1/me/balance", duration=2, connections=4, script=BALANCE_LUA % quoted)
        ping = wrk("GET /ping (bare)", base + "/ping", **load)
        balance = wrk("GET /api/v1/me/balance", base, script=BALANCE_LUA % quoted, **load)
        record = wrk("POST /api/v1/me/actions", base, script=RECORD_LUA % quoted, **load)
        ping_again = wrk("GET /ping (again)", base + "/ping", **load)
    print_results([ping, balance, record, ping_again], ping)


if __name__ == "__main__":
    main()
