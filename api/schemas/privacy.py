"""The resident's own data export (GET /api/v1/me/export)."""
from __future__ import annotations

import marshmallow as ma

from .common import Number


class ExportProfileSchema(ma.Schema):
    id = ma.fields.Integer()
    openid = ma.fields.String(allow_none=True)
    unionid = ma.fields.String(allow_none=True)
    community_id = ma.fields.Integer(allow_none=True)
    display_name = ma.fields.String()
    phone_tail = ma.fields.String(allow_none=True, metadata={"description": "Only the last 4 digits are kept"})
    status = ma.fields.String()
    created_at = ma.fields.AwareDateTime()


class ExportAccountSchema(ma.Schema):
    balance = ma.fields.Integer()
    earned_total = ma.fields.Integer()
    grams_total = ma.fields.Integer(metadata={"description": "Grams CO2e credited in total"})


class ExportCreditSchema(ma.Schema):
    status = ma.fields.String()
    points = ma.fields.Integer()
    grams = ma.fields.Integer()
    rule_version = ma.fields.Integer(allow_none=True)
    trace = ma.fields.Dict(metadata={"description": "How the points were computed"})
    created_at = ma.fields.AwareDateTime()


class ExportActionSchema(ma.Schema):
    id = ma.fields.Integer(attribute="action.id")
    action_type = ma.fields.String(attribute="action.action_type")
    quantity = Number(attribute="action.quantity")
    unit = ma.fields.String(attribute="action.unit")
    occurred_at = ma.fields.AwareDateTime(attribute="action.occurred_at")
    source = ma.fields.String(attribute="action.source")
    evidence = ma.fields.String(attribute="action.evidence")
    status = ma.fields.String(attribute="action.status")
    credit = ma.fields.Nested(ExportCreditSchema, allow_none=True)


class ExportLedgerSchema(ma.Schema):
    kind = ma.fields.String()
    points = ma.fields.Integer()
    grams = ma.fields.Integer()
    remaining = ma.fields.Integer()
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    reason = ma.fields.String()
    created_at = ma.fields.AwareDateTime()


class ExportNotificationSchema(ma.Schema):
    kind = ma.fields.String()
    payload = ma.fields.Dict(allow_none=True, metadata={
        "description": "What the message is about; for the daily digest of transit trips, the day's credits as they "
                       "stand now (its balance is the one it was sent with, in sent)"})
    sent = ma.fields.Dict(allow_none=True, metadata={
        "description": "What the message said, once sent: the template's keyword values"})
    status = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    sent_at = ma.fields.AwareDateTime(allow_none=True)


class ResidentExportSchema(ma.Schema):
    exported_at = ma.fields.AwareDateTime()
    resident = ma.fields.Nested(ExportProfileSchema)
    community = ma.fields.String(allow_none=True)
    account = ma.fields.Nested(ExportAccountSchema, allow_none=True)
    actions = ma.fields.List(ma.fields.Nested(ExportActionSchema))
    ledger = ma.fields.List(ma.fields.Nested(ExportLedgerSchema))
    notifications = ma.fields.List(ma.fields.Nested(ExportNotificationSchema))
