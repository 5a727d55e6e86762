"""Extension instances, bound to an application by ``create_app``; each application makes its own ``CarbonApi``.

The models stay on carbon_credit's plain DeclarativeBase; Flask-SQLAlchemy
wraps it, so ``db.metadata is Base.metadata`` and the domain never imports Flask.
"""
from __future__ import annotations

from apispec import BasePlugin
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

import carbon_credit.models  # noqa: F401  (every table on the metadata, for Alembic too)
from carbon_credit.db import Base

from .errors import ErrorSchema, handle_http_exception


ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# Answers any operation of a kind can give, whatever its view does; documented where the view
# does not describe them itself, so the status codes listed are the ones a client can get.
NOT_FOUND = "not_found: no such object, or one outside the caller's communities; also an id out of range"
INVALID_JSON = "invalid_json: the body is not valid JSON"
TOO_LARGE = "request_entity_too_large: the body is larger than the platform accepts"


class ErrorAnswersPlugin(BasePlugin):
    """Lists 404 on operations with a path id, 400 and 413 on operations with a JSON body."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            responses = operation.setdefault("responses", {})
            if path and "{" in path:
                responses.setdefault("404", {"description": NOT_FOUND, "content": ERROR_BODY})
            content = (operation.get("requestBody") or {}).get("content") or {}
            if "application/json" in content:
                responses.setdefault("400", {"description": INVALID_JSON, "content": ERROR_BODY})
            if content:
                responses.setdefault("413", {"description": TOO_LARGE, "content": ERROR_BODY})


class CarbonApi(Api):
    """flask-smorest's Api answering errors with the platform's one envelope."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, *, spec_kwargs=None, **kwargs):
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()), ErrorAnswersPlugin()]
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def handle_http_exception(self, error):
        return handle_http_exception(error)


db = SQLAlchemy(model_class=Base)
# Batch mode lets Alembic alter tables on SQLite; compare_type catches column type changes.
migrate = Migrate(render_as_batch=True, compare_type=True)
