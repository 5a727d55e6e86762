"""The resident's two taps at a city's size: GET /api/v1/me/balance and the bot's 余额, small database against a city's.

    .venv/bin/python benchmarks/city_reads.py --city-url URL [--small-url URL] [--redis-url URL]
        [--duration 10] [--connections 16] [--workers 4] [--distinct 50000] [--instances 1] [--skip-small]

1. The small database: the demo's 48 residents (--small-url, emptied and migrated first).
2. The city: a database city_data.py loaded (500 K residents and 10 M credits by default), read
   only. Tokens and pushes go to --distinct residents spread evenly over all of them, in random
   order, none of them touched by the warm-up: cold tokens on cold rows.

For each database: gunicorn (-w --workers; --instances of it, each with its own wrk, sharing
one PostgreSQL and one Redis), the bot in safe mode with its de-duplication in Redis as in
production, and wrk driving the bare /ping, the balance (a bearer token per request) and
"余额" pushes (signed and encrypted as WeChat sends them, each with its own MsgId). Prints
req/s, p50 and p99, the ratios to /ping of the same run, and the CPU each request cost the
app and the database's own backends (other work on the machine is not counted), then the
p99 of the city against the small database and the targets (shared PERFORMANCE.md):
balance ≥ 0.5 × /ping req/s with p99 ≤ 2 × /ping's; 余额 ≥ 0.4 × /ping with p99 ≤ 30 ms;
at the city's size p99 within 1.5 × the small database's. Figures only.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from _harness import CpuMeter, LoadResult, reset_pg_database, serve, wrk  # noqa: E402
from wechat_callback import REPLAY_LUA, SECRETS, WECHAT, check_reply, prepare_pushes  # noqa: E402

TOKENS_LUA = """
local tokens = {}
local n = 0
setup = function(thread)
  thread_count = (thread_count or 0) + 1
  thread:set("tid", thread_count)
end
init = function(args)
  local i = 0
  for line in io.lines("%(file)s") do
    i = i + 1
    if i %% %(threads)d == tid - 1 then
      tokens[#tokens + 1] = line
    end
  end
end
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/me/balance", {["Authorization"] = "Bearer " .. tokens[((n - 1) %% #tokens) + 1]})
end
"""
THREADS = 2


@dataclass
class Measured:
    load: LoadResult
    app_ms: float  # CPU of the app per request
    db_ms: float  # CPU of the database's backends per request


def small_database(url: str) -> tuple[str, list[int], list[str]]:
    """The demo's residents in a freshly migrated database: (url, resident ids, openids)."""
    from flask_migrate import upgrade

    from api import create_app
    from api.auth import hash_password
    from api.extensions import db
    from carbon_credit.demo.seed import seed_demo
    from carbon_credit.models import Resident
    from carbon_credit.timeutil import utcnow

    url = reset_pg_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **SECRETS})
    with app.app_context():
        upgrade()
        seed_demo(db.session, utcnow(), hash_password, residents=48, days=7)
        db.session.commit()
        rows = db.session.query(Resident.id, Resident.openid).order_by(Resident.id).all()
    return url, [r.id for r in rows], [r.openid for r in rows]


def city_database(url: str, distinct: int) -> tuple[str, list[int], list[str], list[int]]:
    """The loaded city: (url, the measured residents' ids, their openids, other residents for the warm-up)."""
    url = make_url(url).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.connect() as conn:
        residents = conn.execute(text("SELECT count(*) FROM residents")).scalar()
        credits = conn.execute(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'green_actions'")).scalar()
    engine.dispose()
    if residents < distinct * 2:
        raise SystemExit(f"{url} holds {residents:,} residents; load a city first: "
                         "benchmarks/city_data.py --database-url URL [--residents N --credits M]")
    print(f"city database: {residents:,} residents, about {credits:,} credits")
    stride = residents // distinct
    ids = list(range(1, stride * distinct + 1, stride))
    random.Random(7).shuffle(ids)
    warm = list(range(2, 2 + stride * 200, stride))  # the measured residents' neighbours, never themselves
    return url, ids, [f"o-bench-{i}" for i in ids], warm


def tokens_for(url: str, ids: list[int]) -> list[str]:
    """Bearer tokens the servers accept (SECRETS), minted without reading the residents (epoch 0 as loaded)."""
    from api import create_app
    from api.auth import issue_token

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **SECRETS})
    with app.app_context():
        return [issue_token("resident", i, "resident", 0)["access_token"] for i in ids]


def _split(items: list, parts: int) -> list[list]:
    return [items[k::parts] for k in range(parts)]


def _write(workdir: str, name: str, lines) -> str:
    path = os.path.join(workdir, name)
    with open(path, "wb") as out:
        for line in lines:
            out.write(line + b"\n")
    return path


