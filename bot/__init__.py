"""The WeChat face of the platform: the /wechat callback, handlers and outbound messages.

``register(app)`` is the one hook the host calls (entry point ``bot`` of the
``carbon_credit.faces`` group). It mounts everything the face owns and nothing
happens when a module of the face is merely imported.
"""
from __future__ import annotations

from types import SimpleNamespace

SERVICES_EXTENSION = "carbon_wechat"  # what other faces may ask of WeChat (see services())


def register(app) -> None:
    """Attach the bot: the callback (pushes answered in front of Flask) and its handler table, ``flask wechat``,
    jobs, the QR-code resource."""
    from .callback import PushEndpoint, bp
    from .cli import wechat_cli
    from .handlers import EXTENSION as HANDLERS, build_handlers
    from .jobs import purge_answered_pushes_job
    from .outbound.cli import menu_command, qrcode_cli
    from .outbound.jobs import register_jobs
    from .outbound.qr_api import build_blueprint
    from .outbound.jsapi import register_signer

    app.extensions[HANDLERS] = build_handlers()
    app.register_blueprint(bp)
    app.wsgi_app = PushEndpoint(app, app.wsgi_app)
    for command in (menu_command, qrcode_cli):
        wechat_cli.add_command(command)
    register_signer(app)
    app.cli.add_command(wechat_cli)
    jobs = app.extensions["carbon_jobs"]
    jobs.add("purge_answered_pushes", purge_answered_pushes_job, "cron", hour=3, minute=20)
    register_jobs(jobs)
    host = app.extensions["carbon_host"]
    host.api.register_blueprint(build_blueprint(host))
    app.extensions[SERVICES_EXTENSION] = services()


def services() -> SimpleNamespace:
    """What other faces and the host may ask of WeChat without importing the bot: the client (offline or
    not), the QR-code services the console uses to print check-in codes, and publishing the menu
    (``publish_menu(session, now, published_by=None)``, as ``flask wechat menu`` does)."""
    from flask import current_app

    from .outbound.client import describe_error, get_client
    from .outbound.menu import publish_configured_menu
    from .outbound.qr_targets import qrcode_for_request, resolve_qr_request, stored_qrcode_for_target

    def publish_menu(session, now, *, published_by=None):
        return publish_configured_menu(session, get_client(), current_app.config, now, published_by=published_by)

    return SimpleNamespace(get_client=get_client, describe_error=describe_error,
                           resolve_qr_request=resolve_qr_request, qrcode_for_request=qrcode_for_request,
                           stored_qrcode_for_target=stored_qrcode_for_target, publish_menu=publish_menu)
