"""The signed-in resident: profile, balance, history, declaring an action, explanations."""
from __future__ import annotations

from functools import partial

from flask import g
from sqlalchemy import select

from carbon_credit.actions.self_report import Declaration, declare_action
from carbon_credit.errors import NotFound
from carbon_credit.ledger.points import read_resident_balance
from carbon_credit.models import ActionType, Credit, GreenAction
from carbon_credit.reporting.history import history_items, history_query
from carbon_credit.rules.explain import explain_credit
from carbon_credit.timeutil import utcnow

from ..auth import (
    auth_required,
    authenticate_request,
    bearer_documented,
    check_resident,
    current_principal,
    resident_token,
)
from ..errors import ErrorSchema
from ..extensions import db
from ..idempotency import idempotency_key_required
from ..inputs import Blueprint
from ..schemas.common import BalanceSchema
from ..schemas.me import (
    ActionBodySchema,
    CreditExplanationSchema,
    HistoryItemSchema,
    HistoryQuerySchema,
    ProfileSchema,
    RecordedSchema,
)
from .paging import MAX_PAGE_SIZE, PAGE_SIZE, paged

blp = Blueprint("me", __name__, url_prefix="/api/v1/me",
                description="The signed-in resident (role resident): profile, balance, history, actions")


def _me():
    return current_principal().obj


def _type_name(code: str) -> str:
    action_type = db.session.get(ActionType, code)
    return action_type.name if action_type else code


def recorded_view(action: GreenAction, credit: Credit | None) -> dict:
    explanation = explain_credit(credit, _type_name(credit.action_type)) if credit is not None else None
    return {"action": action, "credit": credit, "explanation": explanation}


@blp.get("")
@auth_required("resident")
@blp.response(200, ProfileSchema)
def profile():
    """My profile: name, community and street, status, when I joined."""
    return _me()


@blp.get("/balance")
@partial(bearer_documented, roles=("resident",))
@blp.response(200, BalanceSchema)
def balance():
    """My points, grams CO2e credited, and points expiring in the next 30 days."""
    # The most frequent read of all: the token's account check and the figures in one statement,
    # outside any transaction, so a blocked resident or a revoked token is refused by that same read.
    payload = resident_token()
    if payload is None:
        authenticate_request(("resident",))  # a staff token: refused the way every resident view refuses it
    found = read_resident_balance(db.engine, utcnow(), resident_id=payload["id"])
    check_resident(payload, found and found.status, found and found.token_epoch)
    if found.balance is None:
        raise NotFound("This resident has no points account.", code="account_not_found")
    return found.balance


@blp.get("/history")
@auth_required("resident")
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, HistoryItemSchema(many=True))
@blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def history(filters, pagination_parameters):
    """My actions, newest first, with what each earned; paged (totals in the X-Pagination header).

    `from` and `to` are days on the Asia/Shanghai calendar, both inclusive.
    """
    query = history_query(current_principal().id, **filters)
    return history_items(paged(query, pagination_parameters, scalars=False))


@blp.post("/actions")
@auth_required("resident")
@idempotency_key_required
@blp.arguments(ActionBodySchema)
@blp.response(201, RecordedSchema, description="Recorded and credited (or waiting for review)")
@blp.alt_response(200, schema=RecordedSchema, description="A retry with the same key and body: the first result")
@blp.alt_response(409, schema=ErrorSchema, description="idempotency_key_reused: the key came with another body")
@blp.alt_response(422, schema=ErrorSchema, description="validation_error (also a missing or malformed "
                  "Idempotency-Key), unknown_action_type, not_self_reportable, "
                  "use_appliance_endpoint, quantity_out_of_range, unit_not_supported, time_in_future, too_old")
def declare(body):
    """Declare a green action I did (self-declared evidence, weight 0.5 by default).

    Only action types marked self-reportable; appliance purchases have their own
    endpoint. `occurred_at` may be at most 7 days ago. Nothing is written when
    the request is refused.
    """
    result = declare_action(db.session, current_principal().id, g.idempotency_key, Declaration(**body), utcnow())
    db.session.commit()
    return recorded_view(result.action, result.credit), 201 if result.created else 200


def _own_action(action_id: int) -> GreenAction:
    action = db.session.execute(select(GreenAction).where(
        GreenAction.id == action_id, GreenAction.resident_id == current_principal().id)).scalar_one_or_none()
    if action is None:
        raise NotFound("No such action of yours.", code="action_not_found")
    return action


@blp.get("/actions/<id64:action_id>")
@auth_required("resident")
@blp.response(200, RecordedSchema)
@blp.alt_response(404, schema=ErrorSchema, description="Not one of my actions")
def get_action(action_id):
    """One of my actions with its credit and explanation."""
    action = _own_action(action_id)
    return recorded_view(action, action.credit)


@blp.get("/credits/<id64:credit_id>/explanation")
@auth_required("resident")
@blp.response(200, CreditExplanationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="Not one of my credits")
def explanation(credit_id):
    """How a credit was computed, step by step, from the trace stored with it (the rules of its time)."""
    credit = db.session.execute(select(Credit).where(
        Credit.id == credit_id, Credit.resident_id == current_principal().id)).scalar_one_or_none()
    if credit is None:
        raise NotFound("No such credit of yours.", code="credit_not_found")
    return {**explain_credit(credit, _type_name(credit.action_type)), "credit": credit}
