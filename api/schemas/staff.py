"""Streets, communities, resident search, ledgers, adjustments and the audit log."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf, Range

from carbon_credit.models import ENTRY_KINDS

from .common import BalanceSchema

RESIDENT_STATUSES = ("active", "unfollowed", "anonymised", "blocked")


class CommunitySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    street_id = ma.fields.Integer(required=True)
    street_name = ma.fields.Function(lambda community: community.street.name)


class StreetCommunitySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class StreetSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    district = ma.fields.String(required=True)
    communities = ma.fields.List(ma.fields.Nested(StreetCommunitySchema), required=True)


class CommunityQuerySchema(ma.Schema):
    street_id = ma.fields.Integer()


class ResidentQuerySchema(ma.Schema):
    q = ma.fields.String(validate=Length(min=1, max=64),
                         metadata={"description": "Part of the display name, the start of the openid, or a mobile number"})
    community_id = ma.fields.Integer()
    status = ma.fields.String(validate=OneOf(RESIDENT_STATUSES))


class ResidentSummarySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    openid = ma.fields.String(allow_none=True)
    display_name = ma.fields.String(required=True)
    community_id = ma.fields.Integer(allow_none=True)
    community_name = ma.fields.Function(lambda r: r.community.name if r.community else None)
    status = ma.fields.String(required=True)
    phone_tail = ma.fields.String(allow_none=True, metadata={"description": "Last four digits only"})
    created_at = ma.fields.AwareDateTime(required=True)


class ResidentDetailSchema(ResidentSummarySchema):
    balance = ma.fields.Nested(BalanceSchema, required=True)


class LedgerEntrySchema(ma.Schema):
    """One ledger entry. An earn entry is the account's earn lot of one expiry date: the sum of every credit
    that earned points expiring then (the credits themselves are the resident's history, one per action)."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": " | ".join(ENTRY_KINDS)})
    points = ma.fields.Integer(required=True, metadata={"description": "Signed: + earns, − spends"})
    grams = ma.fields.Integer(required=True)
    remaining = ma.fields.Integer(required=True, metadata={"description": "Unspent points of a lot"})
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    reason = ma.fields.String(required=True)
    actor_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True, metadata={"description": "For an earn lot: its first earn"})


class AdjustmentBodySchema(ma.Schema):
    points = ma.fields.Integer(required=True, strict=True, validate=Range(min=-1_000_000, max=1_000_000),
                               metadata={"description": "Non-zero: positive adds a lot, negative takes oldest first"})
    reason = ma.fields.String(required=True, validate=Length(min=1, max=256))


class AdjustmentSchema(ma.Schema):
    entry = ma.fields.Nested(LedgerEntrySchema, required=True)
    balance = ma.fields.Nested(BalanceSchema, required=True)


class AuditQuerySchema(ma.Schema):
    verb = ma.fields.String(validate=Length(min=1, max=48), metadata={"example": "rule_set.activate"})
    target_type = ma.fields.String(validate=Length(min=1, max=32))
    target_id = ma.fields.String(validate=Length(min=1, max=64))
    actor_id = ma.fields.Integer()


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    actor_kind = ma.fields.String(required=True)
    actor_id = ma.fields.Integer(allow_none=True)
    verb = ma.fields.String(required=True)
    target_type = ma.fields.String(required=True)
    target_id = ma.fields.String(allow_none=True)
    detail = ma.fields.Dict(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
