"""The review queue for workers (their communities' residents) and admins (everyone)."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from carbon_credit.actions.reviews import MAX_PAGE_SIZE, decide_review, list_reviews, review_photo
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.appliances import ReviewDecisionSchema, ReviewItemSchema, ReviewQuerySchema, ReviewResultSchema

blp = Blueprint("reviews", __name__, url_prefix="/api/v1/reviews",
                description="Evidence waiting for review (appliance invoices): approve to credit, reject with a reason")


@blp.route("")
class Reviews(MethodView):
    @auth_required("worker", "admin")
    @blp.arguments(ReviewQuerySchema, location="query")
    @blp.response(200, ReviewItemSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema, description="community_id outside a worker's communities")
    @blp.paginate(page_size=20, max_page_size=MAX_PAGE_SIZE)
    def get(self, args, pagination_parameters):
        """Pending (oldest first) or decided (newest first) actions with their evidence; X-Pagination has the total."""
        found = list_reviews(db.session, scope=current_principal().community_ids, page=pagination_parameters.page,
                             page_size=pagination_parameters.page_size, **args)
        pagination_parameters.item_count = found.total
        return found.items


@blp.get("/<id64:action_id>/photo")
@auth_required("worker", "admin")
@blp.response(200, description="The photo bytes (image/jpeg or image/png)")
@blp.alt_response(404, schema=ErrorSchema, description="No such action or no photo")
def photo(action_id):
    """Stream the evidence photo to staff who may review the action."""
    found = review_photo(db.session, action_id, scope=current_principal().community_ids)
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["ETag"] = found.sha256
    return response


@blp.post("/<id64:action_id>")
@auth_required("worker", "admin")
@blp.arguments(ReviewDecisionSchema)
@blp.response(200, ReviewResultSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such action (or its resident is outside the worker's communities)")
@blp.alt_response(409, schema=ErrorSchema, description="Already reviewed (already_reviewed)")
def decide(body, action_id):
    """Approve (credited with the rules in force at the action's time, as verified) or reject with a reason."""
    principal = current_principal()
    result = decide_review(db.session, action_id, body["approve"], utcnow(), reviewer_id=principal.id,
                           scope=principal.community_ids, note=body["note"])
    db.session.commit()
    credit = result.credit
    return {"action_id": result.action.id, "status": result.action.status,
            "points": credit.points if credit else 0, "grams": credit.grams if credit else 0,
            "trace": credit.trace if credit else None}
