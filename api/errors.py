"""One error envelope for every error the API returns.

``{"code": str, "message": str, "errors": {field: [messages]}}`` — ``errors``
only when there is field-level detail. Clients (and the bot, which maps the
same codes to Chinese text) switch on ``code``, never on the message.
"""
from __future__ import annotations

import logging
import re

import marshmallow as ma
from flask import jsonify
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from carbon_credit.errors import DomainError

# Request locations webargs nests validation messages under.
ARG_LOCATIONS = frozenset(
    {"json", "query", "querystring", "form", "headers", "cookies", "files", "path", "view_args", "json_or_form"}
)
INTERNAL_ERROR_MESSAGE = "An internal error occurred."
OUT_OF_RANGE_MESSAGE = "A value of the input is out of the range the platform can store or compute with."
log = logging.getLogger(__name__)


class ErrorSchema(ma.Schema):
    """The error envelope, for the OpenAPI document (responses are built by hand)."""

    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable error code"})
    message = ma.fields.String(required=True, metadata={"description": "Human-readable explanation"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={"description": "Field-level detail: {field: [messages]}; only for invalid input"},
    )


def envelope(code: str, message: str, status: int, errors: dict | None = None, headers: dict | None = None):
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def code_from_name(name: str) -> str:
    """'Method Not Allowed' -> 'method_not_allowed'; "I'm a teapot" -> 'im_a_teapot'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower().replace("'", "")).strip("_")


def flatten_locations(messages):
    """Drop webargs' location level: {"json": {"f": [...]}} -> {"f": [...]}.

    A field named in two locations keeps the location as a prefix ("query.page")
    so nothing is lost; a location-wide message stays under the location name.
    """
    if not isinstance(messages, dict) or not set(messages) <= ARG_LOCATIONS:
        return messages
    flat = {}
    for location, detail in messages.items():
        if not isinstance(detail, dict):
            flat[location] = detail
            continue
        for field, field_messages in detail.items():
            flat[f"{location}.{field}" if field in flat else field] = field_messages
    return flat


def _is_invalid_json(error: HTTPException, messages) -> bool:
    return error.code == 400 and isinstance(messages, dict) and isinstance(messages.get("json"), list)


def _passthrough_headers(error: HTTPException, data: dict) -> dict:
    """Keep headers that carry meaning (Allow on 405, WWW-Authenticate on 401), not the HTML content type."""
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    return headers


def handle_http_exception(error: HTTPException):
    """Werkzeug errors, flask-smorest/webargs aborts and unhandled exceptions (as 500)."""
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    headers = _passthrough_headers(error, data)
    status = error.code or 500
    if status == 500:
        # Unhandled exceptions arrive here wrapped by Flask, which has already logged
        # them with the traceback; the body never carries internals.
        return envelope("internal_error", INTERNAL_ERROR_MESSAGE, 500, headers=headers)
    if _is_invalid_json(error, messages):
        return envelope("invalid_json", "The request body is not valid JSON.", 400, headers=headers)
    if status == 422:
        return envelope(
            "validation_error",
            data.get("message") or "The input is not valid.",
            422,
            errors=flatten_locations(messages) if isinstance(messages, dict) else None,
            headers=headers,
        )
    message = data.get("message") or error.description or error.name
    errors = flatten_locations(messages) if isinstance(messages, dict) else None
    return envelope(code_from_name(error.name), message, status, errors=errors, headers=headers)


def handle_domain_error(error: DomainError):
    return envelope(
        error.code, error.message, error.status, errors=error.errors, headers=getattr(error, "headers", None)
    )


def handle_value_out_of_range(error: Exception):
    """Input that passed validation but not the arithmetic or the column (PostgreSQL's data exceptions).

    Schemas bound inputs (api/inputs.py), so this is the rare value computed from them, e.g. a
    date pushed past the calendar; nothing was committed, and the request's session is rolled back.
    """
    detail = type(getattr(error, "orig", None) or error).__name__
    log.warning("Refused a request whose values are out of range (%s)", detail)
    return envelope("validation_error", OUT_OF_RANGE_MESSAGE, 422)


def register_error_handlers(app) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(OverflowError, handle_value_out_of_range)
    app.register_error_handler(DataError, handle_value_out_of_range)
    app.register_error_handler(HTTPException, handle_http_exception)
