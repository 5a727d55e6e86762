"""Configuration read from the environment.

The embedded default (an SQLite file in the instance folder, no Redis) is the
demo: it runs with no environment at all, on published keys. Production is any
other database (DATABASE_URL set, or a database URI given by the caller) outside
testing: it refuses to start without SECRET_KEY and the three hash keys. Values derived from others (the hash keys, the database
URL's driver) are settled by ``finalise_config`` after any overrides, so a test
that changes SECRET_KEY also changes what is derived from it.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .description import API_DESCRIPTION

DEV_SECRET_KEY = "dev-only-insecure-secret-key"
# Used only in the embedded mode (no DATABASE_URL) when the WeChat settings are unset, so the
# demo's callback and `flask wechat say` simulator work out of the box, in safe mode.
DEMO_WECHAT = {
    "WECHAT_TOKEN": "demo-callback-token",
    "WECHAT_APPID": "wx00000000demo0000",
    "WECHAT_SECRET": "demo-app-secret",
    "WECHAT_AES_KEY": "DemoAesKeyForTheLocalSimulator0123456789abc",
}
DEFAULT_SQLITE_URI = "sqlite:///carbon_credit.sqlite3"  # relative paths live in the instance folder
SQLITE_BUSY_TIMEOUT_MS = 5000


def normalise_database_url(url: str | None) -> str | None:
    """Point bare PostgreSQL URLs at psycopg 3, the driver the project installs.

    Hosting platforms hand out ``postgres://`` URLs; SQLAlchemy would pick
    psycopg2 for ``postgresql://``, which is not installed.
    """
    if not url:
        return url
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def derive_key(secret: str, purpose: str) -> str:
    """A per-purpose key from SECRET_KEY, so one secret is enough for a small install."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


HASH_KEYS = (("CARD_HASH_KEY", "transit-card-hash"), ("PHONE_HASH_KEY", "phone-hash"),
             ("OPENID_HASH_KEY", "openid-hash"))
GENERATE_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class ConfigurationError(RuntimeError):
    """The application refuses to start with this configuration."""


class Config:
    """Settings from the environment; instantiate to read it (tests pass their own mapping)."""

    API_TITLE = "碳普惠 Carbon Inclusion API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Relative to the docs page, so it also works when the app is mounted under a prefix.
    OPENAPI_SWAGGER_UI_URL = "docs/assets/"
    OPENAPI_SWAGGER_UI_CONFIG = {"persistAuthorization": True}
    API_SPEC_OPTIONS = {
        "info": {"description": API_DESCRIPTION},
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "POST /api/v1/auth/token (staff) or /api/v1/auth/wechat (residents).",
                }
            }
        }
    }
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    def __init__(self, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        self.SECRET_KEY = env.get("SECRET_KEY") or DEV_SECRET_KEY
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL")) or DEFAULT_SQLITE_URI
        self.REDIS_URL = env.get("REDIS_URL") or None
        # Embedded mode without WeChat settings: the demo's stand-ins, inbound only (nothing is sent).
        demo = not env.get("DATABASE_URL") and not env.get("WECHAT_TOKEN")
        for name, demo_value in DEMO_WECHAT.items():
            setattr(self, name, env.get(name) or (demo_value if demo else ""))
        self.WECHAT_H5_URL = env.get("WECHAT_H5_URL") or None  # the menu's VIEW button
        self.WECHAT_TEMPLATES = env.get("WECHAT_TEMPLATES", "")  # JSON kind -> {template_id, fields}: bot/outbound/templates.py
        self.WECHAT_OUTBOX_MAX_ATTEMPTS = int(env.get("WECHAT_OUTBOX_MAX_ATTEMPTS", 6))
        self.WECHAT_OUTBOX_BASE_DELAY = int(env.get("WECHAT_OUTBOX_BASE_DELAY", 60))  # seconds, doubled per retry
        self.TOKEN_TTL_SECONDS = int(env.get("TOKEN_TTL_SECONDS", 12 * 3600))
        # Bytes of a request body; views that take uploads raise it for themselves (api/limits.py).
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_CONTENT_LENGTH", 1024 * 1024))
        self.CARD_HASH_KEY = env.get("CARD_HASH_KEY") or None
        self.PHONE_HASH_KEY = env.get("PHONE_HASH_KEY") or None
        self.OPENID_HASH_KEY = env.get("OPENID_HASH_KEY") or None


class TestingConfig(Config):
    TESTING = True


def is_demo(config) -> bool:
    """The embedded SQLite database (DATABASE_URL unset): the demo, which may run on published keys."""
    return config["SQLALCHEMY_DATABASE_URI"] == DEFAULT_SQLITE_URI


def finalise_config(app) -> None:
    """Settle derived values once the environment and the overrides are both applied.

    Production (neither testing nor the demo) must name its secrets: the hash keys
    are never derived there, since rotating SECRET_KEY would then lose every card,
    phone and returning follower. Raises ConfigurationError naming what is missing.
    """
    config = app.config
    config["WECHAT_DEMO"] = config.get("WECHAT_APPID") == DEMO_WECHAT["WECHAT_APPID"]
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    config["TOKEN_TTL_SECONDS"] = int(config["TOKEN_TTL_SECONDS"])
    config["DEMO_MODE"] = is_demo(config) and not app.testing
    if not (app.testing or is_demo(config)):
        missing = [name for name in ("SECRET_KEY", *(n for n, _ in HASH_KEYS))
                   if not config.get(name) or config[name] == DEV_SECRET_KEY]
        if missing:
            raise ConfigurationError(
                f"Refusing to start: {', '.join(missing)} not set. Outside the demo (DATABASE_URL is set) "
                f"every secret must be given in the environment; make each with {GENERATE_HINT} and keep "
                "the hash keys for ever (README: 'Pointing it at PostgreSQL and Redis').")
    for name, purpose in HASH_KEYS:
        if not config.get(name):
            config[name] = derive_key(config["SECRET_KEY"], purpose)


def warn_when_serving_on_demo_keys(app) -> None:
    """Log once, at the first request served, that the demo's published key signs the tokens.

    Only serving warns: ``--help``, migrations and other commands never handle a request.
    """
    if app.testing or app.config["SECRET_KEY"] != DEV_SECRET_KEY:
        return
    warned = []

    def warn():
        if not warned:
            warned.append(True)
            app.logger.warning("SECRET_KEY is not set: the demo signs tokens with a published key, so anyone can "
                               "forge them. Set DATABASE_URL and the secrets before serving real residents.")

    app.before_request(warn)


def configure_sqlite_engine(engine: Engine) -> None:
    """Make an SQLite engine behave like a server database for this project.

    WAL lets readers work while one writer writes; foreign keys are off by
    default in SQLite; the busy timeout makes a second writer wait instead of
    failing at once. pysqlite also starts transactions lazily and lets a
    released SAVEPOINT commit the whole transaction, which would break
    "services flush, the request commits"; taking over BEGIN (SQLAlchemy's
    documented recipe) restores real transactions and savepoints.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")
