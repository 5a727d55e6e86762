"""Staff accounts (list, create, communities, disable, password reset) and blocking residents."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf, Range

from carbon_credit.staff.accounts import STAFF_ROLES

COMMUNITY_ID = ma.fields.Integer(strict=True, validate=Range(min=1, max=2**31 - 1))
REASON = {"required": True, "validate": Length(min=1, max=256),
          "metadata": {"description": "Why, for the audit log"}}


class StaffAccountSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, metadata={"description": " | ".join(STAFF_ROLES)})
    active = ma.fields.Boolean(required=True)
    community_ids = ma.fields.List(ma.fields.Integer(), required=True,
                                   metadata={"description": "A worker's communities; empty for admins (all)"})
    created_at = ma.fields.AwareDateTime(required=True)


class StaffQuerySchema(ma.Schema):
    role = ma.fields.String(load_default=None, validate=OneOf(STAFF_ROLES))
    active = ma.fields.Boolean(load_default=None, allow_none=True)


class StaffCreateSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=Length(min=1, max=64))
    password = ma.fields.String(required=True, load_only=True, validate=Length(min=1, max=256),
                                metadata={"description": "At least 10 characters, not the username"})
    role = ma.fields.String(required=True, validate=OneOf(STAFF_ROLES))
    display_name = ma.fields.String(load_default="", validate=Length(max=64))
    community_ids = ma.fields.List(COMMUNITY_ID, load_default=list, validate=Length(max=500),
                                   metadata={"description": "Required (at least one) for a worker"})


class CommunityAssignmentSchema(ma.Schema):
    community_ids = ma.fields.List(COMMUNITY_ID, required=True, validate=Length(min=1, max=500))


class ReasonSchema(ma.Schema):
    reason = ma.fields.String(**REASON)


class PasswordResetSchema(ma.Schema):
    new_password = ma.fields.String(required=True, load_only=True, validate=Length(min=1, max=256),
                                    metadata={"description": "At least 10 characters, not the username"})
