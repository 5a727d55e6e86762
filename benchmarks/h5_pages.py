"""Page weight and first render of the residents' two main pages on a weak mobile link.

Serves the app on SQLite with demo data, signs a demo resident in, then opens
我的碳账户 (/h5/) and 明细 (/h5/history) cold (cache disabled) in Chromium with a
phone viewport, WeChat's user agent and network emulation (default 1.6 Mbit/s
down, 0.75 Mbit/s up, 150 ms RTT). Prints, per page, the bytes transferred as
the browser received them (compressed, headers included), the number of
requests, first contentful paint and load, as the median of --runs.

    .venv/bin/python benchmarks/h5_pages.py [--runs 5] [--kbps 1600] [--rtt 150]

Targets (shared/PERFORMANCE.md): ≤ 300 KB compressed first view, first render ≤ 1.5 s.
Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.50(0x1800323d) NetType/4G Language/zh_CN")
PAGES = (("我的碳账户", "/h5/"), ("明细", "/h5/history"))
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def build_app(folder: str):
    from sqlalchemy import create_engine

    import carbon_credit.models  # noqa: F401
    from api import create_app
    from api.auth import hash_password
    from api.config import configure_sqlite_engine
    from api.extensions import db
    from carbon_credit.db import Base
    from carbon_credit.demo.seed import seed_demo

    url = f"sqlite:///{folder}/bench.sqlite3"
    engine = create_engine(url)
    configure_sqlite_engine(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app({"TESTING": True, "H5_DEMO_SIGN_IN": True, "SQLALCHEMY_DATABASE_URI": url,
                      "SECRET_KEY": "benchmark-secret", "REDIS_URL": None})
    with app.app_context():
        seed_demo(db.session, datetime.now(timezone.utc), hash_password, residents=40, days=45)
        db.session.commit()
    return app


def measure(context, base: str, path: str, kbps: int, rtt: int) -> dict:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    received = {"bytes": 0, "requests": 0}

    def finished(event):
        received["bytes"] += event["encodedDataLength"]
        received["requests"] += 1

    cdp.on("Network.loadingFinished", finished)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": rtt, "downloadThroughput": kbps * 1000 / 8,
        "uploadThroughput": kbps * 1000 / 8 / 2, "connectionType": "cellular3g"})
    page.goto(base + path, wait_until="load")
    page.wait_for_timeout(300)  # let late loadingFinished events arrive
    timing = page.evaluate("""() => {
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      const nav = performance.getEntriesByType('navigation')[0];
      return {fcp: paint ? paint.startTime : null, load: nav.loadEventEnd};
    }""")
    page.close()
    return {**received, **timing}


def sign_in(context, base: str) -> None:
    page = context.new_page()
    page.goto(base + "/h5/")
    page.locator("form button").first.click()
    page.wait_for_url("**/h5/")
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kbps", type=int, default=1600, help="download throughput in kbit/s")
    parser.add_argument("--rtt", type=int, default=150, help="round-trip latency in ms")
    args = parser.parse_args()
    chromium = os.environ.get("CHROMIUM") or next((p for p in CHROMIUM_PATHS if shutil.which(p)), None)
    if chromium is None:
        sys.exit("no Chromium found: install Debian's chromium or set CHROMIUM")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="h5-bench-") as folder:
        app = build_app(folder)
        WSGIRequestHandler.log_request = lambda *a, **k: None  # no access log between the figures
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                context = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=WECHAT_UA,
                                              locale="zh-CN", is_mobile=True, has_touch=True)
                sign_in(context, base)
                print(f"network: {args.kbps / 1000:g} Mbit/s down, {args.rtt} ms RTT, cache off; "
                      f"median of {args.runs} cold loads")
                print(f"{'page':<10} {'path':<14} {'KB':>8} {'requests':>9} {'first paint ms':>15} {'load ms':>9}")
                for name, path in PAGES:
                    runs = [measure(context, base, path, args.kbps, args.rtt) for _ in range(args.runs)]
                    kb = statistics.median(r["bytes"] for r in runs) / 1024
                    fcp = statistics.median(r["fcp"] or 0 for r in runs)
                    load = statistics.median(r["load"] for r in runs)
                    requests = statistics.median(r["requests"] for r in runs)
                    print(f"{name:<10} {path:<14} {kb:>8.1f} {requests:>9.0f} {fcp:>15.0f} {load:>9.0f}")
                print("targets: ≤ 300 KB compressed first view, first render ≤ 1500 ms")
                browser.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
