"""The HTTP face of the platform: ``create_app`` builds the Flask application."""
from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask

from .config import Config, configure_sqlite_engine, finalise_config, warn_when_serving_on_demo_keys
from .host import register_faces

# The platform's own loggers (each module logs to logging.getLogger(__name__) below them).
LOGGERS = ("api", "bot", "carbon_credit")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def create_app(config=None, faces=None) -> Flask:
    """Build the application: the JSON API (the host), then the faces installed.

    ``config`` is None (environment only), a mapping of overrides, or an object
    whose upper-case attributes override the environment. ``faces`` names the
    faces to register (entry points of the ``carbon_credit.faces`` group, e.g.
    ``("bot",)``); None registers every face installed, an empty tuple none.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config())
    if isinstance(config, Mapping):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    finalise_config(app)
    configure_logging(app.config["LOG_LEVEL"])
    app.json.ensure_ascii = False  # Chinese stays readable in responses
    _init_extensions(app)
    _register_routes(app)
    app.extensions["carbon_faces"] = register_faces(app, faces)
    _trust_proxies(app)
    warn_when_serving_on_demo_keys(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind PROXY_HOPS load balancers or reverse proxies, take the client's address and scheme from the
    X-Forwarded-For and X-Forwarded-Proto headers they add (the last PROXY_HOPS entries, none further).

    Outermost, so the bot's callback in front of Flask sees the same address as every view. Without it
    every request seems to come from the balancer, and the sign-in throttle's per-address count would
    be one count for the whole city.
    """
    hops = app.config["PROXY_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def configure_logging(level: str) -> None:
    """The platform's loggers at ``level`` (LOG_LEVEL), written to standard error.

    The handler goes on the root logger only when nothing has configured logging yet
    (gunicorn's --log-config, a test runner, an embedding program keep their own), so
    building several applications in one process adds it once. Log lines carry counts and
    ids of rows, never openids, phone or card numbers.
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(level)


def _init_extensions(app: Flask) -> None:
    from .auth import auth_required, current_principal
    from .errors import ErrorSchema, register_error_handlers
    from .extensions import CarbonApi, db, migrate
    from .host import HOST_EXTENSION, Host
    from .inputs import Blueprint, register_input_bounds
    from .partner_auth import partner_cipher
    from .schemas.privacy import ResidentExportSchema
    from .scheduler import JOBS_EXTENSION, JobRegistry
    from .wechat_oauth import exchange_code

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_sqlite_engine(engine)
    migrate.init_app(app, db)
    smorest_api = CarbonApi(app)  # one per application: its own OpenAPI document
    register_input_bounds(app, smorest_api)  # before any route with a path id is registered
    # After smorest, which registers its own HTTPException handler.
    register_error_handlers(app)
    app.extensions[JOBS_EXTENSION] = JobRegistry()
    app.extensions[HOST_EXTENSION] = Host(api=smorest_api, auth_required=auth_required,
                                          current_principal=current_principal, error_schema=ErrorSchema,
                                          blueprint=Blueprint, exchange_oauth_code=exchange_code,
                                          dump_resident_export=lambda data: ResidentExportSchema().dump(data),
                                          partner_cipher=partner_cipher)


def _register_routes(app: Flask) -> None:
    from .cli import register_cli
    from .docs import assets
    from .jobs import register_jobs
    from .resources import register_blueprints

    app.add_url_rule("/ping", "bare_ping", _bare_ping)
    app.register_blueprint(assets)
    register_blueprints(app.extensions["carbon_host"].api)
    register_cli(app)
    register_jobs(app.extensions["carbon_jobs"])


def _bare_ping():
    """For benchmarks and load balancers: no blueprint machinery, no database."""
    return {"status": "ok"}
