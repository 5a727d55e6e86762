"""Personal data stays out of logs: statement parameters are hidden outside debug."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api import create_app
from api.extensions import db

from .conftest import TEST_WECHAT

PHONE = "13800138000"


def failed_statement_message(app) -> str:
    with app.app_context():
        with pytest.raises(DBAPIError) as raised:
            db.session.execute(text("SELECT * FROM no_such_table WHERE phone = :phone"), {"phone": PHONE})
        db.session.rollback()
        return str(raised.value)


def test_a_failed_statement_does_not_carry_its_parameters_into_the_error_log(app):
    message = failed_statement_message(app)
    assert "no_such_table" in message
    assert PHONE not in message and "parameters hidden" in message


def test_debugging_shows_the_parameters(db_url):
    app = create_app({"TESTING": True, "DEBUG": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "k",
                      "REDIS_URL": None, **TEST_WECHAT})
    try:
        assert PHONE in failed_statement_message(app)
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
