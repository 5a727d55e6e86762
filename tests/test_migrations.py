"""`flask db upgrade` on an empty database builds exactly the schema the models declare, and revisions that
reshape a table carry its rows."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import bindparam, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from api import create_app
from api.config import configure_sqlite_engine, normalise_database_url
from carbon_credit.db import Base, UTCDateTime, schema_objects_for

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
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name,
                                                         "include_object": schema_objects_for(conn.dialect.name)})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def test_upgrade_head_on_an_empty_database_equals_the_models(empty_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
    assert _differences(empty_url) == []


@pytest.mark.postgresql
def test_expression_indexes_after_upgrade_are_the_models():
    """Alembic cannot compare indexes on expressions: their definitions are compared as PostgreSQL prints them."""
    url = _empty_pg_database()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS models CASCADE; CREATE SCHEMA models"))
    try:
        Base.metadata.create_all(engine.execution_options(schema_translate_map={None: "models"}))
        expressions = [index.name for table in Base.metadata.tables.values()
                       for index in table.indexes if any(not hasattr(e, "table") for e in index.expressions)]
        assert "uq_green_actions_idem_digest" in expressions
        with engine.connect() as conn:
            for name in expressions:
                found = dict(conn.execute(text("SELECT schemaname, indexdef FROM pg_indexes WHERE indexname = :n"),
                                          {"n": name}).all())
                assert found["public"] == found["models"].replace("models.", "public."), name
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA models CASCADE"))
        engine.dispose()


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


def _seed_per_credit_lots(engine) -> dict:
    """Two residents' ledgers as per-credit earn lots were written: a year's lots partly spent, last year's
    expired, a lot of grams alone (no expiry), another year's single lot, and an adjustment (not an earn)."""
    shanghai = ZoneInfo("Asia/Shanghai")
    y25, y26 = datetime(2025, 3, 1, 2, tzinfo=timezone.utc), datetime(2026, 2, 1, 2, tzinfo=timezone.utc)
    ends = {2025: datetime(2027, 1, 1, tzinfo=shanghai), 2024: datetime(2026, 1, 1, tzinfo=shanghai),
            2026: datetime(2028, 1, 1, tzinfo=shanghai)}
    with engine.begin() as conn:
        for rid in (1, 2):
            conn.execute(text("INSERT INTO residents (id, display_name, status, token_epoch, created_at, updated_at) "
                              "VALUES (:id, '', 'active', 0, :t, :t)").bindparams(bindparam("t", type_=UTCDateTime())),
                         {"id": rid, "t": y25})
        conn.execute(text("INSERT INTO accounts (id, resident_id, balance, earned_total, grams_total, updated_at) "
                          "VALUES (1, 1, 100, 210, 225, :t), (2, 2, 27, 20, 20, :t)")
                     .bindparams(bindparam("t", type_=UTCDateTime())), {"t": y26})
        rows = [  # id, account, kind, points, grams, remaining, expires_at, reference, created_at
            (1, 1, "earn", 30, 30, 0, ends[2024], None, y25 - timedelta(days=400)),
            (2, 1, "earn", 20, 20, 0, ends[2024], None, y25 - timedelta(days=390)),
            (3, 1, "expire", -30, 0, 0, None, "expire:1", y25 - timedelta(days=20)),
            (4, 1, "expire", -20, 0, 0, None, "expire:2", y25 - timedelta(days=20)),
            (5, 1, "earn", 100, 90, 40, ends[2025], None, y25 + timedelta(days=2)),
            (6, 1, "earn", 50, 40, 50, ends[2025], None, y25),
            (7, 1, "earn", 0, 15, 0, None, None, y25 + timedelta(days=5)),
            (8, 1, "spend", -60, 0, 0, None, "redemption:1", y25 + timedelta(days=9)),
            (9, 1, "earn", 10, 30, 10, ends[2026], None, y26),
            (10, 2, "earn", 20, 20, 20, ends[2026], None, y26),
            (11, 2, "adjust", 7, 0, 7, ends[2026], "adjust:x", y26),
        ]
        insert = text(
            "INSERT INTO ledger_entries (id, account_id, kind, points, grams, remaining, expires_at, reference, "
            "reason, created_at) VALUES (:i, :a, :k, :p, :g, :r, :e, :ref, 'bus_ride', :c)"
        ).bindparams(bindparam("e", type_=UTCDateTime()), bindparam("c", type_=UTCDateTime()))
        for row in rows:
            conn.execute(insert, dict(zip(("i", "a", "k", "p", "g", "r", "e", "ref", "c"), row)))
    return {"y25": y25, "ends": {year: end.astimezone(timezone.utc) for year, end in ends.items()}}


