"""Extension instances, bound to an application by ``create_app``; each application makes its own ``CarbonApi``.

The models stay on carbon_credit's plain DeclarativeBase; Flask-SQLAlchemy
wraps it, so ``db.metadata is Base.metadata`` and the domain never imports Flask.
"""
from __future__ import annotations

from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

import carbon_credit.models  # noqa: F401  (every table on the metadata, for Alembic too)
from carbon_credit.db import Base

from .errors import ErrorSchema, handle_http_exception


class CarbonApi(Api):
    """flask-smorest's Api answering errors with the platform's one envelope."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)


db = SQLAlchemy(model_class=Base)
# Batch mode lets Alembic alter tables on SQLite; compare_type catches column type changes.
migrate = Migrate(render_as_batch=True, compare_type=True)
