"""The HTTP face of the platform: ``create_app`` builds the Flask application."""
from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask

from .config import Config, configure_sqlite_engine, finalise_config, warn_when_serving_on_demo_keys

# The platform's own loggers (each module logs to logging.getLogger(__name__) below them).
LOGGERS = ("api", "bot", "carbon_credit")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def create_app(config=None) -> Flask:
    """Build the application.

    ``config`` is None (environment only), a mapping of overrides, or an object
    whose upper-case attributes override the environment.
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
    _register_bot(app)
    _register_console(app)
    warn_when_serving_on_demo_keys(app)
    return app


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
    from .errors import register_error_handlers
    from .extensions import db, migrate, smorest_api
    from .inputs import register_input_bounds

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_sqlite_engine(engine)
    migrate.init_app(app, db)
    smorest_api.init_app(app)
    register_input_bounds(app, smorest_api)  # before any route with a path id is registered
    # After smorest, which registers its own HTTPException handler.
    register_error_handlers(app)


def _register_routes(app: Flask) -> None:
    from .cli import register_cli
    from .docs import assets
    from .extensions import smorest_api
    from .resources import register_blueprints

    app.add_url_rule("/ping", "bare_ping", _bare_ping)
    app.register_blueprint(assets)
    register_blueprints(smorest_api)
    register_cli(app)


def _bare_ping():
    """For benchmarks and load balancers: no blueprint machinery, no database."""
    return {"status": "ok"}


def _register_console(app: Flask) -> None:
    """Mount the staff console (the web face)."""
    import web

    web.register(app)


def _register_bot(app: Flask) -> None:
    """Mount the WeChat face if the bot package offers a ``register`` hook."""
    import bot

    register = getattr(bot, "register", None)
    if callable(register):
        register(app)
