"""`flask demo`: migrate, seed the demo data, start the scheduler and serve, in one command."""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager

import click
from flask import current_app
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from carbon_credit.demo.seed import DEMO_ADMIN, DEMO_WORKER, demo_openid, seed_demo
from carbon_credit.timeutil import utcnow

from .auth import hash_password
from .extensions import db
from .partner_auth import partner_cipher


def prepare_demo(app) -> dict:
    """Bring the schema up to date and seed once; returns what the seed created."""
    with app.app_context():
        upgrade()
        created = seed_demo(db.session, utcnow(), hash_password, cipher=partner_cipher())
        db.session.commit()
    return created


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