def drive(name: str, servers, database: str, duration: int, connections: int, scripts: list[str | None],
          path: str = "") -> Measured:
    """One bounded wrk per instance at once (connections shared out); req/s summed, the worst p99 kept."""
    meter = CpuMeter([s.pid for s in servers], database)
    results: list[LoadResult] = [None] * len(servers)  # type: ignore[list-item]
    each = max(THREADS, connections // len(servers))

    def run(k):
        results[k] = wrk(name, servers[k].base + path, duration=duration, connections=each, threads=THREADS,
                         script=scripts[k])

    meter.start()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    app_s, db_s = meter.stop()
    total = sum(r.requests_per_s for r in results)
    merged = LoadResult(name, total, max(r.p50_ms for r in results), max(r.p99_ms for r in results),
                        sum(r.non_2xx for r in results))
    count = max(total * duration, 1)
    return Measured(merged, app_s * 1000 / count, db_s * 1000 / count)


def measure(label: str, url: str, ids: list[int], openids: list[str], warm_ids: list[int], args, workdir: str):
    database = make_url(url).database
    env = {"DATABASE_URL": url, **SECRETS, **WECHAT}
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    tokens = tokens_for(url, ids)
    warm_tokens = tokens_for(url, warm_ids)
    parts = args.instances
    token_files = [_write(workdir, f"{label}-tokens-{k}.txt", (t.encode() for t in chunk))
                   for k, chunk in enumerate(_split(tokens, parts))]
    warm_file = _write(workdir, f"{label}-warm.txt", (t.encode() for t in warm_tokens))
    with ExitStack() as stack:
        servers = [stack.enter_context(serve(env, args.workers)) for _ in range(parts)]
        for server in servers:  # pools, prepared statements and the bot's settings, on other residents than measured
            wrk("warm-up", server.base, duration=2, connections=4, threads=THREADS,
                script=TOKENS_LUA % {"file": warm_file, "threads": THREADS})
            warm_pushes = prepare_pushes([f"o-bench-{i}" for i in warm_ids] if label == "city" else openids, 50)
            check_reply(server.base, warm_pushes[0])
            wrk("warm-up", server.base, duration=2, connections=4, threads=THREADS,
                script=REPLAY_LUA % {"file": _write(workdir, f"{label}-warm-pushes.tsv",
                                                     (p.encode() + b"\t" + b for p, b in warm_pushes[1:])),
                                     "threads": THREADS})
        load = (args.duration, args.connections)
        ping = drive("GET /ping (bare)", servers, database, *load, [None] * parts, "/ping")
        balance = drive("GET /api/v1/me/balance", servers, database, *load,
                        [TOKENS_LUA % {"file": f, "threads": THREADS} for f in token_files])
        count = min(60_000, max(len(openids), args.duration * 4000)) if label == "small" else len(openids)
        pushes = prepare_pushes(openids, count)  # signed now: fresh for the next five minutes
        push_files = [_write(workdir, f"{label}-pushes-{k}.tsv", (p.encode() + b"\t" + b for p, b in chunk))
                      for k, chunk in enumerate(_split(pushes, parts))]
        wechat = drive("POST /wechat 余额 (safe)", servers, database, *load,
                       [REPLAY_LUA % {"file": f, "threads": THREADS} for f in push_files])
    if wechat.load.requests_per_s * args.duration > len(pushes):
        print(f"note ({label}): more 余额 requests than the {len(pushes)} prepared pushes; the rest were "
              "answered as retries from Redis")
    return ping, balance, wechat


def print_table(label: str, rows: list[Measured]) -> None:
    ping = rows[0].load
    print(f"\n{label}")
    print(f"{'endpoint':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>8}{'÷ ping':>8}{'p99 ÷ ping':>11}"
          f"{'app ms':>8}{'db ms':>7}")
    for m in rows:
        r = m.load
        print(f"{r.name:<28}{r.requests_per_s:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.non_2xx:>8}"
              f"{r.requests_per_s / ping.requests_per_s:>8.2f}{r.p99_ms / ping.p99_ms:>11.2f}"
              f"{m.app_ms:>8.2f}{m.db_ms:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--city-url", required=True, help="a database benchmarks/city_data.py loaded")
    parser.add_argument("--small-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_city_small",
                        help="a database of its own for the small case (emptied first)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="the bot's de-dup store ('' for "
                                                                                  "the database)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per instance")
    parser.add_argument("--instances", type=int, default=1, help="app instances on the one database and Redis")
    parser.add_argument("--distinct", type=int, default=50_000, help="residents the city's tokens and pushes reach")
    parser.add_argument("--skip-small", action="store_true", help="only the city")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-city-")
    print(f"gunicorn -w {args.workers} × {args.instances} instance(s), wrk -c {args.connections} in all, "
          f"{args.duration} s each, de-dup in {'Redis' if args.redis_url else 'the database'}")
    small = None
    if not args.skip_small:
        url, ids, openids = small_database(args.small_url)
        small = measure("small", url, ids, openids, ids, args, workdir)
        print_table(f"small database (48 residents): {url}", small)
    url, ids, openids, warm = city_database(args.city_url, args.distinct)
    city = measure("city", url, ids, openids, warm, args, workdir)
    print_table(f"city database, {len(ids):,} distinct residents: {url}", city)
    print()
    for k, name in ((1, "balance"), (2, "余额")):
        c = city[k].load
        line = f"{name}: city p99 {c.p99_ms:.1f} ms"
        if small:
            s = small[k].load
            line += f" ÷ small p99 {s.p99_ms:.1f} ms = {c.p99_ms / s.p99_ms:.2f} (target ≤ 1.5)"
        print(line)
    for label, rows in (("small", small), ("city", city)):
        if rows is None:
            continue
        ping, balance, wechat = (m.load for m in rows)
        print(f"{label}: balance ÷ ping {balance.requests_per_s / ping.requests_per_s:.2f} (target ≥ 0.5), "
              f"p99 ÷ ping p99 {balance.p99_ms / ping.p99_ms:.2f} (≤ 2); 余额 ÷ ping "
              f"{wechat.requests_per_s / ping.requests_per_s:.2f} (≥ 0.4), p99 {wechat.p99_ms:.1f} ms (≤ 30)")


if __name__ == "__main__":
    main()
