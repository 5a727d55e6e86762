"""Configuration read from the environment.

Every variable the code reads is listed once in ``SETTINGS``, with how it is read
and its default; the rest of the code reads ``app.config`` and keeps no defaults
of its own. README.md's configuration table documents each.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Engine

from carbon_credit.ingest.runner import DEFAULT_STATEMENT_TIMEOUT

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


def text(raw: str) -> str:
    return raw


def integer(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    parse.expects = f"a whole number of at least {minimum}"
    return parse


def number(minimum: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw.strip())
        if not value >= minimum:  # also refuses nan
            raise ValueError(f"must be at least {minimum}")
        return value

    parse.expects = f"a number of at least {minimum:g}"
    return parse


FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def flag(raw: str) -> bool:
    value = FLAGS.get(raw.strip().lower())
    if value is None:
        raise ValueError("not a yes or no")
    return value


flag.expects = "1 or 0 (true/false, yes/no, on/off)"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ValueError("unknown level")
    return value


log_level.expects = "one of " + ", ".join(LOG_LEVELS)


@dataclass(frozen=True)
class Setting:
    """One variable of the environment: its name, how it is read, its default, and its key in the app's config."""

    name: str
    parse: Callable[[str], object]
    default: object = None
    key: str = ""

    @property
    def config_key(self) -> str:
        return self.key or self.name

    def read(self, env: Mapping[str, str]):
        raw = env.get(self.name)
        if raw is None or raw == "":
            return self.default
        try:
            return self.parse(raw)
        except ValueError:
            expects = getattr(self.parse, "expects", "a valid value")
            raise ConfigurationError(f"{self.name}={raw!r} is not {expects}.") from None


# Every setting the code reads from the environment, with its default; README.md's configuration
# table documents each (tests/test_config.py holds the two to each other).
SETTINGS = (
    Setting("DATABASE_URL", normalise_database_url, DEFAULT_SQLITE_URI, key="SQLALCHEMY_DATABASE_URI"),
    Setting("REDIS_URL", text),
    Setting("SECRET_KEY", text, DEV_SECRET_KEY),
    Setting("TOKEN_TTL_SECONDS", integer(minimum=1), 12 * 3600),
    Setting("CARD_HASH_KEY", text),
    Setting("PHONE_HASH_KEY", text),
    Setting("OPENID_HASH_KEY", text),
    Setting("CARD_CLAIM_WINDOW_DAYS", integer(minimum=0), 7),
    Setting("NOTIFICATIONS_KEEP_DAYS", integer(minimum=1), 180),
    Setting("WECHAT_TOKEN", text, ""),
    Setting("WECHAT_APPID", text, ""),
    Setting("WECHAT_SECRET", text, ""),
    Setting("WECHAT_AES_KEY", text, ""),
    Setting("WECHAT_OFFLINE", flag),
    Setting("WECHAT_H5_URL", text),
    Setting("WECHAT_TEMPLATES", text, ""),
    Setting("WECHAT_API_TIMEOUT", number(minimum=0.1), 10.0),
    Setting("WECHAT_REDIS_PREFIX", text, "carbon"),
    Setting("WECHAT_OUTBOX_BATCH", integer(minimum=1), 50),
    Setting("WECHAT_OUTBOX_MAX_ATTEMPTS", integer(minimum=1), 6),
    Setting("WECHAT_OUTBOX_BASE_DELAY", integer(minimum=1), 60),
    Setting("SIGN_IN_MAX_PER_ACCOUNT", integer(minimum=1), 10),
    Setting("SIGN_IN_MAX_PER_ADDRESS", integer(minimum=1), 50),
    Setting("SIGN_IN_WINDOW_SECONDS", integer(minimum=1), 900),
    Setting("SIGN_IN_REDIS_PREFIX", text, "signin:"),
    Setting("PROXY_HOPS", integer(minimum=0), 0),
    Setting("INGEST_STATEMENT_TIMEOUT", number(minimum=0), DEFAULT_STATEMENT_TIMEOUT),
    Setting("MAX_CONTENT_LENGTH", integer(minimum=1024), 1024 * 1024),
    Setting("LOG_LEVEL", log_level, "INFO"),
)


class Config:
    """Settings from the environment; instantiate to read it (tests pass their own mapping).

    Raises ConfigurationError naming the variable when a value cannot be read.
    """

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
        for setting in SETTINGS:
            setattr(self, setting.config_key, setting.read(env))
        # Embedded mode without WeChat settings: the demo's stand-ins, inbound only (nothing is sent).
        if not env.get("DATABASE_URL") and not env.get("WECHAT_TOKEN"):
            for name, demo_value in DEMO_WECHAT.items():
                setattr(self, name, getattr(self, name) or demo_value)


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
    if config.get("WECHAT_OFFLINE") is None:  # unset: offline when there is no account to call
        config["WECHAT_OFFLINE"] = bool(config["WECHAT_DEMO"] or not config.get("WECHAT_APPID")
                                        or not config.get("WECHAT_SECRET"))
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    config["TOKEN_TTL_SECONDS"] = int(config["TOKEN_TTL_SECONDS"])
    config["DEMO_MODE"] = is_demo(config) and not app.testing
    # Statement parameters (openids, names, phone hashes) stay out of logs and error messages unless debugging.
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"hide_parameters": not app.debug,
                                           **(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
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
