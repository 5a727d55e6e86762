"""Bodies and responses of stations and on-site weigh-ins."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf, Range

from carbon_credit.actions.weighins import WEIGH_IN_CATEGORIES
from carbon_credit.models.stations import STATION_KINDS

from .common import Number


class StationCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=Length(min=1, max=64))
    kind = ma.fields.String(required=True, validate=OneOf(STATION_KINDS))
    community_id = ma.fields.Integer(required=True)
    address = ma.fields.String(load_default="", validate=Length(max=256))
    partner_id = ma.fields.Integer(allow_none=True, load_default=None,
                                   metadata={"description": "The partner whose devices weigh here"})
    active = ma.fields.Boolean(load_default=True)


class StationUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=Length(min=1, max=64))
    kind = ma.fields.String(validate=OneOf(STATION_KINDS))
    community_id = ma.fields.Integer()
    address = ma.fields.String(validate=Length(max=256))
    partner_id = ma.fields.Integer(allow_none=True)
    active = ma.fields.Boolean()


class StationQuerySchema(ma.Schema):
    community_id = ma.fields.Integer()
    active = ma.fields.Boolean()


class StationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": " | ".join(STATION_KINDS)})
    community_id = ma.fields.Integer()
    address = ma.fields.String()
    partner_id = ma.fields.Integer(allow_none=True)
    active = ma.fields.Boolean()
    qr_scene = ma.fields.String(metadata={"description": "Permanent QR scene string, station:<id>"})
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class WeighInSchema(ma.Schema):
    """Name the resident by exactly one of phone, card_no, resident_id."""

    phone = ma.fields.String(validate=Length(max=20))
    card_no = ma.fields.String(validate=Length(max=32))
    resident_id = ma.fields.Integer(metadata={"format": "int64"})
    category = ma.fields.String(required=True, validate=OneOf(list(WEIGH_IN_CATEGORIES)))
    weight_kg = ma.fields.Decimal(required=True, places=3, validate=Range(min=0, min_inclusive=False),
                                  metadata={"description": "kg, > 0 and at most the rule's maximum"})
    occurred_at = ma.fields.AwareDateTime(load_default=None, metadata={"description": "Defaults to now"})

    @ma.validates_schema
    def _one_resident(self, data, **_kwargs):
        named = [k for k in ("phone", "card_no", "resident_id") if data.get(k) not in (None, "")]
        if len(named) != 1:
            raise ma.ValidationError("exactly one of phone, card_no, resident_id", "resident")


class RecordedActionSchema(ma.Schema):
    action_id = ma.fields.Integer()
    action_type = ma.fields.String()
    status = ma.fields.String()
    quantity = Number()
    unit = ma.fields.String()
    points = ma.fields.Integer()
    grams = ma.fields.Integer()
    replayed = ma.fields.Boolean(metadata={"description": "True when the Idempotency-Key was seen before"})
