"""WeChat callback latency for "余额" in safe mode under concurrent load, against the bare /ping in the same run.

    .venv/bin/python benchmarks/wechat_callback.py [--database-url URL] [--redis-url URL]
        [--duration 10] [--connections 16] [--workers 4] [--loader auto|wrk|python]

Seeds the demo data (SQLite in a temporary folder, or PostgreSQL at
--database-url, whose public schema is emptied first), starts gunicorn with
safe mode on, and prepares signed and encrypted "余额" pushes in advance, each
from a demo resident with its own MsgId, so every request takes the full path:
verify, decrypt, parse, de-duplicate, balance query, commit, encrypt. Drives
/ping and then /wechat with wrk (a Lua script replays the prepared pushes) or,
without wrk, with a bounded Python load generator on 127.0.0.1. Prints req/s,
p50 and p99 and the ratios to /ping; the targets (shared PERFORMANCE.md), with
Redis configured as in production: req/s ≥ 0.4 × /ping's and p99 ≤ 30 ms.
Figures only: nothing here asserts a time. See also city_reads.py (a city's
database) and wechat_burst.py (20 000 residents within a minute).
"""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import LoadResult, gunicorn, print_results, reset_pg_database, wrk  # noqa: E402

from bot.simulator import read_reply, sign_push, text_push  # noqa: E402

WECHAT = {
    "WECHAT_TOKEN": "bench-callback-token",
    "WECHAT_APPID": "wx00000000bench000",
    "WECHAT_AES_KEY": "BenchAesKeyForTheCallbackBenchmark012345678",
}
SECRET_KEY = "benchmark-secret-key"
# Production requires every secret; the hash keys are the benchmark's own.
SECRETS = {"SECRET_KEY": SECRET_KEY, "CARD_HASH_KEY": "bench-card", "PHONE_HASH_KEY": "bench-phone",
           "OPENID_HASH_KEY": "bench-openid"}
MAX_PYTHON_SECONDS = 60
MAX_PUSHES = 60_000

REPLAY_LUA = """
local pushes = {}
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
      local tab = string.find(line, "\\t", 1, true)
      pushes[#pushes + 1] = {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)}
    end
  end
end
request = function()
  n = n + 1
  local push = pushes[((n - 1) %% #pushes) + 1]
  return wrk.format("POST", push[1], {["Content-Type"] = "text/xml"}, push[2])
end
"""


def seed(database_url: str, residents: int) -> list[str]:
    """Schema and demo data; returns the residents' openids."""
    from api import create_app
    from api.auth import hash_password
    from api.extensions import db
    from carbon_credit.db import Base
    from carbon_credit.demo.seed import seed_demo
    from carbon_credit.models import Resident
    from carbon_credit.timeutil import utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **SECRETS})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        seed_demo(db.session, utcnow(), hash_password, residents=residents, days=7)
        db.session.commit()
        return [r.openid for r in db.session.query(Resident).order_by(Resident.id)]


def prepare_pushes(openids: list[str], count: int) -> list[tuple[str, bytes]]:
    """(path with query, body) of ``count`` signed, encrypted "余额" pushes with distinct MsgIds.

    The MsgIds start from the clock, so a run never meets the answers a previous run left in Redis.
    """
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto(WECHAT["WECHAT_TOKEN"], WECHAT["WECHAT_AES_KEY"], WECHAT["WECHAT_APPID"])
    first = time.time_ns() // 1000
    pushes = []
    for i in range(count):
        xml = text_push(openids[i % len(openids)], "余额", msg_id=first + i)
        signed = sign_push(xml, WECHAT["WECHAT_TOKEN"], crypto)
        pushes.append(("/wechat?" + urlencode(signed.params), signed.body.replace(b"\n", b"")))
    return pushes


def check_reply(base: str, push: tuple[str, bytes]) -> str:
    """One push answered with a real, decryptable balance, before any figure is trusted."""
    from wechatpy.crypto import WeChatCrypto

    status, body = _post(base, push)
    fields = read_reply(body.decode(), WeChatCrypto(WECHAT["WECHAT_TOKEN"], WECHAT["WECHAT_AES_KEY"],
                                                    WECHAT["WECHAT_APPID"]))
    if status != 200 or not fields or "您的积分" not in fields.get("Content", ""):
        raise SystemExit(f"the callback did not answer with a balance: HTTP {status} {body[:200]!r}")
    return fields["Content"]


