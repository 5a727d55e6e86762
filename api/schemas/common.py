"""Fields and small schemas shared by several areas of the API."""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from marshmallow.validate import Regexp

from carbon_credit.rules.explain import fmt


class Number(ma.fields.Decimal):
    """An exact decimal in, a JSON number out: accepts a number or a numeric string ("46.8").

    Loading keeps the value exact (a Decimal; strings avoid binary floating point on the
    way in). Answers are JSON numbers, as the document says: the shortest text that reads
    back as the stored value, which for the columns' at most 14 significant digits is the
    decimal itself (46.8, 120, 0.5).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("example", 46.8)
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        exact = Decimal(fmt(Decimal(str(value))))
        return int(exact) if exact == exact.to_integral_value() else float(exact)


# A Shanghai month, within the calendar every date input is held to (api/inputs.py).
MONTH = Regexp(r"^(20\d\d|2100)-(0[1-9]|1[0-2])$", error="expected YYYY-MM, from 2000-01 to 2100-12")


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
