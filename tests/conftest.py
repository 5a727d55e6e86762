"""Test scaffolding: every database test runs on SQLite, and on PostgreSQL too when
TEST_DATABASE_URL is set.

Isolation keeps committed data visible to other connections (concurrency tests
need that), so there is no rollback-only trick: SQLite gets a fresh file per
test, a copy of a file whose schema was built once per session; PostgreSQL gets
its schema once per session and every table truncated after each test.

Select a backend with ``-m sqlite`` / ``-m postgresql``; mark tests that only
make sense on PostgreSQL (real concurrent writers) with ``@pytest.mark.pg_only``
or request the ``pg_only`` fixture.
"""
from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

import carbon_credit.models  # noqa: F401  (every table on the metadata)
from api import create_app
from api.auth import issue_resident_token
from api.config import configure_sqlite_engine, normalise_database_url
from carbon_credit.db import Base

from .console_support import browser  # noqa: F401  (one Chromium for every browser test module)
from .factories import STAFF_PASSWORD, login, make_community, make_staff

PG_URL = normalise_database_url(os.environ.get("TEST_DATABASE_URL"))
TEST_WECHAT = {
    "WECHAT_TOKEN": "test-callback-token",
    "WECHAT_APPID": "wx0000000000test",
    "WECHAT_SECRET": "test-app-secret",
    "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}


def pytest_report_header(config):
    if PG_URL:
        return "database backends: sqlite, postgresql"
    return "database backends: sqlite (set TEST_DATABASE_URL to also run on postgresql)"


def pytest_collection_modifyitems(config, items):
    """Without TEST_DATABASE_URL the postgresql variants are deselected: one summary line, not one per test."""
    if PG_URL:
        return
    postgresql = [item for item in items if item.get_closest_marker("postgresql")]
    if postgresql:
        config.hook.pytest_deselected(items=postgresql)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


@pytest.fixture(scope="session")
def pg_engine():
    """One PostgreSQL engine and a freshly built schema for the whole run."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    engine = create_engine(PG_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _truncate_all(engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # A connection a test leaked inside a transaction would block TRUNCATE forever.
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """An SQLite file with the schema in place, built once; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "schema.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    configure_sqlite_engine(engine)
    Base.metadata.create_all(engine)
    engine.dispose()  # the last connection closed checkpoints the WAL into the file and removes it
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgresql", marks=pytest.mark.postgresql),
    ]
)
def db_url(request, tmp_path):
    """The database URL of this test's backend, with an empty schema in place."""
    if request.param == "sqlite":
        if request.node.get_closest_marker("pg_only"):
            pytest.skip("needs PostgreSQL")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    pg = request.getfixturevalue("pg_engine")
    try:
        yield PG_URL
    finally:
        _truncate_all(pg)


@pytest.fixture
def engine(db_url):
    engine = create_engine(db_url)
    configure_sqlite_engine(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A plain SQLAlchemy session for domain tests that need no Flask app."""
    with sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def pg_only(db_url):
    """Request this to skip a test on SQLite (same as ``@pytest.mark.pg_only``)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL")


@pytest.fixture
def app(db_url):
    from api.extensions import db

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "test-secret-key",
            "REDIS_URL": None,
            **TEST_WECHAT,
        }
    )
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_token(client, session):
    """A bearer token of a freshly created admin, obtained through POST /api/v1/auth/token."""
    make_staff(session, "admin", "admin", STAFF_PASSWORD)
    session.commit()
    return login(client, "admin", STAFF_PASSWORD)


@pytest.fixture
def worker_token(client, session):
    """Make a worker and return their token: ``worker_token(community, ..., username="worker")``.

    With no community given, one is created so the worker is valid.
    """
    def make(*communities, username: str = "worker") -> str:
        make_staff(session, username, "worker", STAFF_PASSWORD, communities or (make_community(session),))
        session.commit()
        return login(client, username, STAFF_PASSWORD)

    return make


@pytest.fixture
def resident_token(app):
    """Token for a resident made with the factories: ``resident_token(resident)``."""
    def make(resident) -> str:
        with app.app_context():
            return issue_resident_token(resident)["access_token"]

    return make
