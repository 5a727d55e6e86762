"""审核: evidence waiting for a decision, one item at a time with its photo; deciding brings the next (htmx)."""
from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from carbon_credit.actions.reviews import decide_review, list_reviews, review_photo
from carbon_credit.actions.types import list_action_types
from carbon_credit.errors import DomainError
from carbon_credit.reporting.overview import visible_communities
from carbon_credit.residents.onsite import community_label
from carbon_credit.timeutil import utcnow

from .. import texts
from ..database import db
from ..forms import DECISIONS, ReviewForm
from . import console


def _filters() -> dict:
    action_type = request.values.get("type") or None
    community = request.values.get("community", "")
    return {"action_type": action_type, "community_id": int(community) if community.isdigit() else None}


def _position() -> int:
    value = request.values.get("page", "1")
    return max(1, int(value)) if value.isdigit() else 1


def _item(position: int, filters: dict):
    """The ``position``-th pending item (oldest first) and how many wait in all."""
    found = list_reviews(db.session, scope=g.scope, status="pending", page=position, page_size=1, **filters)
    if not found.items and position > 1 and found.total:
        found = list_reviews(db.session, scope=g.scope, status="pending", page=found.total, page_size=1, **filters)
        position = found.total
    return (found.items[0] if found.items else None), found.total, position


def _render_item(form, filters, position, notice=None, status=200):
    item, total, position = _item(position, filters)
    names = {t.code: t.name for t in list_action_types(db.session)}
    context = dict(item=item, total=total, position=position, form=form, filters=filters, notice=notice,
                   type_names=names, categories=texts.APPLIANCE, decisions=DECISIONS,
                   community=community_label(db.session, item["resident"]["community_id"]) if item else "")
    if request.headers.get("HX-Request"):
        return render_template("console/_review_item.html", **context), status
    types = [t for t in list_action_types(db.session) if t.needs_review or t.self_report]
    return render_template("console/reviews.html", types=types,
                           communities=visible_communities(db.session, g.scope), **context), status


@console.get("/reviews")
def reviews():
    return _render_item(ReviewForm(formdata=None), _filters(), _position())


@console.post("/reviews/<int:action_id>")
def review_decide(action_id):
    form, filters, position = ReviewForm(), _filters(), _position()
    if not form.validate_on_submit():
        return _render_item(form, filters, position, status=200 if request.headers.get("HX-Request") else 422)
    approve = form.decision.data == "approve"
    try:
        result = decide_review(db.session, action_id, approve, utcnow(), reviewer_id=g.staff.id, scope=g.scope,
                               note=form.note.data or "")
    except DomainError as error:
        db.session.rollback()
        if getattr(error, "status", 400) == 404:
            raise
        return _render_item(ReviewForm(formdata=None), filters, position, notice=texts.error_text(error.code))
    db.session.commit()
    points = result.credit.points if result.credit and result.credit.status == "credited" else 0
    notice = f"已通过，居民获得 {points} 积分。" if approve else "已驳回，已通知居民。"
    if not request.headers.get("HX-Request"):
        flash(notice)
        return redirect(url_for("console.reviews", page=position, **{k: v for k, v in request.args.items()
                                                                    if k in ("type", "community")}))
    return _render_item(ReviewForm(formdata=None), filters, position, notice=notice)


@console.get("/reviews/<int:action_id>/photo")
def review_photo_file(action_id):
    photo = review_photo(db.session, action_id, scope=g.scope)
    response = Response(photo.data, mimetype=photo.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
