"""Request and response bodies of the sign-in endpoints."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length


class StaffLoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=Length(min=1, max=64))
    password = ma.fields.String(required=True, load_only=True, validate=Length(min=1, max=256))


class PasswordChangeSchema(ma.Schema):
    old_password = ma.fields.String(required=True, load_only=True, validate=Length(min=1, max=256))
    new_password = ma.fields.String(required=True, load_only=True, validate=Length(min=1, max=256),
                                    metadata={"description": "At least 10 characters, not the username"})


class WeChatCodeSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=Length(min=1, max=256),
        metadata={"description": "The `code` WeChat appended to the H5 page's redirect (snsapi_base)"},
    )


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, metadata={"example": "Bearer"})
    expires_at = ma.fields.AwareDateTime(required=True, metadata={"description": "ISO 8601, UTC"})


class PrincipalSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "staff | resident"})
    id = ma.fields.Integer(required=True)
    role = ma.fields.String(required=True, metadata={"description": "admin | worker | resident"})
    community_ids = ma.fields.List(
        ma.fields.Integer(),
        allow_none=True,
        metadata={"description": "Communities a worker acts in; null for admins (all communities)"},
    )
