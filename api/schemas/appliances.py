"""Appliance claims (multipart form), the review queue and the resident's phone."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow.validate import Length, OneOf, Range

from carbon_credit.actions.reviews import REVIEW_STATUSES
from carbon_credit.models.appliances import APPLIANCE_CATEGORIES

from .common import Number


class ApplianceFormSchema(ma.Schema):
    category = ma.fields.String(required=True, validate=OneOf(APPLIANCE_CATEGORIES),
                                metadata={"description": " | ".join(APPLIANCE_CATEGORIES)})
    energy_grade = ma.fields.Integer(required=True, validate=Range(1, 5),
                                     metadata={"description": "China Energy Label grade; only 1 earns (else 422 not_grade_1)"})
    brand = ma.fields.String(required=True, validate=Length(min=1, max=64))
    model = ma.fields.String(required=True, validate=Length(min=1, max=64))
    label_kwh = ma.fields.Decimal(required=True, validate=Range(min=0, min_inclusive=False),
                                  metadata={"description": "Annual kWh printed on the energy label"})
    invoice_no = ma.fields.String(required=True, validate=Length(min=1, max=64))
    invoice_date = ma.fields.Date(required=True, metadata={"description": "Not in the future, within 180 days"})


class ApplianceSubmissionSchema(ApplianceFormSchema):
    """The form fields and the photo: one multipart/form-data body."""

    photo = Upload(required=True, metadata={"description": "Invoice photo, JPEG or PNG, at most 5 MB"})


class ApplianceClaimSchema(ma.Schema):
    id = ma.fields.Integer()
    action_id = ma.fields.Integer()
    category = ma.fields.String()
    invoice_no = ma.fields.String()
    invoice_date = ma.fields.Date()
    status = ma.fields.String(metadata={"description": "pending | approved | rejected"})
    photo_id = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()


class ReviewQuerySchema(ma.Schema):
    status = ma.fields.String(load_default="pending", validate=OneOf(list(REVIEW_STATUSES)))
    action_type = ma.fields.String()
    community_id = ma.fields.Integer()


class ReviewResidentSchema(ma.Schema):
    id = ma.fields.Integer()
    display_name = ma.fields.String()
    community_id = ma.fields.Integer(allow_none=True)
    phone_tail = ma.fields.String(allow_none=True)


class ReviewClaimSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String()
    category = ma.fields.String()
    invoice_no = ma.fields.String()
    invoice_date = ma.fields.Date()


class ReviewCreditSchema(ma.Schema):
    points = ma.fields.Integer()
    grams = ma.fields.Integer()
    status = ma.fields.String()
    rule_version = ma.fields.Integer(allow_none=True)
    trace = ma.fields.Dict()


class ReviewItemSchema(ma.Schema):
    action_id = ma.fields.Integer()
    action_type = ma.fields.String()
    status = ma.fields.String()
    quantity = Number()
    unit = ma.fields.String()
    occurred_at = ma.fields.AwareDateTime()
    submitted_at = ma.fields.AwareDateTime()
    source = ma.fields.String()
    attributes = ma.fields.Dict()
    resident = ma.fields.Nested(ReviewResidentSchema)
    photo_id = ma.fields.Integer(allow_none=True)
    photo_url = ma.fields.Method("_photo_url")
    claim = ma.fields.Nested(ReviewClaimSchema, allow_none=True)
    review_note = ma.fields.String()
    reviewed_by = ma.fields.Integer(allow_none=True)
    reviewed_at = ma.fields.AwareDateTime(allow_none=True)
    credit = ma.fields.Nested(ReviewCreditSchema, allow_none=True)

    def _photo_url(self, item):
        return f"/api/v1/reviews/{item['action_id']}/photo" if item.get("photo_id") else None


class ReviewDecisionSchema(ma.Schema):
    approve = ma.fields.Boolean(required=True)
    note = ma.fields.String(load_default="", validate=Length(max=256),
                            metadata={"description": "Required when rejecting: the reason the resident is told"})


class ReviewResultSchema(ma.Schema):
    action_id = ma.fields.Integer()
    status = ma.fields.String()
    points = ma.fields.Integer()
    grams = ma.fields.Integer()
    trace = ma.fields.Dict(allow_none=True)


class PhoneSchema(ma.Schema):
    phone = ma.fields.String(required=True, validate=Length(min=11, max=20))


class PhoneResultSchema(ma.Schema):
    phone_tail = ma.fields.String()
