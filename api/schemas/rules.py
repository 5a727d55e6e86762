"""Action types and rule-set versions: what admins read and send."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf, Range, Regexp

from carbon_credit.models import EVIDENCE_KINDS
from carbon_credit.rules.preview import MAX_DAYS
from carbon_credit.rules.versions import CAP_METRICS
from carbon_credit.timeutil import PERIODS

from .common import Number, ProblemSchema


def _not_empty(schema_name: str):
    def check(self, data, **kwargs):
        if not data:
            raise ma.ValidationError(f"Send at least one field to change ({schema_name}).")

    return ma.validates_schema(check)


class ActionTypeSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    unit = ma.fields.String(required=True, metadata={"description": "The default unit"})
    units = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "Every accepted unit"})
    category = ma.fields.String(required=True)
    evidence = ma.fields.String(required=True)
    needs_review = ma.fields.Boolean(required=True)
    self_report = ma.fields.Boolean(required=True, metadata={"description": "Residents may declare it themselves"})
    active = ma.fields.Boolean(required=True)
    description = ma.fields.String(required=True)


class ActionTypeCreateSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=Regexp(r"^[a-z][a-z0-9_]{1,47}$",
                                                           error="lower-case letters, digits and _"),
                            metadata={"example": "tableware_reuse"})
    name = ma.fields.String(required=True, validate=Length(min=1, max=64))
    unit = ma.fields.String(required=True, validate=Length(min=1, max=16))
    units = ma.fields.List(ma.fields.String(validate=Length(min=1, max=16)), validate=Length(min=1, max=8))
    category = ma.fields.String(required=True, validate=Length(min=1, max=32))
    evidence = ma.fields.String(load_default="partner", validate=OneOf(EVIDENCE_KINDS))
    needs_review = ma.fields.Boolean(load_default=False)
    self_report = ma.fields.Boolean(load_default=False)
    active = ma.fields.Boolean(load_default=True)
    description = ma.fields.String(load_default="", validate=Length(max=2000))


class ActionTypePatchSchema(ma.Schema):
    name = ma.fields.String(validate=Length(min=1, max=64))
    active = ma.fields.Boolean()
    needs_review = ma.fields.Boolean()
    self_report = ma.fields.Boolean()
    description = ma.fields.String(validate=Length(max=2000))
    _check = _not_empty("name, active, needs_review, self_report, description")


class FactorSchema(ma.Schema):
    unit = ma.fields.String(required=True, validate=Length(min=1, max=16))
    grams_per_unit = Number(required=True, validate=Range(min=0), metadata={"description": "g CO2e per unit"})
    source = ma.fields.String(required=True, validate=Length(min=1, max=1000),
                              metadata={"description": "Citation of the factor; travels into every credit's trace"})
    max_quantity = Number(allow_none=True, validate=Range(min=0, min_inclusive=False))


class RuleSchema(ma.Schema):
    action_type = ma.fields.String(required=True)
    method = ma.fields.String(required=True, metadata={"description": "per_unit | points_only | appliance_kwh"})
    factors = ma.fields.List(ma.fields.Nested(FactorSchema), required=True)
    points_per_gram = Number(required=True)
    points_per_unit = Number(required=True)
    evidence_weights = ma.fields.Dict(keys=ma.fields.String(), values=Number(), required=True)
    min_quantity = Number(allow_none=True)
    max_quantity = Number(allow_none=True)
    params = ma.fields.Dict(required=True)
    source = ma.fields.String(required=True)


class RulePatchSchema(ma.Schema):
    method = ma.fields.String(validate=Length(min=1, max=32))
    factors = ma.fields.List(ma.fields.Nested(FactorSchema), validate=Length(max=8))
    points_per_gram = Number()
    points_per_unit = Number()
    evidence_weights = ma.fields.Dict(keys=ma.fields.String(validate=OneOf(EVIDENCE_KINDS)), values=Number())
    min_quantity = Number(allow_none=True)
    max_quantity = Number(allow_none=True)
    params = ma.fields.Dict()
    source = ma.fields.String(validate=Length(max=2000))
    _check = _not_empty("any rule field")


class CapSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=Length(min=1, max=48))
    action_types = ma.fields.List(ma.fields.String(), allow_none=True, load_default=None,
                                  metadata={"description": "Codes the cap counts; null for every type"})
    period = ma.fields.String(required=True, validate=OneOf(PERIODS),
                              metadata={"description": "Asia/Shanghai calendar period"})
    metric = ma.fields.String(required=True, validate=OneOf(CAP_METRICS))
    limit = Number(required=True, validate=Range(min=0))
    per = ma.fields.String(allow_none=True, metadata={"description": "Action attribute partitioning the cap"})
    source = ma.fields.String(validate=Length(max=1000))


class CapsBodySchema(ma.Schema):
    caps = ma.fields.List(ma.fields.Nested(CapSchema), required=True, validate=Length(max=50))


class RuleSetSummarySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    version = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True,
                             metadata={"description": "draft | scheduled | active | superseded | discarded"})
    effective_from = ma.fields.AwareDateTime(allow_none=True)
    based_on_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String(required=True)
    created_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    activated_by = ma.fields.Integer(allow_none=True)
    activated_at = ma.fields.AwareDateTime(allow_none=True)


class RuleSetSchema(RuleSetSummarySchema):
    rules = ma.fields.List(ma.fields.Nested(RuleSchema), required=True)
    caps = ma.fields.List(ma.fields.Dict(), required=True)


class RuleSetCreateSchema(ma.Schema):
    based_on_id = ma.fields.Integer(allow_none=True, load_default=None,
                                    metadata={"description": "Copy this version; default: the version in force"})
    note = ma.fields.String(load_default="", validate=Length(max=2000))


class ValidationResultSchema(ma.Schema):
    valid = ma.fields.Boolean(required=True)
    problems = ma.fields.List(ma.fields.Nested(ProblemSchema), required=True)


class PreviewBodySchema(ma.Schema):
    days = ma.fields.Integer(load_default=30, validate=Range(min=1, max=MAX_DAYS))


class PreviewTotalsSchema(ma.Schema):
    credited = ma.fields.Integer()
    capped = ma.fields.Integer()
    grams = ma.fields.Integer()
    points = ma.fields.Integer()


class PreviewTypeSchema(ma.Schema):
    action_type = ma.fields.String()
    current = ma.fields.Nested(PreviewTotalsSchema)
    draft = ma.fields.Nested(PreviewTotalsSchema)
    points_change = ma.fields.Integer()
    grams_change = ma.fields.Integer()


class PreviewShiftSchema(ma.Schema):
    residents = ma.fields.Integer()
    gaining = ma.fields.Integer()
    losing = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    total_change = ma.fields.Integer()
    largest_gain = ma.fields.Integer()
    largest_loss = ma.fields.Integer()
    median_change = ma.fields.Integer()


class PreviewSchema(ma.Schema):
    days = ma.fields.Integer()
    since = ma.fields.String()
    until = ma.fields.String()
    actions = ma.fields.Integer(metadata={"description": "Recorded actions replayed"})
    current_version = ma.fields.Integer()
    draft_version = ma.fields.Integer()
    by_action_type = ma.fields.List(ma.fields.Nested(PreviewTypeSchema))
    totals = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    residents = ma.fields.Nested(PreviewShiftSchema, metadata={"description": "How residents' points would shift"})


class ActivateSchema(ma.Schema):
    effective_from = ma.fields.AwareDateTime(metadata={"description": "Default: now. Never in the past"})


class DiffQuerySchema(ma.Schema):
    from_id = ma.fields.Integer(data_key="from", required=True)
    to_id = ma.fields.Integer(data_key="to", required=True)


class ChangeSchema(ma.Schema):
    path = ma.fields.String(required=True, metadata={"example": "rules.metro_ride.factors"})
    old = ma.fields.Raw(data_key="from", attribute="from", allow_none=True)
    new = ma.fields.Raw(data_key="to", attribute="to", allow_none=True)


class VersionRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    version = ma.fields.Integer(required=True)


class DiffSchema(ma.Schema):
    old = ma.fields.Nested(VersionRefSchema, data_key="from", attribute="from")
    new = ma.fields.Nested(VersionRefSchema, data_key="to", attribute="to")
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema), required=True)
