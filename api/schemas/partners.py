"""Bodies and responses of the partner administration and the partner events endpoint."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf

from carbon_credit.actions.partner_events import MAX_BATCH, RESULT_STATUSES
from carbon_credit.models.partners import PARTNER_KINDS


class PartnerCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=Length(min=1, max=64))
    kind = ma.fields.String(required=True, validate=OneOf(PARTNER_KINDS))
    action_types = ma.fields.List(ma.fields.String(validate=Length(min=1, max=48)), required=True,
                                  validate=Length(min=1, max=20),
                                  metadata={"description": "Action type codes this partner may send"})
    station_ids = ma.fields.List(ma.fields.Integer(), load_default=list,
                                 metadata={"description": "Stations whose devices this partner operates"})
    active = ma.fields.Boolean(load_default=True)


class PartnerUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=Length(min=1, max=64))
    kind = ma.fields.String(validate=OneOf(PARTNER_KINDS))
    action_types = ma.fields.List(ma.fields.String(validate=Length(min=1, max=48)), validate=Length(min=1, max=20))
    station_ids = ma.fields.List(ma.fields.Integer(), metadata={"description": "Replaces the partner's stations"})
    active = ma.fields.Boolean()


class PartnerSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": " | ".join(PARTNER_KINDS)})
    action_types = ma.fields.List(ma.fields.String())
    station_ids = ma.fields.List(ma.fields.Integer())
    active = ma.fields.Boolean()
    key_id = ma.fields.String(metadata={"description": "Sent as X-Partner-Key"})
    key_issued_at = ma.fields.AwareDateTime()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class IssuedKeySchema(PartnerSchema):
    secret = ma.fields.String(metadata={"description": "Shown only in this response: store it now"})


class PartnerResidentSchema(ma.Schema):
    card_no = ma.fields.String()
    openid = ma.fields.String()
    phone = ma.fields.String()
    resident_id = ma.fields.Integer(metadata={"format": "int64"})


class PartnerEventSchema(ma.Schema):
    """One event (for the documentation: events are checked one by one and answered one by one)."""

    event_id = ma.fields.String(required=True, metadata={"description": "Unique per partner; 1-128 characters"})
    action_type = ma.fields.String(required=True)
    resident = ma.fields.Nested(PartnerResidentSchema, metadata={
        "description": "Exactly one identifier. May be left out for a station weigh-in after the resident "
                       "scanned the station's QR code (the visit's resident is credited)."})
    quantity = ma.fields.Raw(required=True, metadata={
        "description": "In the action type's unit; for recyclables_dropoff, textiles_dropoff and "
                       "kitchen_waste_sorting the weight in kg"})
    unit = ma.fields.String()
    occurred_at = ma.fields.String(required=True, metadata={"description": "ISO 8601 with offset"})
    station_id = ma.fields.Integer(metadata={"description": "Required for smart bins and recycling kiosks"})
    category = ma.fields.String(metadata={"description": "paper | plastic | metal | glass | textiles | kitchen_waste"})
    attributes = ma.fields.Dict()


class PartnerBatchSchema(ma.Schema):
    # Raw dicts: a malformed event is rejected on its own, it never fails the batch.
    events = ma.fields.List(ma.fields.Raw(), required=True, validate=Length(min=1), metadata={
        "description": f"1 to {MAX_BATCH} events shaped like PartnerEvent; more answers 413 batch_too_large"})


class EventErrorSchema(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class EventResultSchema(ma.Schema):
    event_id = ma.fields.Raw()
    status = ma.fields.String(metadata={"description": " | ".join(RESULT_STATUSES)})
    points = ma.fields.Integer()
    grams = ma.fields.Integer()
    error = ma.fields.Nested(EventErrorSchema)


class BatchResultSchema(ma.Schema):
    partner_id = ma.fields.Integer()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    results = ma.fields.List(ma.fields.Nested(EventResultSchema))