def _post(base: str, push: tuple[str, bytes] | None, path: str = "/ping") -> tuple[int, bytes]:
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        if push is None:
            conn.request("GET", path)
        else:
            conn.request("POST", push[0], body=push[1], headers={"Content-Type": "text/xml"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def python_load(name: str, base: str, pushes: list | None, count: int, connections: int) -> LoadResult:
    """``count`` requests from ``connections`` threads (bounded by MAX_PYTHON_SECONDS); GET /ping when no pushes."""
    latencies, failures, lock, cursor = [], [0], threading.Lock(), iter(range(count))
    deadline = time.monotonic() + MAX_PYTHON_SECONDS

    def worker():
        while time.monotonic() < deadline:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            started = time.perf_counter()
            try:
                status, _ = _post(base, pushes[index] if pushes else None)
            except OSError:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                failures[0] += status != 200

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return LoadResult(name, len(latencies) / wall, pick(0.50), pick(0.99), failures[0])


def wrk_load(name: str, base: str, pushes: list, duration: int, connections: int, workdir: str) -> LoadResult:
    replay = os.path.join(workdir, "pushes.tsv")
    with open(replay, "wb") as out:
        for path, body in pushes:
            out.write(path.encode() + b"\t" + body + b"\n")
    script = REPLAY_LUA % {"file": replay, "threads": 2}
    return wrk(name, base, duration=duration, connections=connections, threads=2, script=script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="PostgreSQL URL of a benchmark database (emptied first); "
                                               "default: SQLite in a temporary folder")
    parser.add_argument("--redis-url", help="de-duplicate retries in Redis instead of the database")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint (wrk)")
    parser.add_argument("--requests", type=int, default=4000, help="requests per endpoint (Python loader)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--residents", type=int, default=48)
    parser.add_argument("--loader", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    use_wrk = args.loader == "wrk" or (args.loader == "auto" and shutil.which("wrk"))
    workdir = tempfile.mkdtemp(prefix="bench-wechat-")
    try:
        url = reset_pg_database(args.database_url) if args.database_url else f"sqlite:///{workdir}/bench.sqlite3"
        openids = seed(url, args.residents)
        env = {"DATABASE_URL": url, **SECRETS, **WECHAT}
        if args.redis_url:
            env["REDIS_URL"] = args.redis_url
        backend = "PostgreSQL" if args.database_url else "SQLite"
        print(f"gunicorn -w {args.workers}, {args.connections} connections, {backend}, safe mode, de-dup in "
              f"{'Redis' if args.redis_url else 'the database'}, loader {'wrk' if use_wrk else 'python'}")
        with gunicorn(env, args.workers) as base:
            count = min(MAX_PUSHES, args.duration * 4000) if use_wrk else args.requests
            warm = prepare_pushes(openids, 50)
            print("sample reply:", check_reply(base, warm[0]).replace("\n", " / "))
            for push in warm[1:]:
                _post(base, push)
            pushes = prepare_pushes(openids[::-1], count)  # signed now: fresh for the next five minutes
            if use_wrk:
                ping = wrk("GET /ping (bare)", base + "/ping", duration=args.duration, connections=args.connections)
                balance = wrk_load("POST /wechat 余额 (safe)", base, pushes, args.duration, args.connections, workdir)
            else:
                ping = python_load("GET /ping (bare)", base, None, args.requests, args.connections)
                balance = python_load("POST /wechat 余额 (safe)", base, pushes, args.requests, args.connections)
        print_results([ping, balance], ping)
        ratio = balance.requests_per_s / ping.requests_per_s
        print(f"callback p99 {balance.p99_ms:.1f} ms (target ≤ 30 ms: {'met' if balance.p99_ms <= 30 else 'NOT met'}); "
              f"req/s ratio to /ping {ratio:.2f} (target ≥ 0.4: {'met' if ratio >= 0.4 else 'NOT met'})")
        if use_wrk and balance.requests_per_s * args.duration > count:
            print(f"note: more requests than the {count} prepared pushes; the rest were answered as retries")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
