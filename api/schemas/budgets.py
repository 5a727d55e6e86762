"""Bodies, query arguments and responses of the budgets endpoints."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf, Range

from carbon_credit.models.budgets import BUDGET_MODES

from .common import MONTH, Number


class BudgetBodySchema(ma.Schema):
    month = ma.fields.String(required=True, validate=MONTH, metadata={"description": "Shanghai month, YYYY-MM"})
    action_type = ma.fields.String(load_default=None, allow_none=True, validate=Length(min=1, max=48),
                                   metadata={"description": "Only this action type; null: all types"})
    points_limit = ma.fields.Integer(required=True, strict=True, validate=Range(min=1))
    mode = ma.fields.String(required=True, validate=OneOf(BUDGET_MODES),
                            metadata={"description": "When exhausted: stop (0 points) or scale (points × factor)"})
    scale_factor = ma.fields.Decimal(load_default=None, allow_none=True, places=4,
                                     metadata={"description": "For scale: 0 < factor < 1"})


class BudgetPatchSchema(ma.Schema):
    points_limit = ma.fields.Integer(strict=True, validate=Range(min=1))
    mode = ma.fields.String(validate=OneOf(BUDGET_MODES))
    scale_factor = ma.fields.Decimal(allow_none=True, places=4)


class BudgetSchema(ma.Schema):
    id = ma.fields.Integer()
    month = ma.fields.Function(lambda b: b.month.strftime("%Y-%m"))
    action_type = ma.fields.Function(lambda b: b.action_type or None)
    points_limit = ma.fields.Integer()
    mode = ma.fields.String()
    scale_factor = Number(allow_none=True)


class BudgetLineSchema(ma.Schema):
    budget = ma.fields.Nested(BudgetSchema)
    issued_points = ma.fields.Integer()
    remaining_points = ma.fields.Integer()
    exhausted = ma.fields.Boolean()
    forecast_points = ma.fields.Integer(allow_none=True)
    forecast_exceeds_limit = ma.fields.Boolean()


class MonthReportSchema(ma.Schema):
    month = ma.fields.String()
    elapsed_fraction = ma.fields.Float(metadata={"description": "Share of the Shanghai month gone by"})
    issued_points = ma.fields.Integer(metadata={"description": "Points credited this month (its credited credits)"})
    liability_points = ma.fields.Integer(metadata={"description": "Unexpired unspent points of all accounts"})
    forecast_points = ma.fields.Integer(allow_none=True)
    forecast_method = ma.fields.String()
    budgets = ma.fields.List(ma.fields.Nested(BudgetLineSchema))


class MonthQuerySchema(ma.Schema):
    month = ma.fields.String(load_default=None, validate=MONTH, metadata={"description": "YYYY-MM; default: this month"})
