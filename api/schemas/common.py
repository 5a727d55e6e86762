"""Fields and small schemas shared by several areas of the API."""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma

from carbon_credit.explain import fmt


class Number(ma.fields.Decimal):
    """An exact decimal: accepts a JSON number or a numeric string, answers with a string ("46.8").

    Strings keep factors and quantities exact (no binary floating point on the way).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("example", "46.8")
        super().__init__(as_string=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return fmt(Decimal(str(value)))


def max_places(places: int):
    """Refuse more decimal places than the database keeps, instead of rounding silently."""

    def check(value: Decimal):
        if value.is_finite() and value.as_tuple().exponent < -places:
            raise ma.ValidationError(f"At most {places} decimal places.")

    return check


class BalanceSchema(ma.Schema):
    points = ma.fields.Integer(required=True, metadata={"description": "Points spendable now"})
    grams = ma.fields.Integer(required=True, metadata={"description": "Grams CO2e credited in total"})
    earned_total = ma.fields.Integer(required=True, metadata={"description": "Points ever earned"})
    expiring_soon = ma.fields.Integer(
        required=True, metadata={"description": "Points that expire within the next 30 days"})
    expiring_before = ma.fields.AwareDateTime(
        required=True, metadata={"description": "End of that 30-day window (UTC)"})


class ProblemSchema(ma.Schema):
    field = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
