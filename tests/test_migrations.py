"""`flask db upgrade` on an empty database builds exactly the schema the models declare, and revisions that
reshape a table carry its rows."""
from __future__ import annotations

import json
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from api import create_app
from api.config import configure_sqlite_engine, normalise_database_url
from carbon_credit.db import Base

PG_URL = normalise_database_url(os.environ.get("TEST_DATABASE_URL"))


def include_name(name, type_, parent_names):
    """APScheduler keeps its job store in the same database; it is not ours to migrate."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _empty_pg_database() -> str:
    """A database of its own next to TEST_DATABASE_URL's, emptied, so other tests' tables don't interfere."""
    url = make_url(PG_URL)
    name = f"{url.database}_migrations"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = url.set(database=name)
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return target.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    return _empty_pg_database()


def _differences(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def test_upgrade_head_on_an_empty_database_equals_the_models(empty_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
    assert _differences(empty_url) == []


def test_downgrade_to_base_removes_every_table(empty_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        downgrade(revision="base")
    engine = create_engine(empty_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def _storage_options(url, table: str):
    engine = create_engine(url)
    with engine.connect() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = :t AND relkind = 'r'"),
                               {"t": table}).scalar()
    engine.dispose()
    return options


@pytest.mark.postgresql
def test_accounts_keep_room_for_in_place_updates_whether_migrated_or_created():
    """Storage options are invisible to the model comparison above, so they are checked here."""
    created = _empty_pg_database()
    engine = create_engine(created)
    Base.metadata.create_all(engine)
    engine.dispose()
    assert _storage_options(created, "accounts") == ["fillfactor=80"]
    migrated = _empty_pg_database()  # the same scratch database, emptied again
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": migrated, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        assert _storage_options(migrated, "accounts") == ["fillfactor=80"]
        downgrade(revision="f677f62f2797")
    assert _storage_options(migrated, "accounts") is None


def test_a_500_after_an_in_process_migration_still_logs_its_traceback(tmp_path, caplog):
    """Alembic's logging set-up must leave the app's loggers and the process's handlers alone."""
    import logging

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite3'}",
                      "SECRET_KEY": "x", "PROPAGATE_EXCEPTIONS": False})
    assert not app.logger.disabled  # the logger exists before the migration, as in `flask demo`

    def broken():
        raise RuntimeError("the traceback must reach the log")

    app.add_url_rule("/test/broken", view_func=broken)
    handlers = logging.getLogger().handlers[:]
    with app.app_context():
        upgrade()
    assert logging.getLogger().handlers == handlers
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/test/broken")
    assert response.status_code == 500
    assert not app.logger.disabled
    assert "Traceback" in caplog.text
    assert "RuntimeError: the traceback must reach the log" in caplog.text


CREDIT_KEYS_BEFORE = "d5a1c7e9b2f4"  # the revision before credits took their action's id
# (credit id, action id): chains and a cycle, so some new ids are other credits' old ids.
OLD_CREDITS = [(1, 2), (2, 4), (4, 5), (5, 6), (6, 1)]


def _old_world(conn) -> None:
    """Rows as the revision before keyed them: credits with ids of their own, lots pointing at those ids."""
    stamp = "'2026-06-01 08:00:00'"
    conn.execute(text(f"INSERT INTO residents (id, display_name, status, created_at, updated_at) "
                      f"VALUES (1, 'r', 'active', {stamp}, {stamp})"))
    conn.execute(text(f"INSERT INTO accounts (id, resident_id, balance, earned_total, grams_total, updated_at) "
                      f"VALUES (1, 1, 0, 0, 0, {stamp})"))
    for action_id in range(1, 8):  # action 3 and 7 have no credit (rejected, pending)
        conn.execute(text(
            "INSERT INTO green_actions (id, resident_id, action_type, quantity, unit, occurred_at, source, evidence, "
            "idem_scope, external_id, attributes, status, review_note, created_at) VALUES "
            f"({action_id}, 1, 'bus_ride', 1, 'trip', {stamp}, 'partner_feed', 'partner', 'transit', "
            f"'t{action_id}', '{{}}', 'credited', '', {stamp})"))
    conn.execute(text(f"INSERT INTO trace_forms (id, digest, body, created_at) VALUES "
                      f"(1, 'f', '{{\"caps\": [{{\"name\": \"daily\"}}]}}', {stamp})"))
    for credit_id, action_id in OLD_CREDITS:
        # The last credit shares a trace form and keeps only its cap's figure, as bulk credits did.
        shared = credit_id == OLD_CREDITS[-1][0]
        trace = '{"used_before": ["2"]}' if shared else f'{{"grams": {action_id * 100}}}'
        conn.execute(text(
            "INSERT INTO credits (id, action_id, resident_id, action_type, local_day, rule_set_id, rule_version, "
            "status, quantity, cap_tag, grams, points, trace, trace_form_id, created_at) VALUES "
            f"({credit_id}, {action_id}, 1, 'bus_ride', '2026-06-01', NULL, 1, 'credited', 1, NULL, "
            f"{action_id * 100}, {action_id * 10}, '{trace}', {1 if shared else 'NULL'}, {stamp})"))
        conn.execute(text(
            "INSERT INTO ledger_entries (id, account_id, kind, points, grams, remaining, credit_id, reason, "
            f"created_at) VALUES ({credit_id}, 1, 'earn', {action_id * 10}, {action_id * 100}, {action_id * 10}, "
            f"{credit_id}, 'bus_ride', {stamp})"))
    conn.execute(text(f"INSERT INTO ledger_entries (id, account_id, kind, points, grams, remaining, reason, "
                      f"created_at) VALUES (9, 1, 'spend', -5, 0, 0, 'reward', {stamp})"))


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def test_credits_take_their_actions_ids_and_the_lots_follow(empty_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision=CREDIT_KEYS_BEFORE)
        engine = create_engine(empty_url)
        configure_sqlite_engine(engine)  # foreign keys on, as the app's connections have them
        with engine.begin() as conn:
            _old_world(conn)
        engine.dispose()
        upgrade()
    engine = create_engine(empty_url)
    configure_sqlite_engine(engine)
    with engine.begin() as conn:
        credits = conn.execute(text("SELECT id, points, grams, trace FROM credits ORDER BY id")).all()
        assert [(c.id, c.points, c.grams) for c in credits] == [(a, a * 10, a * 100) for a in (1, 2, 4, 5, 6)]
        # A whole trace is kept as it was; a shared form's credit keeps its figures as a bare list.
        assert [_json(c.trace) for c in credits] == [["2"] if c.id == OLD_CREDITS[-1][1] else {"grams": c.grams}
                                                     for c in credits]
        lots = conn.execute(text("SELECT l.id, l.credit_id, l.points = c.points AS same FROM ledger_entries l "
                                 "LEFT JOIN credits c ON c.id = l.credit_id ORDER BY l.id")).all()
        assert [(lot.id, lot.credit_id) for lot in lots] == [(c, a) for c, a in OLD_CREDITS] + [(9, None)]
        assert all(lot.same for lot in lots if lot.credit_id is not None)
        with pytest.raises(IntegrityError):  # a credit for an action that does not exist
            with conn.begin_nested():
                conn.execute(text("INSERT INTO credits (id, resident_id, action_type, local_day, status, quantity, "
                                  "grams, points, trace, created_at) VALUES (99, 1, 'bus_ride', '2026-06-01', "
                                  "'credited', 1, 0, 0, '{}', '2026-06-01 08:00:00')"))
    columns = {c["name"]: c for c in inspect(engine).get_columns("credits")}
    engine.dispose()
    assert "action_id" not in columns and not columns["id"].get("default")  # no sequence of its own

    with app.app_context():
        downgrade(revision=CREDIT_KEYS_BEFORE)
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, action_id, trace FROM credits ORDER BY id")).all()
        assert [(r.id, r.action_id) for r in rows] == [(a, a) for a in (1, 2, 4, 5, 6)]
        assert _json(rows[0].trace) == {"used_before": ["2"]} and _json(rows[1].trace) == {"grams": 200}
        conn.execute(text("INSERT INTO credits (action_id, resident_id, action_type, local_day, status, quantity, "
                          "grams, points, trace, created_at) VALUES (3, 1, 'bus_ride', '2026-06-01', 'credited', 1, "
                          "0, 0, '{}', '2026-06-01 08:00:00')"))
        assert conn.execute(text("SELECT id FROM credits WHERE action_id = 3")).scalar() == 7
    engine.dispose()