def test_the_migration_folds_per_credit_earn_lots_into_one_per_account_and_expiry(empty_url):
    """Folded per (account, expiry): summed points, grams and remaining, the earliest created_at; balances kept."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="d5a1c7e9b2f4")
        engine = create_engine(empty_url)
        seeded = _seed_per_credit_lots(engine)
        upgrade()
    from carbon_credit.ledger.points import ledger_is_consistent
    from carbon_credit.models import LedgerEntry
    from sqlalchemy.orm import Session

    ends = seeded["ends"]
    with Session(engine) as session:
        earns = {(e.account_id, e.expires_at): (e.points, e.grams, e.remaining, e.created_at, e.reason)
                 for e in session.query(LedgerEntry).filter(LedgerEntry.kind == "earn")}
        assert earns == {
            (1, ends[2024]): (50, 50, 0, seeded["y25"] - timedelta(days=400), ""),  # expired: stays expired
            (1, ends[2025]): (150, 145, 90, seeded["y25"], ""),  # partly spent, and the lot of grams alone
            (1, ends[2026]): (10, 30, 10, datetime(2026, 2, 1, 2, tzinfo=timezone.utc), ""),
            (2, ends[2026]): (20, 20, 20, datetime(2026, 2, 1, 2, tzinfo=timezone.utc), ""),
        }
        others = session.query(LedgerEntry.kind).filter(LedgerEntry.kind != "earn").count()
        assert others == 4  # the expiries, the spend and the adjustment are untouched
        assert ledger_is_consistent(session, 1) and ledger_is_consistent(session, 2)
        assert "credit_id" not in {c["name"] for c in inspect(engine).get_columns("ledger_entries")}


def _notifications(engine) -> list:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT dedupe_key, payload, last_error FROM notifications ORDER BY id")).all()
    return [(key, json.loads(payload) if isinstance(payload, str) else payload, error) for key, payload, error in rows]


def test_digests_keep_their_day_through_the_upgrade_and_their_message_through_the_downgrade(empty_url, tmp_path):
    """Digests queued with their message keep it and their one-per-day key; a downgrade writes built ones out."""
    from sqlalchemy.orm import Session

    from api.config import configure_sqlite_engine
    from carbon_credit.models import Notification
    from carbon_credit.outreach.notifications import digest_payloads

    from .factories import make_resident
    from .ingest_helpers import DAY, NOW, ingest, resident_with_card, trip, write_file

    before = "d5a1c7e9b2f4"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    engine = create_engine(empty_url)
    configure_sqlite_engine(engine)
    with app.app_context():
        upgrade(revision=before)
    with Session(engine) as session:
        queued, other = resident_with_card(session, "310000000001"), make_resident(session)
        session.commit()
        ids = (queued.id, other.id)
    day = DAY.date().isoformat()
    old = {"action_type": "bus_ride", "points": 7, "grams": 300, "balance": 7, "occurred_at": day,
           "action_types": ["bus_ride"], "trips": 1}
    with engine.begin() as conn:
        for resident_id, kind, key, payload in ((ids[0], "credit", f"transit:{day}:{ids[0]}", old),
                                                (ids[1], "credit", "credit:41", {"points": 2})):
            conn.execute(text("INSERT INTO notifications (resident_id, kind, payload, dedupe_key, status, attempts, "
                              "next_attempt_at, last_error, created_at) VALUES (:r, :k, :p, :key, 'pending', 0, :t, "
                              "'', :t)"), {"r": resident_id, "k": kind, "p": json.dumps(payload), "key": key, "t": NOW})
    with app.app_context():
        upgrade()
    assert _notifications(engine) == [(None, old, ""), ("credit:41", {"points": 2}, "")]
    with Session(engine) as session:
        first = session.scalar(select(Notification).where(Notification.resident_id == ids[0]))
        assert first.digest_day == DAY.date() and digest_payloads(session, [first]) == {}  # sent as it was queued
        fresh = resident_with_card(session, "310000000002")
        ingest(session, write_file(tmp_path, [trip("t1", "310000000001", "bus", 8), trip("t2", "310000000002", "bus", 9)]))
        notes = session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [(n.resident_id, n.digest_day) for n in notes] == [(ids[0], DAY.date()), (ids[1], None),
                                                                  (fresh.id, DAY.date())]  # one digest per day
        built = digest_payloads(session, notes)[notes[2].id]
        assert built["points"] > 0
    with app.app_context():
        downgrade(revision=before)
    assert _notifications(engine) == [(f"transit:{day}:{ids[0]}", old, ""), ("credit:41", {"points": 2}, ""),
                                      (f"transit:{day}:{fresh.id}", built, "")]


CREDIT_KEYS_BEFORE = "138998b7d45f"  # the revision before credits took their action's id
# (credit id, action id): chains and a cycle, so some new ids are other credits' old ids.
OLD_CREDITS = [(1, 2), (2, 4), (4, 5), (5, 6), (6, 1)]


def _old_world(conn) -> None:
    """Rows as the revision before keyed them: credits with ids of their own, the account's earn lot."""
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
    conn.execute(text(f"INSERT INTO ledger_entries (id, account_id, kind, points, grams, remaining, expires_at, "
                      f"reason, created_at) VALUES (8, 1, 'earn', 180, 1800, 175, '2027-12-31 16:00:00', '', {stamp})"))
    conn.execute(text(f"INSERT INTO ledger_entries (id, account_id, kind, points, grams, remaining, reason, "
                      f"created_at) VALUES (9, 1, 'spend', -5, 0, 0, 'reward', {stamp})"))


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def test_credits_take_their_actions_ids(empty_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision=CREDIT_KEYS_BEFORE)
        engine = create_engine(empty_url)
        configure_sqlite_engine(engine)  # foreign keys on, as the app's connections have them
        with engine.begin() as conn:
            _old_world(conn)
        engine.dispose()
        upgrade(revision="7c2e5b9a4d13")
    engine = create_engine(empty_url)
    configure_sqlite_engine(engine)
    with engine.begin() as conn:
        credits = conn.execute(text("SELECT id, points, grams, trace FROM credits ORDER BY id")).all()
        assert [(c.id, c.points, c.grams) for c in credits] == [(a, a * 10, a * 100) for a in (1, 2, 4, 5, 6)]
        # A whole trace is kept as it was; a shared form's credit keeps its figures as a bare list.
        assert [_json(c.trace) for c in credits] == [["2"] if c.id == OLD_CREDITS[-1][1] else {"grams": c.grams}
                                                     for c in credits]
        assert conn.execute(text("SELECT id, points, remaining FROM ledger_entries ORDER BY id")).all() == [
            (8, 180, 175), (9, -5, 0)]  # the ledger does not refer to credits: untouched
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


