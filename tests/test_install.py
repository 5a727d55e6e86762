"""A production install from nothing: secrets required, default rules by migration, a first admin by CLI.

The set-up sequence of the README, step by step, on an empty database: the app
refuses to start without its secrets, `flask db upgrade` installs the default
action types and rule set version 1 and no demo data, `flask staff create-admin`
makes the first admin, who signs in, drafts a rule set, and an ingested trip credits.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from api import create_app
from api.config import ConfigurationError, normalise_database_url
from carbon_credit.actions.card_trips import bind_card
from carbon_credit.demo.seed import seed_demo
from carbon_credit.errors import InvalidInput
from carbon_credit.models import Account, ActionType, Resident, RuleSet, Staff, Street
from carbon_credit.rules.install import install_default_rule_set
from carbon_credit.staff.accounts import check_password_policy
from carbon_credit.timeutil import local_date, start_of_local_day, utcnow

from .factories import FAST_HASH_METHOD, FIXED_NOW, make_resident
from .ingest_helpers import trip, write_file

ROOT = Path(__file__).resolve().parent.parent
PG_URL = normalise_database_url(os.environ.get("TEST_DATABASE_URL"))
SECRETS = {"SECRET_KEY": "install-secret", "CARD_HASH_KEY": "install-card", "PHONE_HASH_KEY": "install-phone",
           "OPENID_HASH_KEY": "install-openid"}
ADMIN_PASSWORD = "a long first password"


def _empty_pg_database() -> str:
    url = make_url(PG_URL)
    name = f"{url.database}_install"
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
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    return _empty_pg_database()


@pytest.fixture
def production_env(monkeypatch, empty_url):
    """The environment of a production host: DATABASE_URL and every secret, nothing else."""
    for name in ("DATABASE_URL", "REDIS_URL", "WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_AES_KEY",
                 *SECRETS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", empty_url)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return empty_url


def _dispose(app):
    from api.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


# --- the sequence end to end ---------------------------------------------------------------

def test_a_fresh_install_credits_its_first_trip_with_no_demo_data(production_env, tmp_path):
    from api.extensions import db

    app = create_app()
    runner = app.test_cli_runner()
    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    created = runner.invoke(args=["staff", "create-admin", "root"], input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert created.exit_code == 0, created.output
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "root", "password": ADMIN_PASSWORD})
    assert token.status_code == 200, token.get_json()
    auth = {"Authorization": f"Bearer {token.get_json()['access_token']}"}

    listed = client.get("/api/v1/rule-sets", headers=auth)
    assert listed.status_code == 200
    assert [(r["version"], r["state"]) for r in listed.get_json()] == [(1, "active")]
    draft = client.post("/api/v1/rule-sets", json={"note": "first change"}, headers=auth)
    assert draft.status_code == 201, draft.get_json()
    assert draft.get_json()["version"] == 2

    with app.app_context():
        session = db.session
        assert session.scalar(select(func.count()).select_from(Street)) == 0  # no demo data
        assert session.scalars(select(Staff.username)).all() == ["root"]
        assert session.scalar(select(func.count()).select_from(ActionType)) == 10
        resident = make_resident(session, "o-first", now=utcnow())
        bind_card(session, resident.id, "310000009999", utcnow(), key=app.config["CARD_HASH_KEY"],
                  claim_window=timedelta(days=app.config["CARD_CLAIM_WINDOW_DAYS"]))
        session.commit()
        resident_id = resident.id
    yesterday = start_of_local_day(local_date(utcnow()) - timedelta(days=1))
    path = write_file(tmp_path, [trip("first-1", "310000009999", "metro", 8, distance="5", day=yesterday)])
    ingested = runner.invoke(args=["ingest", "transit", path])
    assert ingested.exit_code == 0, ingested.output
    assert "credited: 1" in " ".join(ingested.output.split())
    with app.app_context():
        assert db.session.get(Account, resident_id).balance == 234  # 5 km x 46.8 g, one point a gram
    _dispose(app)


def test_the_demo_seeds_on_top_of_a_migrated_database_and_stays_idempotent(empty_url):
    from flask_migrate import upgrade

    from api.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        upgrade()  # a second upgrade finds the head and changes nothing
        hash_ = lambda p: __import__("werkzeug.security").security.generate_password_hash(p, FAST_HASH_METHOD)  # noqa: E731
        created = seed_demo(db.session, FIXED_NOW, hash_, residents=3, days=2)
        db.session.commit()
        assert created["residents"] == 3 and created["actions"] > 0
        assert seed_demo(db.session, FIXED_NOW, hash_) == {}
        assert db.session.scalar(select(func.count()).select_from(RuleSet)) == 1
        assert db.session.scalar(select(func.count()).select_from(Resident)) == 3
    _dispose(app)


def _rule_set_as_data(session) -> dict:
    rule_set = session.scalars(select(RuleSet)).one()
    types = {t.code: {c: getattr(t, c) for c in ("name", "unit", "units", "category", "evidence", "needs_review",
                                                  "self_report", "active", "description")}
             for t in session.scalars(select(ActionType))}
    rules = {r.action_type: {c: getattr(r, c) for c in ("method", "factors", "points_per_gram", "points_per_unit",
                                                         "evidence_weights", "min_quantity", "max_quantity",
                                                         "params", "source")}
             for r in rule_set.rules}
    return {"version": rule_set.version, "status": rule_set.status, "note": rule_set.note, "caps": rule_set.caps,
            "types": types, "rules": rules}


def test_the_migrated_version_1_is_the_catalogue_the_demo_and_tests_install(empty_url, session):
    """The migration carries a snapshot of carbon_credit/rules/defaults.py; the two must not drift apart."""
    from flask_migrate import upgrade

    from api.extensions import db

    install_default_rule_set(session, FIXED_NOW, FIXED_NOW)
    session.commit()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        migrated = _rule_set_as_data(db.session)
        effective = db.session.scalars(select(RuleSet.effective_from)).one()
    _dispose(app)
    assert migrated == _rule_set_as_data(session)
    assert migrated["rules"]["metro_ride"]["points_per_gram"] == Decimal(1)
    assert effective.isoformat() == "2023-12-31T16:00:00+00:00"  # 2024-01-01 00:00 Shanghai


def test_an_install_that_already_has_rules_keeps_them(empty_url):
    from flask_migrate import upgrade

    from api.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="3c8e51a0d7b2")
        install_default_rule_set(db.session, FIXED_NOW, FIXED_NOW)
        db.session.scalars(select(RuleSet)).one().note = "set up by hand"
        db.session.commit()
        upgrade()
        assert db.session.scalars(select(RuleSet.note)).all() == ["set up by hand"]
    _dispose(app)


# --- the first admin -------------------------------------------------------------------------

@pytest.mark.parametrize("password, problem", [("short-pw", "at least 10"), ("Operator01", "username")])
def test_the_password_policy_refuses_short_passwords_and_the_username(password, problem):
    with pytest.raises(InvalidInput) as refused:
        check_password_policy("operator01", password)
    assert problem in " ".join(refused.value.errors["password"])
    check_password_policy("operator01", "ten chars!")


def test_create_admin_reads_the_password_from_stdin_and_applies_the_policy(app, runner, client, session):
    weak = runner.invoke(args=["staff", "create-admin", "ops", "--password-stdin"], input="ops-short\n")
    assert weak.exit_code != 0 and "at least 10 characters" in weak.output
    same = runner.invoke(args=["staff", "create", "ops-user-1", "--role", "admin", "--password", "ops-user-1"])
    assert same.exit_code != 0 and "Must not be the username" in same.output
    assert session.scalar(select(func.count()).select_from(Staff)) == 0
    made = runner.invoke(args=["staff", "create-admin", "ops", "--password-stdin"], input=ADMIN_PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    signed_in = client.post("/api/v1/auth/token", json={"username": "ops", "password": ADMIN_PASSWORD})
    assert signed_in.status_code == 200 and signed_in.get_json()["access_token"]


def test_create_admin_prompts_twice_and_refuses_a_mismatch(runner, session):
    result = runner.invoke(args=["staff", "create-admin", "ops"], input=f"{ADMIN_PASSWORD}\nsomething else\n"
                                                                        f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower() or "don't match" in result.output.lower()
    assert session.scalars(select(Staff.role)).all() == ["admin"]


# --- secrets ---------------------------------------------------------------------------------

def test_production_refuses_to_start_without_its_secrets(production_env, monkeypatch):
    for name in SECRETS:
        monkeypatch.delenv(name)
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    message = str(refused.value)
    for name in SECRETS:
        assert name in message
    monkeypatch.setenv("SECRET_KEY", "only-the-secret")
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    assert "SECRET_KEY" not in str(refused.value).split(" not set")[0]
    assert "OPENID_HASH_KEY" in str(refused.value)


def test_production_refuses_the_published_development_key(production_env, monkeypatch):
    from api.config import DEV_SECRET_KEY

    monkeypatch.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app()


def test_production_uses_the_hash_keys_it_is_given(production_env):
    from bot.settings import bot_settings

    app = create_app()
    assert app.config["CARD_HASH_KEY"] == "install-card"
    assert bot_settings(app).keys.openid_hash == "install-openid"
    assert app.config["DEMO_MODE"] is False


def test_the_demo_starts_on_its_own_keys_and_warns_only_when_serving(monkeypatch, caplog):
    for name in ("DATABASE_URL", *SECRETS):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING):
        app = create_app()
        assert "SECRET_KEY" not in caplog.text
        assert app.config["DEMO_MODE"] is True and app.config["OPENID_HASH_KEY"]
        assert app.test_client().get("/ping").status_code == 200
        app.test_client().get("/ping")
    assert caplog.text.count("SECRET_KEY is not set") == 1


def _flask(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", *SECRETS)}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_help_prints_no_warning_in_the_demo():
    result = _flask("--help", env={})
    assert result.returncode == 0
    assert "SECRET_KEY" not in result.stdout + result.stderr
    assert "demo" in result.stdout


def test_a_production_command_without_secrets_says_what_is_missing(tmp_path):
    result = _flask("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}"})
    assert result.returncode != 0
    assert "Refusing to start: SECRET_KEY, CARD_HASH_KEY, PHONE_HASH_KEY, OPENID_HASH_KEY not set" in result.stderr
    assert not (tmp_path / "p.sqlite3").exists()
