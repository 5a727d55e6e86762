"""The resident's own area: profile, balance, history, recording an action, explanations."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf

from carbon_credit.models import ACTION_STATUSES

from .common import Number, max_places


class StreetRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class CommunityRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    street = ma.fields.Nested(StreetRefSchema, required=True)


class ProfileSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    display_name = ma.fields.String(required=True)
    community = ma.fields.Nested(CommunityRefSchema, allow_none=True)
    status = ma.fields.String(required=True, metadata={"description": "active | unfollowed | anonymised | blocked"})
    joined = ma.fields.AwareDateTime(attribute="created_at", required=True)


class HistoryQuerySchema(ma.Schema):
    action_type = ma.fields.String(validate=Length(min=1, max=48))
    status = ma.fields.String(validate=OneOf(ACTION_STATUSES))
    since = ma.fields.Date(data_key="from", metadata={"description": "First day, Asia/Shanghai calendar (inclusive)"})
    until = ma.fields.Date(data_key="to", metadata={"description": "Last day, Asia/Shanghai calendar (inclusive)"})

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ma.ValidationError("must not be before 'from'", field_name="to")


class HistoryItemSchema(ma.Schema):
    """One action of the history with what it earned (grams, points, rule version: null until credited)."""

    action_id = ma.fields.Integer(required=True)
    action_type = ma.fields.String(required=True)
    action_type_name = ma.fields.String(required=True)
    quantity = Number(required=True)
    unit = ma.fields.String(required=True)
    occurred_at = ma.fields.AwareDateTime(required=True)
    source = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "pending_review | credited | capped | rejected"})
    credit_id = ma.fields.Integer(allow_none=True)
    grams = ma.fields.Integer(allow_none=True)
    points = ma.fields.Integer(allow_none=True)
    rule_version = ma.fields.Integer(allow_none=True)

    @ma.pre_dump
    def _flatten(self, item, **kwargs):
        action, credit = item.action, item.credit
        return {"action_id": action.id, "action_type": action.action_type, "action_type_name": item.action_type_name,
                "quantity": action.quantity, "unit": action.unit, "occurred_at": action.occurred_at,
                "source": action.source, "status": action.status, "credit_id": credit.id if credit else None,
                "grams": credit.grams if credit else None, "points": credit.points if credit else None,
                "rule_version": credit.rule_version if credit else None}


class ActionBodySchema(ma.Schema):
    action_type = ma.fields.String(required=True, validate=Length(min=1, max=48),
                                   metadata={"example": "metro_ride"})
    quantity = Number(required=True, validate=max_places(3), metadata={"example": 12.5})
    unit = ma.fields.String(validate=Length(min=1, max=16),
                            metadata={"description": "Defaults to the action type's unit", "example": "km"})
    occurred_at = ma.fields.AwareDateTime(
        required=True, metadata={"description": "ISO 8601 with a UTC offset; not in the future, at most 7 days ago"})
    note = ma.fields.String(validate=Length(max=200))


class ActionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    action_type = ma.fields.String(required=True)
    quantity = Number(required=True)
    unit = ma.fields.String(required=True)
    occurred_at = ma.fields.AwareDateTime(required=True)
    source = ma.fields.String(required=True)
    evidence = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    note = ma.fields.Function(lambda action: (action.attributes or {}).get("note"))
    review_note = ma.fields.String()
    created_at = ma.fields.AwareDateTime(required=True)


class CreditSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "A credit carries its action's id"})
    action_id = ma.fields.Integer(required=True, metadata={"description": "The same as id"})
    action_type = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "credited | capped"})
    quantity = Number(required=True)
    grams = ma.fields.Integer(required=True)
    points = ma.fields.Integer(required=True)
    rule_set_id = ma.fields.Integer(allow_none=True)
    rule_version = ma.fields.Integer(allow_none=True)
    local_day = ma.fields.Date(required=True, metadata={"description": "Day of the action, Asia/Shanghai"})
    created_at = ma.fields.AwareDateTime(required=True)


class ExplanationSchema(ma.Schema):
    summary = ma.fields.String(required=True)
    steps = ma.fields.List(ma.fields.Dict(), required=True,
                           metadata={"description": "[{step, text, ...values}] in evaluation order"})


class CreditExplanationSchema(ExplanationSchema):
    credit = ma.fields.Nested(CreditSchema, required=True)


class RecordedSchema(ma.Schema):
    action = ma.fields.Nested(ActionSchema, required=True)
    credit = ma.fields.Nested(CreditSchema, allow_none=True,
                              metadata={"description": "null while the action waits for review"})
    explanation = ma.fields.Nested(ExplanationSchema, allow_none=True)
