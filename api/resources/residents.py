"""Staff look residents up, read their ledgers; admins adjust balances with a reason."""
from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from flask import current_app

from carbon_credit.errors import InvalidInput
from carbon_credit.ledger.points import BalanceSummary, adjust_balance, balance_summary
from carbon_credit.models import Resident
from carbon_credit.reporting.history import ledger_query, resident_search_query
from carbon_credit.residents.accounts import block_resident, phone_hash, unblock_resident
from carbon_credit.staff.scope import require_resident
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal, ensure_community_access
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.accounts import ReasonSchema
from ..schemas.staff import (
    AdjustmentBodySchema,
    AdjustmentSchema,
    LedgerEntrySchema,
    ResidentDetailSchema,
    ResidentQuerySchema,
    ResidentSummarySchema,
)
from .paging import MAX_PAGE_SIZE, PAGE_SIZE, paged

blp = Blueprint("residents", __name__, url_prefix="/api/v1/residents",
                description="Residents for staff: search, balances, ledgers, adjustments")


@dataclass
class ResidentWithBalance:
    resident: Resident
    balance: BalanceSummary

    def __getattr__(self, name):
        return getattr(self.resident, name)


def visible_resident(resident_id: int) -> Resident:
    """The resident, if the caller may see them; a worker gets 404 outside their communities."""
    return require_resident(db.session, current_principal().community_ids, resident_id)


@blp.post("/search")
@auth_required("worker", "admin")
@blp.arguments(ResidentQuerySchema)
@blp.response(200, ResidentSummarySchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="community_id outside a worker's communities")
@blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def search(args, pagination_parameters):
    """Search residents by display name (part of it), openid (its start) or mobile number; filter by
    community and status. An empty body lists everyone visible.

    The search text travels in the body, never in the URL, so proxies and access logs keep no
    phone numbers or openids. Workers search only the residents of their communities.
    """
    if args.get("community_id") is not None:
        ensure_community_access(args["community_id"])
    query = resident_search_query(community_ids=current_principal().community_ids,
                                  phone_hash=_phone_hash_of(args.get("q")), **args)
    return paged(query, pagination_parameters)


def _phone_hash_of(q):
    """When the search text is a mobile number, also match it by its keyed hash."""
    try:
        return phone_hash(q, current_app.config["PHONE_HASH_KEY"]) if q else None
    except InvalidInput:
        return None


@blp.get("/<id64:resident_id>")
@auth_required("worker", "admin")
@blp.response(200, ResidentDetailSchema)
@blp.alt_response(404, schema=ErrorSchema, description="resident_not_found (or outside a worker's communities)")
def detail(resident_id):
    """One resident with their balance."""
    resident = visible_resident(resident_id)
    return ResidentWithBalance(resident, balance_summary(db.session, resident.id, utcnow()))


@blp.get("/<id64:resident_id>/ledger")
@auth_required("worker", "admin")
@blp.response(200, LedgerEntrySchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="resident_not_found")
@blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def ledger(resident_id, pagination_parameters):
    """The resident's ledger entries, newest first: an earn lot per expiry date, spends, expiries, adjustments …"""
    visible_resident(resident_id)
    return paged(ledger_query(resident_id), pagination_parameters)


@blp.post("/<id64:resident_id>/adjustments")
@auth_required("admin")
@blp.arguments(AdjustmentBodySchema)
@blp.response(201, AdjustmentSchema)
@blp.alt_response(404, schema=ErrorSchema, description="resident_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="insufficient_points: the balance would go below zero")
@blp.alt_response(422, schema=ErrorSchema, description="validation_error, invalid_points (0)")
def adjust(body, resident_id):
    """Correct a balance (admins): positive adds a lot, negative takes the oldest points first. Audited."""
    resident = visible_resident(resident_id)
    now = utcnow()
    entry = adjust_balance(db.session, resident.id, body["points"], body["reason"], now,
                           actor_id=current_principal().id, reference=f"adjust:{uuid4()}")
    summary = balance_summary(db.session, resident.id, now)
    db.session.commit()
    return {"entry": entry, "balance": summary}


@blp.post("/<int:resident_id>/block")
@auth_required("admin")
@blp.arguments(ReasonSchema)
@blp.response(200, ResidentSummarySchema)
@blp.alt_response(404, schema=ErrorSchema, description="resident_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="resident_already_blocked, resident_anonymised")
def block(body, resident_id):
    """Suspend a resident (fraud, a stolen card): their tokens are refused at once on every server, the bot
    tells them the account is suspended, and nothing credits them. Audited with the reason."""
    resident = block_resident(db.session, resident_id, utcnow(), actor_id=current_principal().id,
                              reason=body["reason"])
    db.session.commit()
    return resident


@blp.post("/<int:resident_id>/unblock")
@auth_required("admin")
@blp.arguments(ReasonSchema)
@blp.response(200, ResidentSummarySchema)
@blp.alt_response(404, schema=ErrorSchema, description="resident_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="resident_not_blocked")
def unblock(body, resident_id):
    """Lift a block; the resident signs in afresh (tokens from before the block stay refused). Audited."""
    resident = unblock_resident(db.session, resident_id, utcnow(), actor_id=current_principal().id,
                                reason=body["reason"])
    db.session.commit()
    return resident
