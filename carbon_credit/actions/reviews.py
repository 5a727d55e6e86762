"""The review queue: evidence that waits for a worker or an admin (appliance invoices, photos).

Workers see and decide only for residents of their own communities; admins for
everyone. ``scope`` is the tuple of community ids the reviewer acts in, or None
for all. Approval credits the action with the rules in force when it happened,
as verified evidence (weight 1.0); rejection needs a reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import func, select

from carbon_credit.actions.appliances import settle_claim
from carbon_credit.actions.record import RecordResult, review_action
from carbon_credit.errors import InvalidInput, NotFound
from carbon_credit.models import GreenAction, Resident
from carbon_credit.models.appliances import ApplianceClaim, EvidencePhoto
from carbon_credit.outreach.notifications import enqueue_notification
from carbon_credit.staff.scope import covers, require_community, resident_community

# What a reviewer filters on, and which action statuses each means.
REVIEW_STATUSES = {
    "pending": ("pending_review",),
    "approved": ("credited", "capped"),
    "rejected": ("rejected",),
}
MAX_PAGE_SIZE = 100


@dataclass
class ReviewPage:
    items: list
    page: int
    page_size: int
    total: int


def _queue_query(scope, status: str, action_type: Optional[str], community_id: Optional[int]):
    if status not in REVIEW_STATUSES:
        raise InvalidInput(errors={"status": [f"one of {list(REVIEW_STATUSES)}"]})
    query = (select(GreenAction, Resident).join(Resident, Resident.id == GreenAction.resident_id)
             .where(GreenAction.status.in_(REVIEW_STATUSES[status])))
    if status != "pending":
        query = query.where(GreenAction.reviewed_at.is_not(None))
    if scope is not None:
        query = query.where(Resident.community_id.in_(scope or [-1]))
    if community_id is not None:
        require_community(scope, community_id)
        query = query.where(Resident.community_id == community_id)
    if action_type:
        query = query.where(GreenAction.action_type == action_type)
    return query


def review_item(action: GreenAction, resident: Resident, claim: Optional[ApplianceClaim]) -> dict:
    """One queue entry with the evidence a reviewer needs to decide."""
    credit = action.credit
    return {
        "action_id": action.id, "action_type": action.action_type, "status": action.status,
        "quantity": action.quantity, "unit": action.unit, "occurred_at": action.occurred_at,
        "submitted_at": action.created_at, "source": action.source, "attributes": action.attributes or {},
        "resident": {"id": resident.id, "display_name": resident.display_name,
                     "community_id": resident.community_id, "phone_tail": resident.phone_tail},
        "photo_id": (action.attributes or {}).get("photo_id"),
        "claim": None if claim is None else {"id": claim.id, "status": claim.status, "category": claim.category,
                                             "invoice_no": claim.invoice_no, "invoice_date": claim.invoice_date},
        "review_note": action.review_note, "reviewed_by": action.reviewed_by, "reviewed_at": action.reviewed_at,
        "credit": None if credit is None else {"points": credit.points, "grams": credit.grams,
                                               "status": credit.status, "rule_version": credit.rule_version,
                                               "trace": credit.trace},
    }


def list_reviews(session, *, scope, status: str = "pending", action_type: Optional[str] = None,
                 community_id: Optional[int] = None, page: int = 1, page_size: int = 20) -> ReviewPage:
    page, page_size = max(1, page), min(max(1, page_size), MAX_PAGE_SIZE)
    query = _queue_query(scope, status, action_type, community_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    order = GreenAction.id.asc() if status == "pending" else GreenAction.reviewed_at.desc()
    rows = session.execute(query.order_by(order).offset((page - 1) * page_size).limit(page_size)).all()
    ids = [action.id for action, _ in rows]
    claims = {c.action_id: c for c in session.execute(
        select(ApplianceClaim).where(ApplianceClaim.action_id.in_(ids or [-1]))).scalars()}
    items = [review_item(action, resident, claims.get(action.id)) for action, resident in rows]
    return ReviewPage(items=items, page=page, page_size=page_size, total=total)


def _action_in_scope(session, action_id: int, scope) -> GreenAction:
    """The action, if its resident is the reviewer's; otherwise the same 404 as an unknown action."""
    action = session.get(GreenAction, action_id)
    if action is None or not covers(scope, resident_community(session, action.resident_id)):
        raise NotFound("No such action.", code="action_not_found")
    return action


def review_photo(session, action_id: int, *, scope) -> EvidencePhoto:
    """The evidence photo of an action, for staff allowed to review it."""
    action = _action_in_scope(session, action_id, scope)
    photo_id = (action.attributes or {}).get("photo_id")
    photo = session.get(EvidencePhoto, photo_id) if photo_id is not None else None
    if photo is None:
        raise NotFound("This action has no photo.", code="photo_not_found")
    return photo


def decide_review(session, action_id: int, approve: bool, now: datetime, *, reviewer_id: int, scope,
                  note: str = "") -> RecordResult:
    """Approve (credit) or reject (with a reason) a pending action, and tell the resident."""
    _action_in_scope(session, action_id, scope)
    result = review_action(session, action_id, approve, now, reviewer_id=reviewer_id, note=note.strip())
    settle_claim(session, action_id, approve, now)
    credit = result.credit
    payload = {"action_type": result.action.action_type, "approved": approve,
               "points": credit.points if credit and credit.status == "credited" else 0,
               "reason": note.strip()}
    enqueue_notification(session, result.action.resident_id, "review_result", payload, now,
                         dedupe_key=f"review:{action_id}")
    return result
