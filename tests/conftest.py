"""Test scaffolding: every database test runs on SQLite, and on PostgreSQL too when
TEST_DATABASE_URL is set.

Isolation keeps committed data visible to other connections (concurrency tests
need that), so there is no rollback-only trick: SQLite gets a fresh file per
test, a copy of a file whose schema was built once per session; PostgreSQL gets
its schema once per session and every table truncated after each test (in the
background, while the next test runs on a second database: see PgDatabases).

Select a backend with ``-m sqlite`` / ``-m postgresql``; mark tests that only
make sense on PostgreSQL (real concurrent writers) with ``@pytest.mark.pg_only``
or request the ``pg_only`` fixture.
"""
from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
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


def _truncate_all(engine) -> None:
    names = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        # The scheduler's job store is APScheduler's own table, outside the models: a test that started the
        # scheduler leaves its jobs there, and the next test on this database would find them.
        if conn.execute(text("SELECT to_regclass('apscheduler_jobs')")).scalar() is not None:
            names.append("apscheduler_jobs")
        tables = ", ".join(f'"{name}"' for name in names)
        # A connection a test leaked inside a transaction would block TRUNCATE forever.
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _create_database_if_missing(url: str) -> None:
    """CREATE DATABASE for ``url`` unless it exists, asked on a connection to TEST_DATABASE_URL's database."""
    name = make_url(url).database
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


class PgDatabases:
    """Two PostgreSQL databases with the same schema, taken in turn by the tests.

    TRUNCATE of every table costs a few hundred milliseconds, most of it PostgreSQL
    replacing and syncing files. A test hands its database back to be truncated in a
    background thread and the next test takes the other one, so the truncation runs
    while that test runs; a test waits only when its database is still being truncated.
    """

    def __init__(self, urls: list[str]):
        self.urls = urls
        self.engines = {url: create_engine(url) for url in urls}
        self.truncating: dict[str, Future] = {}
        self.left_by: dict[str, str] = {}
        self.turn = 0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="truncate")

    def build_schemas(self) -> None:
        for engine in self.engines.values():
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine)

    def take(self) -> str:
        url = self.urls[self.turn]
        self.turn = (self.turn + 1) % len(self.urls)
        self._wait(url)
        return url

    def give_back(self, url: str, nodeid: str) -> None:
        self.left_by[url] = nodeid
        self.truncating[url] = self.executor.submit(_truncate_all, self.engines[url])

    def _wait(self, url: str) -> None:
        pending = self.truncating.pop(url, None)
        if pending is None:
            return
        try:
            pending.result()
        except Exception as failed:
            _truncate_all(self.engines[url])  # once the blocker is gone, the next test starts from empty tables
            raise RuntimeError(f"truncating the tables after {self.left_by[url]} failed") from failed

    def close(self) -> None:
        try:
            for url in self.urls:
                self._wait(url)
        finally:
            self.executor.shutdown()
            for engine in self.engines.values():
                engine.dispose()


@pytest.fixture(scope="session")
def pg_databases():
    """TEST_DATABASE_URL's database and one beside it (named with a "_2" suffix, created when missing),
    each with a freshly built schema for the whole run."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = make_url(PG_URL)
    second = url.set(database=f"{url.database}_2").render_as_string(hide_password=False)
    _create_database_if_missing(second)
    databases = PgDatabases([PG_URL, second])
    databases.build_schemas()
    yield databases
    databases.close()


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
    databases = request.getfixturevalue("pg_databases")
    url = databases.take()
    try:
        yield url
    finally:
        databases.give_back(url, request.node.nodeid)


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
