"""A burst of 余额: many residents' pushes within a minute through the callback, as WeChat delivers them.

    .venv/bin/python benchmarks/wechat_burst.py --database-url URL [--redis-url URL] [--pushes 20000]
        [--seconds 60] [--retries 0.05] [--workers 4] [--instances 1] [--concurrency 96]

--database-url is a database city_data.py loaded (it is only read). --pushes distinct
residents each send "余额" once, signed and encrypted as WeChat sends it (safe mode), at
moments spread evenly over --seconds: an open loop, so a slow answer never holds back
the next push, and each latency counts from the push's own moment (queueing included).
A share of the pushes (--retries) is delivered a second time one second later, with the
same MsgId, to the next instance and whichever worker takes it: WeChat's retry.

Prints the p50, p99 and worst latency, the share answered within WeChat's 5 seconds
(WeChat gives up after that and retries), and the de-duplication: each retry must get
exactly the first answer, the servers must have recognised every retry as one (their log
line "wechat retry answered with the first reply"), and Redis must hold one key per
push. The bot's de-dup store is Redis, as in production. Figures only.
"""
from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import xmltodict  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from _harness import serve  # noqa: E402
from bot.dedupe import REDIS_PREFIX, dedupe_key  # noqa: E402
from bot.simulator import sign_push, text_push  # noqa: E402
from wechat_callback import SECRETS, WECHAT, check_reply, prepare_pushes  # noqa: E402

WECHAT_PATIENCE = 5.0  # seconds WeChat waits for an answer
RETRY_AFTER = 1.0
RETRY_LINE = b"wechat retry answered with the first reply"


