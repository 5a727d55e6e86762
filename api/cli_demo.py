"""`flask demo`: migrate, seed the demo data, start the scheduler and serve, in one command."""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager

import click
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import run_simple

from carbon_credit.demo.seed import DEMO_ADMIN, DEMO_WORKER, demo_openid, seed_demo
from carbon_credit.models import Campaign, Station
from carbon_credit.timeutil import utcnow

from .auth import hash_password
from .extensions import db
from .partner_auth import partner_cipher
from .scheduler import JOBS_EXTENSION, run_job

# The WeChat face's services on the application (bot.SERVICES_EXTENSION); the host never imports the face.
WECHAT_SERVICES = "carbon_wechat"


def prepare_demo(app) -> dict:
    """Bring the schema up to date and seed once; returns what the seed created."""
    with app.app_context():
        upgrade()
    return seed_demo_app(app)


def seed_demo_app(app, now=None, **options) -> dict:
    """Seed the demo data once, then let the WeChat face send what the demo would send (offline).

    ``options`` go to ``seed_demo`` (a smaller demo for tests). Returns what was created,
    with ``wechat``: the counts of what the offline client recorded.
    """
    now = now or utcnow()
    with app.app_context():
        created = seed_demo(db.session, now, hash_password, cipher=partner_cipher(), **options)
        db.session.commit()
    if created:
        created["wechat"] = send_offline(app, now)
    return created


def send_offline(app, now) -> dict:
    """What the demo would send to WeChat, done by the real flows through the offline client.

    The menu is published, the check-in QR codes of the campaigns and stations are
    created, the campaign publicity job mass-sends the running campaign's start and the
    outbox job delivers the queued notifications as template messages: each flow records
    its sends as it goes, which the console's 发送记录 lists. Nothing happens without the
    WeChat face, or when the client would reach a real account.
    """
    services = app.extensions.get(WECHAT_SERVICES)
    if services is None:
        return {}
    with app.app_context():
        client = services.get_client()
        if getattr(client, "offline", False) is not True:  # never to a real account's followers
            return {}
        services.publish_menu(db.session, now)
        targets = [("campaign", cid) for cid in db.session.scalars(
            select(Campaign.id).where(Campaign.status.in_(("published", "running")), Campaign.checkin_points > 0)
            .order_by(Campaign.id))]
        targets += [("station", sid) for sid in db.session.scalars(
            select(Station.id).where(Station.active.is_(True)).order_by(Station.id))]
        for target_type, target_id in targets:
            qr_request = services.resolve_qr_request(db.session, target_type, target_id)
            db.session.commit()
            services.qrcode_for_request(db.session, client, qr_request, now)
            db.session.commit()
        db.session.remove()
    jobs = app.extensions[JOBS_EXTENSION]
    ran = {name: run_job(app, name, now).result for name in ("campaign_publicity", "deliver_outbox") if name in jobs}
    return {"menus": 1, "qrcodes": len(targets), "mass_sends": (ran.get("campaign_publicity") or {}).get("sent", 0),
            "template_messages": (ran.get("deliver_outbox") or {}).get("sent", 0)}


# The simulator (`flask wechat say …`, bot/cli.py) reads this file of the instance folder, so it finds
# the demo on whatever port it serves without --url.
DEMO_URL_FILE = "demo-url"
ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}


def local_url(host: str, port: int) -> str:
    """The address a client on this machine reaches the server at (not 0.0.0.0)."""
    host = ANY_ADDRESS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


@contextmanager
def announced_url(instance_path: str, url: str):
    """Write the served address to the instance folder while serving; remove it when the demo stops."""
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, DEMO_URL_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(url + "\n")
    try:
        yield path
    finally:
        try:
            with open(path, encoding="utf-8") as handle:
                ours = handle.read().strip() == url
            if ours:  # a second demo started since owns the file now
                os.remove(path)
        except OSError:
            pass


def _banner(host: str, port: int, created: dict) -> str:
    base = local_url(host, port)
    seeded = (f"Seeded {created['residents']} residents in {created['communities']} communities with "
              f"{created['actions']} recorded actions." if created else "Demo data already present.")
    wechat = (created or {}).get("wechat")
    if wechat:
        seeded += (f"\nWeChat is offline: recorded the menu, {wechat['qrcodes']} QR codes, {wechat['mass_sends']} mass "
                   f"send and {wechat['template_messages']} template messages as they would have been sent "
                   f"(console: 发送记录).")
    return "\n".join([
        seeded,
        f"API docs:        {base}/api/v1/docs",
        f"OpenAPI:         {base}/api/v1/openapi.json",
        f"WeChat callback: {base}/wechat",
        f"Admin login:     {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}",
        f"Worker login:    {DEMO_WORKER[0]} / {DEMO_WORKER[1]}",
        f"A resident:      flask --app wsgi residents token {demo_openid(1)}",
        f"Try the bot:     flask --app wsgi wechat say {demo_openid(1)} 余额",
    ])


def _stop(_signum, _frame):
    raise SystemExit(0)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not run the scheduled jobs in this process.")
@click.option("--seed-only", is_flag=True, help="Migrate and seed, then exit without serving.")
def demo_command(host, port, no_scheduler, seed_only):
    """Serve the API, the bot callback and the docs on SQLite with demo data."""
    app = current_app._get_current_object()
    created = prepare_demo(app)
    click.echo(_banner(host, port, created))
    if seed_only:
        return
    if not no_scheduler:
        from .scheduler import start_background_scheduler

        start_background_scheduler(app)
    signal.signal(signal.SIGTERM, _stop)  # `kill` ends the demo like Ctrl-C, so its address file is removed
    with announced_url(app.instance_path, local_url(host, port)):
        run_simple(host, port, app, threaded=True, use_reloader=False)
