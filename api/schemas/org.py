"""Creating and changing streets and communities (admins)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length

NAME = Length(min=1, max=64)


class StreetCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=NAME, metadata={"example": "大桥街道"})
    district = ma.fields.String(load_default="", validate=Length(max=64), metadata={"example": "济阳区"})


class StreetPatchSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=NAME)


class CommunityCreateSchema(ma.Schema):
    street_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True, validate=NAME, metadata={"example": "滨河社区"})


class CommunityPatchSchema(ma.Schema):
    """Rename, move to another street, or both."""
    name = ma.fields.String(validate=NAME)
    street_id = ma.fields.Integer()