def _post(base: str, push: tuple[str, bytes]) -> tuple[int, bytes]:
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        conn.request("POST", push[0], body=push[1], headers={"Content-Type": "text/xml"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def burst(bases: list[str], pushes: list, retried: set[int], seconds: float, concurrency: int):
    """Deliver every push at its moment (and the retried ones again); returns per delivery (index, retry,
    latency from its moment, status, body)."""
    gap = seconds / len(pushes)
    plan = sorted([(i * gap, i, False) for i in range(len(pushes))] +
                  [(i * gap + RETRY_AFTER, i, True) for i in retried])
    results, lock, cursor = [], threading.Lock(), iter(plan)
    started = time.monotonic() + 1.0

    def worker():
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            at, index, retry = item
            delay = started + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            base = bases[(index + retry) % len(bases)]  # a retry goes to the next instance
            try:
                status, body = _post(base, pushes[index])
            except OSError:
                status, body = 0, b""
            done = time.monotonic() - (started + at)
            with lock:
                results.append((index, retry, done, status, body))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def sign(openids: list[str]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Each resident's "余额" as WeChat sends it, with its own MsgId: (path, body) and the servers' de-dup key."""
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto(WECHAT["WECHAT_TOKEN"], WECHAT["WECHAT_AES_KEY"], WECHAT["WECHAT_APPID"])
    first = time.time_ns() // 1000
    pushes, keys = [], []
    for i, openid in enumerate(openids):
        xml = text_push(openid, "余额", msg_id=first + i)
        signed = sign_push(xml, WECHAT["WECHAT_TOKEN"], crypto)
        pushes.append(("/wechat?" + urlencode(signed.params), signed.body.replace(b"\n", b"")))
        keys.append(dedupe_key(xmltodict.parse(xml)["xml"]))
    return pushes, keys


def _content(body: bytes, crypto) -> str:
    fields = xmltodict.parse(body)["xml"]
    plain = crypto.decrypt_message(fields, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
    return xmltodict.parse(plain)["xml"]["Content"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a database benchmarks/city_data.py loaded")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--pushes", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--retries", type=float, default=0.05, help="share of pushes WeChat sends again")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per instance")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=96, help="connections the client may hold open")
    args = parser.parse_args()

    import redis
    from wechatpy.crypto import WeChatCrypto

    url = make_url(args.database_url).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.connect() as conn:
        residents = conn.execute(text("SELECT count(*) FROM residents")).scalar()
    engine.dispose()
    if residents < args.pushes:
        raise SystemExit(f"{url} holds {residents:,} residents, fewer than --pushes; load more with city_data.py")
    stride = residents // args.pushes
    openids = [f"o-bench-{1 + k * stride}" for k in range(args.pushes)]
    retried = set(range(0, args.pushes, max(1, round(1 / args.retries)))) if args.retries > 0 else set()
    env = {"DATABASE_URL": url, **SECRETS, **WECHAT, "REDIS_URL": args.redis_url}
    print(f"{args.pushes:,} distinct residents' 余额 in {args.seconds:.0f} s ({args.pushes / args.seconds:.0f}/s), "
          f"{len(retried):,} of them retried {RETRY_AFTER:.0f} s later; gunicorn -w {args.workers} × "
          f"{args.instances} instance(s), de-dup in Redis, {residents:,} residents in the database")
    with ExitStack() as stack:
        servers = [stack.enter_context(serve(env, args.workers)) for _ in range(args.instances)]
        for server in servers:  # a real balance comes back; then every worker opens its connections
            check_reply(server.base, prepare_pushes([f"o-bench-{residents}"], 1)[0])
        warm, _ = sign([f"o-bench-{2 + k * stride}" for k in range(200)])
        burst([s.base for s in servers], warm, set(), 2.0, args.concurrency)
        pushes, keys = sign(openids)  # signed now: fresh for the next five minutes
        logs_before = [Path(s.log).read_bytes().count(RETRY_LINE) for s in servers]
        wall = time.monotonic()
        results = burst([s.base for s in servers], pushes, retried, args.seconds, args.concurrency)
        wall = time.monotonic() - wall
        recognised = sum(Path(s.log).read_bytes().count(RETRY_LINE) - before
                         for s, before in zip(servers, logs_before))

    crypto = WeChatCrypto(WECHAT["WECHAT_TOKEN"], WECHAT["WECHAT_AES_KEY"], WECHAT["WECHAT_APPID"])
    firsts = {i: (status, body) for i, retry, _, status, body in results if not retry}
    latencies = sorted(done for _, retry, done, _, _ in results if not retry)
    answered = [i for i, (status, body) in firsts.items() if status == 200 and b"<Encrypt>" in body]
    balances = sum("您的积分" in _content(firsts[i][1], crypto) for i in answered)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    within = sum(done <= WECHAT_PATIENCE for done in latencies)
    same = sum(1 for i, retry, _, status, body in results
               if retry and status == 200 and i in answered and _content(body, crypto) == _content(firsts[i][1], crypto))
    pipe = redis.Redis.from_url(args.redis_url).pipeline()
    for key in keys:
        pipe.exists(REDIS_PREFIX + key)
    kept = sum(pipe.execute())

    print(f"sent {len(results):,} deliveries in {wall:.1f} s; {len(answered):,} of {len(pushes):,} pushes answered "
          f"with an encrypted reply, {balances:,} of them a balance")
    print(f"latency from each push's moment: p50 {pick(0.50):.0f} ms, p99 {pick(0.99):.0f} ms, "
          f"worst {latencies[-1] * 1000:.0f} ms")
    print(f"answered within WeChat's {WECHAT_PATIENCE:.0f} s: {within:,} of {len(latencies):,} "
          f"({100 * within / len(latencies):.2f} %, must be 100 %)")
    print(f"retries: {len(retried):,} sent, {same:,} got exactly the first answer, {recognised:,} recognised by the "
          f"servers as retries; Redis holds {kept:,} keys for {len(pushes):,} pushes")
    handled_once = same == recognised == len(retried) and kept == len(pushes)
    print(f"every push handled once: {'yes' if handled_once else 'NO'}")


if __name__ == "__main__":
    main()