CREDITS_ON_ACTIONS_BEFORE = "4e8b1d6f2a95"  # the revision before credits moved onto their actions' rows
CREDIT_COLUMNS = "id, resident_id, grams, points, trace_form_id, created_at, local_day, rule_set_id, rule_version, " \
                 "action_type, status, quantity, cap_tag, trace"


def _credit_rows(conn) -> list:
    return [tuple(_json(v) if i == 13 else v for i, v in enumerate(row))
            for row in conn.execute(text(f"SELECT {CREDIT_COLUMNS} FROM credits ORDER BY id")).all()]


def test_credits_move_onto_their_actions_and_back_with_every_value(empty_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision=CREDIT_KEYS_BEFORE)
        engine = create_engine(empty_url)
        configure_sqlite_engine(engine)
        with engine.begin() as conn:
            _old_world(conn)
            conn.execute(text("UPDATE credits SET cap_tag = 'fridge', rule_set_id = 3, status = 'capped' "
                              "WHERE action_id = 4"))
            conn.execute(text("UPDATE green_actions SET status = 'rejected' WHERE id = 3"))
        engine.dispose()
        upgrade(revision=CREDITS_ON_ACTIONS_BEFORE)
        engine = create_engine(empty_url)
        with engine.connect() as conn:
            before = _credit_rows(conn)
        engine.dispose()
        upgrade()
    engine = create_engine(empty_url)
    configure_sqlite_engine(engine)
    with engine.begin() as conn:
        assert _credit_rows(conn) == before and len(before) == 5  # the view reads what the table held
        assert "credits" not in inspect(conn).get_table_names() and "credits" in inspect(conn).get_view_names()
        statuses = dict(conn.execute(text("SELECT id, status FROM green_actions")).all())
        assert statuses[4] == "capped" and statuses[3] == "rejected" and statuses[7] == "credited"
        uncredited = conn.execute(text("SELECT id FROM green_actions WHERE local_day IS NULL ORDER BY id")).scalars()
        assert list(uncredited) == [3, 7]
    engine.dispose()

    with app.app_context():
        downgrade(revision=CREDITS_ON_ACTIONS_BEFORE)
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        assert _credit_rows(conn) == before
        assert "credits" in inspect(conn).get_table_names()
        assert "points" not in {c["name"] for c in inspect(conn).get_columns("green_actions")}
    engine.dispose()
