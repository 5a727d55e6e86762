"""Residents claim grade-1 appliance purchases with an invoice photo; claims wait for review."""
from __future__ import annotations

from flask.views import MethodView

from carbon_credit.actions.appliances import (
    MAX_PHOTO_BYTES,
    ApplianceSubmission,
    claims_of,
    submit_appliance_claim,
)
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..limits import limit_body
from ..schemas.appliances import ApplianceClaimSchema, ApplianceSubmissionSchema

# The photo plus the form fields and multipart framing.
MAX_BODY_BYTES = MAX_PHOTO_BYTES + 256 * 1024

blp = Blueprint("appliances", __name__, url_prefix="/api/v1/me/appliances",
                description="Grade-1 (一级能效) appliance purchases. Categories: refrigerator, air_conditioner, "
                            "washing_machine, water_heater, tv, other. One per category per year; an invoice "
                            "number is credited once across all residents.")


@blp.route("")
class Appliances(MethodView):
    @auth_required("resident")
    @blp.response(200, ApplianceClaimSchema(many=True))
    def get(self):
        """The caller's claims, newest first."""
        return claims_of(db.session, current_principal().id)

    @limit_body(MAX_BODY_BYTES)
    @auth_required("resident")
    @blp.arguments(ApplianceSubmissionSchema, location="multipart")
    @blp.response(201, ApplianceClaimSchema)
    @blp.alt_response(409, schema=ErrorSchema,
                      description="invoice_already_claimed or appliance_category_claimed (one per category per year)")
    @blp.alt_response(413, schema=ErrorSchema, description="Photo over 5 MB (photo_too_large)")
    @blp.alt_response(422, schema=ErrorSchema,
                      description="not_grade_1, unsupported_photo_type (JPEG or PNG only) or invalid fields")
    def post(self, form):
        """Submit a purchase (multipart/form-data); it earns nothing until a worker or admin approves it."""
        photo = form.pop("photo").stream.read(MAX_PHOTO_BYTES + 1)
        claim = submit_appliance_claim(db.session, current_principal().id, ApplianceSubmission(**form, photo=photo),
                                       utcnow())
        db.session.commit()
        return claim
