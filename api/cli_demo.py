"""`flask demo`: migrate, seed the demo data, start the scheduler and serve, in one command."""
from __future__ import annotations

import click
from flask import current_app
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from carbon_credit.demo import DEMO_ADMIN, DEMO_WORKER, demo_openid, seed_demo
from carbon_credit.timeutil import utcnow

from .auth import hash_password
from .extensions import db


def prepare_demo(app) -> dict:
    """Bring the schema up to date and seed once; returns what the seed created."""
    with app.app_context():
        upgrade()
        created = seed_demo(db.session, utcnow(), hash_password)
        db.session.commit()
    return created


def _banner(host: str, port: int, created: dict) -> str:
    base = f"http://{host}:{port}"
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
    ])


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
    run_simple(host, port, app, threaded=True, use_reloader=False)
